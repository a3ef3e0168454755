// Evaluates a scenario's queries with the policy engine: the source's egress policy and the
// destination's ingress policy, each with the policies that decided it.
import PolicyAPI
import PolicyEngine

public struct SideResult: Sendable, Hashable {
    public var endpoint: String
    public var verdict: DirectionVerdict
}

public struct QueryResult: Sendable {
    public var query: PolicyQuery
    public var allowed: Bool
    public var deniedAt: TrafficDirection?
    public var egress: SideResult?
    public var ingress: SideResult?
    public var ok: Bool? {
        guard let e = query.expect else { return nil }
        return (e == .allowed) == allowed
    }
}

public struct ScenarioError: Error, CustomStringConvertible {
    public var messages: [String]
    public var description: String { messages.joined(separator: "\n") }
}

/// A peer of a query, resolved.
public enum ResolvedPeer: Sendable {
    case endpoint(String, NumericIdentity)
    case identity(NumericIdentity)
}

public final class PolicyScenarioRunner {
    public let engine: PolicyEngine
    public let scenario: PolicyScenario

    /// Builds the engine state of a scenario. Endpoints named twice or policies named twice are errors.
    public init(_ scenario: PolicyScenario) throws(ScenarioError) {
        self.scenario = scenario
        var config = EngineConfig(clusterName: scenario.clusterName, enforcementMode: scenario.enforcementMode)
        config.policyDefaultLocalCluster = true
        engine = PolicyEngine(config: config)
        var problems: [String] = []
        for ns in scenario.namespaces { engine.setNamespace(ns.name, labels: ns.labels) }
        var seen = Set<String>()
        for ep in scenario.endpoints where !seen.insert(ep.fullName).inserted { problems.append("endpoint \(ep.fullName) is defined twice") }
        var refs = Set<PolicyReference>()
        for p in scenario.policies where !refs.insert(p.reference).inserted { problems.append("policy \(p.reference) is defined twice") }
        if !problems.isEmpty { throw ScenarioError(messages: problems) }
        engine.setServices(scenario.services)
        // One batch: every endpoint's policy is resolved once, after all objects are in.
        engine.batch {
            for ep in scenario.endpoints { engine.upsertEndpoint(ep) }
            for p in scenario.policies { engine.upsertPolicy(p) }
        }
    }

    /// Resolves `from`/`to`: an endpoint (`name` or `namespace/name`), an entity, an IP or a CIDR.
    /// Endpoint full names by bare name, built once (queries mostly name endpoints).
    private lazy var byName: [String: [String]] = Dictionary(grouping: engine.endpointNames) { String($0.split(separator: "/", maxSplits: 1)[1]) }

    public func resolve(_ text: String) -> ResolvedPeer? {
        if text.contains("/"), engine.endpoint(text) != nil, let id = engine.identity(ofEndpoint: text) { return .endpoint(text, id) }
        let matches = byName[text] ?? []
        if matches.count == 1, let id = engine.identity(ofEndpoint: matches[0]) { return .endpoint(matches[0], id) }
        if matches.count > 1 { return nil }
        // A Deployment's name stands for its replicas (they share one identity).
        let replicas = engine.endpointNames.filter { ($0.hasPrefix(text + "-") && text.contains("/")) || $0.contains("/" + text + "-") }
        if let first = replicas.first, Set(replicas.map { $0.split(separator: "/")[0] }).count == 1, let id = engine.identity(ofEndpoint: first) {
            return .endpoint(first, id)
        }
        if let id = ReservedIdentity.entities[text] { return .identity(id) }
        var t = text
        if t.hasPrefix("cidr:") { t.removeFirst(5) }
        if let ip = IPAddress(t) { return .identity(engine.identity(forIP: ip)) }
        if let p = IPPrefix(t, allowBareIP: false) { return .identity(engine.identity(forPrefix: p)) }
        return nil
    }

    func describeUnresolved(_ text: String) -> String {
        let matches = byName[text] ?? []
        if matches.count > 1 { return "\"\(text)\" names several endpoints (\(matches.joined(separator: ", "))); write namespace/name" }
        return "\"\(text)\" is not an endpoint, an entity (\(ReservedIdentity.entities.keys.sorted().joined(separator: ", "))), an IP address or a CIDR"
    }

    public func run() throws(ScenarioError) -> [QueryResult] {
        var out: [QueryResult] = []
        var problems: [String] = []
        for q in scenario.queries {
            do throws(ScenarioError) { out.append(try evaluate(q)) } catch { problems += error.messages }
        }
        if !problems.isEmpty { throw ScenarioError(messages: problems) }
        return out
    }

    public func evaluate(_ q: PolicyQuery) throws(ScenarioError) -> QueryResult {
        let at = "\(q.position): query \"\(q.name)\""
        guard let from = resolve(q.from) else { throw ScenarioError(messages: ["\(at): from: \(describeUnresolved(q.from))"]) }
        guard let to = resolve(q.to) else { throw ScenarioError(messages: ["\(at): to: \(describeUnresolved(q.to))"]) }
        func identity(_ p: ResolvedPeer) -> NumericIdentity {
            switch p {
            case let .endpoint(_, id), let .identity(id): id
            }
        }
        var result = QueryResult(query: q, allowed: true)
        let port = UInt16(q.port)
        if q.direction != .ingress, case let .endpoint(name, _) = from,
           let v = engine.evaluate(endpoint: name, direction: .egress, peer: identity(to), proto: q.protocolNumber, port: port) {
            result.egress = SideResult(endpoint: name, verdict: v)
        }
        if q.direction != .egress, case let .endpoint(name, _) = to,
           let v = engine.evaluate(endpoint: name, direction: .ingress, peer: identity(from), proto: q.protocolNumber, port: port) {
            result.ingress = SideResult(endpoint: name, verdict: v)
        }
        if result.egress == nil && result.ingress == nil {
            let which = q.direction.map { "the \($0.rawValue) side" } ?? "either side"
            throw ScenarioError(messages: ["\(at): \(which) must be a local endpoint to evaluate a policy"])
        }
        if let e = result.egress, !e.verdict.allowed { result.allowed = false; result.deniedAt = .egress }
        else if let i = result.ingress, !i.verdict.allowed { result.allowed = false; result.deniedAt = .ingress }
        return result
    }
}
