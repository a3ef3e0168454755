// The flow store's aggregates, kept up to date flow by flow (add on append, remove on eviction):
// cards, edges (source card, destination card, port, protocol) and rows (an edge and a verdict),
// and their folding into the JSON shapes of /api/map and /api/flows?group=1. Every aggregate is a
// count or a multiset, so removing a flow undoes its adding exactly and the aggregates always
// equal a fold over the flows in the ring.
import Hubble

/// The newest time among the flows of one aggregate still in the ring. The ring evicts in append
/// order, so this is a sliding-window maximum: times kept in decreasing order, each with its
/// flow's append number; an eviction pops the front when it is that flow.
struct NewestWindow: Equatable {
    private var numbers: [UInt64] = []
    private var times: [FlowTime] = []
    private var head = 0

    mutating func add(_ number: UInt64, _ time: FlowTime) {
        while times.count > head, times[times.count - 1] <= time {
            times.removeLast()
            numbers.removeLast()
        }
        numbers.append(number)
        times.append(time)
    }

    mutating func remove(_ number: UInt64) {
        guard head < numbers.count, numbers[head] == number else { return }
        head += 1
        if head == numbers.count {
            numbers.removeAll(keepingCapacity: true)
            times.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= numbers.count {
            numbers.removeFirst(head)
            times.removeFirst(head)
            head = 0
        }
    }

    var newest: FlowTime? { head < times.count ? times[head] : nil }
}

struct SideInfo {
    var key: SideKey
    var rule: CardRule
    /// The card, or -1 for an `ip:` card (one per address).
    var card: Int32
    /// Whether the end's address belongs on the card: not for a pod's card when the end is no
    /// pod (the DNS proxy's 169.254.1.1 speaking with the pod's identity).
    var showsIP: Bool
}

struct CardAgg {
    var base: Card
    /// Counted flow ends per interned side: pods and labels come from the sides still present.
    var sides: [Int32: Int] = [:]
    var ips: [String: Int] = [:]
    var refs = 0
}

struct EdgeKey: Hashable {
    var src: Int32
    var dst: Int32
    var port: UInt16
    var proto: UInt8
}

struct EdgeAgg {
    var key: EdgeKey
    var id: String
    /// The edge's key as text (what its id and its rows' ids hash).
    var keyText: String
    var forwarded = 0
    var dropped = 0
    /// DNS query names asked on the edge and names known for its destination.
    var dns: [String: Int] = [:]
    var newest = NewestWindow()
    var rowForwarded: Int32 = -1
    var rowDropped: Int32 = -1
    /// Flows referring to the edge (counted and attached).
    var refs = 0
    var count: Int { forwarded + dropped }
}

struct RowAgg {
    var id: String
    var edge: Int32
    var dropped: Bool
    var count = 0
    var flagCounts = [Int](repeating: 0, count: FlowSummary.flagOrder.count)
    var l7: [String: Int] = [:]
    /// Attributable drops per interned evaluation key.
    var evalKeys: [Int32: Int] = [:]
    var newest = NewestWindow()
    var refs = 0

    var flagBits: UInt16 {
        var b: UInt16 = 0
        for (i, n) in flagCounts.enumerated() where n > 0 { b |= 1 << i }
        return b
    }
}

struct EvalKeyInfo {
    var key: EvalKey
    /// The newest attributable drop with this key: what the attribution closure is given.
    var flow: Flow
    var refs = 0
}

/// All the aggregates of the flows in the ring. Entries are interned and only ever appended (ids
/// stay stable), so the store rebuilds this from the ring when too many dead entries pile up.
struct ServiceMapState {
    var sides: [SideInfo] = []
    var sideIndex: [SideKey: Int32] = [:]
    var cards: [CardAgg] = []
    var cardIndex: [String: Int32] = [:]
    var edges: [EdgeAgg] = []
    var edgeIndex: [EdgeKey: Int32] = [:]
    var rows: [RowAgg] = []
    var rowIndex: [String: Int32] = [:]
    var evalKeys: [EvalKeyInfo] = []
    var evalKeyIndex: [EvalKey: Int32] = [:]

    var interned: Int { sides.count + cards.count + edges.count + rows.count + evalKeys.count }

    // MARK: Summaries

    mutating func summarize(_ f: Flow, number: UInt64) -> FlowSummary {
        let role = FlowSummary.role(of: f)
        let l4 = FlowSummary.l4(f)
        var s = FlowSummary(role: role, dropped: f.verdict == 2, attributable: false, flags: l4.flags, port: l4.port, proto: l4.proto,
                            number: number, time: f.time ?? FlowTime(seconds: 0, nanos: 0))
        guard role != .ignored else { return s }
        s.srcSide = side(f, source: true)
        s.dstSide = side(f, source: false)
        s.srcCard = card(side: s.srcSide, ip: f.ip?.source ?? "")
        s.dstCard = card(side: s.dstSide, ip: f.ip?.destination ?? "")
        s.edge = edge(EdgeKey(src: s.srcCard, dst: s.dstCard, port: s.port, proto: s.proto))
        s.row = row(edge: s.edge, dropped: s.dropped)
        if role == .counted && FlowSummary.isAttributable(f) {
            s.attributable = true
            s.evalKey = evalKey(f)
        }
        return s
    }

