// Decodes the packet bytes captured with a datapath event (from the Ethernet header on): the
// addresses, ports, TCP flags or ICMP type that monitors and flows show.
import Foundation

public struct PacketHeaders: Hashable, Sendable {
    public enum Layer4: Hashable, Sendable {
        case tcp(sourcePort: UInt16, destinationPort: UInt16, flags: UInt8)
        case udp(sourcePort: UInt16, destinationPort: UInt16)
        case sctp(sourcePort: UInt16, destinationPort: UInt16)
        case icmpv4(type: UInt8, code: UInt8)
        case other(UInt8)
        case none
    }
    public var etherType: UInt16
    public var source: UInt32?
    public var destination: UInt32?
    public var l4: Layer4

    /// Decodes what is there; anything cut short is simply absent.
    public init(_ b: [UInt8]) {
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) << 16 | UInt32(u16(i + 2)) }
        etherType = b.count >= 14 ? u16(12) : 0
        source = nil
        destination = nil
        l4 = .none
        guard etherType == 0x0800, b.count >= 34 else { return }
        source = u32(26)
        destination = u32(30)
        let proto = b[23]
        let l4at = 14 + Int(b[14] & 0x0F) * 4
        switch proto {
        case 6 where b.count >= l4at + 14: l4 = .tcp(sourcePort: u16(l4at), destinationPort: u16(l4at + 2), flags: b[l4at + 13])
        case 17 where b.count >= l4at + 4: l4 = .udp(sourcePort: u16(l4at), destinationPort: u16(l4at + 2))
        case 132 where b.count >= l4at + 4: l4 = .sctp(sourcePort: u16(l4at), destinationPort: u16(l4at + 2))
        case 1 where b.count >= l4at + 2: l4 = .icmpv4(type: b[l4at], code: b[l4at + 1])
        default: l4 = .other(proto)
        }
    }

    public static func address(_ a: UInt32) -> String { "\(a >> 24).\((a >> 16) & 0xFF).\((a >> 8) & 0xFF).\(a & 0xFF)" }

    /// TCP flags in Hubble's order and spelling: `SYN, ACK, RST, FIN, PSH, URG, ECE, CWR`.
    public static func tcpFlagNames(_ f: UInt8) -> [String] {
        let order: [(UInt8, String)] = [(0x02, "SYN"), (0x10, "ACK"), (0x04, "RST"), (0x01, "FIN"), (0x08, "PSH"), (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR")]
        return order.filter { f & $0.0 != 0 }.map(\.1)
    }

    /// `10.244.0.3:41388 -> 10.244.0.4:80 tcp SYN`, as `cilium monitor` ends its lines.
    public var summary: String {
        guard let s = source, let d = destination else {
            return etherType == 0x86DD ? "IPv6" : String(format: "ethertype 0x%04x", etherType)
        }
        switch l4 {
        case let .tcp(sp, dp, f): return "\(Self.address(s)):\(sp) -> \(Self.address(d)):\(dp) tcp \(Self.tcpFlagNames(f).joined(separator: ", "))"
        case let .udp(sp, dp): return "\(Self.address(s)):\(sp) -> \(Self.address(d)):\(dp) udp"
        case let .sctp(sp, dp): return "\(Self.address(s)):\(sp) -> \(Self.address(d)):\(dp) sctp"
        case let .icmpv4(t, c): return "\(Self.address(s)) -> \(Self.address(d)) icmp type \(t) code \(c)"
        case let .other(p): return "\(Self.address(s)) -> \(Self.address(d)) proto \(p)"
        case .none: return "\(Self.address(s)) -> \(Self.address(d))"
        }
    }
}
