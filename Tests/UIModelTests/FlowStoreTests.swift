// The flow store and the service map against flows recorded from a real lab run (LAB §3, the
// tenant-a default policy, §5; fixtures/README.md says how): the cards and edges the lab must
// show, drop attribution, filtered rows against what `porin observe --input-file` selects, and
// eviction keeping the aggregates equal to a fold over the ring (a property test).
import Foundation
import Hubble
import PropertyBased
import Testing
@testable import UIModel

enum LabFixture {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fixtures/lab-flows.jsonl").path

    /// The file's records, read as `porin observe --input-file` reads them.
    static let records: [FlowRecord] = {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? FlowJSON.record(String($0)) }
    }()

    static let flows: [Flow] = records.compactMap {
        if case let .flow(f, _, _) = $0 { return f }
        return nil
    }

    /// The plan's rule, restated: FORWARDED or DROPPED, not a reply, not a policy-verdict event,
    /// not a socket trace, and L7 only when dropped.
    static func countedBySpec(_ f: Flow) -> Bool {
        (f.verdict == 1 || f.verdict == 2) && f.isReply != true && f.eventType?.type != 5 && f.type != 3 && (f.type != 2 || f.verdict == 2)
    }

    static func isPolicyDrop(_ f: Flow) -> Bool { f.verdict == 2 && (f.dropReasonDesc == 133 || f.dropReasonDesc == 181) }

    static func port(_ f: Flow) -> Int { Int(f.l4?.ports?.destination ?? 0) }
}

/// Records the attribution closure's calls.
final class AttributionCalls: @unchecked Sendable {
    private let lock = NSLock()
    private var flows: [Flow] = []
    func record(_ f: Flow) { lock.withLock { flows.append(f) } }
    var all: [Flow] { lock.withLock { flows } }
}

private let defaultPolicy = PolicyRef(kind: "CiliumNetworkPolicy", namespace: "tenant-a", name: "default")
private let frontend = "pod:tenant-a/frontend-service"

private func labStore(capacity: Int = 16_383) -> FlowStore {
    let store = FlowStore(capacity: capacity)
    store.append(LabFixture.flows)
    return store
}

private func edge(_ m: MapResponse, _ from: String, _ to: String, _ port: Int, _ proto: String) -> MapEdge? {
    m.edges.first { $0.from == from && $0.to == to && $0.port == port && $0.protocol == proto }
}

@Suite("flow store and service map")
struct FlowStoreTests {
    @Test func theFixtureIsTheLabRun() {
        #expect(LabFixture.records.count > 100)
        #expect(LabFixture.flows.count == LabFixture.records.count)
        #expect(LabFixture.flows.contains { LabFixture.isPolicyDrop($0) && $0.destinationNames == ["api.twitter.com"] })
        #expect(LabFixture.flows.contains { LabFixture.isPolicyDrop($0) && $0.destination?.namespace == "tenant-b" })
    }