    /// Recently used sides by a cheap slot of their key: most flows repeat a few ends, and
    /// comparing a key with a remembered one (equal strings share storage) beats hashing its labels.
    private var sideMemo = [Int32](repeating: -1, count: 256)

    private mutating func side(_ f: Flow, source: Bool) -> Int32 {
        let key = SideKey(f, source: source)
        let slot = key.memoSlot
        let m = sideMemo[slot]
        if m >= 0, sides[Int(m)].key == key { return m }
        if let i = sideIndex[key] {
            sideMemo[slot] = i
            return i
        }
        let rule = CardRule(endpoint: source ? f.source : f.destination, names: source ? f.sourceNames : f.destinationNames)
        var card: Int32 = -1
        if let base = rule.base { card = intern(card: base) }
        let i = Int32(sides.count)
        let podCard = rule.base.map { $0.kind == "workload" || $0.kind == "kube-dns" } ?? false
        sides.append(SideInfo(key: key, rule: rule, card: card, showsIP: !podCard || !key.pod.isEmpty))
        sideIndex[key] = i
        sideMemo[slot] = i
        return i
    }

    private mutating func card(side: Int32, ip: String) -> Int32 {
        let s = sides[Int(side)]
        if s.card >= 0 { return s.card }
        return intern(card: s.rule.card(ip: ip))
    }

    private mutating func intern(card: Card) -> Int32 {
        if let i = cardIndex[card.id] { return i }
        let i = Int32(cards.count)
        var base = card
        base.labels = []
        cards.append(CardAgg(base: base))
        cardIndex[card.id] = i
        return i
    }

    private mutating func edge(_ key: EdgeKey) -> Int32 {
        if let i = edgeIndex[key] { return i }
        let text = "\(cards[Int(key.src)].base.id) > \(cards[Int(key.dst)].base.id) \(key.port)/\(FlowSummary.protocolNames[Int(key.proto)])"
        let i = Int32(edges.count)
        edges.append(EdgeAgg(key: key, id: FlowSummary.stableID("e", text), keyText: text))
        edgeIndex[key] = i
        return i
    }

    private mutating func row(edge: Int32, dropped: Bool) -> Int32 {
        let e = edges[Int(edge)]
        let existing = dropped ? e.rowDropped : e.rowForwarded
        if existing >= 0 { return existing }
        let id = FlowSummary.stableID("r", e.keyText + (dropped ? " dropped" : " forwarded"))
        let i = Int32(rows.count)
        rows.append(RowAgg(id: id, edge: edge, dropped: dropped))
        rowIndex[id] = i
        if dropped { edges[Int(edge)].rowDropped = i } else { edges[Int(edge)].rowForwarded = i }
        return i
    }

    private mutating func evalKey(_ f: Flow) -> Int32 {
        let key = EvalKey(f)
        if let i = evalKeyIndex[key] { return i }
        let i = Int32(evalKeys.count)
        evalKeys.append(EvalKeyInfo(key: key, flow: f))
        evalKeyIndex[key] = i
        return i
    }

    // MARK: Adding and removing

    mutating func add(_ s: FlowSummary, _ f: Flow) {
        guard s.role != .ignored else { return }
        let e = Int(s.edge), r = Int(s.row)
        edges[e].refs += 1
        rows[r].refs += 1
        if f.type == 2 {
            if let q = f.l7?.dns?.query, !q.isEmpty { edges[e].dns[CardRule.withoutTrailingDot(q), default: 0] += 1 }
            if !f.summary.isEmpty { rows[r].l7[f.summary, default: 0] += 1 }
        }
        guard s.role == .counted else { return }
        addEnd(card: s.srcCard, side: s.srcSide, ip: f.ip?.source ?? "")
        addEnd(card: s.dstCard, side: s.dstSide, ip: f.ip?.destination ?? "")
        if s.dropped { edges[e].dropped += 1 } else { edges[e].forwarded += 1 }
        edges[e].newest.add(s.number, s.time)
        for n in f.destinationNames { edges[e].dns[n, default: 0] += 1 }
        rows[r].count += 1
        rows[r].newest.add(s.number, s.time)
        if s.flags != 0 {
            for i in 0..<FlowSummary.flagOrder.count where s.flags & (1 << i) != 0 { rows[r].flagCounts[i] += 1 }
        }
        if s.evalKey >= 0 {
            rows[r].evalKeys[s.evalKey, default: 0] += 1
            evalKeys[Int(s.evalKey)].refs += 1
            evalKeys[Int(s.evalKey)].flow = f
        }
    }

