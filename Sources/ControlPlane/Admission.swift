// Admission: what the API server does with `create`, `apply` and `delete -f` before anything is
// stored. Every document is decoded and validated (errors name file:line:column and field),
// namespaces must exist, Services get ClusterIPs, pods keep their spec; with any error nothing
// is applied. The outcome per object is kubectl's: created, configured, unchanged, deleted.
import ClusterAPI
import Foundation
import PolicyAPI

/// The kinds the API serves, with kubectl's names for them.
public struct ResourceKind: Sendable {
    public var kind: String
    public var singular: String
    public var plural: String
    /// `.apps`, `.cilium.io`, `.networking.k8s.io` or empty (core).
    public var group: String
    public var namespaced: Bool
    public var aliases: [String]

    public static let all: [ResourceKind] = [
        ResourceKind(kind: "Namespace", singular: "namespace", plural: "namespaces", group: "", namespaced: false, aliases: ["ns"]),
        ResourceKind(kind: "Pod", singular: "pod", plural: "pods", group: "", namespaced: true, aliases: ["po"]),
        ResourceKind(kind: "Deployment", singular: "deployment", plural: "deployments", group: ".apps", namespaced: true, aliases: ["deploy"]),
        ResourceKind(kind: "Service", singular: "service", plural: "services", group: "", namespaced: true, aliases: ["svc"]),
        ResourceKind(kind: "CiliumNetworkPolicy", singular: "ciliumnetworkpolicy", plural: "ciliumnetworkpolicies", group: ".cilium.io",
                     namespaced: true, aliases: ["cnp"]),
        ResourceKind(kind: "CiliumClusterwideNetworkPolicy", singular: "ciliumclusterwidenetworkpolicy", plural: "ciliumclusterwidenetworkpolicies",
                     group: ".cilium.io", namespaced: false, aliases: ["ccnp"]),
        ResourceKind(kind: "NetworkPolicy", singular: "networkpolicy", plural: "networkpolicies", group: ".networking.k8s.io", namespaced: true,
                     aliases: ["netpol"]),
    ]

    public static func of(kind: String) -> ResourceKind? { all.first { $0.kind == kind } }

    /// `pods`, `pod`, `po`, `deployments.apps`, … → the kind.
    public static func named(_ s: String) -> ResourceKind? {
        let l = s.lowercased()
        return all.first { [$0.singular, $0.plural, $0.singular + $0.group, $0.plural + $0.group].contains(l) || $0.aliases.contains(l) }
    }

    /// `deployment.apps/name` (apply) and `deployment.apps "name"` (delete).
    public var display: String { singular + group }
    public var pluralDisplay: String { plural + group }
}

/// One object of a request, decoded and ready to store.
struct AdmittedObject {
    var stored: StoredObject
    var position: SourcePosition
    var source: String
}

struct AdmissionError: Error {
    var lines: [String]
}

struct Admission {
    let existing: [String: StoredObject]
    let serviceCIDR: IPPrefix
    let reservedServiceIPs: Set<IPAddress>

    /// Splits files into documents (a `List`'s items count as documents of their own) and
    /// decodes each. `namespace` is `-n`.
    func decode(_ files: [SourceFile], namespace: String?) throws(AdmissionError) -> [(doc: ManifestNode, object: APIObject, file: String)] {
        let (objects, errors) = decodeAll(files, namespace: namespace)
        if !errors.isEmpty { throw AdmissionError(lines: errors) }
        return objects
    }

    /// The documents that decode, and the errors of those that do not.
    func decodeAll(_ files: [SourceFile], namespace: String?) -> (objects: [(doc: ManifestNode, object: APIObject, file: String)], errors: [String]) {
        var errors: [String] = []
        var out: [(ManifestNode, APIObject, String)] = []
        for f in files {
            let docs: [ManifestNode]
            do { docs = try ManifestLoader.documents(text: f.text, file: f.name) } catch {
                errors += error.diagnostics.map(\.description)
                continue
            }
            var expanded: [ManifestNode] = []
            for d in docs {
                if case let .mapping(pairs) = d.value, let k = pairs.first(where: { $0.key == "kind" })?.value, case .scalar("List", _) = k.value,
                   let items = pairs.first(where: { $0.key == "items" })?.value, case let .sequence(list) = items.value {
                    expanded += list
                } else if !d.isNull {
                    expanded.append(d)
                }
            }
            if expanded.isEmpty { errors.append("\(f.name): no objects to apply") }
            for d in expanded {
                do {
                    let objects = try APIObjectDecoder.decode(documents: [d], defaultNamespace: namespace ?? "default")
                    guard objects.count == 1 else { continue }
                    if let ns = namespace, let written = d.child("metadata", "namespace"), case let .scalar(v, _) = written.value, v != ns {
                        errors.append("\(written.position): metadata.namespace: the namespace from the provided object \"\(v)\" does not match the namespace \"\(ns)\". You must pass '--namespace=\(v)' to perform this operation.")
                        continue
                    }
                    out.append((d, objects[0], f.name))
                } catch {
                    errors += error.diagnostics.map(\.description)
                }
            }
        }
        return (out, errors)
    }

