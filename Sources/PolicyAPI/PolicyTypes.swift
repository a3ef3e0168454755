// The policy objects Porin understands, as Cilium's API (`pkg/policy/api`) and Kubernetes'
// `networking.k8s.io/v1` define them. Field names follow the YAML; `from*`/`to*` peers share
// one type (`PeerRule`) because the engine treats both directions alike.

/// A Kubernetes label selector as written (keys may carry a `source:` prefix, e.g. `k8s:app`).
public struct LabelSelector: Hashable, Sendable {
    public struct Requirement: Hashable, Sendable {
        public enum Operator: String, Sendable { case `in` = "In", notIn = "NotIn", exists = "Exists", doesNotExist = "DoesNotExist" }
        public var key: String
        public var op: Operator
        public var values: [String]
        public init(key: String, op: Operator, values: [String] = []) {
            self.key = key
            self.op = op
            self.values = values
        }
    }
    public var matchLabels: [(String, String)]
    public var matchExpressions: [Requirement]

    public init(matchLabels: [(String, String)] = [], matchExpressions: [Requirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public var isEmpty: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    public static func == (a: LabelSelector, b: LabelSelector) -> Bool {
        a.matchLabels.count == b.matchLabels.count && zip(a.matchLabels, b.matchLabels).allSatisfy { $0 == $1 }
            && a.matchExpressions == b.matchExpressions
    }
    public func hash(into h: inout Hasher) {
        for (k, v) in matchLabels { h.combine(k); h.combine(v) }
        h.combine(matchExpressions)
    }
}

public enum PolicyKind: String, Sendable, Hashable, CaseIterable {
    case ciliumNetworkPolicy = "CiliumNetworkPolicy"
    case ciliumClusterwideNetworkPolicy = "CiliumClusterwideNetworkPolicy"
    case networkPolicy = "NetworkPolicy"
}

/// Names a policy object, e.g. `CiliumNetworkPolicy/tenant-a/default`.
public struct PolicyReference: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var kind: PolicyKind
    public var namespace: String  // empty for clusterwide policies
    public var name: String
    public init(kind: PolicyKind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }
    public var description: String {
        namespace.isEmpty ? "\(kind.rawValue)/\(name)" : "\(kind.rawValue)/\(namespace)/\(name)"
    }
    public static func < (a: PolicyReference, b: PolicyReference) -> Bool { (a.kind.rawValue, a.namespace, a.name) < (b.kind.rawValue, b.namespace, b.name) }
}

public enum TrafficDirection: String, Sendable, Hashable, CaseIterable {
    case ingress, egress
}

/// A CIDR peer: a prefix with exceptions (`toCIDRSet`), or a CiliumCIDRGroup reference.
public struct CIDRRule: Hashable, Sendable {
    public var cidr: IPPrefix?
    public var except: [IPPrefix]
    public var cidrGroupRef: String?
    public var cidrGroupSelector: LabelSelector?
    public init(cidr: IPPrefix?, except: [IPPrefix] = [], cidrGroupRef: String? = nil, cidrGroupSelector: LabelSelector? = nil) {
        self.cidr = cidr
        self.except = except
        self.cidrGroupRef = cidrGroupRef
        self.cidrGroupSelector = cidrGroupSelector
    }
}

/// `toFQDNs` entries and DNS L7 rules: exactly one of `matchName` / `matchPattern`.
public struct FQDNSelector: Hashable, Sendable {
    public var matchName: String?
    public var matchPattern: String?
    public init(matchName: String? = nil, matchPattern: String? = nil) {
        self.matchName = matchName
        self.matchPattern = matchPattern
    }
    /// The label Cilium gives IPs selected by this selector: `fqdn:<name or pattern>`.
    public var labelValue: String { matchName ?? matchPattern ?? "" }
}

public struct ServiceSelector: Hashable, Sendable {
    public var serviceName: String?
    public var selector: LabelSelector?
    public var namespace: String?
    public init(serviceName: String? = nil, selector: LabelSelector? = nil, namespace: String? = nil) {
        self.serviceName = serviceName
        self.selector = selector
        self.namespace = namespace
    }
}

public enum L4Protocol: String, Sendable, Hashable, CaseIterable {
    case tcp = "TCP", udp = "UDP", sctp = "SCTP", any = "ANY", vrrp = "VRRP", igmp = "IGMP"
    case icmp = "ICMP", icmpv6 = "ICMPV6"

