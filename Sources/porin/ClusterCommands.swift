// The cluster's verbs: `up`, `down`, `status` (cilium-like), `create`, `apply`, `delete`, `get`,
// `exec` (kubectl-like), and the two daemons `controlplane` and `agent` that `up` starts.
import Agent
import ArgumentParser
import ClusterAPI
import ControlPlane
import Datapath
import Foundation
import Glibc
import Hubble
import Netns
import PolicyAPI
import World

struct ClusterOptions: ParsableArguments {
    @Option(help: "The cluster (default: $PORIN_CLUSTER, else the only one running).")
    var cluster: String?

    func paths() throws -> ClusterPaths {
        do { return try ClusterPaths.select(cluster) } catch { throw ValidationError("\(error)") }
    }
}

/// Sends a request to the cluster's control plane, prints the answer, exits with its status.
func callControlPlane(_ paths: ClusterPaths, _ req: APIRequest) throws -> Never {
    let resp: APIResponse
    do { resp = try UnixSocket.call(paths.apiSocket, req, as: APIResponse.self) } catch {
        FileHandle.standardError.write(Data("error: cluster \(paths.name) does not answer (\(error)); is it up? (porin up --name \(paths.name))\n".utf8))
        exit(1)
    }
    FileHandle.standardOutput.write(Data(resp.stdout.utf8))
    FileHandle.standardError.write(Data(resp.stderr.utf8))
    exit(resp.exitCode)
}

/// Reads `-f` arguments: files, `-` for stdin, or directories (their .yaml, .yml and .json files).
func readManifests(_ paths: [String]) throws -> [SourceFile] {
    var out: [SourceFile] = []
    for p in paths {
        if p == "-" {
            out.append(SourceFile(name: "<stdin>", text: String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)))
            continue
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { throw ValidationError("the path \"\(p)\" does not exist") }
        if isDir.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: p).sorted().filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
            for n in names { out.append(SourceFile(name: "\(p)/\(n)", text: try String(contentsOfFile: "\(p)/\(n)", encoding: .utf8))) }
        } else {
            guard let text = try? String(contentsOfFile: p, encoding: .utf8) else { throw ValidationError("cannot read \"\(p)\" as UTF-8 text") }
            out.append(SourceFile(name: p, text: text))
        }
    }
    guard !out.isEmpty else { throw ValidationError("no manifests found in \(paths.joined(separator: ", "))") }
    return out
}

struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Create a cluster: control plane, a node with its agent and datapath, kube-dns.")

    @Option(help: "The cluster's name (lowercase letters and digits).")
    var name = "porin"
    @Option(help: "A world file: simulated outside hosts and their DNS server (e.g. examples/lab/world.yaml).")
    var world: String?
    @Flag(help: "No way out of the cluster (without --world, pods otherwise reach the machine's network through slirp4netns).")
    var isolated = false
    @Option(help: "The pod CIDR.")
    var podCIDR = "10.244.0.0/16"
    @Option(help: "The Service CIDR (kube-dns gets its tenth address).")
    var serviceCIDR = "10.96.0.0/12"
    @Option(help: "Seconds to wait for the cluster to be ready.")
    var timeout = 120
    @Option(help: "Port on 127.0.0.1 for Hubble's Prometheus metrics (/metrics); 0 for none.")
    var metricsPort = 9965
    @Option(help: "Port on 127.0.0.1 for Hubble Relay's gRPC API (the hubble CLI's --server); 0 for none (porin's own commands use a unix socket).")
    var hubblePort = 4245
    @Option(help: "Port on 127.0.0.1 for the web UI and its JSON API (http://127.0.0.1:PORT); 0 for none.")
    var uiPort = 12000
    @Option(help: "Flows each node's Hubble ring buffer holds (2^n - 1, as Hubble's --hubble-event-buffer-capacity).")
    var hubbleEventBufferCapacity = 4095
    @Option(help: "Export every flow as a Hubble JSON line to this file (rotated at 10 MiB, 5 backups).")
    var flowExport: String?
    @Option(name: .customLong("tofqdns-min-ttl"), help: "Seconds a name learnt by the DNS proxy stays at least (0: its DNS TTL), as Cilium's --tofqdns-min-ttl.")
    var tofqdnsMinTTL: UInt32 = 0
    @Option(name: .customLong("tofqdns-proxy-port"), help: "The DNS proxy's port in each node (0: one the kernel picks), as Cilium's --tofqdns-proxy-port.")
    var tofqdnsProxyPort: UInt16 = 0

    func validate() throws {
        do { try ClusterPaths.validate(name) } catch { throw ValidationError("--name: \(error)") }
        for (flag, v) in [("--pod-cidr", podCIDR), ("--service-cidr", serviceCIDR)] {
            guard let p = IPPrefix(v), p.isIPv4, p.length >= 8, p.length <= 24 else { throw ValidationError("\(flag) \"\(v)\": an IPv4 prefix from /8 to /24") }
        }
        if IPPrefix(podCIDR)!.contains(IPPrefix(serviceCIDR)!.address) || IPPrefix(serviceCIDR)!.contains(IPPrefix(podCIDR)!.address) {
            throw ValidationError("--pod-cidr \(podCIDR) and --service-cidr \(serviceCIDR) overlap")
        }
        if let world {
            guard let text = try? String(contentsOfFile: world, encoding: .utf8) else { throw ValidationError("--world: cannot read \"\(world)\"") }
            do { _ = try WorldSpecCheck.check(text, world) } catch { throw ValidationError("--world: \(error)") }
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port \(metricsPort): 0 (none) or a port number") }
        guard (0...65535).contains(hubblePort) else { throw ValidationError("--hubble-port \(hubblePort): 0 (none) or a port number") }
        if hubblePort != 0 && hubblePort == metricsPort { throw ValidationError("--hubble-port and --metrics-port are both \(hubblePort)") }
        guard (0...65535).contains(uiPort) else { throw ValidationError("--ui-port \(uiPort): 0 (none) or a port number") }
        for (flag, port) in [("--hubble-port", hubblePort), ("--metrics-port", metricsPort)] where uiPort != 0 && uiPort == port {
            throw ValidationError("--ui-port and \(flag) are both \(uiPort)")
        }
        guard FlowRing.validCapacity(hubbleEventBufferCapacity) && hubbleEventBufferCapacity <= 1_048_575 else {
            throw ValidationError("--hubble-event-buffer-capacity \(hubbleEventBufferCapacity): 2^n - 1 (1, 3, 7, … 4095, … 1048575), as Hubble requires")
        }
        if isolated && world != nil { throw ValidationError("--isolated and --world exclude each other: a world is the cluster's only outside") }
    }

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("porin up needs root (network namespaces and BPF)") }
        let paths = ClusterPaths(name)
        if UnixSocket.isListening(paths.apiSocket) { throw ValidationError("cluster \(name) is already running (porin down --cluster \(name) removes it)") }
        let removed = ClusterTeardown(paths: paths).run()
        if !removed.isEmpty { print("Removed leftovers of an earlier cluster \(name): \(removed.joined(separator: ", "))") }
        _ = try DatapathObject.locateObject()
        let porin = Spawn.selfExecutable
        for d in [paths.runDirectory, paths.stateDirectory, paths.logDirectory] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var argv = [porin, "controlplane", "--name", name, "--pod-cidr", podCIDR, "--service-cidr", serviceCIDR]
        if let world { argv += ["--world", URL(fileURLWithPath: world).standardizedFileURL.path] }
        if isolated { argv.append("--isolated") }
        argv += ["--metrics-port", String(metricsPort), "--hubble-port", String(hubblePort), "--ui-port", String(uiPort),
                 "--hubble-event-buffer-capacity", String(hubbleEventBufferCapacity)]
        if let flowExport { argv += ["--flow-export", URL(fileURLWithPath: flowExport).standardizedFileURL.path] }
        argv += ["--tofqdns-min-ttl", String(tofqdnsMinTTL), "--tofqdns-proxy-port", String(tofqdnsProxyPort)]
        var env: [String: String] = [:]
        if ProcessInfo.processInfo.environment["PORIN_BPF_OBJECT"] == nil { env["PORIN_BPF_OBJECT"] = try DatapathObject.locateObject() }
        let pid = try Spawn.start(argv, log: "\(paths.logDirectory)/controlplane.log", environment: env)
        try "\(pid)\n".write(toFile: paths.controlPlanePIDFile, atomically: true, encoding: .utf8)
        let start = Date()
        var last = APIResponse.failure("no answer yet")
        while Date().timeIntervalSince(start) < Double(timeout) {
            if Spawn.reap(pid) != nil {
                let log = (try? String(contentsOfFile: "\(paths.logDirectory)/controlplane.log", encoding: .utf8)) ?? ""
                _ = ClusterTeardown(paths: paths).run()
                throw ValidationError("the control plane of \(name) failed to start:\n\(log.split(separator: "\n").suffix(10).joined(separator: "\n"))")
            }
            if let r = try? UnixSocket.call(paths.apiSocket, APIRequest(op: .status), as: APIResponse.self) {
                last = r
                if r.exitCode == 0 {
                    print(r.stdout, terminator: "")
                    print("\nCluster \(name) is up in \(String(format: "%.1f", Date().timeIntervalSince(start))) s. Logs: \(paths.logDirectory)/")
                    if uiPort != 0, r.stdout.contains("Hubble UI:          OK") { print("Web UI: http://127.0.0.1:\(uiPort)") }
                    return
                }
            }
            usleep(200_000)
        }
        print(last.stdout, terminator: "")
        throw ValidationError("cluster \(name) was not ready after \(timeout) s (logs: \(paths.logDirectory)/; remove it with porin down --cluster \(name))")
    }
}

