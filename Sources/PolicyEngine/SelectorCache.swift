// The selector cache: every distinct peer selector once, with the set of identities it selects,
// kept current as identities come and go (Cilium's `SelectorCache`).

public typealias SelectorID = Int32

struct CachedSelector {
    var spec: EndpointSelectorSpec
    var selected: Set<NumericIdentity>
    var refs: Int
}

struct SelectorCache {
    private(set) var ids: [EndpointSelectorSpec: SelectorID] = [:]
    private(set) var entries: [SelectorID: CachedSelector] = [:]
    private var nextID: SelectorID = 1
    /// Selectors that pin a pod namespace can only select identities of that namespace.
    private var byNamespace: [String: Set<SelectorID>] = [:]
    private var unpinned: Set<SelectorID> = []

    /// Interns `spec`; a new selector is matched against `candidates` (the identities it could select).
    mutating func acquire(_ spec: EndpointSelectorSpec, candidates: [(NumericIdentity, LabelSet)]) -> (SelectorID, isNew: Bool) {
        if let id = ids[spec] {
            entries[id]!.refs += 1
            return (id, false)
        }
        let id = nextID
        nextID += 1
        var selected = Set<NumericIdentity>()
        for (n, l) in candidates where spec.matches(l) { selected.insert(n) }
        ids[spec] = id
        entries[id] = CachedSelector(spec: spec, selected: selected, refs: 1)
        if let ns = spec.pinnedNamespace { byNamespace[ns, default: []].insert(id) } else { unpinned.insert(id) }
        return (id, true)
    }

    mutating func release(_ id: SelectorID) -> EndpointSelectorSpec? {
        guard var e = entries[id] else { return nil }
        e.refs -= 1
        if e.refs > 0 { entries[id] = e; return nil }
        entries[id] = nil
        ids[e.spec] = nil
        if let ns = e.spec.pinnedNamespace { byNamespace[ns]?.remove(id) } else { unpinned.remove(id) }
        return e.spec
    }

    private func candidates(for labels: LabelSet) -> [SelectorID] {
        var out = Array(unpinned)
        if let ns = labels.namespace, let s = byNamespace[ns] { out += s }
        return out
    }

    func selected(_ id: SelectorID) -> Set<NumericIdentity> { entries[id]?.selected ?? [] }

    func selects(_ id: SelectorID, _ identity: NumericIdentity) -> Bool { entries[id]?.selected.contains(identity) ?? false }

    func spec(_ id: SelectorID) -> EndpointSelectorSpec? { entries[id]?.spec }

    /// Adds an identity; returns the selectors that now select it.
    mutating func addIdentity(_ n: NumericIdentity, _ labels: LabelSet) -> [SelectorID] {
        var hit: [SelectorID] = []
        for id in candidates(for: labels) where entries[id]!.spec.matches(labels) {
            entries[id]!.selected.insert(n)
            hit.append(id)
        }
        return hit
    }

    /// Removes an identity; returns the selectors that selected it.
    mutating func removeIdentity(_ n: NumericIdentity, _ labels: LabelSet) -> [SelectorID] {
        var hit: [SelectorID] = []
        for id in candidates(for: labels) where entries[id]!.selected.contains(n) {
            entries[id]!.selected.remove(n)
            hit.append(id)
        }
        return hit
    }

    var count: Int { entries.count }
}
