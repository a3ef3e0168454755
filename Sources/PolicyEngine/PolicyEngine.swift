// The policy engine: endpoints, identities, policies and their resolution into policy maps,
// updated incrementally (a change recomputes only the subjects and identities it touches).
// Pure and deterministic: no I/O, no clocks, no globals.
import PolicyAPI

public struct EndpointInfo: Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var labels: [String: String]
    public var serviceAccount: String
    public var namedPorts: [NamedPort]
    public var ips: [IPAddress]

    public init(namespace: String, name: String, labels: [String: String], serviceAccount: String = "default",
                namedPorts: [NamedPort] = [], ips: [IPAddress] = []) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.serviceAccount = serviceAccount
        self.namedPorts = namedPorts.sorted()
        self.ips = ips
    }

    public var fullName: String { "\(namespace)/\(name)" }
}

/// The verdict of one direction for one packet, with the policies that decided it.
public struct DirectionVerdict: Hashable, Sendable {
    public var direction: TrafficDirection
    public var allowed: Bool
    public var enforced: Bool
    public var matchType: PolicyMatchType
    public var redirect: L7Parser?
    public var key: PolicyKey?
    public var entry: PolicyEntry?
    /// For allows and denylist drops: the policies of the matched entry. For default-deny drops:
    /// the policies that put the endpoint into default deny for this direction.
    public var policies: [PolicyReference]
    public var dropReason: UInt8?
}

public final class PolicyEngine: @unchecked Sendable {
    public let config: EngineConfig
    private var translator: RuleTranslator

    /// Immutable once stored; a class so that walking rules does not copy their contents.
    final class StoredRule {
        let policy: PolicyReference
        let subject: EndpointSelectorSpec?
        let ingress: StoredSection?
        let egress: StoredSection?
        init(policy: PolicyReference, subject: EndpointSelectorSpec?, ingress: StoredSection?, egress: StoredSection?) {
            self.policy = policy
            self.subject = subject
            self.ingress = ingress
            self.egress = egress
        }
        func section(_ d: TrafficDirection) -> StoredSection? { d == .ingress ? ingress : egress }
    }
    struct StoredSection {
        var defaultDeny: Bool
        var contributions: [StoredContribution]
    }
    struct StoredContribution {
        var peers: [SelectorID]
        var wildcard: Bool
        var ports: [PortSpec]?
        var entry: PolicyEntry
        /// The key triples when they do not depend on the subject (no named ports).
        var staticKeys: [(UInt8, UInt16, UInt8)]?
    }

    struct EndpointRecord {
        var info: EndpointInfo
        var identity: NumericIdentity
        var subject: SubjectKey
    }

    private var allocator = IdentityAllocator()
    private var namespaces: [String: [String: String]] = [:]
    private var endpoints: [String: EndpointRecord] = [:]
    private var objects: [PolicyReference: NetworkPolicyObject] = [:]
    private var rulesByPolicy: [PolicyReference: [Int]] = [:]
    private var rules: [Int: StoredRule] = [:]
    private var nextRuleID = 0
    /// Rules whose subject pins a namespace, by namespace; the rest apply anywhere.
    private var rulesByNamespace: [String: [Int]] = [:]  // sorted (rule IDs only grow)
    private var globalRules: [Int] = []
    private var selectorCache = SelectorCache()
    /// Every live identity and its labels (reserved, pods, CIDR prefixes).
    public private(set) var identities: [NumericIdentity: LabelSet] = ReservedIdentity.labels
    private var subjects: [SubjectKey: SubjectPolicy] = [:]
    private var subjectRefs: [SubjectKey: Int] = [:]
    /// The rules whose contributions use a selector: when the selector gains or loses an
    /// identity, the subjects of these rules update that identity's keys.
    private var rulesBySelector: [SelectorID: Set<Int>] = [:]
    /// Pod identities and subjects by namespace, so that namespaced selectors and rules only look
    /// at their own namespace.
    private var identitiesByNamespace: [String: Set<NumericIdentity>] = [:]
    private var subjectsByNamespace: [String: Set<SubjectKey>] = [:]
    /// Policy CIDR prefixes and their identities (the ipcache's prefix entries).
    private var cidrIdentities: [IPPrefix: (id: NumericIdentity, refs: Int)] = [:]
    private var ipToEndpoint: [IPAddress: String] = [:]
    /// Cluster-wide named ports (name → protocol/port → number of endpoints), for egress.
    private var clusterNamedPorts: [String: [NamedPort: Int]] = [:]
    private var services: [ServiceInfo] = []

