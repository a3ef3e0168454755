// Reference §1.5/§3.2 (CIDR peers and identities), §2.7 (DNS redirect), §2.8 (toFQDNs).
import PolicyAPI
import PolicyEngine
import Testing

private let pods = [
    pod("default/app", ["app": "app"], ips: ["10.244.0.10"]),
    pod("default/other", ["app": "other"], ips: ["10.244.0.11"]),
    pod("kube-system/coredns", ["k8s-app": "kube-dns"], ips: ["10.244.0.2"]),
]

@Suite("CIDR peers")
struct CIDRTests {
    @Test func toCIDRAllowsAddressesInside() {
        let c = Cluster(pods: pods, policies: [cnp("cidr", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDR: [192.168.0.0/16]
              toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """)])
        let inside = c.engine.identity(forIP: IPAddress("192.168.3.4")!)
        #expect(inside != ReservedIdentity.world)
        #expect(ReservedIdentity.isLocal(inside), "CIDR identities are node-local (§3.1)")
        #expect(inside == c.engine.identity(forPrefix: IPPrefix("192.168.0.0/16", allowBareIP: false)!))
        #expect(c.engine.labels(of: inside)?.contains(source: "reserved", key: "world") == true)
        #expect(c.allowsEgress("default/app", to: .ip("192.168.3.4"), Proto.tcp, 443))
        #expect(!c.allowsEgress("default/app", to: .ip("192.168.3.4"), Proto.tcp, 80))
        #expect(c.engine.identity(forIP: IPAddress("172.16.0.1")!) == ReservedIdentity.world)
        #expect(!c.allowsEgress("default/app", to: .ip("172.16.0.1"), Proto.tcp, 443))
        #expect(!c.allowsEgress("default/app", to: .world, Proto.tcp, 443))
    }

    @Test func podIPsKeepTheirEndpointIdentity() {
        let c = Cluster(pods: pods, policies: [cnp("cidr", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDR: [10.0.0.0/8]
            """)])
        #expect(c.engine.identity(forIP: IPAddress("10.244.0.11")!) == c.identity(.endpoint("default/other")))
        #expect(!c.allowsEgress("default/app", to: .ip("10.244.0.11")), "a CIDR rule does not select in-cluster pods")
        #expect(c.allowsEgress("default/app", to: .ip("10.1.2.3")))
    }

    @Test func identityForIPIsLongestPolicyPrefix() {
        let c = Cluster(pods: pods, policies: [
            cnp("wide", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDR: [10.0.0.0/8]
            """),
            cnp("narrow", """
            endpointSelector: {matchLabels: {app: other}}
            egress:
            - toCIDR: [10.1.0.0/16]
            """),
        ])
        let wide = c.engine.identity(forPrefix: IPPrefix("10.0.0.0/8", allowBareIP: false)!)
        let narrow = c.engine.identity(forPrefix: IPPrefix("10.1.0.0/16", allowBareIP: false)!)
        #expect(wide != narrow)
        #expect(c.engine.identity(forIP: IPAddress("10.1.2.3")!) == narrow)
        #expect(c.engine.identity(forIP: IPAddress("10.2.2.3")!) == wide)
        // The /8 rule also selects the /16 identity (prefix containment), the /16 rule not the /8 one.
        #expect(c.allowsEgress("default/app", to: .ip("10.1.2.3")))
        #expect(c.allowsEgress("default/app", to: .ip("10.2.2.3")))
        #expect(c.allowsEgress("default/other", to: .ip("10.1.2.3")))
        #expect(!c.allowsEgress("default/other", to: .ip("10.2.2.3")))
    }

    @Test func cidrSetExceptIsDenied() {
        let c = Cluster(pods: pods, policies: [cnp("cidrset", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDRSet:
              - cidr: 10.0.0.0/8
                except: [10.96.0.0/12]
            """)])
        let exceptID = c.engine.identity(forIP: IPAddress("10.96.0.1")!)
        #expect(exceptID == c.engine.identity(forPrefix: IPPrefix("10.96.0.0/12", allowBareIP: false)!))
        #expect(exceptID != c.engine.identity(forIP: IPAddress("10.1.0.1")!))
        #expect(c.allowsEgress("default/app", to: .ip("10.1.0.1")))
        #expect(c.allowsEgress("default/app", to: .ip("10.95.255.255")))
        #expect(c.allowsEgress("default/app", to: .ip("10.112.0.0")))
        #expect(!c.allowsEgress("default/app", to: .ip("10.96.0.1")))
        #expect(!c.allowsEgress("default/app", to: .ip("10.111.255.255")))
        #expect(!c.allowsEgress("default/app", to: .ip("11.0.0.1")))
    }

