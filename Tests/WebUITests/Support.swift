// What the web server tests share: a fake WebHandling with canned JSON and a change stream the test
// pushes into, and a raw HTTP/1.1 client over a socket (raw, so a test can send any Host or Origin
// header and read a server-sent event stream as it arrives).
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import UIModel
@testable import WebUI

final class FakeHandler: WebHandling, @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [WebRequest] = []
    private var subscribers: [UUID: AsyncStream<UInt64>.Continuation] = [:]
    /// Returns the response for a request; the default answers the map and echoes the rest.
    var respond: @Sendable (WebRequest) -> WebResponse = FakeHandler.canned

    var received: [WebRequest] { lock.withLock { requests } }
    var subscriberCount: Int { lock.withLock { subscribers.count } }

    func handle(_ request: WebRequest) async -> WebResponse {
        lock.withLock { requests.append(request) }
        return respond(request)
    }

    func changes() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream<UInt64>.makeStream()
        let id = UUID()
        lock.withLock { subscribers[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.lock.withLock { _ = self.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    func push(_ seq: UInt64) {
        for c in lock.withLock({ Array(subscribers.values) }) { c.yield(seq) }
    }

    static let map = MapResponse(
        seq: 7,
        nodes: [
            Card(id: "pod:tenant-a/frontend-service", kind: "workload", namespace: "tenant-a", name: "frontend-service",
                 labels: ["app=frontend-service"], pods: ["frontend-service"]),
            Card(id: "pod:tenant-b/backend-service", kind: "workload", namespace: "tenant-b", name: "backend-service",
                 labels: ["app=backend-service"], pods: ["backend-service"], ports: ["80/TCP"]),
        ],
        edges: [
            MapEdge(id: "e1", from: "pod:tenant-a/frontend-service", to: "pod:tenant-b/backend-service", port: 80, protocol: "TCP",
                    forwarded: 0, dropped: 3, lastSeen: "2024-05-30T00:34:48.257123456Z", dns: [],
                    droppedBy: [PolicyRef(kind: "CiliumNetworkPolicy", namespace: "tenant-a", name: "default")]),
        ])

    @Sendable static func canned(_ r: WebRequest) -> WebResponse {
        if r.method == "GET" && r.path == "/api/map" {
            return WebResponse(body: Array(try! JSONEncoder().encode(map)))
        }
        return WebResponse(status: 201, body: Array(#"{"echo":true}"#.utf8))
    }
}

struct HTTPReply {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

enum RawHTTP {
    /// A connected socket to 127.0.0.1:port with a receive timeout.
    static func connect(_ port: Int, timeout: Double = 5) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: errno \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else { close(fd); throw Failure("connect to \(port): errno \(errno)") }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }   // the server may close early (413): the reply is still readable
            off += n
        }
    }

    /// Reads until `done` says the bytes so far are enough, the peer closes, or the timeout.
    static func read(_ fd: Int32, until done: ([UInt8]) -> Bool = { _ in false }) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while !done(out) {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    /// One request with `Connection: close`; `host` nil sends no Host header at all.
    static func request(_ port: Int, _ method: String, _ target: String, host: String? = "default", headers: [(String, String)] = [],
                        body: [UInt8] = []) throws -> HTTPReply {
        let fd = try connect(port)
        defer { close(fd) }
        var head = "\(method) \(target) HTTP/1.1\r\n"
        if let host { head += "Host: \(host == "default" ? "127.0.0.1:\(port)" : host)\r\n" }
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if !body.isEmpty || ["POST", "PUT"].contains(method) { head += "Content-Length: \(body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        send(fd, Array(head.utf8) + body)
        return try parse(read(fd))
    }

    static func parse(_ raw: [UInt8]) throws -> HTTPReply {
        guard let split = find(raw, Array("\r\n\r\n".utf8)) else { throw Failure("no complete reply: \(String(decoding: raw, as: UTF8.self))") }
        let lines = String(decoding: raw[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { throw Failure("bad status line: \(lines.first ?? "")") }
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let c = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<c]), line[line.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(raw[(split + 4)...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased() == "chunked" }) { body = dechunk(body) }
        return HTTPReply(status: status, headers: headers, body: body)
    }

    static func dechunk(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while let eol = find(Array(b[i...]), Array("\r\n".utf8)) {
            guard let size = Int(String(decoding: b[i..<(i + eol)], as: UTF8.self), radix: 16), size > 0 else { break }
            let start = i + eol + 2
            guard start + size <= b.count else { out += b[start...]; break }
            out += b[start..<(start + size)]
            i = start + size + 2
            if i >= b.count { break }
        }
        return out
    }

    static func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The repository's root, from this file's path.
func repoRoot(_ file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
