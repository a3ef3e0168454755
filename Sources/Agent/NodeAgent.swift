// What a node's agent does with the cluster's objects: pods become namespaces wired to the node
// with addresses, resolver settings and running containers; Services get ClusterIPs, backends in
// the datapath and names in kube-dns; policies go through the engine into every endpoint's map.
// The daemons (next) put this behind the control plane's API; tests drive it directly.
import Datapath
import Foundation
import Netns
import PolicyAPI
import PolicyEngine
import StandIn

public final class NodeAgent: @unchecked Sendable {
    public struct Config: Sendable {
        public var cluster: String
        public var nodeName: String
        public var podCIDR = IPPrefix("10.244.0.0/16")!
        public var serviceCIDR = IPPrefix("10.96.0.0/12")!
        public var dnsServiceIP = IPAddress("10.96.0.10")!
        public var clusterDomain = "cluster.local"
        /// The `porin` binary pods run (`standin`, `dns-server`).
        public var porin: String
        /// Where kube-dns sends names outside the cluster domain (the world's resolver), if anywhere.
        public var upstreamDNS: IPAddress?
        public init(cluster: String, nodeName: String, porin: String) {
            self.cluster = cluster
            self.nodeName = nodeName
            self.porin = porin
        }
    }

    public struct RunningPod: Sendable {
        public var pod: Pod
        public var network: PodNetwork
        public var endpoint: DatapathEndpoint
        public var processes: [Process]
    }

    public let config: Config
    public let network: NodeNetwork
    public let engine: PolicyEngine
    public let maps: DatapathMaps
    private var podIPs: IPAllocator
    private var serviceIPs: IPAllocator
    public private(set) var pods: [String: RunningPod] = [:]
    public private(set) var services: [String: (service: Service, ip: IPAddress, ids: [UInt16])] = [:]
    private var nextEndpointID: UInt16 = 1
    private var nextServiceID: UInt16 = 1
    private let recordsPath: String

    public init(config: Config) throws {
        self.config = config
        network = try NodeNetwork(cluster: config.cluster, nodeName: config.nodeName)
        engine = PolicyEngine(config: EngineConfig(clusterName: "default"))
        maps = DatapathMaps(object: network.datapath)
        try maps.setAggregation(3)
        guard let p = IPAllocator(prefix: config.podCIDR), let s = IPAllocator(prefix: config.serviceCIDR, reserved: [config.dnsServiceIP]) else {
            throw DatapathError("pod and Service CIDRs must be IPv4 prefixes of at most /30")
        }
        podIPs = p
        serviceIPs = s
        recordsPath = "/etc/netns/\(config.nodeName)/porin-cluster-dns.records"
        try FileManager.default.createDirectory(atPath: "/etc/netns/\(config.nodeName)", withIntermediateDirectories: true)
        try writeDNSRecords()
    }

    /// Starts kube-dns: a `kube-system/coredns` pod running Porin's DNS server behind the
    /// `kube-dns` Service (10.96.0.10, port 53 UDP and TCP).
    public func startKubeDNS() throws {
        let container = Container(name: "coredns", image: "porin/dns-server", command: [], args: [], ports: [
            ContainerPort(name: "dns", containerPort: 53, proto: .udp), ContainerPort(name: "dns-tcp", containerPort: 53, proto: .tcp),
        ])
        var args = ["dns-server", "--listen", "0.0.0.0:53", "--zone", config.clusterDomain, "--records", recordsPath]
        if let up = config.upstreamDNS { args += ["--upstream", "\(up):53"] }
        let pod = Pod(name: "coredns", namespace: "kube-system", labels: ["k8s-app": "kube-dns"],
                      spec: PodSpec(containers: [container], serviceAccountName: "coredns", restartPolicy: "Always", hostNetwork: false))
        try createPod(pod, commandOverride: [config.porin] + args)
        let svc = Service(name: "kube-dns", namespace: "kube-system", labels: [:], selector: ["k8s-app": "kube-dns"],
                          ports: [ServicePort(name: "dns", port: 53, targetPort: "53", proto: .udp),
                                  ServicePort(name: "dns-tcp", port: 53, targetPort: "53", proto: .tcp)],
                          clusterIP: config.dnsServiceIP.description)
        try applyService(svc)
    }

    /// Applies decoded objects in a safe order: namespaces, policies, pods, Services.
    public func apply(_ objects: [APIObject]) throws {
        for o in objects { if case let .namespace(n) = o { engine.setNamespace(n.name, labels: n.labels) } }
        for o in objects { if case let .policy(p) = o { engine.upsertPolicy(p) } }
        for o in objects {
            switch o {
            case let .pod(p): if pods["\(p.namespace)/\(p.name)"] == nil { try createPod(p) }
            case let .deployment(d):
                for i in 0..<d.replicas {
                    let name = d.replicaName(i)
                    if pods["\(d.namespace)/\(name)"] == nil {
                        try createPod(Pod(name: name, namespace: d.namespace, labels: d.templateLabels, spec: d.templateSpec))
                    }
                }
            default: break
            }
        }
        for o in objects { if case let .service(s) = o { try applyService(s) } }
        try syncAll()
    }

