// What a node's agent does with the cluster's objects. It holds the desired objects (from the
// control plane, or from a test) and reconciles: pods become namespaces wired to the node with
// addresses, resolver settings and supervised containers; Services get backends in the
// datapath; policies go through the engine into every endpoint's map. Its endpoints are saved,
// so an agent restarted after `kill -9` adopts the pods, identities and containers it had.
import ClusterAPI
import Datapath
import DNSProxy
import Foundation
import Hubble
import Netns
import PolicyAPI
import PolicyEngine
import StandIn

public final class NodeAgent: @unchecked Sendable {
    public struct Config: Sendable {
        public var cluster: String
        public var nodeName: String
        /// The node's network namespace (default: the node's name).
        public var nodeNetns: String
        /// Pods' namespaces are `<prefix><namespace>.<pod>` (default prefix: `<cluster>-`). A
        /// namespace name has no dot, so no two pods (and no node, whose name has none) share one.
        public var podNetnsPrefix: String
        public var podCIDR = IPPrefix("10.244.0.0/16")!
        public var serviceCIDR = IPPrefix("10.96.0.0/12")!
        public var dnsServiceIP = IPAddress("10.96.0.10")!
        public var clusterDomain = "cluster.local"
        /// The `porin` binary pods run (`standin`, `dns-server`).
        public var porin: String
        /// Where kube-dns sends names outside the cluster domain (the world's resolver), if anywhere.
        public var upstreamDNS: IPAddress?
        /// Where the agent writes kube-dns's records (nil: the control plane writes them).
        public var dnsRecordsPath: String?
        /// Where the agent keeps its endpoints (for restarts) and containers' logs; nil keeps nothing.
        public var stateDirectory: String?
        /// Hubble's ring buffer of flows (2^n − 1 records).
        public var flowCapacity = 4095
        /// Hubble's exporter: every flow as a JSON line in this file (rotated by size).
        public var flowExportPath: String?
        /// The DNS proxy's port (`--tofqdns-proxy-port`; 0: one the kernel picks, kept across restarts).
        public var dnsProxyPort: UInt16 = 0
        /// Learnt names live at least this long (`--tofqdns-min-ttl`; 0: the DNS TTL).
        public var fqdnMinTTL: UInt32 = 0
        public init(cluster: String, nodeName: String, porin: String) {
            self.cluster = cluster
            self.nodeName = nodeName
            self.porin = porin
            nodeNetns = nodeName
            podNetnsPrefix = "\(cluster)-"
            dnsRecordsPath = "/etc/netns/\(nodeName)/porin-cluster-dns.records"
        }
    }

    public struct RunningPod: Sendable {
        public var pod: Pod
        public var network: PodNetwork
        public var endpoint: DatapathEndpoint
        var containers: [ContainerProcess]
        public var created: Double
    }

    /// What survives an agent restart: per pod its address, endpoint, identity and containers.
    struct SavedState: Codable {
        struct SavedPod: Codable {
            var key: String
            var spec: String
            var ip: String
            var netns: String
            var endpointID: UInt16
            var identity: UInt32
            var created: Double
            var containers: [ContainerProcess]
        }
        struct SavedService: Codable {
            var ids: [UInt16]
            var ip: String
            /// Port and protocol number of each id, to remove the frontends of a Service deleted
            /// while no agent ran.
            var ports: [[Int]]
        }
        var pods: [SavedPod]
        var services: [String: SavedService]
        var nextEndpointID: UInt16
        var nextServiceID: UInt16
        /// The DNS proxy's port and what it learnt (names, addresses and their identities).
        var dnsProxyPort: UInt16?
        var fqdnCache: FQDNCache?
        var fqdnIdentities: [String: FQDNIdentity]?
    }

