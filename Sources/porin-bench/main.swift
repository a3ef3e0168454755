// Porin's benchmarks (issue figures). Prints one line per figure; run with `make bench`
// (release build). Never part of the test suite: timings are measured here, not asserted.
import Foundation
import PolicyAPI
import PolicyCheck
import PolicyEngine

let clock = ContinuousClock()

func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

func decodePolicies(_ yaml: String) -> [NetworkPolicyObject] {
    do {
        return try APIObjectDecoder.decode(text: yaml, file: "bench").compactMap { if case let .policy(p) = $0 { return p } else { return nil } }
    } catch {
        fatalError("benchmark input is invalid: \(error)")
    }
}

// MARK: 1. Resolve one endpoint selected by 1,000 L3 rules

func benchResolve() {
    var yaml = ""
    for i in 0..<1000 {
        yaml += """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: l3-\(i), namespace: bench}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client-\(i)}}]
        ---

        """
    }
    let policies = decodePolicies(yaml)
    var samples: [Double] = []
    let engine = PolicyEngine()
    for i in 0..<1000 { engine.upsertEndpoint(EndpointInfo(namespace: "bench", name: "client-\(i)", labels: ["app": "client-\(i)"])) }
    for p in policies { engine.upsertPolicy(p) }
    // Each round adds a server with labels never seen before: a new identity whose policy is
    // resolved from scratch against the 1,000 rules.
    let rounds = Int(ProcessInfo.processInfo.environment["PORIN_BENCH_ROUNDS"] ?? "") ?? 21
    for round in 0..<rounds {
        let ep = EndpointInfo(namespace: "bench", name: "server-\(round)", labels: ["app": "server", "round": String(round)])
        let t = clock.measure { engine.upsertEndpoint(ep) }
        let entries = engine.subjectPolicy(ofEndpoint: ep.fullName)!.ingress.table.count
        precondition(entries >= 1000, "expected ≥1000 ingress entries, got \(entries)")
        samples.append(ms(t))
    }
    print(String(format: "resolve: one endpoint selected by 1,000 L3 rules: %.3f ms (median of %d; target ≤ 1 ms)", median(samples), rounds))
}

// MARK: 2. Lookups on a computed map

func benchLookup() {
    var yaml = ""
    for i in 0..<200 {
        yaml += """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: mix-\(i), namespace: bench}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client-\(i)}}]
            toPorts: [{ports: [{port: "\(8000 + i)", protocol: TCP}]}]
          - fromEndpoints: [{matchLabels: {app: client-\(i + 200)}}]
          - toPorts: [{ports: [{port: "\(9000 + i)", protocol: UDP}]}]
        ---

        """
    }
    let engine = PolicyEngine()
    for i in 0..<400 { engine.upsertEndpoint(EndpointInfo(namespace: "bench", name: "client-\(i)", labels: ["app": "client-\(i)"])) }
    for p in decodePolicies(yaml) { engine.upsertPolicy(p) }
    engine.upsertEndpoint(EndpointInfo(namespace: "bench", name: "server", labels: ["app": "server"]))
    let dp = engine.subjectPolicy(ofEndpoint: "bench/server")!.ingress
    let ids = (0..<400).map { engine.identity(ofEndpoint: "bench/client-\($0)")! } + [ReservedIdentity.world, ReservedIdentity.host]
    // Pre-generate packets so that only the lookup is timed.
    var rng = SystemRandomNumberGenerator()
    let n = 4_000_000
    var packets: [(NumericIdentity, UInt8, UInt16)] = []
    packets.reserveCapacity(4096)
    for _ in 0..<4096 {
        let proto: UInt8 = Bool.random(using: &rng) ? 6 : 17
        let port = UInt16.random(in: 7990...9210, using: &rng)
        packets.append((ids.randomElement(using: &rng)!, proto, port))
    }
    var allowed = 0
    let t = clock.measure {
        for i in 0..<n {
            let p = packets[i & 4095]
            if dp.table.decide(identity: p.0, proto: p.1, port: p.2).allowed { allowed &+= 1 }
        }
    }
    let rate = Double(n) / (ms(t) / 1000)
    print(String(format: "lookup: %.1f million lookups/s on one core (%d map entries, %d allowed; target ≥ 20 M/s)", rate / 1e6, dp.table.count, allowed))
}

// MARK: 3. Incremental: add one pod to 10,000 pods under 1,000 policies

func benchIncremental() {
    var yaml = ""
    for ns in 0..<100 {
        for j in 0..<10 {
            yaml += """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p-\(j), namespace: ns-\(ns)}
            spec:
              endpointSelector: {matchLabels: {tier: t\(j)}}
              ingress:
              - fromEndpoints: [{matchLabels: {tier: t\((j + 1) % 10)}}]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
              egress:
              - toEndpoints: [{matchLabels: {tier: t\((j + 9) % 10)}}]
              - toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
                toPorts: [{ports: [{port: "53", protocol: UDP}], rules: {dns: [{matchPattern: "*"}]}}]
            ---

            """
        }
    }
    let policies = decodePolicies(yaml)
    let engine = PolicyEngine()
    let setup = clock.measure {
        for p in policies { engine.upsertPolicy(p) }
        for ns in 0..<100 {
            for k in 0..<100 {
                engine.upsertEndpoint(EndpointInfo(namespace: "ns-\(ns)", name: "pod-\(k)", labels: ["tier": "t\(k % 10)", "pod": "p\(k)"]))
            }
        }
    }
    var samples: [Double] = []
    for r in 0..<21 {
        let ep = EndpointInfo(namespace: "ns-\(r % 100)", name: "new-\(r)", labels: ["tier": "t\(r % 10)", "pod": "new\(r)"])
        let t = clock.measure { engine.upsertEndpoint(ep) }
        samples.append(ms(t))
    }
    let s = engine.stats
    print(String(format: "incremental: add one pod (new identity) to 10,000 pods under 1,000 policies: %.3f ms median, %.3f ms max of 21 (target ≤ 2 ms); setup %.0f ms, %d identities, %d selectors",
                 median(samples), samples.max()!, ms(setup), s.identities, s.selectors))
}

