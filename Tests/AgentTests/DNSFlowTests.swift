// The DNS proxy's Hubble flows (`FlowBuilder.fillDNS`, reference §5.1, §7.4, §8.6): events built
// from real DNS messages (encoded, parsed again, read by `DNSAnswer` as the proxy reads them), an
// endpoint directory with the golden vectors' two pods, and the flows checked field by field,
// through hubble's compact printer and its JSON writer against the golden cases
// `l7-dns-request` and `l7-dns-response`.
@testable import Agent
import DNS
@testable import DNSProxy
import Foundation
import Glibc
import Hubble
import Testing

@Suite("DNS proxy flows (fillDNS)")
struct DNSFlowTests {
    // MARK: The golden vectors' world

    /// tenant-a/frontend-service-6b9d8c7f5-abcde, asking.
    static let client = IPv4SocketAddress(ip: 0x0AF4_010A, port: 55353)  // 10.244.1.10
    /// kube-system/coredns-7db6d8ff4d-xyz12, asked.
    static let server = IPv4SocketAddress(ip: 0x0AF4_0005, port: 53)  // 10.244.0.5
    static let name = "backend-service.tenant-a.svc.cluster.local."
    /// 2024-05-01T12:00:04Z
    static let second = 1_714_564_804

    static var directory: EndpointDirectory {
        var d = EndpointDirectory()
        d.byIP[client.ip] = .init(
            endpointID: 1201, identity: 10000, namespace: "tenant-a", pod: "frontend-service-6b9d8c7f5-abcde",
            labels: [
                "k8s:app=frontend-service", "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=tenant-a",
                "k8s:io.cilium.k8s.policy.cluster=default", "k8s:io.cilium.k8s.policy.serviceaccount=default",
                "k8s:io.kubernetes.pod.namespace=tenant-a",
            ],
            workloads: [Workload(name: "frontend-service", kind: "Deployment")])
        d.byIP[server.ip] = .init(
            endpointID: 101, identity: 10006, namespace: "kube-system", pod: "coredns-7db6d8ff4d-xyz12",
            labels: [
                "k8s:k8s-app=kube-dns", "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=kube-system",
                "k8s:io.cilium.k8s.policy.cluster=default", "k8s:io.cilium.k8s.policy.serviceaccount=coredns",
                "k8s:io.kubernetes.pod.namespace=kube-system",
            ],
            workloads: [Workload(name: "coredns", kind: "Deployment")])
        return d
    }

    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("HubbleTests/hubble-golden/cases")
    static func golden(_ file: String) throws -> String {
        try String(contentsOf: golden.appendingPathComponent(file), encoding: .utf8)
    }

    // MARK: Messages as they travel

    /// Through the wire and back: what the proxy parses.
    static func wire(_ m: DNSMessage) throws -> DNSMessage { try DNSMessage(parsing: m.encoded()) }

    static func query(_ name: String, _ type: UInt16 = DNSType.a) throws -> DNSMessage {
        try wire(DNSMessage(id: 0x4A4A, questions: [DNSQuestion(name: DNSName(name), type: type)]))
    }

    static func a(_ name: String, _ ip: UInt32, ttl: UInt32) throws -> DNS.DNSRecord {
        try DNS.DNSRecord(name: DNSName(name), type: DNSType.a, ttl: ttl, data: .a(ip))
    }

    static func answer(_ q: DNSMessage, rcode: UInt8 = DNSRCode.noError, _ records: [DNS.DNSRecord] = []) throws -> DNSAnswer {
        DNSAnswer(try wire(q.response(rcode: rcode, answers: records)))
    }

    /// The proxy's view of a query (as `DNSProxyServer.check` fills it).
    static func proxyQuery(_ m: DNSMessage, proto: UInt8 = 17) -> DNSProxyQuery {
        DNSProxyQuery(client: client, server: server, proto: proto,
                      name: m.questions.first.map { $0.name.lowercased.description } ?? "",
                      qtypes: m.questions.map { DNSAnswer.typeName($0.type) })
    }

    static func event(_ kind: DNSProxyEvent.Kind, _ verdict: DNSProxyEvent.Verdict = .forwarded, _ q: DNSProxyQuery,
                      answer: DNSAnswer? = nil, nanos: Int? = nil, latency: UInt64 = 0) -> DNSProxyEvent {
        // The golden request at 12:00:04.003456789, its answer a millisecond later.
        DNSProxyEvent(kind: kind, verdict: verdict, query: q, answer: answer, error: nil, latencyNanoseconds: latency,
                      time: timespec(tv_sec: second, tv_nsec: nanos ?? (kind == .request ? 3_456_789 : 4_456_789)))
    }