    public let config: Config
    public let network: NodeNetwork
    public let engine: PolicyEngine
    public let maps: DatapathMaps
    let lock = NSRecursiveLock()
    private var podIPs: IPAllocator
    private var serviceIPs: IPAllocator
    public internal(set) var pods: [String: RunningPod] = [:]
    /// Services by `namespace/name`; headless ones (`clusterIP: None`) have no address.
    public private(set) var services: [String: (service: Service, ip: IPAddress?, ids: [UInt16])] = [:]
    /// Desired objects by key (`Kind/namespace/name`), with their creation times.
    private var desired: [String: (object: APIObject, created: Double)] = [:]
    private var appliedPolicies: [PolicyReference: NetworkPolicyObject] = [:]
    private var writtenPrefixes: Set<IPPrefix> = []
    /// Pods found in the saved state at start, adopted when the first sync still wants them.
    private var restored: [String: (saved: SavedState.SavedPod, network: PodNetwork)] = [:]
    private var restoredServices: [String: SavedState.SavedService] = [:]
    private var nextEndpointID: UInt16 = 1
    private var nextServiceID: UInt16 = 1
    /// Pods made by a Deployment: `namespace/pod` → the Deployment's name (their workload).
    private var podOwners: [String: String] = [:]
    /// Hubble: the node's flows, and what the flow builder knows (swapped whole, under its own lock).
    public let flows: FlowRing
    public let metrics = HubbleMetrics()
    let directoryLock = NSLock()
    var directory = EndpointDirectory()
    /// What the DNS proxy's decisions read (under `directoryLock`).
    var proxyView = ProxyView()
    private var eventReader: EventReader?
    let flowBuilder: FlowBuilder
    var flowExporter: FlowExporter?

    // The DNS proxy (NodeAgent+DNSProxy.swift); under `lock` unless said otherwise.
    var dnsProxy: DNSProxyServer?
    var fqdnCache = FQDNCache()
    /// Learnt addresses outside the cluster that toFQDNs selectors select, with their identities.
    var fqdnIdentities: [UInt32: FQDNIdentity] = [:]
    /// From the saved state: the proxy's port and the identities learnt addresses had.
    var savedProxyPort: UInt16?
    var savedFQDNIdentities: [UInt32: UInt32] = [:]
    /// The cache changed since it was last saved (TTLs renewed by answers).
    var fqdnDirty = false

    public init(config: Config) throws {
        self.config = config
        flows = FlowRing(capacity: config.flowCapacity)
        flowBuilder = FlowBuilder(nodeName: config.nodeName)
        network = try NodeNetwork(cluster: config.cluster, nodeName: config.nodeName, netns: config.nodeNetns)
        engine = PolicyEngine(config: EngineConfig(clusterName: "default"))
        maps = DatapathMaps(object: network.datapath)
        // Entries a previous agent wrote stay in force until this one has rewritten them.
        maps.adoptExistingEntries()
        try maps.setAggregation(3)
        guard let p = IPAllocator(prefix: config.podCIDR), let s = IPAllocator(prefix: config.serviceCIDR, reserved: [config.dnsServiceIP]) else {
            throw DatapathError("pod and Service CIDRs must be IPv4 prefixes of at most /30")
        }
        podIPs = p
        serviceIPs = s
        if let path = config.dnsRecordsPath {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try writeDNSRecords()
        }
        if let dir = config.stateDirectory {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            restoreSavedState()
        }
    }

    private var statePath: String? { config.stateDirectory.map { "\($0)/endpoints.json" } }

    private func logPath(_ pod: Pod, _ container: String) -> String? {
        config.stateDirectory.map { "\($0)/logs/\(pod.namespace)_\(pod.name)_\(container).log" }
    }

    // MARK: Desired state

    private static func key(_ o: APIObject) -> String {
        switch o {
        case let .namespace(n): "Namespace//\(n.name)"
        case let .pod(p): "Pod/\(p.namespace)/\(p.name)"
        case let .deployment(d): "Deployment/\(d.namespace)/\(d.name)"
        case let .service(s): "Service/\(s.namespace)/\(s.name)"
        case let .policy(p): "\(p.reference.kind.rawValue)/\(p.reference.namespace)/\(p.reference.name)"
        }
    }

    /// Adds or replaces objects (as `porin apply` does) and reconciles.
    public func apply(_ objects: [APIObject]) throws {
        let now = Date().timeIntervalSince1970
        try sync(upserts: objects.map { (Self.key($0), $0, now) }, deletes: [], full: false)
    }

    /// Changes the desired objects and reconciles; with `full`, `upserts` are all there is.
    public func sync(upserts: [(key: String, object: APIObject, created: Double)], deletes: [String], full: Bool) throws {
        lock.lock()
        defer { lock.unlock() }
        if full { desired = [:] }
        for u in upserts { desired[u.key] = (u.object, desired[u.key]?.created ?? u.created) }
        for d in deletes { desired[d] = nil }
        try reconcile()
    }

