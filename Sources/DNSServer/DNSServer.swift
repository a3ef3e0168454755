// Porin's DNS server: kube-dns for `cluster.local` (and the simulated world's resolver) over UDP.
// Answers from a records file that the agent rewrites (reloaded when it changes), forwards other
// names upstream, and drops malformed packets without ever stopping.
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
    let recordsPath: String?
    let zones: [DNSName]
    let ttl: UInt32
    let upstream: sockaddr_in?
    private var resolver: ZoneResolver
    private var recordsMTime: timespec = timespec()
    private let lock = NSLock()
    public private(set) var malformed = 0

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

    public init(listen: String, zones: [DNSName], recordsPath: String?, upstream: String?, ttl: UInt32 = 30) throws {
        self.zones = zones
        self.recordsPath = recordsPath
        self.ttl = ttl
        self.upstream = try upstream.map(Self.address)
        resolver = ZoneResolver(zones: zones, ttl: ttl)
        var a = try Self.address(listen)
        socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { throw DNSServerError("cannot listen on \(listen): \(String(cString: strerror(errno)))") }
        try reloadIfChanged()
    }

    /// Re-reads the records file when its modification time changed.
    func reloadIfChanged() throws {
        guard let path = recordsPath else { return }
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        if st.st_mtim.tv_sec == recordsMTime.tv_sec && st.st_mtim.tv_nsec == recordsMTime.tv_nsec { return }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let r = try DNSRecordsFile.parse(text, zones: zones, ttl: ttl)
        lock.lock()
        resolver = r
        recordsMTime = st.st_mtim
        lock.unlock()
    }

    /// Serves forever.
    public func serve() -> Never {
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

    func handle(_ packet: [UInt8], from peer: sockaddr_in) {
        let query: DNSMessage
        do { query = try DNSMessage(parsing: packet) } catch {
            // Malformed: answer FORMERR when at least the id is there, else drop.
            malformed += 1
            if packet.count >= 2 {
                var r = DNSMessage(id: UInt16(packet[0]) << 8 | UInt16(packet[1]), isResponse: true, rcode: DNSRCode.formatError)
                r.recursionDesired = false
                send(r.encoded(), to: peer)
            }
            return
        }
        lock.lock()
        let outcome = resolver.resolve(query)
        lock.unlock()
        switch outcome {
        case let .answer(m): send(m.encoded(), to: peer)
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
}
