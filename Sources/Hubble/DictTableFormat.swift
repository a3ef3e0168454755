// hubble's `-o dict` and `-o table` outputs (reference §5.2, §5.3): the compact line's cells
// without identities or reply swapping, one key per line or aligned in columns.

public enum DictFormat {
    /// One record; `first` is false for every record after the first (a separator line precedes it).
    public static func record(_ r: FlowRecord, _ o: CompactOptions, first: Bool) -> String {
        let cells = TableFormat.cells(r, o)
        var s = first ? "" : "------------\n"
        s += "  TIMESTAMP: \(cells.time)\n"
        if o.printNodeName { s += "       NODE: \(cells.node)\n" }
        s += "     SOURCE: \(cells.source)\nDESTINATION: \(cells.destination)\n       TYPE: \(cells.type)\n    VERDICT: \(cells.verdict)\n    SUMMARY: \(cells.summary)\n"
        return s
    }
}

/// Rows are collected and aligned when the output ends, as Go's tabwriter does (minimum width 2,
/// padding 3; the last column is not padded).
public struct TableFormat: Sendable {
    public let options: CompactOptions
    private var rows: [[String]] = []

    public init(options: CompactOptions) {
        self.options = options
        rows.append(["TIMESTAMP"] + (options.printNodeName ? ["NODE"] : []) + ["SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"])
    }

    public mutating func add(_ r: FlowRecord) {
        let c = Self.cells(r, options)
        rows.append([c.time] + (options.printNodeName ? [c.node] : []) + [c.source, c.destination, c.type, c.verdict, c.summary])
    }

    public func render() -> String {
        var widths = [Int](repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() where i < r.count - 1 { widths[i] = max(widths[i], max(2, c.count)) } }
        var out = ""
        for r in rows {
            for (i, c) in r.enumerated() {
                out += c
                if i < r.count - 1 { out += String(repeating: " ", count: widths[i] + 3 - c.count) }
            }
            out += "\n"
        }
        return out
    }

    static func cells(_ r: FlowRecord, _ o: CompactOptions) -> (time: String, node: String, source: String, destination: String, type: String, verdict: String, summary: String) {
        switch r {
        case let .flow(f, node, time):
            let t = (f.time ?? time).map { o.timeFormat.format($0) } ?? "N/A"
            return (t, node.isEmpty ? f.nodeName : node, CompactFormat.host(f, source: true, o), CompactFormat.host(f, source: false, o),
                    CompactFormat.flowType(f), CompactFormat.verdict(f, o), CompactFormat.summary(f))
        case let .lostEvents(source, count, cpu, node, time):
            let name = HubbleEnums.name(source, HubbleEnums.lostEventSources)
            return (time.map { o.timeFormat.format($0) } ?? "N/A", node, name, "-", "EVENTS LOST", "-", "CPU(\(cpu ?? 0)) - \(count)")
        }
    }
}
