// The simulated world: a pod resolves api.twitter.com through kube-dns → the world's resolver,
// reaches it through the node's uplink and gets the lab's 301; the lab's tenant-a policy then
// drops it (world identity); HTTPS hosts verify against the world's CA in pods that trust it (and
// only there); world files with mistakes are refused with positions.
import Agent
import ClusterAPI
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

    @Test("world files: tls: true on http and redirect ports, not on echo ports; errors have positions")
    func decodeTLS() throws {
        let lab = try WorldSpec.decode(text: try String(contentsOf: MiniLabTests.lab.appendingPathComponent("world.yaml"), encoding: .utf8), file: "world.yaml")
        func ports(_ host: String) -> [String] {
            (lab.hosts.first { $0.name == host }?.ports ?? []).map { "\($0.port) \($0.serve) tls=\($0.tls)" }
        }
        #expect(ports("google.com") == ["80 redirect(\"http://www.google.com/\") tls=false", "443 redirect(\"https://www.google.com/\") tls=true"])
        #expect(ports("api.twitter.com") == ["80 redirect(\"https://api.twitter.com/\") tls=false"])
        let ok = try WorldSpec.decode(text: """
            dns: 198.51.100.53
            hosts:
            - {name: a.example, address: 192.0.2.1, ports: [{port: 8443, http: true, tls: true}, {port: 80, http: true, tls: false}, {port: 7, echo: true, tls: false}]}
            """, file: "w.yaml")
        #expect(ok.hosts[0].ports.map(\.tls) == [true, false, false])
        #expect(ok.hosts[0].ports.map(\.serve) == [.http, .http, .echo])
        do {
            _ = try WorldSpec.decode(text: """
                dns: 198.51.100.53
                hosts:
                - name: a.example
                  address: 192.0.2.1
                  ports:
                  - {port: 7, echo: true, tls: true}
                  - {port: 443, http: true, tls: "yes"}
                  - {port: 444, tls: true}
                """, file: "w.yaml")
            Issue.record("accepted a bad world file")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "w.yaml:6:32: hosts[0].ports[0].tls: echo ports are plain TCP; tls: true goes with http: true or redirect: URL",
                "w.yaml:7:34: hosts[0].ports[1].tls: expected true or false, found string",
                "w.yaml:8:5: hosts[0].ports[2]: give exactly one of http: true, echo: true or redirect: URL",
            ])
        }
    }

    @Test("HTTPS to the world: a 301 over a chain verified against the world's CA in pods that trust it; exit 60 elsewhere",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MiniLabTests.porin)))
    func https() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let id = "porin-s\(getpid() % 100000)"
        let paths = ClusterPaths(id)
        let spec = try WorldSpec.decode(text: """
            dns: 198.51.100.53
            hosts:
            - name: secure.example
              address: 192.0.2.30
              aliases: [www.secure.example]
              ports:
              - {port: 443, tls: true, redirect: 'https://www.secure.example/'}
              - {port: 8443, tls: true, http: true}
            """, file: "w.yaml")
        let network = try NodeNetwork(cluster: id, nodeName: "\(id)-node")
        var pods: [PodNetwork] = []
        var world: WorldNetwork?
        defer {
            for p in pods { network.deletePod(p) }
            world?.destroy()
            network.destroy()
            try? FileManager.default.removeItem(atPath: paths.runDirectory)
        }
        // Made before the world: no CA to trust yet, so this pod keeps the machine's /etc/ssl.
        pods.append(try network.createPod(netns: "\(id)-u", address: IPAddress("10.244.2.3")!, dns: spec.dns, searchNamespace: "default"))
        #expect(!FileManager.default.fileExists(atPath: "/etc/netns/\(id)-u/ssl"))
        world = try WorldNetwork(name: "\(id)-world", spec: spec, node: network.node, podCIDR: IPPrefix("10.244.0.0/16")!,
                                 porin: MiniLabTests.porin, caCertificatePath: paths.worldCA)
        let ca = try String(contentsOfFile: paths.worldCA, encoding: .utf8)
        #expect(ca.hasPrefix("-----BEGIN CERTIFICATE-----"))
        pods.append(try network.createPod(netns: "\(id)-t", address: IPAddress("10.244.2.2")!, dns: spec.dns, searchNamespace: "default"))
        let bundle = try String(contentsOfFile: "/etc/netns/\(id)-t/ssl/certs/ca-certificates.crt", encoding: .utf8)
        let machine = try String(contentsOfFile: "/etc/ssl/certs/ca-certificates.crt", encoding: .utf8)
        #expect(bundle.hasPrefix(machine) && bundle.hasSuffix(ca), "the machine's CAs, then the world's")
        #expect(FileManager.default.fileExists(atPath: "/etc/netns/\(id)-t/ssl/openssl.cnf"))

        let engine = PolicyEngine()
        let maps = DatapathMaps(object: network.datapath)
        for (i, pod) in pods.enumerated() {
            let name = "default/\(pod.namespace.name)"
            engine.upsertEndpoint(EndpointInfo(namespace: "default", name: pod.namespace.name, labels: ["app": "client"], ips: [pod.address]))
            try maps.sync(endpoint: DatapathEndpoint(id: UInt16(i + 1), identity: engine.identity(ofEndpoint: name)!, address: pod.address,
                                                     hostIfindex: pod.hostIfindex, podMAC: pod.podMAC, hostMAC: pod.hostMAC),
                          policy: engine.subjectPolicy(ofEndpoint: name))
        }
        func curl(_ pod: PodNetwork, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let out = Pipe(), err = Pipe()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", pod.namespace.name, "curl", "-sI", "--max-time", "3"] + args
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        let trusted = pods[1], untrusted = pods[0]
        // -v: curl's account of the handshake (verification, ALPN) goes to stderr.
        var r = try curl(trusted, ["-v", "https://secure.example"])
        for _ in 0..<20 where r.status != 0 {  // the stand-in and the resolver may still be starting
            usleep(200_000)
            r = try curl(trusted, ["-v", "https://secure.example"])
        }
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 301 Moved Permanently\r\n") && r.stdout.contains("Location: https://www.secure.example/"), "\(r)")
        #expect(r.stderr.contains("CAfile: /etc/ssl/certs/ca-certificates.crt"), "curl reads the bind-mounted bundle: \(r.stderr)")
        #expect(r.stderr.contains("SSL certificate verify ok"), "\(r.stderr)")
        #expect(r.stderr.contains("ALPN: server accepted http/1.1"), "curl offers h2 and gets HTTP/1.1: \(r.stderr)")
        // The alias is in the certificate too; a tls http port answers 200.
        r = try curl(trusted, ["https://www.secure.example:8443"])
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(r)")
        // A name the certificate does not carry fails verification, as it would on the internet.
        r = try curl(trusted, ["--resolve", "other.example:443:192.0.2.30", "https://other.example"])
        #expect(r.status == 60, "\(r)")
        // Without the world's CA: the server is reachable but its chain is not trusted.
        r = try curl(untrusted, ["https://secure.example"])
        #expect(r.status == 60, "\(r)")
        r = try curl(untrusted, ["-k", "https://secure.example"])
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 301"), "reachable, only untrusted: \(r)")

        for p in pods { network.deletePod(p) }
        pods = []
        world?.destroy()
        world = nil
        #expect(!FileManager.default.fileExists(atPath: paths.worldCA), "a gone world's CA is trusted by no new pod")
        #expect(!FileManager.default.fileExists(atPath: "/etc/netns/\(id)-world"))
        #expect(!FileManager.default.fileExists(atPath: "/etc/netns/\(id)-t"))
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