    /// Starts kube-dns the way tests need it without a control plane: a `kube-system/coredns` pod
    /// running Porin's DNS server behind the `kube-dns` Service (10.96.0.10, port 53 UDP and TCP).
    public func startKubeDNS() throws {
        var args = [config.porin, "dns-server", "--listen", "0.0.0.0:53", "--zone", config.clusterDomain]
        if let r = config.dnsRecordsPath { args += ["--records", r] }
        if let up = config.upstreamDNS { args += ["--upstream", "\(up):53"] }
        try apply(Self.kubeDNSObjects(command: args, clusterIP: config.dnsServiceIP))
    }

    /// kube-system's namespace, the coredns pod and the kube-dns Service.
    public static func kubeDNSObjects(command: [String], clusterIP: IPAddress) -> [APIObject] {
        let container = Container(name: "coredns", image: "porin/dns-server", command: command, args: [], ports: [
            ContainerPort(name: "dns", containerPort: 53, proto: .udp), ContainerPort(name: "dns-tcp", containerPort: 53, proto: .tcp),
        ])
        let pod = Pod(name: "coredns", namespace: "kube-system", labels: ["k8s-app": "kube-dns"],
                      spec: PodSpec(containers: [container], serviceAccountName: "coredns", restartPolicy: "Always", hostNetwork: false))
        let svc = Service(name: "kube-dns", namespace: "kube-system", labels: ["k8s-app": "kube-dns"], selector: ["k8s-app": "kube-dns"],
                          ports: [ServicePort(name: "dns", port: 53, targetPort: "53", proto: .udp),
                                  ServicePort(name: "dns-tcp", port: 53, targetPort: "53", proto: .tcp)],
                          clusterIP: clusterIP.description)
        return [.namespace(Namespace(name: "kube-system", labels: ["kubernetes.io/metadata.name": "kube-system"])), .pod(pod), .service(svc)]
    }

    // MARK: Reconciliation

    private func reconcile() throws {
        var wantedPolicies: [PolicyReference: NetworkPolicyObject] = [:]
        var wantedPods: [String: (pod: Pod, created: Double)] = [:]
        var wantedServices: [String: Service] = [:]
        for (_, d) in desired.sorted(by: { ($0.value.created, $0.key) < ($1.value.created, $1.key) }) {
            switch d.object {
            case let .namespace(n): engine.setNamespace(n.name, labels: n.labels)
            case let .policy(p): wantedPolicies[p.reference] = p
            case let .pod(p): wantedPods["\(p.namespace)/\(p.name)"] = (p, d.created)
            case let .deployment(dep):
                for i in 0..<dep.replicas {
                    let name = dep.replicaName(i)
                    wantedPods["\(dep.namespace)/\(name)"] = (Pod(name: name, namespace: dep.namespace, labels: dep.templateLabels, spec: dep.templateSpec), d.created)
                    podOwners["\(dep.namespace)/\(name)"] = dep.name
                }
            case let .service(s): wantedServices["\(s.namespace)/\(s.name)"] = s
            }
        }
        engine.batch {
            for (ref, p) in wantedPolicies where appliedPolicies[ref] != p { engine.upsertPolicy(p) }
            for ref in appliedPolicies.keys where wantedPolicies[ref] == nil { engine.removePolicy(ref) }
        }
        appliedPolicies = wantedPolicies

        // Pods: gone or changed ones go first (their addresses return to the pool), then restored
        // ones are adopted (keeping identities and endpoint ids), then new ones are created.
        for (key, p) in pods {
            guard let w = wantedPods[key] else { deletePod(key); continue }
            if w.pod.spec != p.pod.spec { deletePod(key) } else if w.pod.labels != p.pod.labels {
                pods[key]!.pod = w.pod
                updateEndpoint(key)
            }
        }
        for (key, r) in restored {
            restored[key] = nil
            if let w = wantedPods[key], pods[key] == nil, String(describing: w.pod.spec) == r.saved.spec {
                adopt(w.pod, saved: r.saved, network: r.network)
            } else {
                // Deleted (or changed) while no agent ran: its endpoint leaves the maps too.
                ContainerRuntime.killAll(netns: r.network.namespace.name, containers: r.saved.containers)
                maps.removeEndpoint(DatapathEndpoint(id: r.saved.endpointID, identity: r.saved.identity, address: r.network.address,
                                                     hostIfindex: r.network.hostIfindex, podMAC: r.network.podMAC, hostMAC: r.network.hostMAC))
                network.deletePod(r.network)
                podIPs.release(r.network.address)
            }
        }
        var firstError: Error?
        for (key, w) in wantedPods.sorted(by: { ($0.value.created, $0.key) < ($1.value.created, $1.key) }) where pods[key] == nil {
            do { try createPod(w.pod, created: w.created) } catch { firstError = firstError ?? error }
        }

        for (key, s) in services where wantedServices[key] == nil {
            removeFrontends(s.service, ip: s.ip, ids: s.ids)
            services[key] = nil
        }
        // Services a previous agent wrote that are gone now.
        for (key, saved) in restoredServices where wantedServices[key] == nil {
            if let ip = IPAddress(saved.ip) {
                for (i, pp) in saved.ports.enumerated() where i < saved.ids.count && pp.count == 2 {
                    maps.removeService(id: saved.ids[i], vip: ip, port: UInt16(pp[0]), proto: UInt8(pp[1]))
                }
            }
            restoredServices[key] = nil
        }
        for (key, svc) in wantedServices where services[key]?.service != svc {
            do { try addService(key, svc) } catch { firstError = firstError ?? error }
        }
        defer {
            saveState()
            updateDirectory()
        }
        // Policies changed the toFQDNs selectors: learnt addresses may need other identities.
        try refreshFQDNIdentities()
        try syncAll()
        if config.dnsRecordsPath != nil { try writeDNSRecords() }
        if let firstError { throw firstError }
    }

