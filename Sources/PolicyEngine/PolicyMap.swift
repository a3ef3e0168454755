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

    /// True when every packet matching `other` (on (protocol, port), for the same or a more
    /// specific identity) also matches `self`.
    public func covers(_ other: PolicyKey) -> Bool {
        guard identity == 0 || identity == other.identity else { return false }
        return coversPort(other)
    }

    /// True when `self`'s (protocol, port) prefix contains `other`'s, whatever the identities.
    public func coversPort(_ other: PolicyKey) -> Bool {
        if proto == 0 { return true }
        guard proto == other.proto, portPrefixLength <= other.portPrefixLength else { return false }
        return (other.port & PolicyKey.mask(portPrefixLength)) == port
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

/// What a policy-map entry does, and which policies put it there. The lists live in one shared,
/// immutable box so that copying an entry (done for every key of a map) costs one retain.
public struct PolicyEntry: Hashable, Sendable {
    public var deny: Bool
    /// The proxy that traffic matching this entry is redirected to (L7 rules), if any.
    public var redirect: L7Parser?
    public var authRequired: Bool

    final class Details: Sendable {
        let l7Rules: [L7Rules]
        let policies: [PolicyReference]
        let builtIn: String?
        init(l7Rules: [L7Rules], policies: [PolicyReference], builtIn: String?) {
            self.l7Rules = l7Rules
            self.policies = policies
            self.builtIn = builtIn
        }
    }
    var details: Details

    public init(deny: Bool, redirect: L7Parser? = nil, l7Rules: [L7Rules] = [], authRequired: Bool = false, policies: [PolicyReference] = [], builtIn: String? = nil) {
        self.deny = deny
        self.redirect = redirect
        self.authRequired = authRequired
        self.details = Details(l7Rules: l7Rules, policies: policies, builtIn: builtIn)
    }

    /// The L7 rules the proxy enforces for this entry (a wildcard rule when some contributing
    /// rule had none).
    public var l7Rules: [L7Rules] {
        get { details.l7Rules }
        set { details = Details(l7Rules: newValue, policies: details.policies, builtIn: details.builtIn) }
    }
    /// The policies this entry derives from (empty for Cilium's built-in allow-localhost and
    /// allow-all-when-not-enforced entries).
    public var policies: [PolicyReference] {
        get { details.policies }
        set { details = Details(l7Rules: details.l7Rules, policies: newValue, builtIn: details.builtIn) }
    }
    /// Why the entry exists when no policy made it: `allow-localhost-ingress`, `allow-any-ingress`, ...
    public var builtIn: String? {
        get { details.builtIn }
        set { details = Details(l7Rules: details.l7Rules, policies: details.policies, builtIn: newValue) }
    }

    public static func == (a: PolicyEntry, b: PolicyEntry) -> Bool {
        a.deny == b.deny && a.redirect == b.redirect && a.authRequired == b.authRequired
            && (a.details === b.details || (a.l7Rules == b.l7Rules && a.policies == b.policies && a.builtIn == b.builtIn))
    }
    public func hash(into h: inout Hasher) {
        h.combine(deny); h.combine(redirect); h.combine(authRequired); h.combine(policies); h.combine(builtIn)
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

/// One endpoint-direction policy map. `groups` (per peer identity, 0 = ANY) is the editable form;
/// every change recompiles the flat form that lookups use: an open-addressing index from identity
/// to a run of 8-byte keys sorted by prefix length, so a lookup touches two short runs.
public struct PolicyMapTable: Sendable {
    public private(set) var groups: [NumericIdentity: [PolicyMapEntry]] = [:]

    struct FlatKey {
        var proto: UInt8
        var prefixLength: UInt8  // LPM length over (protocol, port): 0, 8 or 8 + port bits
        var port: UInt16
        var entry: Int32
    }
    private var flatEntries: [PolicyMapEntry] = []
    /// Exact-port keys (the longest prefix, and the common case) in one open-addressing hash
    /// keyed by identity << 24 | protocol << 16 | port.
    private var exactKeys: [UInt64] = []
    private var exactEntries: [Int32] = []
    private var exactShift: UInt64 = 64
    /// The other keys (port ranges, protocol-only, all) per identity, longest prefix first.
    private var partialKeys: [FlatKey] = []
    private var slotIDs: [UInt32] = []
    private var slotRanges: [UInt64] = []  // start << 32 | count
    private var slotShift: UInt32 = 32
    private var anyStart = 0
    private var anyCount = 0

    public init() { compile() }

    public init(entries: [PolicyKey: PolicyEntry]) {
        var g: [NumericIdentity: [PolicyKey: PolicyEntry]] = [:]
        for (k, e) in entries { g[k.identity, default: [:]][k] = e }
        for (id, es) in g { groups[id] = Self.sorted(es) }
        compile()
    }

    static func sorted(_ entries: [PolicyKey: PolicyEntry]) -> [PolicyMapEntry] {
        entries.map { PolicyMapEntry(key: $0.key, entry: $0.value) }
            .sorted { $0.key.prefixLength > $1.key.prefixLength || ($0.key.prefixLength == $1.key.prefixLength && $0.key < $1.key) }
    }

    /// Sets the keys of one identity from a list sorted by key.
    mutating func setSortedGroup(_ id: NumericIdentity, _ list: [PolicyMapEntry]) {
        if list.isEmpty { groups[id] = nil; return }
        // Longest prefix first; a stable sort keeps key order among equals.
        if list.count == 1 { groups[id] = list; return }
        groups[id] = list.sorted { $0.key.prefixLength > $1.key.prefixLength || ($0.key.prefixLength == $1.key.prefixLength && $0.key < $1.key) }
    }

    /// Replaces the keys of one identity. Call `compile()` after a batch of changes.
    mutating func setGroup(_ id: NumericIdentity, _ entries: [PolicyKey: PolicyEntry]) {
        groups[id] = entries.isEmpty ? nil : Self.sorted(entries)
    }

    @inline(__always) static func exactKey(_ id: NumericIdentity, _ proto: UInt8, _ port: UInt16) -> UInt64 {
        UInt64(id) << 24 | UInt64(proto) << 16 | UInt64(port)
    }

    /// Rebuilds the lookup structure from `groups`.
    mutating func compile() {
        let total = count
        flatEntries = []
        flatEntries.reserveCapacity(total)
        partialKeys = []
        var exactCount = 0
        for list in groups.values { for e in list where e.key.prefixLength == 24 { exactCount += 1 } }
        var ecap = 8
        while ecap < exactCount * 2 { ecap *= 2 }
        exactShift = UInt64(64 - ecap.trailingZeroBitCount)
        exactKeys = Array(repeating: UInt64.max, count: ecap)
        exactEntries = Array(repeating: -1, count: ecap)
        var cap = 8
        while cap < groups.count * 2 { cap *= 2 }
        slotShift = UInt32(32 - cap.trailingZeroBitCount)
        slotIDs = Array(repeating: UInt32.max, count: cap)
        slotRanges = Array(repeating: 0, count: cap)
        anyStart = 0
        anyCount = 0
        for (id, list) in groups {
            let start = partialKeys.count
            for e in list {
                let index = Int32(flatEntries.count)
                flatEntries.append(e)
                if e.key.prefixLength == 24 {
                    let k = Self.exactKey(id, e.key.proto, e.key.port)
                    var slot = Int((k &* 0x9E37_79B9_7F4A_7C15) >> exactShift)
                    while exactKeys[slot] != UInt64.max { slot = (slot + 1) & (ecap - 1) }
                    exactKeys[slot] = k
                    exactEntries[slot] = index
                } else {
                    partialKeys.append(FlatKey(proto: e.key.proto, prefixLength: UInt8(e.key.prefixLength), port: e.key.port, entry: index))
                }
            }
            let n = partialKeys.count - start
            if id == 0 { anyStart = start; anyCount = n; continue }
            var slot = Int((id &* 0x9E37_79B1) >> slotShift)
            while slotIDs[slot] != UInt32.max { slot = (slot + 1) & (cap - 1) }
            slotIDs[slot] = id
            slotRanges[slot] = UInt64(start) << 32 | UInt64(n)
        }
    }

    public var count: Int { groups.values.reduce(0) { $0 + $1.count } }

    public var allEntries: [PolicyMapEntry] { groups.values.flatMap { $0 }.sorted { $0.key < $1.key } }

    public func entries(for identity: NumericIdentity) -> [PolicyMapEntry] { groups[identity] ?? [] }

    /// The verdict bits of a lookup: what the datapath needs, without copying the entry.
    public struct Decision: Sendable, Hashable {
        public var allowed: Bool
        public var matchType: PolicyMatchType
        /// Index of the matched entry, -1 for no match.
        public var entryIndex: Int32
    }

    @inline(__always)
    private func exact(_ id: NumericIdentity, _ proto: UInt8, _ port: UInt16) -> Int32 {
        let k = Self.exactKey(id, proto, port)
        let mask = exactKeys.count - 1
        var slot = Int((k &* 0x9E37_79B9_7F4A_7C15) >> exactShift)
        while true {
            let v = exactKeys[slot]
            if v == k { return exactEntries[slot] }
            if v == UInt64.max { return -1 }
            slot = (slot + 1) & mask
        }
    }

    /// The longest partial (range, protocol-only or all) key of a run that matches; -1 if none.
    @inline(__always)
    private func partial(_ start: Int, _ n: Int, _ proto: UInt8, _ port: UInt16) -> Int {
        var i = start
        let end = start + n
        while i < end {
            let k = partialKeys[i]
            if k.proto == 0 { return i }
            if k.proto == proto {
                let len = k.prefixLength
                if len == 8 { return i }
                let m: UInt16 = ~UInt16(0) << UInt16(24 - Int(len))
                if port & m == k.port { return i }
            }
            i += 1
        }
        return -1
    }

    /// The datapath's lookup (bpf/lib/policy.h): the longest (protocol, port) prefix match among the
    /// peer's own keys and among the ANY keys; the longer wins and a tie goes to the peer's own key.
    /// Without a match the packet is dropped (default deny).
    @inline(__always)
    public func decide(identity: NumericIdentity, proto: UInt8, port: UInt16) -> Decision {
        // The peer's own exact key is the longest possible match: nothing can beat it.
        var l3Entry: Int32 = -1
        var l3Len = -1
        if identity != 0 {
            l3Entry = exact(identity, proto, port)
            if l3Entry >= 0 { return decision(l3Entry, length: 24, isL3: true) }
            var slot = Int((identity &* 0x9E37_79B1) >> slotShift)
            let mask = slotIDs.count - 1
            while true {
                let sid = slotIDs[slot]
                if sid == identity {
                    let r = slotRanges[slot]
                    let i = partial(Int(r >> 32), Int(r & 0xFFFF_FFFF), proto, port)
                    if i >= 0 { l3Entry = partialKeys[i].entry; l3Len = Int(partialKeys[i].prefixLength) }
                    break
                }
                if sid == UInt32.max { break }
                slot = (slot + 1) & mask
            }
        }
        let e4 = exact(0, proto, port)
        if e4 >= 0 { return decision(e4, length: 24, isL3: false) }
        if anyCount > 0 {
            let i = partial(anyStart, anyCount, proto, port)
            if i >= 0 && Int(partialKeys[i].prefixLength) > l3Len {
                return decision(partialKeys[i].entry, length: Int(partialKeys[i].prefixLength), isL3: false)
            }
        }
        if l3Entry >= 0 { return decision(l3Entry, length: l3Len, isL3: true) }
        return Decision(allowed: false, matchType: .none, entryIndex: -1)
    }

    @inline(__always)
    private func decision(_ entry: Int32, length: Int, isL3: Bool) -> Decision {
        let mt: PolicyMatchType = length == 0 ? (isL3 ? .l3Only : .all) : length == 8 ? (isL3 ? .l3Proto : .protoOnly) : (isL3 ? .l3L4 : .l4Only)
        return Decision(allowed: !flatEntries[Int(entry)].entry.deny, matchType: mt, entryIndex: entry)
    }

    public func lookup(identity: NumericIdentity, proto: UInt8, port: UInt16) -> PolicyLookupResult {
        let d = decide(identity: identity, proto: proto, port: port)
        guard d.entryIndex >= 0 else { return PolicyLookupResult(allowed: false, matchType: .none, key: nil, entry: nil) }
        let e = flatEntries[Int(d.entryIndex)]
        return PolicyLookupResult(allowed: d.allowed, matchType: d.matchType, key: e.key, entry: e.entry)
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
