// The visual editor's picture of a policy: its subject in the centre, and on each side (ingress on
// the left, egress on the right) the boxes "In Namespace", "In Cluster" and "Outside Cluster" with
// what each rule allows or denies, as the Hubble UI's policy editor draws them. Read from the
// decoded policy, so the picture means what the engine enforces; item ids name the YAML they came
// from (`egress/1/toEndpoints/0`), so EditorOps can remove exactly that peer.
import PolicyAPI

public enum PolicyPicture {
    /// The picture of one policy. `selects`: the `namespace/pod` names its subject selects now.
    public static func view(_ policy: NetworkPolicyObject, selects: [String] = []) -> Picture {
        switch policy {
        case let .cilium(p): cilium(p, selects: selects)
        case let .kubernetes(p): kubernetes(p, selects: selects)
        }
    }

    /// "Visualize all": every item of every policy, tagged with its policy; a side is default deny
    /// when any policy makes it so. Read-only.
    public static func union(_ policies: [NetworkPolicyObject], namespace: String, selects: [String]) -> Picture {
        let pictures = policies.map { (ref: $0.reference, picture: view($0)) }
        func side(_ key: KeyPath<Picture, PictureSide>) -> PictureSide {
            var boxes = PictureBoxes()
            var other: [PictureItem] = []
            var deny = false
            for (ref, pic) in pictures {
                let s = pic[keyPath: key]
                let tag = PolicyRef(ref)
                func tagged(_ items: [PictureItem]) -> [PictureItem] { items.map { var i = $0; i.policy = tag; return i } }
                boxes.inNamespace += tagged(s.boxes.inNamespace)
                boxes.inCluster += tagged(s.boxes.inCluster)
                boxes.outsideCluster += tagged(s.boxes.outsideCluster)
                other += tagged(s.other)
                deny = deny || s.defaultDeny
            }
            return PictureSide(defaultDeny: deny, toggleLocked: "Visualize all is read-only: open a policy to edit it", boxes: boxes,
                               arrows: arrows(boxes, defaultDeny: deny), other: other)
        }
        let names = pictures.map { $0.picture.subject.name }
        let subject = PictureSubject(kind: "", name: names.isEmpty ? "no policies" : "all policies", namespace: namespace, selector: [],
                                     selectorText: pictures.map { "\($0.picture.subject.name): \($0.picture.subject.selectorText)" }.joined(separator: "; "),
                                     selects: selects)
        return Picture(subject: subject, ingress: side(\.ingress), egress: side(\.egress), readOnly: true, policies: policies.map { PolicyRef($0.reference) })
    }

    // MARK: Cilium

    static func cilium(_ p: CiliumPolicy, selects: [String]) -> Picture {
        let clusterwide = p.reference.kind == .ciliumClusterwideNetworkPolicy
        let ns = p.reference.namespace
        // `specs` (several rules) are drawn together; their items name the rule list they are in.
        var sides: [TrafficDirection: (boxes: PictureBoxes, other: [PictureItem], deny: Bool)] = [.ingress: (PictureBoxes(), [], false), .egress: (PictureBoxes(), [], false)]
        for (specIndex, rule) in p.rules.enumerated() {
            let prefix = p.rules.count > 1 ? "specs[\(specIndex)]." : ""
            for dir in TrafficDirection.allCases {
                let allow = dir == .ingress ? rule.ingress : rule.egress
                let deny = dir == .ingress ? rule.ingressDeny : rule.egressDeny
                let enable = dir == .ingress ? rule.enableDefaultDeny.ingress : rule.enableDefaultDeny.egress
                if (!allow.isEmpty || !deny.isEmpty) && enable != false { sides[dir]!.deny = true }
                for (list, isDeny) in [(allow, false), (deny, true)] {
                    let key = prefix + dir.rawValue + (isDeny ? "Deny" : "")
                    var s = sides[dir]!
                    for (i, r) in list.enumerated() {
                        place(ciliumItems(r, dir: dir, listKey: key, index: i, deny: isDeny, namespace: ns, clusterwide: clusterwide),
                              into: &s.boxes, other: &s.other)
                    }
                    sides[dir] = s
                }
            }
        }
        let selector = p.rules.first?.endpointSelector ?? p.rules.first?.nodeSelector ?? LabelSelector()
        let subject = PictureSubject(kind: p.reference.kind.rawValue, name: p.reference.name, namespace: ns, selector: labelTexts(selector),
                                     selectorText: selectorText(selector, namespace: ns, clusterwide: clusterwide, node: p.rules.first?.nodeSelector != nil),
                                     selects: selects)
        func side(_ d: TrafficDirection) -> PictureSide {
            let s = sides[d]!
            return PictureSide(defaultDeny: s.deny, toggleLocked: p.rules.count > 1 ? "a policy with several specs is edited in YAML" : nil,
                               boxes: s.boxes, arrows: arrows(s.boxes, defaultDeny: s.deny), other: s.other)
        }
        return Picture(subject: subject, ingress: side(.ingress), egress: side(.egress))
    }

