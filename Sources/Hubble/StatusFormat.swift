// `hubble status` and `hubble list nodes` as hubble prints them (reference §6.4, §6.5), from the
// relay's ServerStatus and GetNodes answers.

public struct HubbleServerStatus: Sendable {
    public var numFlows: UInt64 = 0
    public var maxFlows: UInt64 = 0
    public var seenFlows: UInt64 = 0
    public var uptimeNs: UInt64 = 0
    public var flowsRate: Double = 0
    public var numConnectedNodes: UInt32?
    public var numUnavailableNodes: UInt32?
    public var unavailableNodes: [String] = []
    public var version = ""
    public init() {}
}

public struct HubbleNode: Sendable {
    /// relay.NodeState: 1 connected, 2 unavailable, 3 gone, 4 error.
    public var state: Int = 0
    public var name = ""
    public var version = ""
    public var address = ""
    public var tls: Bool?
    public var uptimeNs: UInt64?
    public var numFlows: UInt64?
    public var maxFlows: UInt64?
    public var seenFlows: UInt64?
    public init() {}
}

public enum StatusFormat {
    /// `1,234,567`.
    static func thousands(_ v: UInt64) -> String {
        let s = String(v)
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }

    static func fixed2(_ v: Double) -> String {
        let r = (v * 100).rounded()
        let whole = Int(r / 100)
        let frac = Int(abs(r).truncatingRemainder(dividingBy: 100))
        return "\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }

    /// `hubble status` (compact), after a successful health check of `target`.
    public static func status(_ s: HubbleServerStatus, target: String) -> String {
        var out = "Healthcheck (via \(target)): Ok\n"
        out += "Current/Max Flows: \(thousands(s.numFlows))/\(thousands(s.maxFlows))"
        if s.maxFlows > 0 { out += " (\(fixed2(Double(s.numFlows) / Double(s.maxFlows) * 100))%)" }
        out += "\n"
        if s.flowsRate > 0 {
            out += "Flows/s: \(fixed2(s.flowsRate))\n"
        } else if s.uptimeNs > 0 {
            out += "Flows/s: \(fixed2(Double(s.seenFlows) / (Double(s.uptimeNs) / 1e9)))\n"
        } else {
            out += "Flows/s: N/A\n"
        }
        if let c = s.numConnectedNodes {
            out += "Connected Nodes: \(c)"
            if let u = s.numUnavailableNodes { out += "/\(c + u)" }
            out += "\n"
        }
        if let u = s.numUnavailableNodes, u > 0 {
            out += "Unavailable Nodes: \(u)\n"
            for n in s.unavailableNodes.sorted() { out += "  - \(n)\n" }
            if s.unavailableNodes.count < Int(u) { out += "  - and \(Int(u) - s.unavailableNodes.count) more...\n" }
        }
        return out
    }

    /// Go's `Duration.String()` of whole seconds: `1h2m3s`, `4m0s`, `12s`.
    static func duration(seconds: UInt64) -> String {
        let h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60
        if h > 0 { return "\(h)h\(m)m\(s)s" }
        if m > 0 { return "\(m)m\(s)s" }
        return "\(s)s"
    }

    /// `hubble list nodes` (table, or wide with version, address and TLS).
    public static func nodes(_ nodes: [HubbleNode], wide: Bool) -> String {
        let states = ["Unknown", "Connected", "Unavailable", "Gone", "Error"]
        var rows: [[String]] = [["NAME", "STATUS", "AGE", "FLOWS/S", "CURRENT/MAX-FLOWS"] + (wide ? ["VERSION", "ADDRESS", "TLS"] : [])]
        for n in nodes.sorted(by: { $0.name < $1.name }) {
            let age = n.uptimeNs.map { duration(seconds: ($0 + 500_000_000) / 1_000_000_000) } ?? "N/A"
            var rate = "N/A"
            if let seen = n.seenFlows, let up = n.uptimeNs, up > 0 { rate = fixed2(Double(seen) / (Double(up) / 1e9)) }
            var flows = "N/A"
            if let num = n.numFlows, let max = n.maxFlows, max > 0 {
                let pct = fixed2(Double(num) / Double(max) * 100)
                flows = "\(num)/\(max) (\(String(repeating: " ", count: Swift.max(0, 6 - pct.count)))\(pct)%)"
            }
            var row = [n.name, n.state >= 0 && n.state < states.count ? states[n.state] : "Unknown", age, rate, flows]
            if wide { row += [n.version.isEmpty ? "N/A" : n.version, n.address.isEmpty ? "N/A" : n.address, n.tls.map { $0 ? "Enabled" : "Disabled" } ?? "N/A"] }
            rows.append(row)
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() where i < r.count - 1 { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] + 3 - c.count) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
