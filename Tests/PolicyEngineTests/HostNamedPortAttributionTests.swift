// Reference §2.10 (allow-localhost), §2.5 named ports, §2.3 selector scoping, and which policies a
// verdict is attributed to.
import PolicyAPI
import PolicyEngine
import Testing

private let pods = [
    pod("default/backend", ["app": "backend"]),
    pod("default/client", ["app": "client"]),
    pod("other/client", ["app": "client"]),
]

@Suite("§2.10 host and allow-localhost")
struct HostTests {
    @Test func hostAlwaysAllowedAtIngressWhenEnforced() {
        let c = Cluster(pods: pods, policies: [cnp("deny-all", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress: [{}]
            """)])
        for (proto, port) in [(Proto.tcp, UInt16(8080)), (Proto.udp, 53), (Proto.icmp, 8)] {
            let v = c.ingress("default/backend", from: .host, proto, port)
            #expect(v.allowed)
            #expect(v.enforced)
            #expect(v.matchType == .l3Only)
            #expect(v.policies.isEmpty)
            #expect(v.entry?.builtIn == "allow-localhost-ingress")
        }
        #expect(!c.allowsIngress("default/backend", from: .remoteNode))
    }

    @Test func hostNotImplicitlyAllowedAtEgress() {
        let c = Cluster(pods: pods, policies: [cnp("eg", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEndpoints: [{matchLabels: {app: client}}]
            """)])
        #expect(!c.allowsEgress("default/backend", to: .host))
        #expect(!c.allowsEgress("default/backend", to: .remoteNode))
        #expect(!c.allowsEgress("default/backend", to: .identity(ReservedIdentity.kubeAPIServer)))
    }

    @Test func unenforcedDirectionHasAllowAnyEntry() {
        let c = Cluster(pods: pods)
        let v = c.ingress("default/backend", from: .host)
        #expect(v.entry?.builtIn == "allow-any-ingress")
        #expect(c.egress("default/backend", to: .world).entry?.builtIn == "allow-any-egress")
    }
}

@Suite("§2.3/§2.4 selector scoping")
struct SelectorScopeTests {
    @Test func cnpSubjectIsOwnNamespaceOnly() {
        let c = Cluster(pods: pods, policies: [cnp("p", ns: "other", """
            endpointSelector: {matchLabels: {app: client}}
            ingress: [{}]
            """)])
        #expect(!c.allowsIngress("other/client", from: .world))
        #expect(c.allowsIngress("default/client", from: .world))
    }

    @Test func cnpSubjectNamespaceCannotBeOverridden() {
        let c = Cluster(pods: pods, policies: [cnp("p", ns: "default", """
            endpointSelector: {matchLabels: {app: client, "k8s:io.kubernetes.pod.namespace": other}}
            ingress: [{}]
            """)])
        #expect(!c.allowsIngress("default/client", from: .world))
        #expect(c.allowsIngress("other/client", from: .world))
    }

    @Test func ccnpSubjectSpansNamespaces() {
        let c = Cluster(pods: pods, policies: [ccnp("p", """
            endpointSelector: {matchLabels: {app: client}}
            ingress: [{}]
            """)])
        #expect(!c.allowsIngress("other/client", from: .world))
        #expect(!c.allowsIngress("default/client", from: .world))
        #expect(c.allowsIngress("default/backend", from: .world))
    }

    @Test func cnpPeerInOtherNamespaceByNamespaceLabel() {
        let c = Cluster(pods: pods, policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints:
              - matchLabels: {"k8s:io.kubernetes.pod.namespace": other, app: client}
            """)])
        #expect(c.allowsIngress("default/backend", from: .endpoint("other/client")))
        #expect(!c.allowsIngress("default/backend", from: .endpoint("default/client")))
    }

    @Test func cnpPeerWithNamespaceLabelSelectorIsNotPinned() {
        let c = Cluster(namespaces: ["default": [:], "other": ["env": "prod"]], pods: pods, policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints:
              - matchLabels: {"k8s:io.cilium.k8s.namespace.labels.env": prod}
            """)])
        #expect(c.allowsIngress("default/backend", from: .endpoint("other/client")))
        #expect(!c.allowsIngress("default/backend", from: .endpoint("default/client")))
    }

    @Test func reservedSelectorIsNotScoped() {
        let c = Cluster(pods: pods, policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEndpoints:
              - matchLabels: {"reserved:host": ""}
            """)])
        #expect(c.allowsEgress("default/backend", to: .host))
        #expect(!c.allowsEgress("default/backend", to: .world))
    }

    @Test func matchExpressions() {
        let c = Cluster(pods: pods + [pod("default/nolabel", [:])], policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints:
              - matchExpressions:
                - {key: app, operator: NotIn, values: [client]}
            """)])
        #expect(!c.allowsIngress("default/backend", from: .endpoint("default/client")))
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/nolabel")), "NotIn holds when the key is absent")
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/backend")))
        #expect(!c.allowsIngress("default/backend", from: .world), "still namespace-scoped")
    }

    @Test func sourcePrefixedSelectorKeys() {
        let c = Cluster(pods: pods, policies: [cnp("p", """
            endpointSelector: {matchLabels: {"k8s:app": backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {"k8s:app": client}}]
            - fromEndpoints: [{matchLabels: {"container:app": client}}]
            """)])
        #expect(c.ingress("default/backend", from: .world).enforced)
        #expect(c.allowsIngress("default/backend", from: .endpoint("default/client")))
    }
}

