// LAB.md §3 and §5 on one node, driven through the node agent the way the daemons will drive it:
// the lab's tenant-services.yaml in tenant-a/b/c, kube-dns, then the lab's tenant-a policy. Real
// curls by name inside real pods. Needs root.
import Agent
import Foundation
import PolicyAPI
import Testing

@Suite("The lab on one node", .serialized)
struct MiniLabTests {
    static let porin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("porin").path
    static let lab = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/lab")

    @Test("§3: by name everything answers; §5: the tenant-a default policy keeps DNS and tenant-a, drops tenant-b",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MiniLabTests.porin)))
    func labSections3And5() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let id = "porin-m\(getpid() % 100000)"
        let agent = try NodeAgent(config: .init(cluster: id, nodeName: "\(id)-node", porin: Self.porin))
        defer { agent.shutdown() }
        try agent.startKubeDNS()
        let services = try String(contentsOf: Self.lab.appendingPathComponent("tenant-services.yaml"), encoding: .utf8)
        for ns in ["tenant-a", "tenant-b", "tenant-c"] {
            try agent.apply([.namespace(Namespace(name: ns, labels: ["kubernetes.io/metadata.name": ns]))]
                + APIObjectDecoder.decode(text: services, file: "tenant-services.yaml", defaultNamespace: ns))
        }
        func curl(_ name: String, timeout: Int = 5) throws -> (status: Int32, output: String) {
            try agent.exec("tenant-a/frontend-service", ["curl", "-sI", "--max-time", String(timeout), name])
        }
        var r = try curl("backend-service.tenant-a")
        for _ in 0..<20 where r.status != 0 {  // the stand-in servers and kube-dns may still be starting
            usleep(200_000)
            r = try curl("backend-service.tenant-a", timeout: 2)
        }
        #expect(r.status == 0 && r.output.hasPrefix("HTTP/1.1 200 OK"), "§3 tenant-a (\(r))")
        r = try curl("backend-service.tenant-b")
        #expect(r.status == 0 && r.output.hasPrefix("HTTP/1.1 200 OK"), "§3 tenant-b (\(r))")

        let policy = try String(contentsOf: Self.lab.appendingPathComponent("tenant-a-default-policy.yaml"), encoding: .utf8)
        try agent.apply(APIObjectDecoder.decode(text: policy, file: "tenant-a-default-policy.yaml"))
        r = try curl("backend-service.tenant-a")
        #expect(r.status == 0 && r.output.hasPrefix("HTTP/1.1 200 OK"), "§5 tenant-a still answers (\(r))")
        r = try curl("backend-service.tenant-b", timeout: 3)
        #expect(r.status == 28, "§5 tenant-b is dropped: curl exits 28 (\(r))")
        r = try curl("backend-service.tenant-c", timeout: 3)
        #expect(r.status == 28, "§5 tenant-c is dropped too (\(r))")
        // From tenant-b, tenant-a's backend is closed by tenant-a's ingress policy.
        let fromB = try agent.exec("tenant-b/frontend-service", ["curl", "-sI", "--max-time", "3", "backend-service.tenant-a"])
        #expect(fromB.status == 28, "tenant-a's ingress drops tenant-b (\(fromB))")
    }

    @Test("§7, the exam in tenant-b: the first attempt drops tenant-c's backend, the solution reaches it",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MiniLabTests.porin)))
    func labSection7() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let id = "porin-e\(getpid() % 100000)"
        let agent = try NodeAgent(config: .init(cluster: id, nodeName: "\(id)-node", porin: Self.porin))
        defer { agent.shutdown() }
        try agent.startKubeDNS()
        let services = try String(contentsOf: Self.lab.appendingPathComponent("tenant-services.yaml"), encoding: .utf8)
        for ns in ["tenant-b", "tenant-c"] {
            try agent.apply([.namespace(Namespace(name: ns, labels: ["kubernetes.io/metadata.name": ns]))]
                + APIObjectDecoder.decode(text: services, file: "tenant-services.yaml", defaultNamespace: ns))
        }
        func curl(_ name: String, timeout: Int = 5) throws -> (status: Int32, output: String) {
            try agent.exec("tenant-b/frontend-service", ["curl", "-sI", "--max-time", String(timeout), name])
        }
        var r = try curl("backend-service.tenant-c", timeout: 2)
        for _ in 0..<20 where r.status != 0 {
            usleep(200_000)
            r = try curl("backend-service.tenant-c", timeout: 2)
        }
        #expect(r.status == 0, "no policy yet (\(r))")
        func apply(_ file: String) throws {
            let text = try String(contentsOf: Self.lab.appendingPathComponent(file), encoding: .utf8)
            try agent.apply(APIObjectDecoder.decode(text: text, file: file))
        }
        try apply("default-exam-first-attempt.yaml")
        r = try curl("backend-service.tenant-c", timeout: 3)
        #expect(r.status == 28, "first attempt: toEndpoints [{}] covers tenant-b only (\(r))")
        try apply("default-exam.yaml")  // the same policy name: replaces the first attempt
        r = try curl("backend-service.tenant-c")
        #expect(r.status == 0 && r.output.hasPrefix("HTTP/1.1 200 OK"), "the rule from the dropped flow opens tenant-c's backend (\(r))")
        r = try curl("backend-service.tenant-b")
        #expect(r.status == 0, "tenant-b's own backend stays reachable (\(r))")
    }
}
