// Hubble's parser, for Porin's datapath: every datapath event becomes a flow with the fields
// Hubble fills (reference §7.4): time, verdict, drop reason, IP and L4 from the captured bytes,
// source and destination endpoints with pod, namespace, labels and workload, direction,
// observation point, match type, is_reply, summary, and the policies that allowed or denied it.
import Datapath
import DatapathABI
import Foundation
import Hubble
import PolicyAPI
import PolicyEngine

/// Random version-4 UUIDs, fast: a xoshiro256** generator seeded from the system's randomness
/// (a system call per flow would cost more than building the flow).
final class UUIDSource: @unchecked Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private let lock = NSLock()
    init() {
        var g = SystemRandomNumberGenerator()
        s = (g.next(), g.next(), g.next(), g.next() | 1)
    }
    private func next64() -> UInt64 {
        func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }
    func next() -> String {
        lock.lock()
        var a = next64(), b = next64()
        lock.unlock()
        a = (a & ~0xF000) | 0x4000  // version 4
        b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000  // RFC 4122 variant
        // 8-4-4-4-12 hex digits: the positions of the 32 digits among the 36 characters.
        return String(unsafeUninitializedCapacity: 36) { buf in
            var k = 0
            for j in 0..<32 {
                if j == 8 || j == 12 || j == 16 || j == 20 { buf[k] = 0x2D; k += 1 }
                let v = j < 16 ? a : b
                let nibble = UInt8((v >> UInt64(60 - 4 * (j & 15))) & 0xF)
                buf[k] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                k += 1
            }
            return 36
        }
    }
}

/// What the builder knows about addresses and identities (replaced whole when pods change).
public struct EndpointDirectory: Sendable {
    public struct Entry: Sendable {
        public var endpointID: UInt32
        public var identity: UInt32
        public var namespace: String
        public var pod: String
        public var labels: [String]
        public var workloads: [Workload]
        public init(endpointID: UInt32, identity: UInt32, namespace: String, pod: String, labels: [String], workloads: [Workload]) {
            self.endpointID = endpointID
            self.identity = identity
            self.namespace = namespace
            self.pod = pod
            self.labels = labels
            self.workloads = workloads
        }
    }
    public var byIP: [UInt32: Entry] = [:]
    public var identityLabels: [UInt32: [String]] = [:]
    public var policyEntries: [UInt32: WrittenEntry] = [:]
    /// Names an endpoint resolved through the DNS proxy, by (endpoint address << 32 | address).
    public var dnsNames: [UInt64: [String]] = [:]
    public init() {}
}

public struct FlowBuilder: Sendable {
    public var nodeName: String
    let uuids = UUIDSource()
    /// Realtime minus monotonic clock, to turn the datapath's bpf_ktime into wall-clock time.
    let clockOffsetNs: Int64

    public init(nodeName: String) {
        self.nodeName = nodeName
        var mono = timespec(), real = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        clock_gettime(CLOCK_REALTIME, &real)
        clockOffsetNs = (Int64(real.tv_sec) - Int64(mono.tv_sec)) * 1_000_000_000 + Int64(real.tv_nsec) - Int64(mono.tv_nsec)
    }

    static let icmpv4Names: [UInt8: String] = [
        0: "EchoReply", 3: "DestinationUnreachable", 4: "SourceQuench", 5: "Redirect", 8: "EchoRequest", 9: "RouterAdvertisement",
        10: "RouterSolicitation", 11: "TimeExceeded", 12: "ParameterProblem", 13: "TimestampRequest", 14: "TimestampReply",
    ]
    static let unreachableCodes: [UInt8: String] = [
        0: "Net", 1: "Host", 2: "Protocol", 3: "Port", 4: "FragmentationNeeded", 5: "SourceRoutingFailed", 6: "NetUnknown", 7: "HostUnknown",
        8: "SourceIsolated", 9: "NetAdminProhibited", 10: "HostAdminProhibited", 11: "NetTOS", 12: "HostTOS", 13: "CommAdminProhibited",
        14: "HostPrecedence", 15: "PrecedenceCutoff",
    ]

