// Shared helpers for the PolicyEngine tests: building engines from YAML policies and pods, and
// asking them for verdicts by endpoint name (identity numbers differ between engines, names do not).
import PolicyAPI
import PolicyEngine
import Testing

enum Proto {
    static let icmp: UInt8 = 1
    static let tcp: UInt8 = 6
    static let udp: UInt8 = 17
    static let icmpv6: UInt8 = 58
    static let sctp: UInt8 = 132
}

extension String {
    /// Indents every non-empty line by `n` spaces.
    func indented(_ n: Int) -> String {
        let pad = String(repeating: " ", count: n)
        return split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : pad + $0 }
            .joined(separator: "\n")
    }
}

/// YAML of a CiliumNetworkPolicy with `spec` (written at column 0).
func cnp(_ name: String, ns: String = "default", _ spec: String) -> String {
    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: \(name)\n  namespace: \(ns)\nspec:\n" + spec.indented(2) + "\n"
}

/// YAML of a CiliumClusterwideNetworkPolicy with `spec` (written at column 0).
func ccnp(_ name: String, _ spec: String) -> String {
    "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: \(name)\nspec:\n" + spec.indented(2) + "\n"
}

/// YAML of a Kubernetes NetworkPolicy with `spec` (written at column 0).
func knp(_ name: String, ns: String = "default", _ spec: String) -> String {
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: \(name)\n  namespace: \(ns)\nspec:\n" + spec.indented(2) + "\n"
}

