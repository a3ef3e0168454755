// Reference §2.6 (deny precedence), the upstream allow/deny table, and the §9 worked example.
import PolicyAPI
import PolicyEngine
import Testing

private let pods = [
    pod("default/server", ["app": "server"]),
    pod("default/client", ["app": "client"]),
    pod("default/client2", ["app": "client2"]),
]

@Suite("§2.6 deny precedence")
struct DenyTests {
    let client = Peer.endpoint("default/client")
    let client2 = Peer.endpoint("default/client2")

    /// The allow and deny policies of the upstream table (Documentation/security/policy/language.rst,
    /// "Deny Policies"), each as its own policy so they can be combined.
    static let allowHTTP = cnp("allow-http", """
        endpointSelector: {matchLabels: {app: server}}
        ingress:
        - toPorts:
          - ports: [{port: "80", protocol: TCP}]
            rules:
              http: [{method: GET, path: "/"}]
        """)
    static let allowL4_80 = cnp("allow-l4-80", """
        endpointSelector: {matchLabels: {app: server}}
        ingress:
        - toPorts: [{ports: [{port: "80", protocol: TCP}]}]
        """)
    static let allowL4_81 = cnp("allow-l4-81", """
        endpointSelector: {matchLabels: {app: server}}
        ingress:
        - toPorts: [{ports: [{port: "81", protocol: TCP}]}]
        """)
    static let allowL3 = cnp("allow-l3-client", """
        endpointSelector: {matchLabels: {app: server}}
        ingress:
        - fromEndpoints: [{matchLabels: {app: client}}]
        """)
    static let denyL4_80 = cnp("deny-l4-80", """
        endpointSelector: {matchLabels: {app: server}}
        ingressDeny:
        - toPorts: [{ports: [{port: "80", protocol: TCP}]}]
        """)
    static let denyL3 = cnp("deny-l3-client", """
        endpointSelector: {matchLabels: {app: server}}
        ingressDeny:
        - fromEndpoints: [{matchLabels: {app: client}}]
        """)

    struct TableColumn: CustomTestStringConvertible, Sendable {
        var name: String
        var allows: [String]
        var denies: [String]
        var curl81: Bool
        var curl80: Bool
        var ping: Bool
        var testDescription: String { name }
    }

    static let columns: [TableColumn] = [
        TableColumn(name: "all allows, no deny", allows: [allowHTTP, allowL4_80, allowL4_81, allowL3], denies: [],
                    curl81: true, curl80: true, ping: true),
        TableColumn(name: "all allows, deny L4 80", allows: [allowHTTP, allowL4_80, allowL4_81, allowL3], denies: [denyL4_80],
                    curl81: true, curl80: false, ping: true),
        TableColumn(name: "all allows, deny L4 80 + L3 client", allows: [allowHTTP, allowL4_80, allowL4_81, allowL3],
                    denies: [denyL4_80, denyL3], curl81: false, curl80: false, ping: false),
        TableColumn(name: "all allows, deny L3 client", allows: [allowHTTP, allowL4_80, allowL4_81, allowL3], denies: [denyL3],
                    curl81: false, curl80: false, ping: false),
        TableColumn(name: "no allows, both denies", allows: [], denies: [denyL4_80, denyL3],
                    curl81: false, curl80: false, ping: false),
        // Variants that isolate the L3 allow against the L4 deny (the reference's example).
        TableColumn(name: "L3 allow, deny L4 80", allows: [allowL3], denies: [denyL4_80],
                    curl81: true, curl80: false, ping: true),
        TableColumn(name: "L4 80/81 allows, deny L3 client", allows: [allowL4_80, allowL4_81], denies: [denyL3],
                    curl81: false, curl80: false, ping: false),
    ]

