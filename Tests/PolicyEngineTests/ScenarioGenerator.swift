// Random cluster scenarios for the property tests: a few namespaces and pods with labels drawn
// from a small vocabulary, and CNP/CCNP/NetworkPolicy objects built from a small vocabulary of
// selectors, entities, CIDRs and ports, allow and deny. Everything is derived from one seed, so a
// failing case is reproducible from the printed scenario (or the seed PropertyBased reports).
import PolicyAPI
import PolicyEngine
import PropertyBased

/// SplitMix64: small, fast and good enough to draw scenario shapes.
struct ScenarioRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func int(in r: ClosedRange<Int>) -> Int { r.lowerBound + int(r.count) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func shuffled<T>(_ xs: [T]) -> [T] {
        var a = xs
        if a.count < 2 { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(i + 1)) }
        return a
    }
}

enum Vocabulary {
    static let namespaces = ["ns-a", "ns-b"]
    static let apps = ["web", "db", "api"]
    static let namespaceLabelChoices: [[String: String]] = [[:], ["env": "prod"], ["env": "dev"]]
    static let extraPeers: [Peer] = [.world, .host, .remoteNode, .ip("10.1.2.3"), .ip("10.96.0.1"), .ip("192.168.1.1")]
}

struct PodSpecGen: Hashable, Sendable, CustomStringConvertible {
    var namespace: String
    var name: String
    var labels: [String: String]
    var httpPort: UInt16?
    var ip: String

    var fullName: String { "\(namespace)/\(name)" }
    var endpoint: EndpointInfo {
        pod(fullName, labels, namedPorts: httpPort.map { [NamedPort(name: "http", proto: Proto.tcp, port: $0)] } ?? [], ips: [ip])
    }
    var description: String {
        "\(fullName) \(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")) ip=\(ip)"
            + (httpPort.map { " http=\($0)" } ?? "")
    }

    static func random(_ r: inout ScenarioRNG, index: Int) -> PodSpecGen {
        var labels = ["app": r.pick(Vocabulary.apps)]
        if r.chance(40) { labels["tier"] = r.pick(["front", "back"]) }
        return PodSpecGen(namespace: r.pick(Vocabulary.namespaces), name: "pod\(index)", labels: labels,
                          httpPort: r.chance(50) ? r.pick([8080, 9090]) : nil, ip: "10.244.0.\(10 + index)")
    }

    func relabelled(_ r: inout ScenarioRNG) -> PodSpecGen {
        var p = PodSpecGen.random(&r, index: 0)
        p.namespace = namespace
        p.name = name
        p.ip = ip
        return p
    }
}

/// One generated policy object, as YAML plus its decoded form.
struct PolicySpecGen: Sendable, CustomStringConvertible {
    var reference: PolicyReference
    var yaml: String
    var object: NetworkPolicyObject

    var description: String { yaml }

    enum Flavor { case allowOnly, denyOnly, mixed }

    static func random(_ r: inout ScenarioRNG, name: String, flavor: Flavor, kind: PolicyKind? = nil, namespace: String? = nil) -> PolicySpecGen {
        let kind = kind ?? (flavor == .denyOnly ? r.pick([.ciliumNetworkPolicy, .ciliumClusterwideNetworkPolicy])
            : r.pick([.ciliumNetworkPolicy, .ciliumNetworkPolicy, .ciliumClusterwideNetworkPolicy, .networkPolicy]))
        let ns = namespace ?? r.pick(Vocabulary.namespaces)
        let yaml: String
        switch kind {
        case .ciliumNetworkPolicy: yaml = cnp(name, ns: ns, ciliumSpec(&r, flavor: flavor))
        case .ciliumClusterwideNetworkPolicy: yaml = ccnp(name, ciliumSpec(&r, flavor: flavor))
        case .networkPolicy: yaml = knp(name, ns: ns, kubernetesSpec(&r))
        }
        guard let obj = try? APIObjectDecoder.decode(text: yaml, file: "generated.yaml").first, case let .policy(p) = obj else {
            fatalError("generated policy does not decode:\n\(yaml)")
        }
        return PolicySpecGen(reference: p.reference, yaml: yaml, object: p)
    }

    static func subject(_ r: inout ScenarioRNG) -> String {
        switch r.int(4) {
        case 0: "{}"
        case 1: "{matchLabels: {tier: front}}"
        default: "{matchLabels: {app: \(r.pick(Vocabulary.apps))}}"
        }
    }

