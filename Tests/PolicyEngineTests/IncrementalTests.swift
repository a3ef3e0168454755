// Incremental updates (policies, endpoints, namespace labels) must leave the engine exactly as a
// fresh engine built from the final state: same verdicts for a grid of queries.
import PolicyAPI
import PolicyEngine
import Testing

/// The final state of a cluster, built from scratch in one go.
private func fresh(namespaces: [String: [String: String]], pods: [EndpointInfo], policies: [String],
                   sourceLocation: SourceLocation = #_sourceLocation) -> PolicyEngine {
    Cluster(namespaces: namespaces, pods: pods, policies: policies, sourceLocation: sourceLocation).engine
}

private let extraPeers: [Peer] = [.world, .host, .remoteNode, .ip("10.1.2.3"), .ip("192.168.1.1"), .ip("10.96.0.1")]

private func compare(_ incremental: PolicyEngine, _ rebuilt: PolicyEngine, endpoints: [String], _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    let grid = queryGrid(endpoints: endpoints, extraPeers: extraPeers)
    let a = evaluateGrid(incremental, grid)
    let b = evaluateGrid(rebuilt, grid)
    #expect(a.count == b.count, "\(what): same number of answerable queries", sourceLocation: sourceLocation)
    expectSameVerdicts(a, b, what, sourceLocation: sourceLocation)
}

private let ns: [String: [String: String]] = ["default": [:], "team-a": ["team": "a"], "team-b": ["team": "b"]]

private let basePods = [
    pod("default/backend", ["app": "backend"], namedPorts: [NamedPort(name: "http", proto: Proto.tcp, port: 8080)], ips: ["10.244.0.1"]),
    pod("default/client", ["app": "client"], ips: ["10.244.0.2"]),
    pod("team-a/client", ["app": "client"], ips: ["10.244.1.2"]),
    pod("team-b/db", ["app": "db"], ips: ["10.244.2.3"]),
]

private let policyA = cnp("backend-ingress", """
    endpointSelector: {matchLabels: {app: backend}}
    ingress:
    - fromEndpoints: [{matchLabels: {app: client}}]
      toPorts: [{ports: [{port: "80", protocol: TCP}, {port: http, protocol: TCP}]}]
    - fromEndpoints:
      - matchLabels: {"k8s:io.cilium.k8s.namespace.labels.team": a}
    egress:
    - toCIDRSet:
      - cidr: 10.0.0.0/8
        except: [10.96.0.0/12]
    - toEndpoints: [{matchLabels: {app: newcomer}}]
      toPorts: [{ports: [{port: "8000", endPort: 8010, protocol: TCP}]}]
    """)
private let policyB = ccnp("deny-db", """
    endpointSelector: {}
    ingressDeny:
    - fromEndpoints: [{matchLabels: {app: db}}]
    egressDeny:
    - toEndpoints: [{matchLabels: {app: newcomer}}]
      toPorts: [{ports: [{port: "8005", protocol: TCP}]}]
    """)
private let policyC = knp("team-b-from-team-a", ns: "team-b", """
    podSelector: {}
    ingress:
    - from:
      - namespaceSelector: {matchLabels: {team: a}}
      ports: [{port: 80}]
    """)
private let policyD = cnp("client-egress", ns: "team-a", """
    endpointSelector: {matchLabels: {app: client}}
    egress:
    - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": default}}]
      toPorts: [{ports: [{port: http, protocol: TCP}]}]
    - toEntities: [world]
      toPorts: [{ports: [{port: "443"}]}]
    """)

@Suite("incremental updates equal a rebuild")
struct IncrementalTests {
    let names = basePods.map(\.fullName)

