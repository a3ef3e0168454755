// The visual editor without a browser: LAB.md §4 done as clicks must produce the lab's policy byte
// for byte, in either toggle order; pictures of the lab's and the examples' policies; the ops'
// errors; Kubernetes NetworkPolicies edited the same way.
import Foundation
import PolicyAPI
import Testing
@testable import UIModel

enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static func text(_ path: String) throws -> String { try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8) }
    /// An example file without its comment lines: what the editor writes.
    static func policyYAML(_ path: String) throws -> String {
        try text(path).split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n")
    }
}

struct Clicks {
    var yaml = ""
    var picture: Picture?
    @discardableResult
    mutating func click(_ op: EditorOp) -> EditorResponse {
        let r = PolicyEditor.process(EditorRequest(yaml: yaml, op: op))
        if r.errors.isEmpty {
            yaml = r.yaml
            picture = r.picture
        }
        return r
    }
    static func op(_ name: String, _ fill: (inout EditorOp) -> Void = { _ in }) -> EditorOp {
        var o = EditorOp(op: name)
        fill(&o)
        return o
    }
}

@Suite struct EditorTests {
    static let labSubject = Clicks.op("setSubject") { $0.name = "default"; $0.namespace = "tenant-a"; $0.selector = [] }
    static func deny(_ d: String) -> EditorOp { Clicks.op("setDefaultDeny") { $0.direction = d; $0.deny = true } }
    static func add(_ d: String, _ peer: PeerSpec) -> EditorOp { Clicks.op("addPeer") { $0.direction = d; $0.peer = peer } }