    @Test func worldCIDRWithExcept() {
        let c = Cluster(pods: pods, policies: [cnp("internet", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDRSet:
              - cidr: 0.0.0.0/0
                except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
            """)])
        #expect(c.allowsEgress("default/app", to: .world))
        #expect(c.allowsEgress("default/app", to: .ip("8.8.8.8")))
        #expect(!c.allowsEgress("default/app", to: .ip("10.1.2.3")))
        #expect(!c.allowsEgress("default/app", to: .ip("192.168.1.1")))
        #expect(!c.allowsEgress("default/app", to: .endpoint("default/other")))
    }

    @Test func exceptAddressDeniedEvenWhenAnotherPolicyGivesItAnIdentityFirst() {
        // The except prefix is known to the ipcache before the cidrSet rule arrives.
        let c = Cluster(pods: pods, policies: [
            cnp("narrow", """
            endpointSelector: {matchLabels: {app: other}}
            egress:
            - toCIDR: [10.96.0.0/12]
            """),
            cnp("cidrset", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDRSet:
              - cidr: 10.0.0.0/8
                except: [10.96.0.0/12]
            """),
        ])
        #expect(!c.allowsEgress("default/app", to: .ip("10.96.0.1")))
        #expect(c.allowsEgress("default/other", to: .ip("10.96.0.1")))
        #expect(c.allowsEgress("default/app", to: .ip("10.1.0.1")))
    }

    @Test func fromCIDRAtIngress() {
        let c = Cluster(pods: pods, policies: [cnp("from-cidr", """
            endpointSelector: {matchLabels: {app: app}}
            ingress:
            - fromCIDR: [203.0.113.0/24]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """)])
        let v = c.ingress("default/app", from: .ip("203.0.113.7"), Proto.tcp, 80)
        #expect(v.allowed)
        #expect(v.matchType == .l3L4)
        #expect(!c.allowsIngress("default/app", from: .ip("203.0.114.7"), Proto.tcp, 80))
        #expect(!c.allowsIngress("default/app", from: .world, Proto.tcp, 80))
    }

    @Test func cidrDenyBeatsWorldAllow() {
        let c = Cluster(pods: pods, policies: [cnp("p", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toEntities: [world]
            egressDeny:
            - toCIDR: [198.51.100.0/24]
            """)])
        #expect(c.allowsEgress("default/app", to: .ip("8.8.8.8")))
        #expect(c.egress("default/app", to: .ip("198.51.100.1")).dropReason == 181)
    }

    @Test func cidrIdentityGoesAwayWithItsPolicy() {
        let c = Cluster(pods: pods, policies: [cnp("cidr", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDR: [192.168.0.0/16]
            """)])
        #expect(c.engine.identity(forIP: IPAddress("192.168.1.1")!) != ReservedIdentity.world)
        c.engine.removePolicy(cnpRef("cidr"))
        #expect(c.engine.identity(forIP: IPAddress("192.168.1.1")!) == ReservedIdentity.world)
        #expect(c.engine.cidrPrefixes.isEmpty)
    }

    @Test func sharedCIDRSelectorIsReleasedWithItsLastUser() {
        // Two rules (here two policies) with the same CIDR selector: once both are gone, the prefix
        // identities must be gone from the ipcache too.
        let rule = """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDRSet:
              - cidr: 10.0.0.0/8
                except: [10.96.0.0/12]
            """
        let c = Cluster(pods: pods, policies: [cnp("one", rule), cnp("two", rule)])
        #expect(c.engine.cidrPrefixes.count == 2)
        c.engine.removePolicy(cnpRef("one"))
        #expect(c.engine.cidrPrefixes.count == 2)
        #expect(!c.allowsEgress("default/app", to: .ip("10.96.0.1")))
        c.engine.removePolicy(cnpRef("two"))
        #expect(c.engine.cidrPrefixes.isEmpty, "no policy names these prefixes any more")
        #expect(c.engine.identity(forIP: IPAddress("10.96.0.1")!) == ReservedIdentity.world)
        #expect(c.engine.identity(forIP: IPAddress("10.1.0.1")!) == ReservedIdentity.world)
        let fresh = Cluster(pods: pods)
        #expect(c.engine.stats.identities == fresh.engine.stats.identities, "no CIDR identity is left behind")
    }

