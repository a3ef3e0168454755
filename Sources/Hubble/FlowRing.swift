// Hubble's per-node ring buffer of flows: a fixed capacity (4095 by default, 2^n − 1 as Hubble
// sizes it), the oldest record overwritten by the newest; every record has a sequence number so
// that a reader asking "after N" learns how many it missed (reported as HUBBLE_RING_BUFFER lost
// events, one per overwritten record, as Hubble does). Writers never wait for readers.
import Foundation

public final class FlowRing: @unchecked Sendable {
    public let capacity: Int
    private var slots: [FlowRecord?]
    /// Sequence number of the next record (the first record is 1).
    private var next: UInt64 = 1
    private let lock = NSLock()
    private var seenFlows: UInt64 = 0
    /// Flows written since start (Hubble's `seen_flows`).
    public var seen: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return seenFlows
    }

    /// `capacity` must be 2^n − 1 (Hubble's rule); 4095 by default.
    public init(capacity: Int = 4095) {
        precondition(capacity > 0 && (capacity + 1) & capacity == 0, "ring capacity must be 2^n - 1")
        self.capacity = capacity
        slots = [FlowRecord?](repeating: nil, count: capacity)
    }

    public static func validCapacity(_ n: Int) -> Bool { n > 0 && (n + 1) & n == 0 }

    public func append(_ r: FlowRecord) {
        lock.lock()
        slots[Int((next - 1) % UInt64(capacity))] = r
        next += 1
        if case .flow = r { seenFlows += 1 }
        if waiters.isEmpty {
            lock.unlock()
            return
        }
        let woken = waiters
        waiters = [:]
        lock.unlock()
        for c in woken.values { c.resume() }
    }

    /// Followers waiting for the next record (GetFlows with `follow`), by ticket.
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextTicket: UInt64 = 0

    /// Returns once a record after sequence number `after` exists, or when the task is cancelled
    /// (a client that went away must not keep its handler waiting for the next flow).
    public func waitForRecords(after: UInt64) async {
        let ticket = lock.withLock {
            nextTicket += 1
            return nextTicket
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if next - 1 > after || Task.isCancelled {
                    lock.unlock()
                    c.resume()
                    return
                }
                waiters[ticket] = c
                lock.unlock()
            }
        } onCancel: {
            lock.lock()
            let c = waiters.removeValue(forKey: ticket)
            lock.unlock()
            c?.resume()
        }
    }

    /// Records currently held.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return Int(min(next - 1, UInt64(capacity)))
    }

    /// The last sequence number written (0 when empty).
    public var lastSequence: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return next - 1
    }

    /// Flows whose time is at or after `t` (for Hubble's flows-per-second over the last minute).
    public func countFlows(since t: FlowTime) -> Int {
        lock.lock()
        defer { lock.unlock() }
        var n = 0
        for case let .flow(f, _, time)? in slots where (f.time ?? time).map({ $0 >= t }) ?? false { n += 1 }
        return n
    }

    /// Records with sequence numbers after `after`, oldest first, with how many of those the
    /// ring no longer holds (overwritten before this read).
    public func read(after: UInt64) -> (records: [FlowRecord], lost: UInt64, last: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        let last = next - 1
        guard after < last else { return ([], 0, last) }
        let oldest = last >= UInt64(capacity) ? last - UInt64(capacity) + 1 : 1
        let from = max(after + 1, oldest)
        let lost = from - (after + 1)
        var out: [FlowRecord] = []
        out.reserveCapacity(Int(last - from + 1))
        var s = from
        while s <= last {
            if let r = slots[Int((s - 1) % UInt64(capacity))] { out.append(r) }
            s += 1
        }
        return (out, lost, last)
    }
}
