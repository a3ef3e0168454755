// Flows to and from Hubble's protobuf messages: every golden flow, converted to a
// GetFlowsResponse, prints (as protojson, through swift-protobuf) what the real hubble printed
// with -o json, survives the binary wire format, and comes back as the same flow.
import Foundation
import Hubble
import HubbleAPI
import HubbleProto
import SwiftProtobuf
import Testing

/// Object keys sorted, so that two JSON texts compare by content.
func normalized(_ v: JSONValue) -> JSONValue {
    switch v {
    case let .object(pairs): return .object(pairs.map { ($0.0, normalized($0.1)) }.sorted { $0.0 < $1.0 })
    case let .array(items): return .array(items.map(normalized))
    default: return v
    }
}

@Suite("Flow <-> protobuf")
struct FlowProtoTests {
    static var protoNames: JSONEncodingOptions {
        var o = JSONEncodingOptions()
        o.preserveProtoFieldNames = true
        return o
    }

    @Test("each golden flow as a GetFlowsResponse prints as hubble's -o json")
    func goldenFlowsAsProtojson() throws {
        let lines = try Golden.lines()
        let printed = try Golden.text("golden/json.txt").split(separator: "\n").dropFirst().prefix(lines.count)
        #expect(lines.count == printed.count && lines.count >= 15)
        for (line, expected) in zip(lines, printed) {
            let record = try FlowJSON.record(line)
            let json = try record.response.jsonString(options: Self.protoNames)
            #expect(normalized(try JSONReader.parse(json)) == normalized(try JSONReader.parse(String(expected))), "\(line.prefix(100))")
        }
    }

    @Test("binary round trip, and back to the same flow")
    func roundTrip() throws {
        for line in try Golden.lines() {
            let record = try FlowJSON.record(line)
            let bytes: [UInt8] = try record.response.serializedBytes()
            let decoded = try Observer_GetFlowsResponse(serializedBytes: bytes)
            #expect(decoded == record.response)
            let back = try #require(FlowRecord(response: decoded))
            #expect(FlowJSONWriter.record(back) == FlowJSONWriter.record(record))
        }
    }

    @Test("lost events keep their source, count and CPU")
    func lostEvents() throws {
        let r = FlowRecord.lostEvents(source: 1, count: 42, cpu: 3, nodeName: "n1", time: FlowTime(seconds: 5, nanos: 6))
        let m = r.response
        #expect(m.lostEvents.source == .perfEventRingBuffer && m.lostEvents.numEventsLost == 42 && m.lostEvents.cpu.value == 3)
        guard case let .lostEvents(source, count, cpu, node, time)? = FlowRecord(response: m) else { Issue.record("not a lost event"); return }
        #expect(source == 1 && count == 42 && cpu == 3 && node == "n1" && time == FlowTime(seconds: 5, nanos: 6))
    }

    @Test("filters convert both ways without loss")
    func filters() throws {
        let text = #"{"source_pod":["tenant-a/"],"verdict":["DROPPED"],"destination_port":["80"],"tcp_flags":[{"SYN":true}],"event_type":[{"type":1,"match_sub_type":true,"sub_type":133}],"reply":[false]}"#
        let f = try #require(try FlowFilter.decodeAll(text).first)
        let p = try f.proto
        #expect(p.sourcePod == ["tenant-a/"] && p.verdict == [.dropped] && p.destinationPort == ["80"] && p.tcpFlags.first?.syn == true)
        #expect(try FlowFilter(proto: p) == f)
    }
}
