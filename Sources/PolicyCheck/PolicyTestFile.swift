// The policy test file: policies, workloads and queries with expected verdicts, so that Cilium
// policies can be unit-tested offline (the format is documented in the README).
import PolicyAPI
import PolicyEngine

public struct PolicyQuery: Sendable, Hashable {
    public enum Expectation: String, Sendable { case allowed, denied }
    public var name: String
    public var from: String
    public var to: String
    public var port: Int
    public var proto: String  // TCP, UDP, SCTP, ICMP, ICMPv6
    public var direction: TrafficDirection?
    public var expect: Expectation?
    public var position: SourcePosition

    public init(name: String, from: String, to: String, port: Int, proto: String, direction: TrafficDirection? = nil,
                expect: Expectation? = nil, position: SourcePosition) {
        self.name = name
        self.from = from
        self.to = to
        self.port = port
        self.proto = proto
        self.direction = direction
        self.expect = expect
        self.position = position
    }

    public var protocolNumber: UInt8 {
        switch proto {
        case "UDP": 17
        case "SCTP": 132
        case "ICMP": 1
        case "ICMPv6": 58
        default: 6
        }
    }
}

/// Everything a test file (or a `porin policy verdict` command line) describes.
public struct PolicyScenario: Sendable {
    public var clusterName = "default"
    public var enforcementMode = EngineConfig.EnforcementMode.default
    public var policies: [NetworkPolicyObject] = []
    public var namespaces: [PolicyAPI.Namespace] = []
    public var endpoints: [EndpointInfo] = []
    public var services: [ServiceInfo] = []
    public var queries: [PolicyQuery] = []

    public init() {}

    /// Adds decoded API objects: policies, and workloads (Pods, Deployments, Namespaces, Services).
    public mutating func add(_ objects: [APIObject]) {
        for o in objects {
            switch o {
            case let .policy(p): policies.append(p)
            case let .namespace(n): namespaces.append(n)
            case let .pod(p): endpoints.append(Self.endpoint(for: p))
            case let .deployment(d):
                for i in 0..<d.replicas {
                    let pod = Pod(name: d.replicaName(i), namespace: d.namespace, labels: d.templateLabels, spec: d.templateSpec)
                    endpoints.append(Self.endpoint(for: pod))
                }
            case let .service(s):
                services.append(ServiceInfo(namespace: s.namespace, name: s.name, labels: s.labels, selector: s.selector))
            }
        }
    }

    public static func endpoint(for pod: Pod) -> EndpointInfo {
        let named = pod.namedPorts.map { NamedPort(name: $0.key, proto: $0.value.proto.number, port: UInt16($0.value.port) ?? 0) }
        return EndpointInfo(namespace: pod.namespace, name: pod.name, labels: pod.labels, serviceAccount: pod.spec.serviceAccountName, namedPorts: named)
    }
}

/// Reads files for the loader (injected so that tests and the CLI share the code).
public protocol ScenarioFileReader {
    func read(_ path: String) throws -> String
}

