// The workload kinds policies select: Namespace, Pod, Deployment and Service. Only what
// Porin uses is kept; other well-known Kubernetes fields are accepted and ignored, unknown ones
// are errors.

public struct Namespace: Hashable, Sendable {
    public var name: String
    public var labels: [String: String]
    public init(name: String, labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
    }
}

public struct ContainerPort: Hashable, Sendable {
    public var name: String?
    public var containerPort: Int
    public var proto: L4Protocol
    public init(name: String?, containerPort: Int, proto: L4Protocol) {
        self.name = name
        self.containerPort = containerPort
        self.proto = proto
    }
}

public struct Container: Hashable, Sendable {
    public var name: String
    public var image: String?
    public var command: [String]
    public var args: [String]
    public var ports: [ContainerPort]
    public init(name: String, image: String?, command: [String], args: [String], ports: [ContainerPort]) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.ports = ports
    }
}

public struct PodSpec: Hashable, Sendable {
    public var containers: [Container]
    public var serviceAccountName: String
    public var restartPolicy: String
    public var hostNetwork: Bool
    public init(containers: [Container], serviceAccountName: String, restartPolicy: String, hostNetwork: Bool) {
        self.containers = containers
        self.serviceAccountName = serviceAccountName
        self.restartPolicy = restartPolicy
        self.hostNetwork = hostNetwork
    }
}

public struct Pod: Hashable, Sendable {
    public var name: String
    public var namespace: String
    public var labels: [String: String]
    public var spec: PodSpec
    public init(name: String, namespace: String, labels: [String: String], spec: PodSpec) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.spec = spec
    }
    /// Named ports of all containers (`http` → 80/TCP), used to resolve named ports in policies.
    public var namedPorts: [String: PortProtocol] {
        var out: [String: PortProtocol] = [:]
        for c in spec.containers { for p in c.ports { if let n = p.name { out[n] = PortProtocol(port: String(p.containerPort), proto: p.proto) } } }
        return out
    }
}

public struct Deployment: Hashable, Sendable {
    public var name: String
    public var namespace: String
    public var labels: [String: String]
    public var replicas: Int
    public var selector: LabelSelector
    public var templateLabels: [String: String]
    public var templateSpec: PodSpec
}

public struct ServicePort: Hashable, Sendable {
    public var name: String?
    public var port: Int
    /// A number or a container port name; defaults to `port`.
    public var targetPort: String
    public var proto: L4Protocol
    public init(name: String?, port: Int, targetPort: String, proto: L4Protocol) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.proto = proto
    }
}

public struct Service: Hashable, Sendable {
    public var name: String
    public var namespace: String
    public var labels: [String: String]
    public var selector: [String: String]
    public var ports: [ServicePort]
    public var clusterIP: String?
    public init(name: String, namespace: String, labels: [String: String], selector: [String: String], ports: [ServicePort], clusterIP: String?) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.selector = selector
        self.ports = ports
        self.clusterIP = clusterIP
    }
}

extension Deployment {
    /// The name of replica `index`, shaped as Kubernetes shapes it (`<deployment>-<hash>-<suffix>`)
    /// but derived from the Deployment, so that the same manifest always gives the same names.
    public func replicaName(_ index: Int) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        func fnv(_ s: String) -> UInt64 { s.utf8.reduce(14695981039346656037) { ($0 ^ UInt64($1)) &* 1099511628211 } }
        var h = fnv(namespace + "/" + name + templateLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined())
        var hash = ""
        for _ in 0..<10 { hash.append(alphabet[Int(h % UInt64(alphabet.count))]); h /= UInt64(alphabet.count) }
        var s = fnv(hash + String(index))
        var suffix = ""
        for _ in 0..<5 { suffix.append(alphabet[Int(s % UInt64(alphabet.count))]); s /= UInt64(alphabet.count) }
        return "\(name)-\(hash)-\(suffix)"
    }
}

let podSpecIgnoredFields: Set<String> = [
    "volumes", "initContainers", "ephemeralContainers", "terminationGracePeriodSeconds", "activeDeadlineSeconds",
    "dnsPolicy", "nodeSelector", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostPID", "hostIPC",
    "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity", "schedulerName",
    "tolerations", "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName",
    "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os",
    "hostUsers", "schedulingGates", "resourceClaims", "resources",
]

let containerIgnoredFields: Set<String> = [
    "workingDir", "envFrom", "env", "resources", "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices",
    "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath", "terminationMessagePolicy",
    "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty",
]

let metadataIgnoredFields: Set<String> = [
    "annotations", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "ownerReferences", "finalizers", "managedFields", "generateName", "selfLink",
]

extension FieldDecoder {
    public struct Metadata {
        public var name: String
        public var namespace: String?
        public var labels: [String: String]
        public var annotations: [String: String]
    }

