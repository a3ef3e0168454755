// Writes the engine's decisions into the datapath's maps: endpoints, the ipcache and each
// endpoint's policy entries (diffed, so that an update touches only the keys that changed and
// the next packet already sees the new policy).
import CLibBPF
import DatapathABI
import Glibc
import PolicyAPI
import PolicyEngine

/// A local endpoint as the datapath sees it.
public struct DatapathEndpoint: Hashable, Sendable {
    public var id: UInt16
    public var identity: NumericIdentity
    public var address: IPAddress
    public var hostIfindex: Int32
    public var podMAC: [UInt8]
    public var hostMAC: [UInt8]
    /// The enforced directions (policy-verdict events are reported for these only).
    public var ingressEnforced = false
    public var egressEnforced = false
    public init(id: UInt16, identity: NumericIdentity, address: IPAddress, hostIfindex: Int32, podMAC: [UInt8], hostMAC: [UInt8]) {
        self.id = id
        self.identity = identity
        self.address = address
        self.hostIfindex = hostIfindex
        self.podMAC = podMAC
        self.hostMAC = hostMAC
    }
}

/// What a policy-map entry written by Porin stands for (for attributing verdict events).
public struct WrittenEntry: Sendable {
    public var endpoint: UInt16
    public var direction: TrafficDirection
    public var key: PolicyKey
    public var entry: PolicyEntry
}

public final class DatapathMaps: @unchecked Sendable {
    public let object: DatapathObject
    /// The keys written for each endpoint, with their entry ids.
    private var written: [UInt16: [porin_policy_key_wrapper: (UInt32, WrittenEntry)]] = [:]
    private var nextEntryID: UInt32 = 1
    public private(set) var entries: [UInt32: WrittenEntry] = [:]

    /// The port of the node's DNS proxy: entries with DNS rules redirect to it.
    /// 0 while there is no proxy: such entries are plain allows. Set it before the first sync
    /// (entries already written keep the port they were written with).
    public var proxyPort: UInt16 = 0

    public init(object: DatapathObject) { self.object = object }

    /// Takes over the policy entries already in the (pinned) map, as a restarted agent must:
    /// the next `syncPolicy` of each endpoint rewrites what it still wants and deletes the rest.
    public func adoptExistingEntries() {
        // The exact-key hash only caches the trie: emptying it changes no verdict.
        for k in object.policyExact.keys(porin_policy_exact_key.self) { object.policyExact.delete(k) }
        let stale = PolicyEntry(deny: true, builtIn: "adopted")  // never equal to a desired entry
        for k in object.policy.keys(porin_policy_key.self) {
            // Entry ids continue above the adopted ones, so old ids never name new entries.
            if let v = object.policy.lookup(k, as: porin_policy_value.self), v.entry_id >= nextEntryID { nextEntryID = v.entry_id &+ 1 }
            let w = WrittenEntry(endpoint: k.endpoint_id, direction: k.egress == 1 ? .egress : .ingress,
                                 key: PolicyKey(identity: k.identity, proto: k.protocol), entry: stale)
            written[k.endpoint_id, default: [:]][porin_policy_key_wrapper(k)] = (0, w)
        }
    }

    static func be16(_ v: UInt16) -> UInt16 { v.bigEndian }
    static func be32(_ v: UInt32) -> UInt32 { v.bigEndian }
    static func mac6(_ m: [UInt8]) -> (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) {
        (m[0], m[1], m[2], m[3], m[4], m[5])
    }

    public func setAggregation(_ level: UInt32) throws {
        try object.config.update(UInt32(0), porin_config(aggregation: level, host_identity: ReservedIdentity.host))
    }

    public func upsertEndpoint(_ ep: DatapathEndpoint) throws {
        let enforcement = UInt16((ep.ingressEnforced ? PORIN_ENFORCE_INGRESS : 0) | (ep.egressEnforced ? PORIN_ENFORCE_EGRESS : 0))
        var v = porin_endpoint_value()
        v.endpoint_id = ep.id
        v.enforcement = enforcement
        v.identity = ep.identity
        v.addr_be = Self.be32(ep.address.v4)
        v.mac = Self.mac6(ep.podMAC)
        v.host_mac = Self.mac6(ep.hostMAC)
        try object.endpoints.update(UInt32(bitPattern: ep.hostIfindex), v)
        var c = porin_ipcache_value()
        c.identity = ep.identity
        c.endpoint_id = ep.id
        c.enforcement = enforcement
        c.ifindex = UInt32(bitPattern: ep.hostIfindex)
        c.mac = Self.mac6(ep.podMAC)
        try object.ipcache.update(porin_ipcache_key(prefixlen: 32, addr_be: Self.be32(ep.address.v4)), c)
    }