    /// Inside `batch`, subjects to recompute once at the end instead of after every change.
    private var deferredSubjects: Set<SubjectKey>?

    /// Applies many changes at once: every touched subject's policy is resolved once, after all
    /// of them (as Cilium regenerates endpoints after a batch of policy and identity changes).
    public func batch<T>(_ changes: () throws -> T) rethrows -> T {
        if deferredSubjects != nil { return try changes() }
        deferredSubjects = []
        defer {
            let keys = deferredSubjects ?? []
            deferredSubjects = nil
            for key in keys { recomputeSubject(key) }
        }
        return try changes()
    }

    public init(config: EngineConfig = EngineConfig()) {
        self.config = config
        self.translator = RuleTranslator(config: config)
    }

    // MARK: Namespaces and endpoints

    public func setNamespace(_ name: String, labels: [String: String]) {
        guard namespaces[name] != labels else { return }
        namespaces[name] = labels
        for rec in endpoints.values where rec.info.namespace == name { upsertEndpoint(rec.info) }
    }

    public func namespaceLabels(_ name: String) -> [String: String]? { namespaces[name] }

    /// The label filter's answers, per key (keys repeat across pods).
    private var keptLabelKeys: [String: Bool] = [:]

    public func identityLabels(for ep: EndpointInfo) -> LabelSet {
        podIdentityLabels(podLabels: ep.labels, namespace: ep.namespace, namespaceLabels: namespaces[ep.namespace] ?? [:],
                          serviceAccount: ep.serviceAccount, clusterName: config.clusterName) { key in
            if let k = self.keptLabelKeys[key] { return k }
            let k = IdentityLabelFilter.keeps(key: key)
            self.keptLabelKeys[key] = k
            return k
        }
    }

    /// Adds or updates an endpoint; returns its identity.
    @discardableResult
    public func upsertEndpoint(_ ep: EndpointInfo, preferredIdentity: NumericIdentity? = nil) -> NumericIdentity {
        let labels = identityLabels(for: ep)
        let old = endpoints[ep.fullName]
        if let old, old.info == ep, identities[old.identity] == labels { return old.identity }
        let (id, isNew) = allocator.acquire(labels, preferred: preferredIdentity)
        if isNew { addIdentity(id, labels) }
        let key = SubjectKey(identity: id, namedPorts: ep.namedPorts)
        acquireSubject(key, labels: labels, namespace: ep.namespace)
        for ip in ep.ips { ipToEndpoint[ip] = ep.fullName }
        endpoints[ep.fullName] = EndpointRecord(info: ep, identity: id, subject: key)
        addNamedPorts(ep.namedPorts)
        if let old { dropEndpointState(old, keepIPs: Set(ep.ips)) }
        return id
    }

    public func removeEndpoint(namespace: String, name: String) {
        guard let rec = endpoints.removeValue(forKey: "\(namespace)/\(name)") else { return }
        dropEndpointState(rec, keepIPs: [])
    }

    private func dropEndpointState(_ rec: EndpointRecord, keepIPs: Set<IPAddress>) {
        for ip in rec.info.ips where !keepIPs.contains(ip) && ipToEndpoint[ip] == rec.info.fullName { ipToEndpoint[ip] = nil }
        removeNamedPorts(rec.info.namedPorts)
        releaseSubject(rec.subject)
        if allocator.release(rec.identity) { removeIdentity(rec.identity) }
    }