    enum Box { case inNamespace, inCluster, outsideCluster, allBoxes, other, outsideAndCluster }

    static func place(_ items: [(Box, PictureItem)], into boxes: inout PictureBoxes, other: inout [PictureItem]) {
        for (box, item) in items {
            switch box {
            case .inNamespace: boxes.inNamespace.append(item)
            case .inCluster: boxes.inCluster.append(item)
            case .outsideCluster: boxes.outsideCluster.append(item)
            case .outsideAndCluster:
                boxes.inCluster.append(item)
                boxes.outsideCluster.append(item)
            case .allBoxes:
                boxes.inNamespace.append(item)
                boxes.inCluster.append(item)
                boxes.outsideCluster.append(item)
            case .other: other.append(item)
            }
        }
    }

    static let clusterEntities: Set<String> = ["cluster", "host", "remote-node", "kube-apiserver", "health", "init", "ingress", "unmanaged"]
    static let worldEntities: Set<String> = ["world", "world-ipv4", "world-ipv6"]

    static func ciliumItems(_ r: PeerRule, dir: TrafficDirection, listKey: String, index: Int, deny: Bool, namespace: String, clusterwide: Bool) -> [(Box, PictureItem)] {
        let ports = portTexts(r.toPorts)
        let dnsProxy = r.toPorts?.contains { $0.rules?.dns?.isEmpty == false } ?? false
        let l7 = r.toPorts?.contains { $0.rules?.http != nil || $0.rules?.kafka != nil || $0.rules?.l7proto != nil } ?? false
        let detail = l7 ? "with L7 rules (shown in YAML only)" : ""
        let from = dir == .ingress ? "from" : "to"
        func item(_ key: String, _ j: Int, _ type: String, _ label: String, _ extra: String = "") -> PictureItem {
            PictureItem(id: "\(listKey)/\(index)/\(key)/\(j)", rule: index, peer: j, type: type, label: label,
                        detail: [extra, detail].filter { !$0.isEmpty }.joined(separator: "; "), ports: ports, dnsProxy: dnsProxy, deny: deny)
        }
        var out: [(Box, PictureItem)] = []
        if r.hasNoL3 {
            // An empty rule `{}` is no item: it only turns default deny on (the side's toggle).
            guard r.toPorts != nil || r.icmps != nil else { return [] }
            let what = r.icmps != nil ? "ICMP" : "ports"
            out.append((.allBoxes, item("toPorts", -1, "allPeers", "All peers", "every peer on these \(what)")))
            return out
        }
        for (j, sel) in (r.endpoints ?? []).enumerated() {
            let (box, type, label) = classify(sel, namespace: namespace, clusterwide: clusterwide, direction: dir)
            out.append((box, item("\(from)Endpoints", j, type, label)))
        }
        for (j, e) in (r.entities ?? []).enumerated() {
            let box: Box = e == "all" ? .outsideAndCluster : worldEntities.contains(e) ? .outsideCluster : .inCluster
            out.append((box, item("\(from)Entities", j, "entity", e, "entity")))
        }
        for (j, c) in (r.cidrs ?? []).enumerated() {
            out.append((.outsideCluster, item("\(from)CIDR", j, "cidr", c.description)))
        }
        for (j, c) in (r.cidrSets ?? []).enumerated() {
            let label = c.cidr?.description ?? c.cidrGroupRef.map { "CIDR group \($0)" } ?? "CIDR group selector"
            let except = c.except.isEmpty ? "" : "except " + c.except.map(\.description).joined(separator: ", ")
            out.append((c.cidr == nil ? .other : .outsideCluster, item("\(from)CIDRSet", j, c.cidr == nil ? "other" : "cidr", label, except)))
        }
        for (j, f) in (r.fqdns ?? []).enumerated() {
            out.append((.outsideCluster, item("toFQDNs", j, "fqdn", f.labelValue, f.matchName != nil ? "matchName" : "matchPattern")))
        }
        for (j, s) in (r.services ?? []).enumerated() {
            let label = s.serviceName.map { "Service \(s.namespace ?? namespace)/\($0)" } ?? "Services " + labelTexts(s.selector ?? LabelSelector()).joined(separator: ",")
            out.append((.inCluster, item("toServices", j, "service", label)))
        }
        for (j, n) in (r.nodes ?? []).enumerated() {
            out.append((.other, item("\(from)Nodes", j, "other", "Nodes " + labelTexts(n).joined(separator: ","))))
        }
        if r.groupsWritten { out.append((.other, item("\(from)Groups", 0, "other", "\(from)Groups"))) }
        for (j, q) in (r.requires ?? []).enumerated() {
            out.append((.other, item("\(from)Requires", j, "other", "Requires " + labelTexts(q).joined(separator: ","))))
        }
        return out
    }

