// Reading Hubble's JSON (protojson) flows: the lines `hubble observe -o json` prints
// (`GetFlowsResponse`: `{"flow": {...}, "node_name": ..., "time": ...}` or `{"lost_events": ...}`)
// and bare `Flow` objects. Proto field names and lowerCamel JSON names are both accepted, enums
// by name or number, 64-bit integers as numbers or strings, as protojson reads them.
//
// Two readers: FlowJSONByteDecoder reads a line in one pass; the mapping here walks a JSONValue
// tree. The tree mapping is the reference: the byte decoder follows its rules, gives up on any
// line it would refuse, and the line is then read here, so errors are this mapping's.

public struct FlowDecodingError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

public enum FlowJSON {
    /// One line of a flows file.
    public static func record(_ line: String) throws -> FlowRecord { try record(bytes: Array(line.utf8)) }

    public static func record(bytes: [UInt8]) throws -> FlowRecord {
        if let r = bytes.withUnsafeBufferPointer({ FlowJSONByteDecoder.record($0) }) { return r }
        return try treeRecord(bytes: bytes)
    }

    /// One line, in place (no copy when it reads well); `strings` keeps the strings that lines
    /// repeat, for a reader of many.
    public static func record(utf8 line: UnsafeBufferPointer<UInt8>, strings: FlowJSONStringCache? = nil) throws -> FlowRecord {
        if let r = FlowJSONByteDecoder.record(line, strings: strings) { return r }
        return try treeRecord(bytes: Array(line))
    }

    /// The line through a JSONValue tree: the reference reading, and the errors.
    public static func treeRecord(bytes: [UInt8]) throws -> FlowRecord {
        let v = try JSONReader.parse(bytes: bytes)
        guard case .object = v else { throw FlowDecodingError(description: "a flow record must be a JSON object") }
        let node = v["node_name"]?.string ?? v["nodeName"]?.string ?? ""
        let time = try (v["time"]).map(timestamp)
        if let lost = v["lost_events"] ?? v["lostEvents"] {
            let source = try enumValue(lost["source"], HubbleEnums.lostEventSources, "source") ?? 0
            let cpu = try (lost["cpu"]?["value"] ?? lost["cpu"]).flatMap(\.int).map { try int32($0, "cpu") }
            return .lostEvents(source: source, count: (lost["num_events_lost"] ?? lost["numEventsLost"])?.uint64 ?? 0, cpu: cpu, nodeName: node, time: time)
        }
        if let f = v["flow"] { return .flow(try flow(f), nodeName: node, time: time) }
        // A bare Flow (exporter files written without the response envelope).
        let f = try flow(v)
        return .flow(f, nodeName: f.nodeName, time: f.time)
    }

    static func field(_ o: JSONValue, _ proto: String) -> JSONValue? {
        if let v = o[proto] { return v }
        // The lowerCamel JSON name (source_port → sourcePort), from a table made once.
        guard let camel = camelNames[proto] else { return nil }
        return o[camel]
    }

    static let camelNames: [String: String] = {
        let names = ["drop_reason", "auth_type", "source_xlated", "source_port", "destination_port", "node_name", "node_labels", "source_names",
                     "destination_names", "latency_ns", "observation_source", "event_type", "sub_type", "source_service", "destination_service",
                     "traffic_direction", "policy_match_type", "trace_observation_point", "trace_reason", "drop_reason_desc", "is_reply",
                     "debug_capture_point", "proxy_port", "trace_context", "trace_id", "sock_xlate_point", "socket_cookie", "cgroup_id",
                     "ip_trace_id", "egress_allowed_by", "ingress_allowed_by", "egress_denied_by", "ingress_denied_by", "cluster_name",
                     "pod_name", "lost_events", "num_events_lost"]
        var m: [String: String] = [:]
        for n in names {
            var out = ""
            var upper = false
            for c in n {
                if c == "_" { upper = true; continue }
                out.append(upper ? Character(c.uppercased()) : c)
                upper = false
            }
            m[n] = out
        }
        return m
    }()

    static func enumValue(_ v: JSONValue?, _ names: [String], _ field: String) throws -> Int? {
        guard let v else { return nil }
        switch v {
        case let .string(s):
            if let i = names.firstIndex(of: s) { return i }
            throw FlowDecodingError(description: "invalid value for enum field \(field): \"\(s)\"")
        case .number: return v.int
        case .null: return nil
        default: throw FlowDecodingError(description: "invalid value for enum field \(field)")
        }
    }

    static func enumValue(_ v: JSONValue?, _ codes: [String: Int], _ field: String) throws -> Int? {
        guard let v else { return nil }
        switch v {
        case let .string(s):
            if let i = codes[s] { return i }
            throw FlowDecodingError(description: "invalid value for enum field \(field): \"\(s)\"")
        case .number: return v.int
        case .null: return nil
        default: throw FlowDecodingError(description: "invalid value for enum field \(field)")
        }
    }

    static func strings(_ v: JSONValue?) -> [String] { v?.array?.compactMap(\.string) ?? [] }

