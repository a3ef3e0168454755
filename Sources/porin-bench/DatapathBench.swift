// Datapath figures (issue #3): pod-to-pod TCP request/response rate, new-connection rate and
// throughput through Porin's BPF datapath, against (a) two namespaces joined by one veth pair and
// (b) kernel routing through a node namespace without BPF, measured in the same run with client
// and server pinned to the same core. Needs root; creates and removes its own namespaces.
import Agent
import Datapath
import DatapathABI
import Foundation
import Netns
import PolicyAPI
import PolicyEngine

struct Topology {
    var name: String
    var client: NetworkNamespace
    var server: NetworkNamespace
    var serverIP: String
}

enum DatapathBench {
    static let tag = "porin-b\(getpid() % 100000)"
    /// Every namespace made, removed at the end whatever happens.
    nonisolated(unsafe) static var made: [NetworkNamespace] = []
    nonisolated(unsafe) static var networks: [NodeNetwork] = []

    static func namespace(_ name: String) throws -> NetworkNamespace {
        let ns = try NetworkNamespace.create(name)
        made.append(ns)
        return ns
    }

    static func direct() throws -> Topology {
        let c = try namespace("\(tag)-dc"), s = try namespace("\(tag)-ds")
        try createVethPair(outer: "veth-c", outerNamespace: c, innerTemp: "vtmp\(getpid() % 10000)", into: s, innerName: "veth-s")
        try c.ip("addr", "add", "10.251.0.1/24", "dev", "veth-c")
        try s.ip("addr", "add", "10.251.0.2/24", "dev", "veth-s")
        return Topology(name: "direct veth pair", client: c, server: s, serverIP: "10.251.0.2")
    }

