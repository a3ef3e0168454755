// The `porin policy` commands as a user runs them: the real binary, real files, exit codes.
import Foundation
import Testing

@Suite("porin policy (CLI)", .enabled(if: FileManager.default.isExecutableFile(atPath: porinBinary().path)))
struct CLITests {
    @Test("validate: valid files exit 0, invalid ones print every error with file:line:column and exit 1")
    func validate() throws {
        let ok = try porin(["policy", "validate", "-f", "examples/lab/tenant-a-default-policy.yaml", "examples/lab/default-exam.yaml"])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("valid (CiliumNetworkPolicy/tenant-a/default)"))
        let bad = try tempFile("bad.yaml", """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: bad
          namespace: tenant-a
        spec:
          endpointSelector: {}
          egress:
          - toEndpoints: [{}]
            toCIDR: [10.0.0.0/8]
          - toPorts:
            - ports:
              - port: 80
                protocol: TCPP
        """)
        let r = try porin(["policy", "validate", "-f", bad])
        #expect(r.status == 1)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.contains { $0.hasPrefix("\(bad):9:5: spec.egress[0]: combining ToEndpoints and ToCIDR") })
        #expect(lines.contains { $0.hasPrefix("\(bad):13:15: spec.egress[1].toPorts[0].ports[0].port: must be a string") })
        #expect(lines.contains { $0.hasPrefix("\(bad):14:19: spec.egress[1].toPorts[0].ports[0].protocol: invalid protocol \"TCPP\"") })
    }

    @Test("test: table with a closing count; exit 1 when an expectation fails, 2 on invalid input")
    func testCommand() throws {
        let ok = try porin(["policy", "test", "examples/lab/lab-5-tenant-a-default.test.yaml"])
        #expect(ok.status == 0)
        #expect(ok.stdout.hasSuffix("11 passed, 0 failed\n"))
        let failing = try tempFile("failing.test.yaml", """
        endpoints: [{name: a, labels: {app: a}}, {name: b, labels: {app: b}}]
        policies:
        - apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: closed}
          spec:
            endpointSelector: {matchLabels: {app: b}}
            ingress: [{}]
        queries:
        - {name: a-to-b, from: a, to: b, port: 80, expect: allowed}
        """)
        let f = try porin(["policy", "test", failing])
        #expect(f.status == 1)
        #expect(f.stdout.contains("allowed FAIL"))
        #expect(f.stdout.contains("denied (none) CiliumNetworkPolicy/default/closed"))
        let invalid = try tempFile("invalid.test.yaml", "queries:\n- {from: a, to: b, port: 80, colour: red}\n")
        let i = try porin(["policy", "test", invalid])
        #expect(i.status == 2)
        #expect(i.stderr.contains("\(invalid):2:30: queries[0].colour: unknown field \"colour\""))
        let skipped = try porin(["policy", "test", "examples/lab/tenant-services.yaml", "examples/lab/lab-7-exam.test.yaml"])
        #expect(skipped.status == 0)
        #expect(skipped.stderr.contains("tenant-services.yaml: skipped: Kubernetes manifests, not a policy test file"))
    }

    @Test("verdict: one query, JSON output")
    func verdict() throws {
        let r = try porin(["policy", "verdict", "-f", "examples/lab/tenant-a-default-policy.yaml", "--workloads", "examples/lab/lab-pods.yaml",
                           "--from", "tenant-a/frontend-service", "--to", "tenant-b/backend-service", "--port", "80", "--protocol", "TCP", "-o", "json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains(#""verdict":"denied","deniedAt":"egress""#))
        #expect(r.stdout.contains(#""policies":["CiliumNetworkPolicy/tenant-a/default"]"#))
        let bad = try porin(["policy", "verdict", "--from", "a", "--to", "b", "--port", "70000"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--port 70000 is out of range 1..65535"))
        let proto = try porin(["policy", "verdict", "--from", "a", "--to", "b", "--port", "80", "--protocol", "GRE"])
        #expect(proto.status != 0)
        #expect(proto.stderr.contains("--protocol must be TCP, UDP, SCTP, ICMP or ICMPv6"))
    }

    @Test("map: the endpoint's policy-map entries with their sources")
    func map() throws {
        let r = try porin(["policy", "map", "-f", "examples/lab/tenant-a-default-policy.yaml", "--workloads", "examples/lab/lab-pods.yaml",
                           "--endpoint", "tenant-a/frontend-service"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Egress: default deny by CiliumNetworkPolicy/tenant-a/default"))
        #expect(r.stdout.contains("allow-localhost-ingress"))
        let dns = r.stdout.split(separator: "\n").first { $0.contains("k8s:k8s-app=kube-dns") }
        #expect(dns?.contains("53/UDP") == true)
        #expect(dns?.contains("dns") == true)
        let missing = try porin(["policy", "map", "--workloads", "examples/lab/lab-pods.yaml", "--endpoint", "tenant-z/nothing"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("is not an endpoint"))
    }
}
