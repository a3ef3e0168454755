// Which records a GetFlows request selects from a ring (reference §7.1).
import Hubble
import Testing

@Suite("GetFlows selection (FlowQuery)")
struct FlowQueryTests {
    /// Ten flows at seconds 1…10; even seconds are DROPPED, odd ones FORWARDED.
    static let records: [FlowRecord] = (1...10).map { i in
        var f = Flow()
        f.time = FlowTime(seconds: Int64(i), nanos: 0)
        f.verdict = i % 2 == 0 ? 2 : 1
        f.summary = "\(i)"
        return .flow(f, nodeName: "n", time: f.time)
    }

    static func run(_ q: FlowQuery, _ records: [FlowRecord] = records) -> [String] {
        var q = q
        var out: [String] = []
        loop: for r in records[q.start(in: records)...] {
            switch q.step(r) {
            case .send:
                switch r {
                case let .flow(f, _, _): out.append(f.summary)
                case .lostEvents: out.append("lost")
                }
            case .skip: continue
            case .stop: break loop
            }
        }
        return out
    }

    static func query(number: UInt64 = 0, first: Bool = false, follow: Bool = false, since: Int64? = nil, until: Int64? = nil,
                      verdict: Int? = nil) throws -> FlowQuery {
        var filters = FlowFilters()
        if let verdict {
            var f = FlowFilter()
            f.verdict = [verdict]
            filters.allowlist = [f]
        }
        return try FlowQuery(number: number, first: first, follow: follow, since: since.map { FlowTime(seconds: $0, nanos: 0) },
                             until: until.map { FlowTime(seconds: $0, nanos: 0) }, filters: filters)
    }

    @Test("last N, first N, all")
    func numbers() throws {
        #expect(Self.run(try Self.query(number: 3)) == ["8", "9", "10"])
        #expect(Self.run(try Self.query(number: 3, first: true)) == ["1", "2", "3"])
        #expect(Self.run(try Self.query()) == (1...10).map(String.init))
        #expect(Self.run(try Self.query(number: 20)) == (1...10).map(String.init))
    }

    @Test("last N counts only flows the filters admit")
    func lastWithFilter() throws {
        #expect(Self.run(try Self.query(number: 2, verdict: 2)) == ["8", "10"])
        #expect(Self.run(try Self.query(number: 2, first: true, verdict: 1)) == ["1", "3"])
    }

    @Test("since and until bound the window; since wins over number for the start")
    func window() throws {
        #expect(Self.run(try Self.query(since: 7)) == ["7", "8", "9", "10"])
        #expect(Self.run(try Self.query(until: 3)) == ["1", "2", "3"])
        #expect(Self.run(try Self.query(since: 4, until: 6)) == ["4", "5", "6"])
        #expect(Self.run(try Self.query(number: 2, since: 4)) == ["4", "5"])
    }

    @Test("follow without number or since starts at the end; with number at the last N")
    func follow() throws {
        let q = try Self.query(follow: true)
        #expect(q.start(in: Self.records) == Self.records.count)
        #expect(Self.run(try Self.query(number: 2, follow: true)) == ["9", "10"])
    }

    @Test("a ring-buffer loss marks the start of valid data; lost events pass every filter")
    func lostEvents() throws {
        var records = Self.records
        records.insert(.lostEvents(source: 3, count: 1, cpu: nil, nodeName: "n", time: FlowTime(seconds: 5, nanos: 500)), at: 5)
        #expect(Self.run(try Self.query(), records) == ["6", "7", "8", "9", "10"])
        records[5] = .lostEvents(source: 1, count: 7, cpu: 0, nodeName: "n", time: FlowTime(seconds: 5, nanos: 500))
        #expect(Self.run(try Self.query(verdict: 2), records) == ["2", "4", "lost", "6", "8", "10"])
        // A loss after the last flow a request asks for still reaches the client.
        records.append(.lostEvents(source: 1, count: 2, cpu: 1, nodeName: "n", time: FlowTime(seconds: 11, nanos: 0)))
        #expect(Self.run(try Self.query(number: 2), records) == ["9", "10", "lost"])
    }

    @Test("first with follow and invalid filters are refused with the server's messages")
    func refusals() throws {
        #expect(throws: FlowFilterError("first cannot be specified with follow")) { try Self.query(first: true, follow: true) }
        var f = FlowFilter()
        f.destinationPort = ["99999"]
        #expect(throws: FlowFilterError.self) { try FlowQuery(number: 0, first: false, follow: false, since: nil, until: nil, filters: FlowFilters(allowlist: [f])) }
    }
}
