// Reference §2.11 (lookup order and match types), §2.5 (ports, ranges, ANY expansion, port 0),
// §1.9 (ICMP types in the port field).
import PolicyAPI
import PolicyEngine
import Testing

private let pods = [
    pod("default/backend", ["app": "backend"]),
    pod("default/client", ["app": "client"]),
    pod("default/other", ["app": "other"]),
]

private func backendIngress(_ rules: String) -> String {
    cnp("p", "endpointSelector: {matchLabels: {app: backend}}\ningress:\n" + rules)
}

@Suite("§2.11 match types as the lookup reports them")
struct MatchTypeTests {
    let client = Peer.endpoint("default/client")
    let other = Peer.endpoint("default/other")

    @Test func l3Only() {
        let c = Cluster(pods: pods, policies: [backendIngress("- fromEndpoints: [{matchLabels: {app: client}}]")])
        let v = c.ingress("default/backend", from: client, Proto.tcp, 12345)
        #expect(v.allowed)
        #expect(v.matchType == .l3Only)
        #expect(v.matchType.rawValue == 1)
        #expect(v.key?.proto == 0)
        #expect(v.key?.portPrefixLength == 0)
    }

    @Test func l3L4() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)])
        let v = c.ingress("default/backend", from: client, Proto.tcp, 80)
        #expect(v.allowed)
        #expect(v.matchType == .l3L4)
        #expect(v.matchType.rawValue == 2)
        let miss = c.ingress("default/backend", from: client, Proto.tcp, 81)
        #expect(!miss.allowed)
        #expect(miss.matchType == .none)
        #expect(miss.dropReason == 133)
        #expect(!c.allowsIngress("default/backend", from: client, Proto.udp, 80))
        #expect(!c.allowsIngress("default/backend", from: other, Proto.tcp, 80))
    }

    @Test func l4Only() {
        let c = Cluster(pods: pods, policies: [backendIngress("- toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]")])
        for peer in [client, other, Peer.world] {
            let v = c.ingress("default/backend", from: peer, Proto.tcp, 80)
            #expect(v.allowed)
            #expect(v.matchType == .l4Only)
            #expect(v.matchType.rawValue == 3)
        }
    }

    @Test func l3Proto() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "0", protocol: TCP}]}]
            """)])
        let v = c.ingress("default/backend", from: client, Proto.tcp, 4242)
        #expect(v.allowed)
        #expect(v.matchType == .l3Proto)
        #expect(v.matchType.rawValue == 5)
        #expect(!c.allowsIngress("default/backend", from: client, Proto.udp, 4242))
    }

    @Test func protoOnly() {
        let c = Cluster(pods: pods, policies: [backendIngress("- toPorts: [{ports: [{port: \"0\", protocol: UDP}]}]")])
        let v = c.ingress("default/backend", from: .world, Proto.udp, 4242)
        #expect(v.allowed)
        #expect(v.matchType == .protoOnly)
        #expect(v.matchType.rawValue == 6)
        #expect(!c.allowsIngress("default/backend", from: .world, Proto.tcp, 4242))
    }

    @Test func all() {
        let c = Cluster(pods: pods, policies: [backendIngress("- fromEntities: [all]")])
        let v = c.ingress("default/backend", from: client, Proto.udp, 1)
        #expect(v.allowed)
        #expect(v.matchType == .all)
        #expect(v.matchType.rawValue == 4)
    }

    @Test func matchTypeNames() {
        #expect(PolicyMatchType.l3Only.description == "L3-Only")
        #expect(PolicyMatchType.l3L4.description == "L3-L4")
        #expect(PolicyMatchType.l4Only.description == "L4-Only")
        #expect(PolicyMatchType.all.description == "all")
        #expect(PolicyMatchType.l3Proto.description == "L3-Proto")
        #expect(PolicyMatchType.protoOnly.description == "Proto-Only")
        #expect(PolicyMatchType.none.description == "none")
    }

    // Lookup order (§2.11): id/proto/port, ANY/proto/port, id/proto/ANY, ANY/proto/ANY, id/ANY/ANY, ANY/ANY/ANY.

    @Test func l4OnlyBeatsL3Only() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
            - toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)])
        #expect(c.ingress("default/backend", from: client, Proto.tcp, 80).matchType == .l4Only)
        #expect(c.ingress("default/backend", from: client, Proto.tcp, 81).matchType == .l3Only)
        #expect(c.ingress("default/backend", from: other, Proto.tcp, 80).matchType == .l4Only)
        #expect(!c.allowsIngress("default/backend", from: other, Proto.tcp, 81))
    }

    @Test func l4OnlyBeatsL3Proto() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "0", protocol: TCP}]}]
            - toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)])
        #expect(c.ingress("default/backend", from: client, Proto.tcp, 80).matchType == .l4Only)
        #expect(c.ingress("default/backend", from: client, Proto.tcp, 81).matchType == .l3Proto)
    }

    @Test func l3L4BeatsEverythingAndElisionOfProtoEntries() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "0", protocol: TCP}]}]
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            - toPorts: [{ports: [{port: "0", protocol: TCP}]}]
            - fromEntities: [all]
            """)])
        #expect(c.ingress("default/backend", from: client, Proto.tcp, 443).matchType == .l3L4)
        // {client, TCP, ANY} has the same effect as {ANY, TCP, ANY}: elided (§2.5), so Proto-Only.
        #expect(c.ingress("default/backend", from: client, Proto.tcp, 22).matchType == .protoOnly)
        #expect(c.ingress("default/backend", from: other, Proto.tcp, 22).matchType == .protoOnly)
        #expect(c.ingress("default/backend", from: other, Proto.udp, 22).matchType == .all)
        #expect(c.ingress("default/backend", from: client, Proto.udp, 22).matchType == .all)
    }

    @Test func l3ProtoBeatsProtoOnly() {
        // Step 3 (id/proto/ANY) comes before step 4 (ANY/proto/ANY): an L3-Proto deny wins over a
        // Proto-Only allow.
        let c = Cluster(pods: pods, policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: backend}}
            ingress:
            - toPorts: [{ports: [{port: "0", protocol: TCP}]}]
            ingressDeny:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "0", protocol: TCP}]}]
            """)])
        let v = c.ingress("default/backend", from: client, Proto.tcp, 22)
        #expect(!v.allowed)
        #expect(v.matchType == .l3Proto)
        #expect(v.dropReason == 181)
        let o = c.ingress("default/backend", from: other, Proto.tcp, 22)
        #expect(o.allowed)
        #expect(o.matchType == .protoOnly)
    }

    @Test func protoOnlyBeatsL3Only() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
            - toPorts: [{ports: [{port: "0", protocol: UDP}]}]
            """)])
        #expect(c.ingress("default/backend", from: client, Proto.udp, 53).matchType == .protoOnly)
        #expect(c.ingress("default/backend", from: client, Proto.tcp, 53).matchType == .l3Only)
    }

    @Test func l3L4EntryEqualToL4OnlyIsElided() {
        // §2.5: an L3/L4 entry with the same effect as the L4-only entry on the same port is elided,
        // so the lookup reports L4-Only.
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            - toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)])
        let v = c.ingress("default/backend", from: client, Proto.tcp, 80)
        #expect(v.allowed)
        #expect(v.matchType == .l4Only)
    }
}