    static let builder = FlowBuilder(nodeName: "kind-worker")

    static func flow(_ e: DNSProxyEvent) -> Flow {
        var f = Flow()
        builder.fillDNS(&f, e, directory)
        return f
    }

    static func compact(_ f: Flow) -> String {
        CompactFormat.line(.flow(f, nodeName: f.nodeName, time: f.time), CompactOptions())
    }

    /// `-o json`, without the random UUID (the golden flows have none).
    static func json(_ f: Flow) -> String {
        var g = f
        g.uuid = ""
        return FlowJSONWriter.record(.flow(g, nodeName: g.nodeName, time: g.time))
    }

    static let requestPrefix = "May  1 12:00:04.003: tenant-a/frontend-service-6b9d8c7f5-abcde:55353 (ID:10000) -> kube-system/coredns-7db6d8ff4d-xyz12:53 (ID:10006)"
    static let responsePrefix = "May  1 12:00:04.004: tenant-a/frontend-service-6b9d8c7f5-abcde:55353 (ID:10000) <- kube-system/coredns-7db6d8ff4d-xyz12:53 (ID:10006)"

    // MARK: The golden cases

    @Test("a forwarded request: every field, hubble's compact line and -o json as the golden case")
    func goldenRequest() throws {
        let q = try Self.query(Self.name)
        let f = Self.flow(Self.event(.request, .forwarded, Self.proxyQuery(q)))

        #expect(f.type == 2, "L7")
        #expect(f.eventType?.type == 129 && f.eventType?.subType == 0)
        #expect(f.trafficDirection == 2, "EGRESS")
        #expect(f.verdict == 1, "FORWARDED")
        #expect(f.isReply == false)
        #expect(f.nodeName == "kind-worker")
        #expect(f.time == FlowTime(seconds: Int64(Self.second), nanos: 3_456_789))
        #expect(f.uuid.count == 36)
        #expect(f.ip?.source == "10.244.1.10" && f.ip?.destination == "10.244.0.5" && f.ip?.ipVersion == 1)
        #expect(f.l4 == FlowL4.udp(sourcePort: 55353, destinationPort: 53))
        #expect(f.source?.id == 1201 && f.source?.identity == 10000 && f.source?.podName == "frontend-service-6b9d8c7f5-abcde")
        #expect(f.source?.clusterName == "default" && f.source?.namespace == "tenant-a")
        #expect(f.destination?.id == 101 && f.destination?.identity == 10006 && f.destination?.podName == "coredns-7db6d8ff4d-xyz12")
        #expect(f.dropReason == 0 && f.dropReasonDesc == 0 && f.policyMatchType == 0 && f.proxyPort == 0)
        let l7 = try #require(f.l7)
        #expect(l7.type == 1, "REQUEST")
        #expect(l7.latencyNs == 0)
        #expect(l7.http == nil)
        var dns = Hubble.DNSRecord()
        dns.query = Self.name
        dns.qtypes = ["A"]
        dns.observationSource = "proxy"
        #expect(l7.dns == dns, "a request carries only query, qtypes and observation_source (reference §7.4)")
        #expect(f.summary == "DNS Query backend-service.tenant-a.svc.cluster.local. A")

        #expect(Self.compact(f) == (try Self.golden("l7-dns-request.compact.txt")))
        #expect(Self.json(f) == (try Self.golden("l7-dns-request.json-output.json")).trimmingCharacters(in: .newlines))
    }

