// "Add rule to policy": the narrowest rule that allows a recorded flow, added to the open policy.
// A pod peer becomes its app label and namespace (`k8s:app`, `k8s:io.kubernetes.pod.namespace`, as
// LAB.md §7 writes it), a world address resolved through the DNS proxy becomes `toFQDNs` with its
// name (§6), any other address a /32; then the port, with `protocol` only when it is not TCP.
import Hubble
import PolicyAPI

public enum RuleFromFlow {
    /// Adds to `yaml` (one policy) the rule that allows `flow`, and returns the editor's answer.
    /// Throws with the reason when the policy selects neither end of the flow, or the flow has no
    /// peer a rule can name.
    public static func add(to yaml: String, flow: Flow, selects: (NetworkPolicyObject) -> [String] = { _ in [] }) throws(EditorError) -> EditorResponse {
        guard case let .success((doc, policy)) = PolicyEditor.parse(yaml) else { throw EditorError("the policy in the editor is not valid: fix the YAML first") }
        var d = doc
        let (dir, rule) = try rule(for: flow, policy: policy)
        var spec = d["spec"] ?? .object([])
        guard d["specs"] == nil else { throw EditorError("this policy has several rules (`specs`): edit it in the YAML pane") }
        PolicyEditor.addRule(&spec, rule, dir: dir, knp: policy.reference.kind == PolicyKind.networkPolicy)
        d.set(["spec"], spec)
        let out = d.yaml()
        guard case let .success((_, p)) = PolicyEditor.parse(out) else { throw EditorError("the rule for this flow would make the policy invalid") }
        return EditorResponse(yaml: out, picture: PolicyPicture.view(p, selects: selects(p)), errors: [])
    }

    /// The direction and the rule (as YAML) for `flow` in `policy`.
    public static func rule(for flow: Flow, policy: NetworkPolicyObject) throws(EditorError) -> (TrafficDirection, AnyManifest) {
        guard let src = flow.source, let dst = flow.destination else { throw EditorError("the flow has no endpoints") }
        let srcSelected = selects(policy, src), dstSelected = selects(policy, dst)
        // The side that dropped it decides when the policy selects both ends.
        let dir: TrafficDirection
        switch (srcSelected, dstSelected) {
        case (true, true): dir = flow.trafficDirection == 1 ? .ingress : .egress
        case (true, false): dir = .egress
        case (false, true): dir = .ingress
        case (false, false):
            let ref = policy.reference
            throw EditorError("the policy \(ref.name) selects neither \(name(src, ip: flow.ip?.source)) nor \(name(dst, ip: flow.ip?.destination)): change its endpoint selector or namespace first")
        }
        let peer = dir == .egress ? dst : src
        let peerIP = (dir == .egress ? flow.ip?.destination : flow.ip?.source) ?? ""
        let names = dir == .egress ? flow.destinationNames : flow.sourceNames
        let port: PortSpec?
        switch flow.l4 {
        case let .tcp(_, p, _)?: port = PortSpec(port: String(p))
        case let .udp(_, p)?: port = PortSpec(port: String(p), protocol: "UDP")
        case let .sctp(_, p)?: port = PortSpec(port: String(p), protocol: "SCTP")
        default: throw EditorError("only TCP, UDP and SCTP flows make rules here; write ICMP rules (icmps) in the YAML pane")
        }
        if policy.reference.kind == .networkPolicy {
            return (dir, try knpRule(peer: peer, ip: peerIP, port: port!, dir: dir, policyNamespace: policy.reference.namespace))
        }
        let from = dir == .ingress ? "from" : "to"
        var pairs: [(String, AnyManifest)]
        let reserved = peer.labels.compactMap { $0.hasPrefix("reserved:") ? String($0.dropFirst(9)) : nil }
        if reserved.contains("world") || reserved.contains("world-ipv4") {
            if dir == .egress, let n = names.first {
                pairs = [("toFQDNs", .list([.object([("matchName", .string(n.hasSuffix(".") ? String(n.dropLast()) : n))])]))]
            } else {
                guard let ip = IPAddress(peerIP) else { throw EditorError("the flow's world address \"\(peerIP)\" is not an IP address") }
                pairs = [("\(from)CIDR", .list([.string("\(ip)/\(ip.isIPv4 ? 32 : 128)")]))]
            }
        } else if let entity = ["host", "remote-node", "kube-apiserver", "health", "ingress", "init"].first(where: reserved.contains) {
            pairs = [("\(from)Entities", .list([.string(entity)]))]
        } else if !peer.namespace.isEmpty {
            pairs = [("\(from)Endpoints", .list([.object([("matchLabels", .object(podLabels(peer).map { ($0.0, .string($0.1)) }))])]))]
        } else {
            throw EditorError("the flow's peer \(peerIP) has no labels a rule can select")
        }
        pairs.append(("toPorts", PolicyEditor.ciliumPorts([port!])))
        return (dir, .object(pairs))
    }

