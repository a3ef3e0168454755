// `porin controlplane`: the cluster's API server, in the root namespace. It keeps the objects
// (SQLite), admits changes, writes kube-dns's records, builds the simulated world, and starts and
// supervises the node agent (restarting it when it dies, then resyncing it in full). `apply`
// answers only after the agent has written the datapath's maps.
import ClusterAPI
import Foundation
import Glibc
import Hubble
import HubbleAPI
import Netns
import PolicyAPI
import WebUI
import World

public final class ControlPlane: @unchecked Sendable {
    public struct Config: Sendable {
        public var paths: ClusterPaths
        public var podCIDR = IPPrefix("10.244.0.0/16")!
        public var serviceCIDR = IPPrefix("10.96.0.0/12")!
        public var worldFile: String?
        /// Without a world: give the node a way out (slirp4netns) unless the cluster is isolated.
        public var uplink = true
        /// Hubble's Prometheus metrics on 127.0.0.1:<port> (`/metrics`); 0: none.
        public var metricsPort = 9965
        /// Hubble's flow exporter: the file every node appends its flows to, if any.
        public var flowExport: String?
        /// Hubble Relay's gRPC API on 127.0.0.1:<port> (hubble's default 4245); 0: only on the
        /// unix socket (ClusterPaths.relaySocket), which `porin observe` and `porin hubble` use.
        public var hubblePort = 4245
        /// Each node's ring buffer of flows (2^n − 1).
        public var flowCapacity = 4095
        /// The agents' DNS proxy: minimum TTL of learnt names, and its port (0: kernel-chosen).
        public var fqdnMinTTL: UInt32 = 0
        public var dnsProxyPort: UInt16 = 0
        /// The web UI and its JSON API on 127.0.0.1:<port>; 0: none.
        public var uiPort = 12000
        /// Flows the web UI keeps (its service map and tables are folds over these).
        public var uiFlowCapacity = 16_383
        public var porin: String
        public init(paths: ClusterPaths, porin: String) {
            self.paths = paths
            self.porin = porin
        }
        /// kube-dns's ClusterIP: the tenth address of the Service CIDR (10.96.0.10), as kubeadm does.
        public var dnsServiceIP: IPAddress { IPAddress(v4: serviceCIDR.address.v4 + 10) }
    }

    public let config: Config
    let store: ObjectStore
    /// The store's contents by key, in memory (the store is the durable copy).
    var objects: [String: StoredObject] = [:]
    let lock = NSRecursiveLock()
    let node: String
    var world: WorldNetwork?
    var worldSpec: WorldSpec?
    var agentPID: pid_t = 0
    /// The uplink to the machine's network (slirp4netns), when there is one.
    var uplinkPID: pid_t = 0
    var uplinkState = "disabled"
    var metricsState = "disabled"
    var relayState = "disabled"
    var uiState = "disabled"
    var webServer: WebServer?
    let podCache = PodStatusCache()
    var agentReady = false
    var agentStarts = 0
    var shuttingDown = false
    let started = Date().timeIntervalSince1970
    /// Incremented by every commit that changed the store: the web UI rebuilds its engine when
    /// it moves.
    var revision: UInt64 = 0

    var paths: ClusterPaths { config.paths }
    var agentSocket: String { paths.agentSocket(node: node) }
    var recordsPath: String { "\(paths.stateDirectory)/cluster-dns.records" }

    public init(config: Config) throws {
        self.config = config
        node = config.paths.firstNode
        let paths = config.paths
        for d in [paths.runDirectory, paths.stateDirectory, paths.logDirectory] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        store = try ObjectStore(path: paths.storePath)
        for o in try store.all() { objects[o.key] = o }
        if let f = config.worldFile {
            let text = try String(contentsOfFile: f, encoding: .utf8)
            worldSpec = try WorldSpec.decode(text: text, file: f)
        }
        if objects.isEmpty { try bootstrap() }
        try writeDNSRecords()
    }

