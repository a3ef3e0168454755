// Porin's flow model (Hubble.Flow, FlowRecord, FlowFilter) to and from Hubble's protobuf
// messages. Flows are mapped field by field (this runs for every flow an agent serves and every
// flow `porin observe` receives); filters go through their protojson form, which both sides
// already speak exactly (a request carries a handful of filters, so speed does not matter there).
import Hubble
import HubbleProto
import SwiftProtobuf

extension FlowTime {
    public init(_ t: Google_Protobuf_Timestamp) { self.init(seconds: t.seconds, nanos: t.nanos) }
    public var proto: Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(seconds: seconds, nanos: nanos) }
}

extension FlowEndpoint {
    init(_ p: Flow_Endpoint) {
        self.init()
        id = p.id
        identity = p.identity
        clusterName = p.clusterName
        namespace = p.namespace
        labels = p.labels
        podName = p.podName
        workloads = p.workloads.map { Workload(name: $0.name, kind: $0.kind) }
    }

    var proto: Flow_Endpoint {
        var p = Flow_Endpoint()
        p.id = id
        p.identity = identity
        p.clusterName = clusterName
        p.namespace = namespace
        p.labels = labels
        p.podName = podName
        p.workloads = workloads.map { w in
            var pw = Flow_Workload()
            pw.name = w.name
            pw.kind = w.kind
            return pw
        }
        return p
    }
}

extension FlowPolicy {
    init(_ p: Flow_Policy) {
        self.init()
        name = p.name
        namespace = p.namespace
        labels = p.labels
        revision = p.revision
        kind = p.kind
    }

    var proto: Flow_Policy {
        var p = Flow_Policy()
        p.name = name
        p.namespace = namespace
        p.labels = labels
        p.revision = revision
        p.kind = kind
        return p
    }
}

extension TCPFlags {
    init(_ p: Flow_TCPFlags) {
        self.init()
        fin = p.fin
        syn = p.syn
        rst = p.rst
        psh = p.psh
        ack = p.ack
        urg = p.urg
        ece = p.ece
        cwr = p.cwr
        ns = p.ns
    }

    var proto: Flow_TCPFlags {
        var p = Flow_TCPFlags()
        p.fin = fin
        p.syn = syn
        p.rst = rst
        p.psh = psh
        p.ack = ack
        p.urg = urg
        p.ece = ece
        p.cwr = cwr
        p.ns = ns
        return p
    }
}

extension FlowL4 {
    init?(_ p: Flow_Layer4) {
        switch p.protocol {
        case let .tcp(t)?: self = .tcp(sourcePort: t.sourcePort, destinationPort: t.destinationPort, flags: t.hasFlags ? TCPFlags(t.flags) : nil)
        case let .udp(u)?: self = .udp(sourcePort: u.sourcePort, destinationPort: u.destinationPort)
        case let .sctp(s)?: self = .sctp(sourcePort: s.sourcePort, destinationPort: s.destinationPort)
        case let .icmpv4(i)?: self = .icmpv4(type: i.type, code: i.code)
        case let .icmpv6(i)?: self = .icmpv6(type: i.type, code: i.code)
        // VRRP and IGMP have no place in Porin's model (its datapath never sees them).
        case .vrrp?, .igmp?, nil: return nil
        }
    }

    var proto: Flow_Layer4 {
        var p = Flow_Layer4()
        switch self {
        case let .tcp(s, d, flags):
            var t = Flow_TCP()
            t.sourcePort = s
            t.destinationPort = d
            if let flags { t.flags = flags.proto }
            p.tcp = t
        case let .udp(s, d):
            var u = Flow_UDP()
            u.sourcePort = s
            u.destinationPort = d
            p.udp = u
        case let .sctp(s, d):
            var u = Flow_SCTP()
            u.sourcePort = s
            u.destinationPort = d
            p.sctp = u
        case let .icmpv4(type, code):
            var i = Flow_ICMPv4()
            i.type = type
            i.code = code
            p.icmpv4 = i
        case let .icmpv6(type, code):
            var i = Flow_ICMPv6()
            i.type = type
            i.code = code
            p.icmpv6 = i
        }
        return p
    }
}

extension FlowL7 {
    init(_ p: Flow_Layer7) {
        self.init()
        type = p.type.rawValue
        latencyNs = p.latencyNs
        switch p.record {
        case let .dns(d)?:
            var r = DNSRecord()
            r.query = d.query
            r.ips = d.ips
            r.ttl = d.ttl
            r.cnames = d.cnames
            r.observationSource = d.observationSource
            r.rcode = d.rcode
            r.qtypes = d.qtypes
            r.rrtypes = d.rrtypes
            dns = r
        case let .http(h)?:
            var r = HTTPRecord()
            r.code = h.code
            r.method = h.method
            r.url = h.url
            r.protocolName = h.protocol
            r.headers = h.headers.map { ($0.key, $0.value) }
            http = r
        case .kafka?, nil: break
        }
    }

