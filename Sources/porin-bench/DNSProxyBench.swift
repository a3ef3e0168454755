// `porin-bench dnsproxy` (issue #5): the DNS proxy's cost, in a real cluster through the `porin`
// binary. Two pods ask kube-dns the same name: one without policy (its queries go straight to
// kube-dns) and one whose policy sends DNS through the proxy (`rules: dns: matchPattern: "*"`).
// Figures, measured in the same run:
//   * latency of one query at a time, p50 and p99, direct and through the proxy: the difference
//     is what the proxy adds;
//   * queries per second through the proxy with many queries in flight, and queries per second
//     per CPU-second of the agent (the proxy's threads are the agent's busy ones under this
//     load), i.e. the rate one core sustains.
// The load generator runs inside the pods (`porin-bench dns-load`, `dns-latency`).
import ClusterAPI
import Foundation
import Glibc

enum DNSLoad {
    static let name = "backend-service.bench.svc.cluster.local"

    static func query(id: UInt16) -> [UInt8] {
        var q: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            q.append(UInt8(label.utf8.count))
            q.append(contentsOf: label.utf8)
        }
        q += [0, 0, 1, 0, 1]
        return q
    }

    static func socketTo(_ server: String) -> Int32 {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(53).bigEndian
        inet_pton(AF_INET, server, &a.sin_addr)
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var big: Int32 = 4 << 20
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, 4)
        return s
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// One query at a time, `n` of them: per-query round trips in microseconds (p50, p99).
    static func latency(server: String, n: Int) -> (p50: Double, p99: Double) {
        let s = socketTo(server)
        defer { close(s) }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        var samples: [Double] = []
        for i in 0..<(n + 200) {
            let q = query(id: UInt16(truncatingIfNeeded: i))
            let t0 = now()
            guard send(s, q, q.count, 0) == q.count else { continue }
            var got = false
            while !got {
                let r = recv(s, &buf, buf.count, 0)
                if r < 0 { break }
                got = r >= 2 && buf[0] == q[0] && buf[1] == q[1]
            }
            // The first 200 warm up the caches (and let the proxy learn the name once).
            if got && i >= 200 { samples.append((now() - t0) * 1e6) }
        }
        samples.sort()
        guard !samples.isEmpty else { return (0, 0) }
        return (samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
    }

    /// `window` queries in flight for `seconds`: answered queries per second.
    static func load(server: String, seconds: Double, window: Int) -> Double {
        let s = socketTo(server)
        defer { close(s) }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        var id: UInt16 = 0
        var answered = 0
        func sendOne() {
            id &+= 1
            let q = query(id: id)
            _ = send(s, q, q.count, 0)
        }
        for _ in 0..<window { sendOne() }
        let start = now()
        while now() - start < seconds {
            let r = recv(s, &buf, buf.count, 0)
            if r > 0 {
                answered += 1
                sendOne()
            } else {
                for _ in 0..<window { sendOne() }  // lost ones: refill the window
            }
        }
        return Double(answered) / (now() - start)
    }
}

struct DNSProxyBench {
    let porin: String
    let bench: String
    let name = "pdns\(getpid() % 10000)"

    func porinCmd(_ args: [String], stdin: String? = nil) -> (status: Int32, out: String) {
        ClusterBench(porin: porin, name: name).porinCmd(args, stdin: stdin)
    }

    func run(_ argv: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try! p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The agent's CPU seconds so far (user + system, from /proc).
    func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let f = stat[stat.index(after: close)...].split(separator: " ")
        // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
        return (Double(f[11])! + Double(f[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func agentPID() -> Int32? {
        let out = run(["/usr/bin/pgrep", "-f", "porin agent --cluster \(name) "])
        return out.split(separator: "\n").first.flatMap { Int32($0) }
    }

    func start() {
        print("dnsproxy: cluster \(name) (isolated), pods bench/direct and bench/proxied, kube-dns")
        _ = porinCmd(["down", "--name", name])
        let up = porinCmd(["up", "--name", name, "--isolated", "--metrics-port", "0", "--hubble-port", "0"])
        precondition(up.status == 0, "porin up: \(up.out)")
        let objects = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: bench}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: direct, namespace: bench, labels: {app: direct}}
        spec: {containers: [{name: c, image: busybox}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: proxied, namespace: bench, labels: {app: proxied}}
        spec: {containers: [{name: c, image: busybox}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: backend-service, namespace: bench, labels: {app: backend}}
        spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: backend-service, namespace: bench}
        spec: {selector: {app: backend}, ports: [{port: 80}]}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: dns-via-proxy, namespace: bench}
        spec:
          endpointSelector: {matchLabels: {app: proxied}}
          egress:
          - toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
            toPorts:
            - ports: [{port: "53", protocol: UDP}]
              rules: {dns: [{matchPattern: "*"}]}
        """
        let applied = porinCmd(["apply", "-f", "-"], stdin: objects)
        precondition(applied.status == 0, "apply: \(applied.out)")
        precondition(porinCmd(["status", "--wait"]).status == 0)
    }

    func inPod(_ pod: String, _ args: [String]) -> String {
        run(["/usr/sbin/ip", "netns", "exec", "\(ClusterPaths(name).netnsPrefix)bench.\(pod)", bench] + args)
    }

    func main() {
        guard getuid() == 0 else { print("dnsproxy: skipped, needs root"); return }
        start()
        defer { _ = porinCmd(["down", "--name", name]) }
        // kube-dns's backend pods, not the Service address: both pods then ask the same server
        // the same way, and the only difference is the proxy.
        let dns = "10.96.0.10"
        var p50 = (direct: [Double](), proxied: [Double]()), p99 = (direct: [Double](), proxied: [Double]())
        for _ in 0..<3 {
            for pod in ["direct", "proxied"] {
                let parts = inPod(pod, ["dns-latency", dns, "5000"]).split(separator: " ").compactMap { Double($0) }
                guard parts.count == 2 else { print("dnsproxy: \(pod) latency run failed"); return }
                if pod == "direct" { p50.direct.append(parts[0]); p99.direct.append(parts[1]) } else { p50.proxied.append(parts[0]); p99.proxied.append(parts[1]) }
            }
        }
        let m = (d50: median(p50.direct), x50: median(p50.proxied), d99: median(p99.direct), x99: median(p99.proxied))
        print(String(format: "dnsproxy latency, one query at a time (median of 3 runs of 5,000): direct p50 %.0f µs p99 %.0f µs; through the proxy p50 %.0f µs p99 %.0f µs; added p50 %.0f µs p99 %.0f µs (target ≤ 100 µs at p50)",
                     m.d50, m.d99, m.x50, m.x99, m.x50 - m.d50, m.x99 - m.d99))
        guard let agent = agentPID() else { print("dnsproxy: no agent process found"); return }
        for _ in 0..<3 {
            let cpu0 = cpuSeconds(agent)
            let qps = Double(inPod("proxied", ["dns-load", dns, "5", "128"])) ?? 0
            let cpu = cpuSeconds(agent) - cpu0
            let direct = Double(inPod("direct", ["dns-load", dns, "5", "128"])) ?? 0
            print(String(format: "dnsproxy load, 128 queries in flight for 5 s: %.0f queries/s through the proxy (agent CPU %.2f s: %.0f queries per agent CPU-second, target ≥ 50,000); %.0f queries/s direct",
                         qps, cpu, cpu > 0 ? qps * 5 / cpu : 0, direct))
        }
    }
}
