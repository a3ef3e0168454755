// Reference §2.1 (enforcement modes, default deny) and §2.2 (empty rules, nil vs empty lists).
import PolicyAPI
import PolicyEngine
import Testing

private let basePods = [
    pod("default/backend", ["app": "backend"]),
    pod("default/client", ["app": "client"]),
    pod("other/client", ["app": "client"]),
]

@Suite("§2.1 enforcement modes and default deny")
struct EnforcementTests {
    @Test func noPolicyMeansNothingEnforced() {
        let c = Cluster(pods: basePods)
        for dir in TrafficDirection.allCases {
            let v = c.verdict("default/backend", dir, .world, Proto.udp, 9999)
            #expect(v.allowed)
            #expect(!v.enforced)
            #expect(v.dropReason == nil)
        }
    }

    @Test func ingressSectionEnforcesOnlyIngress() {
        let c = Cluster(pods: basePods, policies: [cnp("ing", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """)])
        let inWorld = c.ingress("default/backend", from: .world)
        #expect(inWorld.enforced)
        #expect(!inWorld.allowed)
        #expect(inWorld.dropReason == 133)
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/client")))
        let out = c.egress("default/backend", to: .world, Proto.tcp, 443)
        #expect(!out.enforced)
        #expect(out.allowed)
        // The client is not selected: untouched in both directions.
        #expect(!c.ingress("default/client", from: .world).enforced)
    }

    @Test func egressSectionEnforcesOnlyEgress() {
        let c = Cluster(pods: basePods, policies: [cnp("eg", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEndpoints: [{matchLabels: {app: client}}]
            """)])
        #expect(c.egress("default/backend", to: .world).enforced)
        #expect(!c.allowsEgress("default/backend", to: .world))
        #expect(c.allowsEgress("default/backend", to: .endpoint("default/client")))
        #expect(!c.ingress("default/backend", from: .world).enforced)
        #expect(c.allowsIngress("default/backend", from: .world))
    }

    @Test func enforcementModeAlwaysDeniesWithoutPolicies() {
        let c = Cluster(mode: .always, pods: basePods)
        for dir in TrafficDirection.allCases {
            let v = c.verdict("default/backend", dir, .endpoint("default/client"))
            #expect(v.enforced)
            #expect(!v.allowed)
            #expect(v.dropReason == 133)
        }
        // allow-localhost still admits the host at ingress, but egress to the host is dropped.
        #expect(c.allowsIngress("default/backend", from: .host))
        #expect(!c.allowsEgress("default/backend", to: .host))
    }

