// The agent's side of the DNS proxy (docs/dns-proxy.md): which queries the policy allows, what
// answers teach (FQDN identities in the ipcache and the policy maps, before the pod sees the
// answer), expiry that spares live connections, persistence across restarts, and the proxy's
// Hubble flows.
import ClusterAPI
import Datapath
import DatapathABI
import DNS
import DNSProxy
import Foundation
import Hubble
import PolicyAPI
import PolicyEngine

/// What the proxy's decisions read: a snapshot swapped whole (like the flow directory), so a
/// query never waits for a reconcile.
struct ProxyView: Sendable {
    struct Endpoint: Sendable {
        var id: UInt16
        var identity: UInt32
        var egress: DirectionPolicy?
    }
    var endpoints: [UInt32: Endpoint] = [:]
    /// Addresses with an identity of their own: pods and learnt FQDN addresses.
    var addresses: [UInt32: UInt32] = [:]
    /// Policy CIDRs, longest first.
    var prefixes: [(IPPrefix, UInt32)] = []
    var patterns: [FQDNSelector: FQDNPattern] = [:]

    /// The ipcache's answer for an address (as the datapath looks it up).
    func identity(of ip: UInt32) -> UInt32 {
        if let id = addresses[ip] { return id }
        let a = IPAddress(v4: ip)
        return prefixes.first { $0.0.contains(a) }?.1 ?? ReservedIdentity.world
    }
}

/// A learnt address's identity and what it was made for: the `fqdn:` label texts, and the
/// `cidr:` labels of policy prefixes that cover the address (as Cilium adds them, so `toCIDR`
/// rules still select it).
struct FQDNIdentity: Codable, Equatable, Sendable {
    var id: UInt32
    var selectors: [String]
    var cidrs: [String]
}

extension NodeAgent {
    /// Starts the DNS proxy in the node's namespace on the saved port (or the configured one, or
    /// one the kernel picks), after restoring what an earlier agent learnt, and before the first
    /// sync writes redirect entries carrying that port.
    public func startDNSProxy() throws {
        lock.lock()
        defer { lock.unlock() }
        let port = savedProxyPort ?? config.dnsProxyPort
        let proxy = try network.node.perform { [unowned self] in
            try DNSProxyServer(port: port, decide: { [unowned self] in decideDNS($0) }, learn: { [unowned self] in learnDNS($0, $1) },
                               observe: { [unowned self] in recordDNS($0) })
        }
        dnsProxy = proxy
        maps.proxyPort = proxy.port
        try refreshFQDNIdentities()
        try syncAll()
        updateDirectory()
        saveState()
        proxy.start()
        let t = Thread { [unowned self] in
            while true {
                Thread.sleep(forTimeInterval: 1)
                expireFQDN()
            }
        }
        t.start()
    }

    // MARK: Policy

    func decideDNS(_ q: DNSProxyQuery) -> DNSProxyDecision {
        directoryLock.lock()
        let v = proxyView
        directoryLock.unlock()
        guard let ep = v.endpoints[q.client.ip], let egress = ep.egress else { return .refuse }
        // The entry that redirected the packet: its DNS rules decide (reference §8.2).
        let r = egress.lookup(identity: v.identity(of: q.server.ip), proto: q.proto, port: q.server.port)
        guard r.allowed, let e = r.entry, e.redirect == .dns else { return .refuse }
        for rules in e.l7Rules {
            for s in rules.dns ?? [] where (v.patterns[s] ?? FQDNPattern(s)).matches(q.name) {
                return .allow(mark: ep.identity << 16 | UInt32(PORIN_MARK_IDENTITY))
            }
        }
        return .refuse
    }

    // MARK: Learning

    /// Whether an address is the cluster's (pods and Services keep their own identities; toFQDNs
    /// never selects them, reference §2.8).
    func isClusterAddress(_ ip: UInt32) -> Bool {
        let a = IPAddress(v4: ip)
        return config.podCIDR.contains(a) || config.serviceCIDR.contains(a)
    }

