// The web UI's JSON API (/api/*): routing, parameters, status codes and JSON, with no HTTP library
// in it (the server in WebUI hands requests over as WebRequest). The same decoding, admission and
// printing as the CLI: apply and delete go through the control plane's own handlers, flows are
// filtered with `observe`'s flags and printed as Hubble JSON. docs/web-ui.md lists the routes.
import ClusterAPI
import Dispatch
import Foundation
import Hubble
import PolicyAPI
import PolicyEngine

public final class WebAPI: WebHandling, @unchecked Sendable {
    let backend: any WebBackend
    public let store: FlowStore
    /// Guards `cached` and every use of its engines (the engine is not thread-safe).
    let lock = NSLock()
    var cached: ClusterModel?
    var worldIdentities: [String: NumericIdentity] = [:]
    /// Backend calls may wait on the agent for seconds: they run here, never on the server's threads.
    let queue = DispatchQueue(label: "porin.webui.api", attributes: .concurrent)

    public init(backend: any WebBackend, store: FlowStore) {
        self.backend = backend
        self.store = store
        store.attribute = { [weak self] flow in self?.attribute(flow) ?? [] }
    }

    public func changes() -> AsyncStream<UInt64> { store.changes() }

    public func handle(_ request: WebRequest) async -> WebResponse {
        await withCheckedContinuation { (c: CheckedContinuation<WebResponse, Never>) in
            queue.async { c.resume(returning: self.route(request)) }
        }
    }

    /// The model of the current snapshot, rebuilt when the store's revision moved (or the agent's
    /// pods changed). A new revision clears the flow store's drop attributions.
    func model(invalidating: Bool = true) -> ClusterModel {
        let snap = backend.snapshot()
        lock.lock()
        if let m = cached, m.revision == snap.revision, m.podStatusKey == ClusterModel.podStatusKey(snap.pods) {
            lock.unlock()
            return m
        }
        let m = ClusterModel(snap)
        let moved = cached?.revision != m.revision
        cached = m
        worldIdentities = [:]
        lock.unlock()
        // Outside our lock: the store calls `attribute` under its own.
        if moved && invalidating { store.invalidateAttribution() }
        return m
    }

    func attribute(_ flow: Flow) -> [PolicyRef] {
        let m = model(invalidating: false)
        lock.lock()
        defer { lock.unlock() }
        return WhatIf.droppedBy(flow, model: m, cache: &worldIdentities)
    }

    // MARK: Routing

    public func route(_ r: WebRequest) -> WebResponse {
        let parts = r.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.first == "api", parts.count >= 2 else { return error(404, "no such API: \(r.path)") }
        switch (r.method, parts[1], parts.count) {
        case ("GET", "namespaces", 2): return namespaces()
        case ("GET", "workloads", 2): return workloads(r)
        case ("GET", "policies", 2): return policies(r)
        case ("GET", "policies", 5), ("DELETE", "policies", 5): return policy(r.method, kind: parts[2], namespace: parts[3], name: parts[4])
        case ("POST", "policies", 3) where parts[2] == "validate": return validate(r)
        case ("POST", "policies", 3) where parts[2] == "apply": return apply(r)
        case ("GET", "flows", 2): return flows(r)
        case ("GET", "map", 2): return map(r)
        case ("POST", "editor", 2): return editor(r)
        case ("POST", "whatif", 2): return whatIf(r)
        case ("POST", "rule-from-flow", 2): return ruleFromFlow(r)
        default:
            let known = ["namespaces", "workloads", "policies", "flows", "map", "editor", "whatif", "rule-from-flow"]
            return known.contains(parts[1]) ? error(405, "\(r.method) \(r.path) is not supported") : error(404, "no such API: \(r.path)")
        }
    }

    // MARK: Responses

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    func json<T: Encodable>(_ value: T, status: Int = 200) -> WebResponse {
        guard let data = try? Self.encoder.encode(value) else { return error(500, "could not encode the answer") }
        return WebResponse(status: status, body: Array(data))
    }

