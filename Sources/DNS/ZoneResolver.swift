// Answers DNS queries from a table of names, as kube-dns answers for `cluster.local` and as the
// simulated world's resolver answers for its hosts: A records for known names, NXDOMAIN for
// unknown names inside the zones it owns, and "forward" for everything else.

public struct ZoneResolver: Sendable {
    /// The zones this resolver is authoritative for (e.g. `cluster.local`; empty for the world's
    /// resolver, which owns exactly the names it knows).
    public var zones: [DNSName]
    public var addresses: [DNSName: [UInt32]]
    public var aliases: [DNSName: DNSName]
    public var ttl: UInt32

    public init(zones: [DNSName] = [], addresses: [DNSName: [UInt32]] = [:], aliases: [DNSName: DNSName] = [:], ttl: UInt32 = 30) {
        self.zones = zones
        self.addresses = addresses
        self.aliases = aliases
        self.ttl = ttl
    }

    public enum Outcome: Hashable, Sendable {
        case answer(DNSMessage)
        /// Not ours: ask the upstream resolver.
        case forward
    }

    public func owns(_ name: DNSName) -> Bool {
        zones.contains { name.isSubdomain(of: $0) } || addresses[name] != nil || aliases[name] != nil
    }

    public func resolve(_ query: DNSMessage) -> Outcome {
        guard !query.isResponse, query.opcode == 0 else {
            return .answer(query.response(rcode: DNSRCode.notImplemented))
        }
        guard query.questions.count == 1, let q = query.questions.first else {
            return .answer(query.response(rcode: DNSRCode.formatError))
        }
        guard owns(q.name) else { return .forward }
        var answers: [DNSRecord] = []
        var name = q.name
        var hops = 0
        while let target = aliases[name], hops < 8 {
            answers.append(DNSRecord(name: name, type: DNSType.cname, ttl: ttl, data: .cname(target)))
            name = target
            hops += 1
        }
        guard let ips = addresses[name] else {
            // A name we own that does not exist (or an alias chain that ends nowhere).
            if !answers.isEmpty && !owns(name) { return .forward }
            return .answer(query.response(rcode: DNSRCode.nameError, answers: [], authoritative: true))
        }
        if q.type == DNSType.a || q.type == DNSType.any {
            answers += ips.map { DNSRecord(name: name, type: DNSType.a, ttl: ttl, data: .a($0)) }
        }
        // Other types of an existing name: no data, but no error either.
        return .answer(query.response(rcode: DNSRCode.noError, answers: answers, authoritative: true))
    }
}
