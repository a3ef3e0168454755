// `hubble observe`'s arguments and filters against the real hubble CLI 1.19.4: every filter
// run, --first/--last, the implied limits of --input-file and --print-raw-filters, byte for
// byte (vectors in hubble-golden/golden); then the parser's semantics and error texts, label
// selectors, raw JSON filters and the matching rules, one by one.
import Foundation
import Hubble
import Testing

/// 2024-05-01T13:00:00Z, an hour after the golden flows.
let goldenNow = FlowTime(seconds: 1_714_568_400, nanos: 0)

enum FilterGolden {
    /// golden/filter-*.txt but the CEL one, and the other runs of filters and limits.
    static var files: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Golden.dir.appendingPathComponent("golden").path)) ?? []
        let filters = names.filter { $0.hasPrefix("filter-") && $0.hasSuffix(".txt") && $0 != "filter-cel.txt" }.sorted()
        return filters + ["first-2.txt", "last-3.txt", "print-raw-filters.txt", "compact-default-last20.txt", "compact-all.txt",
                          "compact-no-ip-translation.txt", "compact-node-name.txt", "compact-numeric.txt", "compact-policy-names.txt",
                          "compact-time-rfc3339nano.txt"]
    }

    /// What `porin observe ARGS` prints for a golden block (`observe …`).
    static func run(_ args: [String]) throws -> String {
        #expect(args.first == "observe")
        let a = try ObserveArguments.parse(Array(args.dropFirst()), now: goldenNow)
        if a.printRawFilters { return a.rawFiltersYAML() }
        #expect(a.inputFile == "flows.jsonl")
        return a.select(try Golden.records()).map { CompactFormat.line($0, a.compact) }.joined()
    }

    static func parse(_ line: String) throws(ObserveArgumentError) -> ObserveArguments {
        try ObserveArguments.parse(line.split(separator: " ").map(String.init), now: goldenNow)
    }

    static func error(_ args: [String]) -> String? {
        do {
            _ = try ObserveArguments.parse(args, now: goldenNow)
            return nil
        } catch {
            return error.message
        }
    }

    static func raw(_ line: String) throws -> String {
        try parse(line + " --print-raw-filters").rawFiltersYAML()
    }

    static func flow(_ json: String) throws -> Flow {
        try FlowJSON.flow(JSONReader.parse(json))
    }
}

@Suite("hubble observe filters against hubble's golden vectors")
struct FilterGoldenTests {
    @Test("the golden files are all there")
    func inventory() {
        #expect(FilterGolden.files.count == 29, "19 filter files, first, last, raw filters, 7 compact runs")
    }

    @Test("each golden run, byte for byte", arguments: FilterGolden.files)
    func golden(file: String) throws {
        #expect(try Golden.records().count == 15)
        let blocks = try Golden.blocks(file)
        #expect(blocks.count == 1)
        for block in blocks {
            #expect(block.rc == 0)
            #expect(!block.output.isEmpty)
            let out = try FilterGolden.run(block.args)
            #expect(out == block.output, "hubble \(block.args.joined(separator: " "))")
        }
    }

    @Test("the filters select as many flows as hubble printed")
    func counts() throws {
        let expected: [String: Int] = [
            "filter-drop-reason-desc.txt": 5, "filter-from-label-reserved-host.txt": 1, "filter-from-pod.txt": 9, "filter-ip-cidr.txt": 5,
            "filter-label.txt": 10, "filter-namespace-tenant-b.txt": 5, "filter-not-namespace.txt": 1, "filter-pod.txt": 7,
            "filter-protocol-dns.txt": 2, "filter-protocol-udp.txt": 4, "filter-tcp-flags-syn.txt": 9, "filter-to-identity-2.txt": 1,
            "filter-to-port-53.txt": 3, "filter-traffic-direction-egress.txt": 11, "filter-type-drop.txt": 3, "filter-type-l7.txt": 2,
            "filter-type-policy-verdict.txt": 4, "filter-type-trace-to-endpoint.txt": 3, "filter-verdict-dropped.txt": 5,
            "first-2.txt": 2, "last-3.txt": 3, "compact-default-last20.txt": 15,
        ]
        for (file, n) in expected {
            let block = try #require(try Golden.blocks(file).first)
            let a = try ObserveArguments.parse(Array(block.args.dropFirst()), now: goldenNow)
            #expect(a.select(try Golden.records()).count == n, "\(file)")
            #expect(block.output.split(separator: "\n").count == n, "\(file)")
        }
    }