@Suite("§2.5 named ports")
struct NamedPortTests {
    static let backends = [
        pod("default/backend-1", ["app": "backend"], namedPorts: [NamedPort(name: "http", proto: Proto.tcp, port: 8080)]),
        pod("default/backend-2", ["app": "backend"], namedPorts: [NamedPort(name: "http", proto: Proto.tcp, port: 9090)]),
        pod("default/client", ["app": "client"]),
    ]

    @Test func ingressNamedPortIsTheSubjectsOwnPort() {
        let c = Cluster(pods: Self.backends, policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: http, protocol: TCP}]}]
            """)])
        let client = Peer.endpoint("default/client")
        #expect(c.allowsIngress("default/backend-1", from: client, Proto.tcp, 8080))
        #expect(!c.allowsIngress("default/backend-1", from: client, Proto.tcp, 9090))
        #expect(c.allowsIngress("default/backend-2", from: client, Proto.tcp, 9090))
        #expect(!c.allowsIngress("default/backend-2", from: client, Proto.tcp, 8080))
        #expect(c.ingress("default/backend-1", from: client, Proto.tcp, 8080).matchType == .l3L4)
        #expect(!c.allowsIngress("default/backend-1", from: client, Proto.udp, 8080))
    }

    @Test func unresolvableNamedPortYieldsNoEntry() {
        let c = Cluster(pods: Self.backends, policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: client}}
            ingress:
            - toPorts: [{ports: [{port: http, protocol: TCP}]}]
            """)])
        for port: UInt16 in [8080, 9090, 80] { #expect(!c.allowsIngress("default/client", from: .world, Proto.tcp, port)) }
        #expect(c.ingress("default/client", from: .world).enforced)
    }

    @Test func egressNamedPortIsClusterWide() {
        let c = Cluster(pods: Self.backends, policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: client}}
            egress:
            - toEndpoints: [{matchLabels: {app: backend}}]
              toPorts: [{ports: [{port: http, protocol: TCP}]}]
            """)])
        #expect(c.allowsEgress("default/client", to: .endpoint("default/backend-1"), Proto.tcp, 8080))
        #expect(c.allowsEgress("default/client", to: .endpoint("default/backend-2"), Proto.tcp, 9090))
        #expect(!c.allowsEgress("default/client", to: .endpoint("default/backend-1"), Proto.tcp, 80))
        // Removing the only pod naming 9090 "http" removes the port from the client's egress map.
        c.engine.removeEndpoint(namespace: "default", name: "backend-2")
        #expect(!c.allowsEgress("default/client", to: .endpoint("default/backend-1"), Proto.tcp, 9090))
        #expect(c.allowsEgress("default/client", to: .endpoint("default/backend-1"), Proto.tcp, 8080))
        // Adding a pod with a new number for "http" adds it.
        c.engine.upsertEndpoint(pod("other/web", ["app": "web"], namedPorts: [NamedPort(name: "http", proto: Proto.tcp, port: 7070)]))
        #expect(c.allowsEgress("default/client", to: .endpoint("default/backend-1"), Proto.tcp, 7070))
    }
}

@Suite("attribution of verdicts to policies")
struct AttributionTests {
    @Test func defaultDenyDropListsPoliciesThatEnabledDefaultDeny() {
        let c = Cluster(pods: pods, policies: [
            cnp("a", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """),
            cnp("b", """
            endpointSelector: {}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """),
            cnp("lenient", """
            endpointSelector: {matchLabels: {app: backend}}
            enableDefaultDeny: {ingress: false}
            ingressDeny:
            - fromEntities: [world]
              toPorts: [{ports: [{port: "22", protocol: TCP}]}]
            """),
            cnp("egress-only", """
            endpointSelector: {matchLabels: {app: backend}}
            egress:
            - toEntities: [world]
            """),
        ])
        let v = c.ingress("default/backend", from: .endpoint("default/client"), Proto.tcp, 8080)
        #expect(!v.allowed)
        #expect(v.dropReason == 133)
        #expect(v.key == nil)
        #expect(v.policies == [cnpRef("a"), cnpRef("b")])
        let e = c.egress("default/backend", to: .endpoint("default/client"))
        #expect(e.policies == [cnpRef("egress-only")])
    }

    @Test func allowListsTheMatchedEntrysPolicies() {
        let c = Cluster(pods: pods, policies: [
            cnp("l3", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """),
            cnp("l4-a", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """),
            cnp("l4-b", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """),
        ])
        let client = Peer.endpoint("default/client")
        let v80 = c.ingress("default/backend", from: client, Proto.tcp, 80)
        #expect(v80.allowed)
        #expect(v80.matchType == .l3L4)
        #expect(v80.policies == [cnpRef("l4-a"), cnpRef("l4-b")])
        let v81 = c.ingress("default/backend", from: client, Proto.tcp, 81)
        #expect(v81.matchType == .l3Only)
        #expect(v81.policies == [cnpRef("l3")])
    }

    @Test func denyListsTheDenyingPolicies() {
        let c = Cluster(pods: pods, policies: [
            cnp("allow", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEntities: [all]
            """),
            cnp("deny-1", """
            endpointSelector: {matchLabels: {app: backend}}
            ingressDeny:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """),
            ccnp("deny-2", """
            endpointSelector: {matchLabels: {app: backend}}
            ingressDeny:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """),
        ])
        let v = c.ingress("default/backend", from: .endpoint("default/client"))
        #expect(v.dropReason == 181)
        #expect(Set(v.policies) == [cnpRef("deny-1"), ccnpRef("deny-2")])
        #expect(v.entry?.deny == true)
    }
}
