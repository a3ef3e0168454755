// Reference §2.9 (Kubernetes NetworkPolicy translation) and §11 (Cilium bugs Porin must not copy).
import PolicyAPI
import PolicyEngine
import Testing

private let namespaces: [String: [String: String]] = ["default": [:], "team-a": ["team": "a"], "team-b": ["team": "b"]]
private let pods = [
    pod("default/db", ["app": "db"], ips: ["10.244.1.10"]),
    pod("default/web", ["app": "web"], ips: ["10.244.1.11"]),
    pod("team-a/web", ["app": "web"], ips: ["10.244.2.10"]),
    pod("team-a/job", ["app": "job"], ips: ["10.244.2.11"]),
    pod("team-b/web", ["app": "web"], ips: ["10.244.3.10"]),
]

private func cluster(_ policies: [String]) -> Cluster { Cluster(namespaces: namespaces, pods: pods, policies: policies) }

@Suite("§2.9 Kubernetes NetworkPolicy")
struct NetworkPolicyTests {
    @Test func missingFromIsTrueWildcardIncludingWorld() {
        let c = cluster([knp("db-80", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - ports: [{port: 80}]
            """)])
        for peer in [Peer.world, .endpoint("team-b/web"), .endpoint("default/web"), .remoteNode, .ip("8.8.8.8")] {
            let v = c.ingress("default/db", from: peer, Proto.tcp, 80)
            #expect(v.allowed, "\(peer)")
            #expect(v.matchType == .l4Only)
            #expect(v.policies == [knpRef("db-80")])
        }
        #expect(!c.allowsIngress("default/db", from: .world, Proto.tcp, 81))
        #expect(!c.allowsIngress("default/db", from: .world, Proto.udp, 80), "protocol defaults to TCP")
        #expect(!c.egress("default/db", to: .world).enforced, "policyTypes defaults to [Ingress] without egress rules")
    }

    @Test func emptyFromListIsAlsoWildcard() {
        let c = cluster([knp("allow-all", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from: []
            """)])
        #expect(c.allowsIngress("default/db", from: .world, Proto.udp, 5353))
        #expect(c.ingress("default/db", from: .world).enforced)
    }

    @Test func namespaceSelectorPeer() {
        let c = cluster([knp("from-team-a", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - namespaceSelector: {matchLabels: {team: a}}
            """)])
        #expect(c.allowsIngress("default/db", from: .endpoint("team-a/web")))
        #expect(c.allowsIngress("default/db", from: .endpoint("team-a/job")))
        #expect(!c.allowsIngress("default/db", from: .endpoint("team-b/web")))
        #expect(!c.allowsIngress("default/db", from: .endpoint("default/web")))
        #expect(!c.allowsIngress("default/db", from: .world))
    }

    @Test func namespaceSelectorByMetadataName() {
        let c = cluster([knp("from-team-b", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: team-b}}
            """)])
        #expect(c.allowsIngress("default/db", from: .endpoint("team-b/web")))
        #expect(!c.allowsIngress("default/db", from: .endpoint("team-a/web")))
    }

    @Test func emptyNamespaceSelectorIsEveryPodButNotWorld() {
        let c = cluster([knp("from-all-ns", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - namespaceSelector: {}
            """)])
        #expect(c.allowsIngress("default/db", from: .endpoint("team-a/web")))
        #expect(c.allowsIngress("default/db", from: .endpoint("team-b/web")))
        #expect(c.allowsIngress("default/db", from: .endpoint("default/web")))
        #expect(!c.allowsIngress("default/db", from: .world))
        #expect(!c.allowsIngress("default/db", from: .remoteNode))
    }

    @Test func namespaceAndPodSelectorInOnePeerAreANDed() {
        let c = cluster([knp("web-in-team-a", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - namespaceSelector: {matchLabels: {team: a}}
                podSelector: {matchLabels: {app: web}}
            """)])
        #expect(c.allowsIngress("default/db", from: .endpoint("team-a/web")))
        #expect(!c.allowsIngress("default/db", from: .endpoint("team-a/job")))
        #expect(!c.allowsIngress("default/db", from: .endpoint("team-b/web")))
        #expect(!c.allowsIngress("default/db", from: .endpoint("default/web")))
    }