    func learnDNS(_ q: DNSProxyQuery, _ a: DNSAnswer) {
        directoryLock.lock()
        let asker = proxyView.endpoints[q.client.ip]?.id
        directoryLock.unlock()
        guard let ep = asker else { return }
        lock.lock()
        defer { lock.unlock() }
        let ttl = max(a.ttl, config.fqdnMinTTL)
        let changed = fqdnCache.learn(endpoint: ep, name: a.query, ips: a.ipv4, ttl: ttl, now: Date().timeIntervalSince1970)
        fqdnDirty = true
        guard changed else { return }
        // The answer waits for this: identities, ipcache and policy maps are written now.
        do {
            try refreshFQDNIdentities()
            try syncAll()
        } catch {
            FileHandle.standardError.write(Data("porin agent: learning \(a.query): \(error)\n".utf8))
        }
        updateDirectory()
        saveState()
    }

    /// Gives every learnt address outside the cluster the identity of its `fqdn:` labels (one
    /// per toFQDNs selector that selects one of its names), the `cidr:` labels of policy
    /// prefixes covering it and `reserved:world`, reusing the numbers saved before a restart.
    /// Call with `lock` held; `syncAll` writes the result.
    func refreshFQDNIdentities() throws {
        let selectors = engine.fqdnPatterns
        var desired: [UInt32: (selectors: [String], cidrs: [String])] = [:]
        if !selectors.isEmpty {
            let prefixes = engine.cidrPrefixes.map(\.0)
            for (ip, names) in fqdnCache.addresses where !isClusterAddress(ip) {
                desired[ip] = FQDNIdentityLabels.derive(ip: IPAddress(v4: ip), names: Array(names), selectors: selectors, prefixes: prefixes)
            }
        }
        func same(_ ip: UInt32) -> Bool {
            guard let d = desired[ip], let f = fqdnIdentities[ip] else { return false }
            return d.selectors == f.selectors && d.cidrs == f.cidrs
        }
        guard desired.count != fqdnIdentities.count || !desired.keys.allSatisfy(same) else { return }
        engine.batch {
            for (ip, want) in desired where !same(ip) {
                let labels = FQDNIdentityLabels.labels(selectors: want.selectors, cidrs: want.cidrs)
                // The new identity first, then the old one goes: the address is never without one.
                let id = engine.acquireLocalIdentity(labels, preferred: savedFQDNIdentities[ip])
                if let old = fqdnIdentities[ip] { engine.releaseLocalIdentity(old.id) }
                fqdnIdentities[ip] = FQDNIdentity(id: id, selectors: want.selectors, cidrs: want.cidrs)
            }
            for (ip, old) in fqdnIdentities where desired[ip] == nil {
                engine.releaseLocalIdentity(old.id)
                fqdnIdentities[ip] = nil
            }
        }
    }

    /// Expires what the TTLs ended, keeping addresses that live connections use (reference §8.5).
    func expireFQDN() {
        lock.lock()
        defer { lock.unlock() }
        guard !fqdnCache.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        var live: Set<UInt32>?
        let removed = fqdnCache.expire(now: now) { ip in
            if live == nil { live = maps.liveConnectionAddresses() }
            return live!.contains(ip)
        }
        if removed {
            do {
                try refreshFQDNIdentities()
                try syncAll()
            } catch {
                FileHandle.standardError.write(Data("porin agent: FQDN expiry: \(error)\n".utf8))
            }
            updateDirectory()
        }
        if removed || fqdnDirty {
            fqdnDirty = false
            saveState()
        }
    }

    /// `porin fqdn cache list`: per endpoint, name and answer, its addresses.
    public func fqdnCacheRows() -> [FQDNCacheRow] {
        lock.lock()
        defer { lock.unlock() }
        let podOf = Dictionary(pods.map { ($0.value.endpoint.id, $0.key) }) { a, _ in a }
        var rows: [FQDNCacheRow] = []
        var index: [String: Int] = [:]
        for e in fqdnCache.all {
            let key = "\(e.endpoint) \(e.name) \(e.source) \(e.lookupTime) \(e.expires)"
            let ip = IPAddress(v4: e.ip).description
            if let i = index[key] { rows[i].ips.append(ip); continue }
            index[key] = rows.count
            rows.append(FQDNCacheRow(endpoint: Int(e.endpoint), pod: podOf[e.endpoint] ?? "", source: e.source.rawValue, fqdn: e.name,
                                     ttl: e.ttl, lookupTime: e.lookupTime, expirationTime: e.expires, ips: [ip]))
        }
        return rows
    }

