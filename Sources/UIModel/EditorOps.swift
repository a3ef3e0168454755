// The visual editor's clicks as operations on the policy document. The browser never edits a
// policy itself: it posts the YAML and an op, and gets back the new YAML and its picture. New keys
// go to canonical places (the peer, then `toPorts`; `port` before `protocol`…), so the YAML is the
// same whatever the order of the clicks, and is what `kubectl get -o yaml` would show.
import PolicyAPI

/// Decoding errors of the editor's YAML.
public struct EditorDiagnostics: Error, Sendable {
    public var list: [Diagnostic]
}

public struct EditorError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

public enum PolicyEditor {
    /// Parses the YAML, applies the op, and draws the result. Invalid YAML (or an op that cannot
    /// apply) comes back unchanged, with errors and no picture.
    public static func process(_ req: EditorRequest, selects: (NetworkPolicyObject) -> [String] = { _ in [] }) -> EditorResponse {
        var doc: AnyManifest
        if let op = req.op, op.op == "new" {
            do throws(EditorError) { doc = try newDocument(op) } catch { return EditorResponse(yaml: req.yaml, picture: nil, errors: [Diagnostic(line: 0, column: 0, path: "", message: error.message)]) }
        } else {
            switch parse(req.yaml) {
            case let .failure(errors): return EditorResponse(yaml: req.yaml, picture: nil, errors: errors.list)
            case let .success((d, policy)):
                guard let op = req.op else { return EditorResponse(yaml: req.yaml, picture: PolicyPicture.view(policy, selects: selects(policy)), errors: []) }
                doc = d
                do throws(EditorError) { try apply(op, to: &doc, kind: policy.reference.kind) } catch {
                    return EditorResponse(yaml: req.yaml, picture: PolicyPicture.view(policy, selects: selects(policy)), errors: [Diagnostic(line: 0, column: 0, path: "", message: error.message)])
                }
            }
        }
        let yaml = doc.yaml()
        switch parse(yaml) {
        case let .failure(errors):
            // The click would make an invalid policy (a bad CIDR, entity or name): nothing changes,
            // and the decoder's message says why.
            let before = parse(req.yaml)
            let picture: Picture? = if case let .success((_, p)) = before { PolicyPicture.view(p, selects: selects(p)) } else { nil }
            return EditorResponse(yaml: req.yaml, picture: picture,
                                  errors: errors.list.map { Diagnostic(line: 0, column: 0, path: $0.path, message: "not changed: \($0.path.isEmpty ? "" : $0.path + ": ")\($0.message)") })
        case let .success((_, policy)): return EditorResponse(yaml: yaml, picture: PolicyPicture.view(policy, selects: selects(policy)), errors: [])
        }
    }

    /// One policy document, decoded and validated as `porin apply` decodes it.
    public static func parse(_ yaml: String) -> Result<(AnyManifest, NetworkPolicyObject), EditorDiagnostics> {
        do {
            let docs = try ManifestLoader.documents(text: yaml, file: "editor").filter { !$0.isNull }
            guard docs.count == 1 else {
                return .failure(EditorDiagnostics(list: [Diagnostic(line: docs.count > 1 ? docs[1].position.line : 1, column: 1, path: "",
                                            message: docs.isEmpty ? "the editor holds no policy" : "the editor holds one policy; this is a second document")]))
            }
            let objects = try APIObjectDecoder.decode(documents: docs, defaultNamespace: "default")
            guard objects.count == 1, case let .policy(p) = objects[0] else {
                return .failure(EditorDiagnostics(list: [Diagnostic(line: docs[0].position.line, column: docs[0].position.column, path: "kind",
                                            message: "the editor edits CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy; this is a \(objects.first?.kind ?? "list")")]))
            }
            return .success((docs[0].toAny(), p))
        } catch {
            if let p = withoutRules(yaml, error.diagnostics) { return .success(p) }
            return .failure(EditorDiagnostics(list: error.diagnostics.map(Diagnostic.init)))
        }
    }

    static let noRulesMessage = "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny"