@Suite("§2.5 ports: ranges, ANY, port 0, ICMP")
struct PortTests {
    let client = Peer.endpoint("default/client")

    @Test func portRangeBothEndsAndOutside() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "8000", endPort: 8010, protocol: TCP}]}]
            """)])
        for port: UInt16 in [8000, 8001, 8005, 8008, 8009, 8010] {
            let v = c.ingress("default/backend", from: client, Proto.tcp, port)
            #expect(v.allowed, "port \(port)")
            #expect(v.matchType == .l3L4, "port \(port)")
        }
        for port: UInt16 in [7999, 8011, 7168, 8016, 0, 65535] {
            #expect(!c.allowsIngress("default/backend", from: client, Proto.tcp, port), "port \(port)")
        }
        #expect(!c.allowsIngress("default/backend", from: client, Proto.udp, 8005))
    }

    @Test func unalignedL4OnlyRange() {
        let c = Cluster(pods: pods, policies: [backendIngress("- toPorts: [{ports: [{port: \"79\", endPort: 81, protocol: UDP}]}]")])
        for port: UInt16 in [79, 80, 81] {
            let v = c.ingress("default/backend", from: .world, Proto.udp, port)
            #expect(v.allowed, "port \(port)")
            #expect(v.matchType == .l4Only)
        }
        for port: UInt16 in [78, 82, 64, 95] { #expect(!c.allowsIngress("default/backend", from: .world, Proto.udp, port), "port \(port)") }
    }

    @Test func fullPortRange() {
        let c = Cluster(pods: pods, policies: [backendIngress("- toPorts: [{ports: [{port: \"1\", endPort: 65535, protocol: TCP}]}]")])
        #expect(c.allowsIngress("default/backend", from: .world, Proto.tcp, 1))
        #expect(c.allowsIngress("default/backend", from: .world, Proto.tcp, 65535))
        #expect(c.allowsIngress("default/backend", from: .world, Proto.tcp, 32768))
        #expect(!c.allowsIngress("default/backend", from: .world, Proto.tcp, 0))
    }

    @Test func portRangeBlocksAreMinimal() {
        let blocks = portRangeBlocks(8000, 8010)
        // 8000-8007 (/13), 8008-8009 (/15), 8010 (/16).
        #expect(blocks.map(\.0) == [8000, 8008, 8010])
        #expect(blocks.map(\.1) == [13, 15, 16])
        #expect(portRangeBlocks(0, 65535).count == 1)
        #expect(portRangeBlocks(5, 4).isEmpty)
    }

    @Test func protocolAnyExpandsToTCPUDPSCTPButNotICMP() {
        for proto in ["ANY", nil] {
            let protoLine = proto.map { ", protocol: \($0)" } ?? ""
            let c = Cluster(pods: pods, policies: [backendIngress("- toPorts: [{ports: [{port: \"53\"\(protoLine)}]}]")])
            for p in [Proto.tcp, Proto.udp, Proto.sctp] {
                let v = c.ingress("default/backend", from: .world, p, 53)
                #expect(v.allowed, "proto \(p)")
                #expect(v.matchType == .l4Only)
                #expect(v.key?.proto == p, "ANY is expanded, never a proto-0 key")
            }
            #expect(!c.allowsIngress("default/backend", from: .world, Proto.icmp, 53))
            #expect(!c.allowsIngress("default/backend", from: .world, Proto.icmpv6, 53))
            #expect(!c.allowsIngress("default/backend", from: .world, Proto.icmp, 8))
            #expect(!c.allowsIngress("default/backend", from: .world, Proto.tcp, 54))
        }
    }

    @Test func portZeroIsAllPortsOfTheProtocol() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "0", protocol: UDP}]}]
            """)])
        for port: UInt16 in [0, 1, 53, 65535] { #expect(c.allowsIngress("default/backend", from: client, Proto.udp, port)) }
        #expect(!c.allowsIngress("default/backend", from: client, Proto.tcp, 53))
        #expect(!c.allowsIngress("default/backend", from: client, Proto.icmp, 8))
    }

    @Test func portZeroWithAnyIsAllPortsOfTCPUDPSCTP() {
        let c = Cluster(pods: pods, policies: [backendIngress("- toPorts: [{ports: [{port: \"0\"}]}]")])
        for p in [Proto.tcp, Proto.udp, Proto.sctp] {
            let v = c.ingress("default/backend", from: .world, p, 4321)
            #expect(v.allowed)
            #expect(v.matchType == .protoOnly)
        }
        #expect(!c.allowsIngress("default/backend", from: .world, Proto.icmp, 8))
    }

    @Test func icmpTypeGoesInThePort() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              icmps:
              - fields:
                - type: 8
                  family: IPv4
                - type: EchoRequest
                  family: IPv6
            """)])
        let v = c.ingress("default/backend", from: client, Proto.icmp, 8)
        #expect(v.allowed)
        #expect(v.matchType == .l3L4)
        #expect(v.key?.proto == Proto.icmp)
        #expect(v.key?.port == 8)
        #expect(c.allowsIngress("default/backend", from: client, Proto.icmpv6, 128))
        #expect(!c.allowsIngress("default/backend", from: client, Proto.icmp, 0))
        #expect(!c.allowsIngress("default/backend", from: client, Proto.icmpv6, 8))
        #expect(!c.allowsIngress("default/backend", from: client, Proto.tcp, 8))
        #expect(!c.allowsIngress("default/backend", from: client, Proto.udp, 8))
    }

    @Test func icmpWithoutPeerIsICMPOnly() {
        let c = Cluster(pods: pods, policies: [backendIngress("- icmps: [{fields: [{type: 8}]}]")])
        let v = c.ingress("default/backend", from: .world, Proto.icmp, 8)
        #expect(v.allowed)
        #expect(v.matchType == .l4Only)
        #expect(!c.allowsIngress("default/backend", from: .world, Proto.tcp, 80))
    }

    @Test func severalToPortsEntriesAndProtocols() {
        let c = Cluster(pods: pods, policies: [backendIngress("""
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts:
              - ports: [{port: "80", protocol: TCP}, {port: "443", protocol: TCP}]
              - ports: [{port: "53", protocol: UDP}]
            """)])
        #expect(c.allowsIngress("default/backend", from: client, Proto.tcp, 80))
        #expect(c.allowsIngress("default/backend", from: client, Proto.tcp, 443))
        #expect(c.allowsIngress("default/backend", from: client, Proto.udp, 53))
        #expect(!c.allowsIngress("default/backend", from: client, Proto.udp, 80))
        #expect(!c.allowsIngress("default/backend", from: client, Proto.tcp, 53))
    }
}
