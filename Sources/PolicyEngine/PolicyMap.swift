// The policy map of one endpoint and direction, as the datapath holds it (§2.11): keys of
// (peer identity or ANY, protocol or ANY, port prefix), entries allow/deny with an optional proxy
// redirect, and the one lookup function that both the engine and the BPF program implement.
import PolicyAPI

/// Cilium's policy-verdict match types (`POLICY_MATCH_*`), with Hubble's names.
public enum PolicyMatchType: UInt8, Sendable, Hashable, CustomStringConvertible {
    case none = 0, l3Only = 1, l3L4 = 2, l4Only = 3, all = 4, l3Proto = 5, protoOnly = 6
    public var description: String {
        switch self {
        case .none: "none"
        case .l3Only: "L3-Only"
        case .l3L4: "L3-L4"
        case .l4Only: "L4-Only"
        case .all: "all"
        case .l3Proto: "L3-Proto"
        case .protoOnly: "Proto-Only"
        }
    }
}

/// A policy-map key. `identity` 0 is ANY; `proto` 0 is ANY (then the port is ANY too);
/// `portPrefixLength` 0 is ANY port, 16 an exact port, anything between a port range block.
public struct PolicyKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var identity: NumericIdentity
    public var proto: UInt8
    public var port: UInt16
    public var portPrefixLength: UInt8

    public init(identity: NumericIdentity, proto: UInt8, port: UInt16 = 0, portPrefixLength: UInt8 = 0) {
        self.identity = identity
        self.proto = proto
        let len = proto == 0 ? 0 : portPrefixLength
        self.portPrefixLength = len
        self.port = len == 0 ? 0 : port & PolicyKey.mask(len)
    }

    @inline(__always) static func mask(_ len: UInt8) -> UInt16 { len == 0 ? 0 : ~UInt16(0) << UInt16(16 - len) }

    /// LPM prefix length over (protocol, port): 0, 8, or 8 + port bits.
    public var prefixLength: Int { proto == 0 ? 0 : 8 + Int(portPrefixLength) }

    @inline(__always)
    public func matches(proto p: UInt8, port d: UInt16) -> Bool {
        if proto == 0 { return true }
        if proto != p { return false }
        return portPrefixLength == 0 || (d & PolicyKey.mask(portPrefixLength)) == port
    }

    /// The keys matching both `self` and `other`'s packets, if any (for deny precedence).
    public func intersection(_ other: PolicyKey) -> PolicyKey? {
        let id: NumericIdentity
        if identity == 0 { id = other.identity } else if other.identity == 0 || other.identity == identity { id = identity } else { return nil }
        if proto == 0 { return PolicyKey(identity: id, proto: other.proto, port: other.port, portPrefixLength: other.portPrefixLength) }
        if other.proto == 0 { return PolicyKey(identity: id, proto: proto, port: port, portPrefixLength: portPrefixLength) }
        guard proto == other.proto else { return nil }
        let (longer, shorter) = portPrefixLength >= other.portPrefixLength ? (self, other) : (other, self)
        guard (longer.port & PolicyKey.mask(shorter.portPrefixLength)) == shorter.port else { return nil }
        return PolicyKey(identity: id, proto: proto, port: longer.port, portPrefixLength: longer.portPrefixLength)
    }

    public static func < (a: PolicyKey, b: PolicyKey) -> Bool {
        (a.identity, a.proto, a.port, a.portPrefixLength) < (b.identity, b.proto, b.port, b.portPrefixLength)
    }

    public var protocolName: String { Self.protocolName(proto) }

    public static func protocolName(_ p: UInt8) -> String {
        switch p {
        case 0: "ANY"
        case 1: "ICMP"
        case 2: "IGMP"
        case 6: "TCP"
        case 17: "UDP"
        case 58: "ICMPv6"
        case 112: "VRRP"
        case 132: "SCTP"
        default: String(p)
        }
    }

    /// `80`, `8080-8087` (a range block), or `ANY`.
    public var portText: String {
        if portPrefixLength == 0 { return "ANY" }
        if portPrefixLength == 16 { return String(port) }
        let last = UInt32(port) + (UInt32(1) << UInt32(16 - portPrefixLength)) - 1
        return "\(port)-\(last)"
    }

    public var description: String { "\(identity == 0 ? "ANY" : String(identity))/\(protocolName)/\(portText)" }
}

/// What a policy-map entry does, and which policies put it there.
public struct PolicyEntry: Hashable, Sendable {
    public var deny: Bool
    /// The proxy that traffic matching this entry is redirected to (L7 rules), if any.
    public var redirect: L7Parser?
    public var l7Rules: [L7Rules]
    public var authRequired: Bool
    /// The policies this entry derives from (empty for Cilium's built-in allow-localhost and
    /// allow-all-when-not-enforced entries).
    public var policies: [PolicyReference]
    /// Why the entry exists when no policy made it: `allow-localhost-ingress`, `allow-any-ingress`, ...
    public var builtIn: String?

