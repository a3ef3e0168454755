// Porin's DNS server: kube-dns for `cluster.local` (and the simulated world's resolver) over UDP
// and TCP on the same address and port. Answers from a records file that the agent rewrites
// (reloaded when it changes), forwards other names upstream (over UDP; over TCP again when a TCP
// client's answer came back truncated), truncates UDP answers too big for the client, and never
// stops for malformed input: a bad UDP packet gets FORMERR, a bad TCP message closes its connection.
import DNS
import Foundation
import Glibc

public struct DNSRecordsFile: Sendable {
    /// Reads `NAME A IP[,IP...]` and `NAME CNAME TARGET` lines; `#` starts a comment.
    public static func parse(_ text: String, zones: [DNSName], ttl: UInt32) throws -> ZoneResolver {
        var r = ZoneResolver(zones: zones, ttl: ttl)
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if f.isEmpty { continue }
            guard f.count == 3 else { throw DNSServerError("line \(n + 1): expected NAME TYPE VALUE") }
            let name = try DNSName(f[0])
            switch f[1].uppercased() {
            case "A":
                for ip in f[2].split(separator: ",") {
                    guard let v = ipv4(String(ip)) else { throw DNSServerError("line \(n + 1): \"\(ip)\" is not an IPv4 address") }
                    r.addresses[name, default: []].append(v)
                }
            case "CNAME": r.aliases[name] = try DNSName(f[2])
            default: throw DNSServerError("line \(n + 1): unsupported record type \(f[1]) (A or CNAME)")
            }
        }
        return r
    }

    public static func ipv4(_ s: String) -> UInt32? {
        let p = s.split(separator: ".")
        guard p.count == 4 else { return nil }
        var v: UInt32 = 0
        for o in p { guard let b = UInt8(o) else { return nil }; v = v << 8 | UInt32(b) }
        return v
    }
}

public struct DNSServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

public final class DNSServer: @unchecked Sendable {
    let socketFD: Int32
    /// The TCP listener on the same address and port (DNS over TCP, RFC 7766).
    let listenFD: Int32
    /// The port served (UDP and TCP): the one asked for, or the kernel's choice for port 0.
    public let port: UInt16
    let recordsPath: String?
    let zones: [DNSName]
    let ttl: UInt32
    let upstream: sockaddr_in?
    private var resolver: ZoneResolver
    private var recordsMTime: timespec = timespec()
    private let lock = NSLock()
    private let reloadLock = NSLock()
    private var malformedCount = 0
    private var connections = 0

    /// A TCP connection with no complete query for this long is closed (RFC 7766 §6.2.3).
    public var tcpIdleTimeout: Double = 10
    /// Open TCP connections at most; more are closed as soon as they are accepted.
    public var maxTCPConnections = 256
    /// UDP answers larger than this (or than the EDNS size the query offers, up to 65507) are
    /// truncated (TC, no records) so the client asks again over TCP.
    static let classicUDPSize = 512

    /// Malformed queries seen (UDP packets and TCP messages).
    public var malformed: Int { lock.withLock { malformedCount } }

