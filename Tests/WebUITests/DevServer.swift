// A stand-in cluster for working on the page in a real browser without a cluster: the lab's tenants,
// cards, flows and a toy editor (CiliumNetworkPolicy only, YAML in the lab's style). It answers the
// same JSON shapes as WebAPI, nothing more: the semantics are UIModel's, tested there.
// Off unless PORIN_WEBUI_DEV_SERVE=<seconds> is set; PORIN_WEBUI_DEV_PORT picks the port (12080).
// PORIN_WEBUI_DEV_BACKEND=lab serves the real WebAPI instead, over UIModel's in-memory lab cluster
// (LAB.md §5: `default` applied) and the flows of Tests/UIModelTests/fixtures/lab-flows.jsonl.
import Foundation
import Hubble
import Testing
@testable import UIModel
@testable import WebUI

final class LabFake: WebHandling, @unchecked Sendable {
    struct Rule: Equatable {
        var peer: PeerSpec
        var ports: [PortSpec] = []
        var dnsProxy = false
    }

    struct Model: Equatable {
        var name = "new-policy"
        var namespace: String
        var selector: [String] = []
        var ingressDeny = false
        var egressDeny = false
        var ingress: [Rule] = []
        var egress: [Rule] = []
    }

    private let lock = NSLock()
    private var known: [String: Model] = [:]
    private var applied: [String: (ref: PolicyRef, yaml: String)] = [:]
    private var seq: UInt64 = 1
    private var subscribers: [UUID: AsyncStream<UInt64>.Continuation] = [:]

    init() {
        Task.detached { [weak self] in
            while let self {
                try? await Task.sleep(for: .seconds(3))
                self.push()
            }
        }
    }