    @Test(arguments: columns)
    func upstreamTable(_ col: TableColumn) {
        for order in [col.allows + col.denies, col.denies + col.allows] {
            let c = Cluster(pods: pods, policies: order)
            let v81 = c.ingress("default/server", from: client, Proto.tcp, 81)
            let v80 = c.ingress("default/server", from: client, Proto.tcp, 80)
            let ping = c.ingress("default/server", from: client, Proto.icmp, 8)
            #expect(v81.allowed == col.curl81, "curl server:81")
            #expect(v80.allowed == col.curl80, "curl server:80")
            #expect(ping.allowed == col.ping, "ping server")
            // A drop where a deny rule matches must carry the denylist reason.
            if !col.curl80 && !col.denies.isEmpty { #expect(v80.dropReason == 181, "curl server:80 reason") }
            if !col.curl81 && col.denies.contains(Self.denyL3) { #expect(v81.dropReason == 181, "curl server:81 reason") }
            // The deny rules target the client only (L3) or port 80 (L4): client2 on 81 is untouched.
            let c2 = c.ingress("default/server", from: client2, Proto.tcp, 81)
            #expect(c2.allowed == col.allows.contains(Self.allowL4_81), "client2 curl server:81")
        }
    }

    @Test func l4DenyOverridesHTTPRedirect() {
        let c = Cluster(pods: pods, policies: [Self.allowHTTP, Self.denyL4_80])
        let v = c.ingress("default/server", from: client, Proto.tcp, 80)
        #expect(!v.allowed)
        #expect(v.redirect == nil)
        #expect(v.dropReason == 181)
        #expect(v.policies == [cnpRef("deny-l4-80")])
    }

    @Test func workedExampleSection9() {
        let pods9 = [pod("default/backend", ["app": "backend"]), pod("default/frontend", ["app": "frontend"])]
        let c = Cluster(pods: pods9, policies: [cnp("allow-frontend", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: frontend}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)])
        let frontend = Peer.endpoint("default/frontend")
        let ok = c.ingress("default/backend", from: frontend, Proto.tcp, 80)
        #expect(ok.allowed)
        #expect(ok.matchType == .l3L4)
        #expect(ok.policies == [cnpRef("allow-frontend")])
        let no = c.ingress("default/backend", from: frontend, Proto.tcp, 81)
        #expect(!no.allowed)
        #expect(no.matchType == .none)
        #expect(no.dropReason == 133)
        #expect(no.policies == [cnpRef("allow-frontend")])
        #expect(c.allowsEgress("default/backend", to: .world), "egress untouched")
        // The map: {frontend, TCP, 80} allow and {host, ANY, ANY} allow, nothing else.
        let table = c.engine.subjectPolicy(ofEndpoint: "default/backend")!.ingress.table
        let keys = Set(table.allEntries.map(\.key))
        let fid = c.identity(frontend)
        #expect(keys == [PolicyKey(identity: fid, proto: 6, port: 80, portPrefixLength: 16), PolicyKey(identity: ReservedIdentity.host, proto: 0)])

        c.add(ccnp("deny-frontend", """
            endpointSelector: {matchLabels: {app: backend}}
            ingressDeny:
            - fromEndpoints: [{matchLabels: {app: frontend}}]
            """))
        let denied = c.ingress("default/backend", from: frontend, Proto.tcp, 80)
        #expect(!denied.allowed)
        #expect(denied.dropReason == 181)
        #expect(denied.policies == [ccnpRef("deny-frontend")])
        #expect(denied.matchType == .l3Only, "§9: the L3-only deny key replaces the shadowed {frontend, TCP, 80} allow")
        let keysAfter = Set(c.engine.subjectPolicy(ofEndpoint: "default/backend")!.ingress.table.allEntries.map(\.key))
        #expect(!keysAfter.contains(PolicyKey(identity: fid, proto: 6, port: 80, portPrefixLength: 16)),
                "the allow key of the same identity is deleted, not turned into a deny")
        #expect(keysAfter.contains(PolicyKey(identity: fid, proto: 0)))
        #expect(c.ingress("default/backend", from: frontend, Proto.tcp, 81).dropReason == 181)
    }