    /// Where an endpoint selector of a namespaced (or clusterwide) policy goes, and what it is called.
    static func classify(_ sel: LabelSelector, namespace: String, clusterwide: Bool, direction: TrafficDirection) -> (Box, String, String) {
        var labels: [(String, String)] = []
        var nsValue: String?
        for (k, v) in sel.matchLabels {
            let key = stripSource(k)
            if key == "io.kubernetes.pod.namespace" { nsValue = v } else { labels.append((key, v)) }
        }
        let nsExists = sel.matchExpressions.contains { stripSource($0.key) == "io.kubernetes.pod.namespace" && $0.op == .exists }
        let exprs = sel.matchExpressions.filter { !(stripSource($0.key) == "io.kubernetes.pod.namespace" && $0.op == .exists) }
        let text = (labels.map { "\($0.0)=\($0.1)" } + exprs.map(expressionText)).joined(separator: ", ")
        if nsValue == "kube-system" && labels.count == 1 && labels[0] == ("k8s-app", "kube-dns") && exprs.isEmpty && direction == .egress {
            return (.inCluster, "kubeDNS", "Kubernetes DNS")
        }
        if let nsValue, nsValue != namespace || clusterwide {
            return text.isEmpty ? (.inCluster, "anyPodIn", "Any pod in \(nsValue)") : (.inCluster, "podsIn", "Pods \(text) in \(nsValue)")
        }
        if nsExists || clusterwide && nsValue == nil {
            return text.isEmpty ? (.inCluster, "anyPodAnyNamespace", "Any pod in any namespace") : (.inCluster, "podsIn", "Pods \(text) in any namespace")
        }
        return text.isEmpty ? (.inNamespace, "anyPod", "Any pod") : (.inNamespace, "podsByLabels", "Pods with labels \(text)")
    }

    // MARK: Kubernetes NetworkPolicy

    static func kubernetes(_ p: KubernetesNetworkPolicy, selects: [String]) -> Picture {
        let ns = p.reference.namespace
        func side(_ dir: TrafficDirection) -> PictureSide {
            let rules = (dir == .ingress ? p.ingress : p.egress) ?? []
            let deny = p.policyTypes.contains(dir)
            var boxes = PictureBoxes()
            var other: [PictureItem] = []
            let peerKey = dir == .ingress ? "from" : "to"
            for (i, r) in rules.enumerated() {
                let ports = r.ports.map { (p: KubernetesNetworkPolicy.Port) -> String in
                    let number = p.port.map { n in p.endPort.map { "\(n)-\($0)" } ?? n } ?? "ANY"
                    return "\(number)/\(p.proto.rawValue)"
                }
                func item(_ j: Int, _ type: String, _ label: String, _ detail: String = "") -> PictureItem {
                    PictureItem(id: "\(dir.rawValue)/\(i)/\(peerKey)/\(j)", rule: i, peer: j, type: type, label: label, detail: detail, ports: ports)
                }
                if r.peers.isEmpty {
                    place([(.allBoxes, item(-1, "allPeers", "All peers", ports.isEmpty ? "every peer, every port" : "every peer on these ports"))], into: &boxes, other: &other)
                    continue
                }
                for (j, peer) in r.peers.enumerated() {
                    place([knpPeer(peer, namespace: ns, item: { item(j, $0, $1, $2) })], into: &boxes, other: &other)
                }
            }
            let locked = deny && !rules.isEmpty ? "this NetworkPolicy's \(dir.rawValue) rules make it default deny; remove them first" : nil
            return PictureSide(defaultDeny: deny, toggleLocked: locked, boxes: boxes, arrows: arrows(boxes, defaultDeny: deny), other: other)
        }
        let subject = PictureSubject(kind: "NetworkPolicy", name: p.reference.name, namespace: ns, selector: labelTexts(p.podSelector),
                                     selectorText: selectorText(p.podSelector, namespace: ns, clusterwide: false, node: false), selects: selects)
        return Picture(subject: subject, ingress: side(.ingress), egress: side(.egress))
    }