    func changes() -> AsyncStream<UInt64> {
        let (stream, c) = AsyncStream<UInt64>.makeStream()
        let id = UUID()
        lock.withLock { subscribers[id] = c }
        c.onTermination = { [weak self] _ in
            guard let self else { return }
            self.lock.withLock { _ = self.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    private func push() {
        let (s, subs) = lock.withLock { seq += 1; return (seq, Array(subscribers.values)) }
        for c in subs { c.yield(s) }
    }

    // MARK: the lab's cards and flows

    static func pod(_ ns: String, _ app: String, ports: [String] = []) -> Card {
        Card(id: "pod:\(ns)/\(app)", kind: "workload", namespace: ns, name: app, labels: ["app=\(app)"], pods: ["\(app)-7d9c\(ns.suffix(1))"], ips: [], ports: ports)
    }
    static let dns = Card(id: "dns:kube-system", kind: "kube-dns", namespace: "kube-system", name: "kube-dns", labels: ["k8s-app=kube-dns"], pods: ["coredns-6f6b679f8f-rlcsr"], ports: ["53/UDP"])
    static let twitter = Card(id: "fqdn:api.twitter.com", kind: "world", name: "api.twitter.com", ips: ["172.66.0.227"], ports: ["80/TCP"])
    static let google = Card(id: "fqdn:www.google.com", kind: "world", name: "www.google.com", ips: ["142.250.1.1"], ports: ["80/TCP"])
    static let defaultRef = PolicyRef(kind: "CiliumNetworkPolicy", namespace: "tenant-a", name: "default")

    func rows(_ ns: String?) -> [FlowRow] {
        let now = Date()
        let t = { (ago: Double) in ISO8601DateFormatter().string(from: now.addingTimeInterval(-ago)).replacingOccurrences(of: "Z", with: ".123456789Z") }
        var out: [FlowRow] = []
        for tenant in ["tenant-a", "tenant-b", "tenant-c"] {
            let fe = Self.pod(tenant, "frontend-service"), be = Self.pod(tenant, "backend-service", ports: ["80/TCP"])
            let denied = tenant == "tenant-a" && applied["CiliumNetworkPolicy/tenant-a/default"] != nil
            out.append(FlowRow(id: "\(tenant)-dns", source: fe, destination: Self.dns, port: 53, protocol: "UDP", l7: "DNS Query backend-service.\(tenant).svc.cluster.local. A",
                               verdict: "forwarded", count: 12, flags: [], lastSeen: t(4), droppedBy: []))
            out.append(FlowRow(id: "\(tenant)-local", source: fe, destination: be, port: 80, protocol: "TCP", l7: "", verdict: "forwarded", count: 20,
                               flags: ["SYN", "ACK", "PSH", "FIN"], lastSeen: t(6), droppedBy: []))
            if tenant == "tenant-a" {
                let bb = Self.pod("tenant-b", "backend-service", ports: ["80/TCP"])
                out.append(FlowRow(id: "a-b", source: fe, destination: bb, port: 80, protocol: "TCP", l7: "", verdict: denied ? "dropped" : "forwarded", count: 9,
                                   flags: ["SYN"], lastSeen: t(9), droppedBy: denied ? [Self.defaultRef] : []))
                out.append(FlowRow(id: "a-twitter", source: fe, destination: Self.twitter, port: 80, protocol: "TCP", l7: "", verdict: denied ? "dropped" : "forwarded",
                                   count: 5, flags: ["SYN"], lastSeen: t(14), droppedBy: denied ? [Self.defaultRef] : []))
                out.append(FlowRow(id: "a-google", source: fe, destination: Self.google, port: 80, protocol: "TCP", l7: "", verdict: "forwarded",
                                   count: 3, flags: ["SYN", "ACK"], lastSeen: t(120), droppedBy: []))
            }
        }
        return out.filter { ns == nil || $0.source.namespace == ns || $0.destination.namespace == ns }
    }

    func map(_ ns: String?) -> MapResponse {
        let rows = rows(ns)
        var nodes: [String: Card] = [:]
        var edges: [String: MapEdge] = [:]
        for r in rows {
            nodes[r.source.id] = r.source
            nodes[r.destination.id] = r.destination
            let id = "\(r.source.id)>\(r.destination.id):\(r.port)/\(r.protocol)"
            var e = edges[id] ?? MapEdge(id: id, from: r.source.id, to: r.destination.id, port: r.port, protocol: r.protocol, forwarded: 0, dropped: 0,
                                          lastSeen: r.lastSeen, dns: [], droppedBy: [])
            if r.verdict == "dropped" { e.dropped += r.count; e.droppedBy = r.droppedBy } else { e.forwarded += r.count }
            edges[id] = e
        }
        return MapResponse(seq: lock.withLock { seq }, nodes: nodes.values.sorted { $0.id < $1.id }, edges: edges.values.sorted { $0.id < $1.id })
    }

    // MARK: the toy editor

    static func labels(_ l: [String], indent: String) -> String {
        l.map { kv -> String in
            let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
            return "\(indent)\(p[0]): \(p.count > 1 ? p[1] : "")\n"
        }.joined()
    }

    static func yaml(_ m: Model) -> String {
        var y = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: \(m.name)\n  namespace: \(m.namespace)\nspec:\n"
        y += m.selector.isEmpty ? "  endpointSelector: {}\n" : "  endpointSelector:\n    matchLabels:\n" + labels(m.selector, indent: "      ")
        for (dir, deny, rules) in [("ingress", m.ingressDeny, m.ingress), ("egress", m.egressDeny, m.egress)] where deny || !rules.isEmpty {
            y += "  \(dir):\n"
            if rules.isEmpty { y += "  - {}\n" }
            let to = dir == "ingress" ? "from" : "to"
            for r in rules {
                switch r.peer.type {
                case "anyPod": y += "  - \(to)Endpoints:\n    - {}\n"
                case "podsByLabels": y += "  - \(to)Endpoints:\n    - matchLabels:\n" + labels(r.peer.labels ?? [], indent: "        ")
                case "anyPodIn": y += "  - \(to)Endpoints:\n    - matchLabels:\n        k8s:io.kubernetes.pod.namespace: \(r.peer.namespaces?.first ?? "")\n"
                case "podsIn": y += "  - \(to)Endpoints:\n    - matchLabels:\n" + labels((r.peer.labels ?? []) + ["k8s:io.kubernetes.pod.namespace=\(r.peer.namespace ?? "")"], indent: "        ")
                case "anyPodAnyNamespace": y += "  - \(to)Endpoints:\n    - matchExpressions:\n      - key: io.kubernetes.pod.namespace\n        operator: Exists\n"
                case "kubeDNS": y += "  - toEndpoints:\n    - matchLabels:\n        io.kubernetes.pod.namespace: kube-system\n        k8s-app: kube-dns\n"
                case "entity": y += "  - \(to)Entities:\n    - \(r.peer.entity ?? "world")\n"
                case "cidr": y += "  - \(to)CIDR:\n    - \(r.peer.cidr ?? "")\n"
                default:
                    y += r.peer.matchName != nil ? "  - toFQDNs:\n    - matchName: \(r.peer.matchName!)\n" : "  - toFQDNs:\n    - matchPattern: \"\(r.peer.matchPattern ?? "")\"\n"
                }
                if r.peer.type == "kubeDNS" {
                    y += "    toPorts:\n    - ports:\n      - port: \"53\"\n        protocol: UDP\n"
                    if r.dnsProxy { y += "      rules:\n        dns:\n        - matchPattern: \"*\"\n" }
                } else if !r.ports.isEmpty {
                    y += "    toPorts:\n    - ports:\n"
                    for p in r.ports { y += "      - port: \"\(p.port)\"\n" + (p.protocol.map { "        protocol: \($0)\n" } ?? "") }
                }
            }
        }
        return y
    }

    static func box(_ p: PeerSpec) -> String {
        switch p.type {
        case "anyPod", "podsByLabels": return "inNamespace"
        case "cidr", "fqdn": return "outsideCluster"
        case "entity": return ["world", "world-ipv4", "world-ipv6", "all"].contains(p.entity ?? "") ? "outsideCluster" : "inCluster"
        default: return "inCluster"
        }
    }

    static func label(_ p: PeerSpec) -> String {
        switch p.type {
        case "anyPod": return "Any pod"
        case "podsByLabels": return "Pods " + (p.labels ?? []).joined(separator: ", ")
        case "anyPodIn": return "Any pod in \(p.namespaces?.joined(separator: ", ") ?? "")"
        case "podsIn": return "Pods \((p.labels ?? []).joined(separator: ", ")) in \(p.namespace ?? "")"
        case "anyPodAnyNamespace": return "Any pod in any namespace"
        case "kubeDNS": return "Kubernetes DNS"
        case "entity": return p.entity ?? ""
        case "cidr": return p.cidr ?? ""
        default: return p.matchName ?? p.matchPattern ?? ""
        }
    }

    static func picture(_ m: Model) -> Picture {
        func side(_ dir: String, _ deny: Bool, _ rules: [Rule]) -> PictureSide {
            var boxes = PictureBoxes()
            for (i, r) in rules.enumerated() {
                let item = PictureItem(id: "\(dir)/\(i)/0", rule: i, peer: 0, type: r.peer.type, label: label(r.peer),
                                       ports: r.peer.type == "kubeDNS" ? ["53/UDP"] : r.ports.map { "\($0.port)/\($0.protocol ?? "TCP")" }, dnsProxy: r.dnsProxy)
                switch box(r.peer) {
                case "inNamespace": boxes.inNamespace.append(item)
                case "inCluster": boxes.inCluster.append(item)
                default: boxes.outsideCluster.append(item)
                }
            }
            let denying = deny || !rules.isEmpty
            let state = { (items: [PictureItem]) in !denying || !items.isEmpty ? "allowed" : "denied" }
            return PictureSide(defaultDeny: denying, toggleLocked: nil, boxes: boxes,
                               arrows: PictureArrows(inNamespace: state(boxes.inNamespace), inCluster: state(boxes.inCluster), outsideCluster: state(boxes.outsideCluster)),
                               other: [])
        }
        let text = m.selector.isEmpty ? "every pod of \(m.namespace)" : "pods \(m.selector.joined(separator: ", ")) in \(m.namespace)"
        return Picture(subject: PictureSubject(kind: "CiliumNetworkPolicy", name: m.name, namespace: m.namespace, selector: m.selector, selectorText: text,
                                               selects: m.selector.isEmpty ? ["\(m.namespace)/frontend-service", "\(m.namespace)/backend-service"] : []),
                       ingress: side("ingress", m.ingressDeny, m.ingress), egress: side("egress", m.egressDeny, m.egress))
    }

    func remember(_ m: Model) -> String {
        let y = Self.yaml(m)
        lock.withLock { known[y] = m }
        return y
    }

    func model(_ yaml: String) -> Model? { lock.withLock { known[yaml] } }

    /// Typed text the toy cannot read: the one mistake the lab makes on purpose, else unknown.
    func diagnose(_ yaml: String) -> [Diagnostic] {
        for (i, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let r = line.firstMatch(of: /port: (\d+)\s*$/) {
                return [Diagnostic(line: i + 1, column: line.distance(from: line.startIndex, to: r.1.startIndex) + 1, path: "spec.egress[0].toPorts[0].ports[0].port", message: "must be a string")]
            }
        }
        return []
    }

    func edit(_ req: EditorRequest) -> EditorResponse {
        guard let op = req.op else {
            if let m = model(req.yaml) { return EditorResponse(yaml: req.yaml, picture: Self.picture(m), errors: []) }
            let errors = diagnose(req.yaml)
            return EditorResponse(yaml: req.yaml, picture: nil, errors: errors.isEmpty ? [Diagnostic(line: 1, column: 1, path: "", message: "the dev fake only reads YAML it wrote")] : errors)
        }
        if op.op == "new" {
            let m = Model(namespace: op.namespace ?? "default")
            return EditorResponse(yaml: remember(m), picture: Self.picture(m), errors: [])
        }
        guard var m = model(req.yaml) else {
            return EditorResponse(yaml: req.yaml, picture: nil, errors: [Diagnostic(line: 0, column: 0, path: "", message: "fix the YAML first")])
        }
        switch op.op {
        case "setSubject":
            m.name = op.name ?? m.name
            m.namespace = op.namespace ?? m.namespace
            m.selector = op.selector ?? []
        case "setDefaultDeny":
            if op.direction == "ingress" { m.ingressDeny = op.deny ?? false } else { m.egressDeny = op.deny ?? false }
        case "addPeer":
            let rule = Rule(peer: op.peer ?? PeerSpec(type: "anyPod"), ports: op.ports ?? [])
            if op.direction == "ingress" { m.ingress.append(rule) } else { m.egress.append(rule) }
        case "setDNSProxy":
            if let i = op.rule, m.egress.indices.contains(i) { m.egress[i].dnsProxy = op.on ?? false }
        case "removeItem":
            let parts = (op.item ?? "").split(separator: "/")
            if parts.count == 3, let i = Int(parts[1]) {
                if parts[0] == "ingress", m.ingress.indices.contains(i) { m.ingress.remove(at: i) }
                if parts[0] == "egress", m.egress.indices.contains(i) { m.egress.remove(at: i) }
            }
        default:
            return EditorResponse(yaml: req.yaml, picture: nil, errors: [Diagnostic(line: 0, column: 0, path: "", message: "the dev fake has no op \(op.op)")])
        }
        return EditorResponse(yaml: remember(m), picture: Self.picture(m), errors: [])
    }

    func draftVerdict(_ row: FlowRow, _ m: Model?) -> String {
        guard let m, row.source.namespace == m.namespace else { return row.verdict }
        if !(m.egressDeny || !m.egress.isEmpty) { return "forwarded" }
        let ok = m.egress.contains { r in
            switch r.peer.type {
            case "anyPod": return row.destination.namespace == m.namespace
            case "kubeDNS": return row.destination.kind == "kube-dns"
            case "fqdn": return r.peer.matchName == row.destination.name
            case "anyPodIn": return r.peer.namespaces?.contains(row.destination.namespace) == true
            case "entity": return r.peer.entity == "world" && row.destination.kind == "world"
            default: return false
            }
        }
        return ok ? "forwarded" : "dropped"
    }

    /// Visualize all: every policy's items side by side, each tagged with its policy.
    func unionPicture(_ list: [(ref: PolicyRef, yaml: String)], namespace: String) -> Picture {
        var pic = Self.picture(Model(name: list.map(\.ref.name).joined(separator: ", "), namespace: namespace))
        pic.readOnly = true
        for p in list {
            guard let m = model(p.yaml) else { continue }
            pic.policies.append(p.ref)
            let one = Self.picture(m)
            func merge(_ into: inout PictureSide, _ from: PictureSide) {
                let tag = { (items: [PictureItem]) in items.map { i -> PictureItem in
                    var i = i
                    i.id = "\(p.ref.name):\(i.id)"
                    i.policy = p.ref
                    return i
                } }
                into.defaultDeny = into.defaultDeny || from.defaultDeny
                into.boxes.inNamespace += tag(from.boxes.inNamespace)
                into.boxes.inCluster += tag(from.boxes.inCluster)
                into.boxes.outsideCluster += tag(from.boxes.outsideCluster)
            }
            merge(&pic.ingress, one.ingress)
            merge(&pic.egress, one.egress)
        }
        for side in [\Picture.ingress, \Picture.egress] {
            let s = pic[keyPath: side]
            let state = { (items: [PictureItem]) in !s.defaultDeny || !items.isEmpty ? "allowed" : "denied" }
            pic[keyPath: side].arrows = PictureArrows(inNamespace: state(s.boxes.inNamespace), inCluster: state(s.boxes.inCluster), outsideCluster: state(s.boxes.outsideCluster))
        }
        return pic
    }

    // MARK: routing

    func handle(_ r: WebRequest) async -> WebResponse {
        let ns = r.value("namespace").flatMap { $0 == "all" ? nil : $0 }
        func json<T: Encodable>(_ v: T, _ status: Int = 200) -> WebResponse {
            let e = JSONEncoder()
            e.outputFormatting = .sortedKeys
            return WebResponse(status: status, body: Array(try! e.encode(v)))
        }
        func body<T: Decodable>(_ t: T.Type) -> T? { try? JSONDecoder().decode(t, from: Data(r.body)) }
        let parts = r.path.split(separator: "/").map(String.init)
        switch (r.method, parts.dropFirst().first ?? "") {
        case ("GET", "namespaces"):
            return json(NamespacesResponse(namespaces: ["default", "kube-system", "tenant-a", "tenant-b", "tenant-c"].map {
                NamespaceInfo(name: $0, labels: ["kubernetes.io/metadata.name=\($0)"], pods: $0 == "default" ? 0 : 2, policies: 0, flows: 3)
            }))
        case ("GET", "map"): return json(map(ns))
        case ("GET", "flows"): return json(FlowRowsResponse(seq: lock.withLock { seq }, rows: rows(ns)))
        case ("GET", "policies") where parts.count == 5:
            guard let p = lock.withLock({ applied["\(parts[2])/\(parts[3])/\(parts[4])"] }), let m = model(p.yaml) else {
                return json(APIError("no policy \(parts[2]) \(parts[3])/\(parts[4])"), 404)
            }
            return json(PolicyResponse(ref: p.ref, yaml: p.yaml, picture: Self.picture(m)))
        case ("GET", "policies"):
            let list = lock.withLock { applied.values.filter { $0.ref.namespace == ns }.sorted { $0.ref < $1.ref } }
            let union = r.value("picture") == "union" ? unionPicture(list, namespace: ns ?? "") : nil
            return json(PoliciesResponse(policies: list.map { PolicySummary(ref: $0.ref, yaml: $0.yaml, selects: ["\($0.ref.namespace)/frontend-service"]) }, clusterwide: [], union: union))
        case ("DELETE", "policies") where parts.count == 5:
            let key = "\(parts[2])/\(parts[3])/\(parts[4])"
            _ = lock.withLock { applied.removeValue(forKey: key) }
            push()
            return json(ApplyResponse(ok: true, output: "ciliumnetworkpolicy.cilium.io \"\(parts[4])\" deleted", errors: []))
        case ("POST", "policies") where parts.last == "apply":
            guard let y = body(YAMLBody.self)?.yaml, let m = model(y) else {
                return json(APIError("editor:1:1: the dev fake only applies YAML it wrote", errors: diagnose(body(YAMLBody.self)?.yaml ?? "")), 422)
            }
            let ref = PolicyRef(kind: "CiliumNetworkPolicy", namespace: m.namespace, name: m.name)
            let existed = lock.withLock { applied.updateValue((ref, y), forKey: "\(ref.kind)/\(ref.namespace)/\(ref.name)") != nil }
            push()
            return json(ApplyResponse(ok: true, output: "ciliumnetworkpolicy.cilium.io/\(m.name) \(existed ? "configured" : "created")", errors: []))
        case ("POST", "editor"):
            guard let req = body(EditorRequest.self) else { return json(APIError("bad editor request"), 400) }
            return json(edit(req))
        case ("POST", "whatif"):
            guard let req = body(WhatIfRequest.self) else { return json(APIError("bad what-if request"), 400) }
            let m = model(req.yaml)
            let rows = rows(req.namespace).map { row -> WhatIfRow in
                let draft = req.yaml.isEmpty ? row.verdict : draftVerdict(row, m)
                return WhatIfRow(row: row, recorded: row.verdict, current: row.verdict, draft: draft, changed: draft != row.verdict,
                                 draftDecidedBy: draft == "dropped" && m != nil ? [PolicyRef(kind: "CiliumNetworkPolicy", namespace: m!.namespace, name: m!.name)] : [])
            }
            return json(WhatIfResponse(rows: rows, changedCount: rows.filter(\.changed).count, errors: []))
        case ("POST", "rule-from-flow"):
            guard let req = body(RuleFromFlowRequest.self), var m = model(req.yaml), let row = rows(nil).first(where: { $0.id == req.row }) else {
                return json(APIError("the policy's endpoint selector does not select this flow's pods"), 409)
            }
            let peer = row.destination.kind == "world" ? PeerSpec(type: "fqdn", matchName: row.destination.name)
                : row.destination.namespace == m.namespace ? PeerSpec(type: "podsByLabels", labels: row.destination.labels)
                : PeerSpec(type: "podsIn", labels: row.destination.labels, namespace: row.destination.namespace)
            m.egress.append(Rule(peer: peer, ports: [PortSpec(port: String(row.port))]))
            return json(EditorResponse(yaml: remember(m), picture: Self.picture(m), errors: []))
        default:
            return json(APIError("the dev fake has no \(r.method) \(r.path)"), 404)
        }
    }
}

@Suite struct DevServer {
    /// `PORIN_WEBUI_DEV_SERVE=600 swift test --scratch-path .build-helper-web --filter DevServer` serves
    /// the page on http://127.0.0.1:12080 for ten minutes.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PORIN_WEBUI_DEV_SERVE"] != nil))
    func serveTheLabFake() async throws {
        let env = ProcessInfo.processInfo.environment
        let seconds = Double(env["PORIN_WEBUI_DEV_SERVE"] ?? "") ?? 600
        let port = Int(env["PORIN_WEBUI_DEV_PORT"] ?? "") ?? 12080
        let handler: any WebHandling
        if env["PORIN_WEBUI_DEV_BACKEND"] == "lab" {
            let root = repoRoot()
            let store = FlowStore()
            handler = WebAPI(backend: try InMemoryBackend.lab(examples: root.appendingPathComponent("examples/lab").path), store: store)
            let text = try String(contentsOf: root.appendingPathComponent("Tests/UIModelTests/fixtures/lab-flows.jsonl"), encoding: .utf8)
            store.append(text.split(separator: "\n").compactMap {
                if case let .flow(f, _, _)? = try? FlowJSON.record(String($0)) { return f }
                return nil
            })
        } else {
            handler = LabFake()
        }
        let server = try WebServer.start(port: port, handler: handler)
        print("web UI dev server: http://127.0.0.1:\(server.port)/ for \(Int(seconds)) s")
        try await Task.sleep(for: .seconds(seconds))
        server.stop()
    }
}