/// Checks a world file before anything starts (the control plane reads it again).
enum WorldSpecCheck {
    static func check(_ text: String, _ file: String) throws -> Bool {
        do { _ = try WorldSpec.decode(text: text, file: file) } catch { throw ValidationError(error.diagnostics.map(\.description).joined(separator: "\n")) }
        return true
    }
}

struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Remove a cluster and everything it created.")
    @OptionGroup var options: ClusterOptions
    @Option(help: "The cluster's name (same as --cluster).")
    var name: String?

    func run() throws {
        guard getuid() == 0 else { throw ValidationError("porin down needs root") }
        let paths: ClusterPaths
        if let n = name ?? options.cluster {
            do { try ClusterPaths.validate(n) } catch { throw ValidationError("\(error)") }
            paths = ClusterPaths(n)
        } else {
            paths = try options.paths()
        }
        if UnixSocket.isListening(paths.apiSocket) {
            _ = try? UnixSocket.call(paths.apiSocket, APIRequest(op: .shutdown), as: APIResponse.self, timeout: 90)
        }
        let removed = ClusterTeardown(paths: paths).run()
        print(removed.isEmpty ? "Cluster \(paths.name): nothing to remove" : "Cluster \(paths.name) removed: \(removed.joined(separator: ", "))")
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Report the cluster's health, like `cilium status`.")
    @OptionGroup var options: ClusterOptions
    @Flag(help: "Wait until every component is OK.")
    var wait = false
    @Option(help: "Seconds --wait waits at most.")
    var waitDuration = 300

    func run() throws {
        let paths = try options.paths()
        if wait {
            let start = Date()
            while Date().timeIntervalSince(start) < Double(waitDuration) {
                if let r = try? UnixSocket.call(paths.apiSocket, APIRequest(op: .status), as: APIResponse.self), r.exitCode == 0 {
                    print(r.stdout, terminator: "")
                    return
                }
                usleep(500_000)
            }
        }
        try callControlPlane(paths, APIRequest(op: .status))
    }
}

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create objects from files (`-f`), or a namespace (`create ns NAME`).")
    @OptionGroup var options: ClusterOptions
    @Option(name: .shortAndLong, help: "A manifest file or directory (repeatable; - for stdin).")
    var filename: [String] = []
    @Option(name: .shortAndLong, help: "The namespace of objects that name none.")
    var namespace: String?
    @Argument(help: "ns NAME")
    var words: [String] = []

    func run() throws {
        let paths = try options.paths()
        if !words.isEmpty {
            guard filename.isEmpty, words.count == 2, ["ns", "namespace"].contains(words[0]) else {
                throw ValidationError("usage: porin create ns NAME, or porin create -f FILE")
            }
            var r = APIRequest(op: .createNamespace)
            r.names = [words[1]]
            try callControlPlane(paths, r)
        }
        guard !filename.isEmpty else { throw ValidationError("must specify -f FILE (or: porin create ns NAME)") }
        var r = APIRequest(op: .create)
        r.files = try readManifests(filename)
        r.namespace = namespace
        try callControlPlane(paths, r)
    }
}

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply", abstract: "Create or update objects from files; all or nothing.")
    @OptionGroup var options: ClusterOptions
    @Option(name: .shortAndLong, help: "A manifest file or directory (repeatable; - for stdin).")
    var filename: [String] = []
    @Option(name: .shortAndLong, help: "The namespace of objects that name none.")
    var namespace: String?
    @Option(name: .customLong("dry-run"), help: "none, or server: decode and admit the objects as the server would, store nothing.")
    var dryRun: String = "none"

    func run() throws {
        guard !filename.isEmpty else { throw ValidationError("must specify -f FILE") }
        guard ["none", "server"].contains(dryRun) else {
            throw ValidationError("--dry-run: \"\(dryRun)\" is not one of none, server (client-side dry runs are not supported: the server's admission is the check)")
        }
        let paths = try options.paths()
        var r = APIRequest(op: .apply)
        r.files = try readManifests(filename)
        r.namespace = namespace
        r.dryRun = dryRun == "server" ? true : nil
        try callControlPlane(paths, r)
    }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete the objects of files (`-f`), or `delete KIND NAME...`.")
    @OptionGroup var options: ClusterOptions
    @Option(name: .shortAndLong, help: "A manifest file or directory (repeatable; - for stdin).")
    var filename: [String] = []
    @Option(name: .shortAndLong, help: "The namespace of objects that name none.")
    var namespace: String?
    @Argument(help: "KIND NAME...")
    var words: [String] = []

    func run() throws {
        let paths = try options.paths()
        var r = APIRequest(op: .delete)
        r.namespace = namespace
        if !filename.isEmpty {
            guard words.isEmpty else { throw ValidationError("give either -f FILE or KIND NAME, not both") }
            r.files = try readManifests(filename)
        } else {
            guard words.count >= 2 else { throw ValidationError("usage: porin delete -f FILE, or porin delete KIND NAME...") }
            r.resource = words[0]
            r.names = Array(words.dropFirst())
        }
        try callControlPlane(paths, r)
    }
}

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "List objects: ns, pods, deploy, svc, endpoints, cnp, ccnp, netpol, identities, cep.")
    @OptionGroup var options: ClusterOptions
    @Option(name: .shortAndLong, help: "The namespace to list (default: default).")
    var namespace: String?
    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "List every namespace.")
    var allNamespaces = false
    @Option(name: .shortAndLong, help: "wide, yaml, json or name.")
    var output: String?
    @Argument(help: "RESOURCE [NAME...]")
    var words: [String] = []

    func validate() throws {
        guard !words.isEmpty else { throw ValidationError("you must specify the type of resource to get (ns, pods, svc, cnp, ...)") }
        if allNamespaces && namespace != nil { throw ValidationError("give -n NAMESPACE or -A, not both") }
    }

    func run() throws {
        let paths = try options.paths()
        var r = APIRequest(op: .get)
        // kubectl also takes `pods/NAME`.
        let parts = words[0].split(separator: "/", maxSplits: 1).map(String.init)
        r.resource = parts[0]
        r.names = Array(parts.dropFirst()) + Array(words.dropFirst())
        r.namespace = namespace
        r.allNamespaces = allNamespaces
        r.output = output
        try callControlPlane(paths, r)
    }
}

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command inside a pod's network namespace; its exit status is porin's.",
        discussion: "Example: porin exec -n tenant-a frontend-service -- curl -sI --max-time 5 backend-service.tenant-b")
    @OptionGroup var options: ClusterOptions
    @Option(name: .shortAndLong, help: "The pod's namespace.")
    var namespace = "default"
    @Flag(name: [.customShort("i"), .long], help: "Accepted for kubectl compatibility (stdin is always passed).")
    var stdin = false
    @Flag(name: .shortAndLong, help: "Accepted for kubectl compatibility.")
    var tty = false
    @Argument(help: "POD")
    var pod: String
    @Argument(parsing: .postTerminator, help: "COMMAND [ARGS...] after --")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --: porin exec -n NS POD -- CMD ARGS...") }
    }

    func run() throws {
        let paths = try options.paths()
        var r = APIRequest(op: .podNetns)
        r.namespace = namespace
        r.names = [pod.hasPrefix("pod/") ? String(pod.dropFirst(4)) : pod]
        let resp: APIResponse
        do { resp = try UnixSocket.call(paths.apiSocket, r, as: APIResponse.self) } catch {
            throw ValidationError("cluster \(paths.name) does not answer: \(error)")
        }
        guard resp.exitCode == 0 else {
            FileHandle.standardError.write(Data(resp.stderr.utf8))
            throw ExitCode(resp.exitCode)
        }
        // `ip netns exec` also mounts the pod's resolv.conf; exec replaces this process, so the
        // command gets our stdin/stdout/stderr and its exit status is ours.
        let argv = ["ip", "netns", "exec", resp.stdout] + command
        let cArgs = argv.map { strdup($0) } + [nil]
        execv("/usr/sbin/ip", cArgs)
        throw ValidationError("cannot run ip netns exec: \(String(cString: strerror(errno)))")
    }
}