    /// IANA protocol number; 0 for ANY.
    public var number: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        case .any: 0
        case .vrrp: 112
        case .igmp: 2
        case .icmp: 1
        case .icmpv6: 58
        }
    }
}

public struct PortProtocol: Hashable, Sendable {
    /// Decimal port ("0" = all) or a named port (lower-cased). Empty only for VRRP/IGMP.
    public var port: String
    public var endPort: Int?
    public var proto: L4Protocol
    public init(port: String, endPort: Int? = nil, proto: L4Protocol) {
        self.port = port
        self.endPort = endPort
        self.proto = proto
    }
    public var numericPort: Int? { Int(port) }
}

public struct HTTPRule: Hashable, Sendable {
    public var path: String?
    public var method: String?
    public var host: String?
    public var headers: [String]
    public var headerMatches: [HeaderMatch]
    public struct HeaderMatch: Hashable, Sendable {
        public var mismatch: String?
        public var name: String
        public var value: String?
        public var secretNamespace: String?
        public var secretName: String?
    }
    public init(path: String? = nil, method: String? = nil, host: String? = nil, headers: [String] = [], headerMatches: [HeaderMatch] = []) {
        self.path = path
        self.method = method
        self.host = host
        self.headers = headers
        self.headerMatches = headerMatches
    }
}

public struct KafkaRule: Hashable, Sendable {
    public var role: String?
    public var apiKey: String?
    public var apiVersion: String?
    public var clientID: String?
    public var topic: String?
    public init(role: String? = nil, apiKey: String? = nil, apiVersion: String? = nil, clientID: String? = nil, topic: String? = nil) {
        self.role = role
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.clientID = clientID
        self.topic = topic
    }
}

public struct L7Rules: Hashable, Sendable {
    public var http: [HTTPRule]?
    public var kafka: [KafkaRule]?
    public var dns: [FQDNSelector]?
    public var l7proto: String?
    public var l7: [[String: String]]?
    public init(http: [HTTPRule]? = nil, kafka: [KafkaRule]? = nil, dns: [FQDNSelector]? = nil, l7proto: String? = nil, l7: [[String: String]]? = nil) {
        self.http = http
        self.kafka = kafka
        self.dns = dns
        self.l7proto = l7proto
        self.l7 = l7
    }

    /// The proxy that enforces these rules (Cilium's L7 parser type).
    public var parser: L7Parser? {
        if dns != nil { return .dns }
        if http != nil { return .http }
        if kafka != nil { return .kafka }
        if let p = l7proto { return .generic(p) }
        return nil
    }
}

public enum L7Parser: Hashable, Sendable, CustomStringConvertible {
    case dns, http, kafka, tls, crd
    case generic(String)
    public var description: String {
        switch self {
        case .dns: "dns"
        case .http: "http"
        case .kafka: "kafka"
        case .tls: "tls"
        case .crd: "crd"
        case let .generic(p): p
        }
    }
}

public struct TLSContext: Hashable, Sendable {
    public var secretNamespace: String?
    public var secretName: String
    public var trustedCA: String?
    public var certificate: String?
    public var privateKey: String?
}

public struct ListenerRef: Hashable, Sendable {
    public var envoyConfigKind: String
    public var envoyConfigName: String
    public var name: String
    public var priority: Int?
}

public struct PortRule: Hashable, Sendable {
    public var ports: [PortProtocol]
    public var rules: L7Rules?
    public var terminatingTLS: TLSContext?
    public var originatingTLS: TLSContext?
    public var serverNames: [String]
    public var listener: ListenerRef?
    public init(ports: [PortProtocol], rules: L7Rules? = nil, terminatingTLS: TLSContext? = nil, originatingTLS: TLSContext? = nil, serverNames: [String] = [], listener: ListenerRef? = nil) {
        self.ports = ports
        self.rules = rules
        self.terminatingTLS = terminatingTLS
        self.originatingTLS = originatingTLS
        self.serverNames = serverNames
        self.listener = listener
    }

    /// The proxy this port rule redirects to, if any (§2.5: DNS for any protocol; others TCP).
    public var parser: L7Parser? {
        if let p = rules?.parser { return p }
        if listener != nil { return .crd }
        if terminatingTLS != nil || originatingTLS != nil || !serverNames.isEmpty { return .tls }
        return nil
    }
}

public struct ICMPField: Hashable, Sendable {
    public var family: String  // "IPv4" or "IPv6"
    public var type: UInt8
}

public enum AuthenticationMode: String, Sendable, Hashable {
    case disabled, required
    case testAlwaysFail = "test-always-fail"
}