    public func createPod(_ pod: Pod, commandOverride: [String]? = nil) throws {
        let key = "\(pod.namespace)/\(pod.name)"
        guard let ip = podIPs.allocate() else { throw DatapathError("the pod CIDR \(config.podCIDR) is full") }
        let netnsName = "\(config.cluster)-\(pod.namespace)-\(pod.name)"
        let net = try network.createPod(netns: netnsName, address: ip, dns: config.dnsServiceIP, searchNamespace: pod.namespace,
                                        clusterDomain: config.clusterDomain)
        let named = pod.namedPorts.map { NamedPort(name: $0.key, proto: $0.value.proto.number, port: UInt16($0.value.port) ?? 0) }
        let identity = engine.upsertEndpoint(EndpointInfo(namespace: pod.namespace, name: pod.name, labels: pod.labels,
                                                          serviceAccount: pod.spec.serviceAccountName, namedPorts: named, ips: [ip]))
        let ep = DatapathEndpoint(id: nextEndpointID, identity: identity, address: ip, hostIfindex: net.hostIfindex, podMAC: net.podMAC, hostMAC: net.hostMAC)
        nextEndpointID += 1
        pods[key] = RunningPod(pod: pod, network: net, endpoint: ep, processes: [])
        try syncAll()
        // Containers: a command runs as written; an image alone runs the stand-in server.
        var procs: [Process] = []
        for c in pod.spec.containers {
            let argv: [String]
            if let o = commandOverride { argv = o } else if !c.command.isEmpty || !c.args.isEmpty { argv = c.command + c.args } else {
                let ports = c.ports.filter { $0.proto == .tcp }.map { StandInPort.forContainerPort($0.containerPort, name: $0.name).description }
                guard !ports.isEmpty else { continue }
                argv = [config.porin, "standin", "--hostname", pod.name] + ports.flatMap { ["--port", $0] }
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", netnsName] + argv
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            procs.append(p)
        }
        pods[key]!.processes = procs
    }

    public func applyService(_ svc: Service) throws {
        let key = "\(svc.namespace)/\(svc.name)"
        let ip: IPAddress
        if let existing = services[key] { ip = existing.ip } else if let fixed = svc.clusterIP.flatMap(IPAddress.init) {
            _ = serviceIPs.claim(fixed)
            ip = fixed
        } else {
            guard let a = serviceIPs.allocate() else { throw DatapathError("the Service CIDR \(config.serviceCIDR) is full") }
            ip = a
        }
        var ids = services[key]?.ids ?? []
        while ids.count < svc.ports.count { ids.append(nextServiceID); nextServiceID += 1 }
        services[key] = (svc, ip, ids)
        try syncServices()
        try writeDNSRecords()
    }

    /// Backends of every Service from the pods that match its selector (targetPort by number or name).
    func syncServices() throws {
        for (_, s) in services {
            for (i, port) in s.service.ports.enumerated() {
                let backends = pods.values.filter { p in
                    p.pod.namespace == s.service.namespace && !s.service.selector.isEmpty
                        && s.service.selector.allSatisfy { p.pod.labels[$0.key] == $0.value }
                }.sorted { $0.endpoint.id < $1.endpoint.id }.compactMap { p -> (IPAddress, UInt16)? in
                    if let n = UInt16(port.targetPort) { return (p.endpoint.address, n) }
                    guard let np = p.pod.namedPorts[port.targetPort], let n = UInt16(np.port) else { return nil }
                    return (p.endpoint.address, n)
                }
                try maps.setService(id: s.ids[i], vip: s.ip, port: UInt16(port.port), proto: port.proto.number, backends: backends)
            }
        }
    }

    func writeDNSRecords() throws {
        let lines = services.values.map { "\($0.service.name).\($0.service.namespace).svc.\(config.clusterDomain) A \($0.ip)" }.sorted()
        try (lines.joined(separator: "\n") + "\n").write(toFile: recordsPath, atomically: true, encoding: .utf8)
    }

    /// Writes every endpoint and its policy, and the ipcache prefixes of policy CIDRs.
    public func syncAll() throws {
        for (key, p) in pods {
            var ep = p.endpoint
            ep.identity = engine.identity(ofEndpoint: key) ?? ep.identity
            pods[key]!.endpoint = ep
            try maps.sync(endpoint: ep, policy: engine.subjectPolicy(ofEndpoint: key))
        }
        for (prefix, identity) in engine.cidrPrefixes { try maps.setPrefix(prefix, identity: identity) }
        try syncServices()
    }

    /// Runs a command inside a pod (what `porin exec` does): its exit status and output.
    public func exec(_ pod: String, _ argv: [String]) throws -> (status: Int32, output: String) {
        guard let p = pods[pod] else { throw DatapathError("no pod \(pod)") }
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        proc.arguments = ["netns", "exec", p.network.namespace.name] + argv
        let out = Pipe()
        proc.standardOutput = out
        proc.standardError = FileHandle.nullDevice
        try proc.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        proc.waitUntilExit()
        return (proc.terminationStatus, String(decoding: d, as: UTF8.self))
    }

    /// Stops every container and removes every pod, the node and its pinned maps.
    public func shutdown() {
        for p in pods.values {
            for proc in p.processes where proc.isRunning { kill(proc.processIdentifier, SIGKILL); proc.waitUntilExit() }
            network.deletePod(p.network)
        }
        pods = [:]
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(config.nodeName)")
        network.destroy()
    }
}