    /// A Cilium policy with no rules yet (LAB §4's first step) is a draft the editor draws with
    /// both sides allowing; `apply` still refuses it with Cilium's message. It is decoded with a
    /// placeholder `ingress: [{}]` that is then taken out again.
    static func withoutRules(_ yaml: String, _ diagnostics: [ManifestDiagnostic]) -> (AnyManifest, NetworkPolicyObject)? {
        guard !diagnostics.isEmpty, diagnostics.allSatisfy({ $0.message == noRulesMessage }),
              let doc = try? ManifestLoader.documents(text: yaml, file: "editor").first(where: { !$0.isNull })?.toAny(), doc["spec"] != nil else { return nil }
        var probe = doc
        probe.set(["spec", "ingress"], .list([.object([])]))
        guard let objects = try? APIObjectDecoder.decode(text: probe.yaml(), file: "editor"), objects.count == 1,
              case var .policy(.cilium(p)) = objects[0], p.rules.count == 1 else { return nil }
        p.rules[0].ingress = []
        return (doc, .cilium(p))
    }

    // MARK: Ops

    static func newDocument(_ op: EditorOp) throws(EditorError) -> AnyManifest {
        let kind = op.kind ?? "CiliumNetworkPolicy"
        let name = AnyManifest.string(op.name ?? "new-policy")
        switch kind {
        case "CiliumNetworkPolicy":
            guard let ns = op.namespace, !ns.isEmpty else { throw EditorError("a new CiliumNetworkPolicy needs a namespace") }
            return .object([("apiVersion", "cilium.io/v2"), ("kind", .string(kind)), ("metadata", .object([("name", name), ("namespace", .string(ns))])),
                            ("spec", .object([("endpointSelector", .object([]))]))])
        case "CiliumClusterwideNetworkPolicy":
            return .object([("apiVersion", "cilium.io/v2"), ("kind", .string(kind)), ("metadata", .object([("name", name)])),
                            ("spec", .object([("endpointSelector", .object([]))]))])
        case "NetworkPolicy":
            guard let ns = op.namespace, !ns.isEmpty else { throw EditorError("a new NetworkPolicy needs a namespace") }
            return .object([("apiVersion", "networking.k8s.io/v1"), ("kind", .string(kind)), ("metadata", .object([("name", name), ("namespace", .string(ns))])),
                            ("spec", .object([("podSelector", .object([]))]))])
        default:
            throw EditorError("kind \"\(kind)\" is not one of CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy")
        }
    }

    static let ciliumSpecOrder = ["endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress", "egressDeny", "enableDefaultDeny", "labels", "description", "log"]
    static let knpSpecOrder = ["podSelector", "policyTypes", "ingress", "egress"]
    static let ruleOrder = ["fromEndpoints", "toEndpoints", "fromRequires", "toRequires", "fromCIDR", "toCIDR", "fromCIDRSet", "toCIDRSet",
                            "fromEntities", "toEntities", "fromNodes", "toNodes", "fromGroups", "toGroups", "toServices", "toFQDNs",
                            "from", "to", "toPorts", "ports", "icmps", "authentication"]

