// The JSON API against a fake control plane holding the lab's objects (LAB.md §5's state: the
// `default` policy applied) and the flows of a real lab run: the service map's drops and their
// policy, observe filters and their errors, rules made from dropped flows (LAB §6 and §7 byte for
// byte), what-if verdicts, validation errors at their lines.
import ClusterAPI
import Foundation
import Hubble
import PolicyAPI
import Testing
@testable import UIModel

struct Lab {
    let api: WebAPI
    let backend: InMemoryBackend
    let flows: [Flow]

    init() throws {
        backend = try InMemoryBackend.lab(examples: "\(Repo.root)/examples/lab")
        let store = FlowStore()
        api = WebAPI(backend: backend, store: store)
        flows = LabFixture.flows
        #expect(flows.count > 100)
        store.append(flows)
    }

    func call(_ method: String, _ path: String, _ query: [(String, String)] = [], body: String = "") -> (status: Int, json: [String: Any]) {
        let r = api.route(WebRequest(method: method, path: path, query: query.map { (key: $0.0, value: $0.1) }, body: Array(body.utf8)))
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    func decode<T: Decodable>(_ t: T.Type, _ method: String, _ path: String, _ query: [(String, String)] = [], body: String = "") throws -> T {
        let r = api.route(WebRequest(method: method, path: path, query: query.map { (key: $0.0, value: $0.1) }, body: Array(body.utf8)))
        #expect(r.status == 200, "\(method) \(path): \(String(decoding: r.body, as: UTF8.self))")
        return try JSONDecoder().decode(T.self, from: Data(r.body))
    }

    static func body<T: Encodable>(_ v: T) -> String { String(decoding: try! JSONEncoder().encode(v), as: UTF8.self) }

    /// The dropped row from tenant-a's frontend to a destination card.
    func droppedRow(to card: String) throws -> FlowRow {
        let rows = try decode(FlowRowsResponse.self, "GET", "/api/flows", [("namespace", "tenant-a"), ("group", "1")]).rows
        return try #require(rows.first { $0.destination.id == card && $0.verdict == "dropped" && $0.source.id == "pod:tenant-a/frontend-service" },
                            "no dropped row to \(card) in \(rows.map { "\($0.source.id) -> \($0.destination.id) \($0.verdict)" })")
    }
}

@Suite struct WebAPITests {
    @Test("namespaces, workloads and policies of the cluster")
    func cluster() throws {
        let lab = try Lab()
        let ns = try lab.decode(NamespacesResponse.self, "GET", "/api/namespaces").namespaces
        let a = try #require(ns.first { $0.name == "tenant-a" })
        #expect(a.pods == 2 && a.policies == 1 && a.flows > 0)
        let w = try lab.decode(WorkloadsResponse.self, "GET", "/api/workloads", [("namespace", "tenant-a")]).workloads
        #expect(w.map(\.card) == ["pod:tenant-a/backend-service", "pod:tenant-a/frontend-service"])
        let dns = try lab.decode(WorkloadsResponse.self, "GET", "/api/workloads", [("namespace", "kube-system")]).workloads
        #expect(dns.map(\.card) == ["dns:kube-system"] && dns[0].pods.count == 2)
        let p = try lab.decode(PoliciesResponse.self, "GET", "/api/policies", [("namespace", "tenant-a")])
        #expect(p.policies.map(\.ref.name) == ["default"])
        #expect(p.policies[0].selects == ["tenant-a/backend-service", "tenant-a/frontend-service"])
        #expect(p.policies[0].yaml == (try Repo.policyYAML("examples/lab/tenant-a-default-policy.yaml")))
        let one = try lab.decode(PolicyResponse.self, "GET", "/api/policies/CiliumNetworkPolicy/tenant-a/default")
        #expect(one.picture.egress.boxes.inCluster.first?.dnsProxy == true)
        #expect(lab.call("GET", "/api/policies/CiliumNetworkPolicy/tenant-a/nope").status == 404)
        #expect(lab.call("GET", "/api/policies/Policy/tenant-a/default").status == 404)
        #expect(lab.call("GET", "/api/nothing").status == 404)
        #expect(lab.call("PUT", "/api/map").status == 405)
    }