    /// Writes an endpoint and its resolved policy: entries, and which directions are enforced.
    public func sync(endpoint ep: DatapathEndpoint, policy: SubjectPolicy?) throws {
        var e = ep
        e.ingressEnforced = policy?.ingress.enforced ?? false
        e.egressEnforced = policy?.egress.enforced ?? false
        try upsertEndpoint(e)
        syncPolicy(endpoint: ep.id, policy: policy)
    }

    public func removeEndpoint(_ ep: DatapathEndpoint) {
        object.endpoints.delete(UInt32(bitPattern: ep.hostIfindex))
        object.ipcache.delete(porin_ipcache_key(prefixlen: 32, addr_be: Self.be32(ep.address.v4)))
        syncPolicy(endpoint: ep.id, policy: nil)
        // Its connections go with it: a pod that later gets the address inherits none of them.
        let addr = Self.be32(ep.address.v4)
        for k in object.conntrack.keys(porin_ct_key.self) where k.saddr_be == addr || k.daddr_be == addr { object.conntrack.delete(k) }
        for k in object.serviceConnections.keys(porin_ct_key.self) where k.saddr_be == addr { object.serviceConnections.delete(k) }
    }

    /// An ipcache prefix that is not a local endpoint (policy CIDRs, the host, remote pods).
    public func setPrefix(_ prefix: IPPrefix, identity: NumericIdentity) throws {
        var c = porin_ipcache_value()
        c.identity = identity
        try object.ipcache.update(porin_ipcache_key(prefixlen: UInt32(prefix.length), addr_be: Self.be32(prefix.address.v4)), c)
    }

    public func removePrefix(_ prefix: IPPrefix) {
        object.ipcache.delete(porin_ipcache_key(prefixlen: UInt32(prefix.length), addr_be: Self.be32(prefix.address.v4)))
    }

    /// A ClusterIP service frontend and its backends (address, port), as the datapath balances
    /// them. `id` (1…65535) is also the reverse-NAT index of replies. Replaces what was there.
    public func setService(id: UInt16, vip: IPAddress, port: UInt16, proto: UInt8, backends: [(IPAddress, UInt16)]) throws {
        let key = porin_service_key(vip_be: Self.be32(vip.v4), port_be: Self.be16(port), protocol: proto, pad: 0)
        let old = object.services.lookup(key, as: porin_service_value.self)
        for (i, b) in backends.enumerated() {
            try object.backends.update(porin_backend_key(service_id: id, slot: UInt16(i)),
                                       porin_backend_value(addr_be: Self.be32(b.0.v4), port_be: Self.be16(b.1), pad: 0))
        }
        try object.reverseNAT.update(id, porin_revnat_value(vip_be: Self.be32(vip.v4), port_be: Self.be16(port), pad: 0))
        // The frontend changes last, so that packets never see a count beyond the backends written.
        try object.services.update(key, porin_service_value(id: id, backend_count: UInt16(backends.count)))
        if let old, old.backend_count > backends.count {
            for slot in backends.count..<Int(old.backend_count) { object.backends.delete(porin_backend_key(service_id: id, slot: UInt16(slot))) }
        }
    }

    public func removeService(id: UInt16, vip: IPAddress, port: UInt16, proto: UInt8) {
        let key = porin_service_key(vip_be: Self.be32(vip.v4), port_be: Self.be16(port), protocol: proto, pad: 0)
        let old = object.services.lookup(key, as: porin_service_value.self)
        object.services.delete(key)
        for slot in 0..<Int(old?.backend_count ?? 0) { object.backends.delete(porin_backend_key(service_id: id, slot: UInt16(slot))) }
        object.reverseNAT.delete(id)
    }

    /// Addresses (host order) of connections conntrack still holds open, by Cilium's lifetimes:
    /// TCP 6 hours since its last packet (10 s once closing), anything else 60 s. FQDN expiry
    /// keeps these (reference §8.5).
    public func liveConnectionAddresses() -> Set<UInt32> {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowNs = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        var out = Set<UInt32>()
        for k in object.conntrack.keys(porin_ct_key.self) {
            guard let v = object.conntrack.lookup(k, as: porin_ct_value.self) else { continue }
            let lifetime: UInt64 = k.protocol == 6 ? (v.flags & UInt8(PORIN_CT_CLOSING) != 0 ? 10 : 21600) : 60
            guard nowNs < v.last_seen_ns &+ lifetime * 1_000_000_000 else { continue }
            out.insert(UInt32(bigEndian: k.saddr_be))
            out.insert(UInt32(bigEndian: k.daddr_be))
        }
        return out
    }

