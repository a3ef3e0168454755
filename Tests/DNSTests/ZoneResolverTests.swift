// kube-dns's and the world resolver's answers.
import DNS
import Testing

@Suite("Zone resolver")
struct ZoneResolverTests {
    let cluster = ZoneResolver(
        zones: [try! DNSName("cluster.local")],
        addresses: [try! DNSName("backend-service.tenant-b.svc.cluster.local"): [0x0A60_104B]],
        aliases: [try! DNSName("alias.tenant-b.svc.cluster.local"): try! DNSName("backend-service.tenant-b.svc.cluster.local")])

    func ask(_ r: ZoneResolver, _ name: String, _ type: UInt16 = DNSType.a) throws -> ZoneResolver.Outcome {
        r.resolve(DNSMessage(id: 7, questions: [DNSQuestion(name: try DNSName(name), type: type)]))
    }

    @Test("a Service's name resolves to its ClusterIP with TTL 30, case-insensitively")
    func service() throws {
        guard case let .answer(m) = try ask(cluster, "Backend-Service.tenant-b.svc.cluster.local.") else { Issue.record("not answered"); return }
        #expect(m.rcode == DNSRCode.noError && m.authoritative && m.id == 7)
        #expect(m.answers.map(\.ipv4Text) == ["10.96.16.75"])
        #expect(m.answers.first?.ttl == 30)
    }

    @Test("unknown names in the zone are NXDOMAIN; other types get no data; outside names are forwarded")
    func outcomes() throws {
        guard case let .answer(nx) = try ask(cluster, "backend-service.tenant-z.svc.cluster.local") else { Issue.record("not answered"); return }
        #expect(nx.rcode == DNSRCode.nameError && nx.answers.isEmpty)
        guard case let .answer(aaaa) = try ask(cluster, "backend-service.tenant-b.svc.cluster.local", DNSType.aaaa) else { Issue.record("not answered"); return }
        #expect(aaaa.rcode == DNSRCode.noError && aaaa.answers.isEmpty)
        #expect(try ask(cluster, "api.twitter.com") == .forward)
    }

    @Test("aliases answer with the CNAME chain and the address")
    func alias() throws {
        guard case let .answer(m) = try ask(cluster, "alias.tenant-b.svc.cluster.local") else { Issue.record("not answered"); return }
        #expect(m.answers.map(\.type) == [DNSType.cname, DNSType.a])
    }

    @Test("queries that are responses, other opcodes or several questions are refused politely")
    func malformed() throws {
        var q = DNSMessage(id: 1, questions: [DNSQuestion(name: try DNSName("a.cluster.local"), type: 1), DNSQuestion(name: try DNSName("b.cluster.local"), type: 1)])
        #expect(cluster.resolve(q) == .answer(q.response(rcode: DNSRCode.formatError)))
        q.questions.removeLast()
        q.opcode = 2
        #expect(cluster.resolve(q) == .answer(q.response(rcode: DNSRCode.notImplemented)))
    }
}