    static func ciliumPeerRule(_ r: inout ScenarioRNG, ingress: Bool) -> String {
        let px = ingress ? "from" : "to"
        var lines: [String] = []
        switch r.int(11) {
        case 0: break  // no L3 field: L4-only (or an empty rule without ports)
        case 1, 2: lines.append("\(px)Endpoints: [{matchLabels: {app: \(r.pick(Vocabulary.apps))}}]")
        case 3: lines.append("\(px)Endpoints: [{}]")
        case 4: lines.append("\(px)Endpoints: [{matchLabels: {\"k8s:io.cilium.k8s.namespace.labels.env\": prod}}]")
        case 5: lines.append("\(px)Endpoints: [{matchLabels: {\"k8s:io.kubernetes.pod.namespace\": \(r.pick(Vocabulary.namespaces)), app: \(r.pick(Vocabulary.apps))}}]")
        case 6: lines.append("\(px)Entities: [\(r.pick(["world", "all", "cluster", "host"]))]")
        case 7: lines.append("\(px)CIDR: [\(r.pick(["10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16"]))]")
        case 8: lines.append("\(px)CIDRSet: [{cidr: 10.0.0.0/8, except: [10.96.0.0/12]}]")
        case 9: lines.append("\(px)Endpoints: [{matchExpressions: [{key: app, operator: NotIn, values: [\(r.pick(Vocabulary.apps))]}]}]")
        default: lines.append("\(px)Endpoints: [{matchLabels: {tier: front}}]")
        }
        switch r.int(9) {
        case 0, 1: break
        case 2: lines.append("toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]")
        case 3: lines.append("toPorts: [{ports: [{port: \"53\"}]}]")
        case 4: lines.append("toPorts: [{ports: [{port: \"8000\", endPort: 8010, protocol: TCP}]}]")
        case 5: lines.append("toPorts: [{ports: [{port: \"0\", protocol: UDP}]}]")
        case 6: lines.append("toPorts: [{ports: [{port: http, protocol: TCP}]}]")
        case 7: lines.append("toPorts: [{ports: [{port: \"8005\", protocol: TCP}, {port: \"81\", protocol: TCP}]}]")
        default: lines.append("icmps: [{fields: [{type: 8}]}]")
        }
        if lines.isEmpty { return "- {}" }
        return "- " + lines.joined(separator: "\n  ")
    }

    static func ciliumSpec(_ r: inout ScenarioRNG, flavor: Flavor) -> String {
        var out = "endpointSelector: \(subject(&r))\n"
        var sections: [String] = []
        let candidates: [String] = switch flavor {
        case .allowOnly: ["ingress", "egress"]
        case .denyOnly: ["ingressDeny", "egressDeny"]
        case .mixed: ["ingress", "egress", "ingressDeny", "egressDeny"]
        }
        for s in candidates where r.chance(flavor == .mixed ? 40 : 60) { sections.append(s) }
        if sections.isEmpty { sections.append(r.pick(candidates)) }
        if r.chance(15) {
            let which = r.pick(["ingress: false", "egress: false", "ingress: false, egress: false", "ingress: true"])
            out += "enableDefaultDeny: {\(which)}\n"
        }
        for s in sections {
            out += "\(s):\n"
            for _ in 0..<r.int(in: 1...2) { out += ciliumPeerRule(&r, ingress: s.hasPrefix("ingress")) + "\n" }
        }
        return out
    }

    static func kubernetesPeer(_ r: inout ScenarioRNG) -> String {
        switch r.int(8) {
        case 0, 1: "{podSelector: {matchLabels: {app: \(r.pick(Vocabulary.apps))}}}"
        case 2: "{namespaceSelector: {matchLabels: {env: prod}}}"
        case 3: "{namespaceSelector: {}}"
        case 4: "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: \(r.pick(Vocabulary.namespaces))}}, podSelector: {matchLabels: {app: \(r.pick(Vocabulary.apps))}}}"
        case 5: "{ipBlock: {cidr: 10.0.0.0/8, except: [10.96.0.0/12]}}"
        case 6: "{ipBlock: {cidr: 0.0.0.0/0}}"
        default: "{podSelector: {}}"
        }
    }

