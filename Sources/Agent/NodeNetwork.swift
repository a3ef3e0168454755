// A node's network: its namespace, the datapath loaded into it, and pods wired to it the way
// Porin wires every pod: a namespace, a veth whose host side carries the BPF programs, a /32
// address with a default route through a link-local gateway, Kubernetes' resolver settings and,
// when the cluster has a world with HTTPS hosts, a trust store that includes the world's CA.
import ClusterAPI
import Datapath
import DatapathABI
import Foundation
import Netns
import PolicyAPI

public struct PodNetwork: Hashable, Sendable {
    public var namespace: NetworkNamespace
    public var address: IPAddress
    public var hostDevice: String
    public var hostIfindex: Int32
    public var podMAC: [UInt8]
    public var hostMAC: [UInt8]
}

public final class NodeNetwork: @unchecked Sendable {
    public let cluster: String
    public let node: NetworkNamespace
    public let datapath: DatapathObject
    /// The gateway address every pod routes through (answered by the host side of its veth).
    public static let gateway = "169.254.1.1"

    /// Creates (or takes over) the node namespace and loads the datapath with its maps pinned
    /// under /sys/fs/bpf/porin/<cluster>/<node>/ (each node has its own ifindexes, conntrack and
    /// endpoints, so nodes never share maps).
    public init(cluster: String, nodeName: String, netns: String? = nil) throws {
        self.cluster = cluster
        node = try NetworkNamespace.create(netns ?? nodeName)
        try node.sysctl("net/ipv4/ip_forward", "1")
        // IPv4 only for now: the node sends no IPv6 (router solicitations, MLD) into pods either.
        try node.sysctl("net/ipv6/conf/all/disable_ipv6", "1")
        try node.sysctl("net/ipv6/conf/default/disable_ipv6", "1")
        datapath = try DatapathObject(objectPath: try DatapathObject.locateObject(), pinDirectory: "/sys/fs/bpf/porin/\(cluster)/\(nodeName)")
        // Packets the datapath assigned to a proxy's socket are delivered locally, in this
        // namespace only (docs/dns-proxy.md). Replaced, not added, when an agent takes over.
        let mark = String(format: "0x%x/0x%x", PORIN_MARK_TO_PROXY, PORIN_MARK_TO_PROXY_MASK)
        while (try? node.ip("rule", "del", "fwmark", mark, "lookup", String(PORIN_PROXY_ROUTE_TABLE))) != nil {}
        try node.ip("rule", "add", "fwmark", mark, "lookup", String(PORIN_PROXY_ROUTE_TABLE))
        try node.ip("route", "replace", "local", "0.0.0.0/0", "dev", "lo", "table", String(PORIN_PROXY_ROUTE_TABLE))
        // The node's own address, what pods know as their gateway: the DNS proxy's queries to
        // servers in pods come from it (a namespace without any address could not send them).
        try node.ip("link", "set", "lo", "up")
        try node.ip("addr", "replace", "\(Self.gateway)/32", "dev", "lo")
    }

    /// The host-side device name of a pod's veth: `lxc` + 11 hex digits of a hash of the pod's
    /// namespace name (device names are limited to 15 characters).
    public static func hostDevice(for netns: String) -> String {
        let h = netns.utf8.reduce(UInt64(14695981039346656037)) { ($0 ^ UInt64($1)) &* 1099511628211 }
        let hex = String(h, radix: 16)
        return "lxc" + String(String(repeating: "0", count: max(0, 11 - hex.count)) + hex).suffix(11)
    }

