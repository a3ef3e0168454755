// Request/response over unix stream sockets: the client writes one JSON request and shuts its
// side down, the server answers with one JSON response and closes. Sockets are files, so they
// work across network namespaces (the agents live in their nodes' namespaces) and carry
// permissions: the directory and the socket are root-only.
import CProcessShim
import Foundation
import Glibc

public enum UnixSocket {
    static func address(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw ClusterError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return addr
    }

    static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n > 0 { data.append(contentsOf: buf[0..<n]) } else if n < 0 && errno == EINTR { continue } else { break }
        }
        return data
    }

    static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
    }

    /// Sends one request and waits for the response, at most `timeout` seconds for each read or
    /// write (a daemon that hangs must not hang its callers, and `porin down` must get through).
    public static func call<Req: Encodable, Resp: Decodable>(_ path: String, _ request: Req, as: Resp.Type, timeout: Int = 300) throws -> Resp {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = try address(path)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard r == 0 else { throw ClusterError("cannot connect to \(path): \(String(cString: strerror(errno)))") }
        guard writeAll(fd, try JSONEncoder().encode(request)) else { throw ClusterError("writing to \(path): \(String(cString: strerror(errno)))") }
        shutdown(fd, Int32(SHUT_WR))
        let data = readAll(fd)
        guard !data.isEmpty else { throw ClusterError("\(path) closed the connection without an answer (or timed out after \(timeout) s)") }
        return try JSONDecoder().decode(Resp.self, from: data)
    }

    /// Whether something accepts connections at `path`.
    public static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, var addr = try? address(path) else { return false }
        defer { close(fd) }
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } } == 0
    }
}

/// A server that handles one connection at a time on its own thread (the daemons' state is
/// changed by one request at a time, in order).
public final class UnixSocketServer<Req: Decodable & Sendable, Resp: Encodable & Sendable>: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let handler: @Sendable (Req) -> Resp
    private let invalid: @Sendable (String) -> Resp

    /// Binds `path` (replacing a stale socket), root-only.
    public init(path: String, invalid: @escaping @Sendable (String) -> Resp, handler: @escaping @Sendable (Req) -> Resp) throws {
        self.path = path
        self.handler = handler
        self.invalid = invalid
        // A client that goes away before the answer (a readiness probe just connects and
        // closes) must not kill the daemon.
        signal(SIGPIPE, SIG_IGN)
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket: \(String(cString: strerror(errno)))") }
        var addr = try UnixSocket.address(path)
        let old = umask(0o177)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        umask(old)
        guard r == 0, listen(fd, 64) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw ClusterError("cannot listen on \(path): \(e)")
        }
    }

    /// Serves forever on a new thread.
    public func start() {
        let t = Thread { [self] in
            while true {
                let c = porin_accept_cloexec(fd)
                if c < 0 { if errno == EINTR || errno == ECONNABORTED { continue }; return }
                let data = UnixSocket.readAll(c)
                if data.isEmpty { close(c); continue }
                let resp: Resp
                do { resp = handler(try JSONDecoder().decode(Req.self, from: data)) } catch { resp = invalid("malformed request: \(error)") }
                if let out = try? JSONEncoder().encode(resp) { _ = UnixSocket.writeAll(c, out) }
                close(c)
            }
        }
        t.stackSize = 8 << 20
        t.start()
    }
}
