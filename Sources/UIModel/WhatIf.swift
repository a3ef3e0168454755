// What a draft policy would do to the flows already seen: each grouped row's representative flows
// (one per distinct source, destination, port and protocol) evaluated by the engine with the
// applied policies and with the draft, as `porin policy test` evaluates a query: the source's
// egress and the destination's ingress. Also names the policy behind each recorded drop.
import Hubble
import PolicyAPI
import PolicyCheck
import PolicyEngine

public enum WhatIf {
    /// The verdict `runner`'s engine gives `flow`, and the policies that decided it; nil when
    /// neither end is a pod the engine knows (nothing local to evaluate).
    static func evaluate(_ flow: Flow, _ runner: PolicyScenarioRunner, worldIdentities: inout [String: NumericIdentity]) -> (allowed: Bool, decidedBy: [PolicyRef])? {
        let engine = runner.engine
        guard let src = flow.source, let dst = flow.destination else { return nil }
        func local(_ e: FlowEndpoint) -> String? {
            guard !e.namespace.isEmpty, !e.podName.isEmpty else { return nil }
            let name = "\(e.namespace)/\(e.podName)"
            return engine.endpoint(name) != nil ? name : nil
        }
        func identity(_ e: FlowEndpoint, ip: String, names: [String]) -> NumericIdentity? {
            if let n = local(e) { return engine.identity(ofEndpoint: n) }
            guard let addr = IPAddress(ip) else { return nil }
            let reserved = e.labels.contains("reserved:world") || e.labels.contains("reserved:world-ipv4")
            if reserved, !names.isEmpty {
                // As the DNS proxy would label it after a fresh answer: toFQDNs selectors in use.
                let key = ip + " " + names.joined(separator: ",")
                if let id = worldIdentities[key] { return id }
                if let want = FQDNIdentityLabels.derive(ip: addr, names: names, selectors: engine.fqdnPatterns, prefixes: engine.cidrPrefixes.map(\.0)) {
                    let id = engine.acquireLocalIdentity(FQDNIdentityLabels.labels(selectors: want.selectors, cidrs: want.cidrs))
                    worldIdentities[key] = id
                    return id
                }
            }
            if e.labels.contains("reserved:host") { return ReservedIdentity.host }
            return engine.identity(forIP: addr)
        }
        let (port, proto) = portProto(flow)
        let srcName = local(src), dstName = local(dst)
        guard srcName != nil || dstName != nil else { return nil }
        guard let srcID = identity(src, ip: flow.ip?.source ?? "", names: flow.sourceNames),
              let dstID = identity(dst, ip: flow.ip?.destination ?? "", names: flow.destinationNames) else { return nil }
        var decided: [PolicyReference] = []
        if let s = srcName, let v = engine.evaluate(endpoint: s, direction: .egress, peer: dstID, proto: proto, port: port) {
            if !v.allowed { return (false, v.policies.map(PolicyRef.init)) }
            decided += v.policies
        }
        if let d = dstName, let v = engine.evaluate(endpoint: d, direction: .ingress, peer: srcID, proto: proto, port: port) {
            if !v.allowed { return (false, v.policies.map(PolicyRef.init)) }
            decided += v.policies
        }
        return (true, Array(Set(decided.map(PolicyRef.init))).sorted())
    }

    static func portProto(_ f: Flow) -> (UInt16, UInt8) {
        switch f.l4 {
        case let .tcp(_, p, _)?: (UInt16(truncatingIfNeeded: p), 6)
        case let .udp(_, p)?: (UInt16(truncatingIfNeeded: p), 17)
        case let .sctp(_, p)?: (UInt16(truncatingIfNeeded: p), 132)
        case .icmpv4?: (0, 1)
        case .icmpv6?: (0, 58)
        case nil: (0, 0)
        }
    }

    /// `forwarded`, `dropped`, or `unknown` for a row's flows (several keys: dropped if any is).
    static func verdict(_ flows: [Flow], _ runner: PolicyScenarioRunner?, cache: inout [String: NumericIdentity]) -> (String, [PolicyRef]) {
        guard let runner else { return ("unknown", []) }
        var any = false
        var by = Set<PolicyRef>()
        for f in flows {
            guard let r = evaluate(f, runner, worldIdentities: &cache) else { continue }
            any = true
            if !r.allowed { return ("dropped", r.decidedBy) }
            by.formUnion(r.decidedBy)
        }
        return any ? ("forwarded", by.sorted()) : ("unknown", [])
    }

    /// Every row of the namespace with its recorded, current and draft verdicts.
    public static func rows(_ rows: [(row: FlowRow, flows: [Flow])], model: ClusterModel, draft: NetworkPolicyObject?, replacing: PolicyRef?) -> WhatIfResponse {
        let draftEngine = model.engine(draft: draft, replacing: replacing)
        var cur: [String: NumericIdentity] = [:], dft: [String: NumericIdentity] = [:]
        var out: [WhatIfRow] = []
        var changed = 0
        for (row, flows) in rows {
            let (current, _) = verdict(flows, model.current, cache: &cur)
            let (d, by) = draft == nil ? (current, []) : verdict(flows, draftEngine, cache: &dft)
            // Changed: what applying the draft would change now. Rows recorded before today's
            // policies compare with the engine's current verdict, not with the recorded one.
            let before = current == "unknown" ? row.verdict : current
            let isChanged = d != "unknown" && d != before
            if isChanged { changed += 1 }
            out.append(WhatIfRow(row: row, recorded: row.verdict, current: current, draft: d, changed: isChanged, draftDecidedBy: by))
        }
        return WhatIfResponse(rows: out, changedCount: changed, errors: [])
    }

    /// The policies that drop `flow` now (for "dropped by" on the Connections view).
    static func droppedBy(_ flow: Flow, model: ClusterModel, cache: inout [String: NumericIdentity]) -> [PolicyRef] {
        guard let runner = model.current, let r = evaluate(flow, runner, worldIdentities: &cache), !r.allowed else { return [] }
        return r.decidedBy
    }
}
