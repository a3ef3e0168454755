// Hubble's Prometheus metrics for the flows a node saw, named and labelled as Hubble's metric
// handlers do: hubble_flows_processed_total{protocol,type,subtype,verdict},
// hubble_drop_total{reason,protocol}, hubble_policy_verdicts_total{direction,match,action},
// hubble_lost_events_total{source}. Rendered in Prometheus' text format.
import Foundation

public final class HubbleMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var flows: [[String]: UInt64] = [:]
    private var drops: [[String]: UInt64] = [:]
    private var verdicts: [[String]: UInt64] = [:]
    private var lost: [String: UInt64] = [:]

    public init() {}

    /// Hubble's `FlowProtocol`: the L7 protocol, else the L4 one.
    public static func flowProtocol(_ f: Flow) -> String {
        if let l7 = f.l7 { return l7.dns != nil ? "DNS" : l7.http != nil ? "HTTP" : "Unknown" }
        switch f.l4 {
        case .tcp?: return "TCP"
        case .udp?: return "UDP"
        case .sctp?: return "SCTP"
        case .icmpv4?: return "ICMPv4"
        case .icmpv6?: return "ICMPv6"
        case nil: return "Unknown"
        }
    }

    public func observe(_ f: Flow) {
        let proto = Self.flowProtocol(f)
        let verdict = HubbleEnums.name(f.verdict, HubbleEnums.verdicts)
        var type = "Unknown", subtype = ""
        switch f.eventType?.type {
        case 129?:
            type = "L7"
            subtype = f.l7?.dns != nil ? "DNS" : f.l7?.http != nil ? "HTTP" : ""
        case 1?: type = "Drop"
        case 3?: type = "Capture"
        case 4?:
            type = "Trace"
            subtype = HubbleEnums.traceSubtypeNames[f.eventType!.subType] ?? ""
        case 5?: type = "PolicyVerdict"
        default: subtype = String(f.eventType?.type ?? 0)
        }
        lock.lock()
        defer { lock.unlock() }
        flows[[proto, type, subtype, verdict], default: 0] += 1
        if f.verdict == 2 { drops[[HubbleEnums.dropReasonName(f.dropReasonDesc), proto], default: 0] += 1 }
        if f.eventType?.type == 5, f.source?.identity != 1 {
            let dir = HubbleEnums.name(f.trafficDirection, HubbleEnums.trafficDirections)
            verdicts[[dir.lowercased(), HubbleEnums.matchTypeName(f.policyMatchType).lowercased(), verdict.lowercased()], default: 0] += 1
        }
    }

    public func lost(source: Int, count: UInt64) {
        let name = HubbleEnums.name(source, HubbleEnums.lostEventSources)
        lock.lock()
        lost[name, default: 0] += count
        lock.unlock()
    }

    /// The Prometheus text exposition of every series, in a stable order.
    public func render() -> String {
        lock.lock()
        defer { lock.unlock() }
        var out = ""
        func family(_ name: String, _ help: String, _ labels: [String], _ series: [[String]: UInt64]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for (values, count) in series.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                let l = zip(labels, values).map { "\($0)=\"\(Self.escape($1))\"" }.joined(separator: ",")
                out += "\(name){\(l)} \(count)\n"
            }
        }
        family("hubble_drop_total", "Number of drops", ["reason", "protocol"], drops)
        family("hubble_flows_processed_total", "Total number of flows processed", ["protocol", "type", "subtype", "verdict"], flows)
        family("hubble_lost_events_total", "Number of lost events", ["source"], Dictionary(uniqueKeysWithValues: lost.map { ([$0.key], $0.value) }))
        family("hubble_policy_verdicts_total", "Total number of Cilium network policy verdicts", ["direction", "match", "action"], verdicts)
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
