// Whole clusters through the `porin` binary, as a user drives them: `up` (with the simulated
// world), LAB.md §3, §5 and §7 with `create`/`apply`/`exec`, bad input that changes nothing,
// `kill -9` of the agent while traffic flows, containers restarted by restartPolicy, two clusters
// side by side, and `down` leaving nothing behind. Needs root.
import ClusterAPI
import Foundation
import Testing

final class ErrBox: @unchecked Sendable { var data = Data() }

struct PorinCLI {
    let cluster: String
    static let binary = MiniLabTests.porin
    static let lab = MiniLabTests.lab.path

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    func run(_ args: [String], stdin: String? = nil) throws -> Result {
        try Self.process(Self.binary, args, environment: ["PORIN_CLUSTER": cluster], stdin: stdin)
    }

    /// Runs a program with extra environment variables; its status, stdout and stderr.
    static func process(_ executable: String, _ args: [String], environment: [String: String], stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        if let stdin {
            let i = Pipe()
            p.standardInput = i
            i.fileHandleForWriting.write(Data(stdin.utf8))
            try i.fileHandleForWriting.close()
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        try p.run()
        // stderr is drained on its own thread: a command with a lot to say on both cannot block.
        let errBox = ErrBox()
        let reader = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        while !reader.isFinished { usleep(1000) }
        let e = errBox.data
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// `porin exec -n NS POD -- curl -sI --max-time T URL`.
    func curl(from ns: String, _ url: String, pod: String = "frontend-service", timeout: Int = 3) throws -> Result {
        try run(["exec", "-n", ns, pod, "--", "curl", "-sI", "--max-time", String(timeout), url])
    }

    /// Retries while servers start (stand-ins, kube-dns): the first success, or the last failure.
    func curlUntilUp(from ns: String, _ url: String) throws -> Result {
        var r = try curl(from: ns, url, timeout: 2)
        for _ in 0..<25 where r.status != 0 {
            usleep(200_000)
            r = try curl(from: ns, url, timeout: 2)
        }
        return r
    }

    /// Everything the cluster could leave on the machine; empty when it is gone.
    func leftovers() -> [String] {
        let paths = ClusterPaths(cluster)
        var out: [String] = []
        out += ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).filter { $0.hasPrefix(paths.netnsPrefix) }.map { "netns \($0)" }
        out += ((try? FileManager.default.contentsOfDirectory(atPath: "/etc/netns")) ?? []).filter { $0.hasPrefix(paths.netnsPrefix) }.map { "/etc/netns/\($0)" }
        for d in [paths.bpfDirectory, paths.runDirectory, paths.stateDirectory] where FileManager.default.fileExists(atPath: d) { out.append(d) }
        for p in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard Int32(p) != nil, let cmd = try? String(contentsOfFile: "/proc/\(p)/cmdline", encoding: .utf8) else { continue }
            let args = cmd.split(separator: "\0").map(String.init)
            if args.contains(cluster) && (args.contains("controlplane") || args.contains("agent")) { out.append("process \(p): \(args.joined(separator: " "))") }
        }
        return out
    }
}

@Suite("Clusters through the porin CLI", .serialized)
struct ClusterTests {
    static func name(_ tag: String) -> String { "t\(tag)\(getpid() % 100000)" }

    @Test("LAB.md §3, §5 and §7 with porin commands; bad input changes nothing; down leaves nothing",
          .enabled(if: FileManager.default.isExecutableFile(atPath: PorinCLI.binary)))
    func lab() throws {
        try #require(getuid() == 0, "cluster tests need root (network namespaces and BPF)")
        let c = PorinCLI(cluster: Self.name("lab"))
        defer { _ = try? c.run(["down", "--name", c.cluster]) }
        // Ports below the kernel's ephemeral range (32768-60999), so no socket another test binds
        // to port 0 (the web UI's server tests run beside this one) can hold them.
        let metricsPort = 20000 + 3 * Int(getpid() % 4000)
        let exportFile = NSTemporaryDirectory() + "porin-export-\(c.cluster)/flows.json"
        defer { try? FileManager.default.removeItem(atPath: (exportFile as NSString).deletingLastPathComponent) }
        let hubblePort = metricsPort + 2
        let uiPort = metricsPort + 1
        let up = try c.run(["up", "--name", c.cluster, "--world", "\(PorinCLI.lab)/world.yaml", "--metrics-port", String(metricsPort),
                            "--hubble-port", String(hubblePort), "--ui-port", String(uiPort), "--flow-export", exportFile])
        try #require(up.status == 0, "porin up: \(up.stdout)\(up.stderr)")
        #expect(up.stdout.contains("Cluster Pods:          2/2 managed by Porin"), "kube-dns's two pods: \(up.stdout)")

        for ns in ["tenant-a", "tenant-b", "tenant-c"] {
            #expect(try c.run(["create", "ns", ns]).stdout == "namespace/\(ns) created\n")
            let r = try c.run(["create", "-n", ns, "-f", "\(PorinCLI.lab)/tenant-services.yaml"])
            #expect(r.stdout == "pod/frontend-service created\npod/backend-service created\nservice/backend-service created\n", "\(r)")
        }
        let pods = try c.run(["get", "pods", "-A"]).stdout
        #expect(pods.split(separator: "\n").count == 9, "header + 2 coredns + 6 tenant pods:\n\(pods)")

        // §3: no policy, everything answers, by name, across namespaces and to the world.
        for t in ["tenant-a", "tenant-b", "tenant-c"] {
            let r = try c.curlUntilUp(from: "tenant-a", "backend-service.\(t)")
            #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 200 OK"), "§3 \(t): \(r)")
        }
        let tw = try c.curlUntilUp(from: "tenant-a", "api.twitter.com")
        #expect(tw.stdout.hasPrefix("HTTP/1.1 301 Moved Permanently"), "§3 the world: \(tw)")
        // LAB.md §7's `curl -sI https://google.com`: verified against the world's CA, which the
        // pods trust; HTTP/1.1 where the real google.com answers HTTP/2 (docs/cluster.md).
        let https = try c.curlUntilUp(from: "tenant-b", "https://google.com")
        #expect(https.status == 0 && https.stdout.hasPrefix("HTTP/1.1 301 Moved Permanently") && https.stdout.contains("Location: https://www.google.com/"),
                "§3 HTTPS to the world: \(https)")