    var proto: Flow_Layer7 {
        var p = Flow_Layer7()
        p.type = Flow_L7FlowType(rawValue: type) ?? .unknownL7Type
        p.latencyNs = latencyNs
        if let d = dns {
            var r = Flow_DNS()
            r.query = d.query
            r.ips = d.ips
            r.ttl = d.ttl
            r.cnames = d.cnames
            r.observationSource = d.observationSource
            r.rcode = d.rcode
            r.qtypes = d.qtypes
            r.rrtypes = d.rrtypes
            p.dns = r
        } else if let h = http {
            var r = Flow_HTTP()
            r.code = h.code
            r.method = h.method
            r.url = h.url
            r.protocol = h.protocolName
            r.headers = h.headers.map { kv in
                var hh = Flow_HTTPHeader()
                hh.key = kv.key
                hh.value = kv.value
                return hh
            }
            p.http = r
        }
        return p
    }
}

extension FlowService {
    init(_ p: Flow_Service) { self.init(name: p.name, namespace: p.namespace) }
    var proto: Flow_Service {
        var p = Flow_Service()
        p.name = name
        p.namespace = namespace
        return p
    }
}

extension Flow {
    /// The flow in Porin's model. Fields the model does not hold (ethernet, tunnel, emitter, file,
    /// extensions, policy_log, aggregate) are left out: the relay forwards messages untouched,
    /// only clients that print flows convert them.
    public init(proto p: Flow_Flow) {
        self.init()
        if p.hasTime { time = FlowTime(p.time) }
        uuid = p.uuid
        verdict = p.verdict.rawValue
        dropReason = p.dropReason
        authType = p.authType.rawValue
        if p.hasIp {
            var ip = FlowIP()
            ip.source = p.ip.source
            ip.destination = p.ip.destination
            ip.ipVersion = p.ip.ipVersion.rawValue
            ip.encrypted = p.ip.encrypted
            ip.sourceXlated = p.ip.sourceXlated
            self.ip = ip
        }
        if p.hasL4 { l4 = FlowL4(p.l4) }
        if p.hasSource { source = FlowEndpoint(p.source) }
        if p.hasDestination { destination = FlowEndpoint(p.destination) }
        type = p.type.rawValue
        nodeName = p.nodeName
        nodeLabels = p.nodeLabels
        sourceNames = p.sourceNames
        destinationNames = p.destinationNames
        if p.hasL7 { l7 = FlowL7(p.l7) }
        if p.hasEventType { eventType = (p.eventType.type, p.eventType.subType) }
        if p.hasSourceService { sourceService = FlowService(p.sourceService) }
        if p.hasDestinationService { destinationService = FlowService(p.destinationService) }
        trafficDirection = p.trafficDirection.rawValue
        policyMatchType = p.policyMatchType
        traceObservationPoint = p.traceObservationPoint.rawValue
        traceReason = p.traceReason.rawValue
        dropReasonDesc = p.dropReasonDesc.rawValue
        if p.hasIsReply { isReply = p.isReply.value }
        debugCapturePoint = p.debugCapturePoint.rawValue
        if p.hasInterface { interface = (p.interface.index, p.interface.name) }
        proxyPort = p.proxyPort
        if p.hasTraceContext { traceID = p.traceContext.parent.traceID }
        sockXlatePoint = p.sockXlatePoint.rawValue
        socketCookie = p.socketCookie
        cgroupID = p.cgroupID
        if p.hasIpTraceID { ipTraceID = p.ipTraceID.traceID }
        summary = p.summary
        egressAllowedBy = p.egressAllowedBy.map(FlowPolicy.init)
        ingressAllowedBy = p.ingressAllowedBy.map(FlowPolicy.init)
        egressDeniedBy = p.egressDeniedBy.map(FlowPolicy.init)
        ingressDeniedBy = p.ingressDeniedBy.map(FlowPolicy.init)
    }