    /// The TCP header's flag byte (FIN bit 0 … CWR bit 7, flow.proto's order) as flags and as
    /// Hubble's summary, for each of the 256 values: built once, not per packet.
    static let tcpFlags: [TCPFlags] = (0..<256).map { fl in
        var flags = TCPFlags()
        for (bit, f) in TCPFlags.fields.prefix(8).enumerated() { flags[keyPath: f.path] = fl & (1 << bit) != 0 }
        return flags
    }
    static let tcpSummaries: [String] = tcpFlags.map { "TCP Flags: " + $0.names.joined(separator: ", ") }

    /// The event as a ring-buffer record; `inspect` sees the flow first (metrics, export)
    /// without a copy of it.
    public func record(_ e: DatapathEvent, _ dir: EndpointDirectory, inspect: (borrowing Flow) -> Void = { _ in }) -> FlowRecord {
        var f = Flow()
        fill(&f, e, dir)
        inspect(f)
        let time = f.time
        return .flow(consume f, nodeName: nodeName, time: time)
    }

    /// Fills a new flow in place (a Flow is 760 bytes: returning one by value cost a copy of
    /// every field, retains included).
    func fill(_ f: inout Flow, _ e: DatapathEvent, _ dir: EndpointDirectory) {
        let ns = Int64(e.kernelTimeNanoseconds) + clockOffsetNs
        f.time = FlowTime(seconds: ns / 1_000_000_000, nanos: Int32(ns % 1_000_000_000))
        f.uuid = uuids.next()
        f.nodeName = nodeName
        f.type = Int32(e.type) == PORIN_EVENT_TRACE_SOCK ? 3 : 1
        f.eventType = (Int32(e.type), Int32(e.type) == PORIN_EVENT_POLICY_VERDICT ? 0 : Int32(e.subtype))

        let h = PacketHeaders(e.packet)
        var summary = h.etherType == 0x86DD ? "IPv6" : ""
        if let s = h.source, let d = h.destination {
            var ip = FlowIP()
            ip.source = Self.dotted(s)
            ip.destination = Self.dotted(d)
            ip.ipVersion = 1
            f.ip = ip
            summary = "IPv4"
            f.source = endpoint(s, identity: e.sourceIdentity, dir)
            f.destination = endpoint(d, identity: e.destinationIdentity, dir)
            // The names the endpoint on the other side resolved the address from.
            if !dir.dnsNames.isEmpty {
                if let n = dir.dnsNames[UInt64(s) << 32 | UInt64(d)] { f.destinationNames = n }
                if let n = dir.dnsNames[UInt64(d) << 32 | UInt64(s)] { f.sourceNames = n }
            }
        }
        switch h.l4 {
        case let .tcp(sp, dp, fl):
            f.l4 = .tcp(sourcePort: UInt32(sp), destinationPort: UInt32(dp), flags: Self.tcpFlags[Int(fl)])
            summary = Self.tcpSummaries[Int(fl)]
        case let .udp(sp, dp):
            f.l4 = .udp(sourcePort: UInt32(sp), destinationPort: UInt32(dp))
            summary = "UDP"
        case let .sctp(sp, dp):
            f.l4 = .sctp(sourcePort: UInt32(sp), destinationPort: UInt32(dp))
            summary = "SCTP"
        case let .icmpv4(t, c):
            f.l4 = .icmpv4(type: UInt32(t), code: UInt32(c))
            var name = Self.icmpv4Names[t] ?? "\(t)"
            if t == 3 { name += "(\(Self.unreachableCodes[c] ?? "\(c)"))" }
            summary = "ICMPv4 \(name)"
        case .other, .none: break
        }
        f.summary = summary

        // Which side is the endpoint where the event happened.
        let sourceIsLocal = f.source.map { $0.id == UInt32(e.endpointID) } ?? false
        switch Int32(e.type) {
        case PORIN_EVENT_DROP:
            f.verdict = 2
            f.dropReason = UInt32(e.subtype)
            f.dropReasonDesc = Int(e.subtype)
            f.trafficDirection = sourceIsLocal ? 2 : 1
        case PORIN_EVENT_TRACE:
            f.verdict = 1  // every trace, to-proxy included, is FORWARDED (reference §4.4)
            f.traceObservationPoint = e.subtype == 0 ? 101 : Int(e.subtype)
            let reason = Int(e.traceReason & 0x7F)
            f.traceReason = reason < 5 ? reason + 1 : reason == 5 ? 0 : reason
            if reason < 5 {
                let isReply = reason == 2
                f.isReply = isReply
                f.trafficDirection = sourceIsLocal != isReply ? 2 : 1
            }
            if e.subtype == 1 { f.proxyPort = UInt32(e.proxyPort) }
            f.interface = (e.ifindex, "")
        case PORIN_EVENT_POLICY_VERDICT:
            f.trafficDirection = e.isIngress ? 1 : 2
            f.policyMatchType = UInt32(e.matchType)
            if e.verdict < 0 {
                f.verdict = 2
                f.dropReason = UInt32(-e.verdict)
                f.dropReasonDesc = Int(-e.verdict)
            } else {
                f.verdict = e.verdict > 0 ? 5 : 1
                f.isReply = false
                if e.verdict > 0 { f.proxyPort = UInt32(e.verdict) }
            }
            if let w = dir.policyEntries[e.entryID] {
                let ps = w.entry.policies.map(Self.policy)
                if e.verdict >= 0 {
                    if e.isIngress { f.ingressAllowedBy = ps } else { f.egressAllowedBy = ps }
                } else if -e.verdict == 181 {
                    if e.isIngress { f.ingressDeniedBy = ps } else { f.egressDeniedBy = ps }
                }
            }
        case PORIN_EVENT_TRACE_SOCK:
            // As Hubble shows socket translations: no source port, no TCP flags (a socket event
            // has no packet), and a ClusterIP no endpoint owns is the world.
            switch f.l4 {
            case let .tcp(_, dp, _)?: f.l4 = .tcp(sourcePort: 0, destinationPort: dp, flags: nil)
            case let .udp(_, dp)?: f.l4 = .udp(sourcePort: 0, destinationPort: dp)
            default: break
            }
            if var d = f.destination, d.identity == 0, d.podName.isEmpty {
                d.identity = 2
                d.labels = dir.identityLabels[2] ?? []
                f.destination = d
            }
            f.sockXlatePoint = Int(e.subtype)
            f.verdict = e.subtype == 1 || e.subtype == 3 ? 6 : 7
            switch h.l4 {
            case .tcp: f.summary = "TCP"
            case .udp: f.summary = "UDP"
            default: f.summary = "Unknown"
            }
        default: break
        }
    }