        // A headless Service gets no ClusterIP and no frontend; the others keep working.
        let headless = try c.run(["apply", "-n", "tenant-a", "-f", "-"], stdin: "{apiVersion: v1, kind: Service, metadata: {name: direct}, spec: {clusterIP: None, selector: {app: backend-service}, ports: [{port: 80}]}}")
        #expect(headless.stdout == "service/direct created\n", "\(headless)")
        #expect(try c.run(["get", "svc", "-n", "tenant-a", "direct"]).stdout.contains("direct   ClusterIP   None "))
        #expect(try c.curl(from: "tenant-a", "backend-service.tenant-a").status == 0)

        // Bad input: errors with positions, and nothing applied.
        let bad = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: lockdown, namespace: tenant-a}
            spec:
              endpointSelector: {}
              egress:
              - toPorts: [{ports: [{port: "70000"}]}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: extra, namespace: tenant-zz}
            spec: {containers: [{name: c, image: nginx}]}
            """
        let rejected = try c.run(["apply", "-f", "-"], stdin: bad)
        #expect(rejected.status == 1)
        #expect(rejected.stderr.contains("<stdin>:7:31: spec.egress[0].toPorts[0].ports[0].port: port \"70000\" is out of range"), "\(rejected.stderr)")
        #expect(rejected.stderr.contains("<stdin>:11:36: metadata.namespace: namespaces \"tenant-zz\" not found"), "\(rejected.stderr)")
        #expect(try c.run(["get", "cnp", "-A"]).stderr == "No resources found\n")
        #expect(try c.curl(from: "tenant-a", "backend-service.tenant-b").status == 0, "the rejected lockdown policy is not in force")

        // §5: tenant-a's default policy keeps tenant-a and DNS, drops tenant-b, tenant-c and the world.
        let applied = try c.run(["apply", "-f", "\(PorinCLI.lab)/tenant-a-default-policy.yaml"])
        #expect(applied.stdout == "ciliumnetworkpolicy.cilium.io/default created\n", "\(applied)")
        var r = try c.curl(from: "tenant-a", "backend-service.tenant-a")
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 200 OK"), "§5 tenant-a: \(r)")
        for t in ["backend-service.tenant-b", "backend-service.tenant-c", "api.twitter.com"] {
            r = try c.curl(from: "tenant-a", t)
            #expect(r.status == 28, "§5 \(t) is dropped: curl exits 28 (\(r))")
        }
        r = try c.curl(from: "tenant-b", "backend-service.tenant-a")
        #expect(r.status == 28, "§5 tenant-a's ingress drops tenant-b (\(r))")
        #expect(try c.run(["apply", "-f", "\(PorinCLI.lab)/tenant-a-default-policy.yaml"]).stdout == "ciliumnetworkpolicy.cilium.io/default unchanged\n")

        // Hubble: the attempts to tenant-b as flows, in hubble's compact format (LAB.md §5), and
        // an allowed request's forwarded TCP sequence.
        let drops = try c.run(["observe", "--namespace", "tenant-a", "--verdict", "DROPPED", "--last", "200"]).stdout.split(separator: "\n")
        let frontend = #/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\.\d{3}: tenant-a/frontend-service:\d+ \(ID:\d+\) <> tenant-b/backend-service:80 \(ID:\d+\) /#
        #expect(drops.contains { $0.contains(frontend) && $0.hasSuffix("policy-verdict:none EGRESS DENIED (TCP Flags: SYN)") }, "\(drops)")
        #expect(drops.contains { $0.contains(frontend) && $0.hasSuffix("Policy denied DROPPED (TCP Flags: SYN)") }, "\(drops)")
        // The exporter wrote the same flows, and porin observe reads them back from the file.
        let exported = try c.run(["observe", "--input-file", exportFile, "--verdict", "DROPPED", "--to-namespace", "tenant-b"])
        #expect(exported.stdout.contains("Policy denied DROPPED (TCP Flags: SYN)"), "\(exported)")

        // Hubble's metrics on 127.0.0.1, as Prometheus scrapes them.
        let scrape = Process()
        scrape.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        scrape.arguments = ["-s", "--max-time", "5", "http://127.0.0.1:\(metricsPort)/metrics"]
        let metricsOut = Pipe()
        scrape.standardOutput = metricsOut
        try scrape.run()
        let metrics = String(decoding: metricsOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        scrape.waitUntilExit()
        #expect(metrics.contains(#/hubble_drop_total\{reason="POLICY_DENIED",protocol="TCP"\} [1-9]/#), "\(metrics)")
        #expect(metrics.contains(#/hubble_policy_verdicts_total\{direction="egress",match="none",action="dropped"\} [1-9]/#), "\(metrics)")
        #expect(metrics.contains(#/hubble_flows_processed_total\{protocol="TCP",type="Trace",subtype="to-endpoint",verdict="FORWARDED"\} [1-9]/#))
        let allowed = try c.run(["observe", "--from-pod", "tenant-a/frontend-service", "--to-pod", "tenant-a/backend-service", "--type", "trace:to-endpoint", "--last", "200"]).stdout
        for flags in ["SYN", "ACK", "ACK, PSH", "ACK, FIN"] {
            let line = allowed.split(separator: "\n").first { $0.contains(" -> tenant-a/backend-service:80 (ID:") && $0.hasSuffix("to-endpoint FORWARDED (TCP Flags: \(flags))") }
            #expect(line != nil, "\(flags): \(allowed)")
        }

        // Hubble's gRPC API on the relay's port, through an independent client (Python grpcio,
        // classes generated by protoc from proto/): health, status, nodes, namespaces, GetFlows
        // with allow- and deny-lists, first, the first+follow refusal, and a followed stream that
        // sees a new flow (issue #4: within 100 ms).
        try checkGRPCClient(c, port: hubblePort)

        try checkWebAPI(c, port: uiPort)

        try checkDNSProxy(c)

        // §7: the exam in tenant-b: the first attempt drops tenant-c's backend, the solution reaches it.
        #expect(try c.run(["apply", "-f", "\(PorinCLI.lab)/default-exam-first-attempt.yaml"]).status == 0)
        r = try c.curl(from: "tenant-b", "backend-service.tenant-c")
        #expect(r.status == 28, "§7 first attempt: \(r)")
        let fixed = try c.run(["apply", "-f", "\(PorinCLI.lab)/default-exam.yaml"])
        #expect(fixed.stdout.contains("configured"), "the same policy, changed: \(fixed)")
        r = try c.curl(from: "tenant-b", "backend-service.tenant-c")
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 200 OK"), "§7 solution: \(r)")
        // The exam's toFQDNs google.com:443: HTTPS to the world's google.com (LAB.md §7).
        r = try c.run(["exec", "-n", "tenant-b", "frontend-service", "--", "curl", "-sI", "--max-time", "5", "https://google.com"])
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 301 Moved Permanently"), "§7 https://google.com: \(r)")
        #expect(try c.curl(from: "tenant-b", "api.twitter.com").status == 28, "§7 only google.com is opened")

        // Deleting the policy restores §3's answers; deleting a namespace removes its pods.
        #expect(try c.run(["delete", "-f", "\(PorinCLI.lab)/tenant-a-default-policy.yaml"]).stdout == "ciliumnetworkpolicy.cilium.io \"default\" deleted\n")
        #expect(try c.curl(from: "tenant-a", "backend-service.tenant-b").status == 0)
        #expect(try c.run(["delete", "ns", "tenant-c"]).stdout == "namespace \"tenant-c\" deleted\n")
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/\(ClusterPaths(c.cluster).netnsPrefix)tenant-c.backend-service"))

        let down = try c.run(["down"])
        #expect(down.status == 0, "\(down)")
        #expect(c.leftovers() == [], "porin down leaves nothing")
    }

    /// Issue #6's server on the lab after §5: the status line, the JSON API as curl sees it (the
    /// relay's live flows on the service map, with the policy that dropped them), an invalid
    /// policy refused at its line with nothing applied, a valid one applied and deleted exactly as
    /// `porin apply`/`porin delete` print it, and the Host guard.
    func checkWebAPI(_ c: PorinCLI, port: Int) throws {
        let status = try c.run(["status"]).stdout
        #expect(status.contains("Hubble UI:          OK (http://127.0.0.1:\(port))"), "\(status)")
        func curl(_ args: [String]) throws -> (status: Int, body: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            p.arguments = ["-s", "--max-time", "10", "-w", "\n%{http_code}"] + args
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let code = Int(text.split(separator: "\n").last ?? "") ?? 0
            return (code, String(text.dropLast(String(code).count + 1)))
        }
        let base = "http://127.0.0.1:\(port)"
        let ns = try curl(["\(base)/api/namespaces"])
        #expect(ns.status == 200 && ns.body.contains("\"name\":\"tenant-a\""), "\(ns)")
        var map = (status: 0, body: "")
        for _ in 0..<20 {
            map = try curl(["\(base)/api/map?namespace=tenant-a"])
            if map.body.contains("\"to\":\"pod:tenant-b/backend-service\"") { break }
            usleep(250_000)
        }
        let m = try JSONSerialization.jsonObject(with: Data(map.body.utf8)) as? [String: Any]
        let edges = (m?["edges"] as? [[String: Any]]) ?? []
        let toB = edges.first { $0["from"] as? String == "pod:tenant-a/frontend-service" && $0["to"] as? String == "pod:tenant-b/backend-service" }
        #expect((toB?["dropped"] as? Int ?? 0) > 0, "the relay's drops reach the service map: \(map.body.prefix(2000))")
        #expect(((toB?["droppedBy"] as? [[String: Any]])?.first?["name"] as? String) == "default", "\(String(describing: toB))")
        let bad = #"{"yaml": "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web, namespace: tenant-a}\nspec:\n  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: \"70000\"}]}]\n"}"#
        let refused = try curl(["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", bad, "\(base)/api/policies/apply"])
        #expect(refused.status == 422 && refused.body.contains("\"line\":7") && refused.body.contains("70000"), "\(refused)")
        #expect(try c.run(["get", "cnp", "web", "-n", "tenant-a"]).status != 0, "nothing was applied")
        let good = #"{"yaml": "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web, namespace: tenant-a}\nspec:\n  endpointSelector: {}\n  egress:\n  - toEntities: [world]\n"}"#
        let applied = try curl(["-X", "POST", "--data-binary", good, "\(base)/api/policies/apply"])
        #expect(applied.status == 200 && applied.body.contains("ciliumnetworkpolicy.cilium.io/web created"), "\(applied)")
        #expect(try c.run(["get", "cnp", "web", "-n", "tenant-a"]).status == 0)
        let deleted = try curl(["-X", "DELETE", "\(base)/api/policies/CiliumNetworkPolicy/tenant-a/web"])
        #expect(deleted.status == 200 && deleted.body.contains(#"ciliumnetworkpolicy.cilium.io \"web\" deleted"#), "\(deleted)")
        // The UI's validation is the CLI's server-side dry run: admitted, printed, not stored.
        let dry = try c.run(["apply", "--dry-run=server", "-f", "\(PorinCLI.lab)/tenant-a-extra-policy.yaml"])
        #expect(dry.stdout == "ciliumnetworkpolicy.cilium.io/extra created (server dry run)\n", "\(dry)")
        #expect(try c.run(["get", "cnp", "extra", "-n", "tenant-a"]).status != 0, "a dry run stores nothing")
        let client = try c.run(["apply", "--dry-run=client", "-f", "\(PorinCLI.lab)/tenant-a-extra-policy.yaml"])
        #expect(client.status != 0 && client.stderr.contains("--dry-run: \"client\" is not one of none, server"), "\(client)")
        let foreign = try curl(["-H", "Host: evil.example:\(port)", "\(base)/api/namespaces"])
        #expect(foreign.status == 403, "DNS rebinding guard: \(foreign)")
        let page = try curl(["\(base)/"])
        #expect(page.status == 200 && page.body.contains("<html"), "the page: \(page.body.prefix(200))")
    }

    /// Issue #5 on the lab (LAB.md §5–§7): DNS through the proxy as Hubble shows it, refused
    /// names, malformed queries, toFQDNs learnt from answers (`extra`), the cache, the filters,
    /// an agent restart that keeps FQDN-allowed traffic, and HTTPS to google.com under the exam.
    func checkDNSProxy(_ c: PorinCLI) throws {
        // §5: the default policy sends tenant-a's DNS to the proxy; the lab's lines, in order.
        var r = try c.curl(from: "tenant-a", "backend-service.tenant-a")
        #expect(r.status == 0, "\(r)")
        // `--namespace`: answers go from kube-dns to the pod, so `--from-pod` would not show them.
        let dns = try c.run(["observe", "--namespace", "tenant-a", "--last", "400"]).stdout.split(separator: "\n").map(String.init)
        let coredns = #/ -> kube-system/coredns-[a-z0-9]+-[a-z0-9]+:53 \(ID:\d+\) /#
        #expect(dns.contains { $0.contains(coredns) && $0.hasSuffix("policy-verdict:L3-L4 EGRESS ALLOWED (UDP)") }, "\(dns)")
        #expect(dns.contains { $0.contains(coredns) && $0.hasSuffix("to-proxy FORWARDED (UDP)") }, "\(dns)")
        #expect(dns.contains { $0.contains(coredns) && $0.hasSuffix("dns-request proxy FORWARDED (DNS Query backend-service.tenant-a.svc.cluster.local. A)") }, "\(dns)")
        #expect(dns.contains { $0.contains(#/ <- kube-system/coredns-\S+:53 \(ID:\d+\) dns-response proxy FORWARDED \(DNS Answer "10\.96\.\d+\.\d+" TTL: 30 \(Proxy backend-service\.tenant-a\.svc\.cluster\.local\. A\)\)$/#) }, "\(dns)")
        // The world's answer is learnt, so the drop shows the name (LAB.md §5).
        #expect(try c.curl(from: "tenant-a", "api.twitter.com").status == 28)
        // `--to-fqdn`, not `--namespace … --fqdn`: hubble pairs either-side flags side by side.
        let named = try c.run(["observe", "--to-fqdn", "api.twitter.com", "--verdict", "DROPPED", "--last", "50"]).stdout
        #expect(named.contains(#/<> api\.twitter\.com:80 \(world\) Policy denied DROPPED \(TCP Flags: SYN\)/#), "\(named)")
        let l7 = try c.run(["observe", "--namespace", "tenant-a", "--protocol", "dns", "--type", "l7", "--last", "20"]).stdout.split(separator: "\n")
        #expect(!l7.isEmpty && l7.allSatisfy { $0.contains(" dns-request proxy ") || $0.contains(" dns-response proxy ") }, "\(l7)")

        // §6: `extra` opens api.twitter.com:80 by name; everything else stays dropped.
        #expect(try c.run(["apply", "-f", "\(PorinCLI.lab)/tenant-a-extra-policy.yaml"]).stdout == "ciliumnetworkpolicy.cilium.io/extra created\n")
        r = try c.curl(from: "tenant-a", "api.twitter.com")
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 301 Moved Permanently"), "§6 api.twitter.com: \(r)")
        for t in ["www.google.com", "backend-service.tenant-b", "backend-service.tenant-c"] {
            #expect(try c.curl(from: "tenant-a", t).status == 28, "§6 \(t) stays dropped")
        }
        #expect(try c.curl(from: "tenant-a", "backend-service.tenant-a").status == 0)
        let denied = try c.run(["observe", "--namespace", "tenant-a", "--verdict", "DROPPED", "--last", "60"]).stdout
        #expect(denied.contains("<> www.google.com:80 (world) policy-verdict:none EGRESS DENIED (TCP Flags: SYN)"), "\(denied)")
        let allowedByName = try c.run(["observe", "--to-fqdn", "api.twitter.com", "--last", "30"]).stdout
        #expect(allowedByName.contains(#/-> api\.twitter\.com:80 \(ID:1677\d+\) policy-verdict:L3-L4 EGRESS ALLOWED \(TCP Flags: SYN\)/#), "\(allowedByName)")
        let cache = try c.run(["fqdn", "cache", "list"]).stdout
        #expect(cache.hasPrefix("Endpoint   Source   FQDN"), "\(cache)")
        #expect(cache.contains(#/\n\d+ +lookup +api\.twitter\.com\. +300 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z +192\.0\.2\.10 /#), "\(cache)")
        #expect(try c.run(["fqdn", "cache", "list", "--matchpattern", "*.twitter.com", "-o", "json"]).stdout.contains(#""fqdn" : "api.twitter.com.""#))
        #expect(try c.run(["fqdn", "cache", "list", "-o", "yaml"]).status != 0, "a bad -o is refused")

        // A restart of the agent keeps the learnt identity in force: the connection needs no
        // DNS (the proxy is away while the agent restarts) and is allowed throughout.
        let agents = c.leftovers().filter { $0.contains(" agent ") }
        try #require(agents.count == 1)
        kill(Int32(agents[0].dropFirst("process ".count).prefix { $0 != ":" })!, SIGKILL)
        for _ in 0..<3 {
            r = try c.run(["exec", "-n", "tenant-a", "frontend-service", "--", "curl", "-sI", "--max-time", "2", "--resolve", "api.twitter.com:80:192.0.2.10", "http://api.twitter.com"])
            #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 301"), "FQDN-allowed across the restart: \(r)")
        }
        #expect(try c.run(["status", "--wait", "--wait-duration", "30"]).status == 0)
        #expect(try c.run(["fqdn", "cache", "list", "--matchname", "api.twitter.com"]).stdout.contains("api.twitter.com."), "the cache survived")
        r = try c.curlUntilUp(from: "tenant-a", "api.twitter.com")
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 301"), "and DNS works again: \(r)")

        // DNS rules decide: tenant-c's frontend may only ask for cluster names; others are REFUSED.
        let narrow = """
            {apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: dns-narrow, namespace: tenant-c},
             spec: {endpointSelector: {matchLabels: {app: frontend-service}}, egress: [{toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}}],
             toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*.*.svc.cluster.local"}]}}]}]}}
            """
        #expect(try c.run(["apply", "-f", "-"], stdin: narrow).status == 0)
        let refused = try c.run(["exec", "-n", "tenant-c", "frontend-service", "--", "dig", "+tries=1", "+time=2", "api.twitter.com"]).stdout
        #expect(refused.contains("status: REFUSED"), "\(refused)")
        let allowedName = try c.run(["exec", "-n", "tenant-c", "frontend-service", "--", "dig", "+short", "+tries=1", "+time=2", "backend-service.tenant-c.svc.cluster.local"]).stdout
        #expect(allowedName.trimmingCharacters(in: .whitespacesAndNewlines).wholeMatch(of: #/10\.96\.\d+\.\d+/#) != nil, "\(allowedName)")
        let overTCP = try c.run(["exec", "-n", "tenant-c", "frontend-service", "--", "dig", "+tcp", "+tries=1", "+time=2", "api.twitter.com"]).stdout
        #expect(overTCP.contains("status: REFUSED"), "TCP queries are checked too: \(overTCP)")
        let allowedTCP = try c.run(["exec", "-n", "tenant-c", "frontend-service", "--", "dig", "+tcp", "+short", "+tries=1", "+time=2", "backend-service.tenant-c.svc.cluster.local"]).stdout
        #expect(allowedTCP.contains("10.96."), "and forwarded over TCP to kube-dns: \(allowedTCP)")
        let refusedFlow = try c.run(["observe", "--from-pod", "tenant-c/frontend-service", "--type", "l7", "--verdict", "DROPPED", "--last", "5"]).stdout
        #expect(refusedFlow.contains("dns-request proxy DROPPED (DNS Query api.twitter.com. A)"), "\(refusedFlow)")
        // Malformed queries are dropped (and shown), never answered; the proxy carries on.
        let garbage = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)\ns.sendto(bytes([0x12, 0x34, 1, 0, 0, 9]), ('10.96.0.10', 53))\ntry:\n    s.recv(512); print('answered')\nexcept OSError:\n    print('no answer')\n"
        #expect(try c.run(["exec", "-n", "tenant-c", "frontend-service", "--", "python3", "-c", garbage]).stdout == "no answer\n")
        #expect(try c.run(["observe", "--from-pod", "tenant-c/frontend-service", "--type", "l7", "--last", "1"]).stdout.hasSuffix("dns-request proxy DROPPED (DNS Query  )\n"))
        #expect(try c.run(["exec", "-n", "tenant-c", "frontend-service", "--", "dig", "+short", "+tries=1", "+time=2", "backend-service.tenant-c.svc.cluster.local"]).stdout.contains("10.96."))
        #expect(try c.run(["delete", "cnp", "-n", "tenant-c", "dns-narrow"]).status == 0)
        #expect(try c.run(["delete", "-f", "\(PorinCLI.lab)/tenant-a-extra-policy.yaml"]).status == 0)
    }

    func checkGRPCClient(_ c: PorinCLI, port: Int) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("Tests/DatapathTests/hubble_grpc_client.py").path
        let run = try PorinCLI.process("/usr/bin/python3", [script, "127.0.0.1:\(port)", root.appendingPathComponent("proto").path, "--",
                                       PorinCLI.binary, "exec", "-n", "tenant-a", "frontend-service", "--", "curl", "-s", "-o", "/dev/null",
                                       "--max-time", "3", "backend-service"], environment: ["PORIN_CLUSTER": c.cluster])
        try #require(run.status == 0, "the Python gRPC client failed: \(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["health"] as? String == "SERVING")
        let status = try #require(report["status"] as? [String: Any])
        #expect(status["connected"] as? Int == 1 && status["unavailable"] as? Int == 0 && status["max_flows"] as? Int == 4095, "\(status)")
        #expect((status["version"] as? String)?.hasSuffix("+porin") == true && (status["num_flows"] as? Int ?? 0) > 0, "\(status)")
        let nodes = try #require(report["nodes"] as? [[String: Any]])
        #expect(nodes.count == 1 && nodes.first?["name"] as? String == "\(c.cluster)-control-plane" && nodes.first?["state"] as? String == "NODE_CONNECTED", "\(nodes)")
        let namespaces = try #require(report["namespaces"] as? [String])
        #expect(Set(["kube-system", "tenant-a", "tenant-b"]).isSubset(of: Set(namespaces)), "\(namespaces)")
        let dropped = try #require(report["dropped"] as? [[String: Any]])
        #expect(!dropped.isEmpty && dropped.allSatisfy { $0["verdict"] as? String == "DROPPED" && $0["source_ns"] as? String == "tenant-a" && $0["source_pod"] as? String == "frontend-service" }, "\(dropped)")
        #expect(dropped.contains { $0["destination_ns"] as? String == "tenant-b" && $0["destination_port"] as? Int == 80 }, "\(dropped)")
        #expect(report["node_statuses"] as? [String] == ["NODE_CONNECTED"])
        let verdicts = try #require(report["not_forwarded_verdicts"] as? [String])
        #expect(!verdicts.contains("FORWARDED") && verdicts.contains("DROPPED"), "\(verdicts)")
        #expect(report["first3_sorted"] as? Bool == true && report["first3_count"] as? Int == 3)
        #expect(report["first_follow"] as? String == "INVALID_ARGUMENT: first cannot be specified with follow")
        let follow = try #require(report["follow"] as? [String: Any])
        let flow = try #require(follow["flow"] as? [String: Any], "no flow arrived on the followed stream: \(follow)")
        #expect(flow["source_pod"] as? String == "frontend-service" && flow["destination_port"] as? Int == 80, "\(flow)")
        let latency = try #require(follow["latency_ms"] as? Double)
        #expect(latency < 100, "a followed GetFlows sees a new flow within 100 ms: \(latency) ms")
    }

    @Test("kill -9 of the agent changes no verdict; containers restart by restartPolicy; two clusters side by side",
          .enabled(if: FileManager.default.isExecutableFile(atPath: PorinCLI.binary)))
    func restartAndSupervision() throws {
        try #require(getuid() == 0, "cluster tests need root (network namespaces and BPF)")
        let c = PorinCLI(cluster: Self.name("r")), other = PorinCLI(cluster: Self.name("s"))
        defer {
            _ = try? c.run(["down", "--name", c.cluster])
            _ = try? other.run(["down", "--name", other.cluster])
        }
        try #require(try c.run(["up", "--name", c.cluster, "--isolated", "--metrics-port", "0", "--hubble-port", "0", "--ui-port", "0"]).status == 0)
        try #require(try other.run(["up", "--name", other.cluster, "--isolated", "--metrics-port", "0", "--hubble-port", "0", "--ui-port", "0"]).status == 0, "a second cluster beside the first")
        for ns in ["tenant-a", "tenant-b"] {
            try c.run(["create", "ns", ns])
            try c.run(["apply", "-n", ns, "-f", "\(PorinCLI.lab)/tenant-services.yaml"])
        }
        try other.run(["create", "ns", "tenant-a"])
        try other.run(["apply", "-n", "tenant-a", "-f", "\(PorinCLI.lab)/tenant-services.yaml"])
        #expect(try c.curlUntilUp(from: "tenant-a", "backend-service.tenant-a").status == 0)
        #expect(try other.curlUntilUp(from: "tenant-a", "backend-service.tenant-a").status == 0, "the other cluster works on its own")
        #expect(try c.run(["apply", "-f", "\(PorinCLI.lab)/tenant-a-default-policy.yaml"]).status == 0)
        let before = try c.run(["get", "pods", "-A", "-o", "wide"]).stdout

        // Losses between the kernel and the agent: with the agent stopped, 60,000 dropped UDP
        // packets (two events each) overflow the BPF ring buffer; the datapath counts what it
        // could not report, and the agent reports it as Hubble's PERF_EVENT_RING_BUFFER loss.
        let stopped = c.leftovers().filter { $0.contains(" agent ") }
        try #require(stopped.count == 1)
        let stoppedPID = Int32(stopped[0].dropFirst("process ".count).prefix { $0 != ":" })!
        let target = try #require(try c.run(["get", "pods", "-n", "tenant-b", "-o", "wide"]).stdout.split(separator: "\n")
            .first { $0.hasPrefix("backend-service ") }?.split(separator: " ").filter { !$0.isEmpty }[5])
        kill(stoppedPID, SIGSTOP)
        let flood = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(60000): s.sendto(b'x', ('\(target)', 9))\n"
        let flooded = try c.run(["exec", "-n", "tenant-a", "frontend-service", "--", "python3", "-c", flood])
        kill(stoppedPID, SIGCONT)
        #expect(flooded.status == 0, "\(flooded)")
        var lost = ""
        for _ in 0..<20 {
            lost = try c.run(["observe", "--last", "1"]).stdout
            if lost.contains("EVENTS LOST") { break }
            usleep(100_000)
        }
        #expect(lost.contains(#/EVENTS LOST: PERF_EVENT_RING_BUFFER CPU\(\d+\) \d{4,}/#), "\(lost)")

        // kill -9 while traffic flows: the pinned maps keep enforcing, the restarted agent adopts.
        let agents = c.leftovers().filter { $0.contains(" agent ") }
        try #require(agents.count == 1, "one agent: \(agents)")
        let pid = Int32(agents[0].dropFirst("process ".count).prefix { $0 != ":" })!
        // By Service address: names resolve through the DNS proxy, which lives in the agent and
        // is away until the new agent listens (as in Cilium); the datapath's verdicts are not.
        func serviceIP(_ ns: String) throws -> String {
            try #require(try c.run(["get", "svc", "-n", ns, "backend-service"]).stdout.split(separator: "\n").last?
                .split(separator: " ").filter { !$0.isEmpty }[2]).description
        }
        let (ipA, ipB) = (try serviceIP("tenant-a"), try serviceIP("tenant-b"))
        kill(pid, SIGKILL)
        var allowed: [Int32] = [], denied: [Int32] = []
        for _ in 0..<8 {
            allowed.append(try c.curl(from: "tenant-a", ipA, timeout: 2).status)
            denied.append(try c.curl(from: "tenant-a", ipB, timeout: 1).status)
        }
        #expect(allowed.allSatisfy { $0 == 0 }, "allowed stays allowed across the restart: \(allowed)")
        #expect(denied.allSatisfy { $0 == 28 }, "dropped stays dropped across the restart: \(denied)")
        let status = try c.run(["status", "--wait", "--wait-duration", "30"])
        #expect(status.stdout.contains("Agent restarts:        1"), "\(status.stdout)")
        let after = try c.run(["get", "pods", "-A", "-o", "wide"]).stdout
        func strip(_ t: String) -> [String] { t.split(separator: "\n").map { $0.split(separator: " ").enumerated().filter { $0.offset != 5 }.map(\.element).joined(separator: " ") } }
        #expect(strip(after) == strip(before), "the same pods, addresses and restart counts after the agent's restart:\n\(before)\n\(after)")
        #expect(try c.curl(from: "tenant-a", "backend-service.tenant-a").status == 0, "names resolve again through the new agent's proxy")

        // A change made while the agent is dead is stored and applied by the restarted agent.
        #expect(try c.curlUntilUp(from: "tenant-b", "backend-service.tenant-b").status == 0, "no policy in tenant-b yet")
        let again = c.leftovers().filter { $0.contains(" agent ") }
        try #require(again.count == 1)
        kill(Int32(again[0].dropFirst("process ".count).prefix { $0 != ":" })!, SIGKILL)
        let lockdown = "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: lockdown, namespace: tenant-b}, spec: {endpointSelector: {}, ingress: [{}]}}"
        let during = try c.run(["apply", "-f", "-"], stdin: lockdown)
        #expect(during.status == 0 && during.stdout == "ciliumnetworkpolicy.cilium.io/lockdown created\n", "\(during)")
        #expect(try c.run(["status", "--wait", "--wait-duration", "30"]).status == 0)
        #expect(try c.curl(from: "tenant-b", "backend-service.tenant-b").status == 28, "tenant-b's lockdown holds after the restart")
        #expect(try c.run(["delete", "cnp", "lockdown", "-n", "tenant-b"]).status == 0)
        #expect(try c.curl(from: "tenant-b", "backend-service.tenant-b").status == 0, "and goes with its deletion")

        // The restarted agent carries on: new objects are applied and enforced.
        let crashers = """
            apiVersion: v1
            kind: Pod
            metadata: {name: crasher}
            spec: {restartPolicy: OnFailure, containers: [{name: c, image: busybox, command: [sh, -c, "exit 3"]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: once}
            spec: {restartPolicy: Never, containers: [{name: c, image: busybox, command: [sh, -c, "exit 0"]}]}
            """
        #expect(try c.run(["apply", "-n", "tenant-b", "-f", "-"], stdin: crashers).status == 0)
        var table = ""
        for _ in 0..<40 {
            table = try c.run(["get", "pods", "-n", "tenant-b"]).stdout
            if let line = table.split(separator: "\n").first(where: { $0.hasPrefix("crasher ") }),
               let restarts = Int(line.split(separator: " ").filter { !$0.isEmpty }[3]), restarts >= 2 { break }
            usleep(250_000)
        }
        let crasher = table.split(separator: "\n").first { $0.hasPrefix("crasher ") }.map { $0.split(separator: " ").filter { !$0.isEmpty } }
        #expect((crasher.flatMap { Int($0[3]) } ?? 0) >= 2, "OnFailure restarts a failing container:\n\(table)")
        let once = table.split(separator: "\n").first { $0.hasPrefix("once ") }.map { $0.split(separator: " ").filter { !$0.isEmpty } }
        #expect(once?[2] == "Completed" && once?[3] == "0", "Never: a container that exits 0 is Completed:\n\(table)")

        #expect(try c.run(["down"]).status == 0)
        #expect(c.leftovers() == [], "the first cluster is gone")
        #expect(try other.curl(from: "tenant-a", "backend-service.tenant-a").status == 0, "the second cluster is untouched by the first's down")
        #expect(try other.run(["down"]).status == 0)
        #expect(other.leftovers() == [])
    }
}
