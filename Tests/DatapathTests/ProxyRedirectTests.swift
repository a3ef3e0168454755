// The datapath's L7 redirect (issue #5, docs/dns-proxy.md): a packet whose policy entry names
// the proxy reaches a transparent socket in the node's namespace with its original destination,
// over UDP and TCP, and the answer the socket sends from that destination reaches the pod as if
// the server had sent it. The proxy here is a small Python stand-in; needs root.
import ClusterAPI
import Datapath
import DatapathABI
import Foundation
import PolicyAPI
import PolicyEngine
import Testing

@Suite("Datapath: redirect to the proxy", .serialized)
struct ProxyRedirectTests {
    /// A transparent UDP and TCP socket on PORT answering each query with the original destination.
    static let standIn = """
    import socket, struct, sys, threading
    port = int(sys.argv[1])
    IP_TRANSPARENT, IP_RECVORIGDSTADDR, IP_ORIGDSTADDR = 19, 20, 20
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    u.setsockopt(socket.SOL_IP, IP_RECVORIGDSTADDR, 1)
    u.bind(("0.0.0.0", port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", port)); t.listen(16)
    def tcp():
        while True:
            c, _ = t.accept()
            addr, p = c.getsockname()
            c.recv(512); c.sendall(("proxied %s:%d" % (addr, p)).encode()); c.close()
    threading.Thread(target=tcp, daemon=True).start()
    print("ready", flush=True)
    while True:
        data, anc, _, src = u.recvmsg(2048, 256)
        for lvl, typ, d in anc:
            if lvl == socket.SOL_IP and typ == IP_ORIGDSTADDR:
                p, = struct.unpack("!H", d[2:4]); addr = socket.inet_ntoa(d[4:8])
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        r.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        r.bind((addr, p)); r.sendto(("proxied %s:%d" % (addr, p)).encode(), src); r.close()
    """

    static let client = """
    import socket, sys
    proto, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        if proto == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
            s.sendto(b"query", (ip, port)); data, src = s.recvfrom(512)
            print(data.decode(), "from %s:%d" % src)
        else:
            s = socket.create_connection((ip, port), timeout=1); s.sendall(b"query")
            print(s.recv(512).decode())
    except OSError as e:
        print("error", e)
    """

    /// The client script in a pod: its one line of output.
    func query(_ c: TestCluster, from pod: String, _ proto: String, _ ip: IPAddress, _ port: Int, script: String) throws -> String {
        try c.pods[pod]!.ns.exec(["python3", script, proto, ip.description, String(port)]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("UDP and TCP to a port with DNS rules reach the proxy with their original destination; its answers reach the pod")
    func redirect() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        let port = 20000 + Int(getpid() % 20000)
        c.maps.proxyPort = UInt16(port)
        try c.addPod("client", labels: ["app": "client"], octet: 21)
        let dns = try c.addPod("dns", labels: ["app": "dns"], octet: 22)
        let dir = NSTemporaryDirectory() + "porin-proxy-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.standIn.write(toFile: "\(dir)/proxy.py", atomically: true, encoding: .utf8)
        try Self.client.write(toFile: "\(dir)/client.py", atomically: true, encoding: .utf8)

        // Before any proxy policy: the packets go to the pod itself (nothing listens there).
        #expect(try query(c, from: "client", "udp", dns, 53, script: "\(dir)/client.py").hasPrefix("error"))

        // posix_spawn with a clean signal mask and no inherited descriptors (a Foundation Process
        // child inherits the test runner's blocked signals and its pipes).
        let proxy = try Spawn.start(["/usr/sbin/ip", "netns", "exec", c.node.name, "python3", "\(dir)/proxy.py", String(port)], log: "\(dir)/proxy.log")
        var proxyAlive = true
        func stopProxy() {
            guard proxyAlive else { return }
            kill(proxy, SIGKILL)
            var status: Int32 = 0
            waitpid(proxy, &status, 0)
            proxyAlive = false
        }
        defer { stopProxy() }
        var started = false
        for _ in 0..<100 where !started {
            started = ((try? String(contentsOfFile: "\(dir)/proxy.log", encoding: .utf8)) ?? "").hasPrefix("ready")
            if !started { usleep(50_000) }
        }
        try #require(started, "the proxy stand-in did not start")

        try c.apply("""
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: dns-through-proxy, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints: [{matchLabels: {app: dns}}]
            toPorts:
            - ports: [{port: "53", protocol: ANY}]
              rules:
                dns: [{matchPattern: "*"}]
        """)
        let udp = try query(c, from: "client", "udp", dns, 53, script: "\(dir)/client.py")
        #expect(udp == "proxied \(dns):53 from \(dns):53", "UDP: \(udp)")
        let tcp = try query(c, from: "client", "tcp", dns, 53, script: "\(dir)/client.py")
        #expect(tcp == "proxied \(dns):53", "TCP: \(tcp)")
        // Port 54 has no L7 rule: not redirected, and not allowed either.
        let other = try query(c, from: "client", "udp", dns, 54, script: "\(dir)/client.py")
        #expect(other.hasPrefix("error"), "\(other)")
        // Without a proxy on the port, redirected packets are dropped (Socket lookup failed),
        // never delivered around the proxy to the server.
        stopProxy()
        let gone = try query(c, from: "client", "udp", dns, 53, script: "\(dir)/client.py")
        #expect(gone.hasPrefix("error"), "\(gone)")
    }

    @Test("conntrack's live addresses (what FQDN expiry spares): a peer of a recent connection is live, an unused address is not")
    func liveConnections() throws {
        try #require(getuid() == 0, "datapath tests need root (network namespaces and BPF)")
        let c = try TestCluster()
        defer { c.tearDown() }
        let client = try c.addPod("client", labels: ["app": "client"], octet: 31)
        let server = try c.addPod("server", labels: ["app": "server"], octet: 32)
        let idle = try c.addPod("idle", labels: ["app": "idle"], octet: 33)
        #expect(!c.maps.liveConnectionAddresses().contains(server.v4), "nothing has talked yet")
        try c.serveHTTP(in: "server", port: 8080)
        let r = c.curl(from: "client", to: "server", port: 8080)
        try #require(r.exit == 0, "\(r)")
        // The connection closed a moment ago: live for conntrack's closing lifetime (10 s).
        let live = c.maps.liveConnectionAddresses()
        #expect(live.contains(server.v4) && live.contains(client.v4), "\(live)")
        #expect(!live.contains(idle.v4))
    }
}