    public var endpointNames: [String] { endpoints.keys.sorted() }

    public func endpoint(_ fullName: String) -> EndpointInfo? { endpoints[fullName]?.info }

    public func identity(ofEndpoint fullName: String) -> NumericIdentity? { endpoints[fullName]?.identity }

    public func labels(of identity: NumericIdentity) -> LabelSet? { identities[identity] }

    // MARK: Policies

    public func setServices(_ list: [ServiceInfo]) {
        services = list
        translator.services = list
        let refs = objects.filter { _, o in
            if case let .cilium(p) = o { return p.rules.contains { r in r.egress.contains { $0.services != nil } || r.egressDeny.contains { $0.services != nil } } }
            return false
        }.map(\.value)
        for o in refs { upsertPolicy(o) }
    }

    public var policies: [NetworkPolicyObject] { objects.keys.sorted().map { objects[$0]! } }

    /// Adds or replaces a policy object (by kind/namespace/name).
    public func upsertPolicy(_ object: NetworkPolicyObject) {
        let ref = object.reference
        let oldRuleIDs = rulesByPolicy[ref] ?? []
        var affected = subjectsSelected(by: oldRuleIDs)
        let oldRules = oldRuleIDs.compactMap { rules[$0] }
        for id in oldRuleIDs { unindexRule(id) }
        objects[ref] = object
        var newIDs: [Int] = []
        for t in translator.translate(object) {
            let id = storeRule(t)
            newIDs.append(id)
        }
        rulesByPolicy[ref] = newIDs
        affected.formUnion(subjectsSelected(by: newIDs))
        for key in affected { recomputeSubject(key) }
        for r in oldRules { releaseRuleSelectors(r) }
    }

    public func removePolicy(_ ref: PolicyReference) {
        guard objects.removeValue(forKey: ref) != nil else { return }
        let ids = rulesByPolicy.removeValue(forKey: ref) ?? []
        let affected = subjectsSelected(by: ids)
        let old = ids.compactMap { rules[$0] }
        for id in ids { unindexRule(id) }
        for key in affected { recomputeSubject(key) }
        for r in old { releaseRuleSelectors(r) }
    }

    private func storeRule(_ t: TranslatedRule) -> Int {
        let id = nextRuleID
        nextRuleID += 1
        func section(_ s: RuleSection?) -> StoredSection? {
            guard let s else { return nil }
            return StoredSection(defaultDeny: s.defaultDeny, contributions: s.contributions.map { c in
                var peers: [SelectorID] = []
                var wildcard = false
                switch c.peers {
                case .wildcard: wildcard = true
                case let .selectors(specs): peers = specs.map { acquireSelector($0) }
                }
                let entry = PolicyEntry(deny: c.deny, redirect: c.deny ? nil : c.parser, l7Rules: c.l7.map { [$0] } ?? [],
                                        authRequired: c.authRequired && !c.deny, policies: [t.policy])
                let named = c.ports?.contains { if case .named = $0 { return true } else { return false } } ?? false
                return StoredContribution(peers: peers, wildcard: wildcard, ports: c.ports, entry: entry,
                                          staticKeys: named ? nil : Self.staticKeyTriples(c.ports))
            })
        }
        let stored = StoredRule(policy: t.policy, subject: t.subject, ingress: section(t.ingress), egress: section(t.egress))
        rules[id] = stored
        if let ns = t.subject?.pinnedNamespace { rulesByNamespace[ns, default: []].append(id) } else { globalRules.append(id) }
        for sec in [stored.ingress, stored.egress] { for c in sec?.contributions ?? [] { for p in c.peers { rulesBySelector[p, default: []].insert(id) } } }
        return id
    }

