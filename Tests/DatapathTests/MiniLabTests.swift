// A slice of the lab on one node, assembled from Porin's parts the way the agent will: kube-dns
// (Porin's DNS server) behind its ClusterIP, a stand-in backend behind a Service, and a client
// whose resolver has Kubernetes' search path, so `curl backend-service.tenant-b` works by name
// and the lab's tenant-a policy then drops it. Needs root.
import Agent
import Datapath
import DatapathABI
import Foundation
import Netns
import PolicyAPI
import PolicyEngine
import Testing

@Suite("Datapath: the lab by name", .serialized)
struct MiniLabTests {
    static let porin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("porin").path

    @Test("curl by Service name through kube-dns; the tenant-a default policy allows DNS and drops tenant-b",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MiniLabTests.porin)))
    func byName() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let id = "porin-m\(getpid() % 100000)"
        let network = try NodeNetwork(cluster: id, nodeName: "\(id)-node")
        var pods: [PodNetwork] = []
        var processes: [Process] = []
        defer {
            for p in processes { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            for p in pods { network.deletePod(p) }
            network.destroy()
        }
        let engine = PolicyEngine()
        let maps = DatapathMaps(object: network.datapath)
        let dnsVIP = IPAddress("10.96.0.10")!, backendVIP = IPAddress("10.96.16.75")!
        struct Spec { var ns: String; var name: String; var labels: [String: String]; var ip: String; var sa = "default" }
        let specs = [
            Spec(ns: "kube-system", name: "coredns", labels: ["k8s-app": "kube-dns"], ip: "10.244.1.2", sa: "coredns"),
            Spec(ns: "tenant-a", name: "frontend-service", labels: ["app": "frontend-service"], ip: "10.244.1.3"),
            Spec(ns: "tenant-b", name: "backend-service", labels: ["app": "backend-service"], ip: "10.244.1.4"),
            Spec(ns: "tenant-a", name: "backend-service", labels: ["app": "backend-service"], ip: "10.244.1.5"),
        ]
        for (i, s) in specs.enumerated() {
            let pod = try network.createPod(netns: "\(id)-\(i)", address: IPAddress(s.ip)!, dns: dnsVIP, searchNamespace: s.ns)
            pods.append(pod)
            engine.upsertEndpoint(EndpointInfo(namespace: s.ns, name: s.name, labels: s.labels, serviceAccount: s.sa, ips: [pod.address]))
        }
        func syncAll() throws {
            for (i, s) in specs.enumerated() {
                let full = "\(s.ns)/\(s.name)"
                try maps.sync(endpoint: DatapathEndpoint(id: UInt16(i + 1), identity: engine.identity(ofEndpoint: full)!, address: pods[i].address,
                                                         hostIfindex: pods[i].hostIfindex, podMAC: pods[i].podMAC, hostMAC: pods[i].hostMAC),
                              policy: engine.subjectPolicy(ofEndpoint: full))
            }
        }
        try syncAll()
        try maps.setService(id: 1, vip: dnsVIP, port: 53, proto: 17, backends: [(pods[0].address, 53)])
        try maps.setService(id: 2, vip: backendVIP, port: 80, proto: 6, backends: [(pods[2].address, 80)])
        try maps.setService(id: 3, vip: IPAddress("10.96.16.76")!, port: 80, proto: 6, backends: [(pods[3].address, 80)])

        // kube-dns answers for the Services; the backends run the stand-in server.
        let records = "/etc/netns/\(pods[0].namespace.name)/porin-dns.records"
        try """
        backend-service.tenant-b.svc.cluster.local A 10.96.16.75
        backend-service.tenant-a.svc.cluster.local A 10.96.16.76
        kube-dns.kube-system.svc.cluster.local A 10.96.0.10

        """.write(toFile: records, atomically: true, encoding: .utf8)
        func start(_ pod: PodNetwork, _ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", pod.namespace.name, Self.porin] + args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            processes.append(p)
        }
        try start(pods[0], ["dns-server", "--listen", "\(pods[0].address):53", "--zone", "cluster.local", "--records", records])
        try start(pods[2], ["standin", "--port", "80:http", "--hostname", "backend-service"])
        try start(pods[3], ["standin", "--port", "80:http", "--hostname", "backend-service"])

        func curl(_ name: String, timeout: Int = 5) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", pods[1].namespace.name, "curl", "-sI", "--max-time", String(timeout), name]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let d = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: d, as: UTF8.self))
        }
        var r: (Int32, String) = (-1, "")
        for _ in 0..<30 {
            r = try curl("backend-service.tenant-b", timeout: 2)
            if r.0 == 0 { break }
            usleep(200_000)
        }
        #expect(r.0 == 0 && r.1.hasPrefix("HTTP/1.1 200 OK"), "by name, no policy (\(r))")

        // LAB.md §4-5: tenant-a's default policy.
        let policy = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/lab/tenant-a-default-policy.yaml").path, encoding: .utf8)
        for o in try APIObjectDecoder.decode(text: policy, file: "tenant-a-default-policy.yaml") { if case let .policy(p) = o { engine.upsertPolicy(p) } }
        try syncAll()
        r = try curl("backend-service.tenant-a")
        #expect(r.0 == 0 && r.1.hasPrefix("HTTP/1.1 200 OK"), "same namespace, DNS allowed (\(r))")
        r = try curl("backend-service.tenant-b", timeout: 2)
        #expect(r.0 == 28, "tenant-b is dropped at tenant-a's egress: curl exits 28 (\(r))")
    }
}
