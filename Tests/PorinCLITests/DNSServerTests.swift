// `porin dns-server` on loopback, asked by the real `dig`: kube-dns answers, NXDOMAIN, forwarding
// to an upstream (the simulated world's resolver), reloading records, surviving garbage; and DNS
// over TCP on the same port: several queries per connection, truncated UDP answers asked again
// over TCP, the idle timeout, and malformed lengths or messages that close only their connection.
import Foundation
import Testing

@Suite("porin dns-server", .enabled(if: FileManager.default.isExecutableFile(atPath: porinBinary().path)
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/dig")))
struct DNSServerTests {
    func dig(_ port: Int, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/dig")
        p.arguments = ["@127.0.0.1", "-p", String(port), "+time=1", "+tries=1"] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: d, as: UTF8.self)
    }

    func start(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = porinBinary()
        p.arguments = ["dns-server"] + args
        try p.run()
        return p
    }

    @Test("cluster names, NXDOMAIN, forwarding, reloads and malformed packets")
    func serves() throws {
        let port = 30000 + Int(getpid() % 10000), world = port + 1
        let cluster = try tempFile("cluster.rec", "backend-service.tenant-b.svc.cluster.local A 10.96.16.75\n")
        let worldRecords = try tempFile("world.rec", "api.twitter.com A 192.0.2.10\ngoogle.com A 192.0.2.20\nwww.google.com CNAME google.com\n")
        let w = try start(["--listen", "127.0.0.1:\(world)", "--zone", ".", "--records", worldRecords, "--ttl", "300"])
        let k = try start(["--listen", "127.0.0.1:\(port)", "--zone", "cluster.local", "--records", cluster, "--upstream", "127.0.0.1:\(world)"])
        defer {
            for p in [w, k] { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
        var answer = ""
        for _ in 0..<50 {
            answer = try dig(port, ["+short", "backend-service.tenant-b.svc.cluster.local"])
            if answer.first?.isNumber == true { break }
            usleep(100_000)
        }
        #expect(answer == "10.96.16.75\n")
        let full = try dig(port, ["backend-service.tenant-b.svc.cluster.local"])
        #expect(full.contains("status: NOERROR") && full.contains(/\s30\s+IN\s+A\s+10\.96\.16\.75/))
        #expect(try dig(port, ["nothing.tenant-b.svc.cluster.local"]).contains("status: NXDOMAIN"))
        // Outside cluster.local: forwarded to the world's resolver, TTL and all.
        let twitter = try dig(port, ["api.twitter.com"])
        #expect(twitter.contains(/\s300\s+IN\s+A\s+192\.0\.2\.10/))
        #expect(try dig(port, ["+short", "www.google.com"]) == "google.com.\n192.0.2.20\n")
        #expect(try dig(port, ["nowhere.example"]).contains("status: NXDOMAIN"), "the world owns every name it is asked")
        // The agent rewrites the records file; the next query sees it.
        usleep(20_000)
        try "backend-service.tenant-b.svc.cluster.local A 10.96.16.76\n".write(toFile: cluster, atomically: true, encoding: .utf8)
        #expect(try dig(port, ["+short", "backend-service.tenant-b.svc.cluster.local"]) == "10.96.16.76\n")
        // Garbage gets FORMERR (or nothing) and the server goes on.
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        for junk in [[UInt8](repeating: 0xFF, count: 40), [0x12], [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]] {
            _ = withUnsafePointer(to: &a) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(s, junk, junk.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        close(s)
        #expect(try dig(port, ["+short", "backend-service.tenant-b.svc.cluster.local"]) == "10.96.16.76\n", "still serving")
    }

    // MARK: TCP

    /// A query for `name` (type A, RD) with `id`, in wire format.
    static func query(_ id: UInt16, _ name: String, edns: Bool = false) -> [UInt8] {
        var b: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]
        for l in name.split(separator: ".") { b.append(UInt8(l.utf8.count)); b += Array(l.utf8) }
        b += [0, 0, 1, 0, 1]
        if edns { b += [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0] }  // OPT, 1232 bytes
        return b
    }

    static func framed(_ m: [UInt8]) -> [UInt8] { [UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m }

    /// A TCP connection to 127.0.0.1:`port` whose reads give up after `timeout` seconds.
    static func connectTCP(_ port: Int, timeout: Int = 5) throws -> Int32 {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let r = withUnsafePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(s)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        return s
    }

    static func write(_ s: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(s, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Exactly `n` bytes, or nil when the server closed the connection first (or nothing came).
    static func read(_ s: Int32, _ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { recv(s, $0.baseAddress! + got, n - got, 0) }
            if r <= 0 { return nil }
            got += r
        }
        return out
    }

    /// One length-prefixed answer.
    static func readAnswer(_ s: Int32) -> [UInt8]? {
        guard let h = read(s, 2) else { return nil }
        return read(s, Int(h[0]) << 8 | Int(h[1]))
    }

    /// Whether the server closed the connection within the read timeout: end of stream, or a
    /// reset when it closed with bytes of ours still unread.
    static func closedByServer(_ s: Int32) -> Bool {
        var b: UInt8 = 0
        let r = recv(s, &b, 1, 0)
        return r == 0 || (r < 0 && errno == ECONNRESET)
    }

    static func id(_ m: [UInt8]) -> UInt16 { UInt16(m[0]) << 8 | UInt16(m[1]) }
    static func rcode(_ m: [UInt8]) -> UInt8 { m[3] & 0x0F }
    static func answerCount(_ m: [UInt8]) -> Int { Int(m[6]) << 8 | Int(m[7]) }

    @Test("over TCP: several queries per connection, big answers, forwarding, the idle timeout, malformed input")
    func tcp() throws {
        let port = 40000 + Int(getpid() % 10000), world = port + 1
        let many = (1...60).map { "10.1.0.\($0)" }.joined(separator: ",")
        let cluster = try tempFile("tcp-cluster.rec", "backend-service.tenant-b.svc.cluster.local A 10.96.16.75\nheadless.tenant-b.svc.cluster.local A \(many)\n")
        let worldRecords = try tempFile("tcp-world.rec", "api.twitter.com A 192.0.2.10\ncdn.example A \(many.replacingOccurrences(of: "10.1.0.", with: "198.51.100."))\n")
        let w = try start(["--listen", "127.0.0.1:\(world)", "--zone", ".", "--records", worldRecords, "--ttl", "300"])
        let k = try start(["--listen", "127.0.0.1:\(port)", "--zone", "cluster.local", "--records", cluster, "--upstream", "127.0.0.1:\(world)",
                           "--tcp-idle-timeout", "1"])
        defer {
            for p in [w, k] { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
        var answer = ""
        for _ in 0..<50 {
            answer = try dig(port, ["+tcp", "+short", "backend-service.tenant-b.svc.cluster.local"])
            if answer.first?.isNumber == true { break }
            usleep(100_000)
        }
        #expect(answer == "10.96.16.75\n", "dig +tcp")
        #expect(try dig(port, ["+tcp", "nothing.tenant-b.svc.cluster.local"]).contains("status: NXDOMAIN"))
        // Forwarded (over UDP) for a TCP client.
        #expect(try dig(port, ["+tcp", "api.twitter.com"]).contains(/\s300\s+IN\s+A\s+192\.0\.2\.10/))

        // 60 addresses are more than 512 bytes: over UDP without EDNS, TC and no records; dig
        // then asks again over TCP and gets them all.
        let truncated = try dig(port, ["+noedns", "+ignore", "headless.tenant-b.svc.cluster.local"])
        #expect(truncated.contains(/flags: qr aa tc rd ra; QUERY: 1, ANSWER: 0,/))
        let retried = try dig(port, ["+noedns", "headless.tenant-b.svc.cluster.local"])
        #expect(retried.contains("ANSWER: 60,") && retried.contains("10.1.0.60"))
        // With EDNS (1232 bytes) UDP carries them.
        let edns = try dig(port, ["+bufsize=1232", "+ignore", "headless.tenant-b.svc.cluster.local"])
        #expect(edns.contains("ANSWER: 60,") && !edns.contains(" tc "))
        // A forwarded answer that came back truncated over UDP is asked again over TCP upstream.
        let forwarded = try dig(port, ["+tcp", "+noedns", "cdn.example"])
        #expect(forwarded.contains("ANSWER: 60,") && forwarded.contains("198.51.100.60"))

        // Several queries on one connection, sent together (pipelined): answered in order.
        let c = try Self.connectTCP(port)
        Self.write(c, Self.framed(Self.query(0x1111, "backend-service.tenant-b.svc.cluster.local"))
            + Self.framed(Self.query(0x2222, "nothing.tenant-b.svc.cluster.local"))
            + Self.framed(Self.query(0x3333, "headless.tenant-b.svc.cluster.local", edns: true)))
        let a1 = try #require(Self.readAnswer(c)), a2 = try #require(Self.readAnswer(c)), a3 = try #require(Self.readAnswer(c))
        #expect(Self.id(a1) == 0x1111 && Self.rcode(a1) == 0 && Self.answerCount(a1) == 1 && a1.suffix(4) == [10, 96, 16, 75])
        #expect(Self.id(a2) == 0x2222 && Self.rcode(a2) == 3)
        #expect(Self.id(a3) == 0x3333 && Self.answerCount(a3) == 60 && a3[2] & 0x02 == 0, "no truncation over TCP")
        // A message split across writes is put together.
        let q = Self.framed(Self.query(0x4444, "backend-service.tenant-b.svc.cluster.local"))
        Self.write(c, Array(q[0..<1]))
        usleep(50_000)
        Self.write(c, Array(q[1..<20]))
        usleep(50_000)
        Self.write(c, Array(q[20...]))
        let a4 = try #require(Self.readAnswer(c))
        #expect(Self.id(a4) == 0x4444 && Self.answerCount(a4) == 1)
        // Idle for longer than --tcp-idle-timeout: the server closes.
        let idleStart = Date()
        #expect(Self.closedByServer(c), "closed after the idle timeout")
        #expect(Date().timeIntervalSince(idleStart) > 0.5)
        close(c)

        // Malformed: each closes its own connection, and the server goes on.
        let junk: [(String, [UInt8], expectFormErr: Bool)] = [
            ("a zero length", [0, 0], false),
            ("a length shorter than a header", [0, 5, 1, 2, 3, 4, 5], false),
            ("garbage of the length announced", Self.framed([UInt8](repeating: 0xFF, count: 40)), true),
            ("a compression loop", Self.framed([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]), true),
            ("a length longer than what comes", [0x01, 0x2C] + Self.query(0x5555, "backend-service.tenant-b.svc.cluster.local"), false),
            ("half a length", [0x00], false),
        ]
        for (what, bytes, formErr) in junk {
            let s = try Self.connectTCP(port)
            Self.write(s, bytes)
            if formErr {
                let r = Self.readAnswer(s)
                #expect(r.map { Self.rcode($0) == 1 && $0[2] & 0x80 != 0 } == true, "\(what): FORMERR")
            }
            #expect(Self.closedByServer(s), "\(what): the connection is closed")
            close(s)
        }
        // A valid query after garbage on the same connection is never read.
        let s = try Self.connectTCP(port)
        Self.write(s, Self.framed([UInt8](repeating: 0xFF, count: 40)) + Self.framed(Self.query(0x6666, "backend-service.tenant-b.svc.cluster.local")))
        #expect(Self.readAnswer(s).map { Self.rcode($0) } == 1)
        #expect(Self.readAnswer(s) == nil)
        close(s)
        // A client that connects and goes away, and one that resets.
        close(try Self.connectTCP(port))
        let r = try Self.connectTCP(port)
        var lg = linger(l_onoff: 1, l_linger: 0)
        setsockopt(r, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
        Self.write(r, [0x00, 0x40, 1, 2])
        close(r)

        // Many connections at once, each answered.
        let clients = try (0..<40).map { _ in try Self.connectTCP(port) }
        for (i, c) in clients.enumerated() { Self.write(c, Self.framed(Self.query(UInt16(i), "backend-service.tenant-b.svc.cluster.local"))) }
        let ids = clients.map { c in Self.readAnswer(c).map(Self.id) }
        #expect(ids == (0..<40).map { UInt16($0) })
        for c in clients { close(c) }

        #expect(try dig(port, ["+tcp", "+short", "backend-service.tenant-b.svc.cluster.local"]) == "10.96.16.75\n", "still serving TCP")
        #expect(try dig(port, ["+short", "backend-service.tenant-b.svc.cluster.local"]) == "10.96.16.75\n", "still serving UDP")
        #expect(k.isRunning && w.isRunning)
    }

    @Test("the TCP port is taken: the server says so and exits")
    func tcpPortTaken() throws {
        let port = 40000 + Int((getpid() + 5000) % 10000)
        let blocker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blocker) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let bound = withUnsafePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(blocker, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(blocker, 1) == 0)
        let r = try porin(["dns-server", "--listen", "127.0.0.1:\(port)", "--zone", "cluster.local"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("cannot listen on 127.0.0.1:\(port) (TCP)"), "\(r.stderr)")
    }
}
