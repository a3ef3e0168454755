// Policy test files: loading (positions of errors, inline and file policies), evaluation of both
// sides with attribution, the JSON report, and the lab's example files end to end.
import Foundation
import PolicyAPI
import PolicyCheck
import PolicyEngine
import Testing

/// Files served from memory, so tests need no disk layout.
struct MemoryReader: ScenarioFileReader {
    var files: [String: String]
    func read(_ path: String) throws -> String {
        guard let f = files[path] else { throw CocoaError(.fileNoSuchFile) }
        return f
    }
}

func run(_ text: String, files: [String: String] = [:]) throws -> [QueryResult] {
    var all = files
    all["t/test.yaml"] = text
    let scenario = try PolicyTestFileLoader.load(path: "t/test.yaml", reader: MemoryReader(files: all))
    return try PolicyScenarioRunner(scenario).run()
}

func loadErrors(_ text: String, files: [String: String] = [:]) -> [ManifestDiagnostic] {
    var all = files
    all["t/test.yaml"] = text
    do {
        _ = try PolicyTestFileLoader.load(path: "t/test.yaml", reader: MemoryReader(files: all))
        return []
    } catch {
        return error.diagnostics
    }
}

let labDefault = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: default
  namespace: tenant-a
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints:
    - {}
  egress:
  - toEndpoints:
    - {}
  - toEndpoints:
    - matchLabels:
        io.kubernetes.pod.namespace: kube-system
        k8s-app: kube-dns
    toPorts:
    - ports:
      - port: "53"
        protocol: UDP
      rules:
        dns:
        - matchPattern: "*"
"""

let labEndpoints = """
endpoints:
- {name: frontend-service, namespace: tenant-a, labels: {app: frontend-service}}
- {name: backend-service, namespace: tenant-a, labels: {app: backend-service}}
- {name: frontend-service, namespace: tenant-b, labels: {app: frontend-service}}
- {name: backend-service, namespace: tenant-b, labels: {app: backend-service}}
- {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}, serviceAccount: coredns}