    /// Applies one click to `doc`, a policy of `kind`.
    public static func apply(_ op: EditorOp, to doc: inout AnyManifest, kind: PolicyKind) throws(EditorError) {
        let knp = kind == .networkPolicy
        if doc["specs"] != nil, op.op != "setSubject" { throw EditorError("this policy has several rules (`specs`): edit it in the YAML pane") }
        func direction() throws(EditorError) -> TrafficDirection {
            guard let d = op.direction.flatMap(TrafficDirection.init(rawValue:)) else { throw EditorError("direction must be ingress or egress, not \"\(op.direction ?? "")\"") }
            return d
        }
        var spec = doc["spec"] ?? .object([])
        switch op.op {
        case "setSubject":
            if let name = op.name {
                guard NameValidation.isDNS1123Subdomain(name) else { throw EditorError("policy name \"\(name)\" must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit") }
                doc.set(["metadata", "name"], .string(name))
            }
            if kind != .ciliumClusterwideNetworkPolicy, let ns = op.namespace {
                guard NameValidation.isDNS1123Label(ns) else { throw EditorError("policy namespace \"\(ns)\" must be lower-case letters, digits and '-', starting and ending with a letter or digit") }
                doc.set(["metadata", "namespace"], .string(ns))
            }
            if let sel = op.selector {
                let labels = try labelPairs(sel)
                let value: AnyManifest = labels.isEmpty ? .object([]) : .object([("matchLabels", .object(labels.map { ($0.0, .string($0.1)) }))])
                put(&spec, knp ? "podSelector" : "endpointSelector", value, order: knp ? knpSpecOrder : ciliumSpecOrder)
            }
        case "setDefaultDeny":
            let dir = try direction()
            guard let deny = op.deny else { throw EditorError("setDefaultDeny needs deny: true or false") }
            if knp { try setKNPDefaultDeny(&spec, dir: dir, deny: deny) } else { setCiliumDefaultDeny(&spec, dir: dir, deny: deny) }
        case "addPeer":
            let dir = try direction()
            guard let peer = op.peer else { throw EditorError("addPeer needs a peer") }
            let rule = knp ? try knpRule(peer, dir: dir, ports: op.ports) : try ciliumRule(peer, dir: dir, ports: op.ports)
            addRule(&spec, rule, dir: dir, knp: knp)
        case "setDNSProxy":
            guard !knp else { throw EditorError("a NetworkPolicy has no DNS rules: DNS proxy rules need a CiliumNetworkPolicy") }
            guard let i = op.rule, let on = op.on else { throw EditorError("setDNSProxy needs rule and on") }
            try setDNSProxy(&spec, rule: i, on: on)
        case "setPorts":
            let dir = try direction()
            guard let i = op.rule else { throw EditorError("setPorts needs rule") }
            var rules = list(spec, dir.rawValue)
            guard rules.indices.contains(i) else { throw EditorError("\(dir.rawValue) has no rule \(i)") }
            let ports = try (op.ports ?? []).map(checkedPort)
            if knp {
                if ports.isEmpty { remove(&rules[i], "ports") } else { put(&rules[i], "ports", .list(ports.map { knpPort($0) }), order: ruleOrder) }
            } else {
                if ports.isEmpty { remove(&rules[i], "toPorts") } else { put(&rules[i], "toPorts", ciliumPorts(ports), order: ruleOrder) }
            }
            put(&spec, dir.rawValue, .list(rules), order: knp ? knpSpecOrder : ciliumSpecOrder)
        case "removeRule":
            let dir = try direction()
            guard let i = op.rule else { throw EditorError("removeRule needs rule") }
            try removeRule(&spec, listKey: dir.rawValue, index: i, knp: knp)
        case "removeItem":
            guard let id = op.item else { throw EditorError("removeItem needs item") }
            try removeItem(&spec, id: id, knp: knp)
        default:
            throw EditorError("unknown op \"\(op.op)\" (new, setSubject, setDefaultDeny, addPeer, setDNSProxy, setPorts, removeRule, removeItem)")
        }
        doc.set(["spec"], spec)
    }

    // MARK: Default deny

    static func isEmptyRule(_ r: AnyManifest) -> Bool { if case let .object(p) = r { p.isEmpty } else { false } }

    static func setCiliumDefaultDeny(_ spec: inout AnyManifest, dir: TrafficDirection, deny: Bool) {
        let key = dir.rawValue
        let rules = list(spec, key) + list(spec, key + "Deny")
        if deny {
            if rules.isEmpty {
                put(&spec, key, .list([.object([])]), order: ciliumSpecOrder)
            }
            // Rules present: they already turn default deny on unless enableDefaultDeny says no.
            if case .bool(false)? = spec["enableDefaultDeny", key] {
                var e = spec["enableDefaultDeny"] ?? .object([])
                remove(&e, key)
                if case let .object(p) = e, p.isEmpty { remove(&spec, "enableDefaultDeny") } else { put(&spec, "enableDefaultDeny", e, order: ciliumSpecOrder) }
            }
        } else if rules.allSatisfy(isEmptyRule) {
            remove(&spec, key)
            remove(&spec, key + "Deny")
        } else {
            // Keep the rules, stop them from denying the rest (Cilium ≥ 1.15's enableDefaultDeny).
            var e = spec["enableDefaultDeny"] ?? .object([])
            put(&e, key, .bool(false), order: ["ingress", "egress"])
            put(&spec, "enableDefaultDeny", e, order: ciliumSpecOrder)
        }
    }

