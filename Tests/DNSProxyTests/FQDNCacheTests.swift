// The DNS proxy's pure parts: what an answer says (TTL, addresses, CNAMEs, as Cilium extracts
// them) and what the FQDN cache keeps, renews, expires and spares for live connections.
import DNS
import DNSProxy
import Foundation
import PolicyAPI
import PolicyEngine
import Testing

@Suite("DNS proxy: answers and the FQDN cache")
struct FQDNCacheTests {
    static let twitter: UInt32 = 0xC000_020A  // 192.0.2.10
    static let google: UInt32 = 0xC000_0214  // 192.0.2.20

    func answer(_ records: [DNSRecord], rcode: UInt8 = 0, name: String = "www.google.com.", type: UInt16 = DNSType.a) throws -> DNSAnswer {
        var m = DNSMessage(id: 7, isResponse: true, rcode: rcode, questions: [DNSQuestion(name: try DNSName(name), type: type)])
        m.answers = records
        // Through the wire format, as the proxy sees it.
        return DNSAnswer(try DNSMessage(parsing: m.encoded()))
    }

    @Test("an answer's TTL is the minimum over A and CNAME records; addresses and CNAMEs in answer order")
    func answerDetails() throws {
        let a = try answer([
            DNSRecord(name: try DNSName("www.google.com"), type: DNSType.cname, ttl: 300, data: .cname(try DNSName("Google.com"))),
            DNSRecord(name: try DNSName("google.com"), type: DNSType.a, ttl: 60, data: .a(Self.google)),
            DNSRecord(name: try DNSName("google.com"), type: DNSType.a, ttl: 120, data: .a(Self.twitter)),
        ], name: "WWW.Google.com.")
        #expect(a.query == "www.google.com.")
        #expect(a.qtypes == ["A"])
        #expect(a.ttl == 60)
        #expect(a.ips == ["192.0.2.20", "192.0.2.10"])
        #expect(a.ipv4 == [Self.google, Self.twitter])
        #expect(a.cnames == ["Google.com."], "CNAME targets as written, as Cilium reports them")
        #expect(a.rrtypes == ["CNAME", "A", "A"])
    }

    @Test("without A, AAAA or CNAME records the TTL is 4294967295 (Cilium starts from the maximum)")
    func noRecords() throws {
        let a = try answer([], rcode: DNSRCode.nameError)
        #expect(a.ttl == UInt32.max)
        #expect(a.ips.isEmpty && a.rcode == 3)
    }

    @Test("AAAA addresses print as Go prints them (RFC 5952)")
    func ipv6() throws {
        let a = try answer([DNSRecord(name: try DNSName("v6.example"), type: DNSType.aaaa, ttl: 5,
                                      data: .aaaa([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))], name: "v6.example.", type: DNSType.aaaa)
        #expect(a.ips == ["2001:db8::1"])
        #expect(a.ipv4.isEmpty)
    }

    @Test("learning renews, expiry removes what no connection uses and keeps the rest as connection entries")
    func expiry() {
        var c = FQDNCache()
        let changed1 = c.learn(endpoint: 4, name: "api.twitter.com.", ips: [Self.twitter], ttl: 10, now: 100)
        #expect(changed1)
        let changed2 = c.learn(endpoint: 4, name: "api.twitter.com.", ips: [Self.twitter], ttl: 10, now: 105)
        #expect(!changed2, "same pair: no identity change")
        #expect(c.all.first?.expires == 115, "renewed by the second answer")
        let changed3 = c.learn(endpoint: 5, name: "www.google.com.", ips: [Self.google], ttl: 10, now: 100)
        #expect(changed3)
        #expect(c.names(of: Self.twitter) == ["api.twitter.com."])
        #expect(c.names(endpoint: 4, ip: Self.twitter) == ["api.twitter.com."])
        #expect(c.names(endpoint: 5, ip: Self.twitter).isEmpty)

        let removed4 = c.expire(now: 109) { _ in false }
        #expect(!removed4, "nothing expired yet")
        // At 112 google's entry has expired; a connection still uses its address.
        let removed5 = c.expire(now: 112) { $0 == Self.google }
        #expect(!removed5)
        #expect(c.all.map(\.source) == [.lookup, .connection])
        // The connection ended: it goes. Twitter's expires at 115 and nothing uses it.
        let removed6 = c.expire(now: 113) { _ in false }
        #expect(removed6)
        #expect(c.all.map(\.name) == ["api.twitter.com."])
        let removed7 = c.expire(now: 116) { _ in false }
        #expect(removed7)
        #expect(c.isEmpty && c.addresses.isEmpty)
    }

    @Test("per endpoint and name at most maxIPsPerName addresses stay, the oldest go first; a deleted endpoint's entries go")
    func limits() {
        var c = FQDNCache()
        c.maxIPsPerName = 2
        c.learn(endpoint: 1, name: "a.example.", ips: [1], ttl: 60, now: 1)
        c.learn(endpoint: 1, name: "a.example.", ips: [2], ttl: 60, now: 2)
        c.learn(endpoint: 1, name: "a.example.", ips: [3], ttl: 60, now: 3)
        #expect(c.all.map(\.ip) == [2, 3])
        c.learn(endpoint: 2, name: "a.example.", ips: [2], ttl: 60, now: 3)
        let forgot8 = c.forget(endpoint: 1)
        #expect(forgot8)
        #expect(c.all.map(\.endpoint) == [2])
        #expect(c.names(of: 3).isEmpty && c.names(of: 2) == ["a.example."])
    }

    @Test("the cache survives its JSON form (an agent restart) whole")
    func persistence() throws {
        var c = FQDNCache()
        c.learn(endpoint: 4, name: "api.twitter.com.", ips: [Self.twitter, Self.google], ttl: 300, now: 1000)
        let back = try JSONDecoder().decode(FQDNCache.self, from: JSONEncoder().encode(c))
        #expect(back == c)
        #expect(back.names(of: Self.google) == ["api.twitter.com."])
    }

    @Test("selector texts label an address for every toFQDNs selector that selects one of its names")
    func selectors() {
        var c = FQDNCache()
        c.learn(endpoint: 4, name: "api.twitter.com.", ips: [Self.twitter], ttl: 300, now: 0)
        c.learn(endpoint: 4, name: "www.google.com.", ips: [Self.google], ttl: 300, now: 0)
        let sels = ["api.twitter.com", "*.twitter.com", "**.google.com", "google.com", "*"].map { FQDNPattern(matchPattern: $0) }
        let covering = [IPPrefix("0.0.0.0/0")!, IPPrefix("10.0.0.0/8")!]
        func derive(_ ip: UInt32) -> (selectors: [String], cidrs: [String])? {
            FQDNIdentityLabels.derive(ip: IPAddress(v4: ip), names: c.names(of: ip), selectors: sels, prefixes: covering)
        }
        #expect(derive(Self.twitter)?.selectors == ["api.twitter.com", "*.twitter.com", "*"])
        #expect(derive(Self.google)?.selectors == ["**.google.com", "*"])
        #expect(derive(Self.google)?.cidrs == ["0.0.0.0/0"])
        #expect(FQDNIdentityLabels.derive(ip: IPAddress(v4: Self.google), names: c.names(of: Self.google), selectors: [FQDNPattern(matchName: "x.org")], prefixes: covering) == nil)
    }
}
