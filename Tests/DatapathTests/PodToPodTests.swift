// Real packets between real pods through the BPF datapath: verdicts equal the engine's, and
// the datapath reports them as Cilium's monitor events. Needs root (namespaces, BPF).
import Datapath
import DatapathABI
import Foundation
import PolicyAPI
import PolicyEngine
import Testing

@Suite("Datapath: pod to pod", .serialized)
struct PodToPodTests {
    @Test("no policy allows; an ingress L3-L4 rule admits only its peer on its port; a deny wins")
    func policyOnRealPackets() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("client", labels: ["app": "client"], octet: 11)
        try c.addPod("server", labels: ["app": "server"], octet: 12)
        try c.addPod("other", labels: ["app": "other"], octet: 13)
        try c.serveHTTP(in: "server", port: 8080)
        try c.serveHTTP(in: "server", port: 9090)

        var r = c.curl(from: "client", to: "server", port: 8080)
        #expect(r.exit == 0 && r.status == "200", "no policy: allowed (\(r))")

        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: server-ingress, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
        """)
        r = c.curl(from: "client", to: "server", port: 8080)
        #expect(r.exit == 0 && r.status == "200", "client → server:8080 allowed (\(r))")
        r = c.curl(from: "other", to: "server", port: 8080, timeout: 1)
        #expect(r.exit == 28, "other → server:8080 dropped, curl times out (\(r))")
        r = c.curl(from: "client", to: "server", port: 9090, timeout: 1)
        #expect(r.exit == 28, "client → server:9090 dropped (\(r))")

        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: no-client}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingressDeny:
          - fromEndpoints: [{matchLabels: {app: client}}]
        """)
        r = c.curl(from: "client", to: "server", port: 8080, timeout: 1)
        #expect(r.exit == 28, "the deny wins (\(r))")

        c.remove(PolicyReference(kind: .ciliumClusterwideNetworkPolicy, namespace: "", name: "no-client"))
        r = c.curl(from: "client", to: "server", port: 8080)
        #expect(r.exit == 0 && r.status == "200", "removing the deny restores the allow (\(r))")
    }

    @Test("verdict and drop events carry direction, match type, identities and reason")
    func events() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("client", labels: ["app": "client"], octet: 21)
        try c.addPod("server", labels: ["app": "server"], octet: 22)
        try c.serveHTTP(in: "server", port: 8080)
        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: client-egress, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints: [{matchLabels: {app: server}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
        """)
        var events: [DatapathEvent] = []
        let reader = try EventReader(map: c.object.events) { events.append($0) }
        reader.drain()
        events.removeAll()
        #expect(c.curl(from: "client", to: "server", port: 8080).status == "200")
        _ = c.curl(from: "client", to: "server", port: 9999, timeout: 1)
        reader.drain()
        let clientID = c.engine.identity(ofEndpoint: "default/client")!
        let serverID = c.engine.identity(ofEndpoint: "default/server")!
        let verdicts = events.filter { $0.type == UInt8(PORIN_EVENT_POLICY_VERDICT) }
        let allowed = verdicts.first { $0.verdict == 0 && !$0.isIngress }
        #expect(allowed?.matchType == UInt8(PORIN_MATCH_L3_L4), "egress allowed by an L3-L4 entry")
        #expect(allowed?.sourceIdentity == clientID && allowed?.destinationIdentity == serverID)
        if let id = allowed?.entryID, let w = c.maps.entries[id] {
            #expect(w.entry.policies.map(\.description) == ["CiliumNetworkPolicy/default/client-egress"], "the entry names its policy")
        } else {
            Issue.record("the allowed verdict's entry is not known")
        }
        let denied = verdicts.first { $0.verdict == -133 }
        #expect(denied != nil && denied?.matchType == UInt8(PORIN_MATCH_NONE) && denied?.isIngress == false)
        let drops = events.filter { $0.type == UInt8(PORIN_EVENT_DROP) }
        #expect(drops.contains { $0.subtype == 133 }, "a Policy denied drop")
        let traces = events.filter { $0.type == UInt8(PORIN_EVENT_TRACE) && $0.subtype == UInt8(PORIN_OBS_TO_ENDPOINT) }
        #expect(traces.contains { $0.traceReason == UInt8(PORIN_TRACE_REASON_NEW) })
        #expect(traces.contains { $0.traceReason == UInt8(PORIN_TRACE_REASON_REPLY) })
        // The captured bytes are the packet from its Ethernet header: IPv4, TCP, port 8080.
        let syn = events.first { $0.type == UInt8(PORIN_EVENT_POLICY_VERDICT) && $0.verdict == 0 }
        #expect(syn.map { $0.packet.count >= 34 && $0.packet[12] == 0x08 && $0.packet[13] == 0x00 } == true)
    }

    @Test("a pod that sends from an address that is not its own is dropped (invalid source IP)")
    func spoofing() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("client", labels: ["app": "client"], octet: 31)
        try c.addPod("server", labels: ["app": "server"], octet: 32)
        try c.serveHTTP(in: "server", port: 8080)
        var events: [DatapathEvent] = []
        let reader = try EventReader(map: c.object.events) { events.append($0) }
        // The client takes a second address that Porin never gave it and uses it as source.
        try c.pods["client"]!.ns.ip("addr", "add", "10.244.0.99/32", "dev", "eth0")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", c.pods["client"]!.ns.name, "curl", "-s", "--max-time", "1", "--interface", "10.244.0.99",
                       "http://\(c.pods["server"]!.ip):8080/"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 28, "spoofed packets never arrive")
        reader.drain()
        #expect(events.contains { $0.type == UInt8(PORIN_EVENT_DROP) && $0.subtype == 132 }, "dropped as Invalid source ip")
    }
}

@Suite("Datapath: services", .serialized)
struct ServiceTests {
    @Test("a ClusterIP reaches every backend, replies come from the service address, policy sees the backend")
    func clusterIP() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("client", labels: ["app": "client"], octet: 41)
        let b1 = try c.addPod("backend-1", labels: ["app": "backend"], octet: 42)
        let b2 = try c.addPod("backend-2", labels: ["app": "backend"], octet: 43)
        try c.serveHTTP(in: "backend-1", port: 8080)
        try c.serveHTTP(in: "backend-2", port: 8080)
        let vip = IPAddress("10.96.0.50")!
        try c.maps.setService(id: 7, vip: vip, port: 80, proto: 6, backends: [(b1, 8080), (b2, 8080)])
        var events: [DatapathEvent] = []
        let reader = try EventReader(map: c.object.events) { events.append($0) }
        var seen = Set<UInt32>()
        for _ in 0..<12 {
            let r = c.curlAddress(from: "client", url: "http://\(vip):80/")
            #expect(r.exit == 0 && r.status == "200", "through the ClusterIP (\(r))")
            reader.drain()
            // Which backend answered: the identity behind the destination of the allowed egress verdict.
            if let v = events.last(where: { $0.type == UInt8(PORIN_EVENT_POLICY_VERDICT) && !$0.isIngress }) { seen.insert(v.destinationIdentity) }
            events.removeAll()
        }
        // Spread: backend pods each got connections (their CT entries are the evidence).
        let backendsHit = Set(c.object.conntrack.keys(porin_ct_key.self).map { $0.daddr_be })
        #expect(backendsHit.contains(b1.v4.bigEndian) && backendsHit.contains(b2.v4.bigEndian), "connections went to both backends")
        // Translation events as Cilium's socket LB reports them.
        _ = c.curlAddress(from: "client", url: "http://\(vip):80/")
        reader.drain()
        #expect(events.contains { $0.type == UInt8(PORIN_EVENT_TRACE_SOCK) && $0.subtype == UInt8(PORIN_XLATE_PRE_FWD) })
        #expect(events.contains { $0.type == UInt8(PORIN_EVENT_TRACE_SOCK) && $0.subtype == UInt8(PORIN_XLATE_POST_FWD) })
        // Policy applies to the backends' identity, not to the ClusterIP.
        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: closed, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: backend}}
          ingress: [{}]
        """)
        let denied = c.curlAddress(from: "client", url: "http://\(vip):80/", timeout: 1)
        #expect(denied.exit == 28, "the backends' ingress policy drops service traffic (\(denied))")
        // A service without backends drops with Cilium's reason.
        try c.maps.setService(id: 8, vip: IPAddress("10.96.0.51")!, port: 80, proto: 6, backends: [])
        events.removeAll()
        _ = c.curlAddress(from: "client", url: "http://10.96.0.51:80/", timeout: 1)
        reader.drain()
        #expect(events.contains { $0.type == UInt8(PORIN_EVENT_DROP) && $0.subtype == 158 }, "Service backend not found")
    }
}

