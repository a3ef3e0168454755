// A throwaway node with pods for datapath tests: uniquely named namespaces, veths, the BPF
// programs attached and pinned under their own directory; `tearDown` removes all of it.
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
    let node: NetworkNamespace
    let object: DatapathObject
    let maps: DatapathMaps
    let engine = PolicyEngine()
    var pods: [String: (ns: NetworkNamespace, ip: IPAddress, endpoint: DatapathEndpoint, info: EndpointInfo)] = [:]
    var servers: [Process] = []
    private var nextEndpoint: UInt16 = 1

    init() throws {
        id = "porin-t\(getpid() % 100000)-\(Self.counter.next())"
        node = try NetworkNamespace.create("\(id)-node")
        try node.sysctl("net/ipv4/ip_forward", "1")
        object = try DatapathObject(objectPath: try DatapathObject.locateObject(), pinDirectory: "/sys/fs/bpf/porin/\(id)")
        maps = DatapathMaps(object: object)
        try maps.setAggregation(UInt32(PORIN_AGGREGATE_NONE))
    }

    /// Adds a pod `name` (in namespace `default`) with `labels` and address 10.244.0.<octet>.
    @discardableResult
    func addPod(_ name: String, labels: [String: String], octet: Int) throws -> IPAddress {
        let ns = try NetworkNamespace.create("\(id)-\(name)")
        let host = "lxc\(getpid() % 10000)\(nextEndpoint)"
        try createVethPair(outer: host, outerNamespace: node, innerTemp: "tmp\(getpid() % 10000)\(nextEndpoint)", into: ns, innerName: "eth0")
        let ip = IPAddress("10.244.0.\(octet)")!
        let (hostIndex, hostMAC) = try node.link(host)
        let (_, podMAC) = try ns.link("eth0")
        try ns.ip("addr", "add", "\(ip)/32", "dev", "eth0")
        try ns.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
        try ns.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
        try ns.ip("neigh", "add", "169.254.1.1", "lladdr", hostMAC.map { String(format: "%02x", $0) }.joined(separator: ":"), "dev", "eth0", "nud", "permanent")
        try node.ip("route", "add", "\(ip)/32", "dev", host)
        let info = EndpointInfo(namespace: "default", name: name, labels: labels, ips: [ip])
        let identity = engine.upsertEndpoint(info)
        let ep = DatapathEndpoint(id: nextEndpoint, identity: identity, address: ip, hostIfindex: hostIndex, podMAC: podMAC, hostMAC: hostMAC)
        nextEndpoint += 1
        try maps.upsertEndpoint(ep)
        let object = self.object
        try node.perform { try object.attach(ifindex: hostIndex) }
        pods[name] = (ns, ip, ep, info)
        sync()
        return ip
    }

    /// Writes every endpoint's policy from the engine into the maps.
    func sync() {
        for (name, p) in pods {
            // Identities can change when labels or namespaces do; keep the datapath's view current.
            let id = engine.identity(ofEndpoint: "default/\(name)") ?? p.endpoint.identity
            var ep = p.endpoint
            if ep.identity != id { ep.identity = id; try? maps.upsertEndpoint(ep); pods[name]!.endpoint = ep }
            maps.syncPolicy(endpoint: ep.id, policy: engine.subjectPolicy(ofEndpoint: "default/\(name)"))
        }
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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", pods[from]!.ns.name, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                       "--max-time", String(timeout), "http://\(pods[to]!.ip):\(port)/"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func tearDown() {
        // SIGKILL: the test runner's blocked signals are inherited, so SIGTERM may never arrive.
        for s in servers { kill(s.processIdentifier, SIGKILL); s.waitUntilExit() }
        for p in pods.values { try? p.ns.delete() }
        try? node.delete()
        DatapathObject.unpin(directory: object.pinDirectory)
    }
}
