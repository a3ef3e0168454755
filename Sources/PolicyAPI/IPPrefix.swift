// IPv4/IPv6 addresses and prefixes, parsed strictly (as Go's net/netip does) because CIDR rules,
// ipBlocks and query peers are all written as text.

public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// IPv4 addresses use the low 32 bits of `low`; `high` is 0.
    public var high: UInt64
    public var low: UInt64
    public var isIPv4: Bool

    public init(v4: UInt32) { high = 0; low = UInt64(v4); isIPv4 = true }
    public init(v6High: UInt64, low: UInt64) { high = v6High; self.low = low; isIPv4 = false }

    public var bitLength: Int { isIPv4 ? 32 : 128 }
    public var v4: UInt32 { UInt32(truncatingIfNeeded: low) }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.isIPv4 != b.isIPv4 { return a.isIPv4 }
        return (a.high, a.low) < (b.high, b.low)
    }

    public init?(_ text: String) {
        if text.contains(":") {
            guard let v = IPAddress.parseV6(Substring(text)) else { return nil }
            self = v
        } else {
            guard let v = IPAddress.parseV4(Substring(text)) else { return nil }
            self.init(v4: v)
        }
    }

    static func parseV4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            if p.count > 1 && p.first == "0" { return nil }  // no octal-looking octets
            guard let o = UInt32(p), o <= 255 else { return nil }
            v = v << 8 | o
        }
        return v
    }

    static func parseV6(_ s: Substring) -> IPAddress? {
        if s.contains("%") { return nil }  // zones are not addresses of a policy
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        var seenDouble = false
        var halves: [String] = []
        if let r = s.firstRange(of: "::") {
            halves = [String(s[..<r.lowerBound]), String(s[r.upperBound...])]
            if halves[1].contains("::") { return nil }
        } else {
            halves = [String(s)]
        }
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ part: String, allowV4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, item) in items.enumerated() {
                if item.contains(".") {
                    guard allowV4Tail, i == items.count - 1, let v4 = parseV4(item) else { return nil }
                    out.append(UInt16(v4 >> 16)); out.append(UInt16(v4 & 0xFFFF))
                    continue
                }
                guard !item.isEmpty, item.count <= 4, let g = UInt16(item, radix: 16) else { return nil }
                out.append(g)
            }
            return out
        }
        if halves.count == 2 {
            seenDouble = true
            guard let h = parseGroups(halves[0], allowV4Tail: false), let t = parseGroups(halves[1], allowV4Tail: true) else { return nil }
            groups = h; tailGroups = t
            guard groups.count + tailGroups.count <= 7 else { return nil }
        } else {
            guard let g = parseGroups(halves[0], allowV4Tail: true), g.count == 8 else { return nil }
            groups = g
        }
        var all = groups
        if seenDouble { all += Array(repeating: 0, count: 8 - groups.count - tailGroups.count) + tailGroups }
        guard all.count == 8 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        return IPAddress(v6High: hi, low: lo)
    }

    public var description: String {
        if isIPv4 {
            let v = v4
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        }
        var g: [UInt16] = []
        for i in (0..<4).reversed() { g.append(UInt16((high >> (UInt64(i) * 16)) & 0xFFFF)) }
        for i in (0..<4).reversed() { g.append(UInt16((low >> (UInt64(i) * 16)) & 0xFFFF)) }
        // RFC 5952: compress the longest run (length ≥ 2) of zero groups, the first one on ties.
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ r: Range<Int>) -> String { g[r].map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }

    /// The address with all bits after `length` cleared.
    public func masked(_ length: Int) -> IPAddress {
        if isIPv4 {
            let m: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return IPAddress(v4: v4 & m)
        }
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - bits) }
        return IPAddress(v6High: high & mask(length), low: low & mask(length - 64))
    }
}

public struct IPPrefix: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var length: Int

    public init(_ address: IPAddress, _ length: Int) {
        self.address = address.masked(length)
        self.length = length
    }

    /// Parses `a.b.c.d/n` or `x::y/n`; with `allowBareIP` a plain address means a host prefix.
    /// Like Go's netip.ParsePrefix, host bits may be set (they are masked off).
    public init?(_ text: String, allowBareIP: Bool = true) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let addr = IPAddress(String(parts[0])) else { return nil }
        if parts.count == 1 {
            guard allowBareIP else { return nil }
            self.init(addr, addr.bitLength)
            return
        }
        let l = parts[1]
        guard !l.isEmpty, l.count <= 3, l.allSatisfy({ $0.isASCII && $0.isNumber }), !(l.count > 1 && l.first == "0"),
              let len = Int(l), len <= addr.bitLength else { return nil }
        self.init(addr, len)
    }

    public var isIPv4: Bool { address.isIPv4 }

    public func contains(_ ip: IPAddress) -> Bool {
        ip.isIPv4 == address.isIPv4 && ip.masked(length) == address
    }

    public func contains(_ other: IPPrefix) -> Bool {
        other.isIPv4 == isIPv4 && other.length >= length && other.address.masked(length) == address
    }

    public var description: String { "\(address)/\(length)" }

    public static func < (a: IPPrefix, b: IPPrefix) -> Bool { (a.address, a.length) < (b.address, b.length) }
}