    static func knpPeer(_ peer: KubernetesNetworkPolicy.Peer, namespace: String, item: (String, String, String) -> PictureItem) -> (Box, PictureItem) {
        if let b = peer.ipBlock {
            let except = b.except.isEmpty ? "" : "except " + b.except.map(\.description).joined(separator: ", ")
            return (.outsideCluster, item("cidr", b.cidr?.description ?? "?", except))
        }
        let pods = peer.podSelector.map { labelTexts($0).joined(separator: ", ") } ?? ""
        guard let nsSel = peer.namespaceSelector else {
            return (.inNamespace, pods.isEmpty ? item("anyPod", "Any pod", "") : item("podsByLabels", "Pods with labels \(pods)", ""))
        }
        if nsSel.isEmpty {
            return (.inCluster, pods.isEmpty ? item("anyPodAnyNamespace", "Any pod in any namespace", "") : item("podsIn", "Pods \(pods) in any namespace", ""))
        }
        if nsSel.matchExpressions.isEmpty, nsSel.matchLabels.count == 1, nsSel.matchLabels[0].0 == "kubernetes.io/metadata.name" {
            let name = nsSel.matchLabels[0].1
            if name == namespace {
                return (.inNamespace, pods.isEmpty ? item("anyPod", "Any pod", "namespace \(name)") : item("podsByLabels", "Pods with labels \(pods)", ""))
            }
            return (.inCluster, pods.isEmpty ? item("anyPodIn", "Any pod in \(name)", "") : item("podsIn", "Pods \(pods) in \(name)", ""))
        }
        let nsText = labelTexts(nsSel).joined(separator: ", ")
        return (.inCluster, item(pods.isEmpty ? "anyPodIn" : "podsIn", (pods.isEmpty ? "Any pod" : "Pods \(pods)") + " in namespaces \(nsText)", ""))
    }

    // MARK: Shared

    /// Green where something is allowed or the side is not default deny; red where the side is
    /// default deny and nothing is allowed, or where a deny rule applies.
    static func arrows(_ b: PictureBoxes, defaultDeny: Bool) -> PictureArrows {
        func state(_ items: [PictureItem]) -> String {
            if items.contains(where: \.deny) { return "denied" }
            return !defaultDeny || items.contains { !$0.deny } ? "allowed" : "denied"
        }
        return PictureArrows(inNamespace: state(b.inNamespace), inCluster: state(b.inCluster), outsideCluster: state(b.outsideCluster))
    }

    static func portTexts(_ rules: [PortRule]?) -> [String] {
        var out: [String] = []
        for r in rules ?? [] {
            for p in r.ports {
                let port = p.port == "0" || p.port.isEmpty ? "ANY" : p.endPort.map { "\(p.port)-\($0)" } ?? p.port
                out.append("\(port)/\(p.proto.rawValue)")
            }
        }
        return out
    }

    static func stripSource(_ key: String) -> String {
        for s in ["k8s:", "any:"] where key.hasPrefix(s) { return String(key.dropFirst(s.count)) }
        return key
    }

    static func labelTexts(_ s: LabelSelector) -> [String] {
        s.matchLabels.map { "\(stripSource($0.0))=\($0.1)" } + s.matchExpressions.map(expressionText)
    }

    static func expressionText(_ r: LabelSelector.Requirement) -> String {
        let key = stripSource(r.key)
        switch r.op {
        case .exists: return key
        case .doesNotExist: return "!" + key
        case .in: return "\(key) in (\(r.values.joined(separator: ",")))"
        case .notIn: return "\(key) notin (\(r.values.joined(separator: ",")))"
        }
    }

    static func selectorText(_ s: LabelSelector, namespace: String, clusterwide: Bool, node: Bool) -> String {
        if node { return s.isEmpty ? "every node" : "nodes \(labelTexts(s).joined(separator: ", "))" }
        let scope = clusterwide ? "every namespace" : namespace
        if s.isEmpty { return clusterwide ? "every pod of every namespace" : "every pod of \(namespace)" }
        return "pods \(labelTexts(s).joined(separator: ", ")) in \(scope)"
    }
}

extension PolicyRef {
    public init(_ r: PolicyReference) { self.init(kind: r.kind.rawValue, namespace: r.namespace, name: r.name) }
}