    @Test("the CEL run: porin refuses CEL, but prints it as a raw filter")
    func cel() throws {
        let block = try #require(try Golden.blocks("filter-cel.txt").first)
        let i = try #require(block.args.firstIndex(of: "--cel-expression"))
        let args = Array(block.args[1...i]) + [block.args[(i + 1)...].joined(separator: " ")]
        #expect(args.last == "_flow.verdict == Verdict.DROPPED && _flow.traffic_direction == TrafficDirection.EGRESS")
        #expect(FilterGolden.error(args) == "porin does not evaluate CEL expressions yet")
        let a = try ObserveArguments.parse(args + ["--print-raw-filters"], now: goldenNow)
        #expect(a.rawFiltersYAML() == """
            allowlist:
                - '{"experimental":{"cel_expression":["_flow.verdict == Verdict.DROPPED \\u0026\\u0026 _flow.traffic_direction == TrafficDirection.EGRESS"]}}'

            """)
    }

    @Test("observe against a server: the connection flags and the implied --last 20")
    func serverBlock() throws {
        let block = try #require(try Golden.blocks("errors-and-edge-cases.txt").first { $0.args.first == "observe" })
        #expect(block.rc == 1)
        let args = Array(block.args.dropFirst().prefix { !$0.hasPrefix("(") })
        #expect(args == ["--server", "localhost:4245", "--timeout", "2s"])
        let a = try ObserveArguments.parse(args, now: goldenNow)
        #expect(a.server == "localhost:4245")
        #expect(a.timeout == "2s")
        #expect(a.inputFile == nil)
        #expect(a.impliedLast == 20)
        #expect(a.requestNumber == 20)
        #expect(a.filters.isEmpty)
    }
}

// The parser, the selectors and the matching rules, nested so that `--filter FilterGoldenTests`
// runs them too.
extension FilterGoldenTests {
    @Suite("hubble observe argument parsing")
    struct Arguments {
        @Test("flag syntax: --flag value, --flag=value, short flags, clusters, booleans")
        func syntax() throws {
            var a = try FilterGolden.parse("-n tenant-a -o=json -f --ip-translation=false --print-node-name -t drop")
            #expect(a.output == "json")
            #expect(a.follow)
            #expect(!a.compact.ipTranslation)
            #expect(a.compact.printNodeName)
            #expect(a.filters.allowlist.map(\.sourcePod) == [["tenant-a/"], []])
            #expect(a.filters.allowlist.map(\.eventType) == [[FlowFilter.EventType(type: 1)], [FlowFilter.EventType(type: 1)]])
            a = try ObserveArguments.parse(["-ntenant-b", "-4f", "--last=0x10", "--follow=false"], now: goldenNow)
            #expect(a.filters.allowlist[0].sourcePod == ["tenant-b/"])
            #expect(a.filters.allowlist[0].ipVersion == [1])
            #expect(!a.follow)
            #expect(a.last == 16)
            a = try FilterGolden.parse("--numeric --time-format rfc3339nano -o tab")
            #expect(!a.compact.ipTranslation)
            #expect(a.compact.timeFormat == .rfc3339Nano)
            #expect(a.output == "table")
            a = try FilterGolden.parse("--time-format Whatever")
            #expect(a.compact.timeFormat == .stampMilli)
            // pflag takes the next argument as the value, whatever it looks like.
            a = try FilterGolden.parse("--pod -x --print-raw-filters")
            #expect(a.filters.allowlist[0].sourcePod == ["-x"])
        }

        @Test("--not negates the next filter flag only; several --not go into one denylist filter")
        func not() throws {
            #expect(try FilterGolden.raw("--not --http-method put --not --to-namespace foo") == """
                denylist:
                    - '{"destination_pod":["foo/"],"http_method":["put"]}'

                """)
            let a = try FilterGolden.parse("--from-ip 1.2.3.4 --from-ip 5.6.7.8 --not --to-ip 5.5.5.5 --verdict DROPPED -t l7")
            #expect(a.filters.allowlist.count == 1)
            #expect(a.filters.allowlist[0].sourceIP == ["1.2.3.4", "5.6.7.8"])
            #expect(a.filters.allowlist[0].verdict == [2])
            #expect(a.filters.allowlist[0].eventType == [FlowFilter.EventType(type: 129)])
            #expect(a.filters.denylist.map(\.destinationIP) == [["5.5.5.5"]])
            // --not waits for a filter flag, across other flags.
            let b = try FilterGolden.parse("--not --last 3 --verdict DROPPED")
            #expect(b.filters.denylist.map(\.verdict) == [[2]])
            #expect(b.filters.allowlist.isEmpty)
        }

        @Test("left/right construction and --print-raw-filters")
        func rawFilters() throws {
            #expect(try FilterGolden.raw("--verdict DROPPED --verdict ERROR") == "allowlist:\n    - '{\"verdict\":[\"DROPPED\",\"ERROR\"]}'\n")
            #expect(try FilterGolden.raw("--namespace foo") == """
                allowlist:
                    - '{"source_pod":["foo/"]}'
                    - '{"destination_pod":["foo/"]}'

                """)
            #expect(try FilterGolden.raw("--pod x --port 80") == """
                allowlist:
                    - '{"source_pod":["x"],"source_port":["80"]}'
                    - '{"destination_pod":["x"],"destination_port":["80"]}'

                """)
            #expect(try FilterGolden.raw("--ip 1.2.3.4 --ip 5.6.7.8 --verdict DROPPED --not --pod deathstar --not --http-status 200 --http-method get --node-name k8s*") == """
                allowlist:
                    - '{"source_ip":["1.2.3.4","5.6.7.8"],"verdict":["DROPPED"],"http_method":["get"],"node_name":["k8s*"]}'
                    - '{"destination_ip":["1.2.3.4","5.6.7.8"],"verdict":["DROPPED"],"http_method":["get"],"node_name":["k8s*"]}'
                denylist:
                    - '{"source_pod":["deathstar"],"http_status_code":["200"]}'
                    - '{"destination_pod":["deathstar"],"http_status_code":["200"]}'

                """)
            #expect(try FilterGolden.raw("--to-all-namespaces --port 443") == """
                allowlist:
                    - '{"destination_pod":["/"],"source_port":["443"]}'
                    - '{"destination_pod":["/"],"destination_port":["443"]}'

                """)
            #expect(try FilterGolden.raw("--namespace cilium --namespace kube-system --service foo --service bar") == """
                allowlist:
                    - '{"source_service":["cilium/foo","kube-system/foo","cilium/bar","kube-system/bar"]}'
                    - '{"destination_service":["cilium/foo","kube-system/foo","cilium/bar","kube-system/bar"]}'

                """)
            #expect(try FilterGolden.raw("--from-namespace kube-system --to-pod cilium/foo") == """
                allowlist:
                    - '{"source_pod":["kube-system/"],"destination_pod":["cilium/foo"]}'

                """)
            #expect(try FilterGolden.raw("") == "{}\n")
            #expect(try FilterGolden.raw("-t trace:to-endpoint -t 254 -t 255:127 -t agent:policy-updated --tcp-flags syn,ack --from-workload Deployment/web --identity world --ip-trace-id 7 --http-header a:b:c --interface eth0 --traffic-direction EGRESS -6 --encrypted --label k8s:app=x") == """
                allowlist:
                    - '{"source_label":["k8s:app=x"],"source_workload":[{"name":"web","kind":"Deployment"}],"traffic_direction":["EGRESS"],"interface":[{"name":"eth0"}],"event_type":[{"type":4,"match_sub_type":true},{"type":254},{"type":255,"match_sub_type":true,"sub_type":127},{"type":130,"match_sub_type":true,"sub_type":5}],"source_identity":[2],"http_header":[{"key":"a","value":"b:c"}],"tcp_flags":[{"SYN":true,"ACK":true}],"ip_version":["IPv6"],"ip_trace_id":["7"],"encrypted":[true]}'
                    - '{"source_workload":[{"name":"web","kind":"Deployment"}],"destination_label":["k8s:app=x"],"traffic_direction":["EGRESS"],"interface":[{"name":"eth0"}],"event_type":[{"type":4,"match_sub_type":true},{"type":254},{"type":255,"match_sub_type":true,"sub_type":127},{"type":130,"match_sub_type":true,"sub_type":5}],"destination_identity":[2],"http_header":[{"key":"a","value":"b:c"}],"tcp_flags":[{"SYN":true,"ACK":true}],"ip_version":["IPv6"],"ip_trace_id":["7"],"encrypted":[true]}'

                """)
            // Go's json.Marshal escapes <, > and &; YAML doubles single quotes.
            #expect(try FilterGolden.raw("--http-path <a>&'b'") == "allowlist:\n    - '{\"http_path\":[\"\\u003ca\\u003e\\u0026''b''\"]}'\n")
        }

        @Test("--allowlist and --denylist JSON filters: proto and JSON names, several objects, a round trip")
        func rawJSON() throws {
            let a = try ObserveArguments.parse(
                ["--allowlist", #"{"source_pod":["kube-system/"],"verdict":["DROPPED"]} {"destinationPort":["53"],"eventType":[{"type":4,"matchSubType":true,"subType":5}],"reply":[true],"sourceIdentity":[2],"tcpFlags":[{"SYN":true}]}"#,
                 "--denylist", #"{"dns_query":["example\\.com$"],"ip_version":[1],"drop_reason_desc":["POLICY_DENIED"]}"#, "--verdict", "FORWARDED",
                 "--print-raw-filters"],
                now: goldenNow)
            #expect(a.rawFiltersYAML() == """
                allowlist:
                    - '{"verdict":["FORWARDED"]}'
                    - '{"source_pod":["kube-system/"],"verdict":["DROPPED"]}'
                    - '{"event_type":[{"type":4,"match_sub_type":true,"sub_type":5}],"destination_port":["53"],"reply":[true],"source_identity":[2],"tcp_flags":[{"SYN":true}]}'
                denylist:
                    - '{"drop_reason_desc":["POLICY_DENIED"],"dns_query":["example\\\\.com$"],"ip_version":["IPv4"]}'

                """)
            for f in a.filters.allowlist + a.filters.denylist {
                #expect(try FlowFilter.decode(JSONReader.parse(f.json)) == f)
            }
            #expect(FilterGolden.error(["--allowlist", #"{"nope":[]}"#]) == #"invalid --allowlist flag: failed to decode '{"nope":[]}': proto: unknown field "nope""#)
            #expect(FilterGolden.error(["--denylist", #"{"verdict":["MAYBE"]}"#])
                == #"invalid --denylist flag: failed to decode '{"verdict":["MAYBE"]}': proto: invalid value for enum field verdict: "MAYBE""#)
            #expect(FilterGolden.error(["--allowlist", #"{"source_pod":"#]) != nil)
        }

        @Test("each error, with hubble's text")
        func errors() {
            let cases: [(String, String)] = [
                ("--frobnicate", "unknown flag: --frobnicate"),
                ("-x", "unknown shorthand flag: 'x' in -x"),
                ("-fx", "unknown shorthand flag: 'x' in -x"),
                ("--verdict", "flag needs an argument: --verdict"),
                ("-o", "flag needs an argument: 'o' in -o"),
                ("--verdict NOPE", #"invalid argument "NOPE" for "--verdict" flag: invalid --verdict value: NOPE"#),
                ("--last abc", #"invalid argument "abc" for "--last" flag: strconv.ParseUint: parsing "abc": invalid syntax"#),
                ("--first -1", #"invalid argument "-1" for "--first" flag: strconv.ParseUint: parsing "-1": invalid syntax"#),
                ("--follow=maybe", #"invalid argument "maybe" for "-f, --follow" flag: strconv.ParseBool: parsing "maybe": invalid syntax"#),
                ("--timeout 2x", #"invalid argument "2x" for "--timeout" flag: time: unknown unit "x" in duration "2x""#),
                ("--timeout 2", #"invalid argument "2" for "--timeout" flag: time: missing unit in duration "2""#),
                ("--from-ip 1.2.3.4 --from-fqdn doesnt.work", #"invalid argument "doesnt.work" for "--from-fqdn" flag: filters --from-fqdn and --from-ip cannot be combined"#),
                ("--from-service foo --service bar", #"invalid argument "bar" for "--service" flag: filters --service and --from-service cannot be combined"#),
                ("--port 1 --to-port 2", #"invalid argument "2" for "--to-port" flag: filters --port and --to-port cannot be combined"#),
                ("--label a --from-label b", #"invalid argument "b" for "--from-label" flag: filters --label and --from-label cannot be combined"#),
                ("--identity 1 --from-identity 2", #"invalid argument "2" for "--from-identity" flag: filters --identity and --from-identity cannot be combined"#),
                ("--workload a --to-workload b", #"invalid argument "b" for "--to-workload" flag: filters --workload and --to-workload cannot be combined"#),
                ("-n a --to-pod b", #"invalid argument "b" for "--to-pod" flag: filters --to-pod and --namespace cannot be combined"#),
                ("--encrypted --unencrypted", #"invalid argument "true" for "--unencrypted" flag: filters --encrypted and --unencrypted cannot be combined"#),
                ("--ip 1.1.1.1 -A", #"invalid argument "true" for "-A, --all-namespaces" flag: filters --ip and --all-namespaces cannot be combined"#),
                ("--to-namespace kube-system --to-pod cilium/foo", #"invalid argument "cilium/foo" for "--to-pod" flag: namespace conflict: "kube-system" does not contain "cilium/foo""#),
                ("--from-service cilium/foo --from-pod kube-system/hubble", #"invalid argument "kube-system/hubble" for "--from-pod" flag: namespace of service "cilium/foo" conflict with pod "kube-system""#),
                ("--not --not --pod x", #"invalid argument "true" for "--not" flag: consecutive --not statements"#),
                ("--pod x --not", "trailing --not found in the arguments"),
                ("-t some-invalid-type", #"invalid argument "some-invalid-type" for "-t, --type" flag: unable to parse type 'some-invalid-type', not a known type name and unable to parse as numeric value: strconv.ParseUint: parsing "some-invalid-type": invalid syntax"#),
                ("-t trace:nowhere", #"invalid argument "trace:nowhere" for "-t, --type" flag: unable to parse event sub-type 'nowhere', not a known sub-type name and unable to parse as numeric value: strconv.ParseUint: parsing "nowhere": invalid syntax"#),
                ("--identity bad", #"invalid argument "bad" for "--identity" flag: invalid security identity, expected one of [host world unmanaged health init remote-node kube-apiserver ingress world-ipv4 world-ipv6] or a numeric value"#),
                ("--tcp-flags syn,", #"invalid argument "syn," for "--tcp-flags" flag: unknown tcp flag: "#),
                ("--tcp-flags bogus", #"invalid argument "bogus" for "--tcp-flags" flag: unknown tcp flag: bogus"#),
                ("--traffic-direction up", #"invalid argument "up" for "--traffic-direction" flag: up: invalid traffic direction, expected ingress or egress"#),
                ("--drop-reason-desc NOPE", #"invalid argument "NOPE" for "--drop-reason-desc" flag: invalid --drop-reason-desc value: NOPE"#),
                ("--http-header foobar", #"invalid argument "foobar" for "--http-header" flag: invalid http-header value "foobar", expected name:value"#),
                ("--ip-trace-id 0", #"invalid argument "0" for "--ip-trace-id" flag: invalid --ip-trace-id value; must be greater than 0"#),
                ("-o yaml", "invalid output format: yaml"),
                ("-o table -f", "table output format is not compatible with follow mode"),
                ("--field-mask time", "compact output format is not compatible with custom field mask"),
                ("-o json --field-mask nope", #"failed to construct field mask: proto: invalid path "nope" for message "flow.Flow""#),
                ("--first 2 --last 3", "cannot set both --first and --last"),
                ("--first 2 --all", "cannot set both --first and --all"),
                ("--first 2 -f", "cannot set both --first and --follow"),
                ("--last 2 --all", "cannot set both --last and --all"),
                ("--since yesterday", "failed to parse the since time: failed to convert yesterday to time"),
                ("--until 2024-13-01", "failed to parse the until time: failed to convert 2024-13-01 to time"),
                ("--to-port 70000", #"invalid destination port filter: invalid port "70000": strconv.ParseUint: parsing "70000": value out of range"#),
                ("--port http", #"invalid source port filter: invalid port "http": strconv.ParseUint: parsing "http": invalid syntax"#),
                ("--protocol gopher", #"invalid protocol filter: unknown protocol: "gopher""#),
                ("--ip 10.0.0.0/33", #"invalid CIDR in filter: "10.0.0.0/33""#),
                ("--to-ip 10.0.0.256", #"invalid IP address in filter: "10.0.0.256""#),
                ("--pod", "flag needs an argument: --pod"),
                ("--fqdn a..", "multiple trailing dots in pattern"),
                ("--fqdn a$b", "'$': invalid rune in pattern"),
                ("--node-name a/b/c", "too many slashes in pattern"),
                ("--http-status 600", #"invalid http status code filter: invalid status code prefix: "600""#),
                ("--http-status 200 -t drop", "filtering by http status code requires the event type filter to only match 'l7' events"),
                ("--http-method get -t trace", "filtering by http method requires the event type filter to only match 'l7' events"),
                ("--label a=b=c", "invalid source label filter: found '=', expected: ',' or 'end of string'"),
                ("--cluster a --print-node-name stray", #"unexpected argument "stray" (observe takes only flags)"#),
                ("--input-file f --last 2000000", "--last must be <= 1_000_000, got 2000000"),
            ]
            for (line, message) in cases {
                let args = line.split(separator: " ").map(String.init)
                #expect(FilterGolden.error(args) == message, "porin observe \(line)")
            }
            #expect(cases.count == 58)
            #expect(FilterGolden.error(["--to-label", "k in ()"]) == "invalid destination label filter: for 'in', 'notin' operators, values set can't be empty")
            #expect(FilterGolden.error(["-l", "k8s:app in (a, b), !reserved:world"]) == nil)
            // The empty values hubble's server refuses.
            #expect(FilterGolden.error(["--pod", ""]) == #"invalid filter, must be [namespace/][<name>], got """#)
            #expect(FilterGolden.error(["--to-service", ""]) == #"invalid destination service filter: invalid filter, must be [namespace/][<name>], got """#)
            #expect(FilterGolden.error(["--cluster", ""]) == "invalid filter, name must not be empty")
            #expect(FilterGolden.error(["--drop-reason-desc", ""]) == #"invalid argument "" for "--drop-reason-desc" flag: empty --drop-reason-desc value"#)
            // --print-raw-filters prints what the server would refuse, as hubble does.
            #expect(FilterGolden.error(["--to-port", "70000", "--print-raw-filters"]) == nil)
            // -h stops everything else.
            #expect(FilterGolden.error(["--verdict", "NOPE", "-h"]) != nil)
            #expect(FilterGolden.error(["-h", "--pod", "x", "--not"]) == nil)
        }