    mutating func remove(_ s: FlowSummary, _ f: Flow) {
        guard s.role != .ignored else { return }
        let e = Int(s.edge), r = Int(s.row)
        edges[e].refs -= 1
        rows[r].refs -= 1
        if f.type == 2 {
            if let q = f.l7?.dns?.query, !q.isEmpty { Self.decrement(&edges[e].dns, CardRule.withoutTrailingDot(q)) }
            if !f.summary.isEmpty { Self.decrement(&rows[r].l7, f.summary) }
        }
        guard s.role == .counted else { return }
        removeEnd(card: s.srcCard, side: s.srcSide, ip: f.ip?.source ?? "")
        removeEnd(card: s.dstCard, side: s.dstSide, ip: f.ip?.destination ?? "")
        if s.dropped { edges[e].dropped -= 1 } else { edges[e].forwarded -= 1 }
        edges[e].newest.remove(s.number)
        for n in f.destinationNames { Self.decrement(&edges[e].dns, n) }
        rows[r].count -= 1
        rows[r].newest.remove(s.number)
        if s.flags != 0 {
            for i in 0..<FlowSummary.flagOrder.count where s.flags & (1 << i) != 0 { rows[r].flagCounts[i] -= 1 }
        }
        if s.evalKey >= 0 {
            Self.decrement(&rows[r].evalKeys, s.evalKey)
            evalKeys[Int(s.evalKey)].refs -= 1
        }
    }

    private mutating func addEnd(card c: Int32, side: Int32, ip: String) {
        let i = Int(c)
        cards[i].refs += 1
        cards[i].sides[side, default: 0] += 1
        if !ip.isEmpty && sides[Int(side)].showsIP { cards[i].ips[ip, default: 0] += 1 }
    }

    private mutating func removeEnd(card c: Int32, side: Int32, ip: String) {
        let i = Int(c)
        cards[i].refs -= 1
        Self.decrement(&cards[i].sides, side)
        if !ip.isEmpty && sides[Int(side)].showsIP { Self.decrement(&cards[i].ips, ip) }
    }

    private static func decrement<K: Hashable>(_ d: inout [K: Int], _ k: K) {
        guard let n = d[k] else { return }
        if n <= 1 { d[k] = nil } else { d[k] = n - 1 }
    }
}

// MARK: - Folding into the API's shapes

extension ServiceMapState {
    /// How many pods and addresses a card lists.
    static let cardListLimit = 50
    /// How many distinct L7 texts a row lists.
    static let l7Limit = 10

    /// Whether the edge touches `namespace` (nil: every edge).
    func edge(_ e: Int, in namespace: String?) -> Bool {
        guard let namespace else { return true }
        let k = edges[e].key
        return cards[Int(k.src)].base.namespace == namespace || cards[Int(k.dst)].base.namespace == namespace
    }

    /// Destination ports of the edges (with counted flows) into each card.
    func portsByCard() -> [Int32: [String]] {
        var ports: [Int32: Set<EdgeKey>] = [:]
        for e in edges where e.count > 0 {
            ports[e.key.dst, default: []].insert(EdgeKey(src: 0, dst: 0, port: e.key.port, proto: e.key.proto))
        }
        return ports.mapValues { set in
            set.sorted { ($0.port, $0.proto) < ($1.port, $1.proto) }.map { k in
                let proto = FlowSummary.protocolNames[Int(k.proto)]
                return k.port == 0 ? proto : "\(k.port)/\(proto)"
            }
        }
    }

    func card(_ c: Int32, ports: [Int32: [String]]) -> Card {
        let a = cards[Int(c)]
        var card = a.base
        var pods = Set<String>()
        var labels: Set<String>?
        for (side, _) in a.sides {
            let s = sides[Int(side)]
            if !s.key.pod.isEmpty { pods.insert(s.key.pod) }
            // Labels the card's pods share: pods of one app may differ in the others.
            if labels == nil { labels = Set(s.rule.labels) } else { labels!.formIntersection(s.rule.labels) }
        }
        card.labels = (labels ?? []).sorted()
        card.pods = Array(pods.sorted().prefix(Self.cardListLimit))
        card.ips = Array(a.ips.keys.sorted().prefix(Self.cardListLimit))
        card.ports = ports[c] ?? []
        return card
    }

    static func lastSeen(_ t: FlowTime?) -> String {
        guard let t else { return "" }
        return HubbleTimeFormat.rfc3339Nano.format(t)
    }

    static func l7Text(_ texts: [String: Int]) -> String {
        let sorted = texts.keys.sorted()
        var shown = sorted.prefix(l7Limit).joined(separator: "; ")
        if sorted.count > l7Limit { shown += "; … (\(sorted.count - l7Limit) more)" }
        return shown
    }