@Suite("Datapath: restart and fail-closed", .serialized)
struct RobustnessTests {
    @Test("the datapath keeps enforcing from pinned maps while its loader is gone, and a new loader reuses them")
    func restart() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("client", labels: ["app": "client"], octet: 51)
        try c.addPod("server", labels: ["app": "server"], octet: 52)
        try c.serveHTTP(in: "server", port: 8080)
        try c.serveHTTP(in: "server", port: 9090)
        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: only-8080, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
        """)
        let entries = c.object.policy.keys(porin_policy_key.self).count
        #expect(entries > 0)
        // The loader goes away without a word (as a kill -9 would leave it) and a new one opens
        // the pinned maps: the entries are the ones written before, and nothing was reattached yet.
        try c.dropLoader()
        #expect(c.object.policy.keys(porin_policy_key.self).count == entries, "pinned entries survive")
        #expect(c.curl(from: "client", to: "server", port: 8080).status == "200")
        #expect(c.curl(from: "client", to: "server", port: 9090, timeout: 1).exit == 28, "still enforced between loaders")
        try c.reattachAndSync()
        #expect(c.object.policy.keys(porin_policy_key.self).count == entries, "re-sync converges on the same entries")
        #expect(c.curl(from: "client", to: "server", port: 8080).status == "200")
        #expect(c.curl(from: "client", to: "server", port: 9090, timeout: 1).exit == 28)
        // Policy removed while the loader was away: the next loader's sync leaves no stale entry.
        try c.dropLoader()
        c.engine.removePolicy(PolicyReference(kind: .ciliumNetworkPolicy, namespace: "default", name: "only-8080"))
        try c.reattachAndSync()
        let expected = ["client", "server"].reduce(0) { n, pod in
            let sp = c.engine.subjectPolicy(ofEndpoint: "default/\(pod)")!
            return n + sp.ingress.table.count + sp.egress.table.count
        }
        #expect(c.object.policy.keys(porin_policy_key.self).count == expected, "only the entries the engine wants remain")
        #expect(c.curl(from: "client", to: "server", port: 9090).status == "200")
    }

    @Test("IPv6 is off in pods, and any IPv6 packet the datapath sees is dropped with a reason")
    func ipv6FailsClosed() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("client", labels: ["app": "client"], octet: 61)
        try c.addPod("server", labels: ["app": "server"], octet: 62)
        let client = c.pods["client"]!.ns
        #expect((try? client.exec(["cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"]))?.hasPrefix("1") == true)
        var events: [DatapathEvent] = []
        let reader = try EventReader(map: c.object.events) { events.append($0) }
        // A pod that turns IPv6 on anyway gets nowhere: its packets are dropped, and reported.
        try client.sysctl("net/ipv6/conf/all/disable_ipv6", "0")
        try client.sysctl("net/ipv6/conf/eth0/disable_ipv6", "0")
        try client.ip("-6", "addr", "add", "fd00::61/64", "dev", "eth0", "nodad")
        _ = try? client.exec(["ping", "-6", "-c", "1", "-W", "1", "fd00::62"])
        reader.drain()
        let drops = events.filter { $0.type == UInt8(PORIN_EVENT_DROP) && $0.subtype == UInt8(PORIN_DROP_UNSUPPORTED_L3) }
        #expect(!drops.isEmpty, "IPv6 dropped as Unsupported L3 protocol")
        #expect(drops.allSatisfy { $0.packet.count >= 14 && $0.packet[12] == 0x86 && $0.packet[13] == 0xDD }, "the captured frames are IPv6")
    }
}

@Suite("porin monitor", .serialized)
struct MonitorTests {
    @Test("prints the datapath's events live from the pinned ring buffer, filtered by type",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MiniLabTests.porin)))
    func monitor() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("client", labels: ["app": "client"], octet: 71)
        try c.addPod("server", labels: ["app": "server"], octet: 72)
        try c.serveHTTP(in: "server", port: 8080)
        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: p, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
        """)
        let m = Process()
        m.executableURL = URL(fileURLWithPath: MiniLabTests.porin)
        m.arguments = ["monitor", "--cluster", c.id, "--type", "policy-verdict", "--type", "drop"]
        let out = Pipe()
        m.standardOutput = out
        try m.run()
        usleep(300_000)
        #expect(c.curl(from: "client", to: "server", port: 8080).status == "200")
        _ = c.curl(from: "client", to: "server", port: 9999, timeout: 1)
        usleep(300_000)
        kill(m.processIdentifier, SIGKILL)
        m.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let ids = (c.engine.identity(ofEndpoint: "default/client")!, c.engine.identity(ofEndpoint: "default/server")!)
        #expect(text.contains("Policy verdict log: local EP ID 2, remote ID \(ids.0), ingress, action allow, match L3-L4, 10.244.0.71:"))
        #expect(text.contains("ingress, action deny, match none"))
        #expect(text.contains("xx drop (Policy denied)") && text.contains("-> 10.244.0.72:9999 tcp SYN"))
        #expect(!text.contains("-> to-endpoint"), "trace events filtered out")
    }
}