"""

@Suite("Policy test files")
struct PolicyTestFileTests {
    @Test("the lab's default policy: verdicts and attribution on both sides")
    func labDefaultPolicy() throws {
        let results = try run("policyFiles: [default.yaml]\n" + labEndpoints + """
        queries:
        - {name: same-ns, from: tenant-a/frontend-service, to: tenant-a/backend-service, port: 80, expect: allowed}
        - {name: cross-ns, from: tenant-a/frontend-service, to: tenant-b/backend-service, port: 80, expect: denied}
        - {name: dns, from: tenant-a/frontend-service, to: kube-system/coredns, port: 53, protocol: UDP, expect: allowed}
        - {name: into-a, from: tenant-b/frontend-service, to: tenant-a/backend-service, port: 80, expect: denied}
        """, files: ["t/default.yaml": labDefault])
        #expect(results.count == 4)
        #expect(results.allSatisfy { $0.ok == true })
        let cross = results[1]
        #expect(cross.deniedAt == .egress)
        #expect(cross.egress?.verdict.matchType == PolicyMatchType.none)
        #expect(cross.egress?.verdict.policies.map(\.description) == ["CiliumNetworkPolicy/tenant-a/default"])
        #expect(cross.egress?.verdict.dropReason == 133)
        #expect(cross.ingress?.verdict.allowed == true)
        #expect(cross.ingress?.verdict.matchType == .all)
        let dns = results[2]
        #expect(dns.egress?.verdict.matchType == .l3L4)
        #expect(dns.egress?.verdict.redirect == .dns)
        #expect(results[0].egress?.verdict.matchType == .l3Only)
        #expect(results[3].deniedAt == .ingress)
    }

    @Test("the JSON report has the documented keys in order")
    func jsonReport() throws {
        let results = try run("policyFiles: [default.yaml]\n" + labEndpoints + """
        queries:
        - {name: a-fe-to-b-be, from: tenant-a/frontend-service, to: tenant-b/backend-service, port: 80, protocol: TCP, expect: denied}
        """, files: ["t/default.yaml": labDefault])
        let text = PolicyReport.jsonText(results[0])
        #expect(text == #"{"name":"a-fe-to-b-be","from":"tenant-a/frontend-service","to":"tenant-b/backend-service","port":80,"protocol":"TCP","verdict":"denied","deniedAt":"egress","egress":{"endpoint":"tenant-a/frontend-service","verdict":"denied","matchType":"none","redirect":false,"policies":["CiliumNetworkPolicy/tenant-a/default"]},"ingress":{"endpoint":"tenant-b/backend-service","verdict":"allowed","matchType":"all","redirect":false,"policies":[]},"expect":"denied","ok":true}"#)
    }

    @Test("a failed expectation is reported as not ok")
    func failedExpectation() throws {
        let results = try run(labEndpoints + """
        policyFiles: [default.yaml]
        queries:
        - {name: wrong, from: tenant-a/frontend-service, to: tenant-b/backend-service, port: 80, expect: allowed}
        """, files: ["t/default.yaml": labDefault])
        #expect(results[0].ok == false)
        #expect(PolicyReport.summary(results) == "0 passed, 1 failed")
    }

    @Test("inline policies as objects and as YAML strings; errors inside a string point into the test file")
    func inlinePolicies() throws {
        let ok = try run(labEndpoints + """
        policies:
        - apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: deny-b, namespace: tenant-b}
          spec:
            endpointSelector: {}
            ingress: [{}]
        - |
          apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata:
            name: open
            namespace: tenant-a
          spec:
            endpointSelector: {}
            egress:
            - toEntities: [all]
        queries:
        - {from: tenant-a/frontend-service, to: tenant-b/backend-service, port: 80, expect: denied}
        - {from: tenant-a/frontend-service, to: 192.0.2.1, port: 443, expect: allowed}
        """)
        #expect(ok.map(\.ok) == [true, true])
        #expect(ok[0].deniedAt == .ingress)

        let errors = loadErrors("""
        policies:
        - |
          apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata:
            name: bad
          spec:
            endpointSelector: {}
            egress:
            - toPorts:
              - ports:
                - port: 80
        queries: []
        """)
        #expect(errors.count == 1)
        #expect(errors.first?.position.file == "t/test.yaml")
        #expect(errors.first?.position.line == 12)
        #expect(errors.first?.position.column == 17)
        #expect(errors.first?.message.contains("must be a string") == true)
    }

    @Test("bad queries and unknown fields are reported with positions, all at once")
    func badQueries() {
        let errors = loadErrors("""
        endpoints:
        - {name: a, labels: {app: a}}
        queries:
        - {from: a, to: a, port: 70000}
        - {from: a, to: a, port: 80, protocol: GRE}
        - {from: a, port: 80}
        - {from: a, to: a, port: 80, expect: maybe, colour: red}
        """)
        #expect(errors.count == 5)
        #expect(errors.map(\.position.line) == [4, 5, 6, 7, 7])
        #expect(errors.contains { $0.message.contains("out of range") })
        #expect(errors.contains { $0.message.contains("unknown protocol \"GRE\"") })
        #expect(errors.contains { $0.path == "queries[2].to" && $0.message.contains("required") })
        #expect(errors.contains { $0.message.contains("unknown field \"colour\"") })
    }

    @Test("peers: entities, IPs, CIDRs and unknown names")
    func peers() throws {
        let results = try run("""
        policies:
        - apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: p, namespace: default}
          spec:
            endpointSelector: {matchLabels: {app: a}}
            egress:
            - toCIDR: [10.0.0.0/8]
            - toEntities: [host]
        endpoints:
        - {name: a, labels: {app: a}}
        queries:
        - {from: a, to: 10.1.2.3, port: 80, expect: allowed}
        - {from: a, to: cidr:10.2.0.0/16, port: 80, expect: allowed}
        - {from: a, to: 11.0.0.1, port: 80, expect: denied}
        - {from: a, to: host, port: 22, expect: allowed}
        - {from: a, to: world, port: 80, expect: denied}
        """)
        #expect(results.map(\.ok) == [true, true, true, true, true])
        #expect(results[0].egress?.verdict.matchType == .l3Only)

        #expect(throws: ScenarioError.self) {
            _ = try run("""
            endpoints:
            - {name: a, labels: {app: a}}
            queries:
            - {from: a, to: nowhere, port: 80}
            """)
        }
        #expect(throws: ScenarioError.self) {
            _ = try run("""
            queries:
            - {from: world, to: 192.0.2.1, port: 80}
            """)
        }
    }

    @Test("workload files: Deployments become replicas named as Kubernetes names them")
    func deployments() throws {
        let workloads = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: web
                image: nginx
                ports: [{name: http, containerPort: 8080}]
        """
        let scenario = try PolicyTestFileLoader.load(path: "t/test.yaml", reader: MemoryReader(files: [
            "t/test.yaml": "workloadFiles: [w.yaml]\nqueries: []\n", "t/w.yaml": workloads,
        ]))
        #expect(scenario.endpoints.count == 2)
        let names = scenario.endpoints.map(\.name)
        #expect(names.allSatisfy { $0.hasPrefix("web-") && $0.split(separator: "-").count == 3 })
        #expect(Set(names).count == 2)
        #expect(scenario.endpoints[0].namedPorts == [NamedPort(name: "http", proto: 6, port: 8080)])
        // A named port in a policy resolves against the pod's container ports.
        let results = try run("""
        workloadFiles: [w.yaml]
        endpoints:
        - {name: client, namespace: shop, labels: {app: client}}
        policies:
        - apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: web, namespace: shop}
          spec:
            endpointSelector: {matchLabels: {app: web}}
            ingress:
            - toPorts: [{ports: [{port: http, protocol: TCP}]}]
        queries:
        - {from: shop/client, to: shop/web, port: 8080, expect: allowed}
        - {from: shop/client, to: shop/web, port: 80, expect: denied}
        """, files: ["t/w.yaml": workloads])
        #expect(results.map(\.ok) == [true, true])
        #expect(results[0].ingress?.verdict.matchType == .l4Only)
    }
}

@Suite("The example policy test files")
struct ExampleFileTests {
    /// The repository root, found from this source file.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct DiskReader: ScenarioFileReader {
        func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
    }

    @Test("every example test file loads and every expectation holds", arguments: [
        "examples/lab/lab-3-no-policy.test.yaml", "examples/lab/lab-5-tenant-a-default.test.yaml",
        "examples/lab/lab-6-tenant-a-extra.test.yaml", "examples/lab/lab-7-exam-first-attempt.test.yaml",
        "examples/lab/lab-7-exam.test.yaml", "examples/policy-tests/deny-precedence.test.yaml",
        "examples/policy-tests/kubernetes-networkpolicy.test.yaml",
    ])
    func example(_ file: String) throws {
        let scenario = try PolicyTestFileLoader.load(path: Self.root.appendingPathComponent(file).path, reader: DiskReader())
        let results = try PolicyScenarioRunner(scenario).run()
        #expect(!results.isEmpty)
        for r in results { #expect(r.ok == true, "\(file): \(r.query.name)") }
    }
}