    @Test func enforcementModeAlwaysStillAppliesAllows() {
        let c = Cluster(mode: .always, pods: basePods, policies: [cnp("ing", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """)])
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/client")))
        #expect(!c.allowsIngress("default/backend", from: .world))
        #expect(!c.allowsEgress("default/backend", to: .world))
    }

    @Test func enforcementModeAlwaysKeepsDefaultDenyDespiteEnableDefaultDenyFalse() {
        // Cilium's computePolicyEnforcementAndRules returns default deny in both directions for
        // `always` before looking at enableDefaultDeny: no allow-all is synthesised.
        let c = Cluster(mode: .always, pods: basePods, policies: [ccnp("lenient", """
            endpointSelector: {}
            enableDefaultDeny: {ingress: false, egress: false}
            ingressDeny:
            - fromEntities: [world]
            egressDeny:
            - toEntities: [world]
            """)])
        let i = c.ingress("default/backend", from: .endpoint("default/client"))
        #expect(i.enforced)
        #expect(!i.allowed, "always: everything not allowed is dropped")
        #expect(i.dropReason == 133)
        let e = c.egress("default/backend", to: .endpoint("default/client"))
        #expect(!e.allowed)
        #expect(c.ingress("default/backend", from: .world).dropReason == 181)
    }

    @Test func enforcementModeNeverIgnoresRules() {
        let c = Cluster(mode: .never, pods: basePods, policies: [
            cnp("deny-all", """
            endpointSelector: {}
            ingress: [{}]
            egress: [{}]
            ingressDeny:
            - fromEntities: [all]
            """),
        ])
        for dir in TrafficDirection.allCases {
            let v = c.verdict("default/backend", dir, .world)
            #expect(v.allowed)
            #expect(!v.enforced)
        }
    }

    @Test func defaultAllowEgressStillAppliesDenyRules() {
        let c = Cluster(pods: basePods, policies: [cnp("lenient", """
            endpointSelector: {matchLabels: {app: backend}}
            enableDefaultDeny: {egress: false}
            egress:
            - toEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
            egressDeny:
            - toEntities: [world]
            """)])
        let toOther = c.egress("default/backend", to: .endpoint("other/client"), Proto.tcp, 80)
        #expect(toOther.enforced)
        #expect(toOther.allowed, "default-allow: traffic nobody denies passes")
        #expect(c.allowsEgress("default/backend", to: .endpoint("default/client"), Proto.tcp, 5432))
        #expect(c.allowsEgress("default/backend", to: .endpoint("default/client"), Proto.udp, 1))
        let toWorld = c.egress("default/backend", to: .world, Proto.tcp, 443)
        #expect(!toWorld.allowed)
        #expect(toWorld.dropReason == 181)
        #expect(toWorld.policies == [cnpRef("lenient")])
        // The ingress direction has no section at all.
        #expect(!c.ingress("default/backend", from: .world).enforced)
    }

    @Test func anyRuleWithDefaultDenyWins() {
        let c = Cluster(pods: basePods, policies: [
            cnp("lenient", """
            endpointSelector: {matchLabels: {app: backend}}
            enableDefaultDeny: {egress: false}
            egressDeny:
            - toEntities: [world]
            """),
            cnp("strict", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEndpoints: [{matchLabels: {app: client}}]
            """),
        ])
        #expect(c.allowsEgress("default/backend", to: .endpoint("default/client")))
        let v = c.egress("default/backend", to: .endpoint("other/client"))
        #expect(!v.allowed)
        #expect(v.dropReason == 133)
        #expect(v.policies == [cnpRef("strict")], "only the rule with default deny put the endpoint into default deny")
        #expect(c.egress("default/backend", to: .world).dropReason == 181)
    }

    @Test func denyOnlySectionEnablesDefaultDeny() {
        let c = Cluster(pods: basePods, policies: [cnp("deny-world", """
            endpointSelector: {matchLabels: {app: backend}}
            ingressDeny:
            - fromEntities: [world]
            """)])
        let fromClient = c.ingress("default/backend", from: .endpoint("default/client"))
        #expect(fromClient.enforced)
        #expect(!fromClient.allowed)
        #expect(fromClient.dropReason == 133)
        #expect(c.ingress("default/backend", from: .world).dropReason == 181)
    }

    @Test func denyOnlySectionWithDefaultDenyOffIsDefaultAllow() {
        let c = Cluster(pods: basePods, policies: [cnp("deny-world", """
            endpointSelector: {matchLabels: {app: backend}}
            enableDefaultDeny: {ingress: false}
            ingressDeny:
            - fromEntities: [world]
            """)])
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/client")))
        #expect(c.ingress("default/backend", from: .world).dropReason == 181)
    }

    @Test func upstreamFromWorldDenyExample() {
        // examples/policies/l3/entities/from_world_deny.yaml: deny world, allow everything else.
        let c = Cluster(pods: basePods, policies: [cnp("from-world-deny", """
            endpointSelector: {}
            ingressDeny:
            - fromEntities: [world]
            ingress:
            - fromEntities: [all]
            """)])
        #expect(c.allowsIngress("default/backend", from: .endpoint("other/client")))
        #expect(c.ingress("default/backend", from: .world).dropReason == 181)
    }
}