struct ControlPlaneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "controlplane", abstract: "The control-plane daemon (started by `porin up`).", shouldDisplay: false)
    @Option var name: String
    @Option var world: String?
    @Flag var isolated = false
    @Option var metricsPort = 9965
    @Option var hubblePort = 4245
    @Option var uiPort = 12000
    @Option var hubbleEventBufferCapacity = 4095
    @Option var flowExport: String?
    @Option var podCIDR = "10.244.0.0/16"
    @Option var serviceCIDR = "10.96.0.0/12"
    @Option(name: .customLong("tofqdns-min-ttl")) var tofqdnsMinTTL: UInt32 = 0
    @Option(name: .customLong("tofqdns-proxy-port")) var tofqdnsProxyPort: UInt16 = 0

    func run() throws {
        try ClusterPaths.validate(name)
        var c = ControlPlane.Config(paths: ClusterPaths(name), porin: Spawn.selfExecutable)
        c.worldFile = world
        c.uplink = !isolated
        c.metricsPort = metricsPort
        c.hubblePort = hubblePort
        c.uiPort = uiPort
        c.flowCapacity = hubbleEventBufferCapacity
        c.flowExport = flowExport
        c.fqdnMinTTL = tofqdnsMinTTL
        c.dnsProxyPort = tofqdnsProxyPort
        guard let p = IPPrefix(podCIDR), let s = IPPrefix(serviceCIDR) else { throw ValidationError("bad CIDR") }
        c.podCIDR = p
        c.serviceCIDR = s
        try ControlPlane(config: c).run()
    }
}

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agent", abstract: "The node agent daemon (started by the control plane).", shouldDisplay: false)
    @Option var cluster: String
    @Option var node: String
    @Option var podCIDR = "10.244.0.0/16"
    @Option var serviceCIDR = "10.96.0.0/12"
    @Option var flowExport: String?
    @Option var hubbleEventBufferCapacity = 4095
    @Option(name: .customLong("tofqdns-min-ttl")) var tofqdnsMinTTL: UInt32 = 0
    @Option(name: .customLong("tofqdns-proxy-port")) var tofqdnsProxyPort: UInt16 = 0

    func run() throws {
        guard FlowRing.validCapacity(hubbleEventBufferCapacity) else { throw ValidationError("--hubble-event-buffer-capacity \(hubbleEventBufferCapacity): must be 2^n - 1") }
        let paths = ClusterPaths(cluster)
        var c = NodeAgent.Config(cluster: cluster, nodeName: node, porin: Spawn.selfExecutable)
        c.nodeNetns = paths.nodeNetns(node)
        c.podNetnsPrefix = paths.netnsPrefix
        guard let p = IPPrefix(podCIDR), let s = IPPrefix(serviceCIDR) else { throw ValidationError("bad CIDR") }
        c.podCIDR = p
        c.serviceCIDR = s
        c.dnsServiceIP = IPAddress(v4: s.address.v4 + 10)
        c.dnsRecordsPath = nil
        c.stateDirectory = paths.nodeStateDirectory(node: node)
        c.flowExportPath = flowExport
        c.flowCapacity = hubbleEventBufferCapacity
        c.fqdnMinTTL = tofqdnsMinTTL
        c.dnsProxyPort = tofqdnsProxyPort
        try AgentDaemon.run(config: c, socket: paths.agentSocket(node: node), hubbleSocket: paths.hubbleSocket(node: node))
    }
}