    /// A 32-bit field's integer (absent or not an integer: 0), which must fit.
    static func uint32(_ v: Int?, _ field: String) throws -> UInt32 {
        guard let v else { return 0 }
        guard let u = UInt32(exactly: v) else { throw FlowDecodingError(description: "invalid value for uint32 field \(field): \(v)") }
        return u
    }

    static func int32(_ v: Int, _ field: String) throws -> Int32 {
        guard let i = Int32(exactly: v) else { throw FlowDecodingError(description: "invalid value for int32 field \(field): \(v)") }
        return i
    }

    public static func flow(_ o: JSONValue) throws -> Flow {
        var f = Flow()
        if let t = field(o, "time") { f.time = try timestamp(t) }
        f.uuid = field(o, "uuid")?.string ?? ""
        f.verdict = try enumValue(field(o, "verdict"), HubbleEnums.verdicts, "verdict") ?? 0
        f.dropReason = try uint32(field(o, "drop_reason")?.int, "drop_reason")
        f.authType = try enumValue(field(o, "auth_type"), HubbleEnums.authTypes, "auth_type") ?? 0
        if let ip = field(o, "IP") ?? o["ip"] {
            var x = FlowIP()
            x.source = field(ip, "source")?.string ?? ""
            x.destination = field(ip, "destination")?.string ?? ""
            x.ipVersion = try enumValue(field(ip, "ipVersion") ?? ip["ip_version"], HubbleEnums.ipVersions, "ipVersion") ?? 0
            x.encrypted = field(ip, "encrypted")?.bool ?? false
            x.sourceXlated = field(ip, "source_xlated")?.string ?? ""
            f.ip = x
        }
        if let l4 = field(o, "l4") {
            func ports(_ p: JSONValue) throws -> (UInt32, UInt32) {
                (try uint32(field(p, "source_port")?.int, "source_port"), try uint32(field(p, "destination_port")?.int, "destination_port"))
            }
            if let t = l4["TCP"] {
                let (s, d) = try ports(t)
                var flags: TCPFlags?
                if let fl = field(t, "flags") {
                    var x = TCPFlags()
                    for (name, path) in TCPFlags.fields { x[keyPath: path] = fl[name]?.bool ?? false }
                    flags = x
                }
                f.l4 = .tcp(sourcePort: s, destinationPort: d, flags: flags)
            } else if let u = l4["UDP"] {
                let (s, d) = try ports(u)
                f.l4 = .udp(sourcePort: s, destinationPort: d)
            } else if let u = l4["SCTP"] {
                let (s, d) = try ports(u)
                f.l4 = .sctp(sourcePort: s, destinationPort: d)
            } else if let i = l4["ICMPv4"] {
                f.l4 = .icmpv4(type: try uint32(i["type"]?.int, "type"), code: try uint32(i["code"]?.int, "code"))
            } else if let i = l4["ICMPv6"] {
                f.l4 = .icmpv6(type: try uint32(i["type"]?.int, "type"), code: try uint32(i["code"]?.int, "code"))
            }
        }
        f.source = try field(o, "source").map(endpoint)
        f.destination = try field(o, "destination").map(endpoint)
        f.type = try enumValue(o["Type"] ?? o["type"], HubbleEnums.flowTypes, "Type") ?? 0
        f.nodeName = field(o, "node_name")?.string ?? ""
        f.nodeLabels = strings(field(o, "node_labels"))
        f.sourceNames = strings(field(o, "source_names"))
        f.destinationNames = strings(field(o, "destination_names"))
        if let l7 = field(o, "l7") {
            var x = FlowL7()
            x.type = try enumValue(l7["type"], HubbleEnums.l7FlowTypes, "type") ?? 0
            x.latencyNs = field(l7, "latency_ns")?.uint64 ?? 0
            if let d = l7["dns"] {
                var r = DNSRecord()
                r.query = d["query"]?.string ?? ""
                r.ips = strings(d["ips"])
                r.ttl = try uint32(d["ttl"]?.int, "ttl")
                r.cnames = strings(d["cnames"])
                r.observationSource = field(d, "observation_source")?.string ?? ""
                r.rcode = try uint32(d["rcode"]?.int, "rcode")
                r.qtypes = strings(d["qtypes"])
                r.rrtypes = strings(d["rrtypes"])
                x.dns = r
            }
            if let h = l7["http"] {
                var r = HTTPRecord()
                r.code = try uint32(h["code"]?.int, "code")
                r.method = h["method"]?.string ?? ""
                r.url = h["url"]?.string ?? ""
                r.protocolName = h["protocol"]?.string ?? ""
                r.headers = (h["headers"]?.array ?? []).map { ($0["key"]?.string ?? "", $0["value"]?.string ?? "") }
                x.http = r
            }
            f.l7 = x
        }
        if let e = field(o, "event_type") {
            f.eventType = (try int32(e["type"]?.int ?? 0, "type"), try int32(field(e, "sub_type")?.int ?? 0, "sub_type"))
        }
        f.sourceService = field(o, "source_service").map { FlowService(name: $0["name"]?.string ?? "", namespace: $0["namespace"]?.string ?? "") }
        f.destinationService = field(o, "destination_service").map { FlowService(name: $0["name"]?.string ?? "", namespace: $0["namespace"]?.string ?? "") }
        f.trafficDirection = try enumValue(field(o, "traffic_direction"), HubbleEnums.trafficDirections, "traffic_direction") ?? 0
        f.policyMatchType = try uint32(field(o, "policy_match_type")?.int, "policy_match_type")
        f.traceObservationPoint = try enumValue(field(o, "trace_observation_point"), HubbleEnums.observationPointCodes, "trace_observation_point") ?? 0
        f.traceReason = try enumValue(field(o, "trace_reason"), HubbleEnums.traceReasons, "trace_reason") ?? 0
        if let d = field(o, "drop_reason_desc") {
            switch d {
            case let .string(s):
                guard let c = HubbleEnums.dropReasonCodes[s] ?? (s == "DROP_REASON_UNKNOWN" ? 0 : nil) else {
                    throw FlowDecodingError(description: "invalid value for enum field drop_reason_desc: \"\(s)\"")
                }
                f.dropReasonDesc = c
            default: f.dropReasonDesc = d.int ?? 0
            }
        }
        if let r = field(o, "is_reply") { f.isReply = r.bool ?? r["value"]?.bool }
        f.debugCapturePoint = try enumValue(field(o, "debug_capture_point"), HubbleEnums.debugCapturePointCodes, "debug_capture_point") ?? 0
        if let i = field(o, "interface") { f.interface = (try uint32(i["index"]?.int, "index"), i["name"]?.string ?? "") }
        f.proxyPort = try uint32(field(o, "proxy_port")?.int, "proxy_port")
        f.traceID = field(o, "trace_context")?["parent"]?["trace_id"]?.string ?? ""
        f.sockXlatePoint = try enumValue(field(o, "sock_xlate_point"), HubbleEnums.sockXlatePoints, "sock_xlate_point") ?? 0
        f.socketCookie = field(o, "socket_cookie")?.uint64 ?? 0
        f.cgroupID = field(o, "cgroup_id")?.uint64 ?? 0
        f.ipTraceID = (field(o, "ip_trace_id")?["trace_id"] ?? field(o, "ip_trace_id")?["traceId"])?.uint64 ?? 0
        f.summary = o["Summary"]?.string ?? o["summary"]?.string ?? ""
        f.egressAllowedBy = policies(field(o, "egress_allowed_by"))
        f.ingressAllowedBy = policies(field(o, "ingress_allowed_by"))
        f.egressDeniedBy = policies(field(o, "egress_denied_by"))
        f.ingressDeniedBy = policies(field(o, "ingress_denied_by"))
        return f
    }