@Suite("§2.2 empty rules, nil vs empty lists")
struct EmptyRuleTests {
    @Test func emptyIngressRuleIsSectionThatAllowsNothing() {
        let c = Cluster(pods: basePods, policies: [cnp("deny-ingress", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress: [{}]
            """)])
        for peer in [Peer.endpoint("default/client"), .endpoint("other/client"), .world] {
            let v = c.ingress("default/backend", from: peer, Proto.tcp, 80)
            #expect(v.enforced)
            #expect(!v.allowed, "\(peer)")
            #expect(v.dropReason == 133)
            #expect(v.policies == [cnpRef("deny-ingress")])
        }
        #expect(!c.egress("default/backend", to: .world).enforced)
    }

    @Test func emptyEgressRuleDeniesAllEgress() {
        // Upstream examples/policies/l3/egress-default-deny.
        let c = Cluster(pods: basePods, policies: [cnp("deny-egress", """
            endpointSelector: {matchLabels: {app: backend}}
            egress: [{}]
            """)])
        #expect(!c.allowsEgress("default/backend", to: .endpoint("default/client")))
        #expect(!c.allowsEgress("default/backend", to: .host))
        #expect(!c.allowsEgress("default/backend", to: .world, Proto.udp, 53))
        #expect(c.allowsIngress("default/backend", from: .world))
    }

    @Test func emptyIngressListIsNoSection() {
        let c = Cluster(pods: basePods, policies: [cnp("egress-only", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress: []
            egress:
            - toEntities: [world]
            """)])
        #expect(!c.ingress("default/backend", from: .world).enforced)
        #expect(c.allowsIngress("default/backend", from: .world))
        #expect(c.egress("default/backend", to: .world).enforced)
    }

    @Test func explicitEmptyToEndpointsSelectsNothing() {
        let c = Cluster(pods: basePods, policies: [cnp("nothing", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEndpoints: []
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)])
        for peer in [Peer.endpoint("default/client"), .endpoint("other/client"), .world, .host] {
            let v = c.egress("default/backend", to: peer, Proto.tcp, 80)
            #expect(v.enforced)
            #expect(!v.allowed, "\(peer)")
        }
    }

    @Test func explicitEmptyEntitiesAndCIDRsSelectNothing() {
        let c = Cluster(pods: basePods, policies: [cnp("nothing", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEntities: []
            - fromCIDR: []
            - fromCIDRSet: []
            """)])
        for peer in [Peer.endpoint("default/client"), .world, .ip("10.1.2.3")] {
            #expect(!c.allowsIngress("default/backend", from: peer, Proto.tcp, 80), "\(peer)")
        }
    }

    @Test func toPortsWithoutPeerIsWildcardIncludingWorld() {
        let c = Cluster(pods: basePods, policies: [cnp("l4", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)])
        for peer in [Peer.endpoint("default/client"), .endpoint("other/client"), .world, .remoteNode] {
            #expect(c.allowsIngress("default/backend", from: peer, Proto.tcp, 80), "\(peer)")
            #expect(!c.allowsIngress("default/backend", from: peer, Proto.tcp, 81), "\(peer)")
        }
    }

    @Test func emptyEndpointSelectorInCNPIsOwnNamespaceOnly() {
        let c = Cluster(pods: basePods + [pod("default/other-app", ["app": "x"])], policies: [cnp("own-ns", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{}]
            egress:
            - toEndpoints: [{}]
            """)])
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/client")))
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/other-app")))
        #expect(!c.allowsIngress("default/backend", from: .endpoint("other/client")))
        #expect(!c.allowsIngress("default/backend", from: .world))
        #expect(!c.allowsIngress("default/backend", from: .remoteNode))
        #expect(c.allowsEgress("default/backend", to: .endpoint("default/client")))
        #expect(!c.allowsEgress("default/backend", to: .endpoint("other/client")))
        #expect(!c.allowsEgress("default/backend", to: .world))
        #expect(!c.allowsEgress("default/backend", to: .host))
    }

