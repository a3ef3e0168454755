// Hubble's metrics from the golden flows: names, labels and counts as Hubble's handlers make them.
import Hubble
import Testing

@Suite("Hubble metrics")
struct MetricsTests {
    @Test("the golden flows counted by protocol, type, verdict, drop reason and policy verdict")
    func counts() throws {
        let m = HubbleMetrics()
        for case let .flow(f, _, _) in try Golden.records() { m.observe(f) }
        m.lost(source: 3, count: 2)
        let text = m.render()
        #expect(text.contains("# TYPE hubble_flows_processed_total counter\n"))
        #expect(text.contains("hubble_drop_total{reason=\"POLICY_DENIED\",protocol=\"TCP\"} 5\n"), "every DROPPED flow, policy verdicts too, as Hubble counts: \(text)")
        #expect(text.contains("hubble_policy_verdicts_total{direction=\"egress\",match=\"none\",action=\"dropped\"} 1\n"), "\(text)")
        #expect(text.contains("hubble_policy_verdicts_total{direction=\"egress\",match=\"l3-l4\",action=\"redirected\"} 1\n"), "\(text)")
        #expect(text.contains("hubble_flows_processed_total{protocol=\"TCP\",type=\"Trace\",subtype=\"to-endpoint\",verdict=\"FORWARDED\"} 3\n"), "\(text)")
        #expect(text.contains("hubble_flows_processed_total{protocol=\"DNS\",type=\"L7\",subtype=\"DNS\",verdict=\"FORWARDED\"} 2\n"), "\(text)")
        #expect(text.contains("hubble_lost_events_total{source=\"HUBBLE_RING_BUFFER\"} 2\n"))
        let total = text.split(separator: "\n").filter { $0.hasPrefix("hubble_flows_processed_total{") }.compactMap { Int($0.split(separator: " ").last!) }.reduce(0, +)
        #expect(total == 15, "every flow counted once")
    }
}