    @Test func batchedChangesEqualOneByOne() {
        let batched = PolicyEngine()
        batched.batch {
            for (n, l) in ns { batched.setNamespace(n, labels: l) }
            for p in basePods { batched.upsertEndpoint(p) }
            for y in [policyA, policyB, policyC, policyD] { for p in decodePolicies(y) { batched.upsertPolicy(p) } }
            // Changes inside the batch that undo each other leave no trace.
            batched.upsertEndpoint(pod("default/newcomer", ["app": "newcomer"]))
            batched.removeEndpoint(namespace: "default", name: "newcomer")
        }
        compare(batched, fresh(namespaces: ns, pods: basePods, policies: [policyA, policyB, policyC, policyD]), endpoints: names, "batch")
        // And incremental changes after a batch still apply.
        batched.upsertEndpoint(pod("default/newcomer", ["app": "newcomer"], ips: ["10.244.0.9"]))
        compare(batched, fresh(namespaces: ns, pods: basePods + [pod("default/newcomer", ["app": "newcomer"], ips: ["10.244.0.9"])],
                               policies: [policyA, policyB, policyC, policyD]), endpoints: names + ["default/newcomer"], "after batch")
    }

    @Test func addingPoliciesOneByOne() {
        let c = Cluster(namespaces: ns, pods: basePods)
        var added: [String] = []
        for p in [policyA, policyB, policyC, policyD] {
            c.add(p)
            added.append(p)
            compare(c.engine, fresh(namespaces: ns, pods: basePods, policies: added), endpoints: names, "after adding \(added.count) policies")
        }
    }

    @Test func removingPolicies() {
        let all = [policyA, policyB, policyC, policyD]
        let c = Cluster(namespaces: ns, pods: basePods, policies: all)
        let refs = [cnpRef("backend-ingress"), ccnpRef("deny-db"), knpRef("team-b-from-team-a", ns: "team-b"), cnpRef("client-egress", ns: "team-a")]
        for i in [1, 3, 0, 2] {
            c.engine.removePolicy(refs[i])
            let remaining = all.indices.filter { j in c.engine.policies.contains { $0.reference == refs[j] } }.map { all[$0] }
            compare(c.engine, fresh(namespaces: ns, pods: basePods, policies: remaining), endpoints: names, "after removing \(refs[i])")
        }
        #expect(c.engine.policies.isEmpty)
        #expect(c.engine.cidrPrefixes.isEmpty, "CIDR identities are released with their policies")
    }