    @Test("the service map: drops towards tenant-b and api.twitter.com in red, named for the policy that drops them")
    func map() throws {
        let lab = try Lab()
        let m = try lab.decode(MapResponse.self, "GET", "/api/map", [("namespace", "tenant-a")])
        func edge(_ to: String) -> MapEdge? { m.edges.first { $0.from == "pod:tenant-a/frontend-service" && $0.to == to } }
        let policy = PolicyRef(kind: "CiliumNetworkPolicy", namespace: "tenant-a", name: "default")
        for to in ["pod:tenant-b/backend-service", "fqdn:api.twitter.com"] {
            let e = try #require(edge(to), "\(to) in \(m.edges.map(\.to))")
            #expect(e.dropped > 0)
            #expect(e.droppedBy == [policy])
        }
        let dns = try #require(m.edges.first { $0.to == "dns:kube-system" && $0.from == "pod:tenant-a/frontend-service" })
        #expect(dns.forwarded > 0 && dns.dropped == 0 && dns.droppedBy.isEmpty)
        #expect(dns.dns.contains("api.twitter.com"))
    }

    @Test("flows filtered with observe's flags; a bad flag is hubble's error")
    func flows() throws {
        let lab = try Lab()
        let rows = try lab.decode(FlowRowsResponse.self, "GET", "/api/flows", [("namespace", "tenant-a"), ("verdict", "DROPPED")]).rows
        #expect(!rows.isEmpty && rows.allSatisfy { $0.verdict == "dropped" })
        let raw = lab.call("GET", "/api/flows", [("group", "0"), ("last", "5"), ("to-fqdn", "api.twitter.com")])
        #expect(raw.status == 200)
        let list = try #require(raw.json["flows"] as? [[String: Any]])
        #expect(list.count == 5)
        #expect(list.allSatisfy { ($0["destination_names"] as? [String]) == ["api.twitter.com"] })
        let bad = lab.call("GET", "/api/flows", [("verdict", "MAYBE")])
        #expect(bad.status == 400)
        #expect((bad.json["error"] as? String)?.contains("MAYBE") == true, "\(bad.json)")
        #expect(lab.call("GET", "/api/flows", [("group", "0"), ("last", "-3")]).status == 400)
    }

    @Test("Add rule to policy on the dropped api.twitter.com flow of a new policy `extra` gives LAB §6's policy byte for byte")
    func section6() throws {
        let lab = try Lab()
        var c = Clicks()
        c.click(Clicks.op("new") { $0.namespace = "tenant-a" })
        c.click(Clicks.op("setSubject") { $0.name = "extra" })
        let row = try lab.droppedRow(to: "fqdn:api.twitter.com")
        let r = try lab.decode(EditorResponse.self, "POST", "/api/rule-from-flow", body: Lab.body(RuleFromFlowRequest(yaml: c.yaml, row: row.id)))
        #expect(r.yaml == (try Repo.policyYAML("examples/lab/tenant-a-extra-policy.yaml")))
        #expect(r.picture?.egress.boxes.outsideCluster.map(\.label) == ["api.twitter.com"])
        // The same click again adds nothing.
        let again = try lab.decode(EditorResponse.self, "POST", "/api/rule-from-flow", body: Lab.body(RuleFromFlowRequest(yaml: r.yaml, row: row.id)))
        #expect(again.yaml == r.yaml)
        // What-if: the draft turns exactly the api.twitter.com rows to forwarded.
        let w = try lab.decode(WhatIfResponse.self, "POST", "/api/whatif", body: Lab.body(WhatIfRequest(namespace: "tenant-a", yaml: r.yaml, replaces: nil)))
        let changed = w.rows.filter(\.changed)
        #expect(!changed.isEmpty && changed.allSatisfy { $0.row.destination.id == "fqdn:api.twitter.com" && $0.draft == "forwarded" }, "\(changed.map(\.row.destination.id))")
        #expect(w.rows.contains { $0.row.destination.id == "pod:tenant-b/backend-service" && $0.draft == "dropped" && !$0.changed })
        #expect(w.changedCount == changed.count)
    }

