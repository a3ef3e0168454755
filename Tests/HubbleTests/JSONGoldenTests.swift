// hubble's `-o json` / `-o jsonpb` output, byte for byte: protojson field order, omitted zero
// values, enums by name, 64-bit integers as strings.
import Foundation
import Hubble
import Testing

@Suite("JSON output against hubble's golden vectors")
struct JSONGoldenTests {
    @Test("each case's -o json line", arguments: Golden.cases)
    func caseOutput(name: String) throws {
        let record = try FlowJSON.record(try Golden.text("cases/\(name).input.json").trimmingCharacters(in: .whitespacesAndNewlines))
        let expected = try Golden.text("cases/\(name).json-output.json").trimmingCharacters(in: .newlines)
        #expect(FlowJSONWriter.record(record) == expected)
    }

    @Test("the whole file with -o json and -o jsonpb", arguments: ["json.txt", "jsonpb.txt"])
    func wholeFile(file: String) throws {
        let records = try Golden.records()
        let blocks = try Golden.blocks(file)
        try #require(blocks.count == 1)
        #expect(records.map { FlowJSONWriter.record($0) + "\n" }.joined() == blocks[0].output)
    }

    @Test("a flow survives JSON out and back in")
    func roundTrip() throws {
        for r in try Golden.records() {
            let again = try FlowJSON.record(FlowJSONWriter.record(r))
            #expect(FlowJSONWriter.record(again) == FlowJSONWriter.record(r))
        }
    }
}

@Suite("Dict and table output against hubble's golden vectors")
struct DictTableGoldenTests {
    @Test("dict, table and table with node names", arguments: ["dict.txt", "table.txt", "table-node-name.txt"])
    func wholeFile(file: String) throws {
        let records = try Golden.records()
        let blocks = try Golden.blocks(file)
        try #require(blocks.count == 1)
        var o = CompactOptions()
        o.printNodeName = blocks[0].args.contains("--print-node-name")
        let out: String
        if blocks[0].args.contains("dict") {
            out = records.enumerated().map { DictFormat.record($0.element, o, first: $0.offset == 0) }.joined()
        } else {
            var t = TableFormat(options: o)
            for r in records { t.add(r) }
            out = t.render()
        }
        #expect(out == blocks[0].output)
    }
}