    @Test func separatePeersAreORed() {
        let c = cluster([knp("or", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - namespaceSelector: {matchLabels: {team: a}}
              - podSelector: {matchLabels: {app: web}}
            """)])
        #expect(c.allowsIngress("default/db", from: .endpoint("team-a/job")))
        #expect(c.allowsIngress("default/db", from: .endpoint("default/web")))
        #expect(!c.allowsIngress("default/db", from: .endpoint("team-b/web")))
    }

    @Test func podSelectorPeerIsOwnNamespaceOnly() {
        let c = cluster([knp("web", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - podSelector: {matchLabels: {app: web}}
              ports:
              - {port: 5432, protocol: TCP}
            """)])
        #expect(c.allowsIngress("default/db", from: .endpoint("default/web"), Proto.tcp, 5432))
        #expect(!c.allowsIngress("default/db", from: .endpoint("default/web"), Proto.tcp, 80))
        #expect(!c.allowsIngress("default/db", from: .endpoint("team-a/web"), Proto.tcp, 5432))
        #expect(c.ingress("default/db", from: .endpoint("default/web"), Proto.tcp, 5432).matchType == .l3L4)
    }

    @Test func policySelectsOnlyItsNamespace() {
        let c = cluster([knp("deny-all", ns: "team-a", """
            podSelector: {}
            """)])
        #expect(!c.allowsIngress("team-a/web", from: .endpoint("team-a/job")))
        #expect(c.allowsIngress("team-b/web", from: .endpoint("team-a/job")))
        #expect(c.allowsIngress("default/web", from: .world))
    }

    @Test func emptyPolicyIsIngressDenyAll() {
        let c = cluster([knp("deny-all", """
            podSelector: {}
            """)])
        let v = c.ingress("default/db", from: .endpoint("default/web"))
        #expect(v.enforced)
        #expect(!v.allowed)
        #expect(v.dropReason == 133)
        #expect(v.policies == [knpRef("deny-all")])
        #expect(!c.egress("default/db", to: .world).enforced)
        #expect(c.allowsEgress("default/db", to: .world))
    }

    @Test func ipBlockPeerWithExcept() {
        let c = cluster([knp("ipblock", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - ipBlock:
                  cidr: 192.168.0.0/16
                  except: [192.168.1.0/24]
            """)])
        #expect(c.allowsIngress("default/db", from: .ip("192.168.2.1")))
        #expect(!c.allowsIngress("default/db", from: .ip("192.168.1.1")))
        #expect(!c.allowsIngress("default/db", from: .ip("10.0.0.1")))
        #expect(!c.allowsIngress("default/db", from: .world))
    }

    @Test func portWithoutNumberIsAllPortsOfProtocol() {
        let c = cluster([knp("udp", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - ports: [{protocol: UDP}]
            """)])
        #expect(c.allowsIngress("default/db", from: .world, Proto.udp, 1))
        #expect(c.allowsIngress("default/db", from: .world, Proto.udp, 65535))
        #expect(c.ingress("default/db", from: .world, Proto.udp, 9).matchType == .protoOnly)
        #expect(!c.allowsIngress("default/db", from: .world, Proto.tcp, 9))
    }

