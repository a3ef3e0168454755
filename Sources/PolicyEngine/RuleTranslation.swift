// Turns policy objects (CNP, CCNP, Kubernetes NetworkPolicy) into the engine's rule form:
// a subject selector and, per direction, contributions of (peer selectors, ports, allow/deny,
// L7). This is where Kubernetes' namespace and cluster scoping (§2.3) and the NetworkPolicy
// translation (§2.9, with the fixes of §11) happen.
import PolicyAPI

public enum PortSpec: Hashable, Sendable {
    /// A numeric port block list for one protocol (`0` protocol never appears here).
    case numeric(proto: UInt8, start: Int, end: Int)
    /// A named port, resolved per endpoint when the map is built.
    case named(proto: UInt8, name: String)
    /// Every port of a protocol.
    case allPorts(proto: UInt8)
}

public enum PeerSet: Hashable, Sendable {
    /// Every identity, world included: the ANY key (identity 0).
    case wildcard
    case selectors([EndpointSelectorSpec])
}

/// What one rule element adds to a direction of its subjects' policy.
public struct Contribution: Hashable, Sendable {
    public var peers: PeerSet
    /// nil: every protocol and port (an L3-only rule).
    public var ports: [PortSpec]?
    public var deny: Bool
    public var parser: L7Parser?
    public var l7: L7Rules?
    public var authRequired: Bool
}

public struct RuleSection: Hashable, Sendable {
    public var defaultDeny: Bool
    public var contributions: [Contribution]
}

public struct TranslatedRule: Hashable, Sendable {
    public var policy: PolicyReference
    /// nil when the rule can never select a pod (a host policy with `nodeSelector`).
    public var subject: EndpointSelectorSpec?
    public var ingress: RuleSection?
    public var egress: RuleSection?

    public func section(_ d: TrafficDirection) -> RuleSection? { d == .ingress ? ingress : egress }
}

/// Agent settings that change how rules are read.
public struct EngineConfig: Sendable, Hashable {
    public enum EnforcementMode: String, Sendable, Hashable, CaseIterable { case `default`, always, never }
    public var clusterName: String = "default"
    public var enforcementMode: EnforcementMode = .default
    /// `policy-default-local-cluster` (Cilium 1.19 default true).
    public var policyDefaultLocalCluster = true
    /// `allow-localhost=always`, Kubernetes' default: the host may always reach local pods.
    public var allowLocalhost = true
    public init(clusterName: String = "default", enforcementMode: EnforcementMode = .default) {
        self.clusterName = clusterName
        self.enforcementMode = enforcementMode
    }
}

/// Services known to the engine, for `toServices`.
public struct ServiceInfo: Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var labels: [String: String]
    public var selector: [String: String]
    public init(namespace: String, name: String, labels: [String: String] = [:], selector: [String: String]) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.selector = selector
    }
}

public struct RuleTranslator: Sendable {
    public var config: EngineConfig
    public var services: [ServiceInfo]

    public init(config: EngineConfig, services: [ServiceInfo] = []) {
        self.config = config
        self.services = services
    }

    static let nsKey = "io.kubernetes.pod.namespace"
    static let clusterKey = "io.cilium.k8s.policy.cluster"
    static let nsLabelsPrefix = "io.cilium.k8s.namespace.labels."

    public func translate(_ object: NetworkPolicyObject) -> [TranslatedRule] {
        switch object {
        case let .cilium(p): return p.rules.map { translate(rule: $0, policy: p.reference) }
        case let .kubernetes(np): return [translate(np)]
        }
    }

    // MARK: Cilium rules

    func translate(rule: PolicyRule, policy: PolicyReference) -> TranslatedRule {
        let clusterwide = policy.kind == .ciliumClusterwideNetworkPolicy
        var subject: EndpointSelectorSpec?
        if let sel = rule.endpointSelector {
            var spec = EndpointSelectorSpec(sel)
            if !clusterwide {
                // The namespace of a CNP's subject is always its own (a user value is overwritten).
                spec = EndpointSelectorSpec(spec.requirements.filter { !($0.source == LabelSource.k8s && $0.key == Self.nsKey) })
                    .adding(SelectorRequirement(source: LabelSource.k8s, key: Self.nsKey, op: .in, values: [policy.namespace]))
            }
            subject = spec
        }
        let subjectIsInit = subject?.requirements.contains { $0.source == LabelSource.reserved && $0.key == "init" } ?? false
        func section(_ allow: [PeerRule], _ deny: [PeerRule], _ dir: TrafficDirection, _ defaultDeny: Bool?) -> RuleSection? {
            if allow.isEmpty && deny.isEmpty { return nil }
            var contributions: [Contribution] = []
            for r in allow { contributions += self.contributions(r, deny: false, policy: policy, clusterwide: clusterwide, subjectIsInit: subjectIsInit) }
            for r in deny { contributions += self.contributions(r, deny: true, policy: policy, clusterwide: clusterwide, subjectIsInit: subjectIsInit) }
            return RuleSection(defaultDeny: defaultDeny ?? true, contributions: contributions)
        }
        return TranslatedRule(
            policy: policy, subject: subject,
            ingress: section(rule.ingress, rule.ingressDeny, .ingress, rule.enableDefaultDeny.ingress),
            egress: section(rule.egress, rule.egressDeny, .egress, rule.enableDefaultDeny.egress))
    }