    @Test func sameCIDRTwiceInOnePolicyIsReleasedWithThePolicy() {
        let c = Cluster(pods: pods, policies: [cnp("twice", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toCIDR: [192.168.0.0/16]
              toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            - toCIDR: [192.168.0.0/16]
              toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """)])
        c.engine.removePolicy(cnpRef("twice"))
        #expect(c.engine.cidrPrefixes.isEmpty)
        #expect(c.engine.identity(forIP: IPAddress("192.168.1.1")!) == ReservedIdentity.world)
    }
}

@Suite("§2.7 DNS redirect and §2.8 toFQDNs")
struct DNSTests {
    static let dnsPolicy = cnp("dns", """
        endpointSelector: {matchLabels: {app: app}}
        egress:
        - toEndpoints:
          - matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}
          toPorts:
          - ports: [{port: "53", protocol: ANY}]
            rules:
              dns: [{matchPattern: "*"}]
        """)

    @Test func dnsRuleRedirectsToDNSProxy() {
        let c = Cluster(pods: pods, policies: [Self.dnsPolicy])
        let dns = Peer.endpoint("kube-system/coredns")
        for p in [Proto.udp, Proto.tcp, Proto.sctp] {
            let v = c.egress("default/app", to: dns, p, 53)
            #expect(v.allowed, "proto \(p)")
            #expect(v.redirect == .dns)
            #expect(v.matchType == .l3L4)
            #expect(v.policies == [cnpRef("dns")])
            #expect(v.entry?.l7Rules.first?.dns == [FQDNSelector(matchPattern: "*")])
        }
    }

    @Test func onlyDNSRulesBlockOtherEgress() {
        let c = Cluster(pods: pods, policies: [Self.dnsPolicy])
        #expect(!c.allowsEgress("default/app", to: .endpoint("kube-system/coredns"), Proto.tcp, 80))
        #expect(!c.allowsEgress("default/app", to: .world, Proto.tcp, 443))
        #expect(!c.allowsEgress("default/app", to: .world, Proto.udp, 53), "DNS to other servers is not allowed")
        #expect(!c.allowsEgress("default/app", to: .endpoint("default/other"), Proto.tcp, 80))
        #expect(!c.allowsEgress("default/app", to: .host, Proto.udp, 53), "the host is not implicitly allowed at egress")
        #expect(!c.ingress("default/app", from: .world).enforced)
    }

    @Test func l4AllowOnSameKeyKeepsRedirectWithWildcardRule() {
        // §2.5: a rule-less allow on the same selector/port widens the DNS rules with "*".
        let c = Cluster(pods: pods, policies: [
            cnp("dns", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toEndpoints:
              - matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}
              toPorts:
              - ports: [{port: "53", protocol: UDP}]
                rules:
                  dns: [{matchName: example.com}]
            """),
            cnp("plain", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toEndpoints:
              - matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}
              toPorts:
              - ports: [{port: "53", protocol: UDP}]
            """),
        ])
        let v = c.egress("default/app", to: .endpoint("kube-system/coredns"), Proto.udp, 53)
        #expect(v.allowed)
        #expect(v.redirect == .dns)
        let patterns = Set((v.entry?.l7Rules ?? []).flatMap { $0.dns ?? [] })
        #expect(patterns.contains(FQDNSelector(matchPattern: "*")))
        #expect(patterns.contains(FQDNSelector(matchName: "example.com")))
        #expect(v.policies == [cnpRef("dns"), cnpRef("plain")])
    }

    @Test func toFQDNsSelectsDNSLearnedIdentitiesOnly() {
        let c = Cluster(pods: pods, policies: [Self.dnsPolicy, cnp("fqdn", """
            endpointSelector: {matchLabels: {app: app}}
            egress:
            - toFQDNs: [{matchName: api.example.com}]
              toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """)])
        // An IP learnt from a DNS response for api.example.com gets the fqdn label plus world (§3.2).
        let learnt = c.engine.acquireLocalIdentity(LabelSet([Label("fqdn", "api.example.com"), .reserved("world")]))
        #expect(ReservedIdentity.isLocal(learnt))
        #expect(c.allowsEgress("default/app", to: .identity(learnt), Proto.tcp, 443))
        #expect(!c.allowsEgress("default/app", to: .identity(learnt), Proto.tcp, 80))
        #expect(!c.allowsEgress("default/app", to: .world, Proto.tcp, 443))
        let otherName = c.engine.acquireLocalIdentity(LabelSet([Label("fqdn", "other.example.com"), .reserved("world")]))
        #expect(!c.allowsEgress("default/app", to: .identity(otherName), Proto.tcp, 443))
        c.engine.releaseLocalIdentity(learnt)
        #expect(!c.allowsEgress("default/app", to: .identity(learnt), Proto.tcp, 443))
    }
}