        @Test("limits: --first, --last, --all, the implied --last 20, --since/--until")
        func limits() throws {
            var a = try FilterGolden.parse("--server x")
            #expect((a.requestNumber, a.requestFirst, a.impliedLast) == (20, false, 20))
            a = try FilterGolden.parse("--input-file f")
            #expect((a.requestNumber, a.impliedLast) == (0, nil))
            a = try FilterGolden.parse("--input-file f --last 3")
            #expect((a.requestNumber, a.impliedLast) == (3, 3))
            a = try FilterGolden.parse("--all")
            #expect((a.requestNumber, a.impliedLast) == (UInt64.max, nil))
            a = try FilterGolden.parse("--first 4")
            #expect((a.requestNumber, a.requestFirst, a.impliedLast) == (4, true, nil))
            a = try FilterGolden.parse("-f")
            #expect((a.requestNumber, a.impliedLast) == (0, nil))
            a = try FilterGolden.parse("--last 0")
            #expect(a.impliedLast == 20)
            a = try FilterGolden.parse("--since 1h")
            #expect(a.since == FlowTime(seconds: 1_714_564_800, nanos: 0))
            #expect((a.requestNumber, a.impliedLast) == (0, nil))
            a = try FilterGolden.parse("--until 2024-05-01T12:00:05Z -f")
            #expect(a.until == nil, "hubble drops --until when following")

            let records = try Golden.records()
            a = try FilterGolden.parse("--input-file f --since 2024-05-01T12:00:04Z --until 2024-05-01T12:00:06.5Z")
            #expect(a.select(records).count == 6)
            a = try FilterGolden.parse("--input-file f --since 2024-05-01T12:00:04Z --first 2 --verdict FORWARDED")
            #expect(a.select(records).count == 2)
            a = try FilterGolden.parse("--input-file f --last 2 --verdict DROPPED")
            let last = a.select(records).map { CompactFormat.line($0, a.compact) }
            #expect(last.count == 2)
            #expect(last.first?.hasPrefix("May  1 12:00:03.002") == true)
        }