    private func unindexRule(_ id: Int) {
        guard let r = rules.removeValue(forKey: id) else { return }
        if let ns = r.subject?.pinnedNamespace { rulesByNamespace[ns]?.removeAll { $0 == id } } else { globalRules.removeAll { $0 == id } }
        for sec in [r.ingress, r.egress] { for c in sec?.contributions ?? [] { for p in c.peers { rulesBySelector[p]?.remove(id) } } }
    }

    private func releaseRuleSelectors(_ r: StoredRule) {
        for s in [r.ingress, r.egress].compactMap({ $0 }) {
            for c in s.contributions { for p in c.peers { releaseSelector(p) } }
        }
    }

    private func subjectsSelected(by ruleIDs: [Int]) -> Set<SubjectKey> {
        var out = Set<SubjectKey>()
        for id in ruleIDs {
            guard let subject = rules[id]?.subject else { continue }
            if let ns = subject.pinnedNamespace {
                for key in subjectsByNamespace[ns] ?? [] where subject.matches(subjects[key]!.labels) { out.insert(key) }
            } else {
                for (key, sp) in subjects where subject.matches(sp.labels) { out.insert(key) }
            }
        }
        return out
    }

    // MARK: Selectors and identities

    private func acquireSelector(_ spec: EndpointSelectorSpec) -> SelectorID {
        // CIDR prefixes named by a new selector become ipcache prefixes with identities of their
        // own (before the selector is matched, so that it sees them); released with the selector.
        if selectorCache.ids[spec] == nil {
            for r in spec.requirements where r.prefix != nil { acquireCIDR(r.prefix!) }
        }
        let candidates: [(NumericIdentity, LabelSet)]
        if let ns = spec.pinnedNamespace {
            candidates = (identitiesByNamespace[ns] ?? []).map { ($0, identities[$0]!) }
        } else {
            candidates = identities.map { ($0.key, $0.value) }
        }
        let (id, _) = selectorCache.acquire(spec, candidates: candidates)
        return id
    }

    private func releaseSelector(_ id: SelectorID) {
        guard let spec = selectorCache.release(id) else { return }
        rulesBySelector[id] = nil
        for r in spec.requirements where r.prefix != nil { releaseCIDR(r.prefix!) }
    }

    private func acquireCIDR(_ p: IPPrefix) {
        if let e = cidrIdentities[p] { cidrIdentities[p] = (e.id, e.refs + 1); return }
        let labels = LabelSet([Label(LabelSource.cidr, p.description), .reserved("world")])
        let (id, isNew) = allocator.acquire(labels)
        cidrIdentities[p] = (id, 1)
        if isNew { addIdentity(id, labels) }
    }

    private func releaseCIDR(_ p: IPPrefix) {
        guard let e = cidrIdentities[p] else { return }
        if e.refs > 1 { cidrIdentities[p] = (e.id, e.refs - 1); return }
        cidrIdentities[p] = nil
        if allocator.release(e.id) { removeIdentity(e.id) }
    }

    /// The identity the ipcache gives an address: a local endpoint's, else the longest policy
    /// prefix containing it, else world.
    public func identity(forIP ip: IPAddress) -> NumericIdentity {
        if let ep = ipToEndpoint[ip], let id = endpoints[ep]?.identity { return id }
        var best: (Int, NumericIdentity)?
        for (p, e) in cidrIdentities where p.contains(ip) && p.length >= (best?.0 ?? -1) { best = (p.length, e.id) }
        return best?.1 ?? ReservedIdentity.world
    }

    /// The identity of a whole prefix used as a peer: the longest policy prefix containing it.
    public func identity(forPrefix prefix: IPPrefix) -> NumericIdentity {
        if prefix.length == prefix.address.bitLength { return identity(forIP: prefix.address) }
        var best: (Int, NumericIdentity)?
        for (p, e) in cidrIdentities where p.contains(prefix) && p.length >= (best?.0 ?? -1) { best = (p.length, e.id) }
        return best?.1 ?? ReservedIdentity.world
    }