    static func key(_ k: PolicyKey, endpoint: UInt16, egress: Bool) -> porin_policy_key {
        porin_policy_key(prefixlen: UInt32(PORIN_POLICY_STATIC_PREFIX) + UInt32(k.prefixLength), identity: k.identity,
                         endpoint_id: endpoint, egress: egress ? 1 : 0, protocol: k.proto, dport_be: be16(k.port), pad: 0)
    }

    /// The exact-key form of a trie key of one peer identity with an exact port, else nil.
    static func exactKey(_ k: porin_policy_key) -> porin_policy_exact_key? {
        guard k.identity != 0, k.prefixlen == UInt32(PORIN_POLICY_STATIC_PREFIX) + 24 else { return nil }
        return porin_policy_exact_key(identity: k.identity, endpoint_id: k.endpoint_id, egress: k.egress, protocol: k.protocol, dport_be: k.dport_be, pad: 0)
    }

    /// Makes the endpoint's policy entries in the map equal to `policy`'s (nil removes them all).
    @discardableResult
    public func syncPolicy(endpoint: UInt16, policy: SubjectPolicy?) -> (written: Int, deleted: Int) {
        var desired: [porin_policy_key_wrapper: WrittenEntry] = [:]
        if let policy {
            for dir in TrafficDirection.allCases {
                for e in policy.direction(dir).table.allEntries {
                    desired[porin_policy_key_wrapper(Self.key(e.key, endpoint: endpoint, egress: dir == .egress))] =
                        WrittenEntry(endpoint: endpoint, direction: dir, key: e.key, entry: e.entry)
                }
            }
        }
        var current = written[endpoint] ?? [:]
        var deleted = 0, wrote = 0
        // Writes before deletions: a key that changes owner (e.g. X/TCP/80 → ANY/TCP/80) is never
        // missing in between, so established flows see no gap.
        for (k, w) in desired {
            if let (id, old) = current[k], old.entry == w.entry { entries[id] = w; continue }
            let id = nextEntryID
            nextEntryID &+= 1
            var v = porin_policy_value()
            v.lpm_length = UInt8(w.key.prefixLength)
            v.flags = (w.entry.deny ? UInt8(PORIN_POLICY_DENY) : 0) | (w.entry.redirect != nil ? UInt8(PORIN_POLICY_REDIRECT) : 0)
            // Only DNS rules have a proxy; other L7 rules stay plain allows (docs/datapath.md).
            v.proxy_port_be = w.entry.redirect == .dns ? proxyPort.bigEndian : 0
            v.entry_id = id
            // Trie first, then its exact-key cache (never the other way round).
            guard (try? object.policy.update(k.key, v)) != nil else { continue }  // a full map keeps the old entry; the next sync retries
            if let (oldID, _) = current[k] { entries[oldID] = nil }
            current[k] = (id, w)
            entries[id] = w
            wrote += 1
            if let ek = Self.exactKey(k.key), (try? object.policyExact.update(ek, v)) == nil {
                object.policyExact.delete(ek)  // the cache may lack a key, never hold a wrong one
            }
        }
        for (k, (id, _)) in current where desired[k] == nil {
            if let ek = Self.exactKey(k.key) { object.policyExact.delete(ek) }
            object.policy.delete(k.key)
            entries[id] = nil
            current[k] = nil
            deleted += 1
        }
        written[endpoint] = current.isEmpty ? nil : current
        return (wrote, deleted)
    }
}

/// `porin_policy_key` as a dictionary key (C structs are not Hashable).
public struct porin_policy_key_wrapper: Hashable {
    public var key: porin_policy_key
    public init(_ k: porin_policy_key) { key = k }
    public static func == (a: Self, b: Self) -> Bool {
        a.key.prefixlen == b.key.prefixlen && a.key.identity == b.key.identity && a.key.endpoint_id == b.key.endpoint_id
            && a.key.egress == b.key.egress && a.key.protocol == b.key.protocol && a.key.dport_be == b.key.dport_be
    }
    public func hash(into h: inout Hasher) {
        h.combine(key.prefixlen); h.combine(key.identity); h.combine(key.endpoint_id); h.combine(key.egress); h.combine(key.protocol); h.combine(key.dport_be)
    }
}