    static func knpPolicyTypes(_ spec: AnyManifest) -> [String] {
        if case let .list(items)? = spec["policyTypes"] {
            return items.compactMap { if case let .string(s) = $0 { s } else { nil } }
        }
        // Kubernetes' defaults: Ingress always, Egress when egress rules are written.
        return spec["egress"] != nil ? ["Ingress", "Egress"] : ["Ingress"]
    }

    static func setKNPDefaultDeny(_ spec: inout AnyManifest, dir: TrafficDirection, deny: Bool) throws(EditorError) {
        let name = dir == .ingress ? "Ingress" : "Egress"
        var types = knpPolicyTypes(spec)
        if deny {
            if !types.contains(name) { types.append(name) }
        } else {
            guard list(spec, dir.rawValue).isEmpty else {
                throw EditorError("this NetworkPolicy's \(dir.rawValue) rules make it default deny; remove them first")
            }
            types.removeAll { $0 == name }
            guard !types.isEmpty else {
                throw EditorError("a NetworkPolicy isolates its pods in at least one direction; to allow everything, delete the policy")
            }
            remove(&spec, dir.rawValue)
        }
        let ordered = ["Ingress", "Egress"].filter(types.contains)
        put(&spec, "policyTypes", .list(ordered.map { .string($0) }), order: knpSpecOrder)
    }

    // MARK: Rules

    static func labelPairs(_ texts: [String]) throws(EditorError) -> [(String, String)] {
        var out: [(String, String)] = []
        for t in texts {
            let s = t.trimmingSpaces()
            if s.isEmpty { continue }
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else { throw EditorError("label \"\(t)\" is not key=value") }
            let k = String(s[..<eq]).trimmingSpaces(), v = String(s[s.index(after: eq)...]).trimmingSpaces()
            let bare = k.hasPrefix("k8s:") ? String(k.dropFirst(4)) : k
            if let e = NameValidation.labelKeyProblem(bare) { throw EditorError("label key \"\(k)\": \(e)") }
            if let e = NameValidation.labelValueProblem(v) { throw EditorError("label value \"\(v)\" of \(k): \(e)") }
            out.append((k, v))
        }
        return out
    }

    static func checkedPort(_ p: PortSpec) throws(EditorError) -> PortSpec {
        let port = p.port.trimmingSpaces()
        if let n = Int(port) {
            guard (0...65535).contains(n) else { throw EditorError("port \(port) is out of range (0-65535)") }
        } else if port.isEmpty {
            throw EditorError("a port is empty: write a number (80) or a port name (http)")
        }
        var out = PortSpec(port: port, protocol: nil)
        if let proto = p.protocol?.uppercased(), !proto.isEmpty {
            guard ["TCP", "UDP", "SCTP", "ANY"].contains(proto) else { throw EditorError("protocol \"\(p.protocol!)\" is not one of TCP, UDP, SCTP, ANY") }
            out.protocol = proto
        }
        return out
    }

    static func ciliumPorts(_ ports: [PortSpec]) -> AnyManifest {
        .list([.object([("ports", .list(ports.map { p in
            .object([("port", .string(p.port))] + (p.protocol.map { [("protocol", AnyManifest.string($0))] } ?? []))
        }))])])
    }

    static func knpPort(_ p: PortSpec) -> AnyManifest {
        .object([("port", Int(p.port).map(AnyManifest.int) ?? .string(p.port)), ("protocol", .string(p.protocol ?? "TCP"))])
    }

