// `porin get`: kubectl's tables (and `-o wide|yaml|json`) for the stored objects, with what only
// the node knows (pods' phases and addresses, endpoints, identities) asked from its agent.
import ClusterAPI
import Foundation
import PolicyAPI

struct Printer {
    let cp: ControlPlane

    /// kubectl's AGE: 45s, 3m12s, 17m, 5h3m, 26h, 3d4h, 12d.
    static func age(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 120 { return "\(s)s" }
        let m = s / 60
        if m < 10 { return s % 60 == 0 ? "\(m)m" : "\(m)m\(s % 60)s" }
        if m < 180 { return "\(m)m" }
        let h = s / 3600
        if h < 8 { return m % 60 == 0 ? "\(h)h" : "\(h)h\(m % 60)m" }
        if h < 48 { return "\(h)h" }
        let d = h / 24
        if h < 192 { return h % 24 == 0 ? "\(d)d" : "\(d)d\(h % 24)h" }
        return "\(d)d"
    }

    /// Columns padded like kubectl's tabwriter (three spaces between columns).
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0) }.joined()
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    struct PodView {
        var namespace: String
        var name: String
        var created: Double
        var owner: String?
        var pod: Pod
        var status: NodeState.PodStatus?
    }

    /// Every pod the objects ask for: pods, and Deployments' replicas.
    func desiredPods() -> [PodView] {
        var out: [PodView] = []
        for o in cp.objects.values where o.kind == "Pod" || o.kind == "Deployment" {
            guard let obj = Admission.decodeStored(o) else { continue }
            switch obj {
            case let .pod(p): out.append(PodView(namespace: p.namespace, name: p.name, created: o.created, owner: nil, pod: p))
            case let .deployment(d):
                for i in 0..<d.replicas {
                    let n = d.replicaName(i)
                    out.append(PodView(namespace: d.namespace, name: n, created: o.created, owner: d.name,
                                       pod: Pod(name: n, namespace: d.namespace, labels: d.templateLabels, spec: d.templateSpec)))
                }
            default: break
            }
        }
        return out.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    func get(_ req: APIRequest) -> APIResponse {
        let what = req.resource ?? ""
        let now = Date().timeIntervalSince1970
        let ns = req.namespace ?? "default"
        let all = req.allNamespaces
        let output = req.output ?? ""
        guard ["", "wide", "yaml", "json", "name"].contains(output) else {
            return .failure("error: unable to match a printer suitable for the output format \"\(output)\", allowed formats are: json, name, wide, yaml")
        }
        let special = ["endpoints": "endpoints", "ep": "endpoints", "identities": "identities", "identity": "identities", "ciliumidentities": "identities",
                       "ciliumidentity": "identities", "cep": "cep", "ciliumendpoints": "cep", "ciliumendpoint": "cep"]
        if let s = special[what.lowercased()] { return getNodeView(s, req, now: now) }
        guard let rk = ResourceKind.named(what) else {
            return .failure("error: the server doesn't have a resource type \"\(what)\" (Porin serves: namespaces, pods, deployments, services, endpoints, ciliumnetworkpolicies, ciliumclusterwidenetworkpolicies, networkpolicies, ciliumidentities, ciliumendpoints)")
        }
        let scopeAll = all || !rk.namespaced
        if rk.kind == "Pod" { return getPods(req, now: now) }
        var items = cp.objects.values.filter { $0.kind == rk.kind && (scopeAll || $0.namespace == ns) }
            .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        if !req.names.isEmpty {
            let missing = req.names.filter { n in !items.contains { $0.name == n } }
            if !missing.isEmpty {
                return .failure(missing.map { "Error from server (NotFound): \(rk.pluralDisplay) \"\($0)\" not found" }.joined(separator: "\n"))
            }
            items = req.names.compactMap { n in items.first { $0.name == n } }
        }
        if output == "yaml" || output == "json" {
            return structured(items.compactMap { o in Admission.document(o).map { decorate($0, o) } }, output, single: req.names.count == 1)
        }
        if output == "name" { return APIResponse(stdout: items.map { "\(rk.display)/\($0.name)\n" }.joined()) }
        if items.isEmpty { return noResources(rk.namespaced && !all ? ns : nil) }
        let state = cp.agentState()
        var header: [String]
        var rows: [[String]] = []
        switch rk.kind {
        case "Namespace":
            header = ["NAME", "STATUS", "AGE"]
            rows = items.map { [$0.name, "Active", Self.age(now - $0.created)] }
        case "Service":
            header = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"] + (output == "wide" ? ["SELECTOR"] : [])
            rows = items.map { o in
                guard case let .service(s)? = Admission.decodeStored(o) else { return [o.name] + Array(repeating: "", count: header.count - 1) }
                let ports = s.ports.map { "\($0.port)/\($0.proto.rawValue.uppercased())" }.joined(separator: ",")
                let sel = s.selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                return [o.name, "ClusterIP", s.clusterIP ?? "<none>", "<none>", ports, Self.age(now - o.created)] + (output == "wide" ? [sel.isEmpty ? "<none>" : sel] : [])
            }
        case "Deployment":
            header = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
            rows = items.map { o in
                guard case let .deployment(d)? = Admission.decodeStored(o) else { return [o.name, "", "", "", ""] }
                let names = Set((0..<d.replicas).map { d.replicaName($0) })
                let ready = state?.pods.filter { $0.namespace == d.namespace && names.contains($0.name) && $0.phase == "Running" }.count ?? 0
                return [o.name, "\(ready)/\(d.replicas)", "\(d.replicas)", "\(ready)", Self.age(now - o.created)]
            }
        case "NetworkPolicy":
            header = ["NAME", "POD-SELECTOR", "AGE"]
            rows = items.map { o in
                var sel = "<none>"
                if let doc = Admission.document(o), case let .object(ml)? = doc["spec", "podSelector", "matchLabels"], !ml.isEmpty {
                    sel = ml.map { k, v in if case let .string(s) = v { "\(k)=\(s)" } else { "\(k)" } }.joined(separator: ",")
                }
                return [o.name, sel, Self.age(now - o.created)]
            }
        default:  // Cilium's policies: kubectl shows AGE and VALID.
            header = ["NAME", "AGE", "VALID"]
            rows = items.map { [$0.name, Self.age(now - $0.created), "True"] }
        }
        if all && rk.namespaced {
            header.insert("NAMESPACE", at: 0)
            rows = zip(items, rows).map { [$0.namespace] + $1 }
        }
        return APIResponse(stdout: Self.table(header, rows))
    }

    func noResources(_ ns: String?) -> APIResponse {
        APIResponse(stderr: ns.map { "No resources found in \($0) namespace.\n" } ?? "No resources found\n")
    }

    /// Adds what the server knows to a stored document (pods get their status).
    func decorate(_ doc: AnyManifest, _ o: StoredObject) -> AnyManifest {
        var d = doc
        let ts = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: o.created))
        d.set(["metadata", "creationTimestamp"], .string(ts))
        return d
    }

    func structured(_ docs: [AnyManifest], _ output: String, single: Bool) -> APIResponse {
        let value: AnyManifest = single && docs.count == 1 ? docs[0]
            : .object([("apiVersion", .string("v1")), ("items", .list(docs)), ("kind", .string("List")), ("metadata", .object([("resourceVersion", .string(""))]))])
        return APIResponse(stdout: output == "json" ? value.json() + "\n" : value.yaml())
    }

    func getPods(_ req: APIRequest, now: Double) -> APIResponse {
        let ns = req.namespace ?? "default"
        let state = cp.agentState()
        var views = desiredPods().filter { req.allNamespaces || $0.namespace == ns }
        for i in views.indices { views[i].status = state?.pods.first { $0.namespace == views[i].namespace && $0.name == views[i].name } }
        if !req.names.isEmpty {
            let missing = req.names.filter { n in !views.contains { $0.name == n } }
            if !missing.isEmpty { return .failure(missing.map { "Error from server (NotFound): pods \"\($0)\" not found" }.joined(separator: "\n")) }
            views = req.names.compactMap { n in views.first { $0.name == n } }
        }
        let output = req.output ?? ""
        if output == "yaml" || output == "json" {
            let docs = views.map { v -> AnyManifest in
                var d = AnyManifest.object([("apiVersion", .string("v1")), ("kind", .string("Pod"))])
                d.set(["metadata", "name"], .string(v.name))
                d.set(["metadata", "namespace"], .string(v.namespace))
                d.set(["metadata", "labels"], .object(v.pod.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
                d.set(["metadata", "creationTimestamp"], .string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: v.created))))
                if let owner = v.owner { d.set(["metadata", "ownerReferences"], .list([.object([("kind", .string("Deployment")), ("name", .string(owner))])])) }
                d.set(["spec", "nodeName"], .string(cp.node))
                d.set(["spec", "restartPolicy"], .string(v.pod.spec.restartPolicy))
                d.set(["spec", "serviceAccountName"], .string(v.pod.spec.serviceAccountName))
                d.set(["spec", "containers"], .list(v.pod.spec.containers.map { c in
                    var o = AnyManifest.object([("name", .string(c.name))])
                    if let i = c.image { o.set(["image"], .string(i)) }
                    if !c.command.isEmpty { o.set(["command"], .list(c.command.map { .string($0) })) }
                    if !c.args.isEmpty { o.set(["args"], .list(c.args.map { .string($0) })) }
                    if !c.ports.isEmpty {
                        o.set(["ports"], .list(c.ports.map { p in
                            var po = AnyManifest.object([("containerPort", .int(p.containerPort)), ("protocol", .string(p.proto.rawValue.uppercased()))])
                            if let n = p.name { po.set(["name"], .string(n)) }
                            return po
                        }))
                    }
                    return o
                }))
                d.set(["status", "phase"], .string(Self.phase(v.status)))
                if let s = v.status {
                    d.set(["status", "podIP"], .string(s.ip))
                    d.set(["status", "podIPs"], .list([.object([("ip", .string(s.ip))])]))
                }
                return d
            }
            return structured(docs, output, single: req.names.count == 1)
        }
        if output == "name" { return APIResponse(stdout: views.map { "pod/\($0.name)\n" }.joined()) }
        if views.isEmpty { return noResources(req.allNamespaces ? nil : ns) }
        var header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        if output == "wide" { header += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] }
        var rows = views.map { v -> [String] in
            let s = v.status
            var r = [v.name, "\(s?.ready ?? 0)/\(s?.containers ?? v.pod.spec.containers.count)", s?.phase ?? "Pending", "\(s?.restarts ?? 0)", Self.age(now - (s?.created ?? v.created))]
            if output == "wide" { r += [s?.ip ?? "<none>", s == nil ? "<none>" : cp.node, "<none>", "<none>"] }
            return r
        }
        if req.allNamespaces {
            header.insert("NAMESPACE", at: 0)
            rows = zip(views, rows).map { [$0.namespace] + $1 }
        }
        return APIResponse(stdout: Self.table(header, rows))
    }

    static func phase(_ s: NodeState.PodStatus?) -> String {
        switch s?.phase {
        case nil: "Pending"
        case "Completed": "Succeeded"
        case "Error": "Failed"
        case "CrashLoopBackOff", "ContainerCreating": "Pending"
        default: "Running"
        }
    }

    /// Service endpoints, Cilium endpoints and identities: what the node's agent knows.
    func getNodeView(_ what: String, _ req: APIRequest, now: Double) -> APIResponse {
        guard let state = cp.agentState() else { return .failure("error: the agent of \(cp.node) is not ready (see `porin status`)") }
        let ns = req.namespace ?? "default"
        let output = req.output ?? ""
        switch what {
        case "endpoints":
            var items = cp.objects.values.filter { $0.kind == "Service" && (req.allNamespaces || $0.namespace == ns) }.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
            if !req.names.isEmpty { items = items.filter { req.names.contains($0.name) } }
            if items.isEmpty { return noResources(req.allNamespaces ? nil : ns) }
            var header = ["NAME", "ENDPOINTS", "AGE"]
            var rows = items.map { o -> [String] in
                let b = Array(Set(state.serviceBackends["\(o.namespace)/\(o.name)"] ?? [])).sorted()
                let text = b.isEmpty ? "<none>" : b.count > 3 ? b.prefix(3).joined(separator: ",") + " + \(b.count - 3) more..." : b.joined(separator: ",")
                return [o.name, text, Self.age(now - o.created)]
            }
            if req.allNamespaces {
                header.insert("NAMESPACE", at: 0)
                rows = zip(items, rows).map { [$0.namespace] + $1 }
            }
            return APIResponse(stdout: Self.table(header, rows))
        case "cep":
            var pods = state.pods.filter { req.allNamespaces || $0.namespace == ns }
            if !req.names.isEmpty { pods = pods.filter { req.names.contains($0.name) } }
            if pods.isEmpty { return noResources(req.allNamespaces ? nil : ns) }
            var header = ["NAME", "SECURITY IDENTITY", "ENDPOINT STATE", "IPV4", "IPV6"]
            if output == "wide" { header += ["ENDPOINT ID", "POLICY (INGRESS)", "POLICY (EGRESS)"] }
            var rows = pods.map { p -> [String] in
                var r = [p.name, "\(p.identity)", "ready", p.ip, ""]
                if output == "wide" { r += ["\(p.endpointID)", p.ingressEnforced ? "Enabled" : "Disabled", p.egressEnforced ? "Enabled" : "Disabled"] }
                return r
            }
            if req.allNamespaces {
                header.insert("NAMESPACE", at: 0)
                rows = zip(pods, rows).map { [$0.namespace] + $1 }
            }
            return APIResponse(stdout: Self.table(header, rows))
        default:  // identities, as `cilium identity list` shows them
            var ids = state.identities
            if !req.names.isEmpty { ids = ids.filter { req.names.contains(String($0.id)) } }
            if output == "json" || output == "yaml" {
                let v = AnyManifest.list(ids.map { .object([("id", .int($0.id)), ("labels", .list($0.labels.map { .string($0) }))]) })
                return APIResponse(stdout: output == "json" ? v.json() + "\n" : v.yaml())
            }
            var rows: [[String]] = []
            for i in ids {
                for (n, l) in i.labels.enumerated() { rows.append([n == 0 ? "\(i.id)" : "", l]) }
                if i.labels.isEmpty { rows.append(["\(i.id)", ""]) }
            }
            return APIResponse(stdout: Self.table(["ID", "LABELS"], rows))
        }
    }
}