    @Test func endPortRange() {
        let c = cluster([knp("range", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - ports: [{port: 32000, endPort: 32768, protocol: TCP}]
            """)])
        #expect(c.allowsIngress("default/db", from: .world, Proto.tcp, 32000))
        #expect(c.allowsIngress("default/db", from: .world, Proto.tcp, 32768))
        #expect(!c.allowsIngress("default/db", from: .world, Proto.tcp, 31999))
        #expect(!c.allowsIngress("default/db", from: .world, Proto.tcp, 32769))
    }

    @Test func egressOnlyPolicyTypesIsolatesEgressOnly() {
        let c = cluster([knp("egress", """
            podSelector: {matchLabels: {app: web}}
            policyTypes: [Egress]
            egress:
            - to:
              - podSelector: {matchLabels: {app: db}}
            """)])
        #expect(c.egress("default/web", to: .world).enforced)
        #expect(!c.allowsEgress("default/web", to: .world))
        #expect(c.allowsEgress("default/web", to: .endpoint("default/db")))
        #expect(!c.allowsEgress("default/web", to: .endpoint("team-a/web")))
        #expect(!c.ingress("default/web", from: .world).enforced)
        #expect(c.allowsIngress("default/web", from: .world))
    }

    @Test func egressPolicyTypeWithoutRulesDeniesAllEgress() {
        let c = cluster([knp("no-egress", """
            podSelector: {}
            policyTypes: [Egress]
            """)])
        #expect(!c.allowsEgress("default/web", to: .endpoint("default/db")))
        #expect(!c.allowsEgress("default/web", to: .host))
        #expect(c.allowsIngress("default/web", from: .world))
    }

    @Test func egressSectionDefaultsPolicyTypesToBoth() {
        let c = cluster([knp("both", """
            podSelector: {matchLabels: {app: web}}
            egress:
            - to:
              - ipBlock: {cidr: 0.0.0.0/0}
            """)])
        #expect(c.ingress("default/web", from: .endpoint("default/db")).enforced)
        #expect(!c.allowsIngress("default/web", from: .endpoint("default/db")))
        #expect(c.allowsEgress("default/web", to: .world))
        #expect(c.allowsEgress("default/web", to: .ip("8.8.8.8")))
    }

    @Test func egressToNamedPort() {
        let c = Cluster(namespaces: namespaces, pods: pods + [
            pod("default/api", ["app": "api"], namedPorts: [NamedPort(name: "http", proto: Proto.tcp, port: 8080)]),
        ], policies: [knp("to-http", """
            podSelector: {matchLabels: {app: web}}
            policyTypes: [Egress]
            egress:
            - ports: [{port: http}]
            """)])
        #expect(c.allowsEgress("default/web", to: .endpoint("default/api"), Proto.tcp, 8080))
        #expect(!c.allowsEgress("default/web", to: .endpoint("default/api"), Proto.tcp, 80))
    }
}

@Suite("§11 Cilium bugs Porin does not copy")
struct NetworkPolicyBugFixTests {
    @Test func rulesForDirectionsOutsidePolicyTypesAreIgnored() {
        // cilium/cilium#48703: Cilium enforces the ingress rules although policyTypes says Egress only.
        let c = cluster([knp("egress-only", """
            podSelector: {matchLabels: {app: db}}
            policyTypes: [Egress]
            ingress:
            - from:
              - podSelector: {matchLabels: {app: web}}
            egress:
            - to:
              - podSelector: {matchLabels: {app: web}}
            """)])
        let v = c.ingress("default/db", from: .world)
        #expect(!v.enforced, "ingress is not in policyTypes: the policy must not affect ingress")
        #expect(v.allowed)
        #expect(c.allowsIngress("default/db", from: .endpoint("team-b/web")))
        #expect(c.allowsEgress("default/db", to: .endpoint("default/web")))
        #expect(!c.allowsEgress("default/db", to: .world))
    }

    @Test func ingressOnlyPolicyTypesIgnoresEgressRules() {
        let c = cluster([knp("ingress-only", """
            podSelector: {matchLabels: {app: db}}
            policyTypes: [Ingress]
            ingress:
            - from:
              - podSelector: {matchLabels: {app: web}}
            egress:
            - to:
              - podSelector: {matchLabels: {app: web}}
            """)])
        #expect(!c.egress("default/db", to: .world).enforced)
        #expect(c.allowsEgress("default/db", to: .world))
        #expect(c.allowsIngress("default/db", from: .endpoint("default/web")))
        #expect(!c.allowsIngress("default/db", from: .world))
    }

    @Test func ipBlockPeerNeverAdmitsPodsOfOwnNamespace() {
        // cilium/cilium PR #46305: an ipBlock-only peer also admitted every pod of the namespace.
        let c = cluster([knp("ipblock", """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - ipBlock: {cidr: 10.0.0.0/8}
            """)])
        #expect(!c.allowsIngress("default/db", from: .endpoint("default/web")), "a pod of the policy's own namespace")
        #expect(!c.allowsIngress("default/db", from: .ip("10.244.1.11")), "the same pod by IP")
        #expect(!c.allowsIngress("default/db", from: .endpoint("team-a/web")))
        #expect(c.allowsIngress("default/db", from: .ip("10.1.2.3")))
    }

    @Test func ipBlockEgressNeverAdmitsPodsOfOwnNamespace() {
        let c = cluster([knp("ipblock", """
            podSelector: {matchLabels: {app: db}}
            policyTypes: [Egress]
            egress:
            - to:
              - ipBlock: {cidr: 0.0.0.0/0}
            """)])
        #expect(c.allowsEgress("default/db", to: .world))
        #expect(!c.allowsEgress("default/db", to: .endpoint("default/web")))
    }
}