    /// The flow as Hubble's message. Enum numbers the generated code does not name pass through
    /// as `.UNRECOGNIZED(n)`, so nothing is lost.
    public var proto: Flow_Flow {
        var p = Flow_Flow()
        if let time { p.time = time.proto }
        p.uuid = uuid
        p.verdict = Flow_Verdict(rawValue: verdict) ?? .unknown
        p.dropReason = dropReason
        p.authType = Flow_AuthType(rawValue: authType) ?? .disabled
        if let ip {
            var pip = Flow_IP()
            pip.source = ip.source
            pip.destination = ip.destination
            pip.ipVersion = Flow_IPVersion(rawValue: ip.ipVersion) ?? .ipNotUsed
            pip.encrypted = ip.encrypted
            pip.sourceXlated = ip.sourceXlated
            p.ip = pip
        }
        if let l4 { p.l4 = l4.proto }
        if let source { p.source = source.proto }
        if let destination { p.destination = destination.proto }
        p.type = Flow_FlowType(rawValue: type) ?? .unknownType
        p.nodeName = nodeName
        p.nodeLabels = nodeLabels
        p.sourceNames = sourceNames
        p.destinationNames = destinationNames
        if let l7 { p.l7 = l7.proto }
        if let eventType {
            var e = Flow_CiliumEventType()
            e.type = eventType.type
            e.subType = eventType.subType
            p.eventType = e
        }
        if let sourceService { p.sourceService = sourceService.proto }
        if let destinationService { p.destinationService = destinationService.proto }
        p.trafficDirection = Flow_TrafficDirection(rawValue: trafficDirection) ?? .unknown
        p.policyMatchType = policyMatchType
        p.traceObservationPoint = Flow_TraceObservationPoint(rawValue: traceObservationPoint) ?? .unknownPoint
        p.traceReason = Flow_TraceReason(rawValue: traceReason) ?? .unknown
        p.dropReasonDesc = Flow_DropReason(rawValue: dropReasonDesc) ?? .unknown
        if let isReply { p.isReply = Google_Protobuf_BoolValue(isReply) }
        p.debugCapturePoint = Flow_DebugCapturePoint(rawValue: debugCapturePoint) ?? .dbgCapturePointUnknown
        if let interface {
            var i = Flow_NetworkInterface()
            i.index = interface.index
            i.name = interface.name
            p.interface = i
        }
        p.proxyPort = proxyPort
        if !traceID.isEmpty {
            var tc = Flow_TraceContext()
            tc.parent.traceID = traceID
            p.traceContext = tc
        }
        p.sockXlatePoint = Flow_SocketTranslationPoint(rawValue: sockXlatePoint) ?? .sockXlatePointUnknown
        p.socketCookie = socketCookie
        p.cgroupID = cgroupID
        if ipTraceID != 0 {
            var t = Flow_IPTraceID()
            t.traceID = ipTraceID
            p.ipTraceID = t
        }
        p.summary = summary
        p.egressAllowedBy = egressAllowedBy.map(\.proto)
        p.ingressAllowedBy = ingressAllowedBy.map(\.proto)
        p.egressDeniedBy = egressDeniedBy.map(\.proto)
        p.ingressDeniedBy = ingressDeniedBy.map(\.proto)
        return p
    }
}

extension FlowRecord {
    /// A GetFlowsResponse as a record; nil for node status events (which Porin's printers, like
    /// hubble's compact output, do not show) and empty responses.
    public init?(response r: Observer_GetFlowsResponse) {
        let time = r.hasTime ? FlowTime(r.time) : nil
        switch r.responseTypes {
        case let .flow(f)?:
            self = .flow(Flow(proto: f), nodeName: r.nodeName, time: time)
        case let .lostEvents(l)?:
            self = .lostEvents(source: l.source.rawValue, count: l.numEventsLost, cpu: l.hasCpu ? l.cpu.value : nil, nodeName: r.nodeName, time: time)
        case .nodeStatus?, nil:
            return nil
        }
    }

    /// The record as Hubble's GetFlowsResponse (node name and time at the top, as the server sets them).
    public var response: Observer_GetFlowsResponse {
        var r = Observer_GetFlowsResponse()
        switch self {
        case let .flow(f, node, time):
            r.flow = f.proto
            r.nodeName = node
            if let t = time ?? f.time { r.time = t.proto }
        case let .lostEvents(source, count, cpu, node, time):
            var l = Flow_LostEvent()
            l.source = Flow_LostEventSource(rawValue: source) ?? .unknownLostEventSource
            l.numEventsLost = count
            if let cpu { l.cpu = Google_Protobuf_Int32Value(cpu) }
            r.lostEvents = l
            r.nodeName = node
            if let time { r.time = time.proto }
        }
        return r
    }
}

extension FlowFilter {
    /// The filter as Hubble's message (through its protojson, which `--print-raw-filters` prints).
    public var proto: Flow_FlowFilter {
        get throws {
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = false
            return try Flow_FlowFilter(jsonString: json, options: options)
        }
    }

    /// A filter received in a request.
    public init(proto p: Flow_FlowFilter) throws {
        let text = try p.jsonString(options: { var o = JSONEncodingOptions(); o.preserveProtoFieldNames = true; return o }())
        guard let v = try? JSONReader.parse(text) else { throw FlowFilterError("invalid filter: \(text)") }
        self = try FlowFilter.decode(v)
    }
}
