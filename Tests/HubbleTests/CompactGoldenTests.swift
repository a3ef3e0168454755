// hubble's compact output, byte for byte: every golden case (one flow each, printed by the real
// hubble CLI 1.19.4 with and without --print-policy-names) and the whole-file runs of the
// formatting flags. The vectors are in hubble-golden/ (copied from shared/reference).
import Foundation
import Hubble
import Testing

enum Golden {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("hubble-golden")
    static func text(_ path: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(path), encoding: .utf8) }
    static var cases: [String] { ((try? text("cases.txt")) ?? "").split(separator: "\n").map(String.init) }

    /// The blocks of a golden file: the command's arguments and its output.
    static func blocks(_ file: String) throws -> [(args: [String], output: String, rc: Int)] {
        var out: [(args: [String], output: String, rc: Int)] = []
        var args: [String]?
        var body = ""
        for line in try text("golden/\(file)").split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# hubble ") {
                args = line.dropFirst("# hubble ".count).split(separator: " ").map(String.init)
                body = ""
            } else if line.hasPrefix("# rc="), let a = args {
                out.append((a, body, Int(line.dropFirst(5)) ?? -1))
                args = nil
            } else if args != nil {
                body += line + "\n"
            }
        }
        return out
    }

    static func records() throws -> [FlowRecord] {
        try text("flows.jsonl").split(separator: "\n").map { try FlowJSON.record(String($0)) }
    }
}

@Suite("Compact output against hubble's golden vectors")
struct CompactGoldenTests {
    @Test("each case, default and --print-policy-names", arguments: Golden.cases)
    func caseOutput(name: String) throws {
        let record = try FlowJSON.record(try Golden.text("cases/\(name).input.json").trimmingCharacters(in: .whitespacesAndNewlines))
        var o = CompactOptions()
        #expect(CompactFormat.line(record, o) == (try Golden.text("cases/\(name).compact.txt")))
        o.printPolicyNames = true
        #expect(CompactFormat.line(record, o) == (try Golden.text("cases/\(name).compact-policy-names.txt")))
    }

    @Test("whole-file runs: --all with time formats, node names, numeric, no IP translation, policy names",
          arguments: ["compact-all.txt", "compact-time-rfc3339nano.txt", "compact-node-name.txt", "compact-numeric.txt",
                      "compact-no-ip-translation.txt", "compact-policy-names.txt"])
    func wholeFile(file: String) throws {
        let records = try Golden.records()
        #expect(records.count == 15, "the lines of flows.jsonl")
        let blocks = try Golden.blocks(file)
        #expect(!blocks.isEmpty && blocks.allSatisfy { !$0.output.isEmpty })
        for block in blocks {
            var o = CompactOptions()
            var i = 0
            while i < block.args.count {
                switch block.args[i] {
                case "--time-format":
                    i += 1
                    o.timeFormat = try #require(HubbleTimeFormat(rawValue: block.args[i]))
                case "--print-node-name": o.printNodeName = true
                case "--numeric", "--ip-translation=false": o.ipTranslation = false
                case "--print-policy-names": o.printPolicyNames = true
                default: break
                }
                i += 1
            }
            let out = records.map { CompactFormat.line($0, o) }.joined()
            #expect(out == block.output, "hubble \(block.args.joined(separator: " "))")
        }
    }

    @Test("the vectors are all there")
    func vectors() { #expect(Golden.cases.count == 15) }

    @Test("time formats render Go's layouts in UTC")
    func timeFormats() throws {
        let t = try #require(FlowJSON.parseRFC3339("2024-05-01T12:00:01.100000000+02:00"))
        let expected: [HubbleTimeFormat: String] = [
            .stampMilli: "May  1 10:00:01.100", .yearMonthDay: "2024-05-01", .yearMonthDayHour: "2024-05-01T10Z",
            .yearMonthDayHourMinute: "2024-05-01T10:00Z", .rfc3339: "2024-05-01T10:00:01Z", .rfc3339Milli: "2024-05-01T10:00:01.1Z",
            .rfc3339Micro: "2024-05-01T10:00:01.1Z", .rfc3339Nano: "2024-05-01T10:00:01.1Z", .rfc1123Z: "Wed, 01 May 2024 10:00:01 +0000",
        ]
        for (f, s) in expected { #expect(f.format(t) == s, "\(f)") }
        #expect(HubbleTimeFormat.rfc3339Milli.format(FlowTime(seconds: 0, nanos: 0)) == "1970-01-01T00:00:00Z")
        #expect(FlowJSON.parseRFC3339("2024-13-01T00:00:00Z") == nil)
        #expect(FlowJSON.parseRFC3339("2024-05-01 12:00:00Z") == nil)
    }

    @Test("an empty flow prints as hubble prints it")
    func emptyFlow() throws {
        #expect(CompactFormat.line(try FlowJSON.record(#"{"flow":{}}"#), CompactOptions()) == "N/A:  (unknown) <>  (unknown) UNKNOWN VERDICT_UNKNOWN ()\n")
        #expect(throws: (any Error).self) { try FlowJSON.record(#"{"flow":{"verdict":"NOPE"}}"#) }
    }
}