    private func removeFrontends(_ svc: Service, ip: IPAddress?, ids: [UInt16]) {
        guard let ip else { return }
        for (i, port) in svc.ports.enumerated() where i < ids.count { maps.removeService(id: ids[i], vip: ip, port: UInt16(port.port), proto: port.proto.number) }
    }

    private func addService(_ key: String, _ svc: Service) throws {
        if let old = services[key] { removeFrontends(old.service, ip: old.ip, ids: old.ids) }
        let ip: IPAddress?
        if svc.clusterIP == "None" {
            ip = nil  // headless: no frontend to balance
        } else if let fixed = svc.clusterIP.flatMap(IPAddress.init) {
            _ = serviceIPs.claim(fixed)
            ip = fixed
        } else if let existing = services[key] {
            ip = existing.ip
        } else {
            guard let a = serviceIPs.allocate() else { throw DatapathError("the Service CIDR \(config.serviceCIDR) is full") }
            ip = a
        }
        var ids = services[key]?.ids ?? restoredServices.removeValue(forKey: key)?.ids ?? []
        while ids.count < svc.ports.count { ids.append(nextServiceID); nextServiceID += 1 }
        services[key] = (svc, ip, ids)
    }

    private func endpointInfo(_ pod: Pod, ip: IPAddress) -> EndpointInfo {
        let named = pod.namedPorts.map { NamedPort(name: $0.key, proto: $0.value.proto.number, port: UInt16($0.value.port) ?? 0) }
        return EndpointInfo(namespace: pod.namespace, name: pod.name, labels: pod.labels, serviceAccount: pod.spec.serviceAccountName,
                            namedPorts: named, ips: [ip])
    }

    private func updateEndpoint(_ key: String) {
        guard let p = pods[key] else { return }
        pods[key]!.endpoint.identity = engine.upsertEndpoint(endpointInfo(p.pod, ip: p.endpoint.address))
    }

    /// What each container runs: its command and args; with only an image, the stand-in server
    /// on its TCP ports (or, without any, a process that just keeps the pod running).
    private func argv(_ c: Container, pod: Pod) -> [String] {
        if !c.command.isEmpty || !c.args.isEmpty { return c.command + c.args }
        let ports = c.ports.filter { $0.proto == .tcp }.map { StandInPort.forContainerPort($0.containerPort, name: $0.name).description }
        guard !ports.isEmpty else { return ["/bin/sleep", "infinity"] }
        return [config.porin, "standin", "--hostname", pod.name] + ports.flatMap { ["--port", $0] }
    }