    func contributions(_ r: PeerRule, deny: Bool, policy: PolicyReference, clusterwide: Bool, subjectIsInit: Bool) -> [Contribution] {
        var peers: PeerSet
        if r.hasNoL3 {
            // No peer field: an L4-only rule (wildcard peer), or an empty rule that allows nothing.
            if r.toPorts == nil && r.icmps == nil { return [] }
            peers = .wildcard
        } else {
            var sels: [EndpointSelectorSpec] = []
            var wildcard = false
            for s in r.endpoints ?? [] {
                let spec = peerSelector(s, policy: policy, clusterwide: clusterwide, subjectIsInit: subjectIsInit)
                if spec.isWildcard { wildcard = true } else { sels.append(spec) }
            }
            for c in r.cidrs ?? [] { sels.append(cidrSelector(c, except: [])) }
            for c in r.cidrSets ?? [] {
                // CiliumCIDRGroups are not objects Porin stores: a group reference selects nothing.
                if let cidr = c.cidr { sels.append(cidrSelector(cidr, except: c.except)) }
            }
            for e in r.entities ?? [] {
                let es = entitySelectors(e)
                if es.contains(where: \.isWildcard) { wildcard = true } else { sels += es }
            }
            for svc in r.services ?? [] { sels += serviceSelectors(svc, policy: policy) }
            for f in r.fqdns ?? [] {
                sels.append(EndpointSelectorSpec([SelectorRequirement(source: LabelSource.fqdn, key: f.labelValue, op: .exists)]))
            }
            peers = wildcard ? .wildcard : .selectors(sels)
        }
        let auth = r.authentication == .required || r.authentication == .testAlwaysFail
        if let icmps = r.icmps {
            let ports = icmps.map { PortSpec.numeric(proto: $0.family == "IPv6" ? 58 : 1, start: Int($0.type), end: Int($0.type)) }
            return [Contribution(peers: peers, ports: ports, deny: deny, parser: nil, l7: nil, authRequired: auth)]
        }
        guard let toPorts = r.toPorts else {
            return [Contribution(peers: peers, ports: nil, deny: deny, parser: nil, l7: nil, authRequired: auth)]
        }
        return toPorts.map { pr in
            Contribution(peers: peers, ports: pr.ports.flatMap(portSpecs), deny: deny, parser: pr.parser, l7: pr.rules, authRequired: auth)
        }
    }

    func portSpecs(_ p: PortProtocol) -> [PortSpec] {
        let protos: [UInt8] = p.proto == .any ? [6, 17, 132] : [p.proto.number]
        return protos.map { proto in
            if let n = Int(p.port) {
                if n == 0 { return .allPorts(proto: proto) }
                return .numeric(proto: proto, start: n, end: max(n, p.endPort ?? n))
            }
            return .named(proto: proto, name: p.port)
        }
    }

    /// §2.3: peers of namespaced policies stay in their namespace unless they say otherwise;
    /// peers of clusterwide ones need some namespace; all stay in the local cluster (1.19).
    func peerSelector(_ s: LabelSelector, policy: PolicyReference, clusterwide: Bool, subjectIsInit: Bool) -> EndpointSelectorSpec {
        var spec = EndpointSelectorSpec(s)
        if spec.mentionsReserved { return spec }
        if !spec.mentions(key: Self.nsKey) {
            if !clusterwide {
                if !spec.mentions(keyPrefix: Self.nsLabelsPrefix) {
                    spec = spec.adding(SelectorRequirement(source: LabelSource.k8s, key: Self.nsKey, op: .in, values: [policy.namespace]))
                }
            } else if !subjectIsInit {
                spec = spec.adding(SelectorRequirement(source: LabelSource.k8s, key: Self.nsKey, op: .exists))
            }
        }
        return addingCluster(spec)
    }

    func addingCluster(_ spec: EndpointSelectorSpec) -> EndpointSelectorSpec {
        guard config.policyDefaultLocalCluster, !spec.mentions(key: Self.clusterKey) else { return spec }
        return spec.adding(SelectorRequirement(source: LabelSource.k8s, key: Self.clusterKey, op: .in, values: [config.clusterName]))
    }

    func cidrSelector(_ prefix: IPPrefix, except: [IPPrefix]) -> EndpointSelectorSpec {
        var reqs: [SelectorRequirement] = []
        if prefix.length == 0 {
            reqs.append(SelectorRequirement(source: LabelSource.reserved, key: "world", op: .exists))
        } else {
            reqs.append(SelectorRequirement(source: LabelSource.cidr, key: prefix.description, op: .exists))
        }
        for e in except { reqs.append(SelectorRequirement(source: LabelSource.cidr, key: e.description, op: .doesNotExist)) }
        return EndpointSelectorSpec(reqs)
    }