    func metadata(_ f: Fields, namespaced: Bool) -> Metadata? {
        guard let m = f.object("metadata") else {
            if !f.has("metadata") { error(f.at("metadata"), f.sub("metadata"), "required field is missing") }
            return nil
        }
        defer { m.finish() }
        let before = diagnostics.count
        var md = Metadata(name: "", namespace: nil, labels: [:], annotations: [:])
        if let name = m.string("name") {
            md.name = name
            if !NameValidation.isDNS1123Subdomain(name) {
                error(m.at("name"), m.sub("name"), "invalid name \"\(name)\": must be a lowercase DNS-1123 subdomain (letters, digits, '-' and '.')")
            }
        } else if !m.has("name") {
            error(m.at("name"), m.sub("name"), "required field is missing")
        }
        if let ns = m.string("namespace") {
            if namespaced {
                if !NameValidation.isDNS1123Label(ns) { error(m.at("namespace"), m.sub("namespace"), "invalid namespace \"\(ns)\": must be a lowercase DNS-1123 label") }
                md.namespace = ns
            }
        }
        if let labels = m.stringMap("labels"), let lf = object(m.at("labels"), m.sub("labels")) {
            for (k, v) in labels {
                if let p = NameValidation.labelKeyProblem(k) { error(at: lf.keyPosition(k), lf.sub(k), "invalid label key \"\(k)\": \(p)") }
                if let p = NameValidation.labelValueProblem(v) { error(lf.at(k), lf.sub(k), "invalid label value \"\(v)\": \(p)") }
                md.labels[k] = v
            }
        }
        if let ann = m.take("annotations") { md.annotations = Dictionary(stringMap(ann, m.sub("annotations")) ?? [], uniquingKeysWith: { a, _ in a }) }
        for k in metadataIgnoredFields { m.ignore(k) }
        return diagnostics.count == before ? md : nil
    }

    func podSpec(_ node: ManifestNode, _ path: String) -> PodSpec? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        let containers = f.list("containers") { n, p in self.container(n, p) } ?? []
        if !f.has("containers") { error(f.at("containers"), f.sub("containers"), "required field is missing") }
        let sa = f.string("serviceAccountName") ?? "default"
        let restart = f.string("restartPolicy") ?? "Always"
        if !["Always", "OnFailure", "Never"].contains(restart) {
            error(f.at("restartPolicy"), f.sub("restartPolicy"), "unsupported value \"\(restart)\": supported values: \"Always\", \"OnFailure\", \"Never\"")
        }
        let hostNetwork = f.bool("hostNetwork") ?? false
        for k in podSpecIgnoredFields { f.ignore(k) }
        var names = Set<String>()
        for c in containers where !names.insert(c.name).inserted {
            error(f.at("containers"), f.sub("containers"), "duplicate container name \"\(c.name)\"")
        }
        guard diagnostics.count == before else { return nil }
        return PodSpec(containers: containers, serviceAccountName: sa, restartPolicy: restart, hostNetwork: hostNetwork)
    }

    func container(_ node: ManifestNode, _ path: String) -> Container? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        let name = f.string("name") ?? ""
        if !f.has("name") { error(f.at("name"), f.sub("name"), "required field is missing") }
        let ports = f.list("ports") { n, p -> ContainerPort? in
            guard let g = self.object(n, p) else { return nil }
            defer { g.finish() }
            // Known fields; an early return below must not make them "unknown".
            g.ignore("containerPort", "protocol", "name", "hostPort", "hostIP")
            guard let port = g.int("containerPort", in: 1...65535) else {
                if !g.has("containerPort") { self.error(g.at("containerPort"), g.sub("containerPort"), "required field is missing") }
                return nil
            }
            var proto = L4Protocol.tcp
            if let s = g.string("protocol") {
                guard let pr = L4Protocol(rawValue: s), [.tcp, .udp, .sctp].contains(pr) else {
                    self.error(g.at("protocol"), g.sub("protocol"), "unsupported value \"\(s)\": supported values: \"SCTP\", \"TCP\", \"UDP\"")
                    return nil
                }
                proto = pr
            }
            let pname = g.string("name")
            if let pname, !NameValidation.isServiceName(pname) {
                self.error(g.at("name"), g.sub("name"), "invalid port name \"\(pname)\": at most 15 lowercase letters, digits and '-', with at least one letter")
                return nil
            }
            g.ignore("hostPort", "hostIP")
            return ContainerPort(name: pname, containerPort: port, proto: proto)
        } ?? []
        let c = Container(name: name, image: f.string("image"), command: f.stringList("command") ?? [], args: f.stringList("args") ?? [], ports: ports)
        for k in containerIgnoredFields { f.ignore(k) }
        return diagnostics.count == before ? c : nil
    }
}