    static func knpRule(peer: FlowEndpoint, ip: String, port: PortSpec, dir: TrafficDirection, policyNamespace: String) throws(EditorError) -> AnyManifest {
        var p: [(String, AnyManifest)]
        if peer.labels.contains(where: { $0.hasPrefix("reserved:") }) || peer.namespace.isEmpty {
            guard let a = IPAddress(ip) else { throw EditorError("the flow's peer has no address") }
            p = [("ipBlock", .object([("cidr", .string("\(a)/\(a.isIPv4 ? 32 : 128)"))]))]
        } else {
            let labels = podLabels(peer).filter { $0.0 != "k8s:io.kubernetes.pod.namespace" }.map { (String($0.0.dropFirst(4)), $0.1) }
            p = [("podSelector", .object([("matchLabels", .object(labels.map { ($0.0, .string($0.1)) }))]))]
            if peer.namespace != policyNamespace {
                p.append(("namespaceSelector", .object([("matchLabels", .object([("kubernetes.io/metadata.name", .string(peer.namespace))]))])))
            }
        }
        var port = port
        if port.protocol == nil { port.protocol = "TCP" }
        return .object([(dir == .ingress ? "from" : "to", .list([.object(p)])), ("ports", .list([PolicyEditor.knpPort(port)]))])
    }

    /// `k8s:<app label>: value` and `k8s:io.kubernetes.pod.namespace`; without an app label, every
    /// pod label (the narrowest selector still naming the workload rather than one pod's address).
    static func podLabels(_ e: FlowEndpoint) -> [(String, String)] {
        let pairs: [(String, String)] = e.labels.compactMap { l in
            guard l.hasPrefix("k8s:"), let eq = l.firstIndex(of: "=") else { return nil }
            let k = String(l[l.index(l.startIndex, offsetBy: 4)..<eq])
            if k == "io.kubernetes.pod.namespace" || k.hasPrefix("io.cilium.k8s.") || k.hasPrefix("io.kubernetes.pod.") { return nil }
            return (k, String(l[l.index(after: eq)...]))
        }
        let chosen = FlowCards.appLabel(e.labels).map { [($0.key, $0.value)] } ?? pairs
        return chosen.map { ("k8s:" + $0.0, $0.1) } + [("k8s:io.kubernetes.pod.namespace", e.namespace)]
    }

    static func name(_ e: FlowEndpoint, ip: String?) -> String {
        e.podName.isEmpty ? (ip ?? "?") : "\(e.namespace)/\(e.podName)"
    }

    /// Whether the policy's subject selects this flow endpoint (a pod of the cluster).
    static func selects(_ policy: NetworkPolicyObject, _ e: FlowEndpoint) -> Bool {
        guard !e.namespace.isEmpty, !e.labels.contains(where: { $0.hasPrefix("reserved:") && $0 != "reserved:init" }) else { return false }
        var labels: [String: String] = [:]
        for l in e.labels {
            guard let colon = l.firstIndex(of: ":"), let eq = l.firstIndex(of: "="), colon < eq else { continue }
            labels[String(l[l.index(after: colon)..<eq])] = String(l[l.index(after: eq)...])
        }
        switch policy {
        case let .cilium(p):
            if p.reference.kind == .ciliumNetworkPolicy && p.reference.namespace != e.namespace { return false }
            return p.rules.contains { r in r.endpointSelector.map { SelectorMatch.matches($0, labels) } ?? false }
        case let .kubernetes(p):
            return p.reference.namespace == e.namespace && SelectorMatch.matches(p.podSelector, labels)
        }
    }
}

/// A label selector against a pod's labels (keys without their `k8s:` source).
enum SelectorMatch {
    static func matches(_ s: LabelSelector, _ labels: [String: String]) -> Bool {
        for (k, v) in s.matchLabels where labels[PolicyPicture.stripSource(k)] != v { return false }
        for r in s.matchExpressions {
            let v = labels[PolicyPicture.stripSource(r.key)]
            switch r.op {
            case .exists: if v == nil { return false }
            case .doesNotExist: if v != nil { return false }
            case .in: if v.map(r.values.contains) != true { return false }
            case .notIn: if let v, r.values.contains(v) { return false }
            }
        }
        return true
    }
}