    private func createPod(_ pod: Pod, created: Double) throws {
        let key = "\(pod.namespace)/\(pod.name)"
        guard let ip = podIPs.allocate() else { throw DatapathError("the pod CIDR \(config.podCIDR) is full") }
        let netnsName = "\(config.podNetnsPrefix)\(pod.namespace).\(pod.name)"
        // A namespace left by an agent that died before saving it: its processes and wiring go.
        if NetworkNamespace.exists(netnsName) {
            ContainerRuntime.killAll(netns: netnsName, containers: [])
            network.deletePod(PodNetwork(namespace: NetworkNamespace(netnsName), address: ip, hostDevice: NodeNetwork.hostDevice(for: netnsName),
                                         hostIfindex: 0, podMAC: [], hostMAC: []))
        }
        let net: PodNetwork
        do {
            net = try network.createPod(netns: netnsName, address: ip, dns: config.dnsServiceIP, searchNamespace: pod.namespace,
                                        clusterDomain: config.clusterDomain)
        } catch {
            podIPs.release(ip)
            try? NetworkNamespace(netnsName).delete()
            throw error
        }
        let identity = engine.upsertEndpoint(endpointInfo(pod, ip: ip))
        let ep = DatapathEndpoint(id: nextEndpointID, identity: identity, address: ip, hostIfindex: net.hostIfindex, podMAC: net.podMAC, hostMAC: net.hostMAC)
        nextEndpointID = nextEndpointID == UInt16.max ? 1 : nextEndpointID + 1
        // The endpoint and its policy are in the maps before any container sends a packet.
        do {
            try maps.sync(endpoint: ep, policy: engine.subjectPolicy(ofEndpoint: key))
        } catch {
            maps.removeEndpoint(ep)
            engine.removeEndpoint(namespace: pod.namespace, name: pod.name)
            network.deletePod(net)
            podIPs.release(ip)
            throw error
        }
        var containers = pod.spec.containers.map { ContainerProcess(name: $0.name, argv: argv($0, pod: pod)) }
        for i in containers.indices { ContainerRuntime.start(&containers[i], netns: netnsName, log: logPath(pod, containers[i].name)) }
        pods[key] = RunningPod(pod: pod, network: net, endpoint: ep, containers: containers, created: created)
    }

    private func adopt(_ pod: Pod, saved: SavedState.SavedPod, network net: PodNetwork) {
        let key = "\(pod.namespace)/\(pod.name)"
        let identity = engine.upsertEndpoint(endpointInfo(pod, ip: net.address), preferredIdentity: saved.identity)
        let ep = DatapathEndpoint(id: saved.endpointID, identity: identity, address: net.address, hostIfindex: net.hostIfindex,
                                  podMAC: net.podMAC, hostMAC: net.hostMAC)
        pods[key] = RunningPod(pod: pod, network: net, endpoint: ep, containers: saved.containers, created: saved.created)
    }

    private func deletePod(_ key: String) {
        guard let p = pods.removeValue(forKey: key) else { return }
        if fqdnCache.forget(endpoint: p.endpoint.id) { try? refreshFQDNIdentities() }
        ContainerRuntime.killAll(netns: p.network.namespace.name, containers: p.containers)
        maps.removeEndpoint(p.endpoint)
        engine.removeEndpoint(namespace: p.pod.namespace, name: p.pod.name)
        network.deletePod(p.network)
        podIPs.release(p.endpoint.address)
    }

    /// Backends of every Service from the pods that match its selector (targetPort by number or name).
    private func syncServices() throws {
        for (_, s) in services {
            guard let ip = s.ip else { continue }
            for (i, port) in s.service.ports.enumerated() {
                try maps.setService(id: s.ids[i], vip: ip, port: UInt16(port.port), proto: port.proto.number, backends: backends(s.service, port))
            }
        }
    }