    @Test("LAB §4 by clicks gives the lab's default policy byte for byte, in both toggle orders", arguments: [["ingress", "egress"], ["egress", "ingress"]])
    func labSection4(order: [String]) throws {
        var c = Clicks()
        #expect(c.click(Clicks.op("new") { $0.namespace = "tenant-a" }).errors.isEmpty)
        c.click(Self.labSubject)
        #expect(c.yaml == """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: default
              namespace: tenant-a
            spec:
              endpointSelector: {}

            """)
        #expect(c.picture?.subject.selectorText == "every pod of tenant-a")
        for d in order { c.click(Self.deny(d)) }
        #expect(c.yaml.hasSuffix("spec:\n  endpointSelector: {}\n  ingress:\n  - {}\n  egress:\n  - {}\n"))
        let arrows = try #require(c.picture)
        for side in [arrows.ingress, arrows.egress] {
            #expect([side.arrows.inNamespace, side.arrows.inCluster, side.arrows.outsideCluster] == ["denied", "denied", "denied"])
            #expect(side.defaultDeny)
        }
        c.click(Self.add("ingress", PeerSpec(type: "anyPod")))
        c.click(Self.add("egress", PeerSpec(type: "anyPod")))
        c.click(Self.add("egress", PeerSpec(type: "kubeDNS")))
        let dns = try #require(c.picture?.egress.boxes.inCluster.first)
        #expect(dns.type == "kubeDNS" && !dns.dnsProxy && dns.ports == ["53/UDP"])
        c.click(Clicks.op("setDNSProxy") { $0.direction = "egress"; $0.rule = dns.rule; $0.on = true })
        #expect(c.yaml == (try Repo.policyYAML("examples/lab/tenant-a-default-policy.yaml")))
        let p = try #require(c.picture)
        #expect(p.egress.boxes.inCluster.first?.dnsProxy == true)
        #expect([p.ingress.arrows.inNamespace, p.egress.arrows.inNamespace, p.egress.arrows.inCluster] == ["allowed", "allowed", "allowed"])
        #expect([p.ingress.arrows.inCluster, p.ingress.arrows.outsideCluster, p.egress.arrows.outsideCluster] == ["denied", "denied", "denied"])
        // A second click on the same peer adds nothing.
        c.click(Self.add("egress", PeerSpec(type: "anyPod")))
        #expect(c.yaml == (try Repo.policyYAML("examples/lab/tenant-a-default-policy.yaml")))
    }

    @Test("the lab's default policy as a picture: three allow items, both sides default deny")
    func labPicture() throws {
        let r = PolicyEditor.process(EditorRequest(yaml: try Repo.text("examples/lab/tenant-a-default-policy.yaml")))
        let p = try #require(r.picture)
        #expect(r.errors.isEmpty)
        #expect(p.ingress.defaultDeny && p.egress.defaultDeny)
        #expect(p.ingress.boxes.inNamespace.map(\.label) == ["Any pod"])
        #expect(p.egress.boxes.inNamespace.map(\.label) == ["Any pod"])
        #expect(p.egress.boxes.inCluster.map(\.label) == ["Kubernetes DNS"])
        #expect(p.egress.boxes.inCluster.first?.dnsProxy == true)
        #expect(p.egress.boxes.outsideCluster.isEmpty && p.ingress.boxes.inCluster.isEmpty)
    }

    @Test("switching a side back to allow removes `[{}]`, or writes enableDefaultDeny: false when rules remain")
    func allowAgain() throws {
        var c = Clicks()
        c.click(Clicks.op("new") { $0.namespace = "tenant-a"; $0.name = "p" })
        c.click(Self.deny("ingress"))
        c.click(Clicks.op("setDefaultDeny") { $0.direction = "ingress"; $0.deny = false })
        #expect(!c.yaml.contains("ingress"))
        c.click(Self.add("egress", PeerSpec(type: "fqdn", matchName: "api.twitter.com")))
        c.click(Clicks.op("setDefaultDeny") { $0.direction = "egress"; $0.deny = false })
        #expect(c.yaml.contains("enableDefaultDeny:\n    egress: false\n"))
        #expect(c.picture?.egress.defaultDeny == false)
        #expect(c.picture?.egress.arrows.outsideCluster == "allowed")
        c.click(Clicks.op("setDefaultDeny") { $0.direction = "egress"; $0.deny = true })
        #expect(!c.yaml.contains("enableDefaultDeny"))
        #expect(c.picture?.egress.defaultDeny == true)
    }

    @Test("removing an item removes its peer; the last rule of a default-deny side leaves `[{}]`")
    func removeItems() throws {
        var c = Clicks(yaml: try Repo.text("examples/lab/tenant-a-default-policy.yaml"))
        c.click(Clicks.op("setDNSProxy") { $0.direction = "egress"; $0.rule = 1; $0.on = false })
        #expect(!c.yaml.contains("dns:"))
        #expect(c.yaml.contains("protocol: UDP\n"))
        let dns = try #require(PolicyEditor.process(EditorRequest(yaml: c.yaml)).picture?.egress.boxes.inCluster.first)
        c.click(Clicks.op("removeItem") { $0.item = dns.id })
        #expect(!c.yaml.contains("kube-dns") && !c.yaml.contains("toPorts"))
        let any = try #require(c.picture?.egress.boxes.inNamespace.first)
        c.click(Clicks.op("removeItem") { $0.item = any.id })
        #expect(c.yaml.hasSuffix("  egress:\n  - {}\n"))
        #expect(c.picture?.egress.defaultDeny == true)
    }

    @Test("peers of every box land where the picture draws them")
    func everyPeer() throws {
        var c = Clicks()
        c.click(Clicks.op("new") { $0.namespace = "tenant-a"; $0.name = "all" })
        let peers: [(PeerSpec, KeyPath<PictureBoxes, [PictureItem]>, String)] = [
            (PeerSpec(type: "podsByLabels", labels: ["app=backend-service"]), \.inNamespace, "Pods with labels app=backend-service"),
            (PeerSpec(type: "anyPodIn", namespaces: ["tenant-b"]), \.inCluster, "Any pod in tenant-b"),
            (PeerSpec(type: "podsIn", labels: ["app=backend-service"], namespace: "tenant-c"), \.inCluster, "Pods app=backend-service in tenant-c"),
            (PeerSpec(type: "anyPodAnyNamespace"), \.inCluster, "Any pod in any namespace"),
            (PeerSpec(type: "entity", entity: "host"), \.inCluster, "host"),
            (PeerSpec(type: "entity", entity: "world"), \.outsideCluster, "world"),
            (PeerSpec(type: "cidr", cidr: "192.0.2.0/24", except: ["192.0.2.128/25"]), \.outsideCluster, "192.0.2.0/24"),
            (PeerSpec(type: "fqdn", matchPattern: "*.twitter.com"), \.outsideCluster, "*.twitter.com"),
        ]
        for (peer, box, label) in peers {
            let r = c.click(Self.add("egress", peer))
            #expect(r.errors.isEmpty, "\(peer.type): \(r.errors)")
            #expect(c.picture?.egress.boxes[keyPath: box].contains { $0.label == label } == true, "\(label)")
        }
        let r = c.click(Clicks.op("addPeer") { $0.direction = "egress"; $0.peer = PeerSpec(type: "cidr", cidr: "10.0.0.0/33") })
        #expect(r.errors.first?.message.contains("10.0.0.0/33") == true)
        let e = c.click(Clicks.op("addPeer") { $0.direction = "ingress"; $0.peer = PeerSpec(type: "entity", entity: "wrld") })
        #expect(!e.errors.isEmpty, "an unknown entity is refused")
        #expect(!c.yaml.contains("wrld"))
        let ports = c.click(Clicks.op("addPeer") { $0.direction = "ingress"; $0.peer = PeerSpec(type: "anyPod"); $0.ports = [PortSpec(port: "70000")] })
        #expect(ports.errors.first?.message.contains("out of range") == true)
    }

    @Test("a Kubernetes NetworkPolicy opens, toggles and edits")
    func networkPolicy() throws {
        var c = Clicks()
        c.click(Clicks.op("new") { $0.kind = "NetworkPolicy"; $0.namespace = "tenant-a"; $0.name = "knp" })
        #expect(c.picture?.ingress.defaultDeny == true, "a NetworkPolicy without policyTypes isolates ingress")
        #expect(c.picture?.egress.defaultDeny == false)
        c.click(Self.deny("egress"))
        #expect(c.yaml.contains("policyTypes:\n  - Ingress\n  - Egress\n"))
        c.click(Self.add("egress", PeerSpec(type: "kubeDNS")))
        c.click(Self.add("ingress", PeerSpec(type: "podsIn", labels: ["app=frontend-service"], namespace: "tenant-b")))
        let p = try #require(c.picture)
        #expect(p.egress.boxes.inCluster.first?.ports == ["53/UDP"])
        #expect(p.ingress.boxes.inCluster.first?.label == "Pods app=frontend-service in tenant-b")
        #expect(p.ingress.toggleLocked != nil)
        let r = c.click(Clicks.op("addPeer") { $0.direction = "egress"; $0.peer = PeerSpec(type: "fqdn", matchName: "api.twitter.com") })
        #expect(r.errors.first?.message.contains("toFQDNs") == true)
        let dns = c.click(Clicks.op("setDNSProxy") { $0.direction = "egress"; $0.rule = 0; $0.on = true })
        #expect(!dns.errors.isEmpty)
    }

    @Test("invalid YAML gives the decoder's errors at their lines and no picture")
    func invalidYAML() throws {
        let text = try Repo.policyYAML("examples/lab/tenant-a-extra-policy.yaml").replacingOccurrences(of: "port: \"80\"", with: "port: \"99999\"")
        let r = PolicyEditor.process(EditorRequest(yaml: text))
        #expect(r.picture == nil)
        let e = try #require(r.errors.first)
        #expect(e.line == 13, "\(r.errors)")
        #expect(e.yamlSafe)
    }

    @Test("every example policy draws without losing a rule")
    func examples() throws {
        var checked = 0
        for top in ["examples", "Tests"] {
          let dir = "\(Repo.root)/\(top)"
          for case let f as String in FileManager.default.enumerator(atPath: dir)! where f.hasSuffix(".yaml") && !f.contains("hubble-golden") {
            let text = try String(contentsOfFile: "\(dir)/\(f)", encoding: .utf8)
            // Test files mix policies with other documents: each document on its own.
            let docs = (try? ManifestLoader.documents(text: text, file: f)) ?? []
            let objects = docs.flatMap { (try? APIObjectDecoder.decode(documents: [$0])) ?? [] }
            for case let .policy(p) in objects {
                let pic = PolicyPicture.view(p)
                let items = [pic.ingress, pic.egress].flatMap { $0.boxes.inNamespace + $0.boxes.inCluster + $0.boxes.outsideCluster + $0.other }
                if case let .cilium(c) = p {
                    let peers = c.rules.flatMap { $0.ingress + $0.egress + $0.ingressDeny + $0.egressDeny }.filter { !$0.hasNoL3 || $0.toPorts != nil }
                    #expect(peers.isEmpty || !items.isEmpty, "\(f): \(p.reference) has rules and no items")
                }
                checked += 1
            }
          }
        }
        #expect(checked >= 4)
    }
}

@Suite struct PictureTests {
    @Test("deny rules, entities, CIDRs, toServices and toGroups: each in its box, deny arrows red, the rest under other")
    func denyAndOther() throws {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata:
              name: cw
            spec:
              endpointSelector:
                matchLabels:
                  app: web
              ingress:
              - fromEntities: [host, world]
              ingressDeny:
              - fromCIDRSet:
                - cidr: 192.0.2.0/24
                  except: [192.0.2.128/25]
              egress:
              - toEndpoints:
                - {}
                toPorts:
                - ports:
                  - port: "80"
                    protocol: TCP
                  rules:
                    http:
                    - method: GET
              - toGroups:
                - aws:
                    securityGroupsIds: [sg-1]
              - toPorts:
                - ports:
                  - port: "443"

            """
        let r = PolicyEditor.process(EditorRequest(yaml: yaml))
        let p = try #require(r.picture, "\(r.errors)")
        #expect(p.subject.selectorText == "pods app=web in every namespace")
        #expect(p.ingress.boxes.inCluster.map(\.label) == ["host"])
        #expect(p.ingress.boxes.outsideCluster.map(\.label) == ["world", "192.0.2.0/24"])
        #expect(p.ingress.boxes.outsideCluster.last?.deny == true)
        #expect(p.ingress.arrows.outsideCluster == "denied")
        #expect(p.egress.boxes.inCluster.first?.label == "Any pod in any namespace", "an empty selector of a clusterwide policy selects every namespace")
        #expect(p.egress.boxes.inCluster.first?.detail.contains("L7") == true)
        #expect(p.egress.other.map(\.label) == ["toGroups"])
        #expect(p.egress.boxes.inNamespace.map(\.type) == ["allPeers"], "a ports-only rule is every peer, in every box")
        #expect(p.egress.boxes.outsideCluster.contains { $0.type == "allPeers" && $0.ports == ["443/ANY"] })
    }

    @Test("Visualize all: items of every policy tagged with it; a side is default deny when one policy makes it so")
    func union() throws {
        func policy(_ path: String) throws -> NetworkPolicyObject {
            guard case let .success((_, p)) = PolicyEditor.parse(try Repo.text(path)) else { throw EditorError(path) }
            return p
        }
        let u = PolicyPicture.union([try policy("examples/lab/tenant-a-default-policy.yaml"), try policy("examples/lab/tenant-a-extra-policy.yaml")],
                                    namespace: "tenant-a", selects: [])
        #expect(u.readOnly && u.policies.map(\.name) == ["default", "extra"])
        #expect(u.ingress.defaultDeny && u.egress.defaultDeny)
        #expect(u.egress.boxes.outsideCluster.map { "\($0.label) (\($0.policy?.name ?? ""))" } == ["api.twitter.com (extra)"])
        #expect(u.egress.boxes.inCluster.map { $0.policy?.name } == ["default"])
    }
}

extension Diagnostic {
    var yamlSafe: Bool { line > 0 && column > 0 && !message.isEmpty }
}