/// One ingress/egress (allow or deny) rule. `nil` lists are "not written"; an empty list that was
/// written (`toEndpoints: []`) selects nothing, which differs from not writing it.
public struct PeerRule: Hashable, Sendable {
    public var endpoints: [LabelSelector]?
    public var requires: [LabelSelector]?
    public var cidrs: [IPPrefix]?
    public var cidrSets: [CIDRRule]?
    public var entities: [String]?
    public var nodes: [LabelSelector]?
    public var groupsWritten: Bool = false
    public var services: [ServiceSelector]?
    public var fqdns: [FQDNSelector]?
    public var toPorts: [PortRule]?
    public var icmps: [ICMPField]?
    public var authentication: AuthenticationMode?

    public init() {}

    /// True when no L3 peer field is written: the rule's peer is then every identity.
    public var hasNoL3: Bool {
        endpoints == nil && cidrs == nil && cidrSets == nil && entities == nil && nodes == nil
            && !groupsWritten && services == nil && fqdns == nil
    }
}

public struct DefaultDenyConfig: Hashable, Sendable {
    public var ingress: Bool?
    public var egress: Bool?
    public init(ingress: Bool? = nil, egress: Bool? = nil) {
        self.ingress = ingress
        self.egress = egress
    }
}

/// One Cilium rule (`spec` or an element of `specs`).
public struct PolicyRule: Hashable, Sendable {
    public var endpointSelector: LabelSelector?
    public var nodeSelector: LabelSelector?
    public var ingress: [PeerRule] = []
    public var ingressDeny: [PeerRule] = []
    public var egress: [PeerRule] = []
    public var egressDeny: [PeerRule] = []
    public var labels: [String] = []
    public var enableDefaultDeny = DefaultDenyConfig()
    public var description: String?
    public var log: String?
    /// Where the rule starts in its file (for messages about the rule as a whole).
    public var position: SourcePosition?

    public init() {}

    public static func == (a: PolicyRule, b: PolicyRule) -> Bool {
        a.endpointSelector == b.endpointSelector && a.nodeSelector == b.nodeSelector && a.ingress == b.ingress
            && a.ingressDeny == b.ingressDeny && a.egress == b.egress && a.egressDeny == b.egressDeny
            && a.labels == b.labels && a.enableDefaultDeny == b.enableDefaultDeny && a.description == b.description && a.log == b.log
    }
    public func hash(into h: inout Hasher) {
        h.combine(endpointSelector); h.combine(ingress); h.combine(egress); h.combine(ingressDeny); h.combine(egressDeny)
    }
}

/// A CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy: metadata plus one or more rules.
public struct CiliumPolicy: Hashable, Sendable {
    public var reference: PolicyReference
    public var labels: [(String, String)]
    public var rules: [PolicyRule]
    public var source: ManifestNode

    public static func == (a: CiliumPolicy, b: CiliumPolicy) -> Bool { a.reference == b.reference && a.rules == b.rules }
    public func hash(into h: inout Hasher) { h.combine(reference); h.combine(rules) }
}

/// `networking.k8s.io/v1` NetworkPolicy, as written.
public struct KubernetesNetworkPolicy: Hashable, Sendable {
    public struct Port: Hashable, Sendable {
        public var proto: L4Protocol  // TCP, UDP or SCTP
        public var port: String?  // number or name; nil = all ports
        public var endPort: Int?
    }
    public struct Peer: Hashable, Sendable {
        public var podSelector: LabelSelector?
        public var namespaceSelector: LabelSelector?
        public var ipBlock: CIDRRule?
    }
    public struct Rule: Hashable, Sendable {
        /// `nil` when `from`/`to` is missing or empty: every peer.
        public var peers: [Peer]
        public var ports: [Port]
    }
    public var reference: PolicyReference
    public var podSelector: LabelSelector
    public var policyTypes: [TrafficDirection]
    public var ingress: [Rule]?
    public var egress: [Rule]?
    public var source: ManifestNode
}

public enum NetworkPolicyObject: Hashable, Sendable {
    case cilium(CiliumPolicy)
    case kubernetes(KubernetesNetworkPolicy)

    public var reference: PolicyReference {
        switch self {
        case let .cilium(p): p.reference
        case let .kubernetes(p): p.reference
        }
    }
    public var source: ManifestNode {
        switch self {
        case let .cilium(p): p.source
        case let .kubernetes(p): p.source
        }
    }
}
