// `hubble observe`'s compact output, byte for byte (reference §5.1): one line per flow,
// `TIME[ [NODE]]: SRC (ID) ARROW DST (ID) TYPE VERDICT (SUMMARY)`, and lost-event lines.

public struct CompactOptions: Sendable {
    public var timeFormat: HubbleTimeFormat = .stampMilli
    public var printNodeName = false
    public var ipTranslation = true
    public var printPolicyNames = false
    public init() {}
}

public enum CompactFormat {
    public static func line(_ record: FlowRecord, _ o: CompactOptions) -> String {
        switch record {
        case let .flow(f, node, time):
            return line(f, nodeName: node.isEmpty ? f.nodeName : node, time: f.time ?? time, o)
        case let .lostEvents(source, count, cpu, _, time):
            let name = source < HubbleEnums.lostEventSources.count ? HubbleEnums.lostEventSources[source] : String(source)
            return "\(time.map { o.timeFormat.format($0) } ?? "N/A") EVENTS LOST: \(name) CPU(\(cpu ?? 0)) \(count)\n"
        }
    }

    public static func line(_ f: Flow, nodeName: String, time: FlowTime?, _ o: CompactOptions) -> String {
        var src = host(f, source: true, o), dst = host(f, source: false, o)
        var srcID = identity(f.source?.identity ?? 0), dstID = identity(f.destination?.identity ?? 0)
        let arrow: String
        switch f.isReply {
        case nil: arrow = "<>"
        case true?:
            arrow = "<-"
            swap(&src, &dst)
            swap(&srcID, &dstID)
        case false?: arrow = "->"
        }
        let ts = time.map { o.timeFormat.format($0) } ?? "N/A"
        let node = o.printNodeName ? " [\(nodeName)]" : ""
        return "\(ts)\(node): \(src) \(srcID) \(arrow) \(dst) \(dstID) \(flowType(f)) \(verdict(f, o)) (\(summary(f)))\n"
    }

    /// `(ID:n)`, or the reserved identity's name.
    public static func identity(_ id: UInt32) -> String {
        if let n = HubbleEnums.reservedIdentities[id] { return "(\(n))" }
        return "(ID:\(id))"
    }

    /// `ns/pod[:port]`, `ns/service`, DNS names or the address (reference §5.1, host rendering).
    public static func host(_ f: Flow, source: Bool, _ o: CompactOptions) -> String {
        guard let ip = f.ip else { return "" }
        let addr = source ? ip.source : ip.destination
        var name = addr
        if o.ipTranslation {
            let ep = source ? f.source : f.destination
            var ns = ep?.namespace ?? ""
            let pod = ep?.podName ?? ""
            var svc = ""
            if let s = source ? f.sourceService : f.destinationService {
                ns = s.namespace
                svc = s.name
            }
            let names = source ? f.sourceNames : f.destinationNames
            if !pod.isEmpty {
                name = ns.isEmpty ? pod : "\(ns)/\(pod)"
            } else if !svc.isEmpty {
                name = ns.isEmpty ? svc : "\(ns)/\(svc)"
            } else if !names.isEmpty {
                name = names.joined(separator: ",")
            }
        }
        guard let ports = f.l4?.ports else { return name }
        let port = source ? ports.source : ports.destination
        guard port != 0 else { return name }
        return name.utf8.contains(0x3A) ? "[\(name)]:\(port)" : "\(name):\(port)"
    }

    public static func flowType(_ f: Flow) -> String {
        if let l7 = f.l7 {
            let proto = l7.dns != nil ? "dns" : l7.http != nil ? "http" : "l7"
            let t = l7.type < HubbleEnums.l7FlowTypes.count ? HubbleEnums.l7FlowTypes[l7.type].lowercased() : "\(l7.type)"
            if let dns = l7.dns { return "\(proto)-\(t) \(dns.observationSource)" }
            return "\(proto)-\(t)"
        }
        guard let e = f.eventType else { return "UNKNOWN" }
        switch e.type {
        case 4: return HubbleEnums.traceSubtypeNames[e.subType] ?? String(e.subType)
        case 1: return HubbleEnums.dropReasons[Int(e.subType)]?.text ?? String(e.subType)
        case 5:
            let dir = f.trafficDirection < HubbleEnums.trafficDirections.count ? HubbleEnums.trafficDirections[f.trafficDirection] : String(f.trafficDirection)
            return "policy-verdict:\(HubbleEnums.matchTypeName(f.policyMatchType)) \(dir)"
        case 3: return HubbleEnums.debugCapturePoints[f.debugCapturePoint] ?? String(f.debugCapturePoint)
        case 7:
            return HubbleEnums.sockXlateTypeNames[Int32(f.sockXlatePoint)]
                ?? (f.sockXlatePoint < HubbleEnums.sockXlatePoints.count ? HubbleEnums.sockXlatePoints[f.sockXlatePoint] : String(f.sockXlatePoint))
        default: return "UNKNOWN"
        }
    }

    public static func verdict(_ f: Flow, _ o: CompactOptions) -> String {
        let name = f.verdict < HubbleEnums.verdicts.count ? HubbleEnums.verdicts[f.verdict] : String(f.verdict)
        guard f.eventType?.type == 5 else { return name }
        switch f.verdict {
        case 1, 5: return "ALLOWED" + policyNames(f.egressAllowedBy + f.ingressAllowedBy, o)
        case 2, 3: return "DENIED" + policyNames(f.egressDeniedBy + f.ingressDeniedBy, o)
        case 4: return "AUDITED"
        default: return name
        }
    }

    static func policyNames(_ ps: [FlowPolicy], _ o: CompactOptions) -> String {
        guard o.printPolicyNames else { return "" }
        let named = ps.filter { !$0.name.isEmpty && !$0.kind.isEmpty }.map { "\($0.name) (\($0.kind))" }
        return named.isEmpty ? "" : " BY " + named.joined(separator: ", ")
    }

    public static func summary(_ f: Flow) -> String {
        var s = ""
        if f.ipTraceID > 0 { s += "IP Trace ID: \(f.ipTraceID); " }
        s += f.summary
        if f.authType != 0 { s += "; Auth: \(f.authType < HubbleEnums.authTypes.count ? HubbleEnums.authTypes[f.authType] : String(f.authType))" }
        return s
    }
}
