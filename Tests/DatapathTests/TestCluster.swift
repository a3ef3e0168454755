// A throwaway node with pods for datapath tests: uniquely named namespaces, veths, the BPF
// programs attached and pinned under their own directory; `tearDown` removes all of it.
import Agent
import Datapath
import DatapathABI
import Foundation
import Netns
import PolicyAPI
import PolicyEngine

final class TestCluster: @unchecked Sendable {
    static let counter = Counter()
    final class Counter: @unchecked Sendable {
        private var n = 0
        private let lock = NSLock()
        func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
    }

    let id: String
    let network: NodeNetwork
    var node: NetworkNamespace { network.node }
    private(set) var object: DatapathObject
    private(set) var maps: DatapathMaps
    let engine = PolicyEngine()
    var pods: [String: (ns: NetworkNamespace, ip: IPAddress, endpoint: DatapathEndpoint, info: EndpointInfo)] = [:]
    var servers: [Process] = []
    var wiredPods: [PodNetwork] = []
    private var nextEndpoint: UInt16 = 1

    init() throws {
        id = "porin-t\(getpid() % 100000)-\(Self.counter.next())"
        network = try NodeNetwork(cluster: id, nodeName: "\(id)-node")
        object = network.datapath
        maps = DatapathMaps(object: object)
        try maps.setAggregation(UInt32(PORIN_AGGREGATE_NONE))
    }

    /// Adds a pod with `labels` and address 10.244.0.<octet>. `name` is `pod` (namespace
    /// `default`) or `namespace/pod`, and is how the tests refer to it.
    @discardableResult
    func addPod(_ name: String, labels: [String: String], octet: Int, serviceAccount: String = "default") throws -> IPAddress {
        let ip = IPAddress("10.244.0.\(octet)")!
        let parts = name.split(separator: "/").map(String.init)
        let wired = try network.createPod(netns: "\(id)-p\(nextEndpoint)", address: ip, dns: nil, searchNamespace: parts.count == 2 ? parts[0] : "default")
        let ns = wired.namespace
        let info = EndpointInfo(namespace: parts.count == 2 ? parts[0] : "default", name: parts.last!, labels: labels,
                                serviceAccount: serviceAccount, ips: [ip])
        let identity = engine.upsertEndpoint(info)
        let ep = DatapathEndpoint(id: nextEndpoint, identity: identity, address: ip, hostIfindex: wired.hostIfindex, podMAC: wired.podMAC, hostMAC: wired.hostMAC)
        nextEndpoint += 1
        pods[name] = (ns, ip, ep, info)
        wiredPods.append(wired)
        sync()
        return ip
    }

    /// Writes every endpoint's policy from the engine into the maps.
    func sync() {
        for (name, p) in pods {
            // Identities can change when labels or namespaces do; keep the datapath's view current.
            let id = engine.identity(ofEndpoint: p.info.fullName) ?? p.endpoint.identity
            var ep = p.endpoint
            ep.identity = id
            pods[name]!.endpoint = ep
            try? maps.sync(endpoint: ep, policy: engine.subjectPolicy(ofEndpoint: p.info.fullName))
        }
        // Policy CIDRs become ipcache prefixes, as the agent will write them.
        for (prefix, identity) in engine.cidrPrefixes { try? maps.setPrefix(prefix, identity: identity) }
    }

    func apply(_ yaml: String) throws {
        for o in try APIObjectDecoder.decode(text: yaml, file: "test") {
            if case let .policy(p) = o { engine.upsertPolicy(p) }
        }
        sync()
    }

    func remove(_ ref: PolicyReference) {
        engine.removePolicy(ref)
        sync()
    }

    /// Starts an HTTP server in a pod on `port` and waits until it listens.
    func serveHTTP(in pod: String, port: Int) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", pods[pod]!.ns.name, "python3", "-m", "http.server", String(port), "--bind", pods[pod]!.ip.description]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        servers.append(p)
        for _ in 0..<100 {
            if (try? pods[pod]!.ns.exec(["sh", "-c", "ss -ltn | grep -q ':\(port) '"])) != nil { return }
            usleep(50_000)
        }
        throw NetnsError("the HTTP server in \(pod) did not start")
    }

    /// `curl` from one pod to another; returns curl's exit code and the HTTP status.
    func curl(from: String, to: String, port: Int, timeout: Double = 2) -> (exit: Int32, status: String) {
        curlAddress(from: from, url: "http://\(pods[to]!.ip):\(port)/", timeout: timeout)
    }

    func curlAddress(from: String, url: String, timeout: Double = 2) -> (exit: Int32, status: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", pods[from]!.ns.name, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                       "--max-time", String(timeout), url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let probeScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("probe.py").path

    /// Starts the probe server in a pod on TCP and UDP ports and waits until it is ready.
    func serveProbe(in pod: String, tcp: [Int], udp: [Int]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", pods[pod]!.ns.name, "python3", Self.probeScript, "server", pods[pod]!.ip.description]
            + tcp.map { "tcp:\($0)" } + udp.map { "udp:\($0)" }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        servers.append(p)
        let line = out.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).hasPrefix("ready") else { throw NetnsError("the probe server in \(pod) did not start") }
    }

    /// One connection attempt from a pod to another: TCP connect, UDP echo, or ICMP echo (the
    /// port is then the ICMP type and only echo requests are probed).
    func probe(from: String, to: String, proto: String, port: Int, timeout: Double = 0.5) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        let dst = pods[to]!.ip.description
        if proto == "ICMP" {
            p.arguments = ["netns", "exec", pods[from]!.ns.name, "ping", "-c", "1", "-W", "1", dst]
        } else {
            p.arguments = ["netns", "exec", pods[from]!.ns.name, "python3", Self.probeScript, "client", dst, proto, String(port), String(timeout)]
        }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// What an agent restart does to the datapath: the old loader goes away (its programs stay
    /// attached and its maps pinned, so enforcement goes on), then `reload` opens the object
    /// again on the pinned maps, re-attaches and re-syncs.
    func dropLoader() throws {
        object = try DatapathObject(objectPath: try DatapathObject.locateObject(), pinDirectory: object.pinDirectory)
        maps = DatapathMaps(object: object)
        maps.adoptExistingEntries()
    }

    func reattachAndSync() throws {
        let object = self.object
        for p in pods.values {
            let idx = p.endpoint.hostIfindex
            try node.perform { try object.attach(ifindex: idx) }
        }
        sync()
    }

    /// Removes every policy from the engine (and so from the maps).
    func removeAllPolicies() {
        for p in engine.policies { engine.removePolicy(p.reference) }
        sync()
    }

    func tearDown() {
        // SIGKILL: the test runner's blocked signals are inherited, so SIGTERM may never arrive.
        for s in servers { kill(s.processIdentifier, SIGKILL); s.waitUntilExit() }
        for p in wiredPods { network.deletePod(p) }
        network.destroy()
    }
}
