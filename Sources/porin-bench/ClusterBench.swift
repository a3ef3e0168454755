// `porin-bench cluster`: a real cluster driven through the `porin` binary beside this one.
// How long `porin apply` takes for 1, 100 and 1,000 policies (the command as a user runs it,
// process start to exit), and how soon a policy holds: a probe in a pod opens a new TCP
// connection every few milliseconds while a policy that drops it is applied.
import ClusterAPI
import Foundation

struct ClusterBench {
    let porin: String
    var name = "pbench"

    @discardableResult
    func porinCmd(_ args: [String], stdin: String? = nil) -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: porin)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["PORIN_CLUSTER"] = name
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        if let stdin {
            let i = Pipe()
            p.standardInput = i
            i.fileHandleForWriting.write(Data(stdin.utf8))
            try? i.fileHandleForWriting.close()
        }
        try! p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: d, as: UTF8.self))
    }

    /// Runs porin and waits with waitpid (Foundation's waitUntilExit polls a run loop and adds
    /// tens of milliseconds of its own, which would blur every figure here).
    @discardableResult
    func porinFast(_ args: [String]) -> Int32 {
        var status: Int32 = 0
        let pid = try! Spawn.start([porin] + args, log: nil, environment: ["PORIN_CLUSTER": name])
        waitpid(pid, &status, 0)
        return status
    }

    func policies(_ n: Int, tag: String) -> String {
        (0..<n).map { i in
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p-\(tag)-\(i), namespace: bench}
            spec:
              endpointSelector: {matchLabels: {app: backend-service}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: client-\(i)}}]
                toPorts: [{ports: [{port: "\(1000 + i % 60000)", protocol: TCP}]}]

            """
        }.joined(separator: "---\n")
    }

    func run(onlyAgentLoad: Bool = false) {
        porinCmd(["down", "--name", name])
        let up = porinCmd(["up", "--name", name, "--isolated", "--metrics-port", String(metricsPort), "--hubble-port", "0"])
        guard up.status == 0 else { print("cluster: porin up failed:\n\(up.out)"); return }
        defer { porinCmd(["down", "--name", name]) }
        porinCmd(["create", "ns", "bench"])
        let lab = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/lab/tenant-services.yaml").path
        porinCmd(["apply", "-n", "bench", "-f", lab])

        let dir = NSTemporaryDirectory() + "porin-bench-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        if onlyAgentLoad {
            writeDeny(dir: dir)
            flowLoss(dir: dir)
            return
        }
        for (n, rounds) in [(1, 7), (100, 7), (1000, 3)] {
            var samples: [Double] = []
            for r in 0..<rounds {
                let file = "\(dir)/p\(n)-\(r).yaml"
                try! policies(n, tag: "\(n)-\(r)").write(toFile: file, atomically: true, encoding: .utf8)
                var status: Int32 = 0
                let t = clock.measure { status = porinFast(["apply", "-f", file]) }
                precondition(status == 0, "apply of \(file) failed (\(status))")
                samples.append(ms(t))
                porinCmd(["delete", "-f", file])
            }
            print(String(format: "cluster: porin apply of %d policies (command start to exit, maps written): %.1f ms (median of %d%@)",
                         n, median(samples), rounds, n == 100 ? "; target ≤ 50 ms" : ""))
        }
        timeToEnforcement(dir: dir)
        flowLoss(dir: dir)
    }

    let metricsPort = 29965

    /// Flows the agent made and events it lost (hubble_flows_processed_total summed,
    /// hubble_lost_events_total of the kernel → agent path), from its metrics.
    func flowCounters() -> (flows: UInt64, lost: UInt64) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "--max-time", "5", "http://127.0.0.1:\(metricsPort)/metrics"]
        let out = Pipe()
        p.standardOutput = out
        try! p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        var flows: UInt64 = 0, lost: UInt64 = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let value = UInt64(line.split(separator: " ").last ?? "") ?? 0
            if line.hasPrefix("hubble_flows_processed_total") { flows += value }
            if line.hasPrefix("hubble_lost_events_total{source=\"PERF_EVENT_RING_BUFFER\"}") { lost += value }
        }
        return (flows, lost)
    }

    /// Zero loss at 100,000 events/s: a pod sends UDP packets its peer's policy drops (two
    /// events each: the policy verdict and the drop) at a paced rate, and the agent's counters
    /// say how many became flows and how many the kernel could not hand over.
    func flowLoss(dir: String) {
        guard case let .some(ip) = podIP("backend-service") else { print("cluster: no backend address"); return }
        let sender = """
        import socket, sys, time
        ip, rate, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        start = time.time(); sent = 0
        while True:
            elapsed = time.time() - start
            if elapsed >= duration: break
            target = int(elapsed * rate)
            while sent < target:
                s.sendto(b'x', (ip, 9)); sent += 1
        print(sent, time.time() - start)
        """
        try! sender.write(toFile: "\(dir)/sender.py", atomically: true, encoding: .utf8)
        porinFast(["apply", "-f", "\(dir)/deny.yaml"])
        defer { porinFast(["delete", "-f", "\(dir)/deny.yaml"]) }
        for packetsPerSecond in [50_000, 100_000] {
            let before = flowCounters()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", "porin-\(name)-bench.frontend-service", "python3", "\(dir)/sender.py", ip, String(packetsPerSecond), "3"]
            let out = Pipe()
            p.standardOutput = out
            try! p.run()
            let fields = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(whereSeparator: { $0 == " " || $0 == "\n" })
            p.waitUntilExit()
            usleep(500_000)  // the agent drains what is left
            let after = flowCounters()
            let sent = fields.first.flatMap { Double($0) } ?? 0
            let seconds = fields.dropFirst().first.flatMap { Double($0) } ?? 1
            let flows = after.flows - before.flows, lost = after.lost - before.lost
            print(String(format: "cluster: agent under load: %.0f events/s offered (%.0f dropped UDP packets/s x 2 events, %.1f s): %llu flows, %llu lost in the kernel -> agent path (target at 100,000 events/s: 0 lost)",
                         2 * sent / seconds, sent / seconds, seconds, flows, lost))
        }
    }

    /// A probe in the frontend pod connects to the backend pod every ~2 ms (a new connection
    /// each time) and logs each attempt's start time and outcome.
    func timeToEnforcement(dir: String) {
        guard case let .some(ip) = podIP("backend-service") else { print("cluster: no backend address"); return }
        let probe = """
        import socket, sys, time
        end = time.time() + float(sys.argv[2])
        while time.time() < end:
            t = time.time()
            s = socket.socket(); s.settimeout(0.05)
            try:
                s.connect((sys.argv[1], 80)); ok = 1
            except OSError:
                ok = 0
            s.close()
            print("%.6f %d" % (t, ok), flush=True)
            time.sleep(0.002)
        """
        try! probe.write(toFile: "\(dir)/probe.py", atomically: true, encoding: .utf8)
        writeDeny(dir: dir)
        var afterDrop: [Double] = [], afterAllow: [Double] = []
        var firstDropped = 0, firstAllowed = 0
        let rounds = 5
        for _ in 0..<rounds {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", "porin-\(name)-bench.frontend-service", "python3", "\(dir)/probe.py", ip, "1.6"]
            let out = Pipe()
            p.standardOutput = out
            try! p.run()
            usleep(400_000)
            let denyStarted = Date().timeIntervalSince1970
            porinFast(["apply", "-f", "\(dir)/deny.yaml"])
            let denyReturned = Date().timeIntervalSince1970
            usleep(400_000)
            let allowStarted = Date().timeIntervalSince1970
            porinFast(["delete", "-f", "\(dir)/deny.yaml"])
            let allowReturned = Date().timeIntervalSince1970
            let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            p.waitUntilExit()
            let attempts = lines.compactMap { l -> (Double, Bool)? in
                let f = l.split(separator: " ")
                guard f.count == 2, let t = Double(f[0]) else { return nil }
                return (t, f[1] == "1")
            }
            // The first attempt that starts after each apply returned: its outcome, and when the
            // verdict was first seen (the last attempt before it may straddle the change).
            if let first = attempts.first(where: { $0.0 > denyReturned }) {
                if !first.1 { firstDropped += 1 }
                if let change = attempts.first(where: { $0.0 > denyStarted && !$0.1 }) { afterDrop.append((change.0 - denyReturned) * 1000) }
            }
            if let first = attempts.first(where: { $0.0 > allowReturned }) {
                if first.1 { firstAllowed += 1 }
                if let change = attempts.first(where: { $0.0 > allowStarted && $0.1 }) { afterAllow.append((change.0 - allowReturned) * 1000) }
            }
        }
        print(String(format: "cluster: time to enforcement: first connection attempted after `apply` returned was dropped in %d/%d rounds; the first dropped attempt started %.1f ms after apply returned (median; negative: while apply ran)",
                     firstDropped, rounds, afterDrop.isEmpty ? .nan : median(afterDrop)))
        print(String(format: "cluster: time to enforcement: first connection attempted after `delete` returned was allowed in %d/%d rounds; the first allowed attempt started %.1f ms after delete returned (median; negative: while delete ran)",
                     firstAllowed, rounds, afterAllow.isEmpty ? .nan : median(afterAllow)))
    }

    /// `deny.yaml`: a policy under which nothing reaches the backend.
    func writeDeny(dir: String) {
        let deny = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: lockdown, namespace: bench}
        spec:
          endpointSelector: {matchLabels: {app: backend-service}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: nobody}}]
        """
        try! deny.write(toFile: "\(dir)/deny.yaml", atomically: true, encoding: .utf8)
    }

    func podIP(_ pod: String) -> String? {
        let out = porinCmd(["get", "pods", "-n", "bench", pod, "-o", "json"]).out
        guard let r = out.range(of: "\"podIP\": \"") else { return nil }
        return String(out[r.upperBound...].prefix { $0 != "\"" })
    }
}
