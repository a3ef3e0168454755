// The node's DNS proxy (reference §8, docs/dns-proxy.md): the datapath assigns a pod's DNS
// packets (UDP and TCP) to these transparent sockets with their original destination; each
// query is checked against the DNS rules that redirected it, refused (REFUSED, never
// forwarded) or forwarded to the server the pod asked, with a fresh ID; the answer goes back to
// the pod from that server's address once the caller has learnt from it.
//
// Policy, learning and flows are the caller's (closures), so this file is sockets only.
import DNS
import Foundation
import Glibc

public struct IPv4SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// Host byte order.
    public var ip: UInt32
    public var port: UInt16
    public init(ip: UInt32, port: UInt16) {
        self.ip = ip
        self.port = port
    }
    public var description: String { "\(DNSAnswer.dotted(ip)):\(port)" }

    init(_ a: sockaddr_in) {
        ip = UInt32(bigEndian: a.sin_addr.s_addr)
        port = UInt16(bigEndian: a.sin_port)
    }
    var sockaddr: sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr = in_addr(s_addr: ip.bigEndian)
        return a
    }
}

/// One query as the proxy saw it.
public struct DNSProxyQuery: Sendable {
    public var client: IPv4SocketAddress
    /// The original destination (the server the pod asked).
    public var server: IPv4SocketAddress
    /// 6 (TCP) or 17 (UDP).
    public var proto: UInt8
    /// Lower-case, fully qualified; empty for a message without a question.
    public var name: String
    public var qtypes: [String]
}

/// What the proxy reports for Hubble: each request with its verdict, each answer it returned.
public struct DNSProxyEvent: Sendable {
    public enum Kind: Sendable { case request, response }
    public enum Verdict: Sendable { case forwarded, dropped, error }
    public var kind: Kind
    public var verdict: Verdict
    public var query: DNSProxyQuery
    /// For responses (and REFUSED answers): what the answer said.
    public var answer: DNSAnswer?
    /// Why a message was dropped or failed (malformed, upstream error).
    public var error: String?
    /// Responses: nanoseconds from the query to the answer.
    public var latencyNanoseconds: UInt64
    /// Wall-clock time of the event.
    public var time: timespec
}

public enum DNSProxyDecision: Sendable {
    /// Forward; upstream packets carry `mark` (the asking endpoint's identity, for the server's
    /// ingress policy).
    case allow(mark: UInt32)
    case refuse
}

public struct DNSProxyError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

public final class DNSProxyServer: @unchecked Sendable {
    /// Whether a query may be forwarded (the DNS rules of the policy entry that redirected it).
    public typealias Decide = @Sendable (DNSProxyQuery) -> DNSProxyDecision
    /// Called with every NOERROR answer before it is returned to the pod: what it names must
    /// be in the datapath when the pod sees it.
    public typealias Learn = @Sendable (DNSProxyQuery, DNSAnswer) -> Void
    public typealias Observe = @Sendable (DNSProxyEvent) -> Void

    public let port: UInt16
    /// Upstream answers later than this are dropped (the pod asks again).
    public var upstreamTimeout: Double = 5
    private let udp: Int32
    private let tcp: Int32
    private let upstream: Int32
    private let decide: Decide
    private let learn: Learn
    private let observe: Observe

    private struct Pending {
        var query: DNSProxyQuery
        var originalID: UInt16
        var sent: UInt64
    }
    private let lock = NSLock()
    private var pending: [UInt16: Pending] = [:]
    private var nextID: UInt16
    /// Transparent sockets bound to servers' addresses, to answer pods as those servers.
    private var replySockets: [IPv4SocketAddress: Int32] = [:]
    /// The mark `upstream` carries now (the UDP thread's alone).
    private var currentMark: UInt32 = 0

    static let ipTransparent: Int32 = 19  // IP_TRANSPARENT
    static let ipRecvOrigDstAddr: Int32 = 20  // IP_RECVORIGDSTADDR (and IP_ORIGDSTADDR, its cmsg type)
    static let soMark: Int32 = 36  // SO_MARK