    // How deny keys are materialised (§2.6 "dropping allow keys that are fully shadowed", §9):
    // an allow key whose traffic a deny key fully covers (same or ANY identity, same or broader
    // protocol/port) is deleted, so the lookup finds the deny key itself; a deny copy at the
    // allow's port is only needed when an ANY-identity allow on a narrower port would otherwise win.

    @Test func l4DenyDeletesShadowedL3L4Allow() {
        let c = Cluster(pods: pods, policies: [
            cnp("allow", """
            endpointSelector: {matchLabels: {app: server}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """),
            Self.denyL4_80,
        ])
        let v = c.ingress("default/server", from: client, Proto.tcp, 80)
        #expect(!v.allowed)
        #expect(v.dropReason == 181)
        #expect(v.policies == [cnpRef("deny-l4-80")])
        #expect(v.matchType == .l4Only, "{client, TCP, 80} is shadowed by {ANY, TCP, 80} deny and deleted")
        let keys = Set(c.engine.subjectPolicy(ofEndpoint: "default/server")!.ingress.table.allEntries.map(\.key))
        #expect(!keys.contains(PolicyKey(identity: c.identity(client), proto: 6, port: 80, portPrefixLength: 16)))
    }

    @Test func l4DenyNextToL3AllowNeedsNoExtraKey() {
        // Lookup step 2 (ANY/TCP/80) comes before step 5 (client/ANY/ANY): the L4-only deny decides.
        let c = Cluster(pods: pods, policies: [Self.allowL3, Self.denyL4_80])
        let v = c.ingress("default/server", from: client, Proto.tcp, 80)
        #expect(!v.allowed)
        #expect(v.dropReason == 181)
        #expect(v.matchType == .l4Only)
        let ok = c.ingress("default/server", from: client, Proto.tcp, 81)
        #expect(ok.allowed)
        #expect(ok.matchType == .l3Only)
    }

    @Test func l3DenyOverL4OnlyAllowGetsADenyCopy() {
        // Here a copy is needed: {ANY, TCP, 80} allow would beat {client, ANY, ANY} deny.
        let c = Cluster(pods: pods, policies: [Self.allowL4_80, Self.denyL3])
        let v = c.ingress("default/server", from: client, Proto.tcp, 80)
        #expect(!v.allowed)
        #expect(v.dropReason == 181)
        #expect(v.matchType == .l3L4)
        #expect(v.policies == [cnpRef("deny-l3-client")])
        #expect(c.ingress("default/server", from: client, Proto.udp, 53).matchType == .l3Only)
        let other = c.ingress("default/server", from: client2, Proto.tcp, 80)
        #expect(other.allowed)
        #expect(other.matchType == .l4Only)
    }

    @Test func denyFromCNPBeatsAllowFromCCNP() {
        let c = Cluster(pods: pods, policies: [
            ccnp("allow-all-pods", """
            endpointSelector: {matchLabels: {app: server}}
            ingress:
            - fromEndpoints: [{}]
            """),
            cnp("deny-client", """
            endpointSelector: {matchLabels: {app: server}}
            ingressDeny:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """),
        ])
        let v = c.ingress("default/server", from: client, Proto.tcp, 80)
        #expect(!v.allowed)
        #expect(v.dropReason == 181)
        #expect(v.policies == [cnpRef("deny-client")])
        let ok = c.ingress("default/server", from: client2, Proto.tcp, 80)
        #expect(ok.allowed)
        #expect(ok.policies == [ccnpRef("allow-all-pods")])
    }

    @Test func denyFromCCNPBeatsAllowFromCNP() {
        let c = Cluster(pods: pods, policies: [
            cnp("allow-client", """
            endpointSelector: {matchLabels: {app: server}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """),
            ccnp("deny-443", """
            endpointSelector: {}
            ingressDeny:
            - toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """),
        ])
        let v = c.ingress("default/server", from: client, Proto.tcp, 443)
        #expect(!v.allowed)
        #expect(v.dropReason == 181)
        #expect(v.policies == [ccnpRef("deny-443")])
    }