    /// The ipcache's prefix entries (policy CIDRs and their identities).
    public var cidrPrefixes: [(IPPrefix, NumericIdentity)] { cidrIdentities.map { ($0.key, $0.value.id) }.sorted { $0.0 < $1.0 } }

    /// The texts of the toFQDNs selectors in use (`matchName` or `matchPattern` as written): the
    /// DNS proxy labels each learnt IP with `fqdn:<text>` for every one whose pattern selects a
    /// name that resolved to it.
    public var fqdnSelectors: [String] {
        var out = Set<String>()
        for e in selectorCache.entries.values {
            for r in e.spec.requirements where r.source == LabelSource.fqdn { out.insert(r.key) }
        }
        return out.sorted()
    }

    /// Adds a node-local identity for externally learnt labels (e.g. FQDN) — used by the DNS proxy.
    /// `preferred` (an identity saved before an agent restart) is taken when free.
    public func acquireLocalIdentity(_ labels: LabelSet, preferred: NumericIdentity? = nil) -> NumericIdentity {
        let (id, isNew) = allocator.acquire(labels, preferred: preferred)
        if isNew { addIdentity(id, labels) }
        return id
    }

    public func releaseLocalIdentity(_ id: NumericIdentity) {
        if allocator.release(id) { removeIdentity(id) }
    }

    private func addIdentity(_ id: NumericIdentity, _ labels: LabelSet) {
        identities[id] = labels
        if let ns = labels.namespace { identitiesByNamespace[ns, default: []].insert(id) }
        let hits = selectorCache.addIdentity(id, labels)
        for key in subjectsUsing(hits) { updateIdentityGroup(key, identity: id) }
    }

    /// The subjects whose resolved policy uses any of `selectors`.
    private func subjectsUsing(_ selectors: [SelectorID]) -> Set<SubjectKey> {
        var ruleIDs = Set<Int>()
        for s in selectors { ruleIDs.formUnion(rulesBySelector[s] ?? []) }
        return subjectsSelected(by: Array(ruleIDs))
    }

    private func removeIdentity(_ id: NumericIdentity) {
        guard let labels = identities.removeValue(forKey: id) else { return }
        if let ns = labels.namespace { identitiesByNamespace[ns]?.remove(id) }
        let hits = selectorCache.removeIdentity(id, labels)
        for key in subjectsUsing(hits) { updateIdentityGroup(key, identity: id) }
    }

    // MARK: Named ports

    private func addNamedPorts(_ ports: [NamedPort]) {
        var changed = false
        for p in ports {
            let n = clusterNamedPorts[p.name]?[p] ?? 0
            clusterNamedPorts[p.name, default: [:]][p] = n + 1
            if n == 0 { changed = true }
        }
        if changed { recomputeEgressNamedPortUsers() }
    }

    private func removeNamedPorts(_ ports: [NamedPort]) {
        var changed = false
        for p in ports {
            guard let n = clusterNamedPorts[p.name]?[p] else { continue }
            if n <= 1 { clusterNamedPorts[p.name]![p] = nil; changed = true } else { clusterNamedPorts[p.name]![p] = n - 1 }
            if clusterNamedPorts[p.name]!.isEmpty { clusterNamedPorts[p.name] = nil }
        }
        if changed { recomputeEgressNamedPortUsers() }
    }

    private func recomputeEgressNamedPortUsers() {
        let users = subjects.keys.filter { key in
            guard let sp = subjects[key] else { return false }
            return selectingRules(sp.labels, namespace: nil).contains { id in
                rules[id]?.egress?.contributions.contains { $0.ports?.contains { if case .named = $0 { return true } else { return false } } ?? false } ?? false
            }
        }
        for key in users { recomputeSubject(key) }
    }