    public init(deny: Bool, redirect: L7Parser? = nil, l7Rules: [L7Rules] = [], authRequired: Bool = false, policies: [PolicyReference] = [], builtIn: String? = nil) {
        self.deny = deny
        self.redirect = redirect
        self.l7Rules = l7Rules
        self.authRequired = authRequired
        self.policies = policies
        self.builtIn = builtIn
    }

    /// Same effect on a packet (verdict and redirect), whoever made it.
    func sameEffect(_ o: PolicyEntry) -> Bool { deny == o.deny && redirect == o.redirect && authRequired == o.authRequired }
}

public struct PolicyMapEntry: Hashable, Sendable {
    public var key: PolicyKey
    public var entry: PolicyEntry
}

/// The result of looking a packet up in a policy map.
public struct PolicyLookupResult: Hashable, Sendable {
    public var allowed: Bool
    public var matchType: PolicyMatchType
    /// The entry that decided, or nil for a default-deny drop (no entry matched).
    public var key: PolicyKey?
    public var entry: PolicyEntry?
    /// Cilium's drop reason: 133 Policy denied (no entry), 181 Policy denied by denylist.
    public var dropReason: UInt8? {
        if allowed { return nil }
        return entry?.deny == true ? 181 : 133
    }
}

/// One endpoint-direction policy map, grouped by peer identity and kept sorted for the lookup.
public struct PolicyMapTable: Sendable {
    /// Per identity (0 = ANY): entries sorted by prefix length, longest first.
    var groups: [NumericIdentity: [PolicyMapEntry]] = [:]

    public init() {}

    public init(entries: [PolicyKey: PolicyEntry]) {
        var g: [NumericIdentity: [PolicyMapEntry]] = [:]
        for (k, e) in entries { g[k.identity, default: []].append(PolicyMapEntry(key: k, entry: e)) }
        for id in g.keys { g[id]!.sort { $0.key.prefixLength > $1.key.prefixLength || ($0.key.prefixLength == $1.key.prefixLength && $0.key < $1.key) } }
        groups = g
    }

    mutating func setGroup(_ id: NumericIdentity, _ entries: [PolicyKey: PolicyEntry]) {
        if entries.isEmpty { groups[id] = nil; return }
        groups[id] = entries.map { PolicyMapEntry(key: $0.key, entry: $0.value) }
            .sorted { $0.key.prefixLength > $1.key.prefixLength || ($0.key.prefixLength == $1.key.prefixLength && $0.key < $1.key) }
    }

    public var count: Int { groups.values.reduce(0) { $0 + $1.count } }

    public var allEntries: [PolicyMapEntry] { groups.values.flatMap { $0 }.sorted { $0.key < $1.key } }

    @inline(__always)
    static func best(_ list: [PolicyMapEntry]?, proto: UInt8, port: UInt16) -> PolicyMapEntry? {
        guard let list else { return nil }
        for e in list where e.key.matches(proto: proto, port: port) { return e }
        return nil
    }

    /// The datapath's lookup (bpf/lib/policy.h): the longest (protocol, port) prefix match among the
    /// peer's own entries and among the ANY entries; the longer wins and a tie goes to the peer's
    /// own entry. Without a match the packet is dropped (default deny).
    public func lookup(identity: NumericIdentity, proto: UInt8, port: UInt16) -> PolicyLookupResult {
        let l3 = identity == 0 ? nil : Self.best(groups[identity], proto: proto, port: port)
        let l4 = Self.best(groups[0], proto: proto, port: port)
        let chosen: PolicyMapEntry
        let isL3: Bool
        switch (l3, l4) {
        case (nil, nil): return PolicyLookupResult(allowed: false, matchType: .none, key: nil, entry: nil)
        case let (a?, nil): chosen = a; isL3 = true
        case let (nil, b?): chosen = b; isL3 = false
        case let (a?, b?):
            if b.key.prefixLength > a.key.prefixLength { chosen = b; isL3 = false } else { chosen = a; isL3 = true }
        }
        let mt: PolicyMatchType
        switch chosen.key.prefixLength {
        case 0: mt = isL3 ? .l3Only : .all
        case 8: mt = isL3 ? .l3Proto : .protoOnly
        default: mt = isL3 ? .l3L4 : .l4Only
        }
        let allowed = !chosen.entry.deny
        return PolicyLookupResult(allowed: allowed, matchType: mt, key: chosen.key, entry: chosen.entry)
    }
}

/// Expands a port range into the minimal list of (port, prefix length) blocks, as Cilium's
/// `PortRangeToMaskedPorts` does for LPM keys.
public func portRangeBlocks(_ start: Int, _ end: Int) -> [(UInt16, UInt8)] {
    guard start <= end else { return [] }
    var out: [(UInt16, UInt8)] = []
    var s = start
    while s <= end {
        var size = 1
        var bits = 0
        while bits < 16 {
            let next = size * 2
            if s % next != 0 || s + next - 1 > end { break }
            size = next
            bits += 1
        }
        out.append((UInt16(s), UInt8(16 - bits)))
        s += size
    }
    return out
}