    @Test func denyFromCNPBeatsAllowFromKubernetesNetworkPolicy() {
        let c = Cluster(pods: pods, policies: [
            knp("allow-all", """
            podSelector: {}
            ingress: [{}]
            """),
            cnp("deny-client", """
            endpointSelector: {matchLabels: {app: server}}
            ingressDeny:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """),
        ])
        #expect(c.ingress("default/server", from: client, Proto.tcp, 80).dropReason == 181)
        #expect(c.allowsIngress("default/server", from: client2, Proto.tcp, 80))
        #expect(c.allowsIngress("default/server", from: .world, Proto.tcp, 80))
    }

    @Test func denyRangeCoversAllowedPortInside() {
        let c = Cluster(pods: pods, policies: [
            cnp("allow", """
            endpointSelector: {matchLabels: {app: server}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "8005", protocol: TCP}, {port: "9000", protocol: TCP}]}]
            """),
            cnp("deny", """
            endpointSelector: {matchLabels: {app: server}}
            ingressDeny:
            - toPorts: [{ports: [{port: "8000", endPort: 8010, protocol: TCP}]}]
            """),
        ])
        #expect(c.ingress("default/server", from: client, Proto.tcp, 8005).dropReason == 181)
        #expect(c.allowsIngress("default/server", from: client, Proto.tcp, 9000))
    }

    @Test func narrowDenyInsideWideAllow() {
        let c = Cluster(pods: pods, policies: [
            cnp("allow", """
            endpointSelector: {matchLabels: {app: server}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "8000", endPort: 8010, protocol: TCP}]}]
            """),
            cnp("deny", """
            endpointSelector: {matchLabels: {app: server}}
            ingressDeny:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "8004", protocol: TCP}]}]
            """),
        ])
        #expect(c.allowsIngress("default/server", from: client, Proto.tcp, 8003))
        #expect(c.ingress("default/server", from: client, Proto.tcp, 8004).dropReason == 181)
        #expect(c.allowsIngress("default/server", from: client, Proto.tcp, 8005))
        #expect(c.allowsIngress("default/server", from: client, Proto.tcp, 8010))
    }

    @Test func wildcardDenyBeatsSpecificAllow() {
        let c = Cluster(pods: pods, policies: [
            cnp("allow", """
            endpointSelector: {matchLabels: {app: server}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """),
            cnp("deny-all", """
            endpointSelector: {matchLabels: {app: server}}
            ingressDeny:
            - fromEntities: [all]
            """),
        ])
        let v = c.ingress("default/server", from: client, Proto.tcp, 80)
        #expect(!v.allowed)
        #expect(v.dropReason == 181)
    }

    @Test func protocolDenyBeatsL3Allow() {
        let c = Cluster(pods: pods, policies: [
            cnp("allow", """
            endpointSelector: {matchLabels: {app: server}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: client}}]
            """),
            cnp("deny-udp", """
            endpointSelector: {matchLabels: {app: server}}
            ingressDeny:
            - toPorts: [{ports: [{port: "0", protocol: UDP}]}]
            """),
        ])
        #expect(c.ingress("default/server", from: client, Proto.udp, 53).dropReason == 181)
        #expect(c.allowsIngress("default/server", from: client, Proto.tcp, 53))
        #expect(c.allowsIngress("default/server", from: client, Proto.icmp, 8))
    }

    @Test func egressDenyToEntity() {
        let c = Cluster(pods: pods, policies: [cnp("eg", """
            endpointSelector: {matchLabels: {app: client}}
            egress:
            - toEntities: [all]
            egressDeny:
            - toEntities: [world]
              toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """)])
        #expect(c.egress("default/client", to: .world, Proto.tcp, 443).dropReason == 181)
        #expect(c.allowsEgress("default/client", to: .world, Proto.tcp, 80))
        #expect(c.allowsEgress("default/client", to: .endpoint("default/server"), Proto.tcp, 443))
    }
}