    static func address(_ text: String) throws -> sockaddr_in {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]), let ip = DNSRecordsFile.ipv4(String(parts[0])) else {
            throw DNSServerError("\"\(text)\" is not ADDRESS:PORT")
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr = in_addr(s_addr: ip.bigEndian)
        return a
    }

    static func bind(_ fd: Int32, _ a: sockaddr_in) -> Bool {
        var a = a
        return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    public init(listen: String, zones: [DNSName], recordsPath: String?, upstream: String?, ttl: UInt32 = 30) throws {
        self.zones = zones
        self.recordsPath = recordsPath
        self.ttl = ttl
        self.upstream = try upstream.map(Self.address)
        resolver = ZoneResolver(zones: zones, ttl: ttl)
        var a = try Self.address(listen)
        let u = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard Self.bind(u, a) else {
            let e = String(cString: strerror(errno))
            close(u)
            throw DNSServerError("cannot listen on \(listen) (UDP): \(e)")
        }
        // Port 0: TCP takes the port the kernel gave UDP.
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(u, $0, &len) } }
        let t = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Self.bind(t, a), Glibc.listen(t, 128) == 0 else {
            let e = String(cString: strerror(errno))
            close(t)
            close(u)
            throw DNSServerError("cannot listen on \(listen) (TCP): \(e)")
        }
        socketFD = u
        listenFD = t
        port = UInt16(bigEndian: a.sin_port)
        try reloadIfChanged()
    }

    /// Re-reads the records file when its modification time changed.
    func reloadIfChanged() throws {
        guard let path = recordsPath else { return }
        reloadLock.lock()
        defer { reloadLock.unlock() }
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        if st.st_mtim.tv_sec == recordsMTime.tv_sec && st.st_mtim.tv_nsec == recordsMTime.tv_nsec { return }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let r = try DNSRecordsFile.parse(text, zones: zones, ttl: ttl)
        lock.lock()
        resolver = r
        lock.unlock()
        recordsMTime = st.st_mtim
    }

    /// Serves forever: TCP connections on their own threads, UDP on this one.
    public func serve() -> Never {
        let t = Thread { [self] in acceptLoop() }
        t.stackSize = 1 << 20
        t.start()
        var buf = [UInt8](repeating: 0, count: 65535)
        while true {
            var peer = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &peer) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socketFD, &buf, buf.count, 0, $0, &len) }
            }
            if n <= 0 { continue }
            try? reloadIfChanged()
            handle(Array(buf[..<n]), from: peer)
        }
    }

    func send(_ bytes: [UInt8], to peer: sockaddr_in) {
        var p = peer
        _ = withUnsafePointer(to: &p) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socketFD, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// FORMERR for a message that does not parse, when at least its id is there.
    static func formatError(_ packet: [UInt8]) -> [UInt8]? {
        guard packet.count >= 2 else { return nil }
        var r = DNSMessage(id: UInt16(packet[0]) << 8 | UInt16(packet[1]), isResponse: true, rcode: DNSRCode.formatError)
        r.recursionDesired = false
        return r.encoded()
    }

    /// The largest UDP answer the query accepts: 512, or its EDNS payload size (RFC 6891 §6.2.5).
    static func udpLimit(_ query: DNSMessage) -> Int {
        guard let opt = query.additionals.first(where: { $0.type == DNSType.opt }) else { return classicUDPSize }
        return min(max(Int(opt.klass), classicUDPSize), 65507)
    }

    func handle(_ packet: [UInt8], from peer: sockaddr_in) {
        let query: DNSMessage
        do { query = try DNSMessage(parsing: packet) } catch {
            // Malformed: answer FORMERR when at least the id is there, else drop.
            lock.withLock { malformedCount += 1 }
            if let r = Self.formatError(packet) { send(r, to: peer) }
            return
        }
        lock.lock()
        let outcome = resolver.resolve(query)
        lock.unlock()
        switch outcome {
        case let .answer(m):
            var bytes = m.encoded()
            if bytes.count > Self.udpLimit(query) {
                // Too big for this client over UDP: the question alone, TC set; it asks over TCP.
                var t = m
                t.truncated = true
                t.answers = []
                t.authorities = []
                t.additionals = []
                bytes = t.encoded()
            }
            send(bytes, to: peer)
        case .forward:
            guard let upstream else {
                send(query.response(rcode: DNSRCode.serverFailure).encoded(), to: peer)
                return
            }
            Thread.detachNewThread { [self] in
                let reply = forward(packet, to: upstream) ?? query.response(rcode: DNSRCode.serverFailure).encoded()
                send(reply, to: peer)
            }
        }
    }

    /// Asks the upstream server, waiting up to two seconds for the answer with the same id.
    func forward(_ packet: [UInt8], to upstream: sockaddr_in) -> [UInt8]? {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(s) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var u = upstream
        let sent = withUnsafePointer(to: &u) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(s, packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == packet.count else { return nil }
        var buf = [UInt8](repeating: 0, count: 65535)
        let n = recv(s, &buf, buf.count, 0)
        guard n >= 2, buf[0] == packet[0], buf[1] == packet[1] else { return nil }
        return Array(buf[..<n])
    }

    // MARK: TCP

    private func acceptLoop() -> Never {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EMFILE || errno == ENFILE { usleep(100_000) }
                continue
            }
            let admitted = lock.withLock {
                guard connections < maxTCPConnections else { return false }
                connections += 1
                return true
            }
            guard admitted else {
                close(c)
                continue
            }
            let t = Thread { [self] in
                serveConnection(c)
                close(c)
                lock.withLock { connections -= 1 }
            }
            t.stackSize = 512 << 10
            t.start()
        }
    }

    /// One client connection: length-prefixed queries answered in order until the client closes,
    /// stays idle for `tcpIdleTimeout`, or sends something that is not a DNS message.
    func serveConnection(_ c: Int32) {
        var one: Int32 = 1
        setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let timeout = tcpIdleTimeout
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        while let packet = DNSStream.readMessage(c, timeout: timeout) {
            try? reloadIfChanged()
            let (reply, more) = answerTCP(packet)
            guard !reply.isEmpty, DNSStream.writeMessage(c, reply), more else { return }
        }
    }

    /// The answer to one TCP query, and whether the connection goes on: a malformed message gets
    /// FORMERR, then the connection is closed (what follows it cannot be trusted to be framed).
    func answerTCP(_ packet: [UInt8]) -> ([UInt8], Bool) {
        let query: DNSMessage
        do { query = try DNSMessage(parsing: packet) } catch {
            lock.withLock { malformedCount += 1 }
            return (Self.formatError(packet) ?? [], false)
        }
        return (answerTCP(query, packet), true)
    }

    func answerTCP(_ query: DNSMessage, _ packet: [UInt8]) -> [UInt8] {
        lock.lock()
        let outcome = resolver.resolve(query)
        lock.unlock()
        switch outcome {
        case let .answer(m):
            let bytes = m.encoded()
            return bytes.count <= 65535 ? bytes : query.response(rcode: DNSRCode.serverFailure).encoded()
        case .forward:
            guard let upstream else { return query.response(rcode: DNSRCode.serverFailure).encoded() }
            guard var reply = forward(packet, to: upstream) else { return query.response(rcode: DNSRCode.serverFailure).encoded() }
            // Truncated over UDP: the whole answer over TCP, if the upstream speaks it.
            if reply.count >= 3, reply[2] & 0x02 != 0, let full = forwardTCP(packet, to: upstream) { reply = full }
            return reply
        }
    }

    /// Asks the upstream over TCP (after a truncated UDP answer), waiting up to two seconds.
    func forwardTCP(_ packet: [UInt8], to upstream: sockaddr_in) -> [UInt8]? {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { return nil }
        defer { close(s) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var u = upstream
        let r = withUnsafePointer(to: &u) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0, DNSStream.writeMessage(s, packet), let reply = DNSStream.readMessage(s, timeout: 2),
              reply.count >= 2, reply[0] == packet[0], reply[1] == packet[1] else { return nil }
        return reply
    }
}
