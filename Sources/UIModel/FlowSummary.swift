// What the flow store makes of one flow, once, when it is appended: whether it counts on the
// service map, the cards of its two ends (Hubble UI's naming rules), its port, protocol, verdict,
// TCP flags and time, and the key that drop attribution and what-if evaluate. `FlowCards` is the
// public face of the card rules, for code that names pods the way the map does.
import Hubble

/// Hubble UI's card rules, for one end of a flow.
public enum FlowCards {
    /// The card of the flow's source (`source: true`) or destination, with that end's pod and
    /// address as its only `pods`/`ips` and no `ports`.
    public static func card(_ f: Flow, source: Bool) -> Card {
        let e = source ? f.source : f.destination
        let names = source ? f.sourceNames : f.destinationNames
        let ip = source ? f.ip?.source ?? "" : f.ip?.destination ?? ""
        let rule = CardRule(endpoint: e, names: names)
        var c = rule.card(ip: ip)
        if let pod = e?.podName, !pod.isEmpty { c.pods = [pod] }
        if !ip.isEmpty { c.ips = [ip] }
        return c
    }

    /// The label that names a pod's card: the first of `app`, `name`, `functionname`, `k8s-app`
    /// (with `app.kubernetes.io/` ignored when matching). `key` is the label's key as the pod has
    /// it, without the `k8s:` source (`app`, `app.kubernetes.io/name`), so a rule can select it.
    public static func appLabel(_ labels: [String]) -> (key: String, value: String)? {
        var best: (rank: Int, key: String, value: String)?
        for l in labels {
            let p = ParsedLabel(l)
            guard p.source == "k8s" || p.source == "container" || p.source == "unspec" || p.source == "any" else { continue }
            var match = p.key
            if match.hasPrefix(appKubernetesPrefix) { match = match.dropFirst(appKubernetesPrefix.count) }
            guard let rank = appKeys.firstIndex(where: { match.lowercased() == $0 }) else { continue }
            if best == nil || rank < best!.rank { best = (rank, String(p.key), String(p.value)) }
        }
        return best.map { ($0.key, $0.value) }
    }

    /// Whether the service map counts the flow: FORWARDED or DROPPED, not a reply, not a
    /// policy-verdict event (it would count each drop twice), not a socket-translation trace,
    /// and for L7 flows only drops (an allowed DNS query already counts as its `to-proxy` flow).
    public static func isCounted(_ f: Flow) -> Bool { FlowSummary.role(of: f) == .counted }

    static let appKeys = ["app", "name", "functionname", "k8s-app"]
    static let appKubernetesPrefix = "app.kubernetes.io/"
}

/// A label `source:key=value` in its parts (no copies: views into the label).
struct ParsedLabel {
    var source: Substring
    var key: Substring
    var value: Substring
    var hasValue: Bool

    init(_ label: String) {
        var rest = label[...]
        if let colon = rest.firstIndex(of: ":") {
            source = rest[..<colon]
            rest = rest[rest.index(after: colon)...]
        } else {
            source = ""
        }
        if let eq = rest.firstIndex(of: "=") {
            key = rest[..<eq]
            value = rest[rest.index(after: eq)...]
            hasValue = true
        } else {
            key = rest
            value = ""
            hasValue = false
        }
    }
}

/// How one end of a flow becomes a card. Computed once per distinct end (the store interns them),
/// never per flow.
struct CardRule {
    /// The card, except for `ip:` cards, whose id depends on the address.
    var base: Card?
    /// Labels shown on the card (see `shownLabels`).
    var labels: [String]