// MARK: 4. A policy test file of 200 namespaces × 5 pods, 200 CNPs and 2,000 queries (whole process)

func benchTestFile() {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porin-bench-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var t = "endpoints:\n"
    for ns in 0..<200 { for k in 0..<5 { t += "- {name: pod-\(k), namespace: ns-\(ns), labels: {app: app-\(k)}}\n" } }
    t += "policies:\n"
    for ns in 0..<200 {
        t += """
        - apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: default, namespace: ns-\(ns)}
          spec:
            endpointSelector: {}
            ingress:
            - fromEndpoints: [{}]
            - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: ns-\((ns + 1) % 200), app: app-0}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            egress:
            - toEndpoints: [{}]
            - toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: ns-\((ns + 199) % 200)}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]

        """
    }
    t += "queries:\n"
    for q in 0..<2000 {
        let ns = q % 200
        let other = q % 3 == 0 ? ns : (q % 3 == 1 ? (ns + 199) % 200 : (ns + 7) % 200)
        t += "- {from: ns-\(ns)/pod-\(q % 5), to: ns-\(other)/pod-\((q / 5) % 5), port: \(q % 2 == 0 ? 80 : 443)}\n"
    }
    let file = dir.appendingPathComponent("bench.test.yaml")
    try! t.write(to: file, atomically: true, encoding: .utf8)
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("porin")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
        print("test file: skipped, \(exe.path) not built (make bench builds it)")
        return
    }
    var samples: [Double] = []
    for _ in 0..<5 {
        let p = Process()
        p.executableURL = exe
        p.arguments = ["policy", "test", "-o", "json", file.path]
        p.standardOutput = FileHandle.nullDevice
        let d = clock.measure {
            try! p.run()
            p.waitUntilExit()
        }
        precondition(p.terminationStatus == 0, "porin policy test failed with \(p.terminationStatus)")
        samples.append(ms(d) / 1000)
    }
    print(String(format: "test file: 200 namespaces x 5 pods, 200 CNPs, 2,000 queries, whole process: %.3f s median of 5 (target ≤ 0.08 s)", median(samples)))
}

let args = Array(CommandLine.arguments.dropFirst())
let which = args.first
switch which {
case "netperf-server": NetPerf.server(host: args[1], port: UInt16(args[2])!)
case "netperf-rr": print(String(format: "%.1f", NetPerf.rr(host: args[1], port: UInt16(args[2])!, seconds: Double(args[3])!))); exit(0)
case "netperf-crr": print(String(format: "%.1f", NetPerf.crr(host: args[1], port: UInt16(args[2])!, seconds: Double(args[3])!))); exit(0)
case "dns-latency":
    let l = DNSLoad.latency(server: args[1], n: Int(args[2])!)
    print(String(format: "%.1f %.1f", l.p50, l.p99)); exit(0)
case "dns-load": print(String(format: "%.0f", DNSLoad.load(server: args[1], seconds: Double(args[2])!, window: Int(args[3])!))); exit(0)
default: break
}
if which == nil || which == "resolve" { benchResolve() }
if which == nil || which == "lookup" { benchLookup() }
if which == nil || which == "incremental" { benchIncremental() }
if which == nil || which == "testfile" { benchTestFile() }
if which == nil || which == "datapath" { DatapathBench.run() }
if which == nil || which == "flows" { FlowBench.run() }
if which == nil || which == "observe" {
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("porin").path
    if FileManager.default.isExecutableFile(atPath: exe) { ObserveBench.run(porin: exe) } else { print("observe: skipped, \(exe) not built") }
}
if which == nil || which == "webui" { WebUIBench.run(repo: FileManager.default.currentDirectoryPath) }
if which == nil || which == "dnsproxy" {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let exe = dir.appendingPathComponent("porin").path
    if !FileManager.default.isExecutableFile(atPath: exe) { print("dnsproxy: skipped, \(exe) not built") } else {
        DNSProxyBench(porin: exe, bench: URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path).main()
    }
}
if which == nil || which == "cluster" || which == "agent-load" {
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("porin").path
    if getuid() != 0 { print("cluster: skipped, needs root") } else if !FileManager.default.isExecutableFile(atPath: exe) {
        print("cluster: skipped, \(exe) not built (make bench builds it)")
    } else {
        // `agent-load` alone: only the agent under 100,000 events/s (cluster setup included).
        ClusterBench(porin: exe).run(onlyAgentLoad: which == "agent-load")
    }
}