    func endpoint(_ addr: UInt32, identity: UInt32, _ dir: EndpointDirectory) -> FlowEndpoint {
        var ep = FlowEndpoint()
        if let known = dir.byIP[addr] {
            ep.id = known.endpointID
            ep.identity = identity != 0 ? identity : known.identity
            ep.clusterName = "default"
            ep.namespace = known.namespace
            ep.labels = known.labels
            ep.podName = known.pod
            ep.workloads = known.workloads
        } else {
            ep.identity = identity
            ep.labels = dir.identityLabels[identity] ?? []
        }
        return ep
    }

    /// `10.244.0.3`, written digit by digit (string interpolation costs more than the rest of a flow).
    static func dotted(_ a: UInt32) -> String {
        String(unsafeUninitializedCapacity: 15) { buf in
            var n = 0
            var shift: UInt32 = 24
            while true {
                let o = UInt8((a >> shift) & 0xFF)
                if o >= 100 { buf[n] = 0x30 + o / 100; n += 1 }
                if o >= 10 { buf[n] = 0x30 + o / 10 % 10; n += 1 }
                buf[n] = 0x30 + o % 10
                n += 1
                if shift == 0 { break }
                buf[n] = 0x2E
                n += 1
                shift -= 8
            }
            return n
        }
    }

    /// A policy as Hubble names it, with the labels Cilium derives for it.
    static func policy(_ r: PolicyReference) -> FlowPolicy {
        var p = FlowPolicy()
        p.name = r.name
        p.namespace = r.namespace
        p.kind = r.kind.rawValue
        p.labels = ["k8s:io.cilium.k8s.policy.derived-from=\(r.kind.rawValue)", "k8s:io.cilium.k8s.policy.name=\(r.name)"]
            + (r.namespace.isEmpty ? [] : ["k8s:io.cilium.k8s.policy.namespace=\(r.namespace)"])
        return p
    }
}