    static func ciliumRule(_ peer: PeerSpec, dir: TrafficDirection, ports: [PortSpec]?) throws(EditorError) -> AnyManifest {
        let from = dir == .ingress ? "from" : "to"
        var ports = try (ports ?? []).map(checkedPort)
        var pairs: [(String, AnyManifest)] = []
        func selector(_ labels: [(String, String)]) -> AnyManifest {
            labels.isEmpty ? .object([]) : .object([("matchLabels", .object(labels.map { ($0.0, .string($0.1)) }))])
        }
        switch peer.type {
        case "anyPod": pairs = [("\(from)Endpoints", .list([.object([])]))]
        case "podsByLabels":
            let labels = try labelPairs(peer.labels ?? [])
            guard !labels.isEmpty else { throw EditorError("pods by labels: give at least one label key=value") }
            pairs = [("\(from)Endpoints", .list([selector(labels)]))]
        case "anyPodIn":
            let namespaces = (peer.namespaces ?? peer.namespace.map { [$0] } ?? []).filter { !$0.isEmpty }
            guard !namespaces.isEmpty else { throw EditorError("any pod in a namespace: name the namespace") }
            for n in namespaces where !NameValidation.isDNS1123Label(n) { throw EditorError("\"\(n)\" is not a namespace name") }
            pairs = [("\(from)Endpoints", .list(namespaces.map { selector([("io.kubernetes.pod.namespace", $0)]) }))]
        case "podsIn":
            guard let n = peer.namespace, NameValidation.isDNS1123Label(n) else { throw EditorError("pods in a namespace: \"\(peer.namespace ?? "")\" is not a namespace name") }
            pairs = [("\(from)Endpoints", .list([selector(try labelPairs(peer.labels ?? []) + [("io.kubernetes.pod.namespace", n)])]))]
        case "anyPodAnyNamespace":
            pairs = [("\(from)Endpoints", .list([.object([("matchExpressions", .list([.object([("key", "io.kubernetes.pod.namespace"), ("operator", "Exists")])]))])]))]
        case "kubeDNS":
            guard dir == .egress else { throw EditorError("Kubernetes DNS is an egress peer") }
            pairs = [("toEndpoints", .list([selector([("io.kubernetes.pod.namespace", "kube-system"), ("k8s-app", "kube-dns")])]))]
            if ports.isEmpty { ports = [PortSpec(port: "53", protocol: "UDP")] }
        case "entity":
            guard let e = peer.entity, !e.isEmpty else { throw EditorError("an entity peer needs its entity (world, cluster, host…)") }
            pairs = [("\(from)Entities", .list([.string(e)]))]
        case "cidr":
            guard let c = peer.cidr, let prefix = IPPrefix(c) else { throw EditorError("CIDR \"\(peer.cidr ?? "")\" is not an address/length") }
            let except = peer.except ?? []
            for e in except {
                guard let x = IPPrefix(e), prefix.contains(x.address), x.length >= prefix.length else { throw EditorError("except \"\(e)\" is not a prefix inside \(prefix)") }
            }
            pairs = except.isEmpty ? [("\(from)CIDR", .list([.string(prefix.description)]))]
                : [("\(from)CIDRSet", .list([.object([("cidr", .string(prefix.description)), ("except", .list(except.map { .string(IPPrefix($0)!.description) }))])]))]
        case "fqdn":
            guard dir == .egress else { throw EditorError("FQDN rules are egress only (toFQDNs)") }
            if let n = peer.matchName, !n.isEmpty {
                pairs = [("toFQDNs", .list([.object([("matchName", .string(n))])]))]
            } else if let p = peer.matchPattern, !p.isEmpty {
                pairs = [("toFQDNs", .list([.object([("matchPattern", .string(p))])]))]
            } else {
                throw EditorError("an FQDN peer needs matchName or matchPattern")
            }
        default:
            throw EditorError("unknown peer type \"\(peer.type)\"")
        }
        if !ports.isEmpty { pairs.append(("toPorts", ciliumPorts(ports))) }
        return .object(pairs)
    }