    /// Binds UDP and TCP on `port` (0: a port the kernel chooses that is free for both) in the
    /// calling thread's network namespace.
    public init(port: UInt16, decide: @escaping Decide, learn: @escaping Learn, observe: @escaping Observe) throws {
        self.decide = decide
        self.learn = learn
        self.observe = observe
        var g = SystemRandomNumberGenerator()
        nextID = UInt16.random(in: 0...UInt16.max, using: &g)
        var chosen: (Int32, Int32, UInt16)?
        for _ in 0..<(port == 0 ? 20 : 1) {
            let u = try Self.transparentSocket(Int32(SOCK_DGRAM.rawValue))
            guard let p = Self.bind(u, IPv4SocketAddress(ip: 0, port: port)) else {
                close(u)
                throw DNSProxyError("cannot bind the DNS proxy's UDP port \(port): \(String(cString: strerror(errno)))")
            }
            var one: Int32 = 1
            setsockopt(u, Int32(SOL_IP), Self.ipRecvOrigDstAddr, &one, 4)
            let t = try Self.transparentSocket(Int32(SOCK_STREAM.rawValue))
            setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 4)
            if Self.bind(t, IPv4SocketAddress(ip: 0, port: p)) != nil, listen(t, 1024) == 0 {
                chosen = (u, t, p)
                break
            }
            close(u)
            close(t)
        }
        guard let (u, t, p) = chosen else { throw DNSProxyError("cannot bind the DNS proxy's TCP port \(port): \(String(cString: strerror(errno)))") }
        udp = u
        tcp = t
        self.port = p
        upstream = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard upstream >= 0 else { throw DNSProxyError("cannot open the DNS proxy's upstream socket: \(String(cString: strerror(errno)))") }
        var big: Int32 = 8 << 20
        setsockopt(udp, SOL_SOCKET, SO_RCVBUF, &big, 4)
        setsockopt(upstream, SOL_SOCKET, SO_RCVBUF, &big, 4)
    }

    static func transparentSocket(_ type: Int32) throws -> Int32 {
        let s = socket(AF_INET, type, 0)
        guard s >= 0 else { throw DNSProxyError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        guard setsockopt(s, Int32(SOL_IP), ipTransparent, &one, 4) == 0 else {
            close(s)
            throw DNSProxyError("IP_TRANSPARENT: \(String(cString: strerror(errno))) (the proxy needs CAP_NET_ADMIN)")
        }
        return s
    }

    /// Binds and returns the bound port, or nil.
    static func bind(_ s: Int32, _ a: IPv4SocketAddress) -> UInt16? {
        var sa = a.sockaddr
        let r = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { return nil }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        return UInt16(bigEndian: sa.sin_port)
    }

    static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    static func wallClock() -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return t
    }

    /// Starts the proxy's threads: UDP queries, upstream answers, TCP connections, timeouts.
    public func start() {
        for which in 0..<4 {
            let t = Thread { [self] in
                switch which {
                case 0: udpLoop()
                case 1: upstreamLoop()
                case 2: tcpLoop()
                default: timeoutLoop()
                }
            }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    // MARK: UDP

    private func udpLoop() -> Never {
        let batch = DatagramBatch()
        while true {
            for i in 0..<batch.receive(udp, withControl: true) {
                let (control, length) = batch.control(i)
                // Only what the datapath's redirect delivered has an original destination.
                guard let origDst = Self.originalDestination(control, length: length) else { continue }
                handleUDPQuery(batch.bytes(i), client: IPv4SocketAddress(batch.peer(i)), server: origDst)
            }
        }
    }

    /// IP_ORIGDSTADDR from the control messages (`struct cmsghdr` is 16 bytes on 64-bit Linux).
    static func originalDestination(_ c: UnsafeMutableRawBufferPointer, length: Int) -> IPv4SocketAddress? {
        var off = 0
        while off + 16 <= length {
            let len = c.loadUnaligned(fromByteOffset: off, as: Int.self)
            let level = c.loadUnaligned(fromByteOffset: off + 8, as: Int32.self)
            let type = c.loadUnaligned(fromByteOffset: off + 12, as: Int32.self)
            if len < 16 { return nil }
            if level == Int32(SOL_IP), type == ipRecvOrigDstAddr, len >= 16 + 8, off + 24 <= length {
                let port = UInt16(c[off + 18]) << 8 | UInt16(c[off + 19])
                let ip = UInt32(c[off + 20]) << 24 | UInt32(c[off + 21]) << 16 | UInt32(c[off + 22]) << 8 | UInt32(c[off + 23])
                return IPv4SocketAddress(ip: ip, port: port)
            }
            off += (len + 7) & ~7
        }
        return nil
    }

    /// Parses and decides; a malformed message is dropped (and reported), never answered.
    private func check(_ bytes: [UInt8], client: IPv4SocketAddress, server: IPv4SocketAddress, proto: UInt8) -> (DNSMessage, DNSProxyQuery, DNSProxyDecision)? {
        let m: DNSMessage
        var q = DNSProxyQuery(client: client, server: server, proto: proto, name: "", qtypes: [])
        do {
            m = try DNSMessage(parsing: bytes)
        } catch {
            report(.request, .dropped, q, error: "\(error)")
            return nil
        }
        q.name = m.questions.first.map { $0.name.lowercased.description } ?? ""
        q.qtypes = m.questions.map { DNSAnswer.typeName($0.type) }
        guard !m.isResponse, m.questions.count == 1 else {
            report(.request, .dropped, q, error: m.isResponse ? "a response sent as a query" : "a query with \(m.questions.count) questions")
            return nil
        }
        return (m, q, decide(q))
    }

    private func report(_ kind: DNSProxyEvent.Kind, _ verdict: DNSProxyEvent.Verdict, _ q: DNSProxyQuery, answer: DNSAnswer? = nil,
                        error: String? = nil, latency: UInt64 = 0) {
        observe(DNSProxyEvent(kind: kind, verdict: verdict, query: q, answer: answer, error: error, latencyNanoseconds: latency, time: Self.wallClock()))
    }

    /// The REFUSED answer to a query (Cilium's default reject response).
    static func refused(_ m: DNSMessage) -> DNSMessage {
        var r = m.response(rcode: DNSRCode.refused)
        r.additionals = []
        return r
    }

    private func handleUDPQuery(_ bytes: [UInt8], client: IPv4SocketAddress, server: IPv4SocketAddress) {
        guard let (m, q, decision) = check(bytes, client: client, server: server, proto: 17) else { return }
        switch decision {
        case .refuse:
            sendFrom(server, Self.refused(m).encoded(), to: client)
            report(.request, .dropped, q)
        case let .allow(mark):
            defer { report(.request, .forwarded, q) }  // after the query left: off its path
            lock.lock()
            var id = nextID
            while pending[id] != nil { id &+= 1 }
            nextID = id &+ 1
            pending[id] = Pending(query: q, originalID: m.id, sent: Self.now())
            lock.unlock()
            // Only this thread sends on `upstream`, so its mark needs no lock.
            if mark != currentMark {
                var mk = mark
                setsockopt(upstream, SOL_SOCKET, Self.soMark, &mk, 4)
                currentMark = mark
            }
            var out = bytes
            out[0] = UInt8(id >> 8)
            out[1] = UInt8(id & 0xFF)
            var sa = server.sockaddr
            let sent = withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(upstream, out, out.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if sent < 0 { lock.withLock { _ = pending.removeValue(forKey: id) } }
        }
    }

    private func upstreamLoop() -> Never {
        let batch = DatagramBatch()
        while true {
            for i in 0..<batch.receive(upstream, withControl: false) {
                handleUpstreamAnswer(batch.bytes(i), from: IPv4SocketAddress(batch.peer(i)))
            }
        }
    }

    private func handleUpstreamAnswer(_ received: [UInt8], from server: IPv4SocketAddress) {
        guard received.count >= 2 else { return }
        let id = UInt16(received[0]) << 8 | UInt16(received[1])
        lock.lock()
        let p = pending[id]
        // Only the server that was asked may answer (no spoofed answers from elsewhere).
        if let p, p.query.server == server { pending[id] = nil }
        lock.unlock()
        guard let p, p.query.server == server else { return }
        var bytes = received
        guard let answer = answerChecked(bytes, p.query) else { return }
        bytes[0] = UInt8(p.originalID >> 8)
        bytes[1] = UInt8(p.originalID & 0xFF)
        sendFrom(p.query.server, bytes, to: p.query.client)
        report(.response, .forwarded, p.query, answer: answer, latency: Self.now() - p.sent)
    }

    /// Parses an upstream answer and lets the caller learn from it; nil (dropped, reported) when
    /// it is malformed or does not answer the question asked.
    private func answerChecked(_ bytes: [UInt8], _ q: DNSProxyQuery) -> DNSAnswer? {
        let m: DNSMessage
        do { m = try DNSMessage(parsing: bytes) } catch {
            report(.response, .error, q, error: "\(error)")
            return nil
        }
        let a = DNSAnswer(m)
        guard m.isResponse, a.query == q.name || m.questions.isEmpty else {
            report(.response, .error, q, error: "the answer is not for the question asked")
            return nil
        }
        if a.rcode == DNSRCode.noError && !a.ips.isEmpty { learn(q, a) }
        return a
    }

    /// Sends as `server` (a transparent socket bound to its address), so the pod's answer comes
    /// from where it sent the query.
    private func sendFrom(_ server: IPv4SocketAddress, _ bytes: [UInt8], to client: IPv4SocketAddress) {
        lock.lock()
        var s = replySockets[server]
        if s == nil, let t = try? Self.transparentSocket(Int32(SOCK_DGRAM.rawValue)) {
            var one: Int32 = 1
            setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 4)
            var small: Int32 = 4096  // never read: nothing should queue there
            setsockopt(t, SOL_SOCKET, SO_RCVBUF, &small, 4)
            if Self.bind(t, server) != nil { replySockets[server] = t; s = t } else { close(t) }
        }
        lock.unlock()
        guard let s else { return }
        var sa = client.sockaddr
        _ = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(s, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    private func timeoutLoop() -> Never {
        while true {
            usleep(250_000)
            let limit = UInt64(upstreamTimeout * 1e9)
            lock.lock()
            let now = Self.now()
            // An unanswered query gets no answer (as Cilium): the pod's resolver asks again.
            pending = pending.filter { $0.value.sent &+ limit > now }
            lock.unlock()
        }
    }


    // MARK: TCP

    private func tcpLoop() -> Never {
        while true {
            var peer = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let c = withUnsafeMutablePointer(to: &peer) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(tcp, $0, &len) } }
            guard c >= 0 else { continue }
            // The accepted socket's own address is the server the pod connected to.
            var local = sockaddr_in()
            var llen = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &local) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(c, $0, &llen) } }
            let client = IPv4SocketAddress(peer), server = IPv4SocketAddress(local)
            let t = Thread { [self] in
                serveTCP(c, client: client, server: server)
                close(c)
            }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// One pod connection: each length-prefixed query is decided and answered in turn over one
    /// upstream connection to the same server.
    private func serveTCP(_ c: Int32, client: IPv4SocketAddress, server: IPv4SocketAddress) {
        Self.setSendTimeout(c, upstreamTimeout)
        var up: Int32 = -1
        defer { if up >= 0 { close(up) } }
        while let bytes = DNSStream.readMessage(c, timeout: upstreamTimeout * 2) {
            guard let (m, q, decision) = check(bytes, client: client, server: server, proto: 6) else { return }
            switch decision {
            case .refuse:
                report(.request, .dropped, q)
                guard DNSStream.writeMessage(c, Self.refused(m).encoded()) else { return }
            case let .allow(mark):
                report(.request, .forwarded, q)
                let start = Self.now()
                if up < 0 {
                    up = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    var mk = mark
                    setsockopt(up, SOL_SOCKET, Self.soMark, &mk, 4)
                    Self.setSendTimeout(up, upstreamTimeout)
                    var sa = server.sockaddr
                    let r = withUnsafePointer(to: &sa) { p in
                        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(up, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    if r != 0 {
                        report(.response, .error, q, error: "cannot connect to \(server): \(String(cString: strerror(errno)))")
                        return
                    }
                }
                guard DNSStream.writeMessage(up, bytes), var reply = DNSStream.readMessage(up, timeout: upstreamTimeout) else {
                    report(.response, .error, q, error: "no answer from \(server)")
                    return
                }
                guard reply.count >= 2, reply[0] == bytes[0], reply[1] == bytes[1], let answer = answerChecked(reply, q) else { return }
                reply[0] = bytes[0]
                reply[1] = bytes[1]
                guard DNSStream.writeMessage(c, reply) else { return }
                report(.response, .forwarded, q, answer: answer, latency: Self.now() - start)
            }
        }
    }

    /// Writes time out too (reads have their deadlines in DNSStream).
    static func setSendTimeout(_ s: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
}
