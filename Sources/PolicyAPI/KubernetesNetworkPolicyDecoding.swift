// Decoding and validation of `networking.k8s.io/v1` NetworkPolicy, with the API server's checks.

extension FieldDecoder {
    func kubernetesNetworkPolicy(spec node: ManifestNode, _ path: String, reference: PolicyReference, source: ManifestNode) -> KubernetesNetworkPolicy? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var podSelector = LabelSelector()
        if let ps = f.take("podSelector") {
            podSelector = labelSelector(ps, f.sub("podSelector")) ?? LabelSelector()
        } else {
            error(f.at("podSelector"), f.sub("podSelector"), "required field is missing (use {} to select every pod of the namespace)")
        }
        let ingress = f.list("ingress") { n, p in self.npRule(n, p, peerKey: "from") }
        let egress = f.list("egress") { n, p in self.npRule(n, p, peerKey: "to") }
        var types: [TrafficDirection] = []
        if let pt = f.take("policyTypes") {
            types = list(pt, f.sub("policyTypes")) { n, p -> TrafficDirection? in
                guard let s = self.string(n, p) else { return nil }
                switch s {
                case "Ingress": return .ingress
                case "Egress": return .egress
                default:
                    self.error(n, p, "unsupported value \"\(s)\": supported values: \"Ingress\", \"Egress\"")
                    return nil
                }
            } ?? []
            if Set(types).count != types.count { error(pt, f.sub("policyTypes"), "duplicate value") }
        }
        let typesWritten: Bool = {
            if case let .sequence(items)? = f.take("policyTypes")?.value { return !items.isEmpty }
            return false
        }()
        if !typesWritten {
            // Kubernetes' defaulting (missing or empty policyTypes): Ingress always, Egress when
            // the spec has at least one egress rule.
            types = [.ingress]
            if !(egress?.isEmpty ?? true) { types.append(.egress) }
        }
        guard diagnostics.count == before else { return nil }
        return KubernetesNetworkPolicy(reference: reference, podSelector: podSelector, policyTypes: types, ingress: ingress, egress: egress, source: source)
    }

    func npRule(_ node: ManifestNode, _ path: String, peerKey: String) -> KubernetesNetworkPolicy.Rule? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        let peers = f.list(peerKey) { n, p in self.npPeer(n, p) } ?? []
        let ports = f.list("ports") { n, p in self.npPort(n, p) } ?? []
        guard diagnostics.count == before else { return nil }
        return KubernetesNetworkPolicy.Rule(peers: peers, ports: ports)
    }

    func npPeer(_ node: ManifestNode, _ path: String) -> KubernetesNetworkPolicy.Peer? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var peer = KubernetesNetworkPolicy.Peer()
        peer.podSelector = f.take("podSelector").flatMap { labelSelector($0, f.sub("podSelector")) }
        peer.namespaceSelector = f.take("namespaceSelector").flatMap { labelSelector($0, f.sub("namespaceSelector")) }
        if let ib = f.object("ipBlock") {
            defer { ib.finish() }
            var rule = CIDRRule(cidr: nil)
            if let c = ib.string("cidr") {
                if let p = IPPrefix(c, allowBareIP: false) { rule.cidr = p } else {
                    error(ib.at("cidr"), ib.sub("cidr"), "invalid CIDR address: \"\(c)\"")
                }
            } else if !ib.has("cidr") {
                error(ib.at("cidr"), ib.sub("cidr"), "required field is missing")
            }
            rule.except = ib.list("except") { n, p -> IPPrefix? in
                guard let s = self.string(n, p) else { return nil }
                guard let e = IPPrefix(s, allowBareIP: false) else { self.error(n, p, "invalid CIDR address: \"\(s)\""); return nil }
                if let c = rule.cidr, !(c.contains(e) && e.length > c.length) {
                    self.error(n, p, "must be a strict subset of `cidr` \(c)")
                    return nil
                }
                return e
            } ?? []
            peer.ipBlock = rule
        }
        let hasSelectors = f.has("podSelector") || f.has("namespaceSelector")
        if f.has("ipBlock") && hasSelectors {
            error(node, path, "may not specify both ipBlock and another peer")
        } else if !f.has("ipBlock") && !hasSelectors {
            error(node, path, "must specify a peer (podSelector, namespaceSelector or ipBlock)")
        }
        return diagnostics.count == before ? peer : nil
    }

    func npPort(_ node: ManifestNode, _ path: String) -> KubernetesNetworkPolicy.Port? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var proto = L4Protocol.tcp
        if let p = f.string("protocol") {
            switch p {
            case "TCP": proto = .tcp
            case "UDP": proto = .udp
            case "SCTP": proto = .sctp
            default: error(f.at("protocol"), f.sub("protocol"), "unsupported value \"\(p)\": supported values: \"SCTP\", \"TCP\", \"UDP\"")
            }
        }
        var port: String?
        if let pn = f.take("port") {
            if case let .scalar(s, style) = pn.value {
                if style == .plain, let v = Int(s) {
                    if (1...65535).contains(v) { port = String(v) } else { error(pn, f.sub("port"), "must be between 1 and 65535, inclusive") }
                } else if NameValidation.isServiceName(s) {
                    port = s
                } else {
                    error(pn, f.sub("port"), "invalid port \"\(s)\": must be a number 1..65535 or a port name (at most 15 lowercase letters, digits and '-', with at least one letter)")
                }
            } else {
                error(pn, f.sub("port"), "expected a port number or name, found \(pn.kindName)")
            }
        }
        var endPort: Int?
        if let e = f.int("endPort", in: 1...65535) {
            if port == nil || Int(port!) == nil {
                error(f.at("endPort"), f.sub("endPort"), "may not be specified when `port` is not a number")
            } else if e < Int(port!)! {
                error(f.at("endPort"), f.sub("endPort"), "must be greater than or equal to `port`")
            } else {
                endPort = e
            }
        }
        guard diagnostics.count == before else { return nil }
        return KubernetesNetworkPolicy.Port(proto: proto, port: port, endPort: endPort)
    }
}
