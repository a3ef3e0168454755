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
        var out: [UInt8] = []
        write(record, o, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func line(_ f: Flow, nodeName: String, time: FlowTime?, _ o: CompactOptions) -> String {
        var out: [UInt8] = []
        write(f, nodeName: nodeName, time: time, o, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The line's bytes, appended: `porin observe` prints a million lines into one buffer, and
    /// the Strings of the pieces cost more than the rest of the line.
    public static func write(_ record: FlowRecord, _ o: CompactOptions, into out: inout [UInt8]) {
        switch record {
        case let .flow(f, node, time):
            write(f, nodeName: node.isEmpty ? f.nodeName : node, time: f.time ?? time, o, into: &out)
        case let .lostEvents(source, count, cpu, _, time):
            if let time { o.timeFormat.write(time, into: &out) } else { out.append(contentsOf: "N/A".utf8) }
            out.append(contentsOf: " EVENTS LOST: ".utf8)
            out.append(contentsOf: HubbleEnums.name(source, HubbleEnums.lostEventSources).utf8)
            out.append(contentsOf: " CPU(".utf8)
            HubbleTimeFormat.decimal(Int(cpu ?? 0), &out)
            out.append(contentsOf: ") ".utf8)
            out.append(contentsOf: String(count).utf8)
            out.append(0x0A)
        }
    }

    public static func write(_ f: Flow, nodeName: String, time: FlowTime?, _ o: CompactOptions, into out: inout [UInt8]) {
        if let time { o.timeFormat.write(time, into: &out) } else { out.append(contentsOf: "N/A".utf8) }
        if o.printNodeName {
            out.append(contentsOf: " [".utf8)
            out.append(contentsOf: nodeName.utf8)
            out.append(0x5D)
        }
        out.append(contentsOf: ": ".utf8)
        // A reply is printed from the destination's side.
        let reply = f.isReply == true
        host(f, source: !reply, o, into: &out)
        out.append(0x20)
        identity((reply ? f.destination : f.source)?.identity ?? 0, into: &out)
        switch f.isReply {
        case nil: out.append(contentsOf: " <> ".utf8)
        case true?: out.append(contentsOf: " <- ".utf8)
        case false?: out.append(contentsOf: " -> ".utf8)
        }
        host(f, source: reply, o, into: &out)
        out.append(0x20)
        identity((reply ? f.source : f.destination)?.identity ?? 0, into: &out)
        out.append(0x20)
        out.append(contentsOf: flowType(f).utf8)
        out.append(0x20)
        out.append(contentsOf: verdict(f, o).utf8)
        out.append(contentsOf: " (".utf8)
        summary(f, into: &out)
        out.append(contentsOf: ")\n".utf8)
    }

    /// `(ID:n)`, or the reserved identity's name.
    public static func identity(_ id: UInt32) -> String {
        var out: [UInt8] = []
        identity(id, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func identity(_ id: UInt32, into out: inout [UInt8]) {
        out.append(0x28)
        if let n = HubbleEnums.reservedIdentities[id] {
            out.append(contentsOf: n.utf8)
        } else {
            out.append(contentsOf: "ID:".utf8)
            HubbleTimeFormat.decimal(Int(id), &out)
        }
        out.append(0x29)
    }

    /// `ns/pod[:port]`, `ns/service`, DNS names or the address (reference §5.1, host rendering).
    public static func host(_ f: Flow, source: Bool, _ o: CompactOptions) -> String {
        var out: [UInt8] = []
        host(f, source: source, o, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func host(_ f: Flow, source: Bool, _ o: CompactOptions, into out: inout [UInt8]) {
        guard let ip = f.ip else { return }
        let start = out.count
        var named = false
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
            if !pod.isEmpty || !svc.isEmpty {
                if !ns.isEmpty {
                    out.append(contentsOf: ns.utf8)
                    out.append(0x2F)
                }
                out.append(contentsOf: (pod.isEmpty ? svc : pod).utf8)
                named = true
            } else if !names.isEmpty {
                for (k, n) in names.enumerated() {
                    if k > 0 { out.append(0x2C) }
                    out.append(contentsOf: n.utf8)
                }
                named = true
            }
        }
        if !named { out.append(contentsOf: (source ? ip.source : ip.destination).utf8) }
        guard let ports = f.l4?.ports else { return }
        let port = source ? ports.source : ports.destination
        guard port != 0 else { return }
        // IPv6 addresses (anything with a colon) are bracketed before the port.
        if out[start...].contains(0x3A) {
            out.insert(0x5B, at: start)
            out.append(0x5D)
        }
        out.append(0x3A)
        HubbleTimeFormat.decimal(Int(port), &out)
    }

    /// An enum's name, or its number when it has none.

    public static func flowType(_ f: Flow) -> String {
        if let l7 = f.l7 {
            let proto = l7.dns != nil ? "dns" : l7.http != nil ? "http" : "l7"
            let t = l7.type >= 0 && l7.type < HubbleEnums.l7FlowTypes.count ? HubbleEnums.l7FlowTypes[l7.type].lowercased() : "\(l7.type)"
            if let dns = l7.dns { return "\(proto)-\(t) \(dns.observationSource)" }
            return "\(proto)-\(t)"
        }
        guard let e = f.eventType else { return "UNKNOWN" }
        switch e.type {
        case 4: return HubbleEnums.traceSubtypeNames[e.subType] ?? String(e.subType)
        case 1: return HubbleEnums.dropReasons[Int(e.subType)]?.text ?? String(e.subType)
        case 5:
            let dir = HubbleEnums.name(f.trafficDirection, HubbleEnums.trafficDirections)
            return "policy-verdict:\(HubbleEnums.matchTypeName(f.policyMatchType)) \(dir)"
        case 3: return HubbleEnums.debugCapturePoints[f.debugCapturePoint] ?? String(f.debugCapturePoint)
        case 7:
            return Int32(exactly: f.sockXlatePoint).flatMap { HubbleEnums.sockXlateTypeNames[$0] } ?? HubbleEnums.name(f.sockXlatePoint, HubbleEnums.sockXlatePoints)
        default: return "UNKNOWN"
        }
    }

    public static func verdict(_ f: Flow, _ o: CompactOptions) -> String {
        guard f.eventType?.type == 5 else { return HubbleEnums.name(f.verdict, HubbleEnums.verdicts) }
        switch f.verdict {
        case 1, 5: return "ALLOWED" + policyNames(f.egressAllowedBy + f.ingressAllowedBy, o)
        case 2, 3: return "DENIED" + policyNames(f.egressDeniedBy + f.ingressDeniedBy, o)
        case 4: return "AUDITED"
        default: return HubbleEnums.name(f.verdict, HubbleEnums.verdicts)
        }
    }

    static func policyNames(_ ps: [FlowPolicy], _ o: CompactOptions) -> String {
        guard o.printPolicyNames else { return "" }
        let named = ps.filter { !$0.name.isEmpty && !$0.kind.isEmpty }.map { "\($0.name) (\($0.kind))" }
        return named.isEmpty ? "" : " BY " + named.joined(separator: ", ")
    }

    public static func summary(_ f: Flow) -> String {
        var out: [UInt8] = []
        summary(f, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func summary(_ f: Flow, into out: inout [UInt8]) {
        if f.ipTraceID > 0 {
            out.append(contentsOf: "IP Trace ID: ".utf8)
            out.append(contentsOf: String(f.ipTraceID).utf8)
            out.append(contentsOf: "; ".utf8)
        }
        out.append(contentsOf: f.summary.utf8)
        if f.authType != 0 {
            out.append(contentsOf: "; Auth: ".utf8)
            out.append(contentsOf: HubbleEnums.name(f.authType, HubbleEnums.authTypes).utf8)
        }
    }
}
