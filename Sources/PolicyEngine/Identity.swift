// Security identities (§3): reserved numbers, cluster-allocated identities for pod label sets
// (256…65535) and node-local identities for CIDR/FQDN label sets (from 16777217).
import PolicyAPI

public typealias NumericIdentity = UInt32

public enum ReservedIdentity {
    public static let unknown: NumericIdentity = 0
    public static let host: NumericIdentity = 1
    public static let world: NumericIdentity = 2
    public static let unmanaged: NumericIdentity = 3
    public static let health: NumericIdentity = 4
    public static let initIdentity: NumericIdentity = 5
    public static let remoteNode: NumericIdentity = 6
    public static let kubeAPIServer: NumericIdentity = 7
    public static let ingress: NumericIdentity = 8
    public static let worldIPv4: NumericIdentity = 9
    public static let worldIPv6: NumericIdentity = 10

    public static let minCluster: NumericIdentity = 256
    public static let maxCluster: NumericIdentity = 65535
    public static let minLocal: NumericIdentity = 0x0100_0001
    public static let maxLocal: NumericIdentity = 0x01FF_FFFF

    /// Names as `NumericIdentity.String()` prints them (Hubble's `(world)`).
    public static let names: [NumericIdentity: String] = [
        0: "unknown", 1: "host", 2: "world", 3: "unmanaged", 4: "health", 5: "init", 6: "remote-node",
        7: "kube-apiserver", 8: "ingress", 9: "world-ipv4", 10: "world-ipv6",
    ]

    /// The label sets of the reserved identities present in a single-stack (IPv4) cluster.
    public static let labels: [NumericIdentity: LabelSet] = [
        host: LabelSet([.reserved("host")]),
        world: LabelSet([.reserved("world")]),
        unmanaged: LabelSet([.reserved("unmanaged")]),
        health: LabelSet([.reserved("health")]),
        initIdentity: LabelSet([.reserved("init")]),
        remoteNode: LabelSet([.reserved("remote-node")]),
        kubeAPIServer: LabelSet([.reserved("kube-apiserver"), .reserved("remote-node")]),
        ingress: LabelSet([.reserved("ingress")]),
    ]

    /// Entity names usable as query peers and their identities.
    public static let entities: [String: NumericIdentity] = [
        "host": host, "world": world, "unmanaged": unmanaged, "health": health, "init": initIdentity,
        "remote-node": remoteNode, "kube-apiserver": kubeAPIServer, "ingress": ingress,
    ]

    public static func isLocal(_ id: NumericIdentity) -> Bool { id & 0xFF00_0000 == 0x0100_0000 }
}

/// Hands out numeric identities for label sets: the same labels always get the same number while
/// in use; numbers are allocated in order, so a run is reproducible.
public struct IdentityAllocator: Sendable {
    public private(set) var byLabels: [LabelSet: NumericIdentity] = [:]
    public private(set) var labelsByID: [NumericIdentity: LabelSet] = [:]
    var refs: [NumericIdentity: Int] = [:]
    var nextCluster = ReservedIdentity.minCluster
    var nextLocal = ReservedIdentity.minLocal
    var freeCluster: [NumericIdentity] = []
    var freeLocal: [NumericIdentity] = []

    public init() {
        for (id, l) in ReservedIdentity.labels {
            byLabels[l] = id
            labelsByID[id] = l
        }
    }

    /// Local scope for label sets made only of cidr/fqdn/reserved/cidrgroup labels (§3.2).
    static func isLocalScope(_ l: LabelSet) -> Bool {
        l.labels.allSatisfy { ["cidr", "fqdn", "reserved", "cidrgroup"].contains($0.source) }
    }

    /// Returns the identity for `labels`, allocating one when new; `isNew` tells which.
    /// `preferred` (an agent restoring its endpoints after a restart) is taken when it is free
    /// and of the right scope, so that identities in pinned maps stay valid.
    public mutating func acquire(_ labels: LabelSet, preferred: NumericIdentity? = nil) -> (id: NumericIdentity, isNew: Bool) {
        if let id = byLabels[labels] {
            if ReservedIdentity.labels[id] == nil { refs[id, default: 0] += 1 }
            return (id, false)
        }
        let id: NumericIdentity
        if let p = preferred, labelsByID[p] == nil, !Self.isLocalScope(labels), p >= ReservedIdentity.minCluster, p < 65536 {
            if let i = freeCluster.firstIndex(of: p) {
                freeCluster.remove(at: i)
            } else if p >= nextCluster {
                freeCluster.append(contentsOf: nextCluster..<p)
                nextCluster = p + 1
            }
            id = p
        } else if let p = preferred, labelsByID[p] == nil, Self.isLocalScope(labels), ReservedIdentity.isLocal(p) {
            if let i = freeLocal.firstIndex(of: p) {
                freeLocal.remove(at: i)
            } else if p >= nextLocal {
                freeLocal.append(contentsOf: nextLocal..<p)
                nextLocal = p + 1
            }
            id = p
        } else if Self.isLocalScope(labels) {
            if let f = freeLocal.popLast() { id = f } else { id = nextLocal; nextLocal += 1 }
        } else {
            if let f = freeCluster.popLast() { id = f } else { id = nextCluster; nextCluster += 1 }
        }
        byLabels[labels] = id
        labelsByID[id] = labels
        refs[id] = 1
        return (id, true)
    }

    /// Drops one reference; returns true when the identity was freed.
    public mutating func release(_ id: NumericIdentity) -> Bool {
        guard ReservedIdentity.labels[id] == nil, let r = refs[id] else { return false }
        if r > 1 { refs[id] = r - 1; return false }
        refs[id] = nil
        if let l = labelsByID.removeValue(forKey: id) { byLabels[l] = nil }
        if ReservedIdentity.isLocal(id) { freeLocal.append(id) } else { freeCluster.append(id) }
        return true
    }
}
