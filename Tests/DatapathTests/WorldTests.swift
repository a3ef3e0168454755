// The simulated world: a pod resolves api.twitter.com through kube-dns → the world's resolver,
// reaches it through the node's uplink and gets the lab's 301; the lab's tenant-a policy then
// drops it (world identity), and world files with mistakes are refused with positions.
import Agent
import World
import Datapath
import Foundation
import Netns
import PolicyAPI
import PolicyEngine
import Testing

@Suite("World", .serialized)
struct WorldTests {
    @Test("world files: addresses must be documentation prefixes; errors have positions")
    func decode() throws {
        let spec = try WorldSpec.decode(text: try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples/lab/world.yaml").path, encoding: .utf8), file: "world.yaml")
        #expect(spec.hosts.map(\.name) == ["api.twitter.com", "google.com"])
        #expect(spec.dnsRecords.contains("www.google.com CNAME google.com"))
        do {
            _ = try WorldSpec.decode(text: "dns: 8.8.8.8\nhosts:\n- {name: x.example, address: 10.0.0.1, ports: [{port: 80, http: true, echo: true}], colour: red}\n", file: "w.yaml")
            Issue.record("accepted a bad world file")
        } catch {
            let m = error.diagnostics.map(\.description)
            #expect(m.contains { $0.hasPrefix("w.yaml:1:6: dns: 8.8.8.8 is outside the documentation prefixes") })
            #expect(m.contains { $0.contains("hosts[0].address: 10.0.0.1 is outside") })
            #expect(m.contains { $0.contains("give exactly one of http: true, echo: true or redirect: URL") })
            #expect(m.contains { $0.contains("unknown field \"colour\"") })
        }
    }

    @Test("curl api.twitter.com by name gets the world's 301; the lab's policy drops it",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MiniLabTests.porin)))
    func reachTheWorld() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let id = "porin-w\(getpid() % 100000)"
        let network = try NodeNetwork(cluster: id, nodeName: "\(id)-node")
        let spec = try WorldSpec.decode(text: "dns: 198.51.100.53\nhosts:\n- {name: api.twitter.com, address: 192.0.2.10, ports: [{port: 80, redirect: 'https://api.twitter.com/'}]}\n", file: "w.yaml")
        let world: WorldNetwork
        do { world = try WorldNetwork(name: "\(id)-world", spec: spec, node: network.node, podCIDR: IPPrefix("10.244.0.0/16")!, porin: MiniLabTests.porin) } catch {
            network.destroy()
            throw error
        }
        let pod = try network.createPod(netns: "\(id)-a", address: IPAddress("10.244.2.2")!, dns: spec.dns, searchNamespace: "tenant-a")
        defer {
            network.deletePod(pod)
            world.destroy()
            network.destroy()
        }
        let engine = PolicyEngine()
        let maps = DatapathMaps(object: network.datapath)
        engine.upsertEndpoint(EndpointInfo(namespace: "tenant-a", name: "frontend-service", labels: ["app": "frontend-service"], ips: [pod.address]))
        func sync() throws {
            try maps.sync(endpoint: DatapathEndpoint(id: 1, identity: engine.identity(ofEndpoint: "tenant-a/frontend-service")!, address: pod.address,
                                                     hostIfindex: pod.hostIfindex, podMAC: pod.podMAC, hostMAC: pod.hostMAC),
                          policy: engine.subjectPolicy(ofEndpoint: "tenant-a/frontend-service"))
            for (prefix, identity) in engine.cidrPrefixes { try maps.setPrefix(prefix, identity: identity) }
        }
        try sync()
        func curl(_ timeout: Int) throws -> (Int32, String) {
            let out = Pipe()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", pod.namespace.name, "curl", "-sI", "--max-time", String(timeout), "api.twitter.com"]
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let d = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: d, as: UTF8.self))
        }
        var r: (Int32, String) = (-1, "")
        for _ in 0..<20 {
            r = try curl(2)
            if r.0 == 0 { break }
            usleep(200_000)
        }
        #expect(r.0 == 0 && r.1.hasPrefix("HTTP/1.1 301 Moved Permanently") && r.1.contains("Location: https://api.twitter.com/"), "\(r)")
        // Egress default deny with DNS to the world's resolver only: the name resolves, the host is dropped.
        for o in try APIObjectDecoder.decode(text: """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: default, namespace: tenant-a}
            spec:
              endpointSelector: {}
              egress:
              - toCIDR: [198.51.100.53/32]
                toPorts: [{ports: [{port: "53", protocol: UDP}]}]
            """, file: "p.yaml") { if case let .policy(p) = o { engine.upsertPolicy(p) } }
        try sync()
        r = try curl(2)
        #expect(r.0 == 28, "api.twitter.com is world, and world is not allowed (\(r))")
    }
}