    init(endpoint e: FlowEndpoint?, names: [String]) {
        let labels = e?.labels ?? []
        self.labels = Self.shownLabels(labels)
        var host = false, remoteNode = false, world = false, kubeDNS = false
        for l in labels where l.hasPrefix("reserved:") || l.hasPrefix("k8s:k8s-app=") {
            switch l {
            case "reserved:host": host = true
            case "reserved:remote-node": remoteNode = true
            case "reserved:world", "reserved:world-ipv4", "reserved:world-ipv6": world = true
            case "k8s:k8s-app=kube-dns": kubeDNS = true
            default: break
            }
        }
        var namespace = e?.namespace ?? ""
        // The DNS proxy's forwarded queries carry the pod's identity but not the pod: its labels
        // still name the namespace, and Hubble UI groups them with the pod's card.
        if namespace.isEmpty, let l = labels.first(where: { $0.hasPrefix(Self.namespaceLabel) }) {
            namespace = String(l.dropFirst(Self.namespaceLabel.count))
        }
        if host {
            base = Card(id: "host", kind: "host", name: "host")
        } else if remoteNode {
            base = Card(id: "remote-node", kind: "remote-node", name: "remote-node")
        } else if world {
            if let name = names.first.map(Self.withoutTrailingDot), !name.isEmpty {
                base = Card(id: "fqdn:" + name, kind: "world", name: name)
            } else {
                base = Card(id: "world", kind: "world", name: "world")
            }
        } else if kubeDNS && namespace == "kube-system" {
            base = Card(id: "dns:kube-system", kind: "kube-dns", namespace: namespace, name: "kube-dns")
        } else if !namespace.isEmpty, let app = FlowCards.appLabel(labels)?.value ?? e?.workloads.first?.name ?? e?.podName, !app.isEmpty {
            base = Card(id: "pod:\(namespace)/\(app)", kind: "workload", namespace: namespace, name: app)
        } else {
            base = nil
        }
        if var b = base {
            b.labels = self.labels
            base = b
        }
    }

    func card(ip: String) -> Card {
        base ?? Card(id: "ip:" + ip, kind: "unknown", name: ip, labels: labels)
    }

    /// Labels as the card shows them: Kubernetes labels as `key=value` without their source,
    /// others (`reserved:world`, `cidr:…`, `fqdn:…`) whole, since their key alone means little.
    /// The namespace label and the labels Cilium derives from policy and namespace are left out.
    static func shownLabels(_ labels: [String]) -> [String] {
        var out: [String] = []
        for l in labels {
            let p = ParsedLabel(l)
            if p.key == "io.kubernetes.pod.namespace" || p.key.hasPrefix("io.cilium.k8s.policy.") || p.key.hasPrefix("io.cilium.k8s.namespace.labels.") {
                continue
            }
            switch p.source {
            case "k8s", "container", "unspec", "any", "":
                out.append(p.hasValue ? "\(p.key)=\(p.value)" : String(p.key))
            default:
                out.append(l)
            }
        }
        return out.sorted()
    }

    static let namespaceLabel = "k8s:io.kubernetes.pod.namespace="

    static func withoutTrailingDot(_ s: String) -> String { s.hasSuffix(".") ? String(s.dropLast()) : s }
}

/// The stored summary of one flow (kept beside it in the ring, so eviction undoes exactly what
/// the append did).
struct FlowSummary {
    enum Role: UInt8 {
        /// Kept in the ring for raw queries only.
        case ignored
        /// A packet of the map: it counts on its edge and its row.
        case counted
        /// An allowed L7 request: names and L7 text on its edge and row, no count.
        case attached
    }

    var role: Role
    var dropped: Bool
    /// A policy drop (reason 133 or 181): the store asks who dropped it.
    var attributable: Bool
    /// TCP flags, bit i = `FlowSummary.flagOrder[i]`.
    var flags: UInt16
    var port: UInt16
    var proto: UInt8
    /// The flow's append number in the store (FIFO order, for the newest-time windows).
    var number: UInt64
    var time: FlowTime
    var srcSide: Int32 = -1
    var dstSide: Int32 = -1
    var srcCard: Int32 = -1
    var dstCard: Int32 = -1
    var edge: Int32 = -1
    var row: Int32 = -1
    /// Interned `EvalKey` of an attributable drop.
    var evalKey: Int32 = -1

    static func role(of f: Flow) -> Role {
        guard f.verdict == 1 || f.verdict == 2, f.isReply != true else { return .ignored }
        if let e = f.eventType, e.type == 5 || e.type == 7 { return .ignored }
        switch f.type {
        case 3: return .ignored
        case 2:
            guard let l7 = f.l7, l7.type != 2 else { return .ignored }
            return f.verdict == 2 ? .counted : .attached
        default: return .counted
        }
    }

    static func isAttributable(_ f: Flow) -> Bool {
        guard f.verdict == 2 else { return false }
        let reason = f.dropReasonDesc != 0 ? f.dropReasonDesc : Int(f.dropReason)
        return reason == 133 || reason == 181
    }