/// Removes everything a cluster made, whether or not its daemons still run: processes in its
/// namespaces, the namespaces, their /etc/netns files, pinned BPF objects, sockets and state.
struct ClusterTeardown {
    let paths: ClusterPaths

    func run() -> [String] {
        var removed: [String] = []
        if let text = try? String(contentsOfFile: paths.controlPlanePIDFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
           Spawn.alive(pid), (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains("controlplane") == true {
            kill(pid, SIGKILL)
            removed.append("control plane (pid \(pid))")
        }
        // Agents: processes whose command line names this cluster.
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for p in procs {
            guard let pid = Int32(p), pid != getpid(), let cmd = try? String(contentsOfFile: "/proc/\(p)/cmdline", encoding: .utf8) else { continue }
            let args = cmd.split(separator: "\0").map(String.init)
            if let i = args.firstIndex(of: "--cluster"), i + 1 < args.count, args[i + 1] == paths.name, args.contains("agent") {
                kill(pid, SIGKILL)
                removed.append("agent (pid \(pid))")
            }
            if args.first?.hasSuffix("slirp4netns") == true, args.contains(where: { $0.hasPrefix("/run/netns/\(paths.netnsPrefix)") }) {
                kill(pid, SIGKILL)
                removed.append("uplink (pid \(pid))")
            }
        }
        let netns = ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).filter { $0.hasPrefix(paths.netnsPrefix) }
        // Pods first, the node last (pods' veths are deleted with their namespaces).
        for ns in netns.sorted(by: { a, b in (a == paths.nodeNetns(paths.firstNode) ? 1 : 0, a) < (b == paths.nodeNetns(paths.firstNode) ? 1 : 0, b) }) {
            NetworkNamespace(ns).killProcesses()
            try? NetworkNamespace(ns).delete()
        }
        if !netns.isEmpty { removed.append("\(netns.count) network namespaces") }
        let etc = ((try? FileManager.default.contentsOfDirectory(atPath: "/etc/netns")) ?? []).filter { $0.hasPrefix(paths.netnsPrefix) }
        for e in etc { try? FileManager.default.removeItem(atPath: "/etc/netns/\(e)") }
        if FileManager.default.fileExists(atPath: paths.bpfDirectory) {
            for n in (try? FileManager.default.contentsOfDirectory(atPath: paths.bpfDirectory)) ?? [] {
                DatapathObject.unpin(directory: "\(paths.bpfDirectory)/\(n)")
            }
            rmdir(paths.bpfDirectory)
            rmdir(ClusterPaths.bpfRoot)
            removed.append("pinned maps")
        }
        for d in [paths.runDirectory, paths.stateDirectory] where FileManager.default.fileExists(atPath: d) {
            try? FileManager.default.removeItem(atPath: d)
            removed.append(d)
        }
        rmdir(ClusterPaths.runRoot)
        rmdir(ClusterPaths.stateRoot)
        return removed
    }
}