    /// Two pods behind a node namespace, wired as Porin wires pods; with `datapath`, Porin's BPF
    /// programs are attached and a policy allows the client to reach the server's port.
    static func routed(datapath: Bool, port: Int) throws -> Topology {
        let p = datapath ? "p" : "r"
        let network = try NodeNetwork(cluster: "\(tag)-\(p)", nodeName: "\(tag)-\(p)n")
        networks.append(network)
        var pods: [PodNetwork] = []
        for (i, octet) in [(1, 21), (2, 22)] {
            let pod = try network.createPod(netns: "\(tag)-\(p)\(i)", address: IPAddress("10.252.0.\(octet)")!, dns: nil,
                                            searchNamespace: "default", attach: datapath)
            made.append(pod.namespace)
            pods.append(pod)
        }
        let topo = Topology(name: datapath ? "Porin datapath" : "kernel routing", client: pods[0].namespace, server: pods[1].namespace,
                            serverIP: pods[1].address.description)
        guard datapath else { return topo }
        let maps = DatapathMaps(object: network.datapath)
        try maps.setAggregation(UInt32(PORIN_AGGREGATE_MEDIUM))
        let engine = PolicyEngine()
        let yaml = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: allow, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts: [{ports: [{port: "\(port)", protocol: TCP}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: client, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints: [{matchLabels: {app: server}}]
            toPorts: [{ports: [{port: "\(port)", protocol: TCP}]}]
        """
        for o in try APIObjectDecoder.decode(text: yaml, file: "bench") { if case let .policy(p) = o { engine.upsertPolicy(p) } }
        var endpoints: [DatapathEndpoint] = []
        for (i, pod) in pods.enumerated() {
            let name = i == 0 ? "client" : "server"
            let id = engine.upsertEndpoint(EndpointInfo(namespace: "default", name: name, labels: ["app": name], ips: [pod.address]))
            endpoints.append(DatapathEndpoint(id: UInt16(i + 1), identity: id, address: pod.address, hostIfindex: pod.hostIfindex,
                                              podMAC: pod.podMAC, hostMAC: pod.hostMAC))
        }
        // After both identities exist: each side's policy names the other.
        for (i, name) in ["client", "server"].enumerated() {
            try maps.sync(endpoint: endpoints[i], policy: engine.subjectPolicy(ofEndpoint: "default/\(name)"))
        }
        return topo
    }

    static func startServer(_ t: Topology, port: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", t.server.name, "taskset", "-c", "0", CommandLine.arguments[0], "netperf-server", t.serverIP, String(port)]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        _ = out.fileHandleForReading.availableData
        return p
    }

    static func client(_ t: Topology, _ mode: String, port: Int, seconds: Double) throws -> Double {
        let out = try t.client.exec(["taskset", "-c", "0", CommandLine.arguments[0], mode, t.serverIP, String(port), String(seconds)])
        guard let v = Double(out.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw NetnsError("bad \(mode) output: \(out)") }
        return v
    }

    static func throughput(_ t: Topology, seconds: Int) throws -> Double {
        let s = Process()
        s.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        s.arguments = ["netns", "exec", t.server.name, "iperf3", "-s", "-1", "-p", "5001", "-B", t.serverIP, "-A", "0"]
        s.standardOutput = FileHandle.nullDevice
        s.standardError = FileHandle.nullDevice
        try s.run()
        defer { kill(s.processIdentifier, SIGKILL); s.waitUntilExit() }
        usleep(300_000)
        let out = try t.client.exec(["iperf3", "-c", t.serverIP, "-p", "5001", "-t", String(seconds), "-A", "0", "-J"])
        guard let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any],
              let end = json["end"] as? [String: Any], let sum = end["sum_received"] as? [String: Any],
              let bps = sum["bits_per_second"] as? Double else { throw NetnsError("cannot read iperf3's result: \(out.prefix(300))") }
        return bps / 1e9
    }

    static func run() {
        guard getuid() == 0 else { print("datapath: skipped, needs root (namespaces and BPF)"); return }
        let port = 5001
        var topologies: [Topology] = []
        defer {
            for ns in made { try? ns.delete() }
            for n in networks { n.destroy() }
        }
        do {
            topologies.append(try direct())
            topologies.append(try routed(datapath: false, port: port))
            topologies.append(try routed(datapath: true, port: port))
            var results: [(String, Double, Double, Double)] = []
            let seconds = Double(ProcessInfo.processInfo.environment["PORIN_BENCH_SECONDS"] ?? "") ?? 3
            // Interleave rounds so that machine noise hits every topology alike; keep the best.
            var best: [String: (Double, Double, Double)] = [:]
            let rounds = Int(ProcessInfo.processInfo.environment["PORIN_BENCH_ROUNDS"] ?? "") ?? 3
            for _ in 0..<rounds {
                for t in topologies {
                    let server = try startServer(t, port: port)
                    let rr = try client(t, "netperf-rr", port: port, seconds: seconds)
                    let crr = try client(t, "netperf-crr", port: port, seconds: seconds)
                    kill(server.processIdentifier, SIGKILL)
                    server.waitUntilExit()
                    let tp = try throughput(t, seconds: Int(seconds))
                    let b = best[t.name] ?? (0, 0, 0)
                    best[t.name] = (max(b.0, rr), max(b.1, crr), max(b.2, tp))
                }
            }
            for t in topologies { let b = best[t.name]!; results.append((t.name, b.0, b.1, b.2)) }
            let base = results[0]
            for r in results {
                print(String(format: "datapath: %-17@ TCP_RR %8.0f/s (%.2f)  TCP_CRR %7.0f/s (%.2f)  throughput %6.2f Gbit/s (%.2f)",
                             r.0 as NSString, r.1, r.1 / base.1, r.2, r.2 / base.2, r.3, r.3 / base.3))
            }
            print("datapath: ratios are against the direct veth pair; targets for Porin: RR ≥ 0.95, CRR ≥ 0.90, throughput ≥ 0.95")
        } catch {
            print("datapath: failed: \(error)")
        }
    }
}