        @Test("--since/--until syntax: Go durations and hubble's layouts")
        func times() {
            let now = FlowTime(seconds: 1_000_000, nanos: 500_000_000)
            let cases: [(String, FlowTime?)] = [
                ("3s", FlowTime(seconds: 999_997, nanos: 500_000_000)),
                ("1h43m", FlowTime(seconds: 1_000_000 - 6180, nanos: 500_000_000)),
                ("1.5s", FlowTime(seconds: 999_999, nanos: 0)),
                ("-2ms", FlowTime(seconds: 1_000_000, nanos: 502_000_000)),
                ("0", now),
                ("2024-05-01", FlowTime(seconds: 1_714_521_600, nanos: 0)),
                ("2024-05-01T12Z", FlowTime(seconds: 1_714_564_800, nanos: 0)),
                ("2024-05-01T12+02:00", FlowTime(seconds: 1_714_557_600, nanos: 0)),
                ("2024-05-01T12:30Z", FlowTime(seconds: 1_714_566_600, nanos: 0)),
                ("2024-05-01T12:00:01Z", FlowTime(seconds: 1_714_564_801, nanos: 0)),
                ("2024-05-01T12:00:01.25-01:00", FlowTime(seconds: 1_714_568_401, nanos: 250_000_000)),
                ("2024-05-01T12:00:01.123456789Z", FlowTime(seconds: 1_714_564_801, nanos: 123_456_789)),
                ("Wed, 01 May 2024 12:00:00 +0000", FlowTime(seconds: 1_714_564_800, nanos: 0)),
                ("2024-02-30", nil), ("2024-05-01T25Z", nil), ("2024-05-01T12", nil), ("3", nil), ("s", nil), ("May  1 12:00:00.000", nil),
                ("", nil),
            ]
            for (text, want) in cases {
                #expect(ObserveArguments.parseTime(text, now: now) == want, "\(text)")
            }
        }
    }

    @Suite("label selectors (Hubble's k8s selector syntax over Cilium labels)")
    struct LabelSelectors {
        let pod = ["k8s:app=web", "k8s:tier=front", "k8s:io.kubernetes.pod.namespace=shop", "k8s:version=3", "container:runtime=crio"]
        let host = ["reserved:host"]

        @Test("parsing and matching")
        func matching() throws {
            let cases: [(String, [String], Bool)] = [
                ("app=web", pod, true), ("app==web", pod, true), ("app=db", pod, false), ("app!=db", pod, true), ("app!=web", pod, false),
                ("missing!=x", pod, true), ("app in (web, db)", pod, true), ("app in (db)", pod, false), ("app notin (db,cache)", pod, true),
                ("app notin (web)", pod, false), ("missing notin (web)", pod, true), ("app", pod, true), ("!app", pod, false), ("!missing", pod, true),
                ("k8s:app=web", pod, true), ("container:app=web", pod, false), ("container:runtime", pod, true), ("runtime=crio", pod, true),
                ("k8s:io.kubernetes.pod.namespace=shop", pod, true), ("io.kubernetes.pod.namespace=shop", pod, true),
                ("app=web,tier=front", pod, true), ("app=web,tier=back", pod, false), ("app=web, !tier", pod, false),
                ("version>2", pod, true), ("version<3", pod, false), ("app>2", pod, false),
                ("reserved:host", host, true), ("host", host, true), ("reserved:world", host, false), ("k8s:host", host, false),
                ("app", host, false), ("!app", host, true), ("", host, true), ("", [], true), ("app=", ["k8s:app="], true),
                ("app=", pod, false),
            ]
            for (text, labels, want) in cases {
                let s = try FlowLabelSelector(text)
                #expect(s.matches(labels) == want, "\(text) on \(labels)")
            }
            #expect(cases.count == 36)
            let s = try FlowLabelSelector("k8s:app in (a, b), !reserved:world")
            #expect(s.requirements == [
                .init(source: "k8s", key: "app", op: .in, values: ["a", "b"]),
                .init(source: "reserved", key: "world", op: .doesNotExist, values: []),
            ])
            #expect(try FlowLabelSelector("tier").requirements == [.init(source: "any", key: "tier", op: .exists, values: [])])
        }

        @Test("syntax errors")
        func errors() {
            let cases: [(String, String)] = [
                ("a=b=c", "found '=', expected: ',' or 'end of string'"),
                ("a in (b", "found '', expected: ',', ')' or identifier"),
                ("a in b", "found 'b', expected: '('"),
                ("a in ()", "for 'in', 'notin' operators, values set can't be empty"),
                ("a,", "found '', expected: identifier after ','"),
                ("=a", "found '=', expected: !, identifier, or 'end of string'"),
                ("a > b", "for 'Gt', 'Lt' operators, the value must be an integer"),
                ("!a=b", "found '=', expected: ',' or 'end of string'"),
                ("a b", "found 'b', expected: in, notin, =, ==, !=, gt, lt"),
            ]
            for (text, message) in cases {
                #expect(throws: FlowFilterError(message), "\(text)") { try FlowLabelSelector(text) }
            }
            #expect(throws: FlowFilterError.self) { try FlowLabelSelector("a=-bad-") }
            #expect(throws: FlowFilterError.self) { try FlowLabelSelector("a:b:c=d") }
            #expect(throws: FlowFilterError.self) { try FlowLabelSelector("k=\(String(repeating: "v", count: 64))") }
        }
    }

    @Suite("FlowFilter matching, field by field (pkg/hubble/filters)")
    struct Matching {
        static let tcp = #"""
            {"time":"2024-05-01T12:00:01Z","uuid":"u-1","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"2001:db8::5","ipVersion":"IPv6","source_xlated":"192.0.2.9"},
             "l4":{"TCP":{"source_port":40000,"destination_port":443,"flags":{"SYN":true,"ACK":true}}},
             "source":{"identity":10000,"cluster_name":"c1","namespace":"shop","pod_name":"web-1","labels":["k8s:app=web"],"workloads":[{"name":"web","kind":"Deployment"}]},
             "destination":{"identity":2,"labels":["reserved:world"]},"destination_names":["api.Example.com"],"source_service":{"name":"web","namespace":"shop"},
             "event_type":{"type":4,"sub_type":3},"traffic_direction":"EGRESS","node_name":"lab/node-1","node_labels":["kubernetes.io/hostname=node-1"],
             "interface":{"index":7,"name":"eth0"},"trace_context":{"parent":{"trace_id":"t-1"}}}
            """#
        static let http = #"""
            {"verdict":"FORWARDED","l7":{"type":"RESPONSE","http":{"code":404,"method":"GET","url":"http://shop.local/api/v1/items?x=1","headers":[{"key":"X-Env","value":"prod"}]}},
             "event_type":{"type":129},"source":{"namespace":"shop","pod_name":"web-1"},"is_reply":true}
            """#
        static let dropped = #"""
            {"verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","l4":{"UDP":{"source_port":5353,"destination_port":53}},
             "l7":{"dns":{"query":"db.shop.svc.cluster.local."}},"event_type":{"type":1,"sub_type":133},"source":{"pod_name":"lonely"}}
            """#

        func check(_ args: String, _ json: String, _ want: Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let a = try ObserveArguments.parse(args.split(separator: " ").map(String.init), now: goldenNow)
            #expect(!a.filters.isEmpty, sourceLocation: sourceLocation)
            #expect(a.filters.admits(try FilterGolden.flow(json)) == want, "\(args)", sourceLocation: sourceLocation)
        }

        @Test("L3/L4 fields")
        func layer34() throws {
            let f = Self.tcp
            try check("--uuid u-1", f, true)
            try check("--uuid u-2", f, false)
            try check("--from-ip 10.0.0.0/8", f, true)
            try check("--to-ip 2001:db8::/32", f, true)
            try check("--to-ip 2001:db8:0::5", f, false)  // exact addresses compare as written
            try check("--to-ip 2001:db8::5", f, true)
            try check("--snat-ip 192.0.2.0/24", f, true)
            try check("--from-ip 10.0.0.2", f, false)
            try check("--port 443", f, true)
            try check("--from-port 443", f, false)
            try check("--protocol TCP", f, true)
            try check("--protocol udp --protocol icmp", f, false)
            try check("--tcp-flags syn,ack", f, true)
            try check("--tcp-flags fin --tcp-flags ack", f, true)
            try check("--tcp-flags syn,fin", f, false)
            try check("-6", f, true)
            try check("-4", f, false)
            try check("--ip-version none", f, false)
            try check("--unencrypted", f, true)
            try check("--encrypted", f, false)
            try check("--interface eth0", f, true)
            try check("--interface eth1", f, false)
            try check("--traffic-direction egress", f, true)
            try check("--verdict FORWARDED --verdict DROPPED", f, true)
            try check("--trace-id t-1", f, true)
            try check("--ip-trace-id 5", f, false)
        }

        @Test("endpoints: pods, namespaces, services, identities, labels, workloads, clusters, names, nodes")
        func endpoints() throws {
            let f = Self.tcp
            try check("--from-pod shop/web", f, true)
            try check("--from-pod web", f, false)  // no namespace means default
            try check("--from-pod /web", f, true)  // an empty namespace means any
            try check("--from-namespace shop", f, true)
            try check("--to-namespace shop", f, false)  // the world has no namespace
            try check("-A", f, true)
            try check("--to-all-namespaces", f, false)
            try check("--from-service shop/we", f, true)
            try check("--to-service shop/web", f, false)
            try check("--from-identity 10000", f, true)
            try check("--to-identity world", f, true)
            try check("--identity host", f, false)
            try check("--from-label app=web", f, true)
            try check("--to-label reserved:world", f, true)
            try check("--label app=db", f, false)
            try check("--from-workload Deployment/web", f, true)
            try check("--from-workload StatefulSet/", f, false)
            try check("--workload web", f, true)
            try check("--from-cluster c1", f, true)
            try check("--to-cluster c1", f, false)
            try check("--to-fqdn api.example.com", f, false)  // names are not lower-cased, patterns are
            try check("--to-fqdn *.Example.com", f, false)
            try check("--fqdn api.Example.com", f, false)
            let lower = f.replacingOccurrences(of: "api.Example.com", with: "api.example.com")
            try check("--to-fqdn *.example.com.", lower, true)
            try check("--to-fqdn *", lower, true)
            try check("--to-fqdn *.com", lower, true)
            try check("--to-fqdn example.com", lower, false)
            try check("--node-name lab/node-*", f, true)
            try check("--node-name node-1", f, true)
            try check("--node-name other/node-1", f, false)
            try check("--node-name node-*.x", f, false)
            try check("--node-label kubernetes.io/hostname=node-1", f, true)
            try check("--node-label kubernetes.io/hostname=node-2", f, false)
            try check("-t trace:to-stack", f, true)
            try check("-t trace:to-endpoint", f, false)
            try check("-t 4:3", f, true)
            try check("-t trace", f, true)
        }

        @Test("L7, replies and drops")
        func layer7() throws {
            let h = Self.http, d = Self.dropped
            try check("--http-status 404", h, true)
            try check("--http-status 4+", h, true)
            try check("--http-status 40+", h, true)
            try check("--http-status 5+", h, false)
            try check("--http-method get", h, true)
            try check("--http-method post", h, false)
            try check("--http-path ^/api/v[0-9]+/", h, true)
            try check("--http-path items$", h, true)
            try check("--http-path x=1", h, false)  // the path excludes the query
            try check("--http-url shop\\.local/api", h, true)
            try check("--http-header X-Env:prod", h, true)
            try check("--http-header X-Env:dev", h, false)
            try check("--protocol http", h, true)
            try check("-t l7 --http-status 404", h, true)
            try check("--http-status 404", d, false)
            try check("--protocol dns", d, true)
            try check("--drop-reason-desc POLICY_DENIED", d, true)
            try check("--drop-reason-desc POLICY_DENY", d, false)
            try check("--port 53", d, true)
            try check("--from-pod lonely", d, false)  // no namespace, not default
            // reply: absent is_reply counts as false only for dropped flows.
            let reply = FlowFilter.decodeAll
            for (json, want) in [(#"{"reply":[false]}"#, [true, false, false]), (#"{"reply":[true]}"#, [false, true, false])] {
                let filters = FlowFilters(allowlist: try reply(json))
                let flows = [d, h, Self.tcp]
                #expect(try flows.map { filters.admits(try FilterGolden.flow($0)) } == want, "\(json)")
            }
            let dns = FlowFilters(allowlist: try FlowFilter.decodeAll(#"{"dns_query":["^db\\.shop\\."]}"#))
            #expect(dns.admits(try FilterGolden.flow(d)))
            #expect(!dns.admits(try FilterGolden.flow(h)))
        }

        @Test("allowlist OR, denylist NOR, lost events always pass")
        func combination() throws {
            let records = try Golden.records()
            let lost = FlowRecord.lostEvents(source: 1, count: 3, cpu: 0, nodeName: "n", time: nil)
            let nothing = FlowFilters(allowlist: [try FlowFilter.decode(JSONReader.parse(#"{"uuid":["none"]}"#))])
            #expect(records.filter(nothing.admits).isEmpty)
            #expect(nothing.admits(lost))
            let everything = FlowFilters(denylist: [FlowFilter()])
            #expect(records.filter(everything.admits).isEmpty, "an empty filter matches every flow")
            #expect(records.filter(FlowFilters().admits).count == 15)
            let a = try FilterGolden.parse("--verdict DROPPED --not --to-identity world")
            #expect(records.filter(a.filters.admits).count == 4)
        }
    }
}
