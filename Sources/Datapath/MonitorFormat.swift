// `porin monitor` lines: the datapath's events in the shape `cilium monitor` prints them, until
// Hubble flows exist.
import DatapathABI
import Foundation

public enum MonitorFormat {
    public static let observationPoints: [UInt8: String] = [
        0: "to-endpoint", 1: "to-proxy", 2: "to-host", 3: "to-stack", 5: "from-endpoint",
    ]
    public static let traceReasons: [UInt8: String] = [0: "new", 1: "established", 2: "reply", 3: "related"]
    public static let dropReasons: [UInt8: String] = [
        132: "Invalid source ip", 133: "Policy denied", 134: "Invalid packet", 135: "CT: Truncated or invalid header",
        139: "Unsupported L3 protocol", 141: "Error writing to packet", 203: "Endpoint policy program not available", 142: "Unknown L4 protocol", 157: "IP fragmentation not supported",
        158: "Service backend not found", 181: "Policy denied by denylist",
    ]
    public static let matchTypes: [UInt8: String] = [0: "none", 1: "L3-Only", 2: "L3-L4", 3: "L4-Only", 4: "all", 5: "L3-Proto", 6: "Proto-Only"]
    public static let translationPoints: [UInt8: String] = [1: "pre-xlate-fwd", 2: "post-xlate-fwd", 3: "pre-xlate-rev", 4: "post-xlate-rev"]

    public static func line(_ e: DatapathEvent) -> String {
        let pkt = PacketHeaders(e.packet).summary
        switch Int32(e.type) {
        case PORIN_EVENT_TRACE:
            let point = observationPoints[e.subtype] ?? String(e.subtype)
            let reason = traceReasons[e.traceReason] ?? String(e.traceReason)
            return "-> \(point) endpoint \(e.endpointID), identity \(e.sourceIdentity)->\(e.destinationIdentity) state \(reason) ifindex \(e.ifindex): \(pkt)"
        case PORIN_EVENT_DROP:
            let reason = dropReasons[e.subtype] ?? String(e.subtype)
            return "xx drop (\(reason)) endpoint \(e.endpointID), ifindex \(e.ifindex), identity \(e.sourceIdentity)->\(e.destinationIdentity): \(pkt)"
        case PORIN_EVENT_POLICY_VERDICT:
            let action = e.verdict < 0 ? "deny" : e.verdict > 0 ? "redirect" : "allow"
            return "Policy verdict log: local EP ID \(e.endpointID), remote ID \(e.isIngress ? e.sourceIdentity : e.destinationIdentity), "
                + "\(e.isIngress ? "ingress" : "egress"), action \(action), match \(matchTypes[e.matchType] ?? "unknown"), \(pkt)"
        case PORIN_EVENT_TRACE_SOCK:
            return "-> \(translationPoints[e.subtype] ?? String(e.subtype)) endpoint \(e.endpointID): \(pkt)"
        default:
            return "event type \(e.type) subtype \(e.subtype) endpoint \(e.endpointID): \(pkt)"
        }
    }
}
