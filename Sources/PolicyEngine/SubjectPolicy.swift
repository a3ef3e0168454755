// The resolved policy of one subject (an identity with its named ports): for each direction,
// whether it is enforced, the contributions of the rules that select it, and the materialised
// policy map with Cilium's deny precedence (§2.6) applied.
import PolicyAPI

/// Endpoints with the same identity and named ports share one resolved policy.
public struct SubjectKey: Hashable, Sendable {
    public var identity: NumericIdentity
    public var namedPorts: [NamedPort]
    // Named ports rarely tell subjects apart: hashing the identity alone keeps set operations cheap.
    public func hash(into h: inout Hasher) { h.combine(identity) }
}

public struct NamedPort: Hashable, Sendable, Comparable {
    public var name: String
    public var proto: UInt8
    public var port: UInt16
    public init(name: String, proto: UInt8, port: UInt16) {
        self.name = name
        self.proto = proto
        self.port = port
    }
    public static func < (a: NamedPort, b: NamedPort) -> Bool { (a.name, a.proto, a.port) < (b.name, b.proto, b.port) }
}

/// A rule contribution with its peers interned in the selector cache and its ports resolved
/// for one subject.
struct SubjectContribution {
    var peers: [SelectorID]
    var wildcard: Bool
    /// (protocol, port, port prefix length) triples; (0,0,0) for L3-only.
    var keys: [(UInt8, UInt16, UInt8)]
    var entry: PolicyEntry
}

public struct DirectionPolicy: Sendable {
    public internal(set) var enforced = false
    public internal(set) var defaultDeny = false
    /// The policies that put this direction into default deny (for attributing default drops),
    /// in rule order, unsorted.
    public internal(set) var defaultDenyPolicies: [PolicyReference] = []
    /// The policies whose rules select the subject in this direction, in rule order, unsorted.
    public internal(set) var selectingPolicies: [PolicyReference] = []
    var contributions: [SubjectContribution] = []
    /// The ANY-identity keys before deny precedence (needed to rebuild single identities).
    var rawAny: [PolicyKey: PolicyEntry] = [:]
    public internal(set) var table = PolicyMapTable()

    public func lookup(identity: NumericIdentity, proto: UInt8, port: UInt16) -> PolicyLookupResult {
        table.lookup(identity: identity, proto: proto, port: port)
    }
}

public struct SubjectPolicy: Sendable {
    public var key: SubjectKey
    public var labels: LabelSet
    public internal(set) var ingress = DirectionPolicy()
    public internal(set) var egress = DirectionPolicy()
    /// Problems found while merging rules (e.g. conflicting L7 parsers on one port).
    public internal(set) var errors: [String] = []

    public func direction(_ d: TrafficDirection) -> DirectionPolicy { d == .ingress ? ingress : egress }
}

enum Materializer {
    static func wildcardL7(_ parser: L7Parser) -> L7Rules {
        switch parser {
        case .dns: L7Rules(dns: [FQDNSelector(matchPattern: "*")])
        case .http: L7Rules(http: [HTTPRule()])
        case .kafka: L7Rules(kafka: [KafkaRule()])
        default: L7Rules()
        }
    }

    /// Merges two entries for the same key (Cilium's `mergePortProto` / map-state insert).
    static func merge(_ a: PolicyEntry, _ b: PolicyEntry, errors: inout [String], key: PolicyKey) -> PolicyEntry {
        if a.deny != b.deny { return a.deny ? a : b }
        var out = a
        out.policies = Array(Set(a.policies).union(b.policies)).sorted()
        if out.builtIn == nil || !out.policies.isEmpty { out.builtIn = out.policies.isEmpty ? (a.builtIn ?? b.builtIn) : nil }
        if a.deny { return out }
        out.authRequired = a.authRequired || b.authRequired
        switch (a.redirect, b.redirect) {
        case (nil, nil): break
        case let (p?, nil):
            if !b.l7Rules.contains(wildcardL7(p)) { out.l7Rules = dedup(a.l7Rules + [wildcardL7(p)]) }
        case let (nil, p?):
            out.redirect = p
            out.l7Rules = dedup(b.l7Rules + [wildcardL7(p)])
        case let (p?, q?):
            if p != q {
                errors.append("cannot merge conflicting L7 parsers (\(p)/\(q)) on \(key)")
            } else {
                out.l7Rules = dedup(a.l7Rules + b.l7Rules)
            }
        }
        return out
    }

    static func dedup(_ rules: [L7Rules]) -> [L7Rules] {
        var seen = Set<L7Rules>()
        return rules.filter { seen.insert($0).inserted }
    }

    static func insert(_ key: PolicyKey, _ entry: PolicyEntry, into group: inout [PolicyKey: PolicyEntry], errors: inout [String]) {
        if let old = group[key] { group[key] = merge(old, entry, errors: &errors, key: key) } else { group[key] = entry }
    }

    /// Applies deny precedence (§2.6) to the keys of `identity`, given the ANY keys, so that the
    /// longest-prefix lookup can never prefer an allow over a deny that covers the same packet.
    /// As Cilium's `denyPreferredInsertWithChanges`, for a deny D and an allow A that overlap:
    /// - D of the same identity or ANY whose (protocol, port) covers A's: A is deleted;
    /// - D of this identity broader than an ANY-identity A: a deny at (this identity, A's port)
    ///   is added, because A's longer prefix would otherwise win the lookup;
    /// - anything else needs nothing: the lookup already reaches D first.
    /// Then allow keys with the same effect as the ANY key on the same port are elided.
    static func finalize(identity: NumericIdentity, group: [PolicyKey: PolicyEntry], any: [PolicyKey: PolicyEntry], finalAny: [PolicyKey: PolicyEntry]) -> [PolicyKey: PolicyEntry] {
        var out = group
        if identity == 0 {
            let denies = group.filter { $0.value.deny }
            guard !denies.isEmpty else { return out }
            for (ak, ae) in group where !ae.deny {
                if denies.contains(where: { $0.key.covers(ak) }) { out[ak] = nil }
            }
            return out
        }
        let ownDenies = group.filter { $0.value.deny }
        let anyDenies = finalAny.filter { $0.value.deny }
        if !ownDenies.isEmpty || !anyDenies.isEmpty {
            for (ak, ae) in group where !ae.deny {
                if ownDenies.contains(where: { $0.key.covers(ak) }) || anyDenies.contains(where: { $0.key.covers(ak) }) { out[ak] = nil }
            }
            for (dk, de) in ownDenies {
                for (ak, ae) in finalAny where !ae.deny && dk.prefixLength < ak.prefixLength && dk.coversPort(ak) {
                    let k = PolicyKey(identity: identity, proto: ak.proto, port: ak.port, portPrefixLength: ak.portPrefixLength)
                    if let existing = out[k], existing.deny {
                        var e = existing
                        e.policies = Array(Set(existing.policies).union(de.policies)).sorted()
                        out[k] = e
                    } else {
                        out[k] = PolicyEntry(deny: true, policies: de.policies)
                    }
                }
            }
        }
        for (k, e) in out where !e.deny {
            let anyKey = PolicyKey(identity: 0, proto: k.proto, port: k.port, portPrefixLength: k.portPrefixLength)
            if let a = finalAny[anyKey], !a.deny, a.sameEffect(e) { out[k] = nil }
        }
        return out
    }
}