@Suite("Datapath: conntrack", .serialized)
struct ConntrackTests {
    func ping(_ c: TestCluster, from: String, to: String, id: Int) -> Bool {
        (try? c.pods[from]!.ns.exec(["ping", "-c", "1", "-W", "1", "-e", String(id), c.pods[to]!.ip.description])) != nil
    }

    @Test("an echo request is never taken for the reply of an earlier echo with the same id")
    func echoRequestIsNotAReply() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("a", labels: ["app": "a"], octet: 81)
        try c.addPod("b", labels: ["app": "b"], octet: 82)
        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: b-no-egress, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: b}}
          egress: [{}]
        """)
        #expect(ping(c, from: "a", to: "b", id: 777), "a → b is allowed and b's echo reply is a reply")
        #expect(!ping(c, from: "b", to: "a", id: 777), "b's own echo request with the same id meets b's egress policy")
    }
}

@Suite("Datapath: verdict log filter", .serialized)
struct VerdictFilterTests {
    @Test("policy verdicts are reported for enforced directions only; ICMP fragmentation-needed is let through")
    func onlyEnforcedDirections() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        try c.addPod("client", labels: ["app": "client"], octet: 91)
        try c.addPod("server", labels: ["app": "server"], octet: 92)
        try c.serveHTTP(in: "server", port: 8080)
        var events: [DatapathEvent] = []
        let reader = try EventReader(map: c.object.events) { events.append($0) }
        #expect(c.curl(from: "client", to: "server", port: 8080).status == "200")
        reader.drain()
        #expect(!events.contains { $0.type == UInt8(PORIN_EVENT_POLICY_VERDICT) }, "no policy, no verdicts (as LAB.md §3 shows)")
        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: server, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
        """)
        events.removeAll()
        #expect(c.curl(from: "client", to: "server", port: 8080).status == "200")
        reader.drain()
        let verdicts = events.filter { $0.type == UInt8(PORIN_EVENT_POLICY_VERDICT) }
        #expect(verdicts.count == 1 && verdicts.first?.isIngress == true, "the server's ingress only: \(verdicts.map(\.verdictFlags))")
        // An ICMP fragmentation-needed error reaches the server although ICMP is not allowed otherwise.
        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: server, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
        """)
        events.removeAll()
        let script = "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); "
            + "s.sendto(bytes([3,4,0,0,0,0,5,0x78]) + bytes(28), ('\(c.pods["server"]!.ip)', 0))"
        _ = try c.pods["client"]!.ns.exec(["python3", "-c", script])
        _ = try? c.pods["client"]!.ns.exec(["ping", "-c", "1", "-W", "1", c.pods["server"]!.ip.description])
        reader.drain()
        let icmpDrops = events.filter { e in
            guard e.type == UInt8(PORIN_EVENT_DROP) else { return false }
            if case .icmpv4 = PacketHeaders(e.packet).l4 { return true }
            return false
        }
        #expect(!events.contains { $0.type == UInt8(PORIN_EVENT_DROP) && $0.subtype == UInt8(PORIN_DROP_UNSUPPORTED_L3) }, "the node sends no IPv6 into pods")
        #expect(icmpDrops.count == 1, "the echo request is dropped, the fragmentation-needed error is not (\(icmpDrops.map { "\($0.subtype) \(PacketHeaders($0.packet).summary)" }))")
    }
}
