// The web UI's JSON shapes: what /api/* returns and accepts. The browser code (Sources/WebUI/Assets)
// reads exactly these field names, so a rename here is a rename there; docs/web-ui.md lists them.

/// A policy by kind, namespace ("" for clusterwide) and name.
public struct PolicyRef: Codable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy` or `NetworkPolicy`.
    public var kind: String
    public var namespace: String
    public var name: String
    public init(kind: String, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }
    /// "CiliumNetworkPolicy tenant-a/default", as the UI prints it.
    public var description: String { namespace.isEmpty ? "\(kind) \(name)" : "\(kind) \(namespace)/\(name)" }
    public static func < (a: PolicyRef, b: PolicyRef) -> Bool {
        (a.kind, a.namespace, a.name) < (b.kind, b.namespace, b.name)
    }
}

/// An error at a place in the editor's YAML (1-based line and column; 0 when unknown).
public struct Diagnostic: Codable, Hashable, Sendable {
    public var line: Int
    public var column: Int
    public var path: String
    public var message: String
    public init(line: Int, column: Int, path: String, message: String) {
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }
}

/// `{"error": "...", "errors": [...]}` with a 4xx status.
public struct APIError: Codable, Sendable {
    public var error: String
    public var errors: [Diagnostic]
    public init(_ error: String, errors: [Diagnostic] = []) {
        self.error = error
        self.errors = errors
    }
}

// MARK: - Namespaces and workloads

public struct NamespaceInfo: Codable, Sendable, Hashable {
    public var name: String
    public var labels: [String]
    public var pods: Int
    public var policies: Int
    public var flows: Int
    public init(name: String, labels: [String], pods: Int, policies: Int, flows: Int) {
        self.name = name
        self.labels = labels
        self.pods = pods
        self.policies = policies
        self.flows = flows
    }
}

public struct NamespacesResponse: Codable, Sendable {
    public var namespaces: [NamespaceInfo]
    public init(namespaces: [NamespaceInfo]) { self.namespaces = namespaces }
}

public struct PodInfo: Codable, Sendable, Hashable {
    public var name: String
    public var ip: String
    public var identity: UInt32
    public var phase: String
    public init(name: String, ip: String, identity: UInt32, phase: String) {
        self.name = name
        self.ip = ip
        self.identity = identity
        self.phase = phase
    }
}

public struct WorkloadInfo: Codable, Sendable, Hashable {
    /// The card id the service map uses for these pods (`pod:tenant-a/frontend-service`).
    public var card: String
    public var namespace: String
    public var name: String
    /// `key=value`, without the `k8s:` source prefix.
    public var labels: [String]
    public var pods: [PodInfo]
    public init(card: String, namespace: String, name: String, labels: [String], pods: [PodInfo]) {
        self.card = card
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.pods = pods
    }
}

public struct WorkloadsResponse: Codable, Sendable {
    public var workloads: [WorkloadInfo]
    public init(workloads: [WorkloadInfo]) { self.workloads = workloads }
}

// MARK: - Service map and flows

/// One box of the service map, and one side of a grouped flow row.
public struct Card: Codable, Sendable, Hashable {
    /// `pod:<ns>/<app>`, `dns:kube-system`, `host`, `remote-node`, `fqdn:<name>`, `world`, `ip:<addr>`.
    public var id: String
    /// `workload`, `kube-dns`, `host`, `remote-node`, `world`, `unknown`.
    public var kind: String
    public var namespace: String
    /// The caption: the app name, the DNS name of a world address, `host`, `world`…
    public var name: String
    /// `key=value`, without source prefixes and without the namespace labels Cilium adds.
    public var labels: [String]
    /// Pod names seen for this card.
    public var pods: [String]
    /// Addresses seen for this card (world cards: the resolved addresses).
    public var ips: [String]
    /// Destination ports seen on this card, `80/TCP`, sorted by port.
    public var ports: [String]
    public init(id: String, kind: String, namespace: String = "", name: String, labels: [String] = [], pods: [String] = [], ips: [String] = [], ports: [String] = []) {
        self.id = id
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.pods = pods
        self.ips = ips
        self.ports = ports
    }
}

/// An arrow of the service map: every counted flow from one card to another on one port.
public struct MapEdge: Codable, Sendable, Hashable {
    public var id: String
    public var from: String
    public var to: String
    public var port: Int
    /// `TCP`, `UDP`, `SCTP`, `ICMPv4`, `ICMPv6`.
    public var `protocol`: String
    public var forwarded: Int
    public var dropped: Int
    /// RFC 3339 with nanoseconds, as Hubble prints times.
    public var lastSeen: String
    /// DNS names asked on this edge (kube-dns edges) or known for its destination.
    public var dns: [String]
    public var droppedBy: [PolicyRef]
    public init(id: String, from: String, to: String, port: Int, protocol: String, forwarded: Int, dropped: Int, lastSeen: String, dns: [String], droppedBy: [PolicyRef]) {
        self.id = id
        self.from = from
        self.to = to
        self.port = port
        self.protocol = `protocol`
        self.forwarded = forwarded
        self.dropped = dropped
        self.lastSeen = lastSeen
        self.dns = dns
        self.droppedBy = droppedBy
    }
}

public struct MapResponse: Codable, Sendable {
    /// The flow store's sequence number when this was computed.
    public var seq: UInt64
    public var nodes: [Card]
    public var edges: [MapEdge]
    public init(seq: UInt64, nodes: [Card], edges: [MapEdge]) {
        self.seq = seq
        self.nodes = nodes
        self.edges = edges
    }
}

/// A row of the grouped flows table: flows with the same source card, destination card, port,
/// protocol and verdict.
public struct FlowRow: Codable, Sendable, Hashable {
    /// Stable for the row's key: what `rule-from-flow` and `whatif` name.
    public var id: String
    public var source: Card
    public var destination: Card
    public var port: Int
    public var `protocol`: String
    /// `DNS Query api.twitter.com. A` and the like; "" when the row has no L7 part.
    public var l7: String
    /// `forwarded` or `dropped`.
    public var verdict: String
    public var count: Int
    /// TCP flags seen, in Hubble's order (`SYN`, `ACK`, …).
    public var flags: [String]
    public var lastSeen: String
    public var droppedBy: [PolicyRef]
    public init(id: String, source: Card, destination: Card, port: Int, protocol: String, l7: String, verdict: String, count: Int, flags: [String], lastSeen: String, droppedBy: [PolicyRef]) {
        self.id = id
        self.source = source
        self.destination = destination
        self.port = port
        self.protocol = `protocol`
        self.l7 = l7
        self.verdict = verdict
        self.count = count
        self.flags = flags
        self.lastSeen = lastSeen
        self.droppedBy = droppedBy
    }
}

public struct FlowRowsResponse: Codable, Sendable {
    public var seq: UInt64
    public var rows: [FlowRow]
    public init(seq: UInt64, rows: [FlowRow]) {
        self.seq = seq
        self.rows = rows
    }
}

// MARK: - Policies and the editor's picture

/// One thing a rule allows or denies, drawn in one box.
public struct PictureItem: Codable, Sendable, Hashable {
    /// `<rule list>/<rule index>/<YAML key>/<peer index>` (`egress/1/toEndpoints/0`); the peer
    /// index is -1 for "all peers" rules. Deny rules' lists are `ingressDeny`/`egressDeny`.
    public var id: String
    /// Index into `spec.ingress`/`spec.egress` (or the deny list).
    public var rule: Int
    public var peer: Int
    /// `anyPod`, `podsByLabels`, `anyPodIn`, `podsIn`, `anyPodAnyNamespace`, `kubeDNS`, `entity`,
    /// `cidr`, `fqdn`, `service`, `allPeers`, `other`.
    public var type: String
    /// "Any pod", "Kubernetes DNS", "api.twitter.com", "Pods app=x in tenant-c"…
    public var label: String
    public var detail: String
    /// `53/UDP`, `80/TCP`, `ANY`; empty means every port.
    public var ports: [String]
    public var dnsProxy: Bool
    public var deny: Bool
    /// Visualize all: the policy this item comes from.
    public var policy: PolicyRef?
    public init(id: String, rule: Int, peer: Int, type: String, label: String, detail: String = "", ports: [String] = [], dnsProxy: Bool = false, deny: Bool = false, policy: PolicyRef? = nil) {
        self.id = id
        self.rule = rule
        self.peer = peer
        self.type = type
        self.label = label
        self.detail = detail
        self.ports = ports
        self.dnsProxy = dnsProxy
        self.deny = deny
        self.policy = policy
    }
}

public struct PictureBoxes: Codable, Sendable, Hashable {
    public var inNamespace: [PictureItem] = []
    public var inCluster: [PictureItem] = []
    public var outsideCluster: [PictureItem] = []
    public init() {}
}

/// `allowed` (green) or `denied` (red), per box.
public struct PictureArrows: Codable, Sendable, Hashable {
    public var inNamespace: String
    public var inCluster: String
    public var outsideCluster: String
    public init(inNamespace: String, inCluster: String, outsideCluster: String) {
        self.inNamespace = inNamespace
        self.inCluster = inCluster
        self.outsideCluster = outsideCluster
    }
}

public struct PictureSide: Codable, Sendable, Hashable {
    public var defaultDeny: Bool
    /// Why the default toggle cannot be switched (a KNP direction with rules), or nil.
    public var toggleLocked: String?
    public var boxes: PictureBoxes
    public var arrows: PictureArrows
    /// Rules the picture cannot draw (`toGroups`, L7 HTTP, `*Requires`…): shown in YAML only.
    public var other: [PictureItem]
    public init(defaultDeny: Bool, toggleLocked: String?, boxes: PictureBoxes, arrows: PictureArrows, other: [PictureItem]) {
        self.defaultDeny = defaultDeny
        self.toggleLocked = toggleLocked
        self.boxes = boxes
        self.arrows = arrows
        self.other = other
    }
}

public struct PictureSubject: Codable, Sendable, Hashable {
    public var kind: String
    public var name: String
    public var namespace: String
    /// The endpoint selector's (or podSelector's) matchLabels, `key=value`.
    public var selector: [String]
    /// "every pod of tenant-a", "pods app=x in tenant-a", "every pod of every namespace".
    public var selectorText: String
    /// `namespace/pod` names the selector selects now.
    public var selects: [String]
    public init(kind: String, name: String, namespace: String, selector: [String], selectorText: String, selects: [String]) {
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.selector = selector
        self.selectorText = selectorText
        self.selects = selects
    }
}

public struct Picture: Codable, Sendable, Hashable {
    public var subject: PictureSubject
    public var ingress: PictureSide
    public var egress: PictureSide
    /// Visualize all: true, and the policies drawn.
    public var readOnly: Bool
    public var policies: [PolicyRef]
    public init(subject: PictureSubject, ingress: PictureSide, egress: PictureSide, readOnly: Bool = false, policies: [PolicyRef] = []) {
        self.subject = subject
        self.ingress = ingress
        self.egress = egress
        self.readOnly = readOnly
        self.policies = policies
    }
}

public struct PolicySummary: Codable, Sendable {
    public var ref: PolicyRef
    public var yaml: String
    /// `namespace/pod` the policy's subject selects now.
    public var selects: [String]
    public init(ref: PolicyRef, yaml: String, selects: [String]) {
        self.ref = ref
        self.yaml = yaml
        self.selects = selects
    }
}

/// `GET /api/policies?namespace=NS[&picture=union]`.
public struct PoliciesResponse: Codable, Sendable {
    public var policies: [PolicySummary]
    public var clusterwide: [PolicySummary]
    public var union: Picture?
    public init(policies: [PolicySummary], clusterwide: [PolicySummary], union: Picture?) {
        self.policies = policies
        self.clusterwide = clusterwide
        self.union = union
    }
}

/// `GET /api/policies/<kind>/<ns or _>/<name>`.
public struct PolicyResponse: Codable, Sendable {
    public var ref: PolicyRef
    public var yaml: String
    public var picture: Picture
    public init(ref: PolicyRef, yaml: String, picture: Picture) {
        self.ref = ref
        self.yaml = yaml
        self.picture = picture
    }
}

/// A peer the editor adds (`EditorOp.peer`).
public struct PeerSpec: Codable, Sendable, Hashable {
    /// `anyPod`, `podsByLabels`, `anyPodIn`, `podsIn`, `anyPodAnyNamespace`, `kubeDNS`, `entity`,
    /// `cidr`, `fqdn`.
    public var type: String
    /// `podsByLabels`, `podsIn`: matchLabels as `key=value`.
    public var labels: [String]?
    /// `anyPodIn`: one or more namespaces; `podsIn`: its namespace.
    public var namespaces: [String]?
    public var namespace: String?
    /// `entity`: `world`, `cluster`, `host`, `remote-node`, `kube-apiserver`, `all`…
    public var entity: String?
    public var cidr: String?
    public var except: [String]?
    public var matchName: String?
    public var matchPattern: String?
    public init(type: String, labels: [String]? = nil, namespaces: [String]? = nil, namespace: String? = nil, entity: String? = nil, cidr: String? = nil, except: [String]? = nil, matchName: String? = nil, matchPattern: String? = nil) {
        self.type = type
        self.labels = labels
        self.namespaces = namespaces
        self.namespace = namespace
        self.entity = entity
        self.cidr = cidr
        self.except = except
        self.matchName = matchName
        self.matchPattern = matchPattern
    }
}

public struct PortSpec: Codable, Sendable, Hashable {
    /// A number or a named port, as a string (`"80"`).
    public var port: String
    /// `TCP`, `UDP`, `SCTP`, `ANY`; nil leaves it out (TCP for Cilium).
    public var `protocol`: String?
    public init(port: String, protocol: String? = nil) {
        self.port = port
        self.protocol = `protocol`
    }
}

/// One click in the visual editor, applied by the server to the editor's YAML.
public struct EditorOp: Codable, Sendable, Hashable {
    /// `new`, `setSubject`, `setDefaultDeny`, `addPeer`, `setDNSProxy`, `setPorts`, `removeRule`,
    /// `removeItem`.
    public var op: String
    /// `new`: the kind (default `CiliumNetworkPolicy`).
    public var kind: String?
    /// `new`, `setSubject`.
    public var name: String?
    public var namespace: String?
    /// `setSubject`: matchLabels as `key=value`; empty means every pod of the namespace.
    public var selector: [String]?
    /// `ingress` or `egress`.
    public var direction: String?
    /// `setDefaultDeny`: true switches the direction to default deny.
    public var deny: Bool?
    /// `addPeer`: `inNamespace`, `inCluster` or `outsideCluster` (informative; the peer decides).
    public var box: String?
    public var peer: PeerSpec?
    public var ports: [PortSpec]?
    /// `setDNSProxy`, `setPorts`, `removeRule`: the rule index; `removeItem`: the item id.
    public var rule: Int?
    public var item: String?
    /// `setDNSProxy`: on or off.
    public var on: Bool?
    public init(op: String) { self.op = op }
}

/// `POST /api/editor`: the editor's YAML and an optional op. Without an op the YAML is only
/// parsed and drawn.
public struct EditorRequest: Codable, Sendable {
    public var yaml: String
    public var op: EditorOp?
    public init(yaml: String, op: EditorOp? = nil) {
        self.yaml = yaml
        self.op = op
    }
}

/// The new YAML and its picture; `errors` when the YAML does not parse or validate (the picture
/// is then nil and the client keeps its last one), or when the op cannot apply.
public struct EditorResponse: Codable, Sendable {
    public var yaml: String
    public var picture: Picture?
    public var errors: [Diagnostic]
    public init(yaml: String, picture: Picture?, errors: [Diagnostic]) {
        self.yaml = yaml
        self.picture = picture
        self.errors = errors
    }
}

/// `POST /api/policies/validate` and `/api/policies/apply`: `{"yaml"}`.
public struct YAMLBody: Codable, Sendable {
    public var yaml: String
    public init(yaml: String) { self.yaml = yaml }
}

public struct ValidateResponse: Codable, Sendable {
    public var ok: Bool
    public var errors: [Diagnostic]
    public var picture: Picture?
    public init(ok: Bool, errors: [Diagnostic], picture: Picture?) {
        self.ok = ok
        self.errors = errors
        self.picture = picture
    }
}

/// Apply and delete: what `porin apply -f` / `porin delete` print. A refused apply answers 422
/// with this shape (`ok: false` and the errors at their lines), not with an `APIError`.
public struct ApplyResponse: Codable, Sendable {
    public var ok: Bool
    public var output: String
    public var errors: [Diagnostic]
    public init(ok: Bool, output: String, errors: [Diagnostic]) {
        self.ok = ok
        self.output = output
        self.errors = errors
    }
}

/// `POST /api/whatif`: the namespace's rows evaluated with the draft.
public struct WhatIfRequest: Codable, Sendable {
    public var namespace: String
    public var yaml: String
    /// The applied policy the draft replaces (the open policy), if any.
    public var replaces: PolicyRef?
    public init(namespace: String, yaml: String, replaces: PolicyRef?) {
        self.namespace = namespace
        self.yaml = yaml
        self.replaces = replaces
    }
}

public struct WhatIfRow: Codable, Sendable {
    public var row: FlowRow
    /// `forwarded`/`dropped` as recorded; `current`/`draft`: the engine's verdict with the
    /// applied policies and with the draft (`forwarded`, `dropped` or `unknown`).
    public var recorded: String
    public var current: String
    public var draft: String
    /// Applying the draft would change the verdict: the draft's differs from the current one
    /// (from the recorded one when the current is unknown).
    public var changed: Bool
    public var draftDecidedBy: [PolicyRef]
    public init(row: FlowRow, recorded: String, current: String, draft: String, changed: Bool, draftDecidedBy: [PolicyRef]) {
        self.row = row
        self.recorded = recorded
        self.current = current
        self.draft = draft
        self.changed = changed
        self.draftDecidedBy = draftDecidedBy
    }
}

public struct WhatIfResponse: Codable, Sendable {
    public var rows: [WhatIfRow]
    public var changedCount: Int
    public var errors: [Diagnostic]
    public init(rows: [WhatIfRow], changedCount: Int, errors: [Diagnostic]) {
        self.rows = rows
        self.changedCount = changedCount
        self.errors = errors
    }
}

/// `POST /api/rule-from-flow`: the editor's YAML and a flows-table row id.
public struct RuleFromFlowRequest: Codable, Sendable {
    public var yaml: String
    public var row: String
    public init(yaml: String, row: String) {
        self.yaml = yaml
        self.row = row
    }
}