    /// Hubble's summary order (`TCPFlags.names`).
    static let flagOrder = ["SYN", "ACK", "RST", "FIN", "PSH", "URG", "ECE", "CWR", "NS"]

    static func flagBits(_ t: TCPFlags) -> UInt16 {
        var b: UInt16 = 0
        if t.syn { b |= 1 }
        if t.ack { b |= 2 }
        if t.rst { b |= 4 }
        if t.fin { b |= 8 }
        if t.psh { b |= 16 }
        if t.urg { b |= 32 }
        if t.ece { b |= 64 }
        if t.cwr { b |= 128 }
        if t.ns { b |= 256 }
        return b
    }

    static func flagNames(_ bits: UInt16) -> [String] {
        flagOrder.indices.filter { bits & (1 << $0) != 0 }.map { flagOrder[$0] }
    }

    static let protocolNames = ["", "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6"]

    /// (destination port, protocol code, TCP flag bits). ICMP has no port: 0.
    static func l4(_ f: Flow) -> (port: UInt16, proto: UInt8, flags: UInt16) {
        switch f.l4 {
        case let .tcp(_, d, flags): (UInt16(truncatingIfNeeded: d), 1, flags.map(flagBits) ?? 0)
        case let .udp(_, d): (UInt16(truncatingIfNeeded: d), 2, 0)
        case let .sctp(_, d): (UInt16(truncatingIfNeeded: d), 3, 0)
        case .icmpv4: (0, 4, 0)
        case .icmpv6: (0, 5, 0)
        case nil: (0, 0, 0)
        }
    }

    /// Stable ids for edges and rows: FNV-1a (64 bits) of the key's text, in hex. The same key
    /// gives the same id in every process and run, and the id is safe in URLs and JSON.
    static func stableID(_ prefix: String, _ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return prefix + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// One end of a flow as the store interns it: everything the card rules read. Equal keys give
/// the same card (except `ip:` cards, which the address decides).
struct SideKey: Hashable {
    var identity: UInt32
    var namespace: String
    var pod: String
    var labels: [String]
    var workload: String
    var name: String

    init(_ f: Flow, source: Bool) {
        let e = source ? f.source : f.destination
        identity = e?.identity ?? 0
        namespace = e?.namespace ?? ""
        pod = e?.podName ?? ""
        labels = e?.labels ?? []
        workload = e?.workloads.first?.name ?? ""
        name = (source ? f.sourceNames : f.destinationNames).first ?? ""
    }

    /// A slot in 0..<256 from the parts that tell ends apart without reading their labels.
    var memoSlot: Int {
        var h = UInt32(truncatingIfNeeded: identity) &* 0x9E37_79B1
        h ^= UInt32(truncatingIfNeeded: pod.utf8.count) &* 0x85EB_CA6B
        h ^= UInt32(pod.utf8.last ?? 0) &* 0xC2B2_AE35
        h ^= UInt32(truncatingIfNeeded: name.utf8.count &+ labels.count &* 31)
        return Int(h >> 24)
    }
}

/// One end of a flow as policy evaluation sees it: a pod (identity, namespace, name) or an
/// address with the names the DNS proxy knows for it.
public struct EvalSide: Hashable, Sendable {
    public var identity: UInt32
    public var namespace: String
    public var pod: String
    public var ip: String
    public var names: [String]

    init(_ f: Flow, source: Bool) {
        let e = source ? f.source : f.destination
        if let e, !e.podName.isEmpty {
            identity = e.identity
            namespace = e.namespace
            pod = e.podName
            ip = ""
            names = []
        } else {
            identity = 0
            namespace = ""
            pod = ""
            ip = (source ? f.ip?.source : f.ip?.destination) ?? ""
            names = source ? [] : f.destinationNames
        }
    }
}

/// What-if's and attribution's unit: flows with the same key get the same verdict from an engine.
public struct EvalKey: Hashable, Sendable {
    public var source: EvalSide
    public var destination: EvalSide
    public var port: UInt16
    /// `TCP`, `UDP`… ("" without L4).
    public var `protocol`: String

    public init(_ f: Flow) {
        source = EvalSide(f, source: true)
        destination = EvalSide(f, source: false)
        let l4 = FlowSummary.l4(f)
        port = l4.port
        `protocol` = FlowSummary.protocolNames[Int(l4.proto)]
    }
}
