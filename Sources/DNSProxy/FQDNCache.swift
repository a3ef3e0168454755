// What the DNS proxy has learnt (reference §8.4–§8.5): per endpoint, which names resolved to
// which IPv4 addresses and until when, as `cilium fqdn cache list` shows it. Pure: the caller
// gives the time and says which addresses live connections still use.
//
// An entry whose TTL ran out while a connection to its address is still open is kept as a
// "connection" entry (Cilium's zombie) until that connection ends, so expiry never cuts it.
import PolicyEngine

public struct FQDNCache: Sendable, Codable, Equatable {
    public enum Source: String, Sendable, Codable { case lookup, connection }

    public struct Entry: Sendable, Codable, Hashable {
        /// The endpoint that asked (its endpoint id).
        public var endpoint: UInt16
        /// Lower-case, fully qualified (`api.twitter.com.`).
        public var name: String
        public var ip: UInt32
        public var ttl: UInt32
        /// Seconds since 1970.
        public var lookupTime: Double
        public var expires: Double
        public var source: Source
    }

    struct Key: Hashable { var endpoint: UInt16; var name: String; var ip: UInt32 }

    private var entries: [Key: Entry] = [:]
    /// Address → names (over every endpoint), kept in step with `entries`.
    private var namesByIP: [UInt32: [String: Int]] = [:]

    /// Per endpoint and name at most this many addresses are kept; the oldest go first
    /// (`tofqdns-endpoint-max-ip-per-hostname`, 1000 in Cilium 1.19).
    public var maxIPsPerName = 1000

    public init() {}

    enum CodingKeys: String, CodingKey { case entries, maxIPsPerName }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxIPsPerName = try c.decode(Int.self, forKey: .maxIPsPerName)
        for e in try c.decode([Entry].self, forKey: .entries) { insert(e) }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxIPsPerName, forKey: .maxIPsPerName)
        try c.encode(all, forKey: .entries)
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// Every entry, by endpoint, name and address.
    public var all: [Entry] {
        entries.values.sorted { ($0.endpoint, $0.name, $0.ip) < ($1.endpoint, $1.name, $1.ip) }
    }

    private mutating func insert(_ e: Entry) {
        let k = Key(endpoint: e.endpoint, name: e.name, ip: e.ip)
        if entries.updateValue(e, forKey: k) == nil { namesByIP[e.ip, default: [:]][e.name, default: 0] += 1 }
    }

    private mutating func remove(_ k: Key) {
        guard entries.removeValue(forKey: k) != nil else { return }
        let n = (namesByIP[k.ip]?[k.name] ?? 1) - 1
        if n > 0 { namesByIP[k.ip]![k.name] = n } else {
            namesByIP[k.ip]?[k.name] = nil
            if namesByIP[k.ip]?.isEmpty == true { namesByIP[k.ip] = nil }
        }
    }

    /// Records an answer: `name` resolved to `ips` for `ttl` seconds at `now`. Returns whether
    /// the set of (name, address) pairs changed (an identity may have to change).
    @discardableResult
    public mutating func learn(endpoint: UInt16, name: String, ips: [UInt32], ttl: UInt32, now: Double) -> Bool {
        var changed = false
        for ip in ips {
            let k = Key(endpoint: endpoint, name: name, ip: ip)
            if entries[k] == nil { changed = true }
            insert(Entry(endpoint: endpoint, name: name, ip: ip, ttl: ttl, lookupTime: now, expires: now + Double(ttl), source: .lookup))
        }
        // Oldest addresses beyond the limit go (never the ones this answer just gave).
        guard changed else { return false }
        let mine = entries.values.filter { $0.endpoint == endpoint && $0.name == name }
        if mine.count > maxIPsPerName {
            let fresh = Set(ips)
            for e in mine.filter({ !fresh.contains($0.ip) }).sorted(by: { $0.lookupTime < $1.lookupTime }).prefix(mine.count - maxIPsPerName) {
                remove(Key(endpoint: e.endpoint, name: e.name, ip: e.ip))
                changed = true
            }
        }
        return changed
    }

    /// Ends what expired by `now`: an entry whose address `inUse` says a connection still uses
    /// becomes a `connection` entry and stays; the others go. Returns whether anything went.
    @discardableResult
    public mutating func expire(now: Double, inUse: (UInt32) -> Bool) -> Bool {
        var removed = false
        var used: [UInt32: Bool] = [:]
        for (k, e) in entries where e.expires <= now {
            let live = used[e.ip] ?? inUse(e.ip)
            used[e.ip] = live
            if live {
                if e.source != .connection { entries[k]!.source = .connection }
            } else {
                remove(k)
                removed = true
            }
        }
        return removed
    }

    /// Forgets everything an endpoint learnt (it was deleted). Returns whether anything went.
    @discardableResult
    public mutating func forget(endpoint: UInt16) -> Bool {
        let ks = entries.keys.filter { $0.endpoint == endpoint }
        for k in ks { remove(k) }
        return !ks.isEmpty
    }

    /// The names (fully qualified) that resolved to `ip` for any endpoint.
    public func names(of ip: UInt32) -> [String] { namesByIP[ip].map { $0.keys.sorted() } ?? [] }

    /// Every address with the names it has.
    public var addresses: [UInt32: [String]] { namesByIP.mapValues { $0.keys.sorted() } }

    /// The names an endpoint resolved to `ip` (what Hubble shows for its flows to that address).
    public func names(endpoint: UInt16, ip: UInt32) -> [String] {
        guard let ns = namesByIP[ip] else { return [] }
        return ns.keys.filter { entries[Key(endpoint: endpoint, name: $0, ip: ip)] != nil }.sorted()
    }
}
