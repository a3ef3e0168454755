// The differential test of the engine issue: for the lab's policy test files, every query
// between two pods gets the same verdict from real packets through the BPF datapath as from
// `porin policy test` (the engine). TCP, UDP and ICMP. Needs root.
import Foundation
import PolicyAPI
import PolicyCheck
import PolicyEngine
import Testing

struct DiskReader: ScenarioFileReader {
    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
}

@Suite("Datapath: real packets agree with the engine", .serialized)
struct DifferentialTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let files = [
        "examples/lab/lab-3-no-policy.test.yaml", "examples/lab/lab-5-tenant-a-default.test.yaml",
        "examples/lab/lab-6-tenant-a-extra.test.yaml", "examples/lab/lab-7-exam-first-attempt.test.yaml",
        "examples/lab/lab-7-exam.test.yaml", "examples/policy-tests/deny-precedence.test.yaml",
    ]

    @Test("every pod-to-pod query of the example files")
    func labQueries() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        var checked = 0
        for file in Self.files {
            let scenario = try PolicyTestFileLoader.load(path: Self.root.appendingPathComponent(file).path, reader: DiskReader())
            let expected = try PolicyScenarioRunner(scenario).run()
            let c = try TestCluster()
            defer { c.tearDown() }
            for ns in scenario.namespaces { c.engine.setNamespace(ns.name, labels: ns.labels) }
            for (i, ep) in scenario.endpoints.enumerated() {
                try c.addPod(ep.fullName, labels: ep.labels, octet: 10 + i, serviceAccount: ep.serviceAccount)
            }
            for p in scenario.policies { c.engine.upsertPolicy(p) }
            c.sync()
            // Extra probes beyond the file's queries: UDP and ICMP between the same pods.
            var queries = expected.compactMap { r -> (String, String, String, Int)? in
                guard let e = r.egress?.endpoint, let i = r.ingress?.endpoint else { return nil }
                return (e, i, r.query.proto, r.query.port)
            }
            for (e, i, _, _) in queries where queries.count < 40 { queries.append((e, i, "UDP", 5353)); queries.append((e, i, "ICMP", 8)) }
            var listeners: [String: (tcp: Set<Int>, udp: Set<Int>)] = [:]
            for (_, dst, proto, port) in queries where proto != "ICMP" {
                if proto == "TCP" { listeners[dst, default: ([], [])].tcp.insert(port) } else { listeners[dst, default: ([], [])].udp.insert(port) }
            }
            for (pod, l) in listeners { try c.serveProbe(in: pod, tcp: l.tcp.sorted(), udp: l.udp.sorted()) }
            let runner = try PolicyScenarioRunner(scenario)
            for (src, dst, proto, port) in queries {
                let q = PolicyQuery(name: "probe", from: src, to: dst, port: port, proto: proto, position: SourcePosition(file: file, line: 1, column: 1))
                let engineAllows = try runner.evaluate(q).allowed
                let packetsPass = c.probe(from: src, to: dst, proto: proto, port: port)
                #expect(packetsPass == engineAllows, "\(file): \(src) → \(dst) \(port)/\(proto): engine \(engineAllows ? "allows" : "denies"), packets \(packetsPass ? "pass" : "are dropped")")
                checked += 1
            }
        }
        #expect(checked > 40)
    }
}