    // MARK: Hubble

    func recordDNS(_ e: DNSProxyEvent) {
        directoryLock.lock()
        let d = directory
        directoryLock.unlock()
        var f = Flow()
        flowBuilder.fillDNS(&f, e, d)
        metrics.observe(f)
        let time = f.time
        let record = FlowRecord.flow(f, nodeName: config.nodeName, time: time)
        flowExporter?.export(record)
        flows.append(record)
    }
}

extension FlowBuilder {
    static let rcodeNames: [UInt8: String] = [
        1: "Format Error", 2: "Server Failure", 3: "Non-Existent Domain", 4: "Not Implemented", 5: "Query Refused",
        6: "Name Exists when it should not", 7: "RR Set Exists when it should not", 8: "RR Set that should exist does not",
        9: "Server Not Authoritative for zone", 10: "Name not contained in zone",
    ]

    /// A DNS proxy record as Hubble's L7 parser makes it (reference §7.4, §8.6): Type L7, event
    /// type 129, direction EGRESS; requests carry the query, answers the addresses and TTL.
    func fillDNS(_ f: inout Flow, _ e: DNSProxyEvent, _ dir: EndpointDirectory) {
        f.time = FlowTime(seconds: Int64(e.time.tv_sec), nanos: Int32(e.time.tv_nsec))
        f.uuid = uuids.next()
        f.nodeName = nodeName
        f.type = 2
        f.eventType = (129, 0)
        f.trafficDirection = 2
        f.verdict = switch e.verdict {
        case .forwarded: 1
        case .dropped: 2
        case .error: 3
        }
        let response = e.kind == .response
        let (src, dst) = response ? (e.query.server, e.query.client) : (e.query.client, e.query.server)
        var ip = FlowIP()
        ip.source = Self.dotted(src.ip)
        ip.destination = Self.dotted(dst.ip)
        ip.ipVersion = 1
        f.ip = ip
        f.l4 = e.query.proto == 6 ? .tcp(sourcePort: UInt32(src.port), destinationPort: UInt32(dst.port), flags: nil)
            : .udp(sourcePort: UInt32(src.port), destinationPort: UInt32(dst.port))
        f.source = endpoint(src.ip, identity: 0, dir)
        f.destination = endpoint(dst.ip, identity: 0, dir)
        f.isReply = response
        var l7 = FlowL7()
        l7.type = response ? 2 : 1
        l7.latencyNs = e.latencyNanoseconds
        var dns = Hubble.DNSRecord()
        dns.query = e.query.name
        dns.qtypes = e.query.qtypes
        dns.observationSource = "proxy"
        let qtypes = e.query.qtypes.joined(separator: ",")
        if response, let a = e.answer {
            dns.ips = a.ips
            dns.ttl = a.ttl
            dns.cnames = a.cnames
            dns.rcode = UInt32(a.rcode)
            dns.rrtypes = a.rrtypes
            var answer: [String] = []
            if a.rcode != 0 {
                answer.append("RCode: \(Self.rcodeNames[a.rcode] ?? "Unknown")")
            } else {
                if !a.ips.isEmpty { answer.append(GoSyntax.quote(a.ips.joined(separator: ","))) }
                if !a.cnames.isEmpty { answer.append("CNAMEs: " + GoSyntax.quote(a.cnames.joined(separator: ","))) }
            }
            f.summary = "DNS Answer \(answer.joined(separator: " ")) TTL: \(a.ttl) (Proxy \(e.query.name) \(qtypes))"
        } else {
            f.summary = "DNS Query \(e.query.name) \(qtypes)"
        }
        l7.dns = dns
        f.l7 = l7
    }
}