    /// The objects every cluster starts with: kubeadm's namespaces, kube-dns's Service and the
    /// coredns Deployment (two replicas, as kind runs them) running Porin's DNS server.
    func bootstrap() throws {
        let now = Date().timeIntervalSince1970
        var docs: [StoredObject] = []
        for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
            docs.append(StoredObject(kind: "Namespace", namespace: "", name: ns, document: AnyManifest.object([
                ("apiVersion", .string("v1")), ("kind", .string("Namespace")),
                ("metadata", .object([("name", .string(ns)), ("labels", .object([("kubernetes.io/metadata.name", .string(ns))]))])),
            ]).json(indent: nil), created: now))
        }
        var command: [AnyManifest] = [config.porin, "dns-server", "--listen", "0.0.0.0:53", "--zone", "cluster.local", "--records", recordsPath].map { .string($0) }
        if let w = worldSpec {
            command += [.string("--upstream"), .string("\(w.dns):53")]
        } else if config.uplink {
            command += [.string("--upstream"), .string("\(Self.uplinkDNS):53")]
        }
        let labels = AnyManifest.object([("k8s-app", .string("kube-dns"))])
        let ports = AnyManifest.list([
            .object([("name", .string("dns")), ("containerPort", .int(53)), ("protocol", .string("UDP"))]),
            .object([("name", .string("dns-tcp")), ("containerPort", .int(53)), ("protocol", .string("TCP"))]),
        ])
        let container = AnyManifest.object([
            ("name", .string("coredns")), ("image", .string("porin/dns-server")), ("command", .list(command)), ("ports", ports),
        ])
        let podSpec = AnyManifest.object([("serviceAccountName", .string("coredns")), ("containers", .list([container]))])
        let template = AnyManifest.object([("metadata", .object([("labels", labels)])), ("spec", podSpec)])
        let deployment = AnyManifest.object([
            ("apiVersion", .string("apps/v1")), ("kind", .string("Deployment")),
            ("metadata", .object([("name", .string("coredns")), ("namespace", .string("kube-system")), ("labels", labels)])),
            ("spec", .object([("replicas", .int(2)), ("selector", .object([("matchLabels", labels)])), ("template", template)])),
        ])
        let service = AnyManifest.object([
            ("apiVersion", .string("v1")), ("kind", .string("Service")),
            ("metadata", .object([("name", .string("kube-dns")), ("namespace", .string("kube-system")), ("labels", labels)])),
            ("spec", .object([
                ("selector", labels), ("clusterIP", .string(config.dnsServiceIP.description)),
                ("ports", .list([
                    .object([("name", .string("dns")), ("port", .int(53)), ("targetPort", .int(53)), ("protocol", .string("UDP"))]),
                    .object([("name", .string("dns-tcp")), ("port", .int(53)), ("targetPort", .int(53)), ("protocol", .string("TCP"))]),
                ])),
            ])),
        ])
        docs.append(StoredObject(kind: "Deployment", namespace: "kube-system", name: "coredns", document: deployment.json(indent: nil), created: now))
        docs.append(StoredObject(kind: "Service", namespace: "kube-system", name: "kube-dns", document: service.json(indent: nil), created: now))
        try store.commit(upserts: docs, deletes: [])
        for d in docs { objects[d.key] = d }
    }

    /// kube-dns's records: every Service's name and ClusterIP. The DNS server re-reads the file
    /// when it changes.
    func writeDNSRecords() throws {
        let lines = objects.values.filter { $0.kind == "Service" }.compactMap { o -> String? in
            guard let ip = Admission.clusterIP(o) else { return nil }
            return "\(o.name).\(o.namespace).svc.cluster.local A \(ip)"
        }.sorted()
        let text = lines.joined(separator: "\n") + "\n"
        if (try? String(contentsOfFile: recordsPath, encoding: .utf8)) != text {
            try text.write(toFile: recordsPath, atomically: true, encoding: .utf8)
        }
    }

    // MARK: Running

    /// Builds the node's namespace and the world, starts the agent and serves the API. Never returns.
    public func run() throws -> Never {
        let nodeNS = try NetworkNamespace.create(paths.nodeNetns(node))
        if let spec = worldSpec {
            try? NetworkNamespace(paths.worldNetns).delete()
            world = try WorldNetwork(name: paths.worldNetns, spec: spec, node: nodeNS, podCIDR: config.podCIDR, porin: config.porin,
                                 caCertificatePath: paths.worldCA)
        } else if config.uplink {
            startUplink(nodeNS)
        }
        let server = try UnixSocketServer<APIRequest, APIResponse>(path: paths.apiSocket, invalid: { .failure($0) }) { [self] req in
            handle(req)
        }
        server.start()
        log("control plane of \(paths.name) serving \(paths.apiSocket)")
        if config.metricsPort != 0 {
            do {
                try MetricsHTTPServer(port: UInt16(config.metricsPort)) { [self] in
                    guard agentReady, let r = try? UnixSocket.call(agentSocket, AgentRequest(op: .metrics), as: AgentResponse.self, timeout: 10) else { return nil }
                    return r.metrics
                }.start()
                metricsState = "OK (http://127.0.0.1:\(config.metricsPort)/metrics)"
            } catch {
                metricsState = "error: \(error)"
                log("metrics: \(error)")
            }
        }
        startRelay()
        startWebUI()
        superviseAgent()
    }

    /// Hubble Relay: the Observer API of every node, merged, on the relay's unix socket and on
    /// 127.0.0.1:<hubblePort>. A port already taken leaves the cluster running (the CLI uses the
    /// socket) and `porin status` says why.
    func startRelay() {
        let relay = RelayObserver(version: PorinVersion.hubble) { [self] in
            [RelayPeer(name: node, address: .unix(paths.hubbleSocket(node: node)), available: isAgentReady)]
        }
        do {
            try HubbleServer.start(.unix(paths.relaySocket), services: [relay])
        } catch {
            relayState = "error: \(paths.relaySocket): \(error)"
            log("hubble relay: \(relayState)")
            return
        }
        relayState = "OK (unix://\(paths.relaySocket))"
        guard config.hubblePort != 0 else { return }
        do {
            try HubbleServer.start(.tcp(host: "127.0.0.1", port: config.hubblePort), services: [relay])
            relayState = "OK (127.0.0.1:\(config.hubblePort), unix://\(paths.relaySocket))"
        } catch {
            relayState = "error: 127.0.0.1:\(config.hubblePort): \(error) (unix://\(paths.relaySocket) serves; choose another --hubble-port)"
            log("hubble relay: \(relayState)")
        }
    }

    var isAgentReady: Bool {
        lock.lock()
        defer { lock.unlock() }
        return agentReady
    }

    /// slirp4netns's resolver, which forwards to the machine's own resolvers.
    static let uplinkDNS = "10.0.2.3"

    /// The node's way out without a world: slirp4netns puts a tap device in the node's namespace
    /// and carries its traffic through sockets of the root namespace, in user space, so the
    /// machine's routes, devices and firewall stay untouched (as DESIGN.md promises). Pods'
    /// traffic is masqueraded to the tap's address inside the node's namespace.
    func startUplink(_ node: NetworkNamespace) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/slirp4netns"), FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") else {
            uplinkState = "disabled (install slirp4netns and nftables for one)"
            log("no uplink: slirp4netns or nft is missing")
            return
        }
        do {
            try node.sysctl("net/ipv6/conf/default/disable_ipv6", "1")
            uplinkPID = try Spawn.start(["/usr/bin/slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback", "--netns-type=path",
                                         "/run/netns/\(node.name)", "tap0"], log: "\(paths.logDirectory)/uplink.log")
            var up = false
            for _ in 0..<100 where !up {
                up = (try? node.ip("-4", "addr", "show", "dev", "tap0"))?.contains("inet ") == true
                if !up { usleep(50_000) }
            }
            guard up else { throw ClusterError("slirp4netns did not configure tap0 (see \(paths.logDirectory)/uplink.log)") }
            let rules = """
                table ip porin {
                  chain postrouting {
                    type nat hook postrouting priority srcnat; policy accept;
                    ip saddr \(config.podCIDR) oifname "tap0" masquerade
                  }
                }

                """
            try node.exec(["/usr/sbin/nft", "-f", "-"], input: rules)
            uplinkState = "OK (slirp4netns; pods masqueraded to the machine's network; DNS via \(Self.uplinkDNS))"
        } catch {
            uplinkState = "error: \(error)"
            log("uplink: \(error)")
        }
    }

    func log(_ s: String) {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        FileHandle.standardError.write(Data("\(f.string(from: Date())) \(s)\n".utf8))
    }

    /// Starts the agent in the node's namespace and restarts it whenever it exits (as the
    /// DaemonSet controller restarts Cilium's agent); each start is followed by a full sync.
    func superviseAgent() -> Never {
        while true {
            if shuttingDown { sleep(1); continue }
            lock.lock()
            agentReady = false
            lock.unlock()
            let argv = ["/usr/bin/nsenter", "--net=/run/netns/\(paths.nodeNetns(node))", "--", config.porin, "agent",
                        "--cluster", paths.name, "--node", node, "--pod-cidr", config.podCIDR.description,
                        "--service-cidr", config.serviceCIDR.description, "--hubble-event-buffer-capacity", String(config.flowCapacity),
                        "--tofqdns-min-ttl", String(config.fqdnMinTTL), "--tofqdns-proxy-port", String(config.dnsProxyPort)] + (config.flowExport.map { ["--flow-export", $0] } ?? [])
            do {
                agentPID = try Spawn.start(argv, log: "\(paths.logDirectory)/agent-\(node).log")
                agentStarts += 1
                log("agent for \(node) started (pid \(agentPID), start \(agentStarts))")
            } catch {
                log("cannot start the agent: \(error)")
                sleep(2)
                continue
            }
            // Ready once it answers and has taken the full state.
            var synced = false, exited = false
            func gone() -> Bool {
                if !exited, Spawn.reap(agentPID) != nil { exited = true }
                return exited
            }
            // Until the agent has taken the full state, keep trying (it may still be loading);
            // an agent that answers but refuses part of the state (a full pod CIDR) is running and
            // ready: it applied what it could and says why not the rest.
            var wait: useconds_t = 50_000
            while !synced && !gone() {
                if UnixSocket.isListening(agentSocket) {
                    lock.lock()
                    do {
                        try sendToAgent(AgentRequest.fullSync(objects.values.sorted { ($0.created, $0.key) < ($1.created, $1.key) }))
                        log("agent for \(node) synced (\(objects.count) objects)")
                        synced = true
                    } catch let e as AgentRefusal {
                        log("agent for \(node) refused part of the full sync: \(e)")
                        synced = true
                    } catch {
                        log("full sync of \(node) failed: \(error)")
                    }
                    agentReady = synced
                    lock.unlock()
                    if !synced { wait = min(wait * 2, 2_000_000) }
                }
                if !synced { usleep(wait) }
            }
            while !gone() { usleep(100_000) }
            lock.lock()
            agentReady = false
            agentPID = 0
            lock.unlock()
            if shuttingDown { continue }
            log("agent for \(node) exited; restarting it")
            usleep(500_000)
        }
    }

    /// Throws `AgentRefusal` when the agent answered with an error, anything else when it did
    /// not answer.
    func sendToAgent(_ req: AgentRequest) throws {
        let resp = try UnixSocket.call(agentSocket, req, as: AgentResponse.self, timeout: 120)
        if let e = resp.error { throw AgentRefusal(message: e) }
    }

    func agentState() -> NodeState? {
        guard agentReady else { return nil }
        return (try? UnixSocket.call(agentSocket, AgentRequest(op: .state), as: AgentResponse.self, timeout: 30))?.state
    }

    // MARK: Requests

    func handle(_ req: APIRequest) -> APIResponse {
        lock.lock()
        defer { lock.unlock() }
        switch req.op {
        case .create, .apply: return apply(req)
        case .delete: return delete(req)
        case .createNamespace: return createNamespace(req)
        case .get: return Printer(cp: self).get(req)
        case .status: return status()
        case .podNetns:
            guard let ns = req.namespace, let name = req.names.first else { return .failure("error: a pod and its namespace are needed") }
            // Pods' namespaces are named by the cluster's convention, so exec works while the
            // agent restarts too.
            guard Printer(cp: self).desiredPods().contains(where: { $0.namespace == ns && $0.name == name }) else {
                return .failure("Error from server (NotFound): pods \"\(name)\" not found")
            }
            let netns = "\(paths.netnsPrefix)\(ns).\(name)"
            guard NetworkNamespace.exists(netns) else { return .failure("error: pod \(ns)/\(name) is not running yet") }
            return APIResponse(stdout: netns)
        case .shutdown: return shutdown()
        case .fqdnCache:
            // The rows as JSON: `porin fqdn cache list` filters and prints them.
            guard agentReady, let r = try? UnixSocket.call(agentSocket, AgentRequest(op: .fqdnCache), as: AgentResponse.self, timeout: 10),
                  let rows = r.fqdnCache, let data = try? JSONEncoder().encode(rows) else {
                return .failure("error: the agent of \(node) does not answer (porin status says why)")
            }
            return APIResponse(stdout: String(decoding: data, as: UTF8.self))
        }
    }

    /// Stores the changes and hands them to the agent; if the agent refuses them, the store goes
    /// back to what it was and the agent is resynced, so a failed apply changes nothing.
    func commit(upserts: [StoredObject], deletes: [StoredObject]) throws -> String? {
        guard !upserts.isEmpty || !deletes.isEmpty else { return nil }
        let before = objects
        try store.commit(upserts: upserts, deletes: deletes)
        for o in upserts { objects[o.key] = o }
        for o in deletes { objects[o.key] = nil }
        revision &+= 1
        try? writeDNSRecords()
        guard agentReady else {
            return "Warning: the agent of \(node) is not running; it applies these changes when it is back"
        }
        var req = AgentRequest(op: .sync)
        req.upserts = upserts
        req.deletes = deletes.map(\.key)
        do {
            try sendToAgent(req)
        } catch let refusal as AgentRefusal {
            let restore = before.values.filter { o in upserts.contains { $0.key == o.key } || deletes.contains { $0.key == o.key } }
            try? store.commit(upserts: restore, deletes: upserts.filter { before[$0.key] == nil })
            objects = before
            revision &+= 1
            try? writeDNSRecords()
            try? sendToAgent(AgentRequest.fullSync(objects.values.sorted { ($0.created, $0.key) < ($1.created, $1.key) }))
            throw ClusterError("the node refused the change, nothing was applied: \(refusal)")
        } catch {
            // No answer: the agent is down or restarting. The change is stored; the agent's full
            // sync when it is back applies it.
            return "Warning: the agent of \(node) did not answer (\(error)); it applies these changes when it is back"
        }
        return nil
    }

    func admission() -> Admission {
        Admission(existing: objects, serviceCIDR: config.serviceCIDR, reservedServiceIPs: [IPAddress(v4: config.serviceCIDR.address.v4 + 1), config.dnsServiceIP])
    }

    func apply(_ req: APIRequest) -> APIResponse {
        let adm = admission()
        // Every error of the request at once: decoding, then what the store says (namespaces,
        // existing objects, ClusterIPs) for the documents that decoded.
        var admitted: [AdmittedObject] = []
        let (decoded, decodeErrors) = adm.decodeAll(req.files, namespace: req.namespace)
        var errors = decodeErrors
        do { admitted = try adm.admit(decoded, create: req.op == .create, now: Date().timeIntervalSince1970) } catch { errors += error.lines }
        if !errors.isEmpty {
            return .failure((errors.map { "error: \($0)" } + ["nothing was applied"]).joined(separator: "\n"))
        }
        var out = ""
        var changed: [StoredObject] = []
        var seen: [String: Int] = [:]
        for a in admitted {
            let rk = ResourceKind.of(kind: a.stored.kind)!
            let verb: String
            if let old = objects[a.stored.key] {
                verb = old.document == a.stored.document ? "unchanged" : "configured"
            } else {
                verb = seen[a.stored.key] == nil ? "created" : "configured"
            }
            if let i = seen[a.stored.key] { changed[i] = a.stored } else if verb != "unchanged" {
                seen[a.stored.key] = changed.count
                changed.append(a.stored)
            }
            out += "\(rk.display)/\(a.stored.name) \(verb)\(req.dryRun == true ? " (server dry run)" : "")\n"
        }
        if req.dryRun == true { return APIResponse(stdout: out) }
        do {
            let warning = try commit(upserts: changed, deletes: [])
            return APIResponse(stdout: out, stderr: warning.map { $0 + "\n" } ?? "")
        } catch {
            return .failure("error: \(error)")
        }
    }

    func delete(_ req: APIRequest) -> APIResponse {
        var targets: [(key: String, file: String)] = []
        if !req.files.isEmpty {
            do {
                let decoded = try admission().decode(req.files, namespace: req.namespace)
                targets = decoded.map { d in
                    let (k, ns, n) = d.object.identity
                    return ("\(k)/\(ns)/\(n)", d.file)
                }
            } catch {
                return .failure((error.lines.map { "error: \($0)" } + ["nothing was deleted"]).joined(separator: "\n"))
            }
        } else {
            guard let r = req.resource, let rk = ResourceKind.named(r) else { return .failure("error: the server doesn't have a resource type \"\(req.resource ?? "")\"") }
            guard !req.names.isEmpty else { return .failure("error: resource(s) were provided, but no name was specified") }
            targets = req.names.map { ("\(rk.kind)/\(rk.namespaced ? req.namespace ?? "default" : "")/\($0)", "") }
        }
        var out = "", err = ""
        var deletes: [StoredObject] = []
        for t in targets {
            let parts = t.key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            let rk = ResourceKind.of(kind: parts[0])!
            if deletes.contains(where: { $0.key == t.key }) {
                // Already going with its namespace (kubectl reports it deleted too).
                out += "\(rk.display) \"\(parts[2])\" deleted\n"
                continue
            }
            guard let o = objects[t.key] else {
                let when = t.file.isEmpty ? "" : "error when deleting \"\(t.file)\": "
                err += "Error from server (NotFound): \(when)\(rk.pluralDisplay) \"\(parts[2])\" not found\n"
                continue
            }
            deletes.append(o)
            // A namespace takes everything in it along.
            if o.kind == "Namespace" {
                deletes += objects.values.filter { $0.namespace == o.name && !$0.namespace.isEmpty && !deletes.contains($0) }
            }
            out += "\(rk.display) \"\(parts[2])\" deleted\n"
        }
        if deletes.contains(where: { $0.kind == "Namespace" && ["default", "kube-system", "kube-public", "kube-node-lease"].contains($0.name) }) {
            return .failure("Error from server (Forbidden): namespaces default, kube-system, kube-public and kube-node-lease cannot be deleted")
        }
        do {
            let warning = try commit(upserts: [], deletes: deletes)
            return APIResponse(exitCode: err.isEmpty ? 0 : 1, stdout: out, stderr: err + (warning.map { $0 + "\n" } ?? ""))
        } catch {
            return .failure("error: \(error)")
        }
    }

    func createNamespace(_ req: APIRequest) -> APIResponse {
        guard let name = req.names.first else { return .failure("error: a namespace name is needed") }
        let doc = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\(AnyManifest.string(name).json(indent: nil))}}"
        var r = req
        r.op = .create
        r.files = [SourceFile(name: "namespace/\(name)", text: doc)]
        r.namespace = nil
        let resp = apply(r)
        if resp.exitCode != 0, objects["Namespace//\(name)"] != nil {
            return .failure("Error from server (AlreadyExists): namespaces \"\(name)\" already exists")
        }
        if resp.exitCode != 0 {
            // The name's own error, without the file position of the generated document.
            let lines = resp.stderr.split(separator: "\n").map { line -> String in
                guard let r = line.range(of: "metadata.name: ") else { return String(line) }
                return "error: namespace \"\(name)\": " + line[r.upperBound...]
            }
            return .failure(lines.joined(separator: "\n"))
        }
        return resp
    }

    func status() -> APIResponse {
        let state = agentState()
        let podsWanted = Printer(cp: self).desiredPods().count
        let running = state?.pods.filter { $0.phase == "Running" }.count ?? 0
        let dns = state?.pods.filter { $0.namespace == "kube-system" && $0.name.hasPrefix("coredns-") } ?? []
        let dnsOK = !dns.isEmpty && dns.allSatisfy { $0.phase == "Running" }
        let worldOK = world != nil
        let ok = state != nil && dnsOK && (worldSpec == nil || worldOK)
        func mark(_ b: Bool) -> String { b ? "OK" : "error" }
        var s = """
                /¯¯\\
             /¯¯\\__/¯¯\\    Porin:              \(ok ? "OK" : "1 errors")
             \\__/¯¯\\__/    Control plane:      OK
             /¯¯\\__/¯¯\\    Agent:              \(state == nil ? "error (not ready; \(agentStarts) starts)" : "OK")
             \\__/¯¯\\__/    kube-dns:           \(mark(dnsOK)) (\(dns.filter { $0.phase == "Running" }.count)/\(dns.count) pods running)
                \\__/       World:              \(worldSpec == nil ? "disabled" : mark(worldOK))
                           Uplink:             \(worldSpec == nil ? uplinkState : "disabled (the world is the outside)")
                           Hubble Relay:       \(relayState)
                           Hubble Metrics:     \(metricsState)
                           Hubble UI:          \(uiState)

            Cluster:               \(paths.name) (pod CIDR \(config.podCIDR), Service CIDR \(config.serviceCIDR))
            Nodes:                 \(node) (network namespace \(paths.nodeNetns(node)))
            Datapath:              \(state?.datapath ?? "-")
            Agent restarts:        \(max(0, agentStarts - 1))
            Cluster Pods:          \(running)/\(podsWanted) managed by Porin

            """
        if let w = worldSpec, worldOK {
            s += "World hosts:           \(w.hosts.map { "\($0.name) (\($0.address))" }.joined(separator: ", ")); DNS \(w.dns)\n"
        }
        return APIResponse(exitCode: ok ? 0 : 1, stdout: s)
    }

    /// `porin down`: the agent removes its pods, node and maps; the world goes; then this process.
    func shutdown() -> APIResponse {
        shuttingDown = true
        if agentReady { _ = try? UnixSocket.call(agentSocket, AgentRequest(op: .shutdown), as: AgentResponse.self, timeout: 60) }
        if agentPID > 0 { kill(agentPID, SIGKILL) }
        if uplinkPID > 0 { kill(uplinkPID, SIGKILL) }
        world?.destroy()
        world = nil
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.2)
            exit(0)
        }
        return APIResponse(stdout: "")
    }
}

/// The agent answered with an error: it refused (part of) a change.
struct AgentRefusal: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension AgentRequest {
    static func fullSync(_ objects: [StoredObject]) -> AgentRequest {
        var r = AgentRequest(op: .sync)
        r.full = true
        r.upserts = objects
        return r
    }
}