    @Test("its forwarded answer: swapped ends, is_reply, the answer's fields, the golden lines")
    func goldenResponse() throws {
        let q = try Self.query(Self.name)
        let a = try Self.answer(q, [Self.a(Self.name, 0x0A60_0C22, ttl: 30)])  // 10.96.12.34
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: a, latency: 412_000))

        #expect(f.type == 2 && f.eventType?.type == 129 && f.trafficDirection == 2 && f.verdict == 1)
        #expect(f.isReply == true)
        #expect(f.ip?.source == "10.244.0.5" && f.ip?.destination == "10.244.1.10")
        #expect(f.l4 == FlowL4.udp(sourcePort: 53, destinationPort: 55353))
        #expect(f.source?.id == 101 && f.source?.identity == 10006)
        #expect(f.destination?.id == 1201 && f.destination?.identity == 10000)
        let l7 = try #require(f.l7)
        #expect(l7.type == 2, "RESPONSE")
        #expect(l7.latencyNs == 412_000)
        var dns = Hubble.DNSRecord()
        dns.query = Self.name
        dns.ips = ["10.96.12.34"]
        dns.ttl = 30
        dns.qtypes = ["A"]
        dns.rrtypes = ["A"]
        dns.rcode = 0
        dns.observationSource = "proxy"
        #expect(l7.dns == dns)
        #expect(f.summary == #"DNS Answer "10.96.12.34" TTL: 30 (Proxy backend-service.tenant-a.svc.cluster.local. A)"#)

        #expect(Self.compact(f) == (try Self.golden("l7-dns-response.compact.txt")))
        #expect(Self.json(f) == (try Self.golden("l7-dns-response.json-output.json")).trimmingCharacters(in: .newlines))
    }

    // MARK: Answers

    @Test("several addresses: one pair of quotes, comma-joined in answer order, the lowest TTL")
    func severalAddresses() throws {
        let q = try Self.query("api.example.com")
        let a = try Self.answer(q, [
            Self.a("api.example.com", 0x0102_0304, ttl: 300), Self.a("api.example.com", 0x0506_0708, ttl: 20),
            Self.a("api.example.com", 0xC000_020A, ttl: 60),
        ])
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: a))
        #expect(f.summary == #"DNS Answer "1.2.3.4,5.6.7.8,192.0.2.10" TTL: 20 (Proxy api.example.com. A)"#)
        #expect(f.l7?.dns?.ips == ["1.2.3.4", "5.6.7.8", "192.0.2.10"])
        #expect(f.l7?.dns?.ttl == 20)
        #expect(f.l7?.dns?.rrtypes == ["A", "A", "A"])
        #expect(f.l7?.dns?.cnames == [])
        #expect(Self.compact(f) == Self.responsePrefix
            + #" dns-response proxy FORWARDED (DNS Answer "1.2.3.4,5.6.7.8,192.0.2.10" TTL: 20 (Proxy api.example.com. A))"# + "\n")
    }

    @Test("a CNAME chain: the addresses, then CNAMEs in their own quotes; the TTL over the chain")
    func cnames() throws {
        let q = try Self.query("www.example.com")
        let a = try Self.answer(q, [
            DNS.DNSRecord(name: DNSName("www.example.com"), type: DNSType.cname, ttl: 45, data: .cname(DNSName("a.example"))),
            DNS.DNSRecord(name: DNSName("a.example"), type: DNSType.cname, ttl: 600, data: .cname(DNSName("b.example"))),
            Self.a("b.example", 0x0102_0304, ttl: 120),
        ])
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: a))
        #expect(f.summary == #"DNS Answer "1.2.3.4" CNAMEs: "a.example.,b.example." TTL: 45 (Proxy www.example.com. A)"#)
        let dns = try #require(f.l7?.dns)
        #expect(dns.cnames == ["a.example.", "b.example."])
        #expect(dns.rrtypes == ["CNAME", "CNAME", "A"])
        #expect(dns.ips == ["1.2.3.4"] && dns.ttl == 45 && dns.rcode == 0)

        // Only a CNAME (the target did not resolve here): no address part at all.
        let only = try Self.answer(q, [DNS.DNSRecord(name: DNSName("www.example.com"), type: DNSType.cname, ttl: 7, data: .cname(DNSName("a.example")))])
        #expect(Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: only)).summary
            == #"DNS Answer CNAMEs: "a.example." TTL: 7 (Proxy www.example.com. A)"#)
    }

    @Test("an answer with neither addresses nor CNAMEs: two spaces and TTL 4294967295")
    func emptyAnswer() throws {
        let q = try Self.query("x.", DNSType.aaaa)
        let a = try Self.answer(q)
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: a))
        #expect(f.summary == "DNS Answer  TTL: 4294967295 (Proxy x. AAAA)")
        #expect(f.l7?.dns?.ttl == 4_294_967_295 && f.l7?.dns?.ips == [] && f.l7?.dns?.rrtypes == [] && f.l7?.dns?.qtypes == ["AAAA"])
        #expect(Self.compact(f) == Self.responsePrefix + " dns-response proxy FORWARDED (DNS Answer  TTL: 4294967295 (Proxy x. AAAA))\n")
    }

    @Test("AAAA answers: RFC 5952 text among the addresses; other records count for rrtypes only")
    func ipv6() throws {
        let q = try Self.query("v6.example", DNSType.aaaa)
        let a = try Self.answer(q, [
            DNS.DNSRecord(name: DNSName("v6.example"), type: DNSType.aaaa, ttl: 90,
                      data: .aaaa([0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
            DNS.DNSRecord(name: DNSName("v6.example"), type: DNSType.txt, ttl: 5, data: .raw([3, 0x61, 0x62, 0x63])),
        ])
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: a))
        #expect(f.summary == #"DNS Answer "2001:db8::1" TTL: 90 (Proxy v6.example. AAAA)"#)
        #expect(f.l7?.dns?.rrtypes == ["AAAA", "TXT"])
    }

    @Test("a failed lookup: RCode with gopacket's name instead of the answer", arguments: [
        (DNSRCode.nameError, "Non-Existent Domain"), (DNSRCode.serverFailure, "Server Failure"), (DNSRCode.refused, "Query Refused"),
        (DNSRCode.formatError, "Format Error"), (DNSRCode.notImplemented, "Not Implemented"),
    ])
    func rcodes(rcode: UInt8, text: String) throws {
        let q = try Self.query("nothing.tenant-a.svc.cluster.local")
        let a = try Self.answer(q, rcode: rcode)
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: a))
        #expect(f.summary == "DNS Answer RCode: \(text) TTL: 4294967295 (Proxy nothing.tenant-a.svc.cluster.local. A)")
        #expect(f.l7?.dns?.rcode == UInt32(rcode))
        #expect(f.verdict == 1, "the proxy forwarded the answer")
    }

    @Test("an rcode with addresses still prints only the RCode")
    func rcodeWins() throws {
        let q = try Self.query("odd.example")
        let a = try Self.answer(q, rcode: DNSRCode.serverFailure, [Self.a("odd.example", 0x0A00_0001, ttl: 10)])
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: a))
        #expect(f.summary == "DNS Answer RCode: Server Failure TTL: 10 (Proxy odd.example. A)")
        #expect(f.l7?.dns?.ips == ["10.0.0.1"])
    }

    // MARK: Requests

    @Test("a refused request is DROPPED, still a request from the pod to the server")
    func refused() throws {
        let q = try Self.query("evil.example.org")
        let f = Self.flow(Self.event(.request, .dropped, Self.proxyQuery(q)))
        #expect(f.verdict == 2 && f.isReply == false && f.l7?.type == 1 && f.type == 2)
        #expect(f.summary == "DNS Query evil.example.org. A")
        #expect(f.l7?.dns?.rcode == 0 && f.l7?.dns?.ips == [] && f.l7?.dns?.ttl == 0)
        #expect(Self.compact(f) == Self.requestPrefix + " dns-request proxy DROPPED (DNS Query evil.example.org. A)\n")
        var o = CompactOptions()
        o.printPolicyNames = true
        #expect(CompactFormat.line(.flow(f, nodeName: "", time: f.time), o) == Self.compact(f), "an L7 flow has no policy names")
    }

    @Test("an upstream failure is ERROR")
    func error() throws {
        let q = try Self.query(Self.name)
        let f = Self.flow(Self.event(.response, .error, Self.proxyQuery(q), answer: nil))
        #expect(f.verdict == 3 && f.isReply == true && f.l7?.type == 2)
        #expect(Self.compact(f).contains(" dns-response proxy ERROR ("))
    }

    @Test("the name as the proxy reports it: lower case, fully qualified; several question types joined by commas")
    func names() throws {
        let q = try Self.query("API.Example.COM", DNSType.aaaa)
        let f = Self.flow(Self.event(.request, .forwarded, Self.proxyQuery(q)))
        #expect(f.summary == "DNS Query api.example.com. AAAA")
        #expect(f.l7?.dns?.query == "api.example.com.")

        let two = try Self.wire(DNSMessage(id: 1, questions: [DNSQuestion(name: DNSName("a.example"), type: DNSType.a),
                                                               DNSQuestion(name: DNSName("a.example"), type: DNSType.aaaa)]))
        let a = try Self.answer(two, [Self.a("a.example", 0x0102_0304, ttl: 9)])
        #expect(a.qtypes == ["A", "AAAA"])
        let r = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(two), answer: a))
        #expect(r.summary == #"DNS Answer "1.2.3.4" TTL: 9 (Proxy a.example. A,AAAA)"#)
        #expect(Self.flow(Self.event(.request, .forwarded, Self.proxyQuery(two))).summary == "DNS Query a.example. A,AAAA")
    }

    @Test("over TCP: l4 TCP with the ports and no flags, the same summary")
    func tcp() throws {
        let q = try Self.query(Self.name)
        let req = Self.flow(Self.event(.request, .forwarded, Self.proxyQuery(q, proto: 6)))
        #expect(req.l4 == FlowL4.tcp(sourcePort: 55353, destinationPort: 53, flags: nil))
        #expect(Self.compact(req) == (try Self.golden("l7-dns-request.compact.txt")))
        #expect(Self.json(req).contains(#""l4":{"TCP":{"source_port":55353,"destination_port":53}}"#))

        let a = try Self.answer(q, [Self.a(Self.name, 0x0A60_0C22, ttl: 30)])
        let resp = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q, proto: 6), answer: a))
        #expect(resp.l4 == FlowL4.tcp(sourcePort: 53, destinationPort: 55353, flags: nil))
        #expect(Self.compact(resp) == (try Self.golden("l7-dns-response.compact.txt")))
    }

    @Test("addresses no endpoint owns: identity 0 and the bare address")
    func unknownEnds() throws {
        let q = try Self.query("api.twitter.com")
        var pq = Self.proxyQuery(q)
        pq.server = IPv4SocketAddress(ip: 0xC000_0235, port: 53)  // 192.0.2.53
        let f = Self.flow(Self.event(.request, .forwarded, pq))
        #expect(f.destination?.id == 0 && f.destination?.identity == 0 && f.destination?.podName == "")
        #expect(Self.compact(f) == "May  1 12:00:04.003: tenant-a/frontend-service-6b9d8c7f5-abcde:55353 (ID:10000) -> 192.0.2.53:53 (unknown) dns-request proxy FORWARDED (DNS Query api.twitter.com. A)\n")
    }

    // MARK: Hubble's names and quoting in corner cases (gopacket's names, Go's %q, miekg/dns's escapes)

    @Test("rcodes gopacket does not name print as \"Unknown\" in Hubble")
    func unknownRCode() throws {
        let q = try Self.query("x.example")
        var m = q.response()
        m.rcode = 11
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: DNSAnswer(try Self.wire(m))))
        #expect(f.summary == "DNS Answer RCode: Unknown TTL: 4294967295 (Proxy x.example. A)")
        #expect(f.l7?.dns?.rcode == 11)
    }

    @Test("Hubble quotes CNAMEs with Go's %q, after miekg/dns escaped the name")
    func goQuoting() throws {
        let q = try Self.query("q.example")
        // The label `a\b`: `a\\b` in presentation form (Porin and miekg/dns agree), which %q
        // writes as `"a\\\\b.example."`.
        let a = try Self.answer(q, [DNS.DNSRecord(name: DNSName("q.example"), type: DNSType.cname, ttl: 1,
                                                  data: .cname(DNSName(labels: ["a\\b", "example"])))])
        #expect(a.cnames == [#"a\\b.example."#])
        let f = Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q), answer: a))
        #expect(f.summary == #"DNS Answer CNAMEs: "a\\\\b.example." TTL: 1 (Proxy q.example. A)"#)
        // miekg/dns escapes . space ' @ ; ( ) " \ with a backslash, other bytes as \DDD.
        #expect(DNSName(labels: ["say\"hi", "example"]).description == #"say\"hi.example."#)
        #expect(DNSName(labels: ["a b", "example"]).description == #"a\ b.example."#)
        #expect(DNSName(labels: ["caf\u{E9}", "example"]).description == #"caf\195\169.example."#)
        let q2 = try Self.query("q.example")
        let a2 = try Self.answer(q2, [DNS.DNSRecord(name: DNSName("q.example"), type: DNSType.cname, ttl: 1,
                                                    data: .cname(DNSName(labels: ["say\"hi", "example"])))])
        #expect(Self.flow(Self.event(.response, .forwarded, Self.proxyQuery(q2), answer: a2)).summary
            == #"DNS Answer CNAMEs: "say\\\"hi.example." TTL: 1 (Proxy q.example. A)"#)
    }

    @Test("CNAME targets keep their case in Cilium (ExtractMsgDetails appends ans.Target)")
    func cnameCase() throws {
        let q = try Self.query("www.example.com")
        let a = try Self.answer(q, [DNS.DNSRecord(name: DNSName("www.example.com"), type: DNSType.cname, ttl: 5, data: .cname(DNSName("Edge.Example.NET"))),
                                    Self.a("edge.example.net", 0x0102_0304, ttl: 5)])
        #expect(a.cnames == ["Edge.Example.NET."])
    }

    @Test("question types gopacket does not name print as \"Unknown\" in Hubble (qtypes and the summary)")
    func unknownTypes() throws {
        let q = try Self.query("x.example", DNSType.any)
        let f = Self.flow(Self.event(.request, .forwarded, Self.proxyQuery(q)))
        #expect(f.summary == "DNS Query x.example. Unknown")
        #expect(f.l7?.dns?.qtypes == ["Unknown"])
    }
}
