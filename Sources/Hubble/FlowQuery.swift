// What a GetFlows request selects from a node's ring buffer (reference §7.1, Hubble's
// local_observer.go): where reading starts, which records are sent, and when a non-following
// read stops. Pure, so the rules are tested without a server; the gRPC layer feeds it records.

public struct FlowQuery {
    public var number: UInt64
    public var first: Bool
    public var follow: Bool
    public var since: FlowTime?
    public var until: FlowTime?
    public let matcher: FlowFilterMatcher
    /// Flows sent so far (`number` counts them).
    public private(set) var sent: UInt64 = 0

    public enum Step: Sendable { case send, skip, stop }

    /// The request's parameters; a request Hubble refuses throws the server's message.
    public init(number: UInt64, first: Bool, follow: Bool, since: FlowTime?, until: FlowTime?, filters: FlowFilters) throws(FlowFilterError) {
        if first && follow { throw FlowFilterError("first cannot be specified with follow") }
        for f in filters.allowlist + filters.denylist { try f.validate() }
        self.number = number
        self.first = first
        self.follow = follow
        self.since = since
        self.until = until
        matcher = filters.matcher()
    }

    static func time(_ r: FlowRecord) -> FlowTime? {
        switch r {
        case let .flow(f, _, t): f.time ?? t
        case let .lostEvents(_, _, _, _, t): t
        }
    }

    static func isRingBufferLoss(_ r: FlowRecord) -> Bool {
        if case let .lostEvents(source, _, _, _, _) = r, source == 3 { return true }
        return false
    }

    /// Where reading starts in `records` (oldest first): the oldest with `first`; the end (only
    /// new records) when following without `number` or `since`; otherwise walking back from the
    /// newest, to the oldest record not older than `since`, or to the `number`-th newest record
    /// the filters admit (all of them when `number` is 0). A ring-buffer loss marks the start of
    /// valid data.
    public func start(in records: [FlowRecord]) -> Int {
        if first && since == nil { return 0 }
        if follow && number == 0 && since == nil { return records.count }
        var start = records.count
        var matched: UInt64 = 0
        var i = records.count - 1
        while i >= 0 {
            let r = records[i]
            if Self.isRingBufferLoss(r) { break }
            if let since {
                if let t = Self.time(r), t < since { break }
                start = i
            } else {
                if case .flow = r, matcher.admits(r) {
                    matched += 1
                    start = i
                    if number > 0 && matched == number { break }
                } else if case .lostEvents = r {
                    start = i
                }
            }
            i -= 1
        }
        return start
    }

    /// What to do with the next record read forward: lost events always go out, flows outside
    /// [since, until] or refused by the filters are skipped, the first flow after `until` ends
    /// the stream, and a non-following request ends after `number` flows.
    public mutating func step(_ r: FlowRecord) -> Step {
        if case .lostEvents = r { return .send }
        if !follow && number > 0 && sent >= number { return .stop }
        if let t = Self.time(r) {
            if let since, t < since { return .skip }
            if let until, until < t { return .stop }
        }
        guard matcher.admits(r) else { return .skip }
        sent += 1
        return .send
    }

}
