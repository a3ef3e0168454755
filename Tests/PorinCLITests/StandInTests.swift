// The stand-in server, as pods run it: HTTP 200 on HEAD/GET, echo elsewhere; and as the world's
// HTTPS hosts run it: the same answers over TLS (loopback only).
import Foundation
import Testing

@Suite("porin standin", .enabled(if: FileManager.default.isExecutableFile(atPath: porinBinary().path)))
struct StandInTests {
    @Test("HTTP ports answer HEAD and GET with 200 OK; other ports echo; bad ports are refused")
    func serves() throws {
        // Offset from ClusterTests' metrics port (20000 + pid % 20000): both run in this process.
        let http = 20000 + Int((getpid() + 3) % 20000), echo = http + 1
        let p = Process()
        p.executableURL = porinBinary()
        p.arguments = ["standin", "--port", "\(http):http", "--port", "\(echo)", "--hostname", "backend-service"]
        try p.run()
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        var head = ""
        for _ in 0..<50 {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            c.arguments = ["-sI", "--max-time", "1", "http://127.0.0.1:\(http)/"]
            let out = Pipe()
            c.standardOutput = out
            try c.run()
            head = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            c.waitUntilExit()
            if c.terminationStatus == 0 { break }
            usleep(100_000)
        }
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.contains("Content-Type: text/html"))
        let get = try porinCurl(["-s", "http://127.0.0.1:\(http)/"])
        #expect(get.contains("<h1>backend-service</h1>"))
        // Echo: what goes in comes back.
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(echo).bigEndian
        a.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(r == 0)
        let msg = Array("porin\n".utf8)
        _ = msg.withUnsafeBytes { send(s, $0.baseAddress!, msg.count, Int32(MSG_NOSIGNAL)) }  // a failed connect must not SIGPIPE the test run
        var buf = [UInt8](repeating: 0, count: 16)
        let n = recv(s, &buf, buf.count, 0)
        #expect(Array(buf.prefix(max(n, 0))) == msg)
        let bad = try porin(["standin", "--port", "70000"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("expected PORT (1-65535)"))
    }
}

extension StandInTests {
    @Test("TLS ports: HTTPS with the given certificate, ALPN http/1.1; bad TLS arguments are refused")
    func tls() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porin-standin-tls-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cert = "\(dir)/c.pem", key = "\(dir)/k.pem"
        let mk = Process()
        mk.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        mk.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
        mk.standardError = FileHandle.nullDevice
        try mk.run()
        mk.waitUntilExit()
        try #require(mk.terminationStatus == 0, "openssl req")

        let https = 20000 + Int((getpid() + 7) % 20000), redirect = https + 1  // clear of the ports above and ClusterTests'
        let p = Process()
        p.executableURL = porinBinary()
        p.arguments = ["standin", "--address", "127.0.0.1", "--hostname", "secure", "--port", "\(https):tls-http",
                       "--port", "\(redirect):tls-redirect:https://www.example.com/", "--tls-cert", cert, "--tls-key", key]
        try p.run()
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        // %{http_version}: what ALPN settled on (curl offers h2 first).
        let trusted = ["-sI", "--max-time", "1", "--cacert", cert, "-w", "version=%{http_version}"]
        var head = ""
        for _ in 0..<50 {
            head = try porinCurl(trusted + ["https://localhost:\(https)/"])
            if head.hasPrefix("HTTP/") { break }
            usleep(100_000)
        }
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.hasSuffix("version=1.1"), "\(head)")
        #expect(try porinCurl(["-s", "--cacert", cert, "https://localhost:\(https)/"]).contains("<h1>secure</h1>"))
        let moved = try porinCurl(trusted + ["https://localhost:\(redirect)/"])
        #expect(moved.hasPrefix("HTTP/1.1 301 Moved Permanently\r\n") && moved.contains("Location: https://www.example.com/\r\n"), "\(moved)")
        // Not trusted: no answer, and the server lives on for the next client.
        #expect(try porinCurl(["-sI", "--max-time", "1", "https://localhost:\(https)/"]).isEmpty)
        #expect(try porinCurl(trusted + ["https://localhost:\(https)/"]).hasPrefix("HTTP/1.1 200 OK"))

        for (args, message) in [
            (["--port", "443:tls-echo"], "expected PORT (1-65535)"),
            (["--port", "443:tls-http"], "tls- ports need --tls-cert and --tls-key"),
            (["--port", "443:tls-redirect:ftp://x/", "--tls-cert", cert, "--tls-key", key], "expected PORT (1-65535)"),
            (["--port", "80:http", "--tls-cert", cert, "--tls-key", key], "no --port is one"),
            (["--port", "443:tls-http", "--tls-cert", cert], "give --tls-cert and --tls-key together"),
        ] {
            let r = try porin(["standin"] + args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        let wrongKey = try porin(["standin", "--address", "127.0.0.1", "--port", "\(https + 2):tls-http", "--tls-cert", cert, "--tls-key", cert])
        #expect(wrongKey.status != 0 && wrongKey.stderr.contains("TLS: key \(cert)"), "\(wrongKey.stderr)")
    }
}

func porinCurl(_ args: [String]) throws -> String {
    let c = Process()
    c.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    c.arguments = args
    let out = Pipe()
    c.standardOutput = out
    try c.run()
    let d = out.fileHandleForReading.readDataToEndOfFile()
    c.waitUntilExit()
    return String(decoding: d, as: UTF8.self)
}
