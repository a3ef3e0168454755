// Hubble's flow (api/v1/flow/flow.proto), as a plain Swift value: what the agent makes of every
// datapath event, what `porin observe` filters and prints, and what the gRPC layer converts to and
// from Hubble's protobuf messages. Field names follow the proto; enums are kept as their numbers
// (names in HubbleEnums.swift) so that unknown values survive a round trip.
import Foundation

/// A protobuf Timestamp: seconds since 1970 and nanoseconds.
public struct FlowTime: Sendable, Hashable, Comparable {
    public var seconds: Int64
    public var nanos: Int32
    public init(seconds: Int64, nanos: Int32) {
        self.seconds = seconds
        self.nanos = nanos
    }
    public static func < (a: FlowTime, b: FlowTime) -> Bool { (a.seconds, a.nanos) < (b.seconds, b.nanos) }

    /// The wall clock now.
    public static var now: FlowTime {
        let t = Date().timeIntervalSince1970
        let s = t.rounded(.down)
        return FlowTime(seconds: Int64(s), nanos: Int32((t - s) * 1e9))
    }
}

public struct FlowIP: Sendable, Hashable {
    public var source = ""
    public var destination = ""
    /// IPVersion: 0 not used, 1 IPv4, 2 IPv6.
    public var ipVersion: Int = 0
    public var encrypted = false
    public var sourceXlated = ""
    public init() {}
}

public struct TCPFlags: Sendable, Hashable {
    public var fin = false, syn = false, rst = false, psh = false, ack = false, urg = false, ece = false, cwr = false, ns = false
    public init() {}

    /// Every flag's proto name and field, in flow.proto's order (JSON and filters use this order).
    // Key paths are immutable values; Swift 6 does not mark them Sendable yet.
    nonisolated(unsafe) public static let fields: [(name: String, path: WritableKeyPath<TCPFlags, Bool>)] = [
        ("FIN", \.fin), ("SYN", \.syn), ("RST", \.rst), ("PSH", \.psh), ("ACK", \.ack), ("URG", \.urg), ("ECE", \.ece), ("CWR", \.cwr), ("NS", \.ns),
    ]

    /// Sets the flag called `name` (proto spelling, any case); false when there is no such flag.
    public mutating func set(_ name: some StringProtocol, _ on: Bool = true) -> Bool {
        let upper = name.uppercased()
        guard let f = Self.fields.first(where: { $0.name == upper }) else { return false }
        self[keyPath: f.path] = on
        return true
    }

    /// The flags that are set, in flow.proto's order.
    public var setNames: [String] { Self.fields.filter { self[keyPath: $0.path] }.map(\.name) }

    /// Hubble's summary order: SYN, ACK, RST, FIN, PSH, URG, ECE, CWR, NS.
    public var names: [String] {
        [("SYN", syn), ("ACK", ack), ("RST", rst), ("FIN", fin), ("PSH", psh), ("URG", urg), ("ECE", ece), ("CWR", cwr), ("NS", ns)].filter(\.1).map(\.0)
    }
}

public enum FlowL4: Sendable, Hashable {
    case tcp(sourcePort: UInt32, destinationPort: UInt32, flags: TCPFlags?)
    case udp(sourcePort: UInt32, destinationPort: UInt32)
    case sctp(sourcePort: UInt32, destinationPort: UInt32)
    case icmpv4(type: UInt32, code: UInt32)
    case icmpv6(type: UInt32, code: UInt32)

    public var ports: (source: UInt32, destination: UInt32)? {
        switch self {
        case let .tcp(s, d, _), let .udp(s, d), let .sctp(s, d): (s, d)
        default: nil
        }
    }
}

public struct Workload: Sendable, Hashable {
    public var name: String
    public var kind: String
    public init(name: String, kind: String) {
        self.name = name
        self.kind = kind
    }
}

public struct FlowEndpoint: Sendable, Hashable {
    public var id: UInt32 = 0
    public var identity: UInt32 = 0
    public var clusterName = ""
    public var namespace = ""
    /// `source:key=value`, sorted.
    public var labels: [String] = []
    public var podName = ""
    public var workloads: [Workload] = []
    public init() {}
}

public struct FlowService: Sendable, Hashable {
    public var name: String
    public var namespace: String
    public init(name: String, namespace: String) {
        self.name = name
        self.namespace = namespace
    }
}

/// A policy that allowed or denied a flow (`egress_allowed_by` …).
public struct FlowPolicy: Sendable, Hashable {
    public var name = ""
    public var namespace = ""
    public var labels: [String] = []
    public var revision: UInt64 = 0
    public var kind = ""
    public init() {}
}

public struct DNSRecord: Sendable, Hashable {
    public var query = ""
    public var ips: [String] = []
    public var ttl: UInt32 = 0
    public var cnames: [String] = []
    public var observationSource = ""
    public var rcode: UInt32 = 0
    public var qtypes: [String] = []
    public var rrtypes: [String] = []
    public init() {}
}