public struct ScenarioLoadError: Error, CustomStringConvertible {
    public var diagnostics: [ManifestDiagnostic]
    public init(diagnostics: [ManifestDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

public enum PolicyTestFileLoader {
    /// Loads a policy test file. All problems of the file and the files it names are reported.
    public static func load(path: String, reader: ScenarioFileReader) throws(ScenarioLoadError) -> PolicyScenario {
        let text: String
        do { text = try reader.read(path) } catch {
            throw ScenarioLoadError(diagnostics: [ManifestDiagnostic(SourcePosition(file: path, line: 1, column: 1), path: "", "cannot read file: \(error)")])
        }
        let docs: [ManifestNode]
        do { docs = try ManifestLoader.documents(text: text, file: path) } catch { throw ScenarioLoadError(diagnostics: error.diagnostics) }
        return try load(path: path, text: text, documents: docs, reader: reader)
    }

    /// What a file that sits among policy test files holds instead of a test, if anything:
    /// Kubernetes manifests (every document has `apiVersion` and `kind`) or a world file
    /// (`dns` and `hosts`). Lab folders keep all of them side by side.
    public static func otherKind(_ docs: [ManifestNode]) -> String? {
        func keys(_ d: ManifestNode) -> Set<String> {
            if case let .mapping(pairs) = d.value { return Set(pairs.map(\.key)) }
            return []
        }
        if !docs.isEmpty && docs.allSatisfy({ keys($0).isSuperset(of: ["kind", "apiVersion"]) }) { return "Kubernetes manifests" }
        if docs.count == 1 && keys(docs[0]).isSuperset(of: ["dns", "hosts"]) { return "a world file" }
        return nil
    }

    /// Loads a policy test file whose text is already parsed.
    public static func load(path: String, text: String, documents docs: [ManifestNode], reader: ScenarioFileReader) throws(ScenarioLoadError) -> PolicyScenario {
        guard docs.count == 1, let root = docs.first else {
            throw ScenarioLoadError(diagnostics: [ManifestDiagnostic(SourcePosition(file: path, line: 1, column: 1), path: "", "a policy test file holds exactly one document (found \(docs.count))")])
        }
        let d = FieldDecoder()
        var scenario = PolicyScenario()
        var extra: [ManifestDiagnostic] = []
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : "\(dir)/\(p)" }
        guard let f = d.object(root, "") else { throw ScenarioLoadError(diagnostics: d.diagnostics) }
        if let c = f.string("clusterName") {
            if NameValidation.isDNS1123Label(c) { scenario.clusterName = c } else { d.error(f.node, "clusterName", "\"\(c)\" must be a lowercase DNS-1123 label") }
        }
        if let m = f.take("enforcementMode"), let s = d.string(m, "enforcementMode") {
            if let mode = EngineConfig.EnforcementMode(rawValue: s) { scenario.enforcementMode = mode } else {
                d.error(m, "enforcementMode", "\"\(s)\" is not one of default, always, never")
            }
        }
        func addObjects(_ docs: [ManifestNode]) {
            do { scenario.add(try APIObjectDecoder.decode(documents: docs)) } catch { extra += error.diagnostics }
        }
        if let ps = f.take("policies"), case let .sequence(items) = ps.value {
            for (i, item) in items.enumerated() {
                if case let .scalar(s, _) = item.value {
                    do {
                        let inner = try ManifestLoader.documents(text: s, file: path)
                        addObjects(inner.map { shift($0, by: item.position, in: text) })
                    } catch {
                        extra += error.diagnostics.map { shift($0, by: item.position, in: text) }
                    }
                } else if case .mapping = item.value {
                    addObjects([item])
                } else {
                    d.error(item, "policies[\(i)]", "expected a policy object or a string holding YAML documents")
                }
            }
        } else if let ps = f.take("policies") {
            d.error(ps, "policies", "expected a list, found \(ps.kindName)")
        }
        for key in ["policyFiles", "workloadFiles"] {
            for file in f.stringList(key) ?? [] {
                let full = resolve(file)
                do {
                    let t = try reader.read(full)
                    do { scenario.add(try APIObjectDecoder.decode(text: t, file: full)) } catch { extra += error.diagnostics }
                } catch {
                    extra.append(ManifestDiagnostic(f.node.position, path: key, "cannot read \(full): \(error)"))
                }
            }
        }
        if let nss = f.object("namespaces") {
            for k in nss.keys {
                let labels = nss.stringMap(k) ?? []
                scenario.namespaces.append(PolicyAPI.Namespace(name: k, labels: Dictionary(labels, uniquingKeysWith: { a, _ in a })))
            }
            nss.finish()
        }
        if let eps = f.take("endpoints") {
            scenario.endpoints += d.list(eps, "endpoints") { n, p in endpoint(n, p, d) } ?? []
        }
        if let qs = f.take("queries") {
            scenario.queries = d.list(qs, "queries") { n, p in query(n, p, d) } ?? []
        }
        f.finish()
        let all = d.diagnostics + extra
        if !all.isEmpty { throw ScenarioLoadError(diagnostics: all) }
        return scenario
    }

    /// Moves a position inside a string-held document to its place in the test file: block
    /// scalars start on the line after their indicator, at the block's indentation.
    static func shift(_ node: ManifestNode, by start: SourcePosition, in text: String) -> ManifestNode {
        var n = node
        n.position = shiftPosition(node.position, by: start, in: text)
        switch node.value {
        case .scalar: break
        case let .sequence(items): n.value = .sequence(items.map { shift($0, by: start, in: text) })
        case let .mapping(pairs):
            n.value = .mapping(pairs.map { ($0.key, shiftPosition($0.keyPosition, by: start, in: text), shift($0.value, by: start, in: text)) })
        }
        return n
    }

    static func shift(_ d: ManifestDiagnostic, by start: SourcePosition, in text: String) -> ManifestDiagnostic {
        var out = d
        out.position = shiftPosition(d.position, by: start, in: text)
        return out
    }

    static func shiftPosition(_ p: SourcePosition, by start: SourcePosition, in text: String) -> SourcePosition {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let startLine = start.line - 1
        let isBlock = startLine < lines.count && lines[startLine].trimmingSuffixSpaces().last.map { "|>-+".contains($0) } == true
        if isBlock {
            let contentLine = start.line + p.line  // 1-based line of the inner line p.line
            // The block's indentation is that of its first content line (the line after `|`).
            let indent = start.line < lines.count ? lines[start.line].prefix { $0 == " " }.count : 0
            return SourcePosition(file: start.file, line: contentLine, column: p.column + indent)
        }
        return SourcePosition(file: start.file, line: start.line + p.line - 1, column: p.line == 1 ? start.column + p.column : p.column)
    }

    static func endpoint(_ node: ManifestNode, _ path: String, _ d: FieldDecoder) -> EndpointInfo? {
        guard let f = d.object(node, path) else { return nil }
        defer { f.finish() }
        let before = d.diagnostics.count
        guard let name = f.string("name") else {
            if !f.has("name") { d.error(node, f.sub("name"), "required field is missing") }
            return nil
        }
        let ns = f.string("namespace") ?? "default"
        var labels: [String: String] = [:]
        for (k, v) in f.stringMap("labels") ?? [] {
            if let p = NameValidation.labelKeyProblem(k) { d.error(node, "\(f.sub("labels")).\(k)", "invalid label key: \(p)") }
            if let p = NameValidation.labelValueProblem(v) { d.error(node, "\(f.sub("labels")).\(k)", "invalid label value: \(p)") }
            labels[k] = v
        }
        var named: [NamedPort] = []
        for (k, v) in f.stringMap("namedPorts") ?? [] {
            let parts = v.split(separator: "/")
            guard let port = UInt16(parts.first ?? ""), port > 0, parts.count <= 2,
                  let proto = L4Protocol(rawValue: parts.count == 2 ? parts[1].uppercased() : "TCP"), [.tcp, .udp, .sctp].contains(proto) else {
                d.error(node, "\(f.sub("namedPorts")).\(k)", "expected PORT or PORT/PROTOCOL such as 80/TCP, found \"\(v)\"")
                continue
            }
            named.append(NamedPort(name: k, proto: proto.number, port: port))
        }
        var ips: [IPAddress] = []
        for (i, s) in (f.stringList("ips") ?? []).enumerated() {
            if let ip = IPAddress(s) { ips.append(ip) } else { d.error(node, "\(f.sub("ips"))[\(i)]", "invalid IP address \"\(s)\"") }
        }
        let sa = f.string("serviceAccount") ?? "default"
        guard d.diagnostics.count == before else { return nil }
        return EndpointInfo(namespace: ns, name: name, labels: labels, serviceAccount: sa, namedPorts: named, ips: ips)
    }

    static func query(_ node: ManifestNode, _ path: String, _ d: FieldDecoder) -> PolicyQuery? {
        guard let f = d.object(node, path) else { return nil }
        defer { f.finish() }
        let before = d.diagnostics.count
        let from = f.string("from")
        let to = f.string("to")
        if from == nil && !f.has("from") { d.error(node, f.sub("from"), "required field is missing") }
        if to == nil && !f.has("to") { d.error(node, f.sub("to"), "required field is missing") }
        var proto = "TCP"
        if let p = f.string("protocol") {
            switch p.uppercased() {
            case "TCP": proto = "TCP"
            case "UDP": proto = "UDP"
            case "SCTP": proto = "SCTP"
            case "ICMP", "ICMPV4": proto = "ICMP"
            case "ICMPV6": proto = "ICMPv6"
            default: d.error(node, f.sub("protocol"), "unknown protocol \"\(p)\" (TCP, UDP, SCTP, ICMP or ICMPv6)")
            }
        }
        let isICMP = proto.hasPrefix("ICMP")
        var port = isICMP ? (proto == "ICMP" ? 8 : 128) : 0
        if let p = f.int("port", in: isICMP ? 0...255 : 1...65535) { port = p } else if !isICMP && !f.has("port") {
            d.error(node, f.sub("port"), "required field is missing")
        }
        var direction: TrafficDirection?
        if let s = f.string("direction") {
            if let dir = TrafficDirection(rawValue: s) { direction = dir } else { d.error(node, f.sub("direction"), "\"\(s)\" is not egress or ingress") }
        }
        var expect: PolicyQuery.Expectation?
        if let s = f.string("expect") {
            if let e = PolicyQuery.Expectation(rawValue: s) { expect = e } else { d.error(node, f.sub("expect"), "\"\(s)\" is not allowed or denied") }
        }
        guard d.diagnostics.count == before, let from, let to else { return nil }
        let name = f.string("name") ?? "\(from)->\(to):\(port)/\(proto)"
        return PolicyQuery(name: name, from: from, to: to, port: port, proto: proto, direction: direction, expect: expect, position: node.position)
    }
}

extension Substring {
    func trimmingSuffixSpaces() -> Substring {
        var s = self
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
