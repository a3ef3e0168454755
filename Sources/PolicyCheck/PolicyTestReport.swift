// Output of `porin policy test` / `verdict`: an aligned table for people, one JSON object per
// query for programs (format in the README).
import PolicyAPI
import PolicyEngine

public enum PolicyReport {
    /// One query's JSON object (the documented format), written straight into bytes: reports of
    /// thousands of queries are the hot path of `porin policy test -o json`.
    public static func writeJSON(_ r: QueryResult, into out: inout [UInt8]) {
        func key(_ k: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            k.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func string(_ s: String) { JSONValue.quote(s, into: &out) }
        func side(_ sr: SideResult) {
            out.append(UInt8(ascii: "{"))
            key("endpoint", first: true); string(sr.endpoint)
            key("verdict"); string(sr.verdict.allowed ? "allowed" : "denied")
            key("matchType"); string(sr.verdict.matchType.description)
            key("redirect"); out.append(contentsOf: (sr.verdict.redirect != nil ? "true" : "false").utf8)
            key("policies"); out.append(UInt8(ascii: "["))
            for (i, p) in sr.verdict.policies.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(p.description)
            }
            out.append(contentsOf: [UInt8(ascii: "]"), UInt8(ascii: "}")])
        }
        out.append(UInt8(ascii: "{"))
        key("name", first: true); string(r.query.name)
        key("from"); string(r.query.from)
        key("to"); string(r.query.to)
        key("port"); out.append(contentsOf: String(r.query.port).utf8)
        key("protocol"); string(r.query.proto)
        key("verdict"); string(r.allowed ? "allowed" : "denied")
        if let d = r.deniedAt { key("deniedAt"); string(d.rawValue) }
        if let e = r.egress { key("egress"); side(e) }
        if let i = r.ingress { key("ingress"); side(i) }
        if let e = r.query.expect {
            key("expect"); string(e.rawValue)
            key("ok"); out.append(contentsOf: ((r.ok ?? false) ? "true" : "false").utf8)
        }
        out.append(UInt8(ascii: "}"))
    }

    public static func jsonText(_ r: QueryResult) -> String {
        var out: [UInt8] = []
        writeJSON(r, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func sideText(_ s: SideResult?) -> String {
        guard let s else { return "-" }
        let v = s.verdict
        var t = "\(v.allowed ? "allowed" : "denied") (\(v.matchType)"
        if v.redirect != nil { t += ", redirect \(v.redirect!)" }
        t += ")"
        if !v.policies.isEmpty { t += " " + v.policies.map(\.description).joined(separator: ",") }
        else if let b = v.entry?.builtIn { t += " " + b }
        return t
    }

    public static func table(_ results: [QueryResult]) -> String {
        var rows: [[String]] = [["QUERY", "FROM", "TO", "PORT", "VERDICT", "EGRESS", "INGRESS", "EXPECT"]]
        for r in results {
            let verdict = r.allowed ? "allowed" : "denied@\(r.deniedAt!.rawValue)"
            var expect = "-"
            if let e = r.query.expect { expect = r.ok == true ? "\(e.rawValue) ok" : "\(e.rawValue) FAIL" }
            rows.append([r.query.name, r.query.from, r.query.to, "\(r.query.port)/\(r.query.proto)", verdict,
                         sideText(r.egress), sideText(r.ingress), expect])
        }
        return alignedTable(rows)
    }

    public static func summary(_ results: [QueryResult]) -> String {
        let withExpect = results.filter { $0.query.expect != nil }
        let passed = withExpect.filter { $0.ok == true }.count
        return "\(passed) passed, \(withExpect.count - passed) failed"
    }

    public static func alignedTable(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 3) }.joined()
        }.joined(separator: "\n") + "\n"
    }

    /// `porin policy map`: the endpoint's map entries, like `cilium bpf policy get`.
    public static func mapTable(engine: PolicyEngine, endpoint: String) -> String? {
        guard let sp = engine.subjectPolicy(ofEndpoint: endpoint) else { return nil }
        var rows: [[String]] = [["POLICY", "DIRECTION", "IDENTITY", "LABELS", "PORT/PROTO", "PROXY", "SOURCE"]]
        for dir in TrafficDirection.allCases {
            for e in sp.direction(dir).table.allEntries {
                rows.append(mapRow(engine: engine, dir: dir, e))
            }
        }
        var out = "Endpoint \(endpoint) (identity \(sp.key.identity))\n"
        for dir in TrafficDirection.allCases {
            let dp = sp.direction(dir)
            let state = !dp.enforced ? "not enforced" : dp.defaultDeny ? "default deny" : "enforced, default allow"
            out += "  \(dir == .ingress ? "Ingress" : "Egress"): \(state)"
            if !dp.defaultDenyPolicies.isEmpty { out += " by " + Array(Set(dp.defaultDenyPolicies)).sorted().map(\.description).joined(separator: ", ") }
            out += "\n"
        }
        for e in sp.errors { out += "  error: \(e)\n" }
        return out + alignedTable(rows)
    }

    static func mapRow(engine: PolicyEngine, dir: TrafficDirection, _ e: PolicyMapEntry) -> [String] {
        let k = e.key
        let labels = k.identity == 0 ? "ANY" : (engine.labels(of: k.identity)?.description ?? "?")
        let port = k.proto == 0 ? "ANY" : "\(k.portText)/\(k.protocolName)"
        let source = e.entry.policies.isEmpty ? (e.entry.builtIn ?? "-") : e.entry.policies.map(\.description).joined(separator: ",")
        return [e.entry.deny ? "Deny" : "Allow", dir == .ingress ? "Ingress" : "Egress", k.identity == 0 ? "ANY" : String(k.identity),
                labels, port, e.entry.redirect.map { "\($0)" } ?? "NONE", source]
    }

    public static func mapJSON(engine: PolicyEngine, endpoint: String) -> JSONValue? {
        guard let sp = engine.subjectPolicy(ofEndpoint: endpoint) else { return nil }
        var entries: [JSONValue] = []
        for dir in TrafficDirection.allCases {
            for e in sp.direction(dir).table.allEntries {
                let k = e.key
                entries.append(.object([
                    ("direction", .string(dir.rawValue)),
                    ("identity", .int(Int(k.identity))),
                    ("labels", .array((k.identity == 0 ? [] : engine.labels(of: k.identity)?.labels ?? []).map { .string($0.description) })),
                    ("protocol", .string(k.protocolName)),
                    ("port", k.portPrefixLength == 0 ? .null : .int(Int(k.port))),
                    ("portPrefixLength", .int(Int(k.portPrefixLength))),
                    ("verdict", .string(e.entry.deny ? "deny" : "allow")),
                    ("redirect", e.entry.redirect.map { .string("\($0)") } ?? .null),
                    ("policies", .array(e.entry.policies.map { .string($0.description) })),
                    ("builtIn", e.entry.builtIn.map { .string($0) } ?? .null),
                ]))
            }
        }
        func dirState(_ d: TrafficDirection) -> JSONValue {
            let dp = sp.direction(d)
            return .object([("enforced", .bool(dp.enforced)), ("defaultDeny", .bool(dp.defaultDeny)),
                            ("defaultDenyPolicies", .array(Array(Set(dp.defaultDenyPolicies)).sorted().map { .string($0.description) }))])
        }
        return .object([("endpoint", .string(endpoint)), ("identity", .int(Int(sp.key.identity))),
                        ("ingress", dirState(.ingress)), ("egress", dirState(.egress)), ("entries", .array(entries))])
    }
}