public struct HTTPRecord: Sendable, Hashable {
    public var code: UInt32 = 0
    public var method = ""
    public var url = ""
    public var protocolName = ""
    public var headers: [(key: String, value: String)] = []
    public init() {}
    public static func == (a: HTTPRecord, b: HTTPRecord) -> Bool {
        a.code == b.code && a.method == b.method && a.url == b.url && a.protocolName == b.protocolName
            && a.headers.count == b.headers.count && zip(a.headers, b.headers).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
    public func hash(into h: inout Hasher) {
        h.combine(code)
        h.combine(method)
        h.combine(url)
    }
}

public struct FlowL7: Sendable, Hashable {
    /// L7FlowType: 0 unknown, 1 request, 2 response, 3 sample.
    public var type: Int = 0
    public var latencyNs: UInt64 = 0
    public var dns: DNSRecord?
    public var http: HTTPRecord?
    public init() {}
}

public struct Flow: Sendable, Hashable {
    public var time: FlowTime?
    public var uuid = ""
    /// Verdict: 0 unknown, 1 FORWARDED, 2 DROPPED, 3 ERROR, 4 AUDIT, 5 REDIRECTED, 6 TRACED, 7 TRANSLATED.
    public var verdict: Int = 0
    /// The deprecated numeric drop reason (`drop_reason`).
    public var dropReason: UInt32 = 0
    public var authType: Int = 0
    public var ip: FlowIP?
    public var l4: FlowL4?
    public var source: FlowEndpoint?
    public var destination: FlowEndpoint?
    /// FlowType: 0 unknown, 1 L3_L4, 2 L7, 3 SOCK.
    public var type: Int = 0
    public var nodeName = ""
    public var nodeLabels: [String] = []
    public var sourceNames: [String] = []
    public var destinationNames: [String] = []
    public var l7: FlowL7?
    /// `event_type`: the monitor message type and sub type.
    public var eventType: (type: Int32, subType: Int32)?
    public var sourceService: FlowService?
    public var destinationService: FlowService?
    /// TrafficDirection: 0 unknown, 1 INGRESS, 2 EGRESS.
    public var trafficDirection: Int = 0
    public var policyMatchType: UInt32 = 0
    /// TraceObservationPoint (proto values: TO_ENDPOINT is 101).
    public var traceObservationPoint: Int = 0
    public var traceReason: Int = 0
    /// DropReason (proto enum; the same numbers as the datapath's codes).
    public var dropReasonDesc: Int = 0
    /// `is_reply` (a BoolValue: absent is not false).
    public var isReply: Bool?
    public var debugCapturePoint: Int = 0
    public var interface: (index: UInt32, name: String)?
    public var proxyPort: UInt32 = 0
    public var traceID = ""
    public var sockXlatePoint: Int = 0
    public var socketCookie: UInt64 = 0
    public var cgroupID: UInt64 = 0
    public var ipTraceID: UInt64 = 0
    public var summary = ""
    public var egressAllowedBy: [FlowPolicy] = []
    public var ingressAllowedBy: [FlowPolicy] = []
    public var egressDeniedBy: [FlowPolicy] = []
    public var ingressDeniedBy: [FlowPolicy] = []

    public init() {}

    public static func == (a: Flow, b: Flow) -> Bool {
        a.time == b.time && a.uuid == b.uuid && a.verdict == b.verdict && a.ip == b.ip && a.l4 == b.l4 && a.source == b.source
            && a.destination == b.destination && a.type == b.type && a.nodeName == b.nodeName && a.l7 == b.l7
            && a.eventType?.type == b.eventType?.type && a.eventType?.subType == b.eventType?.subType
            && a.trafficDirection == b.trafficDirection && a.traceObservationPoint == b.traceObservationPoint
            && a.dropReasonDesc == b.dropReasonDesc && a.isReply == b.isReply && a.summary == b.summary
            && a.sourceNames == b.sourceNames && a.destinationNames == b.destinationNames
            && a.sourceService == b.sourceService && a.destinationService == b.destinationService
            && a.egressAllowedBy == b.egressAllowedBy && a.ingressAllowedBy == b.ingressAllowedBy
            && a.egressDeniedBy == b.egressDeniedBy && a.ingressDeniedBy == b.ingressDeniedBy
            && a.policyMatchType == b.policyMatchType && a.proxyPort == b.proxyPort
    }
    public func hash(into h: inout Hasher) {
        h.combine(time)
        h.combine(uuid)
        h.combine(summary)
    }
}

/// A record of a flow stream (`GetFlowsResponse`): a flow, or a count of lost events. Indirect:
/// a record is passed around by reference, never copied field by field.
public indirect enum FlowRecord: Sendable {
    case flow(Flow, nodeName: String, time: FlowTime?)
    /// `lost_events`: the source (LostEventSource number), how many, on which CPU (if known).
    case lostEvents(source: Int, count: UInt64, cpu: Int32?, nodeName: String, time: FlowTime?)
}