/// Decodes the policy objects of a YAML text; a decoding error is a test failure.
func decodePolicies(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [NetworkPolicyObject] {
    do {
        let objs = try APIObjectDecoder.decode(text: yaml, file: "test.yaml")
        return objs.compactMap { if case let .policy(p) = $0 { p } else { nil } }
    } catch {
        let text = error.diagnostics.map { "\($0.position.line):\($0.position.column) [\($0.path)] \($0.message)" }.joined(separator: "\n")
        Issue.record("policy YAML does not decode:\n\(text)\n---\n\(yaml)", sourceLocation: sourceLocation)
        return []
    }
}

func decodePolicy(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> NetworkPolicyObject? {
    let list = decodePolicies(yaml, sourceLocation: sourceLocation)
    #expect(list.count == 1, "expected exactly one policy", sourceLocation: sourceLocation)
    return list.first
}

func ref(_ kind: PolicyKind, _ namespace: String, _ name: String) -> PolicyReference {
    PolicyReference(kind: kind, namespace: namespace, name: name)
}
func cnpRef(_ name: String, ns: String = "default") -> PolicyReference { ref(.ciliumNetworkPolicy, ns, name) }
func ccnpRef(_ name: String) -> PolicyReference { ref(.ciliumClusterwideNetworkPolicy, "", name) }
func knpRef(_ name: String, ns: String = "default") -> PolicyReference { ref(.networkPolicy, ns, name) }

/// `"ns/name"` plus labels → an endpoint.
func pod(_ fullName: String, _ labels: [String: String], namedPorts: [NamedPort] = [], ips: [String] = []) -> EndpointInfo {
    let parts = fullName.split(separator: "/").map(String.init)
    precondition(parts.count == 2, "write pods as ns/name")
    return EndpointInfo(namespace: parts[0], name: parts[1], labels: labels, namedPorts: namedPorts,
                        ips: ips.map { IPAddress($0)! })
}

/// A peer of a query, resolved per engine.
enum Peer: Hashable, CustomStringConvertible, Sendable {
    case endpoint(String)
    case identity(NumericIdentity)
    case ip(String)

    static let world = Peer.identity(ReservedIdentity.world)
    static let host = Peer.identity(ReservedIdentity.host)
    static let remoteNode = Peer.identity(ReservedIdentity.remoteNode)

    var description: String {
        switch self {
        case let .endpoint(n): n
        case let .identity(id): ReservedIdentity.names[id] ?? "id:\(id)"
        case let .ip(ip): ip
        }
    }
}

/// An engine plus conveniences to query it by names.
final class Cluster {
    let engine: PolicyEngine

    init(mode: EngineConfig.EnforcementMode = .default,
         namespaces: [String: [String: String]] = [:],
         pods: [EndpointInfo] = [],
         policies: [String] = [],
         sourceLocation: SourceLocation = #_sourceLocation) {
        engine = PolicyEngine(config: EngineConfig(clusterName: "default", enforcementMode: mode))
        for (ns, labels) in namespaces.sorted(by: { $0.key < $1.key }) { engine.setNamespace(ns, labels: labels) }
        for p in pods { engine.upsertEndpoint(p) }
        for y in policies { add(y, sourceLocation: sourceLocation) }
    }

    func add(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for p in decodePolicies(yaml, sourceLocation: sourceLocation) { engine.upsertPolicy(p) }
    }

    func identity(_ peer: Peer) -> NumericIdentity {
        switch peer {
        case let .endpoint(n):
            guard let id = engine.identity(ofEndpoint: n) else { fatalError("no endpoint \(n)") }
            return id
        case let .identity(id): return id
        case let .ip(ip): return engine.identity(forIP: IPAddress(ip)!)
        }
    }

    func verdict(_ endpoint: String, _ dir: TrafficDirection, _ peer: Peer, _ proto: UInt8 = Proto.tcp, _ port: UInt16 = 80,
                 sourceLocation: SourceLocation = #_sourceLocation) -> DirectionVerdict {
        guard let v = engine.evaluate(endpoint: endpoint, direction: dir, peer: identity(peer), proto: proto, port: port) else {
            fatalError("no endpoint \(endpoint)")
        }
        return v
    }

    func ingress(_ endpoint: String, from peer: Peer, _ proto: UInt8 = Proto.tcp, _ port: UInt16 = 80) -> DirectionVerdict {
        verdict(endpoint, .ingress, peer, proto, port)
    }

    func egress(_ endpoint: String, to peer: Peer, _ proto: UInt8 = Proto.tcp, _ port: UInt16 = 80) -> DirectionVerdict {
        verdict(endpoint, .egress, peer, proto, port)
    }

    func allowsIngress(_ endpoint: String, from peer: Peer, _ proto: UInt8 = Proto.tcp, _ port: UInt16 = 80) -> Bool {
        ingress(endpoint, from: peer, proto, port).allowed
    }

    func allowsEgress(_ endpoint: String, to peer: Peer, _ proto: UInt8 = Proto.tcp, _ port: UInt16 = 80) -> Bool {
        egress(endpoint, to: peer, proto, port).allowed
    }
}

/// A verdict without engine-specific numbers (identities, key), for comparing engines.
struct VerdictSummary: Hashable, CustomStringConvertible {
    var allowed: Bool
    var enforced: Bool
    var matchType: PolicyMatchType
    var dropReason: UInt8?
    var redirect: String?
    var policies: [String]

    init(_ v: DirectionVerdict) {
        allowed = v.allowed
        enforced = v.enforced
        matchType = v.matchType
        dropReason = v.dropReason
        redirect = v.redirect.map(\.description)
        policies = v.policies.map(\.description).sorted()
    }

    var description: String {
        "\(allowed ? "ALLOW" : "DROP")(\(matchType)\(dropReason.map { ",\($0)" } ?? "")\(redirect.map { ",redirect=\($0)" } ?? "")\(enforced ? "" : ",unenforced")) \(policies)"
    }
}

struct GridQuery: Hashable, CustomStringConvertible {
    var endpoint: String
    var direction: TrafficDirection
    var peer: Peer
    var proto: UInt8
    var port: UInt16
    var description: String { "\(endpoint) \(direction.rawValue) peer=\(peer) \(PolicyKey.protocolName(proto))/\(port)" }
}

let gridPorts: [(UInt8, UInt16)] = [
    (Proto.tcp, 80), (Proto.tcp, 81), (Proto.udp, 53), (Proto.tcp, 53), (Proto.tcp, 8000), (Proto.tcp, 8005),
    (Proto.tcp, 8010), (Proto.tcp, 8011), (Proto.tcp, 8080), (Proto.tcp, 9090), (Proto.udp, 5000), (Proto.icmp, 8),
]

/// Every (endpoint, direction, peer, port) combination for the given endpoints and extra peers.
func queryGrid(endpoints: [String], extraPeers: [Peer], ports: [(UInt8, UInt16)] = gridPorts) -> [GridQuery] {
    var out: [GridQuery] = []
    let peers = endpoints.map { Peer.endpoint($0) } + extraPeers
    for e in endpoints {
        for d in TrafficDirection.allCases {
            for p in peers {
                for (proto, port) in ports { out.append(GridQuery(endpoint: e, direction: d, peer: p, proto: proto, port: port)) }
            }
        }
    }
    return out
}

/// The verdicts of a grid; endpoints missing from the engine are skipped.
func evaluateGrid(_ engine: PolicyEngine, _ grid: [GridQuery]) -> [GridQuery: VerdictSummary] {
    var out: [GridQuery: VerdictSummary] = [:]
    for q in grid {
        let peer: NumericIdentity
        switch q.peer {
        case let .endpoint(n):
            guard let id = engine.identity(ofEndpoint: n) else { continue }
            peer = id
        case let .identity(id): peer = id
        case let .ip(ip): peer = engine.identity(forIP: IPAddress(ip)!)
        }
        guard let v = engine.evaluate(endpoint: q.endpoint, direction: q.direction, peer: peer, proto: q.proto, port: q.port) else { continue }
        out[q] = VerdictSummary(v)
    }
    return out
}

/// Records one issue per differing query (at most `limit`), returns the number of differences.
@discardableResult
func expectSameVerdicts(_ a: [GridQuery: VerdictSummary], _ b: [GridQuery: VerdictSummary], _ what: String,
                        limit: Int = 5, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
    var differing: [GridQuery] = []
    for k in a.keys where a[k] != b[k] { differing.append(k) }
    for k in b.keys where a[k] == nil { differing.append(k) }
    let diffs = differing.map { k in "\(k): \(a[k].map(\.description) ?? "-") vs \(b[k].map(\.description) ?? "-")" }.sorted()
    if !diffs.isEmpty {
        let sample = diffs.prefix(limit).joined(separator: "\n")
        Issue.record("\(what): \(diffs.count) differing verdicts, e.g.\n\(sample)", sourceLocation: sourceLocation)
    }
    return diffs.count
}