    /// Creates a pod's namespace and wiring and attaches the datapath to its veth. `dns` and
    /// `searchNamespace` give the pod Kubernetes' resolver configuration.
    /// With `attach: false` the pod is wired but its traffic is left to the kernel alone (the
    /// datapath benchmark's baseline).
    public func createPod(netns name: String, address: IPAddress, dns: IPAddress?, searchNamespace: String,
                          clusterDomain: String = "cluster.local", attach: Bool = true) throws -> PodNetwork {
        let ns = try NetworkNamespace.create(name)
        let host = Self.hostDevice(for: name)
        if (try? node.ip("link", "show", "dev", host)) != nil { try node.ip("link", "delete", host) }
        try createVethPair(outer: host, outerNamespace: node, innerTemp: "t" + host.dropFirst(3), into: ns, innerName: "eth0")
        let (hostIndex, hostMAC) = try node.link(host)
        let (_, podMAC) = try ns.link("eth0")
        // IPv4 only for now: IPv6 is off in pods (and the datapath drops any IPv6 it sees).
        try ns.sysctl("net/ipv6/conf/all/disable_ipv6", "1")
        try ns.ip("addr", "add", "\(address)/32", "dev", "eth0")
        try ns.ip("route", "add", Self.gateway, "dev", "eth0", "scope", "link")
        try ns.ip("route", "add", "default", "via", Self.gateway, "dev", "eth0")
        try ns.ip("neigh", "add", Self.gateway, "lladdr", hostMAC.map { String(format: "%02x", $0) }.joined(separator: ":"), "dev", "eth0", "nud", "permanent")
        try node.ip("route", "replace", "\(address)/32", "dev", host)
        // The node answers ARP for pods it routes to (traffic from the node's stack).
        try node.sysctl("net/ipv4/conf/\(host)/proxy_arp", "1")
        if let dns {
            // `ip netns exec` bind-mounts /etc/netns/<name>/resolv.conf over /etc/resolv.conf.
            let dir = "/etc/netns/\(name)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let conf = """
            search \(searchNamespace).svc.\(clusterDomain) svc.\(clusterDomain) \(clusterDomain)
            nameserver \(dns)
            options ndots:5

            """
            try conf.write(toFile: "\(dir)/resolv.conf", atomically: true, encoding: .utf8)
        }
        let worldCA = ClusterPaths(cluster).worldCA
        if FileManager.default.fileExists(atPath: worldCA) {
            try Self.writeTrustStore(into: "/etc/netns/\(name)/ssl", adding: worldCA)
        }
        if attach {
            let datapath = self.datapath
            try node.perform { try datapath.attach(ifindex: hostIndex) }
        }
        return PodNetwork(namespace: ns, address: address, hostDevice: host, hostIfindex: hostIndex, podMAC: podMAC, hostMAC: hostMAC)
    }

    /// The machine's trust store plus `ca`, for a pod: `ip netns exec` bind-mounts
    /// /etc/netns/<pod>/ssl over /etc/ssl, so OpenSSL's default CA file
    /// (/etc/ssl/certs/ca-certificates.crt, which curl, wget, Python and `openssl s_client` read)
    /// holds the world's CA too, as a machine trusts a real CA, without `-k` or `--cacert`.
    /// Only the files OpenSSL reads by default are copied: the bundle and openssl.cnf (which
    /// /usr/lib/ssl/openssl.cnf links to); the per-certificate hash links of /etc/ssl/certs are
    /// not, so a client that reads only a CA directory sees no CA at all.
    static func writeTrustStore(into ssl: String, adding ca: String) throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: ssl)
        try fm.createDirectory(atPath: "\(ssl)/certs", withIntermediateDirectories: true)
        if fm.fileExists(atPath: "/etc/ssl/openssl.cnf") { try fm.copyItem(atPath: "/etc/ssl/openssl.cnf", toPath: "\(ssl)/openssl.cnf") }
        var bundle = (try? Data(contentsOf: URL(fileURLWithPath: "/etc/ssl/certs/ca-certificates.crt"))) ?? Data()
        if let last = bundle.last, last != UInt8(ascii: "\n") { bundle.append(UInt8(ascii: "\n")) }
        bundle.append(try Data(contentsOf: URL(fileURLWithPath: ca)))
        try bundle.write(to: URL(fileURLWithPath: "\(ssl)/certs/ca-certificates.crt"), options: .atomic)
    }

    /// Re-reads a pod wired by an earlier agent and attaches the (reloaded) datapath to it again.
    public func adoptPod(netns name: String, address: IPAddress) throws -> PodNetwork {
        let ns = NetworkNamespace(name)
        let host = Self.hostDevice(for: name)
        let (hostIndex, hostMAC) = try node.link(host)
        let (_, podMAC) = try ns.link("eth0")
        let datapath = self.datapath
        try node.perform { try datapath.attach(ifindex: hostIndex) }
        return PodNetwork(namespace: ns, address: address, hostDevice: host, hostIfindex: hostIndex, podMAC: podMAC, hostMAC: hostMAC)
    }

    /// Removes a pod's namespace, veth, route, resolver file and trust store.
    public func deletePod(_ pod: PodNetwork) {
        try? node.ip("route", "delete", "\(pod.address)/32")
        try? pod.namespace.delete()
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(pod.namespace.name)")
    }

    /// Removes the node namespace and the pinned maps (`porin down`); pods must be deleted first.
    public func destroy() {
        try? node.delete()
        DatapathObject.unpin(directory: datapath.pinDirectory)
    }
}