    private func backends(_ svc: Service, _ port: ServicePort) -> [(IPAddress, UInt16)] {
        pods.values.filter { p in
            p.pod.namespace == svc.namespace && !svc.selector.isEmpty && svc.selector.allSatisfy { p.pod.labels[$0.key] == $0.value }
        }.sorted { $0.endpoint.id < $1.endpoint.id }.compactMap { p -> (IPAddress, UInt16)? in
            if let n = UInt16(port.targetPort) { return (p.endpoint.address, n) }
            guard let np = p.pod.namedPorts[port.targetPort], let n = UInt16(np.port) else { return nil }
            return (p.endpoint.address, n)
        }
    }

    private func writeDNSRecords() throws {
        guard let path = config.dnsRecordsPath else { return }
        let lines = services.values.compactMap { s in s.ip.map { "\(s.service.name).\(s.service.namespace).svc.\(config.clusterDomain) A \($0)" } }.sorted()
        let text = lines.joined(separator: "\n") + "\n"
        if (try? String(contentsOfFile: path, encoding: .utf8)) != text { try text.write(toFile: path, atomically: true, encoding: .utf8) }
    }

    /// Writes every endpoint and its policy, the ipcache prefixes of policy CIDRs, and Services.
    public func syncAll() throws {
        lock.lock()
        defer { lock.unlock() }
        for (key, p) in pods {
            var ep = p.endpoint
            ep.identity = engine.identity(ofEndpoint: key) ?? ep.identity
            pods[key]!.endpoint = ep
            try maps.sync(endpoint: ep, policy: engine.subjectPolicy(ofEndpoint: key))
        }
        var prefixes: Set<IPPrefix> = []
        for (prefix, identity) in engine.cidrPrefixes {
            try maps.setPrefix(prefix, identity: identity)
            prefixes.insert(prefix)
        }
        // Learnt FQDN addresses, after the policy entries for their identities are in.
        for (ip, f) in fqdnIdentities {
            let prefix = IPPrefix(IPAddress(v4: ip), 32)
            try maps.setPrefix(prefix, identity: f.id)
            prefixes.insert(prefix)
        }
        for p in writtenPrefixes.subtracting(prefixes) { maps.removePrefix(p) }
        writtenPrefixes = prefixes
        try syncServices()
    }

    // MARK: Hubble

    /// Rebuilds what the flow builder knows: pods by address, identities' labels, policy entries.
    func updateDirectory() {
        var d = EndpointDirectory()
        for (key, p) in pods {
            let labels = engine.labels(of: p.endpoint.identity)?.labels.map(\.description).sorted() ?? []
            d.byIP[p.endpoint.address.v4] = EndpointDirectory.Entry(
                endpointID: UInt32(p.endpoint.id), identity: p.endpoint.identity, namespace: p.pod.namespace, pod: p.pod.name, labels: labels,
                workloads: podOwners[key].map { [Workload(name: $0, kind: "Deployment")] } ?? [])
            d.identityLabels[p.endpoint.identity] = labels
        }
        for (id, l) in ReservedIdentity.labels { d.identityLabels[id] = l.labels.map(\.description).sorted() }
        for (_, id) in engine.cidrPrefixes { d.identityLabels[id] = engine.labels(of: id)?.labels.map(\.description).sorted() ?? [] }
        for (_, f) in fqdnIdentities { d.identityLabels[f.id] = engine.labels(of: f.id)?.labels.map(\.description).sorted() ?? [] }
        d.policyEntries = maps.entries
        // Names each endpoint resolved, for its flows' source and destination names.
        let ipOfEndpoint = Dictionary(pods.values.map { ($0.endpoint.id, $0.endpoint.address.v4) }) { a, _ in a }
        for e in fqdnCache.all {
            guard let epIP = ipOfEndpoint[e.endpoint] else { continue }
            let name = e.name.hasSuffix(".") ? String(e.name.dropLast()) : e.name
            d.dnsNames[UInt64(epIP) << 32 | UInt64(e.ip), default: []].append(name)
        }
        var v = ProxyView()
        for (key, p) in pods {
            v.endpoints[p.endpoint.address.v4] = ProxyView.Endpoint(id: p.endpoint.id, identity: p.endpoint.identity,
                                                                   egress: engine.subjectPolicy(ofEndpoint: key)?.egress)
            v.addresses[p.endpoint.address.v4] = p.endpoint.identity
        }
        for (ip, f) in fqdnIdentities { v.addresses[ip] = f.id }
        v.prefixes = engine.cidrPrefixes.sorted { $0.0.length > $1.0.length }
        for p in v.endpoints.values {
            for e in p.egress?.table.allEntries ?? [] where e.entry.redirect == .dns {
                for r in e.entry.l7Rules { for s in r.dns ?? [] where v.patterns[s] == nil { v.patterns[s] = FQDNPattern(s) } }
            }
        }
        directoryLock.lock()
        directory = d
        proxyView = v
        directoryLock.unlock()
    }

