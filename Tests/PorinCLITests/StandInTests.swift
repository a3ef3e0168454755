// The stand-in server, as pods run it: HTTP 200 on HEAD/GET, echo elsewhere (loopback only).
import Foundation
import Testing

@Suite("porin standin", .enabled(if: FileManager.default.isExecutableFile(atPath: porinBinary().path)))
struct StandInTests {
    @Test("HTTP ports answer HEAD and GET with 200 OK; other ports echo; bad ports are refused")
    func serves() throws {
        let http = 20000 + Int(getpid() % 20000), echo = http + 1
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
        _ = msg.withUnsafeBytes { send(s, $0.baseAddress!, msg.count, 0) }
        var buf = [UInt8](repeating: 0, count: 16)
        let n = recv(s, &buf, buf.count, 0)
        #expect(Array(buf.prefix(max(n, 0))) == msg)
        let bad = try porin(["standin", "--port", "70000"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("expected PORT (1-65535)"))
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
