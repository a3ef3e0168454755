// DNS messages: round trips, compression, and every way a packet can lie.
import DNS
import Testing

@Suite("DNS messages")
struct DNSMessageTests {
    func query(_ name: String, _ type: UInt16 = DNSType.a, id: UInt16 = 0x1234) throws -> DNSMessage {
        DNSMessage(id: id, questions: [DNSQuestion(name: try DNSName(name), type: type)])
    }

    @Test("a query encodes as dig sends it and parses back")
    func queryRoundTrip() throws {
        let q = try query("api.twitter.com")
        let bytes = q.encoded()
        #expect(bytes == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                          3, 0x61, 0x70, 0x69, 7, 0x74, 0x77, 0x69, 0x74, 0x74, 0x65, 0x72, 3, 0x63, 0x6F, 0x6D, 0, 0, 1, 0, 1])
        let back = try DNSMessage(parsing: bytes)
        #expect(back == q)
        #expect(back.questions[0].name.description == "api.twitter.com.")
    }

    @Test("a response with A and CNAME records compresses names and parses back")
    func responseRoundTrip() throws {
        let q = try query("www.google.com")
        var r = q.response(answers: [
            DNSRecord(name: try DNSName("www.google.com"), type: DNSType.cname, ttl: 300, data: .cname(try DNSName("google.com"))),
            DNSRecord(name: try DNSName("google.com"), type: DNSType.a, ttl: 30, data: .a(0xC000_020A)),
        ])
        r.authoritative = true
        let bytes = r.encoded()
        // "google.com" is written once: later occurrences are pointers.
        let plain = 12 + (16 + 4) + (2 + 10 + 6 + 12) + (12 + 10 + 4)
        #expect(bytes.count < plain)
        let back = try DNSMessage(parsing: bytes)
        #expect(back == r)
        #expect(back.answers[1].ipv4Text == "192.0.2.10")
        #expect(back.isResponse && back.authoritative && back.recursionDesired && back.rcode == 0)
    }

    @Test("names compare case-insensitively; subdomains")
    func names() throws {
        #expect(try DNSName("API.Twitter.com.") == DNSName("api.twitter.com"))
        #expect(try DNSName("backend-service.tenant-b.svc.cluster.local").isSubdomain(of: DNSName("cluster.local")))
        #expect(try !DNSName("cluster.localhost").isSubdomain(of: DNSName("cluster.local")))
        #expect(throws: DNSError.self) { try DNSName("a..b") }
        #expect(throws: DNSError.self) { try DNSName(String(repeating: "x", count: 64) + ".com") }
        #expect(throws: DNSError.self) { try DNSName(Array(repeating: String(repeating: "x", count: 63), count: 5).joined(separator: ".")) }
        #expect(DNSType.name(28) == "AAAA" && DNSType.name(99) == "TYPE99")
    }

    @Test("a dot, backslash or unprintable byte inside a label is escaped, so one label never reads as several (found by fuzzing the proxy)")
    func escapedLabels() throws {
        #expect(DNSName(labels: ["api.twitter.com"]).description == "api\\.twitter\\.com.")
        #expect(DNSName(labels: ["a\\b", "c d", "x\u{7F}", "\"q\"", "é"]).description == "a\\\\b.c\\ d.x\\127.\\\"q\\\".\\195\\169.")
        // Through the wire: the proxy's policy check sees the escaped name.
        var q = DNSMessage(id: 1, questions: [DNSQuestion(name: DNSName(labels: ["tt."]), type: DNSType.a)])
        q = try DNSMessage(parsing: q.encoded())
        #expect(q.questions[0].name.description == "tt\\..")
        #expect(q.questions[0].name != (try DNSName("tt")))
    }

    @Test("every truncation of a valid response is rejected, never crashes")
    func truncations() throws {
        let r = try query("backend-service.tenant-a.svc.cluster.local").response(answers: [
            DNSRecord(name: try DNSName("backend-service.tenant-a.svc.cluster.local"), type: DNSType.a, ttl: 30, data: .a(0x0A60_104B)),
        ])
        let bytes = r.encoded()
        for n in 0..<bytes.count {
            #expect(throws: DNSError.self) { try DNSMessage(parsing: Array(bytes.prefix(n))) }
        }
        #expect(try DNSMessage(parsing: bytes) == r)
    }

    @Test("compression pointers that loop or point forward are rejected")
    func compressionLoops() {
        // Header with one question whose name is a pointer to itself (offset 12).
        let selfLoop: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSError.compressionLoop) { try DNSMessage(parsing: selfLoop) }
        // Two pointers pointing at each other.
        let pingPong: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xC0, 16, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(parsing: pingPong) }
        // A forward pointer.
        let forward: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 20, 0, 1, 0, 1, 0, 0, 1, 0x61, 0]
        #expect(throws: DNSError.compressionLoop) { try DNSMessage(parsing: forward) }
    }

    @Test("counts that cannot fit, reserved label types, bad record lengths and oversized input are rejected")
    func lies() throws {
        var bytes = try query("a.example").encoded()
        bytes[7] = 200  // 200 answers in a 27-byte message
        #expect(throws: DNSError.self) { try DNSMessage(parsing: bytes) }
        var reserved = try query("a.example").encoded()
        reserved[12] = 0x41  // label type 01
        #expect(throws: DNSError.self) { try DNSMessage(parsing: reserved) }
        // A CNAME whose data length is longer than its name.
        var r = try query("a.example").response(answers: [DNSRecord(name: try DNSName("a.example"), type: DNSType.cname, ttl: 1, data: .cname(try DNSName("b.example")))])
        var enc = r.encoded()
        // The record ends with rdlength (2 bytes) and the compressed name: 1 "b" + a pointer.
        #expect(Array(enc.suffix(6).prefix(4)) == [0, 4, 1, 0x62])
        enc[enc.count - 5] = 5  // claim one more byte of data than the name uses
        enc.append(0)
        #expect(throws: DNSError.self) { try DNSMessage(parsing: enc) }
        r.answers = []
        #expect(throws: DNSError.tooLarge(70000)) { try DNSMessage(parsing: [UInt8](repeating: 0, count: 70000)) }
        // A name over 255 bytes through a chain of labels.
        var long: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for _ in 0..<5 { long.append(63); long.append(contentsOf: [UInt8](repeating: 0x61, count: 63)) }
        long += [0, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(parsing: long) }
    }

    @Test("a label that is not UTF-8 is refused (found by fuzzing: decoding changed it, so the message no longer round-tripped)")
    func nonUTF8Label() throws {
        var m: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        m += [3, 0x61, 0x70, 0x69, 2, 0x81, 0x80, 0, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(parsing: m) }
        // Every message that parses encodes into one that parses to the same.
        let ok = try DNSMessage(parsing: [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x70, 0x69, 0, 0, 1, 0, 1])
        #expect(try DNSMessage(parsing: ok.encoded()) == ok)
    }
}
