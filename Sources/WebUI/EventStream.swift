// Server-sent events for /api/events: a tick on connect, then the handler's change notices coalesced
// to at most one tick per 250 ms, and a comment line every 15 s so idle proxies and the browser keep
// the connection.
import Hummingbird

/// When to send a tick, given change notices as they come: the first one at once, later ones no
/// sooner than `interval` after the previous tick, and only the newest of those that waited.
struct TickCoalescer {
    let interval: Duration
    private(set) var lastSent: ContinuousClock.Instant?
    private(set) var pending: UInt64?

    init(interval: Duration) { self.interval = interval }

    enum Action: Equatable {
        case send(UInt64)
        /// Hold it; call `flush` at this instant (unless a flush is already due).
        case wait(until: ContinuousClock.Instant)
    }

    mutating func receive(_ seq: UInt64, now: ContinuousClock.Instant) -> Action {
        if let last = lastSent, now < last + interval {
            pending = seq
            return .wait(until: last + interval)
        }
        lastSent = now
        pending = nil
        return .send(seq)
    }

    /// The held notice, if any, now due.
    mutating func flush(now: ContinuousClock.Instant) -> UInt64? {
        guard let p = pending else { return nil }
        pending = nil
        lastSent = now
        return p
    }

    mutating func sentInitial(now: ContinuousClock.Instant) { lastSent = now }
}

enum EventStream {
    static let coalesce = Duration.milliseconds(250)
    static let ping = Duration.seconds(15)

    static func tick(_ seq: UInt64) -> String { "event: tick\ndata: {\"seq\":\(seq)}\n\n" }

    private enum Event: Sendable {
        case change(UInt64)
        case flush
        case ping
        case end
    }

    /// Writes events until the client goes away, the handler's stream ends, `stop` finishes (the
    /// server shutting down gracefully) or the task is cancelled.
    static func run(writer: inout any ResponseBodyWriter, changes: AsyncStream<UInt64>, stop: AsyncStream<Void>) async throws {
        let (events, sink) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(256))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await seq in changes { sink.yield(.change(seq)) }
                sink.yield(.end)
            }
            group.addTask {
                for await _ in stop {}
                sink.yield(.end)
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: ping)
                    sink.yield(.ping)
                }
            }
            defer { group.cancelAll() }
            var coalescer = TickCoalescer(interval: coalesce)
            // The first tick tells the page it is connected; the retry line makes it reconnect
            // within a second when the cluster restarts instead of Chrome's default 3 s.
            try await writer.write(ByteBuffer(string: tick(0) + "retry: 1000\n\n"))
            coalescer.sentInitial(now: .now)
            var flushDue = false
            for await event in events {
                switch event {
                case .change(let seq):
                    switch coalescer.receive(seq, now: .now) {
                    case .send(let s):
                        try await writer.write(ByteBuffer(string: tick(s)))
                    case .wait(let until):
                        if !flushDue {
                            flushDue = true
                            group.addTask {
                                try await Task.sleep(until: until, clock: .continuous)
                                sink.yield(.flush)
                            }
                        }
                    }
                case .flush:
                    flushDue = false
                    if let s = coalescer.flush(now: .now) { try await writer.write(ByteBuffer(string: tick(s))) }
                case .ping:
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                case .end:
                    if let s = coalescer.flush(now: .now) { try await writer.write(ByteBuffer(string: tick(s))) }
                    return
                }
            }
        }
    }
}