    /// Turns the datapath's events into flows, on a thread of its own, in batches.
    public func startFlowCollector() throws {
        let builder = flowBuilder
        let exporter = try config.flowExportPath.map { try FlowExporter(path: $0) }
        flowExporter = exporter
        let reader = try EventReader(map: network.datapath.events) { [unowned self] e in
            directoryLock.lock()
            let d = directory
            directoryLock.unlock()
            let record = builder.record(e, d) { metrics.observe($0) }
            exporter?.export(record)
            flows.append(record)
        }
        eventReader = reader
        let lostCounters = network.datapath.eventsLost
        let node = config.nodeName
        let t = Thread { [unowned self] in
            // The counters the datapath keeps when the ring buffer is full, as Hubble's
            // PERF_EVENT_RING_BUFFER lost events (per CPU, the number lost since the last look).
            var seen = lostCounters.perCPUCounters()
            while true {
                reader.poll(timeoutMilliseconds: 100)
                let now = lostCounters.perCPUCounters()
                guard now != seen else { continue }
                // The losses happened once the ring buffer was full: the events in it came first.
                _ = reader.drain()
                let time = FlowTime.now
                for (cpu, n) in now.enumerated() where cpu < seen.count && n > seen[cpu] {
                    let record = FlowRecord.lostEvents(source: 1, count: n - seen[cpu], cpu: Int32(cpu), nodeName: node, time: time)
                    metrics.lost(source: 1, count: n - seen[cpu])
                    exporter?.export(record)
                    flows.append(record)
                }
                seen = now
            }
        }
        t.start()
    }

    // MARK: Saved state

    func saveState() {
        guard let path = statePath else { return }
        let saved = SavedState(
            pods: pods.map { key, p in
                SavedState.SavedPod(key: key, spec: String(describing: p.pod.spec), ip: p.endpoint.address.description, netns: p.network.namespace.name,
                                    endpointID: p.endpoint.id, identity: p.endpoint.identity, created: p.created, containers: p.containers)
            }.sorted { $0.endpointID < $1.endpointID },
            services: services.mapValues { s in
                SavedState.SavedService(ids: s.ids, ip: s.ip?.description ?? "", ports: s.service.ports.map { [$0.port, Int($0.proto.number)] })
            }.merging(restoredServices) { a, _ in a },
            nextEndpointID: nextEndpointID, nextServiceID: nextServiceID,
            dnsProxyPort: dnsProxy?.port ?? savedProxyPort, fqdnCache: fqdnCache,
            fqdnIdentities: Dictionary(uniqueKeysWithValues: fqdnIdentities.map { (IPAddress(v4: $0.key).description, $0.value) }))
        if let data = try? JSONEncoder().encode(saved) { try? data.write(to: URL(fileURLWithPath: path), options: .atomic) }
    }

    /// Reads the saved state of a previous agent: pods whose namespaces still exist are re-wired
    /// to the reloaded datapath now and adopted by the first sync.
    private func restoreSavedState() {
        guard let path = statePath, let data = FileManager.default.contents(atPath: path),
              let saved = try? JSONDecoder().decode(SavedState.self, from: data) else { return }
        nextEndpointID = saved.nextEndpointID
        nextServiceID = saved.nextServiceID
        savedProxyPort = saved.dnsProxyPort
        if let c = saved.fqdnCache { fqdnCache = c }
        for (ip, f) in saved.fqdnIdentities ?? [:] { if let a = IPAddress(ip) { savedFQDNIdentities[a.v4] = f.id } }
        restoredServices = saved.services
        for s in saved.pods {
            guard let ip = IPAddress(s.ip), NetworkNamespace.exists(s.netns) else { continue }
            guard let net = try? network.adoptPod(netns: s.netns, address: ip) else {
                // Broken wiring: the pod is created again from scratch when still wanted.
                ContainerRuntime.killAll(netns: s.netns, containers: [])
                network.deletePod(PodNetwork(namespace: NetworkNamespace(s.netns), address: ip, hostDevice: NodeNetwork.hostDevice(for: s.netns),
                                             hostIfindex: 0, podMAC: [], hostMAC: []))
                continue
            }
            _ = podIPs.claim(ip)
            restored[s.key] = (s, net)
        }
    }

