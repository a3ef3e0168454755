// Entry point of PolicyAPI: turns files into typed API objects, or into the list of everything
// that is wrong with them.

public enum APIObject: Hashable, Sendable {
    case namespace(Namespace)
    case pod(Pod)
    case deployment(Deployment)
    case service(Service)
    case policy(NetworkPolicyObject)

    public var kind: String {
        switch self {
        case .namespace: "Namespace"
        case .pod: "Pod"
        case .deployment: "Deployment"
        case .service: "Service"
        case let .policy(p): p.reference.kind.rawValue
        }
    }

    /// Kind, namespace ("" for cluster-scoped objects) and name: the object's key in a store.
    public var identity: (kind: String, namespace: String, name: String) {
        switch self {
        case let .namespace(n): ("Namespace", "", n.name)
        case let .pod(p): ("Pod", p.namespace, p.name)
        case let .deployment(d): ("Deployment", d.namespace, d.name)
        case let .service(s): ("Service", s.namespace, s.name)
        case let .policy(p): (p.reference.kind.rawValue, p.reference.namespace, p.reference.name)
        }
    }
}

/// The kinds Porin reads, with the apiVersion each must carry.
public let supportedKinds: [String: String] = [
    "Namespace": "v1", "Pod": "v1", "Service": "v1", "Deployment": "apps/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "CiliumNetworkPolicy": "cilium.io/v2", "CiliumClusterwideNetworkPolicy": "cilium.io/v2",
]

public enum APIObjectDecoder {
    /// Decodes every document of `text`. `defaultNamespace` is used for namespaced objects
    /// without `metadata.namespace` (kubectl's `-n`). All errors of the file are thrown at once.
    public static func decode(text: String, file: String, defaultNamespace: String = "default") throws(ManifestErrors) -> [APIObject] {
        let docs = try ManifestLoader.documents(text: text, file: file)
        return try decode(documents: docs, defaultNamespace: defaultNamespace)
    }

    public static func decode(documents: [ManifestNode], defaultNamespace: String = "default") throws(ManifestErrors) -> [APIObject] {
        let d = FieldDecoder()
        var out: [APIObject] = []
        for (i, doc) in documents.enumerated() {
            out.append(contentsOf: decodeObject(doc, path: documents.count > 1 ? "[\(i)]" : "", decoder: d, defaultNamespace: defaultNamespace))
        }
        if !d.diagnostics.isEmpty {
            // In source order (decoding reports some errors on the way back up the tree).
            let ordered = d.diagnostics.enumerated().sorted {
                ($0.element.position.line, $0.element.position.column, $0.offset) < ($1.element.position.line, $1.element.position.column, $1.offset)
            }
            throw ManifestErrors(ordered.map(\.element))
        }
        return out
    }