    func mapResponse(seq: UInt64, namespace: String?, droppedBy: (Int32) -> [PolicyRef]) -> MapResponse {
        let ports = portsByCard()
        var touched = Set<Int32>()
        var out: [MapEdge] = []
        for (i, e) in edges.enumerated() where e.count > 0 && edge(i, in: namespace) {
            touched.insert(e.key.src)
            touched.insert(e.key.dst)
            var by = Set<PolicyRef>()
            if e.rowDropped >= 0 { for k in rows[Int(e.rowDropped)].evalKeys.keys { by.formUnion(droppedBy(k)) } }
            out.append(MapEdge(id: e.id, from: cards[Int(e.key.src)].base.id, to: cards[Int(e.key.dst)].base.id, port: Int(e.key.port),
                               protocol: FlowSummary.protocolNames[Int(e.key.proto)], forwarded: e.forwarded, dropped: e.dropped,
                               lastSeen: Self.lastSeen(e.newest.newest), dns: e.dns.keys.sorted(), droppedBy: by.sorted()))
        }
        out.sort { ($0.from, $0.to, $0.port, $0.protocol) < ($1.from, $1.to, $1.port, $1.protocol) }
        let nodes = touched.map { card($0, ports: ports) }.sorted { $0.id < $1.id }
        return MapResponse(seq: seq, nodes: nodes, edges: out)
    }

    /// A row from its aggregate, or from a fold of some of its flows (`fold`, for filtered queries).
    func flowRow(_ r: Int32, fold: RowFold? = nil, ports: [Int32: [String]], cardCache: inout [Int32: Card], droppedBy: (Int32) -> [PolicyRef]) -> FlowRow {
        let a = rows[Int(r)]
        let e = edges[Int(a.edge)]
        func cardValue(_ c: Int32) -> Card {
            if let v = cardCache[c] { return v }
            let v = card(c, ports: ports)
            cardCache[c] = v
            return v
        }
        let count = fold?.count ?? a.count
        let flags = fold?.flags ?? a.flagBits
        let l7 = fold?.l7 ?? a.l7
        let newest = fold.map { $0.newest } ?? a.newest.newest
        var by = Set<PolicyRef>()
        for k in fold?.evalKeys ?? Set(a.evalKeys.keys) { by.formUnion(droppedBy(k)) }
        return FlowRow(id: a.id, source: cardValue(e.key.src), destination: cardValue(e.key.dst), port: Int(e.key.port),
                       protocol: FlowSummary.protocolNames[Int(e.key.proto)], l7: Self.l7Text(l7), verdict: a.dropped ? "dropped" : "forwarded",
                       count: count, flags: FlowSummary.flagNames(flags), lastSeen: Self.lastSeen(newest), droppedBy: by.sorted())
    }

    /// The row indices with counted flows, in `namespace`, newest first.
    func liveRows(namespace: String?) -> [Int32] {
        var out: [Int32] = []
        for (i, r) in rows.enumerated() where r.count > 0 && edge(Int(r.edge), in: namespace) { out.append(Int32(i)) }
        return sortedNewestFirst(out) { rows[Int($0)].newest.newest }
    }

    func sortedNewestFirst(_ rs: [Int32], newest: (Int32) -> FlowTime?) -> [Int32] {
        let zero = FlowTime(seconds: 0, nanos: 0)
        return rs.map { (r: $0, t: newest($0) ?? zero, id: rows[Int($0)].id) }
            .sorted { $0.t != $1.t ? $0.t > $1.t : $0.id < $1.id }
            .map(\.r)
    }

    /// Counted flows per namespace: a flow counts for its source's and its destination's namespace
    /// (once when they are the same).
    func namespaceFlowCounts() -> [String: Int] {
        var out: [String: Int] = [:]
        for e in edges where e.count > 0 {
            let a = cards[Int(e.key.src)].base.namespace, b = cards[Int(e.key.dst)].base.namespace
            if !a.isEmpty { out[a, default: 0] += e.count }
            if !b.isEmpty && b != a { out[b, default: 0] += e.count }
        }
        return out
    }
}

/// One row's figures folded from the flows a filter admits.
struct RowFold {
    var count = 0
    var flags: UInt16 = 0
    var l7: [String: Int] = [:]
    var evalKeys = Set<Int32>()
    var newest: FlowTime?

    mutating func add(_ s: FlowSummary, _ f: Flow) {
        if f.type == 2, !f.summary.isEmpty { l7[f.summary, default: 0] += 1 }
        guard s.role == .counted else { return }
        count += 1
        flags |= s.flags
        if s.evalKey >= 0 { evalKeys.insert(s.evalKey) }
        if newest == nil || newest! < s.time { newest = s.time }
    }
}
