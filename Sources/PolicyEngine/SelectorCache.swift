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

    /// Interns `spec`; a new selector is matched against every identity in `identities`.
    mutating func acquire(_ spec: EndpointSelectorSpec, identities: [NumericIdentity: LabelSet]) -> (SelectorID, isNew: Bool) {
        if let id = ids[spec] {
            entries[id]!.refs += 1
            return (id, false)
        }
        let id = nextID
        nextID += 1
        var selected = Set<NumericIdentity>()
        for (n, l) in identities where spec.matches(l) { selected.insert(n) }
        ids[spec] = id
        entries[id] = CachedSelector(spec: spec, selected: selected, refs: 1)
        return (id, true)
    }

    mutating func release(_ id: SelectorID) -> EndpointSelectorSpec? {
        guard var e = entries[id] else { return nil }
        e.refs -= 1
        if e.refs > 0 { entries[id] = e; return nil }
        entries[id] = nil
        ids[e.spec] = nil
        return e.spec
    }

    func selected(_ id: SelectorID) -> Set<NumericIdentity> { entries[id]?.selected ?? [] }

    func selects(_ id: SelectorID, _ identity: NumericIdentity) -> Bool { entries[id]?.selected.contains(identity) ?? false }

    func spec(_ id: SelectorID) -> EndpointSelectorSpec? { entries[id]?.spec }

    /// Adds an identity; returns the selectors that now select it.
    mutating func addIdentity(_ n: NumericIdentity, _ labels: LabelSet) -> [SelectorID] {
        var hit: [SelectorID] = []
        for (id, e) in entries where e.spec.matches(labels) {
            entries[id]!.selected.insert(n)
            hit.append(id)
        }
        return hit
    }

    /// Removes an identity; returns the selectors that selected it.
    mutating func removeIdentity(_ n: NumericIdentity) -> [SelectorID] {
        var hit: [SelectorID] = []
        for (id, e) in entries where e.selected.contains(n) {
            entries[id]!.selected.remove(n)
            hit.append(id)
        }
        return hit
    }

    var count: Int { entries.count }
}