    @Test func emptyEndpointSelectorInCCNPIsAllPodsButNotWorldOrHost() {
        let c = Cluster(pods: basePods, policies: [ccnp("all-pods", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{}]
            egress:
            - toEndpoints: [{}]
            """)])
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/client")))
        #expect(c.allowsIngress("default/backend", from: .endpoint("other/client")))
        #expect(!c.allowsIngress("default/backend", from: .world))
        #expect(!c.allowsIngress("default/backend", from: .remoteNode))
        #expect(c.allowsEgress("default/backend", to: .endpoint("other/client")))
        #expect(!c.allowsEgress("default/backend", to: .world))
        #expect(!c.allowsEgress("default/backend", to: .host))
        #expect(!c.allowsEgress("default/backend", to: .remoteNode))
    }

    @Test func fromEntitiesAllIsEverything() {
        let c = Cluster(pods: basePods, policies: [
            cnp("all", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEntities: [all]
            egress:
            - toEntities: [all]
            """),
            // Gives 10.0.0.0/8 a CIDR identity.
            cnp("cidr", """
            endpointSelector: {matchLabels: {app: client}}
            egress:
            - toCIDR: [10.0.0.0/8]
            """),
        ])
        for peer in [Peer.endpoint("default/client"), .endpoint("other/client"), .world, .host, .remoteNode, .ip("10.1.2.3")] {
            let i = c.ingress("default/backend", from: peer, Proto.udp, 1234)
            #expect(i.allowed, "\(peer)")
            #expect(i.enforced)
            #expect(c.allowsEgress("default/backend", to: peer, Proto.icmp, 8), "\(peer)")
        }
        #expect(c.ingress("default/backend", from: .world).matchType == .all)
    }

    @Test func l3OnlyRuleCoversAllProtocolsIncludingICMP() {
        let c = Cluster(pods: basePods, policies: [cnp("l3", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """)])
        for (proto, port) in [(Proto.tcp, UInt16(80)), (Proto.udp, 53), (Proto.sctp, 9), (Proto.icmp, 8), (Proto.icmpv6, 128)] {
            let v = c.ingress("default/backend", from: .endpoint("default/client"), proto, port)
            #expect(v.allowed, "\(proto)/\(port)")
            #expect(v.matchType == .l3Only)
        }
    }
}

@Suite("§2.1/§1.4 entities")
struct EntityTests {
    let cidrHelper = cnp("cidr", """
        endpointSelector: {matchLabels: {app: client}}
        egress:
        - toCIDR: [10.0.0.0/8]
        """)

    @Test func worldEntity() {
        let c = Cluster(pods: basePods, policies: [cidrHelper, cnp("w", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEntities: [world]
            """)])
        #expect(c.allowsEgress("default/backend", to: .world))
        #expect(c.allowsEgress("default/backend", to: .ip("8.8.8.8")))
        #expect(c.allowsEgress("default/backend", to: .ip("10.1.2.3")), "CIDR identities carry the world label")
        #expect(!c.allowsEgress("default/backend", to: .endpoint("default/client")))
        #expect(!c.allowsEgress("default/backend", to: .host))
        #expect(!c.allowsEgress("default/backend", to: .remoteNode))
    }

    @Test func hostEntity() {
        let c = Cluster(pods: basePods, policies: [cnp("h", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEntities: [host]
            """)])
        #expect(c.allowsEgress("default/backend", to: .host))
        #expect(c.egress("default/backend", to: .host).matchType == .l3Only)
        #expect(!c.allowsEgress("default/backend", to: .world))
        #expect(!c.allowsEgress("default/backend", to: .remoteNode))
        #expect(!c.allowsEgress("default/backend", to: .endpoint("default/client")))
    }

    @Test func clusterEntity() {
        let c = Cluster(pods: basePods, policies: [cidrHelper, cnp("c", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEntities: [cluster]
            """)])
        #expect(c.allowsEgress("default/backend", to: .endpoint("default/client")))
        #expect(c.allowsEgress("default/backend", to: .endpoint("other/client")))
        #expect(c.allowsEgress("default/backend", to: .host))
        #expect(c.allowsEgress("default/backend", to: .remoteNode))
        #expect(c.allowsEgress("default/backend", to: .identity(ReservedIdentity.kubeAPIServer)))
        #expect(!c.allowsEgress("default/backend", to: .world))
        #expect(!c.allowsEgress("default/backend", to: .ip("10.1.2.3")))
    }

    @Test func remoteNodeAndKubeAPIServerEntities() {
        let c = Cluster(pods: basePods, policies: [cnp("rn", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEntities: [remote-node]
            """)])
        #expect(c.allowsEgress("default/backend", to: .remoteNode))
        // kube-apiserver identity 7 carries reserved:remote-node too (§3.2).
        #expect(c.allowsEgress("default/backend", to: .identity(ReservedIdentity.kubeAPIServer)))
        #expect(!c.allowsEgress("default/backend", to: .host))
    }
}
