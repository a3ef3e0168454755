// The web UI's feed of flows: one GetFlows(follow) on Hubble Relay's unix socket, into the UI's
// flow store (the ring's flows first, then live ones). When the stream ends (the agent restarts),
// it reconnects after 0.5 s, 1 s, 2 s … at most 5 s, asking only for flows since the last one it
// holds, and skips the ones it already has.
import Foundation
import Hubble
import HubbleAPI
import HubbleProto
import UIModel

final class FlowRecorder: @unchecked Sendable {
    let address: HubbleAddress
    let store: FlowStore
    let lock = NSLock()
    /// The newest flow time seen, and the uuids of the latest flows (a bounded window): after a
    /// reconnect the relay replays from a second before `newest`, and these say what is stored.
    var newest: FlowTime?
    var recent = Set<String>()
    var recentOrder: [String] = []
    var recentNext = 0
    static let window = 32_768

    init(address: HubbleAddress, store: FlowStore) {
        self.address = address
        self.store = store
    }

    /// Runs forever on its own thread.
    func start(log: @escaping @Sendable (String) -> Void) {
        flushLoop()
        Thread.detachNewThread { [self] in
            var delay: Double = 0.5
            var failures = 0
            while true {
                let got: Int
                do { got = try runBlocking { try await self.follow() } } catch {
                    failures += 1
                    if failures == 1 || failures % 60 == 0 { log("web UI flows: \(HubbleClient.describe(error)); retrying") }
                    got = 0
                }
                if got > 0 { delay = 0.5; failures = 0 }
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 5)
            }
        }
    }

    /// Flows received and not yet stored: a flusher stores them every 50 ms, so a burst costs one
    /// aggregate update per batch and a lone flow waits at most 50 ms.
    var pending: [Flow] = []

    func flushLoop() {
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.05)
                let batch: [Flow] = lock.withLock {
                    defer { pending.removeAll(keepingCapacity: true) }
                    return pending
                }
                if !batch.isEmpty { store.append(batch) }
            }
        }
    }

    /// One stream until it ends; returns how many flows it received.
    func follow() async throws -> Int {
        var request = Observer_GetFlowsRequest()
        request.follow = true
        request.number = UInt64(store.capacity)
        if let t = lock.withLock({ newest }) { request.since = FlowTime(seconds: t.seconds - 1, nanos: t.nanos).proto }
        return try await HubbleClient(address).withObserver { [request] observer in
            try await observer.getFlows(request) { stream in
                var received = 0
                for try await m in stream.messages {
                    guard case let .flow(f, _, _)? = FlowRecord(response: m) else { continue }
                    self.lock.withLock {
                        guard self.isNewLocked(f) else { return }
                        self.pending.append(f)
                        received += 1
                    }
                }
                return received
            }
        }
    }

    /// False for a flow already stored before a reconnect (same uuid).
    func isNewLocked(_ f: Flow) -> Bool {
        if let t = f.time, newest.map({ t > $0 }) ?? true { newest = t }
        guard !f.uuid.isEmpty else { return true }
        guard recent.insert(f.uuid).inserted else { return false }
        if recentOrder.count < Self.window {
            recentOrder.append(f.uuid)
        } else {
            recent.remove(recentOrder[recentNext])
            recentOrder[recentNext] = f.uuid
            recentNext = (recentNext + 1) % Self.window
        }
        return true
    }
}