    @Test func replacingAPolicy() {
        let c = Cluster(namespaces: ns, pods: basePods, policies: [policyA, policyB])
        let replacement = cnp("backend-ingress", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: db, "k8s:io.kubernetes.pod.namespace": team-b}}]
            """)
        c.add(replacement)
        compare(c.engine, fresh(namespaces: ns, pods: basePods, policies: [replacement, policyB]), endpoints: names, "after replacing")
        #expect(c.ingress("default/backend", from: .endpoint("team-b/db")).dropReason == 181)
        #expect(!c.allowsIngress("default/backend", from: .endpoint("default/client")))
    }

    @Test func addingEndpointWithNewLabelsAfterPolicies() {
        let c = Cluster(namespaces: ns, pods: basePods, policies: [policyA, policyB, policyC, policyD])
        let newcomer = pod("default/newcomer", ["app": "newcomer"], namedPorts: [NamedPort(name: "http", proto: Proto.tcp, port: 8081)], ips: ["10.244.0.9"])
        c.engine.upsertEndpoint(newcomer)
        // The backend's egress map must gain entries for the new identity.
        let newID = c.identity(.endpoint("default/newcomer"))
        let keys = c.engine.subjectPolicy(ofEndpoint: "default/backend")!.egress.table.allEntries.map(\.key)
        #expect(keys.contains { $0.identity == newID })
        #expect(c.allowsEgress("default/backend", to: .endpoint("default/newcomer"), Proto.tcp, 8000))
        #expect(c.egress("default/backend", to: .endpoint("default/newcomer"), Proto.tcp, 8005).dropReason == 181)
        #expect(c.allowsEgress("team-a/client", to: .endpoint("default/newcomer"), Proto.tcp, 8081), "new named port, cluster-wide")
        let pods = basePods + [newcomer]
        compare(c.engine, fresh(namespaces: ns, pods: pods, policies: [policyA, policyB, policyC, policyD]),
                endpoints: pods.map(\.fullName), "after adding an endpoint")
    }

    @Test func addingSecondEndpointOfExistingIdentity() {
        let c = Cluster(namespaces: ns, pods: basePods, policies: [policyA, policyB, policyC, policyD])
        let twin = pod("default/client-2", ["app": "client"], ips: ["10.244.0.3"])
        c.engine.upsertEndpoint(twin)
        #expect(c.identity(.endpoint("default/client-2")) == c.identity(.endpoint("default/client")))
        c.engine.removeEndpoint(namespace: "default", name: "client")
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/client-2"), Proto.tcp, 80))
        let pods = basePods.filter { $0.fullName != "default/client" } + [twin]
        compare(c.engine, fresh(namespaces: ns, pods: pods, policies: [policyA, policyB, policyC, policyD]),
                endpoints: pods.map(\.fullName), "after replacing an endpoint by its twin")
    }

    @Test func removingEndpoint() {
        let c = Cluster(namespaces: ns, pods: basePods + [pod("default/newcomer", ["app": "newcomer"])], policies: [policyA, policyB, policyC, policyD])
        let newcomerID = c.identity(.endpoint("default/newcomer"))
        c.engine.removeEndpoint(namespace: "default", name: "newcomer")
        #expect(c.engine.labels(of: newcomerID) == nil, "the identity is released")
        // Its identity is gone from the backend's egress map.
        let keys = c.engine.subjectPolicy(ofEndpoint: "default/backend")!.egress.table.allEntries.map(\.key)
        #expect(!keys.contains { $0.identity == newcomerID })
        compare(c.engine, fresh(namespaces: ns, pods: basePods, policies: [policyA, policyB, policyC, policyD]), endpoints: names, "after removing an endpoint")
    }

    @Test func changingEndpointLabels() {
        let c = Cluster(namespaces: ns, pods: basePods, policies: [policyA, policyB, policyC, policyD])
        let relabelled = pod("default/client", ["app": "db"], ips: ["10.244.0.2"])
        c.engine.upsertEndpoint(relabelled)
        #expect(c.ingress("default/backend", from: .endpoint("default/client")).dropReason == 181)
        let pods = basePods.map { $0.fullName == "default/client" ? relabelled : $0 }
        compare(c.engine, fresh(namespaces: ns, pods: pods, policies: [policyA, policyB, policyC, policyD]), endpoints: names, "after relabelling")
    }

    @Test func changingNamespaceLabels() {
        let c = Cluster(namespaces: ns, pods: basePods, policies: [policyA, policyB, policyC, policyD])
        #expect(c.allowsIngress("default/backend", from: .endpoint("team-a/client"), Proto.udp, 9))
        #expect(c.allowsIngress("team-b/db", from: .endpoint("team-a/client"), Proto.tcp, 80))
        // team-a loses its label, default gains it.
        let ns2: [String: [String: String]] = ["default": ["team": "a"], "team-a": [:], "team-b": ["team": "b"]]
        c.engine.setNamespace("team-a", labels: [:])
        c.engine.setNamespace("default", labels: ["team": "a"])
        #expect(!c.allowsIngress("default/backend", from: .endpoint("team-a/client"), Proto.udp, 9))
        #expect(!c.allowsIngress("team-b/db", from: .endpoint("team-a/client"), Proto.tcp, 80))
        #expect(c.allowsIngress("team-b/db", from: .endpoint("default/client"), Proto.tcp, 80))
        compare(c.engine, fresh(namespaces: ns2, pods: basePods, policies: [policyA, policyB, policyC, policyD]), endpoints: names, "after namespace relabelling")
    }

    @Test func endpointsAddedAfterPoliciesEqualEndpointsAddedBefore() {
        let c = Cluster(namespaces: ns, policies: [policyA, policyB, policyC, policyD])
        for p in basePods { c.engine.upsertEndpoint(p) }
        compare(c.engine, fresh(namespaces: ns, pods: basePods, policies: [policyA, policyB, policyC, policyD]), endpoints: names, "endpoints after policies")
    }

    @Test func namespaceLabelsSetAfterEndpoints() {
        let c = Cluster(pods: basePods, policies: [policyA, policyB, policyC, policyD])
        for (n, l) in ns { c.engine.setNamespace(n, labels: l) }
        compare(c.engine, fresh(namespaces: ns, pods: basePods, policies: [policyA, policyB, policyC, policyD]), endpoints: names, "namespaces last")
    }
}