    // MARK: Subjects

    private func acquireSubject(_ key: SubjectKey, labels: LabelSet, namespace: String) {
        subjectRefs[key, default: 0] += 1
        if subjects[key] == nil {
            subjects[key] = SubjectPolicy(key: key, labels: labels)
            subjectsByNamespace[namespace, default: []].insert(key)
            recomputeSubject(key)
        }
    }

    private func releaseSubject(_ key: SubjectKey) {
        guard let n = subjectRefs[key] else { return }
        if n > 1 { subjectRefs[key] = n - 1; return }
        subjectRefs[key] = nil
        if let sp = subjects.removeValue(forKey: key) {
            if let ns = sp.labels.namespace { subjectsByNamespace[ns]?.remove(key) }
        }
    }

    private func selectingRules(_ labels: LabelSet, namespace: String?) -> [Int] {
        let ns = namespace ?? labels.labels.first { $0.source == LabelSource.k8s && $0.key == "io.kubernetes.pod.namespace" }?.value
        // Merge the two sorted lists, keeping rule order (a policy's rules stay adjacent).
        let local = ns.flatMap { rulesByNamespace[$0] } ?? []
        var out: [Int] = []
        var i = 0, j = 0
        while i < globalRules.count || j < local.count {
            let id: Int
            if j >= local.count || (i < globalRules.count && globalRules[i] < local[j]) { id = globalRules[i]; i += 1 } else { id = local[j]; j += 1 }
            if rules[id]?.subject?.matches(labels) ?? false { out.append(id) }
        }
        return out
    }

    static func staticKeyTriples(_ ports: [PortSpec]?) -> [(UInt8, UInt16, UInt8)] {
        guard let ports else { return [(0, 0, 0)] }
        var out: [(UInt8, UInt16, UInt8)] = []
        for p in ports {
            switch p {
            case let .allPorts(proto): out.append((proto, 0, 0))
            case let .numeric(proto, s, e): for (port, len) in portRangeBlocks(s, e) { out.append((proto, port, len)) }
            case .named: break
            }
        }
        return out
    }

    /// The key triples of a rule's ports for one subject: the static ones plus named ports
    /// resolved against the subject's own ports (ingress) or the cluster's (egress).
    private func keyTriples(_ ports: [PortSpec]?, direction: TrafficDirection, subject: SubjectKey) -> [(UInt8, UInt16, UInt8)] {
        guard let ports else { return [(0, 0, 0)] }
        var out = Self.staticKeyTriples(ports)
        for case let .named(proto, name) in ports {
            if direction == .ingress {
                for np in subject.namedPorts where np.name == name && np.proto == proto { out.append((proto, np.port, 16)) }
            } else {
                for np in (clusterNamedPorts[name] ?? [:]).keys where np.proto == proto { out.append((proto, np.port, 16)) }
            }
        }
        return out
    }