    static func knpRule(_ peer: PeerSpec, dir: TrafficDirection, ports: [PortSpec]?) throws(EditorError) -> AnyManifest {
        var ports = try (ports ?? []).map(checkedPort)
        func labels(_ l: [(String, String)]) -> AnyManifest { l.isEmpty ? .object([]) : .object([("matchLabels", .object(l.map { ($0.0, .string($0.1)) }))]) }
        func ns(_ n: String) -> AnyManifest { labels([("kubernetes.io/metadata.name", n)]) }
        var peers: [AnyManifest]
        switch peer.type {
        case "anyPod": peers = [.object([("podSelector", .object([]))])]
        case "podsByLabels":
            let l = try labelPairs(peer.labels ?? [])
            guard !l.isEmpty else { throw EditorError("pods by labels: give at least one label key=value") }
            peers = [.object([("podSelector", labels(l))])]
        case "anyPodIn":
            let namespaces = (peer.namespaces ?? peer.namespace.map { [$0] } ?? []).filter { !$0.isEmpty }
            guard !namespaces.isEmpty else { throw EditorError("any pod in a namespace: name the namespace") }
            peers = namespaces.map { .object([("namespaceSelector", ns($0))]) }
        case "podsIn":
            guard let n = peer.namespace, !n.isEmpty else { throw EditorError("pods in a namespace: name the namespace") }
            peers = [.object([("podSelector", labels(try labelPairs(peer.labels ?? []))), ("namespaceSelector", ns(n))])]
        case "anyPodAnyNamespace": peers = [.object([("namespaceSelector", .object([]))])]
        case "kubeDNS":
            guard dir == .egress else { throw EditorError("Kubernetes DNS is an egress peer") }
            peers = [.object([("podSelector", labels([("k8s-app", "kube-dns")])), ("namespaceSelector", ns("kube-system"))])]
            if ports.isEmpty { ports = [PortSpec(port: "53", protocol: "UDP")] }
        case "cidr":
            guard let c = peer.cidr, let prefix = IPPrefix(c) else { throw EditorError("CIDR \"\(peer.cidr ?? "")\" is not an address/length") }
            var block: [(String, AnyManifest)] = [("cidr", .string(prefix.description))]
            if let e = peer.except, !e.isEmpty { block.append(("except", .list(e.map { .string($0) }))) }
            peers = [.object([("ipBlock", .object(block))])]
        case "entity": throw EditorError("a NetworkPolicy has no entities: use a CiliumNetworkPolicy (or an ipBlock for the world)")
        case "fqdn": throw EditorError("a NetworkPolicy cannot select DNS names: use a CiliumNetworkPolicy's toFQDNs")
        default: throw EditorError("unknown peer type \"\(peer.type)\"")
        }
        var pairs: [(String, AnyManifest)] = [(dir == .ingress ? "from" : "to", .list(peers))]
        if !ports.isEmpty { pairs.append(("ports", .list(ports.map(knpPort)))) }
        return .object(pairs)
    }

    /// Appends a rule, replacing a lone `{}`; an identical rule already there means nothing to do.
    static func addRule(_ spec: inout AnyManifest, _ rule: AnyManifest, dir: TrafficDirection, knp: Bool) {
        var rules = list(spec, dir.rawValue)
        if rules.contains(rule) { return }
        if rules.count == 1 && isEmptyRule(rules[0]) && !knp { rules = [] }
        rules.append(rule)
        put(&spec, dir.rawValue, .list(rules), order: knp ? knpSpecOrder : ciliumSpecOrder)
        if knp, case .list? = spec["policyTypes"] {
            let name = dir == .ingress ? "Ingress" : "Egress"
            var types = knpPolicyTypes(spec)
            if !types.contains(name) {
                types.append(name)
                put(&spec, "policyTypes", .list(["Ingress", "Egress"].filter(types.contains).map { .string($0) }), order: knpSpecOrder)
            }
        }
    }

    static func setDNSProxy(_ spec: inout AnyManifest, rule i: Int, on: Bool) throws(EditorError) {
        var rules = list(spec, "egress")
        guard rules.indices.contains(i) else { throw EditorError("egress has no rule \(i)") }
        var portRules = list(rules[i], "toPorts")
        var touched = false
        for j in portRules.indices {
            let ports = list(portRules[j], "ports")
            guard ports.contains(where: { if case let .string(p)? = $0["port"] { p == "53" } else if case .int(53)? = $0["port"] { true } else { false } }) else { continue }
            touched = true
            if on {
                if portRules[j]["rules", "dns"] == nil {
                    var r = portRules[j]["rules"] ?? .object([])
                    put(&r, "dns", .list([.object([("matchPattern", "*")])]), order: ["http", "kafka", "dns"])
                    put(&portRules[j], "rules", r, order: ["ports", "rules"])
                }
            } else {
                var r = portRules[j]["rules"] ?? .object([])
                remove(&r, "dns")
                if case let .object(p) = r, p.isEmpty { remove(&portRules[j], "rules") } else { put(&portRules[j], "rules", r, order: ["ports", "rules"]) }
            }
        }
        guard touched else { throw EditorError("egress rule \(i) has no port 53: the DNS proxy only sees DNS") }
        put(&rules[i], "toPorts", .list(portRules), order: ruleOrder)
        put(&spec, "egress", .list(rules), order: ciliumSpecOrder)
    }

