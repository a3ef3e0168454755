// `porin dns-server` on loopback, asked by the real `dig`: kube-dns answers, NXDOMAIN, forwarding
// to an upstream (the simulated world's resolver), reloading records, surviving garbage.
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
}