    func error(_ status: Int, _ message: String, _ errors: [Diagnostic] = []) -> WebResponse { json(APIError(message, errors: errors), status: status) }

    func body<T: Decodable>(_ r: WebRequest, as: T.Type) -> Result<T, WebResponseError> {
        do { return .success(try JSONDecoder().decode(T.self, from: Data(r.body))) } catch let DecodingError.keyNotFound(k, _) {
            return .failure(WebResponseError(error(400, "the request body lacks \"\(k.stringValue)\"")))
        } catch let DecodingError.typeMismatch(_, c) {
            return .failure(WebResponseError(error(400, "the request body's \(c.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")))
        } catch {
            return .failure(WebResponseError(self.error(400, "the request body is not the JSON this call takes")))
        }
    }

    func namespaceParam(_ r: WebRequest) -> String? {
        guard let n = r.value("namespace"), !n.isEmpty, n != "all" else { return nil }
        return n
    }

    // MARK: Cluster

    func namespaces() -> WebResponse {
        let m = model()
        let counts = store.namespaceFlowCounts()
        var names = Set(m.namespaces.map(\.name)).union(counts.keys)
        names.remove("")
        let out = names.sorted().map { n in
            NamespaceInfo(name: n, labels: (m.namespaces.first { $0.name == n }?.labels ?? [:]).map { "\($0.key)=\($0.value)" }.sorted(),
                          pods: m.pods.filter { $0.pod.namespace == n }.count, policies: m.policies.filter { $0.ref.namespace == n }.count,
                          flows: counts[n] ?? 0)
        }
        return json(NamespacesResponse(namespaces: out))
    }