    static func removeRule(_ spec: inout AnyManifest, listKey: String, index: Int, knp: Bool) throws(EditorError) {
        var rules = list(spec, listKey)
        guard rules.indices.contains(index) else { throw EditorError("\(listKey) has no rule \(index)") }
        rules.remove(at: index)
        if rules.isEmpty && !knp {
            // The side stays default deny, as it was with the rule: `[{}]` says so.
            if listKey.hasSuffix("Deny") { remove(&spec, listKey) } else { put(&spec, listKey, .list([.object([])]), order: ciliumSpecOrder) }
        } else if rules.isEmpty {
            let name = listKey == "ingress" ? "Ingress" : "Egress"
            var types = knpPolicyTypes(spec)
            if !types.contains(name) { types.append(name) }
            remove(&spec, listKey)
            put(&spec, "policyTypes", .list(["Ingress", "Egress"].filter(types.contains).map { .string($0) }), order: knpSpecOrder)
        } else {
            put(&spec, listKey, .list(rules), order: knp ? knpSpecOrder : ciliumSpecOrder)
        }
    }

    static let peerKeys: Set<String> = ["fromEndpoints", "toEndpoints", "fromRequires", "toRequires", "fromCIDR", "toCIDR", "fromCIDRSet", "toCIDRSet",
                                        "fromEntities", "toEntities", "fromNodes", "toNodes", "fromGroups", "toGroups", "toServices", "toFQDNs"]

    /// Removes one peer (`<list>/<rule>/<key>/<index>` as PolicyPicture names it). A rule left
    /// without peers goes too: with only its ports it would allow every peer.
    static func removeItem(_ spec: inout AnyManifest, id: String, knp: Bool) throws(EditorError) {
        let parts = id.split(separator: "/").map(String.init)
        guard parts.count == 4, let i = Int(parts[1]), let j = Int(parts[3]) else { throw EditorError("item \"\(id)\" is not <direction>/<rule>/<key>/<index>") }
        let listKey = parts[0], key = parts[2]
        guard ["ingress", "egress", "ingressDeny", "egressDeny"].contains(listKey) else { throw EditorError("item \"\(id)\": unknown rule list \(listKey)") }
        if j < 0 { return try removeRule(&spec, listKey: listKey, index: i, knp: knp) }
        var rules = list(spec, listKey)
        guard rules.indices.contains(i) else { throw EditorError("\(listKey) has no rule \(i)") }
        var peers = list(rules[i], key)
        guard peers.indices.contains(j) else { throw EditorError("\(listKey) rule \(i) has no \(key)[\(j)]") }
        peers.remove(at: j)
        if peers.isEmpty { remove(&rules[i], key) } else { put(&rules[i], key, .list(peers), order: ruleOrder) }
        let hasPeers: Bool
        if case let .object(p) = rules[i] { hasPeers = p.contains { knp ? ($0.0 == "from" || $0.0 == "to") : peerKeys.contains($0.0) } } else { hasPeers = false }
        if !hasPeers { return try removeRule(&spec, listKey: listKey, index: i, knp: knp) }
        put(&spec, listKey, .list(rules), order: knp ? knpSpecOrder : ciliumSpecOrder)
    }

    // MARK: Document helpers

    static func list(_ v: AnyManifest, _ key: String) -> [AnyManifest] {
        if case let .list(items)? = v[key] { return items }
        return []
    }

    /// Sets `key`, keeping its place if it exists, else before the first key that comes after it in `order`.
    static func put(_ v: inout AnyManifest, _ key: String, _ value: AnyManifest, order: [String]) {
        var pairs: [(String, AnyManifest)]
        if case let .object(p) = v { pairs = p } else { pairs = [] }
        if let i = pairs.firstIndex(where: { $0.0 == key }) {
            pairs[i].1 = value
        } else {
            let rank = order.firstIndex(of: key) ?? order.count
            let at = pairs.firstIndex { (order.firstIndex(of: $0.0) ?? order.count + 1) > rank } ?? pairs.count
            pairs.insert((key, value), at: at)
        }
        v = .object(pairs)
    }

    static func remove(_ v: inout AnyManifest, _ key: String) { v.remove([key]) }
}

extension Diagnostic {
    init(_ d: ManifestDiagnostic) { self.init(line: d.position.line, column: d.position.column, path: d.path, message: d.message) }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
