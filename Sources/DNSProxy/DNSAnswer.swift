// What the proxy reads from a DNS message for policy and for Hubble (Cilium's
// `ExtractMsgDetails`, reference §5.1 and §8.4): the query name, the question types, the
// answer's addresses and CNAME targets, the minimum TTL over A/AAAA/CNAME records and the
// answer's record types.
import DNS

public struct DNSAnswer: Sendable, Hashable {
    /// Lower-case and fully qualified (`api.twitter.com.`); empty when the message has no question.
    public var query: String
    public var qtypes: [String]
    public var rcode: UInt8
    /// IPv4 addresses of the A records, in answer order.
    public var ipv4: [UInt32]
    /// Every address as text (A and AAAA), in answer order.
    public var ips: [String]
    public var cnames: [String]
    /// The minimum TTL over A, AAAA and CNAME records; 4294967295 when there is none (as Cilium).
    public var ttl: UInt32
    public var rrtypes: [String]

    public init(_ m: DNSMessage) {
        let q = m.questions.first
        query = q.map { $0.name.lowercased.description } ?? ""
        qtypes = m.questions.map { Self.typeName($0.type) }
        rcode = m.rcode
        var v4: [UInt32] = [], ips: [String] = [], cnames: [String] = [], rr: [String] = []
        var ttl = UInt32.max
        for a in m.answers {
            rr.append(Self.typeName(a.type))
            switch a.data {
            case let .a(v):
                v4.append(v)
                ips.append(Self.dotted(v))
                ttl = min(ttl, a.ttl)
            case let .aaaa(b):
                ips.append(Self.ipv6Text(b))
                ttl = min(ttl, a.ttl)
            case let .cname(n):
                cnames.append(n.description)  // as written: Cilium appends the target unchanged
                ttl = min(ttl, a.ttl)
            default: break
            }
        }
        ipv4 = v4
        self.ips = ips
        self.cnames = cnames
        self.ttl = ttl
        rrtypes = rr
    }

    /// A record type as Hubble names it (gopacket's `DNSType.String()`): `Unknown` for the
    /// types it has no name for, ANY included.
    public static func typeName(_ t: UInt16) -> String {
        let names: [UInt16: String] = [
            1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL", 11: "WKS", 12: "PTR",
            13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 41: "OPT", 256: "URI",
        ]
        return names[t] ?? "Unknown"
    }

    static func dotted(_ v: UInt32) -> String { "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)" }

    /// RFC 5952 text (as Go prints net.IP): lower-case hex, the longest run of zero groups as `::`.
    static func ipv6Text(_ b: [UInt8]) -> String {
        guard b.count == 16 else { return "" }
        let g = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        var best = (start: -1, len: 0), i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > best.len && j - i >= 2 { best = (i, j - i) }
                i = j
            } else { i += 1 }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        guard best.start >= 0 else { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.len)..<8)
    }
}
