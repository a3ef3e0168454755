// The control plane's Prometheus endpoint: GET /metrics on 127.0.0.1 only, answered with the
// nodes' Hubble metrics. A minimal HTTP/1.1 server (one request per connection).
import ClusterAPI
import Foundation
import Glibc

final class MetricsHTTPServer: @unchecked Sendable {
    private let fd: Int32
    private let body: @Sendable () -> String?

    init(port: UInt16, body: @escaping @Sendable () -> String?) throws {
        self.body = body
        signal(SIGPIPE, SIG_IGN)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0, listen(fd, 16) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw ClusterError("cannot listen on 127.0.0.1:\(port): \(e)")
        }
    }

    func start() {
        Thread.detachNewThread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { if errno == EINTR { continue }; return }
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                var tv = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(c, &buf, buf.count)
                let request = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
                let line = request.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
                let response: String
                if line.hasPrefix("GET /metrics ") || line == "GET /metrics" {
                    if let text = body() {
                        response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n" + text
                    } else {
                        let t = "no node answers\n"
                        response = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: \(t.utf8.count)\r\nConnection: close\r\n\r\n" + t
                    }
                } else {
                    let t = "404 page not found\n"
                    response = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(t.utf8.count)\r\nConnection: close\r\n\r\n" + t
                }
                _ = response.withCString { write(c, $0, strlen($0)) }
                close(c)
            }
        }
    }
}