    static func kubernetesRule(_ r: inout ScenarioRNG, ingress: Bool) -> String {
        var lines: [String] = []
        if r.chance(75) {
            let peers = (0..<r.int(in: 1...2)).map { _ in kubernetesPeer(&r) }
            lines.append("\(ingress ? "from" : "to"): [\(peers.joined(separator: ", "))]")
        }
        if r.chance(65) {
            let ports = r.pick(["[{port: 80}]", "[{port: 53, protocol: UDP}]", "[{protocol: UDP}]", "[{port: http}]",
                                "[{port: 8000, endPort: 8010}]", "[{port: 80}, {port: 8005}]"])
            lines.append("ports: \(ports)")
        }
        if lines.isEmpty { return "- {}" }
        return "- " + lines.joined(separator: "\n  ")
    }

    static func kubernetesSpec(_ r: inout ScenarioRNG) -> String {
        var out = "podSelector: \(subject(&r))\n"
        let types = r.pick([nil, "[Ingress]", "[Egress]", "[Ingress, Egress]"])
        if let types { out += "policyTypes: \(types)\n" }
        for dir in ["ingress", "egress"] where r.chance(60) {
            let n = r.int(in: 0...2)
            if n == 0 { out += "\(dir): []\n"; continue }
            out += "\(dir):\n"
            for _ in 0..<n { out += kubernetesRule(&r, ingress: dir == "ingress") + "\n" }
        }
        return out
    }
}

/// A cluster: namespaces, pods and policies, plus the enforcement mode.
struct Scenario: Sendable, CustomStringConvertible {
    var seed: UInt64
    var mode: EngineConfig.EnforcementMode
    var namespaces: [String: [String: String]]
    var pods: [PodSpecGen]
    var policies: [PolicySpecGen]

    init(seed: UInt64, policyCount: ClosedRange<Int> = 1...4, flavor: PolicySpecGen.Flavor = .mixed) {
        var r = ScenarioRNG(seed: seed)
        self.seed = seed
        mode = r.chance(15) ? .always : .default
        var ns: [String: [String: String]] = [:]
        for n in Vocabulary.namespaces { ns[n] = r.pick(Vocabulary.namespaceLabelChoices) }
        namespaces = ns
        pods = (0..<r.int(in: 3...5)).map { PodSpecGen.random(&r, index: $0) }
        policies = (0..<r.int(in: policyCount)).map { PolicySpecGen.random(&r, name: "pol\($0)", flavor: flavor) }
    }

    var description: String {
        var out = "seed \(seed), mode \(mode.rawValue)\n"
        out += "namespaces: " + namespaces.sorted { $0.key < $1.key }.map { "\($0.key)\($0.value.isEmpty ? "" : " \($0.value)")" }.joined(separator: "; ") + "\n"
        out += "pods:\n" + pods.map { "  \($0)" }.joined(separator: "\n") + "\n"
        out += "policies:\n" + policies.map(\.yaml).joined(separator: "---\n")
        return out
    }

    var endpointNames: [String] { pods.map(\.fullName) }

    var grid: [GridQuery] { queryGrid(endpoints: endpointNames, extraPeers: Vocabulary.extraPeers) }

    /// A fresh engine: namespaces, then (in the given order) policies and pods.
    func build(policies: [PolicySpecGen]? = nil, pods: [PodSpecGen]? = nil, podsFirst: Bool = false) -> PolicyEngine {
        let e = PolicyEngine(config: EngineConfig(clusterName: "default", enforcementMode: mode))
        for (n, l) in namespaces.sorted(by: { $0.key < $1.key }) { e.setNamespace(n, labels: l) }
        if podsFirst { for p in pods ?? self.pods { e.upsertEndpoint(p.endpoint) } }
        for p in policies ?? self.policies { e.upsertPolicy(p.object) }
        if !podsFirst { for p in pods ?? self.pods { e.upsertEndpoint(p.endpoint) } }
        return e
    }
}

/// Generators for PropertyBased: a seed, expanded into a scenario.
enum ScenarioGen {
    static func scenario(policyCount: ClosedRange<Int> = 1...4) -> Generator<Scenario, Shrink.Integer<UInt64>> {
        Gen.uint64().map { Scenario(seed: $0, policyCount: policyCount) }
    }

    /// A scenario plus one extra policy of the given flavor (named so it cannot clash).
    static func scenarioPlusPolicy(_ flavor: PolicySpecGen.Flavor) -> Generator<(Scenario, PolicySpecGen), Shrink.Integer<UInt64>> {
        Gen.uint64().map { seed in
            let s = Scenario(seed: seed)
            var r = ScenarioRNG(seed: ~seed)
            return (s, PolicySpecGen.random(&r, name: "extra", flavor: flavor))
        }
    }
}