    /// Validates a create/apply against the store and fills in what the server assigns.
    func admit(_ decoded: [(doc: ManifestNode, object: APIObject, file: String)], create: Bool, now: Double) throws(AdmissionError) -> [AdmittedObject] {
        var errors: [String] = []
        var out: [AdmittedObject] = []
        let newNamespaces = Set(decoded.compactMap { if case let .namespace(n) = $0.object { n.name } else { nil } })
        var takenIPs = reservedServiceIPs
        for o in existing.values where o.kind == "Service" {
            if let ip = Self.clusterIP(o) { takenIPs.insert(ip) }
        }
        var allocator = IPAllocator(prefix: serviceCIDR, reserved: Array(takenIPs))!
        for (doc, object, file) in decoded {
            let (kind, ns, name) = object.identity
            let rk = ResourceKind.of(kind: kind)!
            let key = "\(kind)/\(ns)/\(name)"
            let nsNode = doc.child("metadata", "namespace") ?? doc.child("metadata") ?? doc
            if rk.namespaced && existing["Namespace//\(ns)"] == nil && !newNamespaces.contains(ns) {
                errors.append("\(nsNode.position): metadata.namespace: namespaces \"\(ns)\" not found (create it first: porin create ns \(ns))")
                continue
            }
            let old = existing[key]
            if create, old != nil {
                errors.append("\(doc.position): \(rk.pluralDisplay) \"\(name)\" already exists (error when creating \"\(file)\")")
                continue
            }
            var body = doc.toAny()
            if rk.namespaced { body.set(["metadata", "namespace"], .string(ns)) }
            switch object {
            case let .pod(p):
                if let old, let oldPod = Self.decodeStored(old), case let .pod(q) = oldPod, q.spec != p.spec {
                    errors.append("\(doc.position): pods \"\(name)\" is invalid: spec: Forbidden: pod updates may not change fields other than metadata (delete the pod and create it again)")
                    continue
                }
            case let .service(s):
                let oldIP = old.flatMap(Self.clusterIP)
                if s.clusterIP == "None" {
                    // Headless: no ClusterIP, no frontend (and it may not become one later).
                    if oldIP != nil {
                        errors.append("\(doc.child("spec", "clusterIP")!.position): spec.clusterIP: Invalid value: \"None\": field is immutable")
                        continue
                    }
                } else if let want = s.clusterIP, !want.isEmpty {
                    guard let ip = IPAddress(want), ip.isIPv4, serviceCIDR.contains(ip) else {
                        errors.append("\(doc.child("spec", "clusterIP")!.position): spec.clusterIP: Invalid value: \"\(want)\": provided IP is not in the valid range. The range of valid IPs is \(serviceCIDR)")
                        continue
                    }
                    if let oldIP, oldIP != ip {
                        errors.append("\(doc.child("spec", "clusterIP")!.position): spec.clusterIP: Invalid value: \"\(want)\": field is immutable")
                        continue
                    }
                    if oldIP == nil && !allocator.claim(ip) {
                        errors.append("\(doc.child("spec", "clusterIP")!.position): spec.clusterIP: Invalid value: \"\(want)\": provided IP is already allocated")
                        continue
                    }
                } else if let oldIP {
                    body.set(["spec", "clusterIP"], .string(oldIP.description))
                } else {
                    guard let ip = allocator.allocate() else {
                        errors.append("\(doc.position): Service \"\(name)\": the Service CIDR \(serviceCIDR) is full")
                        continue
                    }
                    body.set(["spec", "clusterIP"], .string(ip.description))
                }
            default: break
            }
            let stored = StoredObject(kind: kind, namespace: ns, name: name, document: body.json(indent: nil), created: old?.created ?? now)
            out.append(AdmittedObject(stored: stored, position: doc.position, source: file))
        }
        if !errors.isEmpty { throw AdmissionError(lines: errors) }
        return out
    }

    static func decodeStored(_ o: StoredObject) -> APIObject? {
        (try? APIObjectDecoder.decode(text: o.document, file: o.key, defaultNamespace: o.namespace.isEmpty ? "default" : o.namespace))?.first
    }

    static func document(_ o: StoredObject) -> AnyManifest? {
        (try? ManifestLoader.documents(text: o.document, file: o.key))?.first?.toAny()
    }

    static func clusterIP(_ o: StoredObject) -> IPAddress? {
        guard case let .string(s)? = document(o)?["spec", "clusterIP"] else { return nil }
        return IPAddress(s)
    }
}
