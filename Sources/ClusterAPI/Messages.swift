// The messages of Porin's unix-socket APIs: the CLI talks to the control plane, the control plane
// to each node's agent. One JSON request and one JSON response per connection.

/// A file the CLI read, sent whole so that the control plane can report errors by file:line:column.
public struct SourceFile: Codable, Sendable {
    public var name: String
    public var text: String
    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }
}

/// CLI → control plane.
public struct APIRequest: Codable, Sendable {
    public enum Op: String, Codable, Sendable {
        case create, apply, delete, createNamespace, get, status, podNetns, shutdown, fqdnCache
    }
    public var op: Op
    public var files: [SourceFile] = []
    /// `-n`: the namespace for objects without one, and the one `get` lists.
    public var namespace: String?
    public var allNamespaces = false
    /// `get`: the resource (`pods`, `svc`, …) and optional names; `createNamespace`: the name.
    public var resource: String?
    public var names: [String] = []
    /// `get -o`: wide, yaml, json.
    public var output: String?
    /// `apply --dry-run=server` and the web UI's validation: decode and admit, store nothing.
    public var dryRun: Bool?
    public init(op: Op) { self.op = op }
}

/// What the CLI prints and the exit status it returns.
public struct APIResponse: Codable, Sendable {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String
    public init(exitCode: Int32 = 0, stdout: String = "", stderr: String = "") {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }
    public static func failure(_ message: String) -> APIResponse { APIResponse(exitCode: 1, stderr: message.hasSuffix("\n") ? message : message + "\n") }
}

/// An object as the store keeps it: its identity and its document as JSON (with the namespace
/// and the fields the control plane assigns, such as a Service's clusterIP, filled in).
public struct StoredObject: Codable, Sendable, Hashable {
    public var kind: String
    public var namespace: String
    public var name: String
    public var document: String
    public var created: Double
    public init(kind: String, namespace: String, name: String, document: String, created: Double) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.document = document
        self.created = created
    }
    public var key: String { "\(kind)/\(namespace)/\(name)" }
}

/// One name an endpoint resolved through the DNS proxy, with the addresses of one answer (a row
/// of `porin fqdn cache list`, as `cilium fqdn cache list`).
public struct FQDNCacheRow: Codable, Sendable, Hashable {
    public var endpoint: Int
    /// `namespace/pod` of the endpoint.
    public var pod: String
    /// `lookup` (live DNS data) or `connection` (expired, kept for a connection still open).
    public var source: String
    public var fqdn: String
    public var ttl: UInt32
    /// Seconds since 1970.
    public var lookupTime: Double
    public var expirationTime: Double
    public var ips: [String]
    public init(endpoint: Int, pod: String, source: String, fqdn: String, ttl: UInt32, lookupTime: Double, expirationTime: Double, ips: [String]) {
        self.endpoint = endpoint
        self.pod = pod
        self.source = source
        self.fqdn = fqdn
        self.ttl = ttl
        self.lookupTime = lookupTime
        self.expirationTime = expirationTime
        self.ips = ips
    }
}

/// Control plane → agent.
public struct AgentRequest: Codable, Sendable {
    public enum Op: String, Codable, Sendable { case sync, state, shutdown, metrics, fqdnCache }
    public var op: Op
    /// `sync`: with `full`, the objects are everything there is (the agent drops anything else).
    public var full = false
    public var upserts: [StoredObject] = []
    public var deletes: [String] = []
    public init(op: Op) { self.op = op }
}

public struct AgentResponse: Codable, Sendable {
    public var error: String?
    public var state: NodeState?
    /// `metrics`: Hubble's metrics in Prometheus' text format.
    public var metrics: String?
    /// `fqdnCache`: what the node's DNS proxy learnt.
    public var fqdnCache: [FQDNCacheRow]?
    public init(error: String? = nil, state: NodeState? = nil) {
        self.error = error
        self.state = state
    }
}

/// What an agent reports about its node: pods as they run, their endpoints and identities.
public struct NodeState: Codable, Sendable {
    public struct PodStatus: Codable, Sendable {
        public var namespace: String
        public var name: String
        public var ip: String
        public var netns: String
        /// Running, Pending, Succeeded (shown as Completed), Failed (Error), CrashLoopBackOff.
        public var phase: String
        public var ready: Int
        public var containers: Int
        public var restarts: Int
        public var endpointID: Int
        public var identity: Int
        public var created: Double
        public var ingressEnforced: Bool
        public var egressEnforced: Bool
        public init(namespace: String, name: String, ip: String, netns: String, phase: String, ready: Int, containers: Int, restarts: Int,
                    endpointID: Int, identity: Int, created: Double, ingressEnforced: Bool, egressEnforced: Bool) {
            self.namespace = namespace
            self.name = name
            self.ip = ip
            self.netns = netns
            self.phase = phase
            self.ready = ready
            self.containers = containers
            self.restarts = restarts
            self.endpointID = endpointID
            self.identity = identity
            self.created = created
            self.ingressEnforced = ingressEnforced
            self.egressEnforced = egressEnforced
        }
    }
    public struct IdentityInfo: Codable, Sendable {
        public var id: Int
        public var labels: [String]
        public init(id: Int, labels: [String]) {
            self.id = id
            self.labels = labels
        }
    }
    public var node: String
    public var datapath: String
    public var pods: [PodStatus]
    public var identities: [IdentityInfo]
    /// Service key (`namespace/name`) → backend addresses `ip:port`.
    public var serviceBackends: [String: [String]]
    public init(node: String, datapath: String, pods: [PodStatus], identities: [IdentityInfo], serviceBackends: [String: [String]]) {
        self.node = node
        self.datapath = datapath
        self.pods = pods
        self.identities = identities
        self.serviceBackends = serviceBackends
    }
}

/// Porin's version, and the version its Hubble servers report (`hubble list nodes -o wide`'s
/// VERSION): Porin's, marked as Porin's in semver build metadata.
public enum PorinVersion {
    public static let string = "0.4.0"
    public static let hubble = "\(string)+porin"
}