    private func recomputeSubject(_ key: SubjectKey) {
        if deferredSubjects != nil {
            deferredSubjects!.insert(key)
            return
        }
        guard var sp = subjects[key] else { return }
        sp.errors = []
        let selecting = selectingRules(sp.labels, namespace: nil)
        let isInit = sp.labels.contains(source: LabelSource.reserved, key: "init")
        for dir in TrafficDirection.allCases {
            var dp = DirectionPolicy()
            var sections: [(StoredRule, StoredSection)] = []
            for id in selecting { if let r = rules[id], let s = r.section(dir) { sections.append((r, s)) } }
            // A policy's rules have consecutive IDs, so neighbours are enough to drop duplicates;
            // sorting is left to the (rare) readers.
            for (r, _) in sections where dp.selectingPolicies.last != r.policy { dp.selectingPolicies.append(r.policy) }
            switch config.enforcementMode {
            case .never: dp.enforced = false
            case .always: dp.enforced = true
            case .default: dp.enforced = !sections.isEmpty || isInit
            }
            if dp.enforced {
                let denying = sections.filter { $0.1.defaultDeny }
                // `always` and init endpoints are default deny whatever the rules say (Cilium's
                // computePolicyEnforcementAndRules decides them before enableDefaultDeny).
                dp.defaultDeny = config.enforcementMode == .always || isInit || !denying.isEmpty || sections.isEmpty
                for (r, _) in denying where dp.defaultDenyPolicies.last != r.policy { dp.defaultDenyPolicies.append(r.policy) }
                for (_, s) in sections {
                    for c in s.contributions {
                        dp.contributions.append(SubjectContribution(peers: c.peers, wildcard: c.wildcard,
                                                                    keys: c.staticKeys ?? keyTriples(c.ports, direction: dir, subject: key), entry: c.entry))
                    }
                }
                if !dp.defaultDeny {
                    // Every selecting rule set enableDefaultDeny false: an allow-all stands in for
                    // the missing default deny, and the rules only add denies and redirects.
                    let allowAll = PolicyEntry(deny: false, policies: dp.selectingPolicies)
                    dp.contributions.append(SubjectContribution(peers: [], wildcard: true, keys: [(0, 0, 0)], entry: allowAll))
                }
            } else {
                let allowAny = PolicyEntry(deny: false, builtIn: dir == .ingress ? "allow-any-ingress" : "allow-any-egress")
                dp.contributions.append(SubjectContribution(peers: [], wildcard: true, keys: [(0, 0, 0)], entry: allowAny))
            }
            materialize(&dp, direction: dir, errors: &sp.errors)
            if dir == .ingress { sp.ingress = dp } else { sp.egress = dp }
        }
        subjects[key] = sp
    }

    /// Builds every identity group of a direction from its contributions. The common case (no
    /// duplicate keys, no deny) goes straight from a sorted list of keys to the table; identities
    /// with merges or denies take the general path through `Materializer`.
    private func materialize(_ dp: inout DirectionPolicy, direction: TrafficDirection, errors: inout [String]) {
        var any: [PolicyKey: PolicyEntry] = [:]
        var pairs: [(key: PolicyKey, c: Int32)] = []
        for (ci, c) in dp.contributions.enumerated() {
            if c.wildcard {
                for (p, port, len) in c.keys {
                    Materializer.insert(PolicyKey(identity: 0, proto: p, port: port, portPrefixLength: len), c.entry, into: &any, errors: &errors)
                }
                continue
            }
            for s in c.peers {
                for id in selectorCache.selected(s) {
                    for (p, port, len) in c.keys { pairs.append((PolicyKey(identity: id, proto: p, port: port, portPrefixLength: len), Int32(ci))) }
                }
            }
        }
        let localhost = PolicyEntry(deny: false, builtIn: "allow-localhost-ingress")
        if dp.enforced && direction == .ingress && config.allowLocalhost {
            pairs.append((PolicyKey(identity: ReservedIdentity.host, proto: 0), -1))
        }
        func entry(_ c: Int32) -> PolicyEntry { c < 0 ? localhost : dp.contributions[Int(c)].entry }
        dp.rawAny = any
        let finalAny = Materializer.finalize(identity: 0, group: any, any: any, finalAny: [:])
        let anyHasDeny = finalAny.values.contains { $0.deny }
        var table = PolicyMapTable()
        table.setGroup(0, finalAny)
        pairs.sort { $0.key < $1.key }
        var i = 0
        while i < pairs.count {
            let id = pairs[i].key.identity
            var j = i + 1
            var simple = !anyHasDeny && !entry(pairs[i].c).deny
            while j < pairs.count && pairs[j].key.identity == id {
                if pairs[j].key == pairs[j - 1].key || entry(pairs[j].c).deny { simple = false }
                j += 1
            }
            if simple {
                var list: [PolicyMapEntry] = []
                list.reserveCapacity(j - i)
                for k in i..<j {
                    let key = pairs[k].key
                    let e = entry(pairs[k].c)
                    if !finalAny.isEmpty, let a = finalAny[PolicyKey(identity: 0, proto: key.proto, port: key.port, portPrefixLength: key.portPrefixLength)],
                       !a.deny, a.sameEffect(e) { continue }
                    list.append(PolicyMapEntry(key: key, entry: e))
                }
                table.setSortedGroup(id, list)
            } else {
                var g: [PolicyKey: PolicyEntry] = [:]
                for k in i..<j { Materializer.insert(pairs[k].key, entry(pairs[k].c), into: &g, errors: &errors) }
                table.setGroup(id, Materializer.finalize(identity: id, group: g, any: any, finalAny: finalAny))
            }
            i = j
        }
        table.compile()
        dp.table = table
    }