    // MARK: Supervision, status, exec, shutdown

    /// Checks every container once: exits are recorded and restarts done per restartPolicy.
    public func superviseOnce() {
        lock.lock()
        defer { lock.unlock() }
        let now = Date().timeIntervalSince1970
        var changed = false
        for (key, p) in pods {
            for i in p.containers.indices {
                var c = pods[key]!.containers[i]
                if ContainerRuntime.check(&c, restartPolicy: p.pod.spec.restartPolicy, now: now) { changed = true }
                if c.state == .waiting && now >= c.nextStart {
                    if c.lastExit != nil { c.restarts += 1 }
                    ContainerRuntime.start(&c, netns: p.network.namespace.name, log: logPath(p.pod, c.name))
                    changed = true
                }
                pods[key]!.containers[i] = c
            }
        }
        if changed { saveState() }
    }

    /// Supervises containers on a background thread, every `interval` seconds.
    public func startSupervisor(interval: Double = 0.25) {
        let t = Thread { [self] in
            while true {
                superviseOnce()
                Thread.sleep(forTimeInterval: interval)
            }
        }
        t.start()
    }

    public func state() -> NodeState {
        lock.lock()
        defer { lock.unlock() }
        let podStates = pods.values.map { p -> NodeState.PodStatus in
            let (phase, ready) = ContainerRuntime.phase(p.containers, restartPolicy: p.pod.spec.restartPolicy)
            return NodeState.PodStatus(namespace: p.pod.namespace, name: p.pod.name, ip: p.endpoint.address.description, netns: p.network.namespace.name,
                                       phase: phase, ready: ready, containers: p.containers.count, restarts: p.containers.map(\.restarts).reduce(0, +),
                                       endpointID: Int(p.endpoint.id), identity: Int(p.endpoint.identity), created: p.created,
                                       ingressEnforced: engine.subjectPolicy(ofEndpoint: "\(p.pod.namespace)/\(p.pod.name)")?.ingress.enforced ?? false,
                                       egressEnforced: engine.subjectPolicy(ofEndpoint: "\(p.pod.namespace)/\(p.pod.name)")?.egress.enforced ?? false)
        }.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        let ids = Set(pods.values.map(\.endpoint.identity)).sorted().map { id in
            NodeState.IdentityInfo(id: Int(id), labels: engine.labels(of: id)?.labels.map(\.description).sorted() ?? [])
        }
        var backends: [String: [String]] = [:]
        for (key, s) in services {
            backends[key] = s.service.ports.flatMap { port in self.backends(s.service, port).map { "\($0.0):\($0.1)" } }
        }
        return NodeState(node: config.nodeName, datapath: network.datapath.pinDirectory, pods: podStates, identities: ids, serviceBackends: backends)
    }

    /// The network namespace of a pod (`namespace/name`), for `porin exec`.
    public func netns(ofPod key: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return pods[key]?.network.namespace.name
    }

    /// Runs a command inside a pod (what `porin exec` does): its exit status and output.
    public func exec(_ pod: String, _ argv: [String]) throws -> (status: Int32, output: String) {
        guard let ns = netns(ofPod: pod) else { throw DatapathError("no pod \(pod)") }
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        proc.arguments = ["netns", "exec", ns] + argv
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
        lock.lock()
        defer { lock.unlock() }
        for key in Array(pods.keys) {
            let p = pods.removeValue(forKey: key)!
            ContainerRuntime.killAll(netns: p.network.namespace.name, containers: p.containers)
            network.deletePod(p.network)
        }
        for (_, r) in restored {
            ContainerRuntime.killAll(netns: r.network.namespace.name, containers: r.saved.containers)
            network.deletePod(r.network)
        }
        restored = [:]
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(config.nodeNetns)")
        if let p = statePath { try? FileManager.default.removeItem(atPath: p) }
        network.destroy()
    }
}