    static func endpoint(_ o: JSONValue) throws -> FlowEndpoint {
        var e = FlowEndpoint()
        e.id = try uint32(o["ID"]?.int ?? o["id"]?.int, "ID")
        e.identity = try uint32(o["identity"]?.int, "identity")
        e.clusterName = field(o, "cluster_name")?.string ?? ""
        e.namespace = o["namespace"]?.string ?? ""
        e.labels = strings(o["labels"])
        e.podName = field(o, "pod_name")?.string ?? ""
        e.workloads = (o["workloads"]?.array ?? []).map { Workload(name: $0["name"]?.string ?? "", kind: $0["kind"]?.string ?? "") }
        return e
    }

    static func policies(_ v: JSONValue?) -> [FlowPolicy] {
        (v?.array ?? []).map { p in
            var x = FlowPolicy()
            x.name = p["name"]?.string ?? ""
            x.namespace = p["namespace"]?.string ?? ""
            x.labels = strings(p["labels"])
            x.revision = p["revision"]?.uint64 ?? 0
            x.kind = p["kind"]?.string ?? ""
            return x
        }
    }

    /// RFC 3339 (`2024-05-01T12:00:01.001456789Z`, any offset), as protojson writes Timestamps.
    public static func timestamp(_ v: JSONValue) throws -> FlowTime {
        guard let s = v.string, let t = parseRFC3339(s) else { throw FlowDecodingError(description: "invalid timestamp \(v)") }
        return t
    }

    public static func parseRFC3339(_ s: String) -> FlowTime? {
        Array(s.utf8).withUnsafeBufferPointer { parseRFC3339($0) }
    }

    static func parseRFC3339(_ b: UnsafeBufferPointer<UInt8>) -> FlowTime? {
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= b.count else { return nil }
            var v = 0
            for k in from..<(from + n) {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                v = v * 10 + Int(b[k] - 0x30)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), b[4] == 0x2D, let mo = num(5, 2), b[7] == 0x2D, let d = num(8, 2),
              b[10] == 0x54 || b[10] == 0x74, let h = num(11, 2), b[13] == 0x3A, let mi = num(14, 2), b[16] == 0x3A, let sec = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 61 else { return nil }
        var i = 19
        var nanos = 0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                if digits < 9 { nanos = nanos * 10 + Int(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { nanos *= 10 }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 0x5A || b[i] == 0x7A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = num(i + 4, 2) else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == 0x2B ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(y, mo, d)
        let seconds = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + sec) - Int64(offset)
        return FlowTime(seconds: seconds, nanos: Int32(nanos))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