    /// An identity appeared or vanished: rebuild only its group in the subject's maps.
    private func updateIdentityGroup(_ key: SubjectKey, identity id: NumericIdentity) {
        if deferredSubjects?.contains(key) == true { return }  // resolved in full at the batch's end
        guard var sp = subjects[key] else { return }
        let live = identities[id] != nil
        for dir in TrafficDirection.allCases {
            var dp = sp.direction(dir)
            var group: [PolicyKey: PolicyEntry] = [:]
            if live {
                for c in dp.contributions where !c.wildcard && c.peers.contains(where: { selectorCache.selects($0, id) }) {
                    for (p, port, len) in c.keys {
                        Materializer.insert(PolicyKey(identity: id, proto: p, port: port, portPrefixLength: len), c.entry, into: &group, errors: &sp.errors)
                    }
                }
                if id == ReservedIdentity.host && dp.enforced && dir == .ingress && config.allowLocalhost {
                    Materializer.insert(PolicyKey(identity: id, proto: 0), PolicyEntry(deny: false, builtIn: "allow-localhost-ingress"), into: &group, errors: &sp.errors)
                }
            }
            let any = dp.rawAny
            let finalAny = dp.table.groups[0].map { Dictionary(uniqueKeysWithValues: $0.map { ($0.key, $0.entry) }) } ?? [:]
            dp.table.setGroup(id, group.isEmpty ? [:] : Materializer.finalize(identity: id, group: group, any: any, finalAny: finalAny))
            dp.table.compile()
            if dir == .ingress { sp.ingress = dp } else { sp.egress = dp }
        }
        subjects[key] = sp
    }

    // MARK: Queries

    public func subjectPolicy(ofEndpoint fullName: String) -> SubjectPolicy? {
        guard let rec = endpoints[fullName] else { return nil }
        return subjects[rec.subject]
    }

    /// Evaluates one direction of `endpoint`'s policy for a packet with `peer`.
    public func evaluate(endpoint fullName: String, direction: TrafficDirection, peer: NumericIdentity, proto: UInt8, port: UInt16) -> DirectionVerdict? {
        guard let sp = subjectPolicy(ofEndpoint: fullName) else { return nil }
        let dp = sp.direction(direction)
        let r = dp.lookup(identity: peer, proto: proto, port: port)
        // A policy's rules are adjacent in rule order, so the list has no duplicates: sorting is enough.
        let policies: [PolicyReference] = r.entry.map(\.policies) ?? dp.defaultDenyPolicies.sorted()
        return DirectionVerdict(direction: direction, allowed: r.allowed, enforced: dp.enforced, matchType: r.matchType,
                                redirect: r.allowed ? r.entry?.redirect : nil, key: r.key, entry: r.entry,
                                policies: policies, dropReason: r.dropReason)
    }

    /// Statistics for benchmarks and `porin status`.
    public var stats: (identities: Int, selectors: Int, subjects: Int, rules: Int) {
        (identities.count, selectorCache.count, subjects.count, rules.count)
    }
}
