// The web UI's flow store: the newest flows in a ring, each summarized once on append, with the
// service map's aggregates kept up to date on append and on eviction (ServiceMap.swift), drop
// attribution cached per evaluation key, and change notices for server-sent events.
import Foundation
import Hubble

/// Thread-safe: one lock guards the ring and the aggregates; the attribution closure runs outside
/// it. The closure must not call back into the store.
public final class FlowStore: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    /// Serializes attribution runs, so each key is computed once even with concurrent readers.
    private let attributionLock = NSLock()

    private var ring: [Flow] = []
    private var summaries: [FlowSummary] = []
    /// The oldest slot once the ring is full.
    private var head = 0
    private var appended: UInt64 = 0
    private var sequence: UInt64 = 0
    private var state = ServiceMapState()
    /// Interned entries (live or dead) beyond which the aggregates are rebuilt from the ring. The
    /// default is far above what the ring's flows can keep alive (at most 7 entries per flow), so
    /// rebuilds are rare and cost O(1) per appended flow on average.
    var compactionThreshold: Int
    private(set) var compactions = 0
    var internedCount: Int { lock.withLock { state.interned } }

    private var attributeClosure: (@Sendable (Flow) -> [PolicyRef])?
    private var attributionCache: [EvalKey: [PolicyRef]] = [:]
    private var attributionGeneration: UInt64 = 0

    private struct Subscriber {
        var continuation: AsyncStream<UInt64>.Continuation
        var lastYield: ContinuousClock.Instant?
        var scheduled = false
    }
    private var subscribers: [Int: Subscriber] = [:]
    private var nextSubscriber = 0
    static let tickInterval: Duration = .milliseconds(250)

    public init(capacity: Int = 16_383) {
        self.capacity = max(1, capacity)
        compactionThreshold = max(4096, 16 * self.capacity)
    }

    // MARK: Attribution

    /// Drop attribution: called, outside the store's lock and at most once per evaluation key
    /// until `invalidateAttribution()`, for DROPPED flows with drop reason 133 (Policy denied) or
    /// 181 (Policy denied by denylist). Its answer becomes the rows' and edges' `droppedBy`.
    /// Answers are computed lazily, when a map or rows are read. Setting it drops cached answers.
    public var attribute: (@Sendable (Flow) -> [PolicyRef])? {
        get { lock.withLock { attributeClosure } }
        set {
            lock.withLock {
                attributeClosure = newValue
                attributionCache = [:]
                attributionGeneration &+= 1
            }
        }
    }

    /// Forgets every attribution answer (the policies changed); they are recomputed on the next read.
    public func invalidateAttribution() {
        lock.withLock {
            attributionCache = [:]
            attributionGeneration &+= 1
        }
    }

    /// Computes the answers missing for the evaluation keys of the drops in the ring.
    private func resolveAttribution() {
        attributionLock.lock()
        defer { attributionLock.unlock() }
        lock.lock()
        guard let attribute = attributeClosure else {
            lock.unlock()
            return
        }
        let generation = attributionGeneration
        var todo: [(EvalKey, Flow)] = []
        for info in state.evalKeys where info.refs > 0 && attributionCache[info.key] == nil { todo.append((info.key, info.flow)) }
        lock.unlock()
        guard !todo.isEmpty else { return }
        let answers = todo.map { ($0.0, Array(Set(attribute($0.1))).sorted()) }
        lock.withLock {
            // Policies changed meanwhile: these answers may be stale, the next read recomputes.
            guard generation == attributionGeneration else { return }
            for (k, a) in answers { attributionCache[k] = a }
        }
    }

    /// Under the lock: the cached answer for an interned key.
    private func droppedBy(_ k: Int32) -> [PolicyRef] { attributionCache[state.evalKeys[Int(k)].key] ?? [] }

    // MARK: Appending

    /// Stores `flows` (oldest first), evicting the oldest beyond `capacity`.
    public func append(_ flows: [Flow]) {
        guard !flows.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        // Flows that would be evicted within this call are never summarized.
        let skipped = max(0, flows.count - capacity)
        appended &+= UInt64(skipped)
        // A big batch grows the ring once, not by repeated doubling (a Flow is large).
        let wanted = min(capacity, ring.count + flows.count - skipped)
        if ring.capacity < wanted {
            let target = min(capacity, max(wanted, 2 * ring.capacity))
            ring.reserveCapacity(target)
            summaries.reserveCapacity(target)
        }
        for f in flows.dropFirst(skipped) {
            appended &+= 1
            if ring.count == capacity {
                state.remove(summaries[head], ring[head])
                let s = state.summarize(f, number: appended)
                state.add(s, f)
                ring[head] = f
                summaries[head] = s
                head = head + 1 == capacity ? 0 : head + 1
            } else {
                let s = state.summarize(f, number: appended)
                state.add(s, f)
                ring.append(f)
                summaries.append(s)
            }
        }
        sequence &+= 1
        if state.interned > compactionThreshold { rebuild() }
        notify()
    }

    /// Replaces the aggregates by a fold over the ring, which drops entries no flow refers to.
    private func rebuild() {
        var fresh = ServiceMapState()
        for i in ringOrder() {
            let s = fresh.summarize(ring[i], number: summaries[i].number)
            fresh.add(s, ring[i])
            summaries[i] = s
        }
        state = fresh
        attributionCache = attributionCache.filter { state.evalKeyIndex[$0.key] != nil }
        compactions += 1
    }

    /// Ring slots, oldest first.
    private func ringOrder() -> [Int] {
        ring.count < capacity ? Array(ring.indices) : Array(head..<ring.count) + Array(0..<head)
    }

    /// Increments on every append that stored something.
    public var seq: UInt64 { lock.withLock { sequence } }

    /// Flows in the ring.
    public var count: Int { lock.withLock { ring.count } }

    // MARK: Reading

    /// The service map: edges with counted flows that touch `namespace` (nil: all), and exactly
    /// the cards they join.
    public func map(namespace: String?) -> MapResponse {
        resolveAttribution()
        return lock.withLock { state.mapResponse(seq: sequence, namespace: namespace, droppedBy: droppedBy) }
    }

    /// The grouped flows table. Without a matcher, from the aggregates; with one, from the flows
    /// in the ring it admits (counted flows count; allowed L7 requests add their L7 text).
    public func rows(namespace: String?, matcher: FlowFilterMatcher?) -> FlowRowsResponse {
        resolveAttribution()
        lock.lock()
        defer { lock.unlock() }
        let ports = state.portsByCard()
        var cards: [Int32: Card] = [:]
        guard let matcher else {
            let rows = state.liveRows(namespace: namespace).map {
                state.flowRow($0, ports: ports, cardCache: &cards, droppedBy: droppedBy)
            }
            return FlowRowsResponse(seq: sequence, rows: rows)
        }
        var inNamespace: [Int32: Bool] = [:]
        var folds: [Int32: RowFold] = [:]
        for i in ringOrder() {
            let s = summaries[i]
            guard s.role != .ignored else { continue }
            let wanted: Bool
            if let w = inNamespace[s.edge] { wanted = w } else {
                wanted = state.edge(Int(s.edge), in: namespace)
                inNamespace[s.edge] = wanted
            }
            guard wanted, matcher.admits(ring[i]) else { continue }
            folds[s.row, default: RowFold()].add(s, ring[i])
        }
        let live = folds.filter { $0.value.count > 0 }
        let order = state.sortedNewestFirst(Array(live.keys)) { live[$0]?.newest }
        let rows = order.map { state.flowRow($0, fold: live[$0], ports: ports, cardCache: &cards, droppedBy: droppedBy) }
        return FlowRowsResponse(seq: sequence, rows: rows)
    }

    /// Raw flows the matcher admits (nil: all), oldest first, at most the `last` newest.
    public func flows(matcher: FlowFilterMatcher?, last: Int) -> [Flow] {
        guard last > 0 else { return [] }
        lock.lock()
        defer { lock.unlock() }
        var out: [Flow] = []
        for i in ringOrder().reversed() {
            if let matcher, !matcher.admits(ring[i]) { continue }
            out.append(ring[i])
            if out.count == last { break }
        }
        return out.reversed()
    }

    /// A row by id, with one stored flow per evaluation key among its counted flows, newest first
    /// (what what-if evaluates and rule-from-flow reads). nil when the row has no flow in the ring.
    public func row(id: String) -> (row: FlowRow, flows: [Flow])? {
        resolveAttribution()
        lock.lock()
        defer { lock.unlock() }
        guard let r = state.rowIndex[id], state.rows[Int(r)].count > 0 else { return nil }
        var cards: [Int32: Card] = [:]
        let row = state.flowRow(r, ports: state.portsByCard(), cardCache: &cards, droppedBy: droppedBy)
        return (row, representatives(of: [r])[r] ?? [])
    }

    /// Every row of `namespace` (nil: all), newest first, each with its flows as `row(id:)` gives them.
    public func rowsWithFlows(namespace: String?) -> [(row: FlowRow, flows: [Flow])] {
        resolveAttribution()
        lock.lock()
        defer { lock.unlock() }
        let live = state.liveRows(namespace: namespace)
        let flows = representatives(of: Set(live))
        let ports = state.portsByCard()
        var cards: [Int32: Card] = [:]
        return live.map { (state.flowRow($0, ports: ports, cardCache: &cards, droppedBy: droppedBy), flows[$0] ?? []) }
    }

    /// Under the lock: per row, the newest counted flow of each evaluation key, newest first.
    private func representatives(of rows: Set<Int32>) -> [Int32: [Flow]] {
        var seen: [Int32: Set<EvalKey>] = [:]
        var out: [Int32: [Flow]] = [:]
        for i in ringOrder().reversed() {
            let s = summaries[i]
            guard s.role == .counted, rows.contains(s.row) else { continue }
            let f = ring[i]
            if seen[s.row, default: []].insert(EvalKey(f)).inserted { out[s.row, default: []].append(f) }
        }
        return out
    }

    /// Counted flows per namespace (a flow counts for its source's and destination's namespace).
    public func namespaceFlowCounts() -> [String: Int] { lock.withLock { state.namespaceFlowCounts() } }

    // MARK: Change notices

    /// Yields `seq` after appends, at most once per 250 ms (appends in between are coalesced into
    /// one notice, sent when the interval is over). Finishes when the consumer's task is cancelled.
    public func changes() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream.makeStream(of: UInt64.self, bufferingPolicy: .bufferingNewest(1))
        let id = lock.withLock {
            nextSubscriber += 1
            subscribers[nextSubscriber] = Subscriber(continuation: continuation)
            return nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            // Released after the lock: the continuation's storage must not go away under it.
            let removed = self.lock.withLock { self.subscribers.removeValue(forKey: id) }
            withExtendedLifetime(removed) {}
        }
        return stream
    }

    /// Under the lock, after an append.
    private func notify() {
        let now = ContinuousClock.now
        for (id, sub) in subscribers where !sub.scheduled {
            if let last = sub.lastYield, now - last < Self.tickInterval {
                subscribers[id]?.scheduled = true
                let due = last + Self.tickInterval
                Task { [weak self] in
                    try? await Task.sleep(until: due, clock: .continuous)
                    self?.tick(id)
                }
            } else {
                subscribers[id]?.lastYield = now
                if case .terminated = sub.continuation.yield(sequence) { subscribers[id] = nil }
            }
        }
    }

    /// Open `changes()` streams.
    var subscriberCount: Int { lock.withLock { subscribers.count } }

    private func tick(_ id: Int) {
        lock.withLock {
            guard var sub = subscribers[id] else { return }
            sub.scheduled = false
            sub.lastYield = .now
            subscribers[id] = sub
            if case .terminated = sub.continuation.yield(sequence) { subscribers[id] = nil }
        }
    }
}
