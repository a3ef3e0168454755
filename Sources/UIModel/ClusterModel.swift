// What the web UI knows of the cluster, decoded once per change of the store: namespaces, pods
// (Deployment replicas included, with the addresses and identities the agent reports), Services
// and policies, and a policy engine built from them (the "current" engine that what-if and drop
// attribution evaluate with). The control plane hands over a snapshot; nothing here blocks.
import ClusterAPI
import Hubble
import PolicyAPI
import PolicyCheck
import PolicyEngine

/// The control plane, as the web UI needs it (ControlPlane+Web implements it; tests fake it).
public protocol WebBackend: Sendable {
    /// The store's objects, its revision, and the agent's pods (empty while the agent is down).
    func snapshot() -> ClusterSnapshot
    /// `porin apply -f` of one file named `editor` (`dryRun`: admission only).
    func apply(yaml: String, dryRun: Bool) -> APIResponse
    /// `porin delete <kind> <name> -n <ns>`.
    func delete(_ ref: PolicyRef) -> APIResponse
}

public struct ClusterSnapshot: Sendable {
    public var revision: UInt64
    public var objects: [StoredObject]
    public var pods: [NodeState.PodStatus]
    public init(revision: UInt64, objects: [StoredObject], pods: [NodeState.PodStatus]) {
        self.revision = revision
        self.objects = objects
        self.pods = pods
    }
}

public final class ClusterModel: @unchecked Sendable {
    public struct PodEntry: Sendable {
        public var pod: Pod
        public var owner: String?
        public var status: NodeState.PodStatus?
    }
    public struct PolicyEntry: Sendable {
        public var policy: NetworkPolicyObject
        public var ref: PolicyRef
        public var yaml: String
    }

    public let revision: UInt64
    public let namespaces: [PolicyAPI.Namespace]
    public let pods: [PodEntry]
    public let services: [Service]
    public let policies: [PolicyEntry]
    let scenarioBase: PolicyScenario
    /// The applied policies' engine. Not thread-safe: WebAPI holds its lock while using it.
    let current: PolicyScenarioRunner?

    /// Which pods run where: the model is rebuilt when this changes (a pod started or moved).
    let podStatusKey: String
    static func podStatusKey(_ pods: [NodeState.PodStatus]) -> String {
        pods.map { "\($0.namespace)/\($0.name) \($0.ip) \($0.identity) \($0.phase)" }.sorted().joined(separator: "\n")
    }

    public init(_ s: ClusterSnapshot) {
        revision = s.revision
        podStatusKey = Self.podStatusKey(s.pods)
        var namespaces: [PolicyAPI.Namespace] = [], pods: [PodEntry] = [], services: [Service] = [], policies: [PolicyEntry] = []
        let status = Dictionary(s.pods.map { ("\($0.namespace)/\($0.name)", $0) }) { a, _ in a }
        for o in s.objects.sorted(by: { $0.key < $1.key }) {
            guard let obj = (try? APIObjectDecoder.decode(text: o.document, file: o.key, defaultNamespace: o.namespace.isEmpty ? "default" : o.namespace))?.first else { continue }
            switch obj {
            case let .namespace(n): namespaces.append(n)
            case let .pod(p): pods.append(PodEntry(pod: p, owner: nil, status: status["\(p.namespace)/\(p.name)"]))
            case let .deployment(d):
                for i in 0..<d.replicas {
                    let n = d.replicaName(i)
                    pods.append(PodEntry(pod: Pod(name: n, namespace: d.namespace, labels: d.templateLabels, spec: d.templateSpec), owner: d.name, status: status["\(d.namespace)/\(n)"]))
                }
            case let .service(svc): services.append(svc)
            case let .policy(p):
                let yaml = (try? ManifestLoader.documents(text: o.document, file: o.key))?.first?.toAny().yaml() ?? ""
                policies.append(PolicyEntry(policy: p, ref: PolicyRef(p.reference), yaml: yaml))
            }
        }
        self.namespaces = namespaces
        self.pods = pods
        self.services = services
        self.policies = policies
        var scenario = PolicyScenario()
        scenario.namespaces = namespaces
        scenario.endpoints = pods.map { PolicyScenario.endpoint(for: $0.pod) }
        scenario.services = services.map { ServiceInfo(namespace: $0.namespace, name: $0.name, labels: $0.labels, selector: $0.selector) }
        scenarioBase = scenario
        scenario.policies = policies.map(\.policy)
        current = try? PolicyScenarioRunner(scenario)
    }

    /// An engine with the applied policies, minus `replacing`, plus `draft`.
    func engine(draft: NetworkPolicyObject?, replacing: PolicyRef?) -> PolicyScenarioRunner? {
        var s = scenarioBase
        let drop = Set([replacing, draft.map { PolicyRef($0.reference) }].compactMap { $0 })
        s.policies = policies.filter { !drop.contains($0.ref) }.map(\.policy) + (draft.map { [$0] } ?? [])
        return try? PolicyScenarioRunner(s)
    }

    /// `namespace/pod` of the pods a policy's subject selects.
    public func selects(_ p: NetworkPolicyObject) -> [String] {
        pods.filter { e in
            var ep = FlowEndpoint()
            ep.namespace = e.pod.namespace
            ep.labels = e.pod.labels.map { "k8s:\($0.0)=\($0.1)" }
            return RuleFromFlow.selects(p, ep)
        }.map { "\($0.pod.namespace)/\($0.pod.name)" }
    }
}