    func workloads(_ r: WebRequest) -> WebResponse {
        let m = model()
        let ns = namespaceParam(r)
        var groups: [String: WorkloadInfo] = [:]
        for e in m.pods where ns == nil || e.pod.namespace == ns {
            let labels = e.pod.labels.map { "k8s:\($0.key)=\($0.value)" }
            let app = FlowCards.appLabel(labels)?.value ?? e.owner ?? e.pod.name
            let card = e.pod.labels["k8s-app"] == "kube-dns" && e.pod.namespace == "kube-system" ? "dns:kube-system" : "pod:\(e.pod.namespace)/\(app)"
            var w = groups[card] ?? WorkloadInfo(card: card, namespace: e.pod.namespace, name: app, labels: e.pod.labels.map { "\($0.key)=\($0.value)" }.sorted(), pods: [])
            w.pods.append(PodInfo(name: e.pod.name, ip: e.status?.ip ?? "", identity: UInt32(e.status?.identity ?? 0), phase: e.status?.phase ?? "Pending"))
            groups[card] = w
        }
        return json(WorkloadsResponse(workloads: groups.values.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }))
    }

    // MARK: Policies

    func policies(_ r: WebRequest) -> WebResponse {
        let m = model()
        let ns = namespaceParam(r)
        func summary(_ e: ClusterModel.PolicyEntry) -> PolicySummary { PolicySummary(ref: e.ref, yaml: e.yaml, selects: m.selects(e.policy)) }
        let namespaced = m.policies.filter { !$0.ref.namespace.isEmpty && (ns == nil || $0.ref.namespace == ns) }
        let clusterwide = m.policies.filter { $0.ref.namespace.isEmpty }
        var union: Picture?
        if r.value("picture") == "union" {
            guard let ns else { return error(400, "picture=union needs a namespace") }
            let all = namespaced.map(\.policy)
            union = PolicyPicture.union(all, namespace: ns, selects: Array(Set(all.flatMap(m.selects))).sorted())
        }
        return json(PoliciesResponse(policies: namespaced.map(summary), clusterwide: clusterwide.map(summary), union: union))
    }

    func policy(_ method: String, kind: String, namespace: String, name: String) -> WebResponse {
        guard PolicyKind(rawValue: kind) != nil else {
            return error(404, "\"\(kind)\" is not a policy kind (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy)")
        }
        let ref = PolicyRef(kind: kind, namespace: namespace == "_" ? "" : namespace, name: name)
        if method == "DELETE" {
            let resp = backend.delete(ref)
            guard resp.exitCode == 0 else { return error(resp.stderr.contains("NotFound") ? 404 : 409, trimmed(resp.stderr)) }
            return json(ApplyResponse(ok: true, output: trimmed(resp.stdout), errors: []))
        }
        let m = model()
        guard let e = m.policies.first(where: { $0.ref == ref }) else { return error(404, "\(ref) not found") }
        return json(PolicyResponse(ref: ref, yaml: e.yaml, picture: PolicyPicture.view(e.policy, selects: m.selects(e.policy))))
    }

    func trimmed(_ s: String) -> String {
        var t = Substring(s)
        while t.last == "\n" { t.removeLast() }
        return String(t)
    }

    /// Admission's `error: editor:9:15: message` lines as diagnostics.
    static func diagnostics(_ stderr: String) -> [Diagnostic] {
        stderr.split(separator: "\n").compactMap { raw -> Diagnostic? in
            var line = Substring(raw)
            if line.hasPrefix("error: ") { line = line.dropFirst(7) }
            if line == "nothing was applied" { return nil }
            guard line.hasPrefix("editor:") else { return Diagnostic(line: 0, column: 0, path: "", message: String(line)) }
            let rest = line.dropFirst(7)
            let fields = rest.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let l = Int(fields[0]), let c = Int(fields[1]) else { return Diagnostic(line: 0, column: 0, path: "", message: String(rest)) }
            var msg = fields[2]
            while msg.first == " " { msg.removeFirst() }
            var path = ""
            if let colon = msg.range(of: ": "), !msg[..<colon.lowerBound].contains(" ") { path = String(msg[..<colon.lowerBound]) }
            return Diagnostic(line: l, column: c, path: path, message: String(msg))
        }
    }

    func validate(_ r: WebRequest) -> WebResponse {
        let b: YAMLBody
        switch body(r, as: YAMLBody.self) {
        case let .success(v): b = v
        case let .failure(e): return e.response
        }
        let m = model()
        switch PolicyEditor.parse(b.yaml) {
        case let .failure(d): return json(ValidateResponse(ok: false, errors: d.list, picture: nil), status: 422)
        case let .success((_, p)):
            let resp = backend.apply(yaml: b.yaml, dryRun: true)
            let errors = resp.exitCode == 0 ? [] : Self.diagnostics(resp.stderr)
            return json(ValidateResponse(ok: errors.isEmpty, errors: errors, picture: PolicyPicture.view(p, selects: m.selects(p))), status: errors.isEmpty ? 200 : 422)
        }
    }

    func apply(_ r: WebRequest) -> WebResponse {
        let b: YAMLBody
        switch body(r, as: YAMLBody.self) {
        case let .success(v): b = v
        case let .failure(e): return e.response
        }
        // Only policies come in through the UI: the editor's kinds, one document.
        if case let .failure(d) = PolicyEditor.parse(b.yaml) { return json(ApplyResponse(ok: false, output: "", errors: d.list), status: 422) }
        let resp = backend.apply(yaml: b.yaml, dryRun: false)
        guard resp.exitCode == 0 else { return json(ApplyResponse(ok: false, output: "", errors: Self.diagnostics(resp.stderr)), status: 422) }
        let warning = trimmed(resp.stderr)
        return json(ApplyResponse(ok: true, output: trimmed(resp.stdout) + (warning.isEmpty ? "" : "\n" + warning), errors: []))
    }

    // MARK: Flows

    /// Query parameters as `hubble observe` flags: `verdict=DROPPED` is `--verdict DROPPED`; a
    /// parameter with no value is a switch (`--all`). `namespace=all` means no namespace filter.
    static let notFlags: Set<String> = ["group", "last"]

    func observeMatcher(_ r: WebRequest) -> Result<FlowFilterMatcher?, WebResponseError> {
        var args: [String] = []
        for (k, v) in r.query where !Self.notFlags.contains(k) {
            if k == "namespace" && (v == "all" || v.isEmpty) { continue }
            args.append("--" + k)
            if !v.isEmpty { args.append(v) }
        }
        guard !args.isEmpty else { return .success(nil) }
        do {
            return .success(try ObserveArguments.parse(args, now: FlowTime.now).filters.matcher())
        } catch {
            return .failure(WebResponseError(self.error(400, "\(error)")))
        }
    }

    func flows(_ r: WebRequest) -> WebResponse {
        let grouped = r.value("group") != "0"
        let onlyNamespace = r.query.allSatisfy { Self.notFlags.contains($0.key) || $0.key == "namespace" }
        let matcher: FlowFilterMatcher?
        switch observeMatcher(r) {
        case let .success(m): matcher = m
        case let .failure(e): return e.response
        }
        if grouped {
            _ = model()
            return json(store.rows(namespace: namespaceParam(r), matcher: onlyNamespace ? nil : matcher))
        }
        guard let last = Int(r.value("last") ?? "1000"), last > 0 else { return error(400, "last must be a positive number") }
        let flows = store.flows(matcher: matcher, last: last)
        var out = "{\"seq\":\(store.seq),\"flows\":["
        for (i, f) in flows.enumerated() {
            if i > 0 { out += "," }
            out += FlowJSONWriter.flow(f)
        }
        out += "]}"
        return WebResponse(body: Array(out.utf8))
    }

    func map(_ r: WebRequest) -> WebResponse {
        _ = model()
        return json(store.map(namespace: namespaceParam(r)))
    }

    // MARK: Editor

    func editor(_ r: WebRequest) -> WebResponse {
        switch body(r, as: EditorRequest.self) {
        case let .failure(e): return e.response
        case let .success(req):
            let m = model()
            return json(PolicyEditor.process(req, selects: m.selects))
        }
    }

    func whatIf(_ r: WebRequest) -> WebResponse {
        let req: WhatIfRequest
        switch body(r, as: WhatIfRequest.self) {
        case let .success(v): req = v
        case let .failure(e): return e.response
        }
        var draft: NetworkPolicyObject?
        var errors: [Diagnostic] = []
        if !req.yaml.trimmingSpaces().isEmpty {
            switch PolicyEditor.parse(req.yaml) {
            case let .success((_, p)): draft = p
            case let .failure(d): errors = d.list
            }
        }
        let m = model()
        let rows = store.rowsWithFlows(namespace: req.namespace == "all" ? nil : req.namespace)
        lock.lock()
        var out = WhatIf.rows(rows, model: m, draft: draft, replacing: req.replaces)
        lock.unlock()
        out.errors = errors
        return json(out)
    }

    func ruleFromFlow(_ r: WebRequest) -> WebResponse {
        let req: RuleFromFlowRequest
        switch body(r, as: RuleFromFlowRequest.self) {
        case let .success(v): req = v
        case let .failure(e): return e.response
        }
        guard let flow = store.row(id: req.row)?.flows.first else {
            return error(404, "no flow row \(req.row) (the flow store may have moved on; reload the flows)")
        }
        let m = model()
        do throws(EditorError) {
            return json(try RuleFromFlow.add(to: req.yaml, flow: flow, selects: m.selects))
        } catch {
            return self.error(409, error.message)
        }
    }
}

/// A response that ends a handler early (bad body, bad flag).
struct WebResponseError: Error {
    var response: WebResponse
    init(_ r: WebResponse) { response = r }
}