    static func decodeObject(_ node: ManifestNode, path: String, decoder d: FieldDecoder, defaultNamespace: String) -> [APIObject] {
        guard let f = d.object(node, path) else { return [] }
        defer { f.finish() }
        let apiVersion = f.string("apiVersion")
        guard let kind = f.string("kind") else {
            if !f.has("kind") { d.error(f.at("kind"), f.sub("kind"), "required field is missing") }
            f.ignore("metadata", "spec", "specs", "status", "data", "items")
            return []
        }
        if kind == "List" {
            if apiVersion != "v1" { d.error(f.at("apiVersion"), f.sub("apiVersion"), "kind List needs apiVersion v1") }
            f.ignore("metadata")
            var out: [APIObject] = []
            if let items = f.take("items"), case let .sequence(list) = items.value {
                for (i, item) in list.enumerated() {
                    out += decodeObject(item, path: "\(f.sub("items"))[\(i)]", decoder: d, defaultNamespace: defaultNamespace)
                }
            }
            return out
        }
        guard let expected = supportedKinds[kind] else {
            d.error(f.at("kind"), f.sub("kind"), "unsupported kind \"\(kind)\" (Porin reads \(supportedKinds.keys.sorted().joined(separator: ", ")))")
            f.ignore("apiVersion", "metadata", "spec", "specs", "status", "data")
            return []
        }
        if apiVersion == nil && !f.has("apiVersion") {
            d.error(f.at("apiVersion"), f.sub("apiVersion"), "required field is missing (\(kind) is \(expected))")
        } else if let apiVersion, apiVersion != expected {
            d.error(f.at("apiVersion"), f.sub("apiVersion"), "\(kind) is served as \(expected), not \"\(apiVersion)\"")
        }
        let clusterScoped = kind == "Namespace" || kind == "CiliumClusterwideNetworkPolicy"
        guard let md = d.metadata(f, namespaced: !clusterScoped) else {
            f.ignore("spec", "specs", "status")
            return []
        }
        let ns = md.namespace ?? defaultNamespace
        f.ignore("status")
        switch kind {
        case "Namespace":
            f.ignore("spec")
            var labels = md.labels
            labels["kubernetes.io/metadata.name"] = md.name
            return [.namespace(Namespace(name: md.name, labels: labels))]
        case "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy":
            let clusterwide = kind == "CiliumClusterwideNetworkPolicy"
            var rules: [PolicyRule] = []
            let before = d.diagnostics.count
            if let spec = f.take("spec"), let r = d.ciliumRule(spec, f.sub("spec"), clusterwide: clusterwide) { rules.append(r) }
            if let specs = f.take("specs") {
                rules += d.list(specs, f.sub("specs")) { n, p in d.ciliumRule(n, p, clusterwide: clusterwide) } ?? []
            }
            if !f.has("spec") && !f.has("specs") {
                d.error(node, path, "Invalid \(kind) spec(s): empty policy (set spec or specs)")
            }
            guard d.diagnostics.count == before else { return [] }
            let ref = PolicyReference(kind: clusterwide ? .ciliumClusterwideNetworkPolicy : .ciliumNetworkPolicy,
                                      namespace: clusterwide ? "" : ns, name: md.name)
            return [.policy(.cilium(CiliumPolicy(reference: ref, labels: md.labels.sorted { $0.key < $1.key }, rules: rules, source: node)))]
        case "NetworkPolicy":
            guard let spec = f.take("spec") else {
                d.error(f.at("spec"), f.sub("spec"), "required field is missing")
                return []
            }
            // The policy's name may be overridden by Cilium's annotation, as Cilium does.
            let name = md.annotations["io.cilium.k8s.policy.name"] ?? md.name
            let ref = PolicyReference(kind: .networkPolicy, namespace: ns, name: name)
            guard let np = d.kubernetesNetworkPolicy(spec: spec, f.sub("spec"), reference: ref, source: node) else { return [] }
            return [.policy(.kubernetes(np))]
        case "Pod":
            guard let specNode = f.take("spec") else { d.error(f.at("spec"), f.sub("spec"), "required field is missing"); return [] }
            guard let spec = d.podSpec(specNode, f.sub("spec")) else { return [] }
            return [.pod(Pod(name: md.name, namespace: ns, labels: md.labels, spec: spec))]
        case "Deployment":
            guard let s = f.object("spec") else {
                if !f.has("spec") { d.error(f.at("spec"), f.sub("spec"), "required field is missing") }
                return []
            }
            defer { s.finish() }
            let before = d.diagnostics.count
            let replicas = s.int("replicas", in: 0...10_000) ?? 1
            var selector = LabelSelector()
            if let sel = s.take("selector") { selector = d.labelSelector(sel, s.sub("selector")) ?? selector } else {
                d.error(s.at("selector"), s.sub("selector"), "required field is missing")
            }
            var tlabels: [String: String] = [:]
            var tspec: PodSpec?
            if let t = s.object("template") {
                if let tm = t.object("metadata") {
                    for (k, v) in tm.stringMap("labels") ?? [] { tlabels[k] = v }
                    tm.ignore("annotations", "name", "namespace", "creationTimestamp")
                    tm.finish()
                }
                if let ts = t.take("spec") { tspec = d.podSpec(ts, t.sub("spec")) } else { d.error(t.at("spec"), t.sub("spec"), "required field is missing") }
                t.finish()
            } else if !s.has("template") {
                d.error(s.at("template"), s.sub("template"), "required field is missing")
            }
            s.ignore("strategy", "minReadySeconds", "revisionHistoryLimit", "paused", "progressDeadlineSeconds")
            if d.diagnostics.count == before, !selectorMatches(selector, tlabels) {
                d.error(s.at("selector"), s.sub("selector"), "`selector` does not match template `labels`")
            }
            guard d.diagnostics.count == before, let tspec else { return [] }
            return [.deployment(Deployment(name: md.name, namespace: ns, labels: md.labels, replicas: replicas, selector: selector, templateLabels: tlabels, templateSpec: tspec))]
        case "Service":
            guard let s = f.object("spec") else {
                if !f.has("spec") { d.error(f.at("spec"), f.sub("spec"), "required field is missing") }
                return []
            }
            defer { s.finish() }
            let before = d.diagnostics.count
            let selector = Dictionary(s.stringMap("selector") ?? [], uniquingKeysWith: { a, _ in a })
            let type = s.string("type") ?? "ClusterIP"
            if type != "ClusterIP" { d.error(s.at("type"), s.sub("type"), "Porin supports Services of type ClusterIP only, not \"\(type)\"") }
            let ports = s.list("ports") { n, p -> ServicePort? in
                guard let g = d.object(n, p) else { return nil }
                defer { g.finish() }
                // Known fields; an early return below must not make them "unknown".
                g.ignore("port", "targetPort", "protocol", "name", "nodePort", "appProtocol")
                guard let port = g.int("port", in: 1...65535) else {
                    if !g.has("port") { d.error(g.at("port"), g.sub("port"), "required field is missing") }
                    return nil
                }
                var target = String(port)
                if let t = g.take("targetPort"), case let .scalar(v, style) = t.value {
                    if style == .plain, let num = Int(v) {
                        guard (1...65535).contains(num) else { d.error(t, g.sub("targetPort"), "must be between 1 and 65535, inclusive"); return nil }
                        target = String(num)
                    } else if NameValidation.isServiceName(v) {
                        target = v
                    } else {
                        d.error(t, g.sub("targetPort"), "invalid targetPort \"\(v)\": a number 1..65535 or a port name")
                        return nil
                    }
                }
                var proto = L4Protocol.tcp
                if let pr = g.string("protocol") {
                    guard let v = L4Protocol(rawValue: pr), [.tcp, .udp, .sctp].contains(v) else {
                        d.error(g.at("protocol"), g.sub("protocol"), "unsupported value \"\(pr)\": supported values: \"SCTP\", \"TCP\", \"UDP\"")
                        return nil
                    }
                    proto = v
                }
                g.ignore("nodePort", "appProtocol")
                return ServicePort(name: g.string("name"), port: port, targetPort: target, proto: proto)
            } ?? []
            let clusterIP = s.string("clusterIP")
            if let ip = clusterIP, ip != "None", IPAddress(ip) == nil { d.error(s.at("clusterIP"), s.sub("clusterIP"), "invalid IP address \"\(ip)\"") }
            s.ignore("clusterIPs", "sessionAffinity", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy", "publishNotReadyAddresses", "sessionAffinityConfig", "trafficDistribution")
            guard d.diagnostics.count == before else { return [] }
            return [.service(Service(name: md.name, namespace: ns, labels: md.labels, selector: selector, ports: ports, clusterIP: clusterIP))]
        default:
            return []
        }
    }

    /// Kubernetes selector semantics over plain `key=value` labels (used for Deployments).
    public static func selectorMatches(_ sel: LabelSelector, _ labels: [String: String]) -> Bool {
        for (k, v) in sel.matchLabels where labels[k] != v { return false }
        for r in sel.matchExpressions {
            let v = labels[r.key]
            switch r.op {
            case .in: if v == nil || !r.values.contains(v!) { return false }
            case .notIn: if let v, r.values.contains(v) { return false }
            case .exists: if v == nil { return false }
            case .doesNotExist: if v != nil { return false }
            }
        }
        return true
    }
}