    /// Entity → selectors (§1.4); `all` is the wildcard.
    public func entitySelectors(_ entity: String) -> [EndpointSelectorSpec] {
        func reserved(_ n: String) -> EndpointSelectorSpec { EndpointSelectorSpec([SelectorRequirement(source: LabelSource.reserved, key: n, op: .exists)]) }
        switch entity {
        case "all": return [.wildcard]
        case "world": return [reserved("world"), reserved("world-ipv4"), reserved("world-ipv6")]
        case "cluster":
            return ["host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver"].map(reserved)
                + [EndpointSelectorSpec([SelectorRequirement(source: LabelSource.k8s, key: Self.clusterKey, op: .in, values: [config.clusterName])])]
        default: return [reserved(entity)]
        }
    }

    /// `toServices` (Cilium ≥ 1.17): a selector-backed Service stands for its pods.
    func serviceSelectors(_ svc: ServiceSelector, policy: PolicyReference) -> [EndpointSelectorSpec] {
        let ns = svc.namespace ?? ""
        return services.filter { s in
            if !ns.isEmpty && s.namespace != ns { return false }
            if let name = svc.serviceName { return s.name == name }
            if let sel = svc.selector { return EndpointSelectorSpec(sel, defaultSource: LabelSource.any).matches(LabelSet(s.labels.map { Label(LabelSource.k8s, $0.key, $0.value) })) }
            return false
        }.compactMap { s in
            guard !s.selector.isEmpty else { return nil }
            var reqs = s.selector.map { SelectorRequirement(source: LabelSource.k8s, key: $0.key, op: .in, values: [$0.value]) }
            reqs.append(SelectorRequirement(source: LabelSource.k8s, key: Self.nsKey, op: .in, values: [s.namespace]))
            return addingCluster(EndpointSelectorSpec(reqs))
        }
    }

    // MARK: Kubernetes NetworkPolicy

    func translate(_ np: KubernetesNetworkPolicy) -> TranslatedRule {
        let ns = np.reference.namespace
        let subject = EndpointSelectorSpec(np.podSelector, defaultSource: LabelSource.k8s)
            .adding(SelectorRequirement(source: LabelSource.k8s, key: Self.nsKey, op: .in, values: [ns]))
        func section(_ rules: [KubernetesNetworkPolicy.Rule]?, _ dir: TrafficDirection) -> RuleSection? {
            // §11: a direction not named in policyTypes is not affected by the policy.
            guard np.policyTypes.contains(dir) else { return nil }
            var contributions: [Contribution] = []
            for rule in rules ?? [] {
                let ports: [PortSpec]? = rule.ports.isEmpty ? nil : rule.ports.flatMap { p -> [PortSpec] in
                    guard let port = p.port else { return [.allPorts(proto: p.proto.number)] }
                    if let n = Int(port) { return [.numeric(proto: p.proto.number, start: n, end: max(n, p.endPort ?? n))] }
                    return [.named(proto: p.proto.number, name: port)]
                }
                if rule.peers.isEmpty {
                    contributions.append(Contribution(peers: .wildcard, ports: ports, deny: false, parser: nil, l7: nil, authRequired: false))
                    continue
                }
                var sels: [EndpointSelectorSpec] = []
                for peer in rule.peers {
                    if let block = peer.ipBlock, let cidr = block.cidr {
                        // §11: an ipBlock selects addresses outside the cluster's pods only.
                        sels.append(cidrSelector(cidr, except: block.except))
                        continue
                    }
                    var reqs: [SelectorRequirement] = []
                    if let nsSel = peer.namespaceSelector {
                        if nsSel.isEmpty {
                            reqs.append(SelectorRequirement(source: LabelSource.k8s, key: Self.nsKey, op: .exists))
                        } else {
                            for r in EndpointSelectorSpec(nsSel, defaultSource: LabelSource.k8s).requirements {
                                reqs.append(SelectorRequirement(source: LabelSource.k8s, key: Self.nsLabelsPrefix + r.key, op: r.op, values: r.values))
                            }
                        }
                    } else {
                        reqs.append(SelectorRequirement(source: LabelSource.k8s, key: Self.nsKey, op: .in, values: [ns]))
                    }
                    if let ps = peer.podSelector { reqs += EndpointSelectorSpec(ps, defaultSource: LabelSource.k8s).requirements }
                    sels.append(addingCluster(EndpointSelectorSpec(reqs)))
                }
                contributions.append(Contribution(peers: .selectors(sels), ports: ports, deny: false, parser: nil, l7: nil, authRequired: false))
            }
            return RuleSection(defaultDeny: true, contributions: contributions)
        }
        return TranslatedRule(policy: np.reference, subject: subject, ingress: section(np.ingress, .ingress), egress: section(np.egress, .egress))
    }
}
