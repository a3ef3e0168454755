// Porin's stand-in server: what a pod whose manifest names only an image runs, so that manifests
// written for container images still give a working lab. HTTP ports answer `HEAD`/`GET` with
// `HTTP/1.1 200 OK` and a small HTML page; other TCP ports echo what they receive. The simulated
// world's hosts also run it, with redirect ports and, for HTTPS, the same answers over TLS.
import CTLS
import Foundation
import Glibc

public struct StandInPort: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case http, echo, redirect }
    public var port: UInt16
    public var kind: Kind
    /// For `redirect`: where `301 Moved Permanently` points (the simulated world's hosts).
    public var location: String?
    /// Served over TLS (HTTPS) with the server's one certificate: http and redirect ports only.
    public var tls: Bool
    public init(port: UInt16, kind: Kind, location: String? = nil, tls: Bool = false) {
        self.port = port
        self.kind = kind
        self.location = location
        self.tls = tls
    }

    /// A container port is served as HTTP when its name starts with `http` or its number is a
    /// usual HTTP port; anything else echoes.
    public static func forContainerPort(_ port: Int, name: String?) -> StandInPort {
        let http = (name?.hasPrefix("http") ?? false) || [80, 8000, 8080, 8888].contains(port)
        return StandInPort(port: UInt16(port), kind: http ? .http : .echo)
    }

    /// Parses `PORT` (echo), `PORT:http`, `PORT:echo`, `PORT:redirect:URL`, and the same over
    /// TLS: `PORT:tls-http`, `PORT:tls-redirect:URL` (there is no `tls-echo`).
    public init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 2).map(String.init)
        guard let p = UInt16(parts.first ?? ""), p > 0 else { return nil }
        var name = parts.count >= 2 ? parts[1] : Kind.echo.rawValue
        let tls = name.hasPrefix("tls-")
        if tls { name.removeFirst(4) }
        guard let kind = Kind(rawValue: name), !(tls && kind == .echo) else { return nil }
        if kind == .redirect {
            guard parts.count == 3, parts[2].hasPrefix("http://") || parts[2].hasPrefix("https://") else { return nil }
            self.init(port: p, kind: kind, location: parts[2], tls: tls)
        } else {
            guard parts.count <= 2 else { return nil }
            self.init(port: p, kind: kind, tls: tls)
        }
    }

    public var description: String {
        let kind = (tls ? "tls-" : "") + self.kind.rawValue
        return location.map { "\(port):\(kind):\($0)" } ?? "\(port):\(kind)"
    }
}

public enum StandInServer {
    /// The page HTTP ports serve (the lab's backend answers with a small HTML page).
    public static func page(host: String) -> String {
        """
        <!DOCTYPE html>
        <html><head><title>Porin stand-in</title></head>
        <body><h1>\(host)</h1><p>Served by Porin's stand-in server in place of a container image.</p></body></html>

        """
    }

    /// Listens on every port (on `address`, or all addresses) and serves until the process ends.
    /// TLS ports need `tls`.
    public static func run(ports: [StandInPort], hostName: String, address: UInt32 = 0, tls: StandInTLS? = nil) throws -> Never {
        if ports.contains(where: \.tls) {
            guard tls != nil else { throw NSError(domain: "porin.standin", code: 0, userInfo: [NSLocalizedDescriptionKey: "TLS ports need a certificate and key"]) }
            // SSL_write writes with write(2), which raises SIGPIPE when the client is gone (the
            // plain ports send with MSG_NOSIGNAL instead); the server must outlive such clients.
            signal(SIGPIPE, SIG_IGN)
        }
        var listeners: [(Int32, StandInPort)] = []
        for p in ports {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = p.port.bigEndian
            a.sin_addr = in_addr(s_addr: address.bigEndian)
            let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard r == 0, listen(s, 128) == 0 else {
                throw NSError(domain: "porin.standin", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "cannot listen on port \(p.port): \(String(cString: strerror(errno)))"])
            }
            listeners.append((s, p))
        }
        for (s, p) in listeners.dropLast() {
            Thread.detachNewThread { acceptLoop(s, p, hostName, tls) }
        }
        if let (s, p) = listeners.last { acceptLoop(s, p, hostName, tls) }
        while true { pause() }
    }

    static func acceptLoop(_ s: Int32, _ p: StandInPort, _ host: String, _ tls: StandInTLS?) -> Never {
        while true {
            let c = accept(s, nil, nil)
            if c < 0 { continue }
            Thread.detachNewThread {
                defer { close(c) }
                switch p.kind {
                case .echo: echo(c)
                case .http, .redirect:
                    if p.tls, let tls {
                        tls.serve(c) { read, write in http(read: read, write: write, host, redirect: p.location) }
                    } else {
                        http(read: { recv(c, $0.baseAddress, $0.count, 0) },
                             write: { b in b.withUnsafeBytes { send(c, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) } == b.count },
                             host, redirect: p.location)
                    }
                }
            }
        }
    }

    static func echo(_ c: Int32) {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(c, &buf, buf.count, 0)
            if n <= 0 { return }
            var off = 0
            while off < n {
                let w = buf.withUnsafeBytes { send(c, $0.baseAddress! + off, n - off, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { return }
                off += w
            }
        }
    }

    /// Answers requests on one connection (keep-alive, as curl and browsers expect). `read`
    /// returns the bytes read (≤ 0: closed or failed); `write` sends all or says it could not.
    static func http(read: (UnsafeMutableRawBufferPointer) -> Int, write: ([UInt8]) -> Bool, _ host: String, redirect: String?) {
        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            // Read up to the end of the request head; request bodies are not expected.
            while pending.count < 65536 {
                if let end = headEnd(pending) {
                    let head = String(decoding: pending[..<end], as: UTF8.self)
                    pending.removeFirst(end + 4)
                    let response = respond(to: head, host: host, redirect: redirect)
                    if !write(response) || head.lowercased().contains("connection: close") { return }
                    break
                }
                let n = buf.withUnsafeMutableBytes { read($0) }
                if n <= 0 { return }
                pending.append(contentsOf: buf[..<n])
            }
            if pending.count >= 65536 { return }
        }
    }

    static func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    static func respond(to head: String, host: String, redirect: String? = nil) -> [UInt8] {
        let requestLine = head.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = requestLine.split(separator: " ")
        let method = parts.first.map(String.init) ?? ""
        let body = page(host: host)
        let date = httpDate()
        func reply(_ status: String, _ text: String, includeBody: Bool) -> [UInt8] {
            var r = "HTTP/1.1 \(status)\r\nServer: porin-standin\r\nDate: \(date)\r\n"
            if let redirect, status.hasPrefix("301") { r += "Location: \(redirect)\r\n" }
            r += "Content-Type: text/html; charset=UTF-8\r\nContent-Length: \(text.utf8.count)\r\n\r\n"
            if includeBody { r += text }
            return Array(r.utf8)
        }
        guard parts.count == 3, parts[2].hasPrefix("HTTP/") else { return reply("400 Bad Request", "bad request\n", includeBody: true) }
        let status = redirect == nil ? "200 OK" : "301 Moved Permanently"
        switch method {
        case "GET": return reply(status, body, includeBody: true)
        case "HEAD": return reply(status, body, includeBody: false)
        default: return reply("405 Method Not Allowed", "method not allowed\n", includeBody: true)
        }
    }

    static func httpDate() -> String {
        var t = time(nil)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        var buf = [Int8](repeating: 0, count: 64)
        strftime(&buf, buf.count, "%a, %d %b %Y %H:%M:%S GMT", &tmv)
        return String(cString: buf)
    }
}