    @Test("a rule from the dropped tenant-b flow names the pod's app label and namespace, as LAB §7 writes it")
    func section7Form() throws {
        let lab = try Lab()
        let row = try lab.droppedRow(to: "pod:tenant-b/backend-service")
        var c = Clicks()
        c.click(Clicks.op("new") { $0.namespace = "tenant-a"; $0.name = "extra" })
        let r = try lab.decode(EditorResponse.self, "POST", "/api/rule-from-flow", body: Lab.body(RuleFromFlowRequest(yaml: c.yaml, row: row.id)))
        #expect(r.yaml.hasSuffix("""
              egress:
              - toEndpoints:
                - matchLabels:
                    k8s:app: backend-service
                    k8s:io.kubernetes.pod.namespace: tenant-b
                toPorts:
                - ports:
                  - port: "80"

            """), "\(r.yaml)")
        #expect(r.picture?.egress.boxes.inCluster.map(\.label) == ["Pods app=backend-service in tenant-b"])
        // A policy of another namespace selects neither end: 409 with the reason.
        var other = Clicks()
        other.click(Clicks.op("new") { $0.namespace = "tenant-c"; $0.name = "x" })
        let refused = lab.call("POST", "/api/rule-from-flow", body: Lab.body(RuleFromFlowRequest(yaml: other.yaml, row: row.id)))
        #expect(refused.status == 409)
        #expect((refused.json["error"] as? String)?.contains("selects neither tenant-a/frontend-service") == true, "\(refused.json)")
        #expect(lab.call("POST", "/api/rule-from-flow", body: Lab.body(RuleFromFlowRequest(yaml: c.yaml, row: "r-none"))).status == 404)
    }

    @Test("what-if: the default policy without its DNS rule drops the DNS flows it allowed")
    func whatIfDNS() throws {
        let lab = try Lab()
        let withoutDNS = try Repo.policyYAML("examples/lab/tenant-a-default-policy.yaml").components(separatedBy: "  - toEndpoints:\n    - matchLabels:")[0]
        let ref = PolicyRef(kind: "CiliumNetworkPolicy", namespace: "tenant-a", name: "default")
        let w = try lab.decode(WhatIfResponse.self, "POST", "/api/whatif", body: Lab.body(WhatIfRequest(namespace: "tenant-a", yaml: withoutDNS, replaces: ref)))
        let dns = w.rows.filter { $0.row.destination.id == "dns:kube-system" && $0.row.source.id == "pod:tenant-a/frontend-service" }
        #expect(!dns.isEmpty)
        // Before the policy the DNS rows were forwarded; the draft drops them: changed.
        #expect(dns.allSatisfy { $0.draft == "dropped" && $0.current == "forwarded" && $0.changed }, "\(dns.map { ($0.recorded, $0.current, $0.draft) })")
        #expect(dns.allSatisfy { $0.draftDecidedBy == [ref] })
    }

    @Test("validate and apply: decoding errors at their lines; an unknown namespace from admission; nothing applied")
    func validateAndApply() throws {
        let lab = try Lab()
        let bad = try Repo.policyYAML("examples/lab/tenant-a-extra-policy.yaml").replacingOccurrences(of: "port: \"80\"", with: "port: \"99999\"")
        let v = lab.call("POST", "/api/policies/validate", body: Lab.body(YAMLBody(yaml: bad)))
        #expect(v.status == 422)
        let e = try #require((v.json["errors"] as? [[String: Any]])?.first)
        #expect(e["line"] as? Int == 13 && (e["message"] as? String)?.isEmpty == false, "\(v.json)")
        let ghost = try Repo.policyYAML("examples/lab/tenant-a-extra-policy.yaml").replacingOccurrences(of: "namespace: tenant-a", with: "namespace: ghost")
        let g = lab.call("POST", "/api/policies/apply", body: Lab.body(YAMLBody(yaml: ghost)))
        #expect(g.status == 422)
        let ge = try #require((g.json["errors"] as? [[String: Any]])?.first)
        #expect(ge["line"] as? Int == 5 && ge["column"] as? Int == 14 && ge["path"] as? String == "metadata.namespace", "\(g.json)")
        #expect(lab.backend.objects["CiliumNetworkPolicy/ghost/extra"] == nil)
        let ok = try lab.decode(ApplyResponse.self, "POST", "/api/policies/apply", body: Lab.body(YAMLBody(yaml: try Repo.policyYAML("examples/lab/tenant-a-extra-policy.yaml"))))
        #expect(ok.ok && ok.output.contains("extra"))
        #expect(try lab.decode(PoliciesResponse.self, "GET", "/api/policies", [("namespace", "tenant-a")]).policies.map(\.ref.name) == ["default", "extra"])
        let union = try lab.decode(PoliciesResponse.self, "GET", "/api/policies", [("namespace", "tenant-a"), ("picture", "union")]).union
        #expect(union?.policies.map(\.name) == ["default", "extra"])
        #expect(lab.call("POST", "/api/policies/apply", body: "{\"yml\": 1}").status == 400)
        let del = try lab.decode(ApplyResponse.self, "DELETE", "/api/policies/CiliumNetworkPolicy/tenant-a/extra")
        #expect(del.ok)
        #expect(lab.call("DELETE", "/api/policies/CiliumNetworkPolicy/tenant-a/extra").status == 404)
    }
}
