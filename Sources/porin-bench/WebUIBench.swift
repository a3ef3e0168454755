// `porin-bench webui`: the web UI's API with 10,000 recorded flows (issue #6's target: every
// answer under 50 ms). The flows are the recorded lab run (Tests/UIModelTests/fixtures, LAB §3 and
// §5: tenants, kube-dns, drops to tenant-b and to api.twitter.com) repeated with fresh uuids and
// times. Each call is timed in the API itself (routing, the engine, JSON encoding) and once more
// over HTTP on loopback through the real server (Hummingbird), as the browser sees it.
import Foundation
import Hubble
import UIModel
import WebUI

enum WebUIBench {
    static func run(repo: String) {
        let fixture = "\(repo)/Tests/UIModelTests/fixtures/lab-flows.jsonl"
        guard let text = try? String(contentsOfFile: fixture, encoding: .utf8), let backend = try? InMemoryBackend.lab(examples: "\(repo)/examples/lab") else {
            print("webui: skipped, run from the repository (needs \(fixture) and examples/lab)")
            return
        }
        let recorded: [Flow] = text.split(separator: "\n").compactMap {
            if case let .flow(f, _, _)? = try? FlowJSON.record(String($0)) { return f }
            return nil
        }
        var flows: [Flow] = []
        flows.reserveCapacity(10_000)
        var i = 0
        while flows.count < 10_000 {
            var f = recorded[i % recorded.count]
            f.uuid = "bench-\(flows.count)"
            f.time = FlowTime(seconds: 1_800_000_000 + Int64(flows.count / 100), nanos: Int32(flows.count % 100) * 10_000_000)
            flows.append(f)
            i += 1
        }
        let store = FlowStore()
        let clock = ContinuousClock()
        let appendTime = clock.measure { store.append(flows) }
        let api = WebAPI(backend: backend, store: store)
        print(String(format: "webui: %d flows stored in %.1f ms (the recorded lab run, %d flows, repeated)", store.count, ms(appendTime), recorded.count))

        var extra = ""
        if let s = try? String(contentsOfFile: "\(repo)/examples/lab/tenant-a-extra-policy.yaml", encoding: .utf8) { extra = s }
        let whatIf = String(decoding: try! JSONEncoder().encode(WhatIfRequest(namespace: "tenant-a", yaml: extra, replaces: nil)), as: UTF8.self)
        var op = EditorOp(op: "addPeer")
        op.direction = "egress"
        op.peer = PeerSpec(type: "fqdn", matchName: "www.google.com")
        let editor = String(decoding: try! JSONEncoder().encode(EditorRequest(yaml: extra, op: op)), as: UTF8.self)
        let calls: [(name: String, method: String, path: String, query: [(String, String)], body: String)] = [
            ("map tenant-a", "GET", "/api/map", [("namespace", "tenant-a")], ""),
            ("map all namespaces", "GET", "/api/map", [("namespace", "all")], ""),
            ("flows grouped, tenant-a DROPPED", "GET", "/api/flows", [("group", "1"), ("namespace", "tenant-a"), ("verdict", "DROPPED")], ""),
            ("flows grouped, tenant-a", "GET", "/api/flows", [("group", "1"), ("namespace", "tenant-a")], ""),
            ("flows raw, last 1000", "GET", "/api/flows", [("group", "0"), ("last", "1000")], ""),
            ("what-if, the extra draft", "POST", "/api/whatif", [], whatIf),
            ("editor op (add toFQDNs)", "POST", "/api/editor", [], editor),
        ]
        var worst = 0.0
        print("webui: in-process (WebAPI.route, JSON included), median and p99 of 200 calls:")
        for c in calls {
            let req = WebRequest(method: c.method, path: c.path, query: c.query.map { (key: $0.0, value: $0.1) }, body: Array(c.body.utf8))
            var samples: [Double] = []
            var bytes = 0
            for _ in 0..<200 {
                var r: WebResponse?
                samples.append(ms(clock.measure { r = api.route(req) }))
                precondition(r?.status == 200, "\(c.name): \(r?.status ?? 0) \(String(decoding: r?.body ?? [], as: UTF8.self).prefix(300))")
                bytes = r!.body.count
            }
            samples.sort()
            worst = max(worst, samples[samples.count * 99 / 100])
            print("  " + pad(c.name) + String(format: " %7.2f ms  p99 %7.2f ms  (%d bytes)", samples[samples.count / 2], samples[samples.count * 99 / 100], bytes))
        }
        // Over HTTP, through the real server.
        guard let server = try? WebServer.start(port: 0, handler: api) else {
            print("webui: could not start the server on loopback")
            return
        }
        defer { server.stop() }
        print("webui: over HTTP on 127.0.0.1 (Hummingbird, curl's keep-alive connection), median and p99 of 100 calls:")
        for c in calls {
            var url = "http://127.0.0.1:\(server.port)\(c.path)"
            if !c.query.isEmpty { url += "?" + c.query.map { "\($0.0)=\($0.1)" }.joined(separator: "&") }
            let samples = http(url: url, method: c.method, body: c.body, n: 100).sorted()
            guard !samples.isEmpty else {
                print("  \(c.name): curl failed")
                continue
            }
            worst = max(worst, samples[samples.count * 99 / 100])
            print("  " + pad(c.name) + String(format: " %7.2f ms  p99 %7.2f ms", samples[samples.count / 2], samples[samples.count * 99 / 100]))
        }
        print(String(format: "webui: slowest p99 %.2f ms; target < 50 ms for 10,000 flows: %@", worst, worst < 50 ? "met" : "not met"))
    }

    /// Times `n` requests on one keep-alive connection with curl's per-transfer timing.
    static func http(url: String, method: String, body: String, n: Int) -> [Double] {
        var args = ["-s", "-o", "/dev/null", "-w", "%{time_total}\\n", "-H", "Content-Type: application/json"]
        if method == "POST" { args += ["--data-binary", body] }
        var all: [String] = []
        for _ in 0..<n { all += args + [url, "--next"] }
        all.removeLast()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = all
        let out = Pipe()
        p.standardOutput = out
        guard (try? p.run()) != nil else { return [] }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.split(separator: "\n").compactMap { Double($0).map { $0 * 1000 } }
    }

    static func pad(_ s: String) -> String { s.padding(toLength: 34, withPad: " ", startingAt: 0) }

    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
}