    @Test func theLabsCardsAreOnTheMap() throws {
        let map = labStore().map(namespace: nil)
        let cards = Dictionary(map.nodes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for id in [frontend, "pod:tenant-a/backend-service", "pod:tenant-b/backend-service", "dns:kube-system", "fqdn:api.twitter.com"] {
            #expect(cards[id] != nil, "no card \(id) among \(cards.keys.sorted())")
        }
        let counted = LabFixture.flows.filter(LabFixture.countedBySpec)

        let fe = try #require(cards[frontend])
        #expect(fe.kind == "workload" && fe.name == "frontend-service" && fe.namespace == "tenant-a")
        #expect(fe.pods == ["frontend-service"])
        // The pod's address; not the DNS proxy's, whose forwarded queries carry the pod's identity.
        let frontendIPs = Set(LabFixture.flows.filter { $0.source?.podName == "frontend-service" }.compactMap { $0.ip?.source })
        #expect(Set(fe.ips) == frontendIPs && frontendIPs.count == 1)
        #expect(fe.labels.contains("app=frontend-service"))
        #expect(!fe.labels.contains { $0.contains("io.kubernetes.pod.namespace") || $0.contains("io.cilium.k8s.") || $0.hasPrefix("k8s:") })

        let dns = try #require(cards["dns:kube-system"])
        #expect(dns.kind == "kube-dns" && dns.name == "kube-dns" && dns.namespace == "kube-system")
        let corednsPods = Set(counted.flatMap { [$0.source, $0.destination] }.compactMap { e in
            e.flatMap { $0.namespace == "kube-system" && !$0.podName.isEmpty ? $0.podName : nil }
        })
        #expect(Set(dns.pods) == corednsPods && corednsPods.count == 2)
        #expect(dns.ports.contains("53/UDP"))

        let twitter = try #require(cards["fqdn:api.twitter.com"])
        #expect(twitter.kind == "world" && twitter.name == "api.twitter.com" && twitter.namespace == "")
        let twitterIPs = Set(counted.filter { $0.destinationNames.first == "api.twitter.com" }.compactMap { $0.ip?.destination })
        #expect(Set(twitter.ips) == twitterIPs && !twitterIPs.isEmpty)
        #expect(twitter.ports == ["80/TCP"])

        #expect(cards["pod:tenant-b/backend-service"]?.namespace == "tenant-b")
        // The map holds exactly the cards its edges join.
        #expect(Set(map.nodes.map(\.id)) == Set(map.edges.flatMap { [$0.from, $0.to] }))
    }

    @Test func tenantBAndTwitterAreDroppedAndKubeDNSIsForwarded() throws {
        let map = labStore().map(namespace: "tenant-a")
        let counted = LabFixture.flows.filter(LabFixture.countedBySpec)
        func fromFrontend(_ f: Flow) -> Bool { f.source?.podName == "frontend-service" && f.source?.namespace == "tenant-a" }

        let toB = try #require(edge(map, frontend, "pod:tenant-b/backend-service", 80, "TCP"))
        let dropsToB = counted.filter { fromFrontend($0) && $0.destination?.namespace == "tenant-b" && LabFixture.port($0) == 80 && $0.verdict == 2 }
        #expect(toB.dropped > 0 && toB.dropped == dropsToB.count)
        // §3 reached tenant-b before the policy.
        #expect(toB.forwarded > 0)

        let toTwitter = try #require(edge(map, frontend, "fqdn:api.twitter.com", 80, "TCP"))
        let dropsToTwitter = counted.filter { fromFrontend($0) && $0.destinationNames == ["api.twitter.com"] && $0.verdict == 2 }
        #expect(toTwitter.dropped > 0 && toTwitter.dropped == dropsToTwitter.count)
        #expect(toTwitter.dns == ["api.twitter.com"])

        let toDNS = try #require(edge(map, frontend, "dns:kube-system", 53, "UDP"))
        #expect(toDNS.forwarded > 0 && toDNS.dropped == 0)
        // The DNS proxy's queries name the edge; the L7 records themselves are not counted.
        #expect(toDNS.dns.contains("api.twitter.com") && toDNS.dns.contains("backend-service.tenant-b.svc.cluster.local"))
        let l7Requests = LabFixture.flows.filter { $0.type == 2 && $0.l7?.type == 1 && fromFrontend($0) }
        #expect(!l7Requests.isEmpty && l7Requests.allSatisfy { !LabFixture.countedBySpec($0) })

        // Every edge of the tenant-a view touches tenant-a, and the view is the full map's edges that do.
        let all = labStore().map(namespace: nil)
        let namespaceOf = Dictionary(all.nodes.map { ($0.id, $0.namespace) }, uniquingKeysWith: { a, _ in a })
        #expect(map.edges == all.edges.filter { namespaceOf[$0.from] == "tenant-a" || namespaceOf[$0.to] == "tenant-a" })
        #expect(Set(map.nodes.map(\.id)) == Set(map.edges.flatMap { [$0.from, $0.to] }))
        #expect(Set(map.edges.map(\.id)).count == map.edges.count)
    }

    @Test func forwardedDNSRowsCarryTheirQueries() throws {
        let rows = labStore().rows(namespace: "tenant-a", matcher: nil).rows
        let dnsRow = try #require(rows.first { $0.source.id == frontend && $0.destination.id == "dns:kube-system" && $0.verdict == "forwarded" })
        #expect(dnsRow.l7.contains("DNS Query api.twitter.com. A"))
        let twitterRow = try #require(rows.first { $0.destination.id == "fqdn:api.twitter.com" && $0.verdict == "dropped" })
        #expect(twitterRow.flags == ["SYN"] && twitterRow.l7 == "")
        let fwdB = try #require(rows.first { $0.destination.id == "pod:tenant-b/backend-service" && $0.verdict == "forwarded" })
        // The flags of §3's connection, in Hubble's order.
        let seen = TCPFlags.fields.map(\.name).filter { name in
            LabFixture.flows.contains { f in
                guard LabFixture.countedBySpec(f), f.destination?.namespace == "tenant-b", f.verdict == 1, case let .tcp(_, _, flags?) = f.l4 else { return false }
                return flags.names.contains(name)
            }
        }
        #expect(Set(fwdB.flags) == Set(seen) && fwdB.flags == FlowSummary.flagOrder.filter(fwdB.flags.contains))
        // lastSeen is the newest of the row's flows, as Hubble prints times.
        let newest = LabFixture.flows.filter { LabFixture.countedBySpec($0) && $0.destinationNames.first == "api.twitter.com" && $0.verdict == 2 }.compactMap(\.time).max()
        #expect(twitterRow.lastSeen == newest.map(HubbleTimeFormat.rfc3339Nano.format))
    }

    @Test func droppedByComesFromTheAttributionClosureForPolicyDropsOnly() {
        let store = labStore()
        let calls = AttributionCalls()
        store.attribute = { f in
            calls.record(f)
            return [defaultPolicy, defaultPolicy]
        }
        let map = store.map(namespace: "tenant-a")
        for e in map.edges {
            #expect(e.droppedBy == (e.dropped > 0 ? [defaultPolicy] : []), "\(e.from) -> \(e.to):\(e.port)")
        }
        let rows = store.rows(namespace: "tenant-a", matcher: nil).rows
        #expect(rows.contains { $0.verdict == "dropped" })
        for r in rows {
            #expect(r.droppedBy == (r.verdict == "dropped" ? [defaultPolicy] : []), "\(r.source.id) -> \(r.destination.id) \(r.verdict)")
        }
        // Called once per evaluation key of the policy drops, never for a forwarded flow.
        let keys = Set(LabFixture.flows.filter { LabFixture.countedBySpec($0) && LabFixture.isPolicyDrop($0) }.map(EvalKey.init))
        #expect(calls.all.allSatisfy(LabFixture.isPolicyDrop))
        #expect(calls.all.count == keys.count && Set(calls.all.map(EvalKey.init)) == keys)
        _ = store.map(namespace: nil)
        _ = store.rowsWithFlows(namespace: nil)
        #expect(calls.all.count == keys.count)
        // Policies changed: the answers are recomputed on the next read.
        store.invalidateAttribution()
        #expect(calls.all.count == keys.count)
        _ = store.rows(namespace: nil, matcher: nil)
        #expect(calls.all.count == 2 * keys.count)
    }

    @Test func filteredRowsCountWhatObserveSelectsOnTheSameFile() throws {
        let store = labStore()
        let args = try ObserveArguments.parse(["--namespace", "tenant-a", "--verdict", "DROPPED", "--input-file", LabFixture.path], now: .now)
        // What `porin observe --input-file … --namespace tenant-a --verdict DROPPED` prints.
        let selected = args.select(LabFixture.records).compactMap { r -> Flow? in
            if case let .flow(f, _, _) = r { return f }
            return nil
        }
        let expected = selected.filter(LabFixture.countedBySpec)
        #expect(!expected.isEmpty && selected.count > expected.count)  // policy-verdict events are selected, not counted
        let rows = store.rows(namespace: "tenant-a", matcher: args.filters.matcher()).rows
        #expect(rows.allSatisfy { $0.verdict == "dropped" })
        #expect(rows.map(\.count).reduce(0, +) == expected.count)
        struct Key: Hashable { var from, to: String, port: Int, proto: String }
        var byKey: [Key: Int] = [:]
        for f in expected {
            let proto = FlowSummary.protocolNames[Int(FlowSummary.l4(f).proto)]
            byKey[Key(from: FlowCards.card(f, source: true).id, to: FlowCards.card(f, source: false).id, port: LabFixture.port(f), proto: proto), default: 0] += 1
        }
        let got = Dictionary(rows.map { (Key(from: $0.source.id, to: $0.destination.id, port: $0.port, proto: $0.protocol), $0.count) }, uniquingKeysWith: +)
        #expect(got == byKey)

        // A matcher that admits everything folds the ring into what the aggregates hold.
        for ns in [nil, "tenant-a", "tenant-b", "kube-system"] {
            #expect(store.rows(namespace: ns, matcher: FlowFilters().matcher()).rows == store.rows(namespace: ns, matcher: nil).rows)
        }
        // Raw flows: the newest `last` the matcher admits, oldest first.
        let raw = store.flows(matcher: args.filters.matcher(), last: 5)
        #expect(raw == Array(selected.suffix(5)))
        #expect(store.flows(matcher: nil, last: 1_000_000) == LabFixture.flows)
    }

    @Test func aRowGivesOneStoredFlowPerEvaluationKeyNewestFirst() throws {
        let store = labStore()
        let all = store.rowsWithFlows(namespace: nil)
        #expect(all.map(\.row) == store.rows(namespace: nil, matcher: nil).rows)
        for (row, flows) in all {
            let one = try #require(store.row(id: row.id))
            #expect(one.row == row && one.flows == flows)
            let mine = LabFixture.flows.filter {
                LabFixture.countedBySpec($0) && FlowCards.card($0, source: true).id == row.source.id
                    && FlowCards.card($0, source: false).id == row.destination.id && LabFixture.port($0) == row.port
                    && ($0.verdict == 2) == (row.verdict == "dropped")
            }
            #expect(mine.count == row.count)
            let keys = flows.map(EvalKey.init)
            #expect(Set(keys).count == keys.count && Set(keys) == Set(mine.map(EvalKey.init)))
            for k in keys {
                // The representative is the newest stored flow of its key.
                #expect(flows.first { EvalKey($0) == k } == mine.last { EvalKey($0) == k })
            }
            let times = flows.compactMap(\.time)
            #expect(times == times.sorted(by: >))
            #expect(row.id.allSatisfy { $0.isLetter || $0.isNumber })
        }
        #expect(store.row(id: "r0000000000000000") == nil)
    }

    @Test func namespaceCountsCountEachFlowOncePerNamespace() {
        var expected: [String: Int] = [:]
        for f in LabFixture.flows where LabFixture.countedBySpec(f) {
            let namespaces = Set([FlowCards.card(f, source: true).namespace, FlowCards.card(f, source: false).namespace]).subtracting([""])
            for ns in namespaces { expected[ns, default: 0] += 1 }
        }
        #expect(labStore().namespaceFlowCounts() == expected)
        #expect(expected["tenant-a"] != nil && expected["tenant-b"] != nil)
    }

    @Test func cardRulesForOtherEnds() throws {
        let drop = try #require(LabFixture.flows.first { LabFixture.isPolicyDrop($0) && $0.destinationNames == ["api.twitter.com"] })
        var f = drop
        f.destinationNames = []
        #expect(FlowCards.card(f, source: false).id == "world")
        f.destination?.labels = ["reserved:host"]
        #expect(FlowCards.card(f, source: false).id == "host")
        f.destination?.labels = ["reserved:remote-node"]
        #expect(FlowCards.card(f, source: false).kind == "remote-node")
        f.destination?.labels = []
        let unknown = FlowCards.card(f, source: false)
        #expect(unknown.id == "ip:192.0.2.10" && unknown.kind == "unknown" && unknown.name == "192.0.2.10")

        // The app label's precedence, with `app.kubernetes.io/` ignored; then the workload, then the pod.
        let toDNS = try #require(LabFixture.flows.first { $0.destination?.namespace == "kube-system" && !($0.destination?.workloads.isEmpty ?? true) })
        var g = toDNS
        g.destination?.namespace = "shop"
        g.destination?.labels = ["k8s:io.kubernetes.pod.namespace=shop"]
        #expect(FlowCards.card(g, source: false).id == "pod:shop/coredns")
        g.destination?.workloads = []
        #expect(FlowCards.card(g, source: false).id == "pod:shop/\(toDNS.destination!.podName)")
        g.destination?.labels = ["k8s:k8s-app=web", "k8s:app.kubernetes.io/name=shop-web"]
        #expect(FlowCards.card(g, source: false).name == "shop-web")
        #expect(FlowCards.appLabel(g.destination!.labels)! == ("app.kubernetes.io/name", "shop-web"))
        g.destination?.labels.append("k8s:app=web-2")
        #expect(FlowCards.card(g, source: false).id == "pod:shop/web-2")
    }

    @Test func changesYieldAfterAnAppendAndCoalesceWithin250ms() async throws {
        let store = FlowStore()
        let stream = store.changes()
        #expect(store.subscriberCount == 1)
        let flows = LabFixture.flows
        let consumer = Task { () -> [(UInt64, ContinuousClock.Instant)] in
            var got: [(UInt64, ContinuousClock.Instant)] = []
            for await seq in stream {
                got.append((seq, .now))
                if seq == 6 { break }
            }
            return got
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(5))
            consumer.cancel()
        }
        let start = ContinuousClock.now
        // One notice at once, then the next five appends coalesced into one, 250 ms after the first.
        for f in flows[0...5] { store.append([f]) }
        let got = await consumer.value
        watchdog.cancel()
        #expect(got.last?.0 == 6)
        #expect(got.count <= 2 && got.map(\.0) == got.map(\.0).sorted())
        if let last = got.last { #expect(last.1 - start >= .milliseconds(200)) }

        // A cancelled consumer ends its stream and leaves the store.
        let before = store.subscriberCount
        let second = store.changes()
        let waiting = Task { for await _ in second {} }
        #expect(store.subscriberCount == before + 1)
        waiting.cancel()
        await waiting.value
        #expect(store.subscriberCount == before)
    }

    @Test func evictionKeepsTheAggregatesEqualToAFoldOfTheRing() async {
        let fixture = LabFixture.flows
        await propertyCheck(count: 120, input: Gen.int(in: 1...150), Gen.bool(0.8).array(of: fixture.count), Gen.uint64(), Gen.int(in: 0...3)) { capacity, keep, seed, mode in
            let flows = zip(fixture, keep).filter(\.1).map(\.0)
            let attribution: @Sendable (Flow) -> [PolicyRef] = { f in
                [PolicyRef(kind: "CiliumNetworkPolicy", namespace: f.source?.namespace ?? "", name: "p\(f.l4?.ports?.destination ?? 0)")]
            }
            let store = FlowStore(capacity: capacity)
            // Mode 1: rebuild the aggregates often; mode 2: attribution set before the flows come.
            if mode == 1 { store.compactionThreshold = Int(seed % 20) + 5 }
            if mode == 2 { store.attribute = attribution }
            var rest = flows[...]
            var batches = seed
            while !rest.isEmpty {
                let n = Int(batches % 23) + 1
                batches = batches / 23 &+ 0x9e37_79b9_7f4a_7c15
                store.append(Array(rest.prefix(n)))
                rest = rest.dropFirst(n)
                if mode == 2 { _ = store.map(namespace: nil) }  // answers cached while flows are evicted
            }
            if mode != 2 { store.attribute = attribution }
            let ring = store.flows(matcher: nil, last: .max)
            #expect(ring == Array(flows.suffix(capacity)))
            #expect(store.count == ring.count)

            let fresh = FlowStore()
            fresh.attribute = attribution
            fresh.append(ring)
            // The ring's own entries exceed the threshold: the store has rebuilt at least once.
            if mode == 1 && fresh.internedCount > store.compactionThreshold { #expect(store.compactions > 0) }
            let dropped = try ObserveArguments.parse(["--verdict", "DROPPED"], now: .now).filters
            #expect(store.namespaceFlowCounts() == fresh.namespaceFlowCounts())
            for ns in [nil, "tenant-a", "tenant-b", "kube-system"] {
                let a = store.map(namespace: ns), b = fresh.map(namespace: ns)
                #expect(a.nodes == b.nodes, "capacity \(capacity), namespace \(ns ?? "all"): cards differ")
                #expect(a.edges == b.edges, "capacity \(capacity), namespace \(ns ?? "all"): edges differ")
                #expect(store.rows(namespace: ns, matcher: nil).rows == fresh.rows(namespace: ns, matcher: nil).rows)
                #expect(store.rows(namespace: ns, matcher: dropped.matcher()).rows == fresh.rows(namespace: ns, matcher: dropped.matcher()).rows)
                let ra = store.rowsWithFlows(namespace: ns), rb = fresh.rowsWithFlows(namespace: ns)
                #expect(ra.map(\.row) == rb.map(\.row) && ra.map(\.flows) == rb.map(\.flows))
            }
        }
    }
}
