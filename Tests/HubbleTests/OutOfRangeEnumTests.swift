// Enum values a file or a peer may send that no table names (negative, or newer than Porin):
// every printer and the metrics show the number instead of failing.
import Hubble
import Testing

@Suite("enum values outside the tables")
struct OutOfRangeEnumTests {
    @Test("negative and unknown verdicts, directions and lost-event sources print as numbers")
    func numbers() throws {
        let flow = try FlowJSON.record(#"{"flow":{"time":"2024-05-01T12:00:01Z","verdict":-1,"traffic_direction":-2,"Type":"L3_L4","IP":{"source":"10.0.0.1","destination":"10.0.0.2","ipVersion":"IPv4"}}}"#)
        let lost = try FlowJSON.record(#"{"lost_events":{"source":-3,"num_events_lost":"2"},"time":"2024-05-01T12:00:02Z"}"#)
        let o = CompactOptions()
        for r in [flow, lost] {
            #expect(!CompactFormat.line(r, o).isEmpty)
            #expect(!DictFormat.record(r, o, first: true).isEmpty)
            #expect(!FlowJSONWriter.record(r).isEmpty)
        }
        #expect(FlowJSONWriter.record(flow).contains(#""verdict":-1"#))
        #expect(FlowJSONWriter.record(lost).contains(#""source":"-3""#) || FlowJSONWriter.record(lost).contains(#""source":-3"#))
        let m = HubbleMetrics()
        if case let .flow(f, _, _) = flow { m.observe(f) }
        m.lost(source: -3, count: 2)
        #expect(m.render().contains(#"hubble_lost_events_total{source="-3"} 2"#))
    }
}
