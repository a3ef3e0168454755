// The single-pass flow decoder against the tree mapping it replaces on the hot path: every golden
// flow, the same flows respelled (lowerCamel names, enums as numbers, 64-bit integers as
// strings, indented), the lookup rules (duplicates, alternative spellings, wrong types), and
// malformed lines (every truncation of a golden line, bad escapes, deep nesting, out-of-range
// numbers, random mutations), which must give the tree's errors and never crash.
import Foundation
import Testing

@testable import Hubble

@Suite("Single-pass flow decoding")
struct FlowJSONByteDecoderTests {
    static var goldenLines: [String] {
        var lines = ((try? Golden.text("flows.jsonl")) ?? "").split(separator: "\n").map(String.init)
        for name in Golden.cases {
            if let t = try? Golden.text("cases/\(name).input.json") { lines.append(t.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return lines
    }

    /// Everything a record holds (Flow's == leaves some fields out), or the error's text.
    static func outcome(_ r: () throws -> FlowRecord) -> String {
        do {
            let record = try r()
            return FlowJSONWriter.record(record) + "\n" + String(describing: record)
        } catch {
            return "error: \(error)"
        }
    }

    static func fast(_ line: String) -> FlowRecord? { Array(line.utf8).withUnsafeBufferPointer { FlowJSONByteDecoder.record($0) } }

    /// The byte decoder either reads the line exactly as the tree does or leaves it to the tree;
    /// FlowJSON.record (which combines them) always agrees with the tree, errors included.
    static func expectSame(_ line: String, fastReads: Bool? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let tree = outcome { try FlowJSON.treeRecord(bytes: Array(line.utf8)) }
        if let f = fast(line) {
            #expect(outcome { f } == tree, "\(line)", sourceLocation: sourceLocation)
        }
        if let fastReads { #expect((fast(line) != nil) == fastReads, "\(line)", sourceLocation: sourceLocation) }
        #expect(outcome { try FlowJSON.record(line) } == tree, "\(line)", sourceLocation: sourceLocation)
    }

    @Test("every golden flow reads as the tree reads it, without falling back")
    func golden() throws {
        let lines = Self.goldenLines
        #expect(lines.count >= 30)
        for line in lines { Self.expectSame(line, fastReads: true) }
    }

    /// The golden flows with their names in lowerCamel, enums as numbers, integers as strings.
    @Test("golden flows respelled: lowerCamel names, enum numbers, integers as strings, indented")
    func respelled() throws {
        func camel(_ v: JSONValue) -> JSONValue {
            switch v {
            case let .object(pairs): return .object(pairs.map { (FlowJSON.camelNames[$0.0] ?? $0.0, camel($0.1)) })
            case let .array(items): return .array(items.map(camel))
            default: return v
            }
        }
        let enums: [String: [String]] = ["verdict": HubbleEnums.verdicts, "Type": HubbleEnums.flowTypes, "traffic_direction": HubbleEnums.trafficDirections,
                                         "ipVersion": HubbleEnums.ipVersions, "trace_reason": HubbleEnums.traceReasons]
        func numbers(_ v: JSONValue) -> JSONValue {
            switch v {
            case let .object(pairs):
                return .object(pairs.map { k, x in
                    if case let .string(s) = x, let i = enums[k]?.firstIndex(of: s) { return (k, .number(String(i))) }
                    if case let .string(s) = x, k == "trace_observation_point", let c = HubbleEnums.observationPointCodes[s] { return (k, .number(String(c))) }
                    if case let .number(n) = x { return (k, .string(n)) }
                    return (k, numbers(x))
                })
            case let .array(items): return .array(items.map(numbers))
            default: return v
            }
        }
        for line in Self.goldenLines {
            let v = try JSONReader.parse(line)
            Self.expectSame(camel(v).indented(), fastReads: true)
            Self.expectSame(numbers(v).indented(), fastReads: true)
            // A bare Flow, as the exporter writes them.
            if let f = v["flow"] { Self.expectSame(f.indented(), fastReads: true) }
        }
    }

    @Test("a shared string cache gives the same records, line after line")
    func stringCache() throws {
        let strings = FlowJSONStringCache()
        var lines = Self.goldenLines
        // Same lengths and ends, other middles; invalid UTF-8 (made afresh each time).
        lines.append(#"{"flow":{"source_names":["aaaaaaaaaaaaXaaaaaaaaaaaa","aaaaaaaaaaaaYaaaaaaaaaaaa","aaaaaaaaaaaaXaaaaaaaaaaaa"]}}"#)
        for _ in 0..<3 {
            for line in lines + lines.reversed() {
                let tree = Self.outcome { try FlowJSON.treeRecord(bytes: Array(line.utf8)) }
                #expect(Self.outcome { try Array(line.utf8).withUnsafeBufferPointer { try FlowJSON.record(utf8: $0, strings: strings) } } == tree)
            }
        }
        var bad = Array(#"{"flow":{"uuid":"0123456789abcdefXY"}}"#.utf8)
        bad[28] = 0xFF
        let tree = Self.outcome { try FlowJSON.treeRecord(bytes: bad) }
        for _ in 0..<2 { #expect(Self.outcome { try bad.withUnsafeBufferPointer { try FlowJSON.record(utf8: $0, strings: strings) } } == tree) }
    }

    @Test("each TCP flag name is read")
    func tcpFlags() {
        for (name, path) in TCPFlags.fields {
            let line = #"{"flow":{"l4":{"TCP":{"flags":{"\#(name)":true}}}}}"#
            Self.expectSame(line, fastReads: true)
            guard case let .flow(f, _, _)? = Self.fast(line), case let .tcp(_, _, flags?)? = f.l4 else {
                Issue.record("no TCP flags in \(line)")
                continue
            }
            #expect(flags[keyPath: path])
        }
    }

    @Test("lookup rules: proto names win, first of equal names, wrong types, alternative spellings")
    func lookupRules() {
        let lines = [
            #"{"flow":{"sourceNames":["a"],"source_names":["b"]}}"#,
            #"{"flow":{"source_names":["b"],"sourceNames":["a"]}}"#,
            #"{"flow":{"uuid":"a","uuid":"b"}}"#,
            #"{"flow":{"uuid":5,"uuid":"b"}}"#,
            #"{"flow":{"ip":{"source":"1.1.1.1"},"IP":{"destination":"2.2.2.2"}}}"#,
            #"{"flow":{"IP":{"source":"1.1.1.1"},"ip":{"destination":"2.2.2.2"}}}"#,
            #"{"flow":{"IP":null,"ip":{"destination":"2.2.2.2"}}}"#,
            #"{"flow":{"IP":[1,2],"l4":5,"source":"x","l7":true,"event_type":7,"interface":"i","source_service":[]}}"#,
            #"{"flow":{"type":"L7","Type":"SOCK"}}"#,
            #"{"flow":{"Type":null,"type":"L7"}}"#,
            #"{"flow":{"IP":{"ip_version":"IPv6","ipVersion":"IPv4"}}}"#,
            #"{"flow":{"IP":{"ip_version":2,"encrypted":true,"sourceXlated":"9.9.9.9"}}}"#,
            #"{"flow":{"source":{"ID":"x","id":7}}}"#,
            #"{"flow":{"source":{"ID":"12","id":7,"identity":"3"}}}"#,
            #"{"flow":{"source":{"id":1.0,"identity":2e2,"clusterName":"c","podName":"p","labels":["a",1,null,"b"]}}}"#,
            #"{"flow":{"source":{"workloads":[{"name":"n","kind":"k"},5,{"kind":"only"}]}}}"#,
            #"{"flow":{"Summary":5,"summary":"lower"}}"#,
            #"{"flow":{"summary":"lower","Summary":"upper"}}"#,
            #"{"flow":{"l4":{"UDP":{"sourcePort":53},"TCP":{"source_port":1,"destinationPort":2}}}}"#,
            #"{"flow":{"l4":{"ICMPv6":{"type":1},"ICMPv4":{"type":8,"code":"0"}}}}"#,
            #"{"flow":{"l4":{"UDP":{"source_port":53,"flags":{"SYN":true}}}}}"#,
            #"{"flow":{"l4":{"TCP":7}}}"#,
            #"{"flow":{"l4":{"TCP":{"flags":null}}}}"#,
            #"{"flow":{"l4":{"SCTP":{"source_port":1}}}}"#,
            #"{"flow":{"is_reply":{"value":true}}}"#,
            #"{"flow":{"isReply":{"other":1}}}"#,
            #"{"flow":{"is_reply":null}}"#,
            #"{"flow":{"is_reply":"true"}}"#,
            #"{"flow":{"drop_reason_desc":"DROP_REASON_UNKNOWN"}}"#,
            #"{"flow":{"drop_reason_desc":"POLICY_DENIED","dropReasonDesc":"NOPE"}}"#,
            #"{"flow":{"drop_reason_desc":true}}"#,
            #"{"flow":{"dropReasonDesc":133}}"#,
            #"{"flow":{"verdict":2.0,"auth_type":"SPIRE","trace_reason":"NEW","debug_capture_point":"DBG_CAPTURE_DELIVERY","sock_xlate_point":3}}"#,
            #"{"flow":{"verdict":1.5}}"#,
            #"{"flow":{"verdict":null}}"#,
            #"{"flow":{"traceContext":{"parent":{"trace_id":"abc"}}}}"#,
            #"{"flow":{"trace_context":{"parent":{"traceId":"abc"}}}}"#,
            #"{"flow":{"trace_context":{"parent":5}}}"#,
            #"{"flow":{"ip_trace_id":{"traceId":"18446744073709551615"}}}"#,
            #"{"flow":{"ipTraceId":{"trace_id":42,"trace_id":43}}}"#,
            #"{"flow":{"socket_cookie":"18446744073709551615","cgroup_id":12345678901234567890,"socketCookie":1}}"#,
            #"{"flow":{"socket_cookie":"-1","cgroup_id":1.0}}"#,
            #"{"flow":{"socket_cookie":18446744073709551616}}"#,
            #"{"flow":{"l7":{"type":"RESPONSE","latencyNs":"1000","dns":{"query":"a.b.","ips":["1.1.1.1"],"ttl":30,"cnames":["c"],"observationSource":"proxy","rcode":3,"qtypes":["A"],"rrtypes":["AAAA"]}}}}"#,
            #"{"flow":{"l7":{"Type":"RESPONSE","http":{"code":200,"method":"GET","url":"/x","protocol":"HTTP/1.1","headers":[{"key":"a","value":"b"},7,{}]}}}}"#,
            #"{"flow":{"l7":{"dns":null}}}"#,
            #"{"flow":{"event_type":{"type":"4","subType":3}}}"#,
            #"{"flow":{"eventType":{"sub_type":1,"subType":2}}}"#,
            #"{"flow":{"interface":{"index":3,"name":"eth0"},"proxy_port":"15001","policy_match_type":2}}"#,
            #"{"flow":{"egress_allowed_by":[{"name":"p","namespace":"ns","labels":["k=v"],"revision":"7","kind":"CiliumNetworkPolicy"},null],"ingressDeniedBy":[{}],"egressDeniedBy":5}}"#,
            #"{"flow":{"nodeLabels":["a"],"destinationNames":["d"],"sourceService":{"name":"s","namespace":"n"},"destinationService":{"name":"t"}}}"#,
            #"{"flow":{"source_names":"notarray"}}"#,
            // The envelope.
            #"{"flow":{},"node_name":5,"nodeName":"n2"}"#,
            #"{"flow":{},"nodeName":"n2","node_name":"n1"}"#,
            #"{"flow":{},"node_name":"n1","node_name":"n3"}"#,
            #"{"flow":5,"node_name":"n"}"#,
            #"{"flow":{"verdict":"DROPPED"},"flow":{"verdict":"FORWARDED"}}"#,
            #"{"flow":{"verdict":"NOPE"},"lost_events":{}}"#,
            #"{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"12","cpu":{"value":3}},"node_name":"n","time":"2024-05-01T12:00:01Z"}"#,
            #"{"lostEvents":{"source":2,"numEventsLost":12,"cpu":4},"lost_events":{"source":1}}"#,
            #"{"lost_events":{"cpu":{"other":1}}}"#,
            #"{"lost_events":{"cpu":"5"}}"#,
            #"{"lost_events":5}"#,
            // Bare flows.
            #"{"uuid":"u","nodeName":"bare","time":"2024-05-01T12:00:01.5+02:00","Summary":"s"}"#,
            #"{"node_name":5,"nodeName":"n2","verdict":"TRACED"}"#,
            #"{}"#,
            // Strings and names with escapes.
            #"{"flow":{"uuid":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00","Summ\u0061ry":"esc","\u0049P":{"source":"x"}}}"#,
            #"{"flow":{"verdict":"FORW\u0041RDED","time":"2024-05-01T12:00:01\u002e5Z"}}"#,
            #"{"flow":{"unknown":{"deep":[1,2,{"x":null}],"s":"\u00e9"},"ünknown":1,"uuid":"ü"}}"#,
            " \t\r\n{ \"flow\" : { \"uuid\" : \"spaced\" , \"l4\" : { \"TCP\" : { } } } } \n ",
        ]
        for line in lines { Self.expectSame(line) }
        // These all read without the tree.
        for line in lines.prefix(20) { #expect(Self.fast(line) != nil, "\(line)") }
    }

    @Test("malformed lines: the tree's errors, no crash")
    func malformed() {
        let lines = [
            "", " ", "[]", "5", "\"flow\"", "null", "{", "{\"flow\"", "{\"flow\":", "{\"flow\":{}", "{\"flow\":{}}x", "{\"flow\":{},}",
            "{,}", "{\"flow\" {}}", "{\"flow\":{}]", "{\"flow\":[1,]}", "{\"flow\":01}", "{\"flow\":1.}", "{\"flow\":1e}", "{\"flow\":-}",
            "{\"flow\":tru}", "{\"flow\":nul}", "{\"flow\":\"a\u{01}b\"}", "{\"flow\":\"\\x\"}", "{\"flow\":\"\\u12\"}", "{\"flow\":\"\\uD800\"}",
            "{\"flow\":\"\\uDC00\"}", "{\"flow\":\"\\uD800\\u0041\"}", "{\"flow\":\"\\", "{\"flow\":\"abc",
            #"{"flow":{"verdict":"NOPE"}}"#, #"{"flow":{"verdict":true}}"#, #"{"flow":{"verdict":{}}}"#, #"{"flow":{"Type":[]}}"#,
            #"{"flow":{"time":5}}"#, #"{"flow":{"time":"yesterday"}}"#, #"{"time":"2024-13-01T00:00:00Z","flow":{}}"#,
            #"{"flow":{"drop_reason_desc":"NOPE"}}"#, #"{"flow":{"IP":{"ipVersion":"IPv5"}}}"#,
            #"{"flow":{"l4":{"TCP":{"source_port":-1}}}}"#, #"{"flow":{"l4":{"TCP":{"source_port":4294967296}}}}"#,
            #"{"flow":{"l4":{"ICMPv4":{"type":"99999999999"}}}}"#, #"{"flow":{"source":{"ID":-5}}}"#, #"{"flow":{"drop_reason":1e20}}"#,
            #"{"flow":{"event_type":{"type":2147483648}}}"#, #"{"lost_events":{"cpu":{"value":-2147483649}}}"#,
            #"{"flow":{"l7":{"type":"NOPE"}}}"#, #"{"lost_events":{"source":"NOPE"}}"#,
            // Kelvin sign: equal to "K" as a Swift String, not as bytes; the tree decides.
            "{\"flow\":{\"verdict\":\"VERDICT_UN\u{212A}NOWN\",\"l4\":{\"TCP\":{\"flags\":{\"AC\u{212A}\":true}}}}}",
        ]
        for line in lines { Self.expectSame(line) }
        for line in lines.prefix(30) { #expect(throws: (any Error).self, "\(line)") { try FlowJSON.record(line) } }
    }

    @Test("nesting as deep as the tree allows, and one deeper")
    func nesting() {
        for depth in [190, 197, 198, 199, 200, 250, 5000] {
            for wrap in [#"{"unknown":"#, #"{"flow":{"unknown":"#] {
                let open = wrap.filter { $0 == "{" }.count
                let inner = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
                let line = wrap + inner + String(repeating: "}", count: open)
                Self.expectSame(line)
            }
        }
    }

    @Test("every truncation of a golden line is an error")
    func truncations() throws {
        for line in Self.goldenLines.prefix(4) {
            let bytes = Array(line.utf8)
            for k in 0..<bytes.count {
                let cut = Array(bytes[0..<k])
                #expect(cut.withUnsafeBufferPointer { FlowJSONByteDecoder.record($0) } == nil)
                #expect(throws: (any Error).self) { try FlowJSON.record(bytes: cut) }
            }
        }
    }

    @Test("random mutations of golden lines: the byte decoder never disagrees with the tree")
    func mutations() throws {
        var rng = SplitMix(seed: 0x5EED)
        let lines = Self.goldenLines.map { Array($0.utf8) }
        let alphabet = Array("{}[]\",:\\0123456789-.eEtrufalsn uU\u{7F}x".utf8) + [0xC3, 0xA9, 0x01]
        var fastRead = 0
        for _ in 0..<20_000 {
            var b = lines[Int(rng.next() % UInt64(lines.count))]
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let k = Int(rng.next() % UInt64(b.count))
                let c = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                switch rng.next() % 3 {
                case 0: b[k] = c
                case 1: b.insert(c, at: k)
                default: b.remove(at: k)
                }
            }
            let tree = Self.outcome { try FlowJSON.treeRecord(bytes: b) }
            if let f = b.withUnsafeBufferPointer({ FlowJSONByteDecoder.record($0) }) {
                fastRead += 1
                #expect(Self.outcome { f } == tree, "\(String(decoding: b, as: UTF8.self))")
            }
            #expect(Self.outcome { try FlowJSON.record(bytes: b) } == tree)
        }
        // Many mutations land in strings and still read: both paths were compared on those.
        #expect(fastRead > 1000)
    }
}

/// A small seeded generator, so that a failure repeats.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
