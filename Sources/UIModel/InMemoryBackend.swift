// A control plane held in memory, for the web API's tests and benchmark: objects from manifests,
// apply (decoding, the namespace check, dry runs) and delete as the real one answers them. The
// real backend is ControlPlane+Web; this one has no agent, so pods have no addresses.
import ClusterAPI
import Foundation
import PolicyAPI

public final class InMemoryBackend: WebBackend, @unchecked Sendable {
    let lock = NSLock()
    public private(set) var objects: [String: StoredObject] = [:]
    var revision: UInt64 = 1

    public init() {}

    /// LAB.md §5's cluster: kube-system with coredns's two replicas, the three tenants with the
    /// demo application, and tenant-a's `default` policy, read from `examples` (examples/lab).
    public static func lab(examples: String) throws -> InMemoryBackend {
        let b = InMemoryBackend()
        let system = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: kube-system, labels: {kubernetes.io/metadata.name: kube-system}}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: coredns, namespace: kube-system}
            spec:
              replicas: 2
              selector: {matchLabels: {k8s-app: kube-dns}}
              template:
                metadata: {labels: {k8s-app: kube-dns}}
                spec: {containers: [{name: coredns, image: porin/dns-server}]}
            """
        try b.add(system, namespace: "kube-system")
        try b.add(String(contentsOfFile: "\(examples)/tenants.yaml", encoding: .utf8), namespace: "default")
        for ns in ["tenant-a", "tenant-b", "tenant-c"] { try b.add(String(contentsOfFile: "\(examples)/tenant-services.yaml", encoding: .utf8), namespace: ns) }
        try b.add(String(contentsOfFile: "\(examples)/tenant-a-default-policy.yaml", encoding: .utf8), namespace: "tenant-a")
        return b
    }

    /// Stores every document of `text` (namespaced ones without a namespace go to `namespace`).
    public func add(_ text: String, namespace: String) throws {
        for d in try ManifestLoader.documents(text: text, file: "memory") where !d.isNull {
            let o = try APIObjectDecoder.decode(documents: [d], defaultNamespace: namespace)[0]
            var doc = d.toAny()
            let (kind, ns, name) = o.identity
            if !ns.isEmpty { doc.set(["metadata", "namespace"], .string(ns)) }
            lock.withLock {
                objects["\(kind)/\(ns)/\(name)"] = StoredObject(kind: kind, namespace: ns, name: name, document: doc.json(indent: nil), created: 0)
            }
        }
    }

    public func snapshot() -> ClusterSnapshot {
        lock.withLock { ClusterSnapshot(revision: revision, objects: Array(objects.values), pods: []) }
    }

    /// Decoding errors and a missing namespace as admission prints them (`error: editor:L:C: …`).
    public func apply(yaml: String, dryRun: Bool) -> APIResponse {
        let objs: [APIObject]
        do {
            objs = try APIObjectDecoder.decode(documents: try ManifestLoader.documents(text: yaml, file: "editor"))
        } catch {
            return .failure((error.diagnostics.map { "error: \($0)" } + ["nothing was applied"]).joined(separator: "\n"))
        }
        var out = ""
        for case let .policy(p) in objs {
            let ref = p.reference
            if !ref.namespace.isEmpty, lock.withLock({ objects["Namespace//\(ref.namespace)"] == nil }) {
                let at = p.source.child("metadata", "namespace")?.position ?? p.source.position
                return .failure("error: \(at): metadata.namespace: namespaces \"\(ref.namespace)\" not found\nnothing was applied")
            }
            let exists = lock.withLock { objects["\(ref.kind.rawValue)/\(ref.namespace)/\(ref.name)"] != nil }
            out += "\(ref.kind.rawValue.lowercased()).\(ref.kind == .networkPolicy ? "networking.k8s.io" : "cilium.io")/\(ref.name) \(exists ? "configured" : "created")\(dryRun ? " (server dry run)" : "")\n"
        }
        guard !dryRun else { return APIResponse(stdout: out) }
        do { try add(yaml, namespace: "default") } catch { return .failure("error: \(error)") }
        lock.withLock { revision += 1 }
        return APIResponse(stdout: out)
    }

    public func delete(_ ref: PolicyRef) -> APIResponse {
        lock.withLock {
            guard objects.removeValue(forKey: "\(ref.kind)/\(ref.namespace)/\(ref.name)") != nil else {
                return .failure("Error from server (NotFound): \(ref.kind.lowercased()) \"\(ref.name)\" not found")
            }
            revision += 1
            return APIResponse(stdout: "\(ref.kind.lowercased()) \"\(ref.name)\" deleted\n")
        }
    }
}
