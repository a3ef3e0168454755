// Invalid CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy manifests: every check of
// reference §1 that the decoder implements, each with the exact line, column and field path.
// `cnp(rest)` puts `rest` at line 8 of the file (see TestSupport.swift).
import Foundation
import Testing
@testable import PolicyAPI

@Suite("Unknown fields")
struct UnknownFieldTests {
    @Test func unknownFieldsAnywhereAreAllReported() {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: test
              namespace: tenant-a
              nmae: typo
            spec:
              endpointSelector:
                matchLabel: {app: a}
              ingress:
              - fromEndpoint: [{}]
                toPorts:
                - ports:
                  - port: "80"
                    protocl: TCP
                  rule: {}
              egress: [{}]
              foo: bar
            extra: 1
            """
        expectErrors(text, [
            Diag(6, 3, "metadata.nmae", "unknown field \"nmae\""),
            Diag(9, 5, "spec.endpointSelector.matchLabel", "unknown field \"matchLabel\""),
            Diag(11, 5, "spec.ingress[0].fromEndpoint", "unknown field \"fromEndpoint\""),
            Diag(15, 9, "spec.ingress[0].toPorts[0].ports[0].protocl", "unknown field \"protocl\""),
            Diag(16, 7, "spec.ingress[0].toPorts[0].rule", "unknown field \"rule\""),
            Diag(18, 3, "spec.foo", "unknown field \"foo\""),
            Diag(19, 1, "extra", "unknown field \"extra\""),
        ])
    }

    @Test func toFQDNsIsNotAFieldOfEgressDeny() {
        expectError(cnp("  egressDeny:\n  - toFQDNs:\n    - matchName: api.twitter.com\n"),
                    9, 5, "spec.egressDeny[0].toFQDNs", "unknown field \"toFQDNs\"")
    }

    @Test func denyRulesHaveNoL7NoAuthentication() {
        let text = cnp("""
              ingressDeny:
              - fromEntities: [world]
                authentication: {mode: required}
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http: [{}]
            """)
        expectErrors(text, [
            Diag(10, 5, "spec.ingressDeny[0].authentication", "unknown field \"authentication\""),
            Diag(13, 7, "spec.ingressDeny[0].toPorts[0].rules", "unknown field \"rules\""),
        ])
    }

    @Test func directionSpecificPeerFields() {
        // Ingress rules have from* fields, egress rules to* fields; toServices/toFQDNs are egress only.
        let text = cnp("""
              ingress:
              - toEndpoints: [{}]
              - toFQDNs: [{matchName: a.com}]
              - toServices: [{k8sService: {serviceName: s}}]
              egress:
              - fromEndpoints: [{}]
            """)
        expectErrors(text, [
            Diag(9, 5, "spec.ingress[0].toEndpoints", "unknown field \"toEndpoints\""),
            Diag(10, 5, "spec.ingress[1].toFQDNs", "unknown field \"toFQDNs\""),
            Diag(11, 5, "spec.ingress[2].toServices", "unknown field \"toServices\""),
            Diag(13, 5, "spec.egress[0].fromEndpoints", "unknown field \"fromEndpoints\""),
        ])
    }

    @Test func unknownFieldsInsideL7AndICMPRules() {
        let text = cnp("""
              egress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http:
                    - pathh: /
                - ports: [{port: "53", protocol: UDP}]
                  rules:
                    dns:
                    - matchNames: x.com
              - icmps:
                - fields:
                  - type: 8
                    code: 0
            """)
        expectErrors(text, [
            Diag(13, 11, "spec.egress[0].toPorts[0].rules.http[0].pathh", "unknown field \"pathh\""),
            Diag(17, 11, "spec.egress[0].toPorts[1].rules.dns[0]", "one of matchName or matchPattern is required"),
            Diag(17, 11, "spec.egress[0].toPorts[1].rules.dns[0].matchNames", "unknown field \"matchNames\""),
            Diag(21, 9, "spec.egress[1].icmps[0].fields[0].code", "unknown field \"code\""),
        ])
    }
}

@Suite("Rule-level checks")
struct RuleLevelTests {
    @Test func bothEndpointAndNodeSelector() {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata:
              name: test
            spec:
              endpointSelector: {}
              nodeSelector: {}
              ingress: [{}]
            """
        expectError(text, 6, 3, "spec", "rule cannot have both EndpointSelector and NodeSelector")
    }

    @Test func neitherEndpointNorNodeSelector() {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata:
              name: test
            spec:
              ingress: [{}]
            """
        expectError(text, 6, 3, "spec", "rule must have one of EndpointSelector or NodeSelector")
    }

    @Test func nodeSelectorInANamespacedPolicy() {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: test
            spec:
              nodeSelector:
                matchLabels: {role: worker}
              ingress: [{}]
            """
        expectError(text, 7, 5, "spec.nodeSelector", "Invalid CiliumNetworkPolicy spec: rule cannot have NodeSelector")
    }

    @Test func noRuleSections() {
        expectError(cnp(""), 7, 3, "spec", "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny")
        expectError(cnp("  description: nothing\n"), 7, 3, "spec", "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny")
    }

    @Test func emptyRuleSectionsCountAsNone() {
        // Cilium checks `len(...) == 0`: `ingress: []` is no rule at all (the endpoint would stay
        // unenforced while the user believes it is default-deny).
        expectError(cnp("  ingress: []\n  egressDeny: []\n"), 7, 3, "spec",
                    "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny")
    }

    @Test func policyWithoutSpec() {
        expectError("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: test\n",
                    1, 1, "", "Invalid CiliumNetworkPolicy spec(s): empty policy (set spec or specs)")
        expectError("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: test\nspec: null\n",
                    1, 1, "", "Invalid CiliumClusterwideNetworkPolicy spec(s): empty policy (set spec or specs)")
    }

    @Test func errorsInsideSpecsAreIndexed() {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: test
            specs:
            - endpointSelector: {}
              ingress: [{}]
            - endpointSelector: {}
            - ingress: [{}]
            """
        expectErrors(text, [
            Diag(8, 3, "specs[1]", "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny"),
            Diag(9, 3, "specs[2]", "rule must have one of EndpointSelector or NodeSelector"),
        ])
    }

    @Test func wrongTypes() {
        let text = cnp("""
              ingress: {}
              egress:
              - toEndpoints: {}
              enableDefaultDeny:
                ingress: "yes"
              description: [a]
            """)
        expectErrors(text, [
            Diag(8, 12, "spec.ingress", "expected a list, found object"),
            Diag(10, 18, "spec.egress[0].toEndpoints", "expected a list, found object"),
            Diag(12, 14, "spec.enableDefaultDeny.ingress", "expected true or false, found string"),
            Diag(13, 16, "spec.description", "expected a string, found list"),
        ])
    }

    @Test func logValueLimits() {
        let text = cnp("  ingress: [{}]\n  log:\n    value: \"\(String(repeating: "x", count: 33))\"\n")
        expectError(text, 10, 12, "spec.log.value", "may not be longer than 32 characters")
    }
}

@Suite("Peer (L3) checks")
struct PeerTests {
    @Test func combiningTwoL3FieldsInEgress() {
        expectError(cnp("  egress:\n  - toEndpoints: [{}]\n    toCIDR: [10.0.0.0/8]\n"),
                    9, 5, "spec.egress[0]", "combining ToEndpoints and ToCIDR is not supported yet")
    }

    @Test func combiningOtherL3Pairs() {
        expectError(cnp("  ingress:\n  - fromEntities: [world]\n    fromCIDRSet: [{cidr: 10.0.0.0/8}]\n"),
                    9, 5, "spec.ingress[0]", "combining FromCIDRSet and FromEntities is not supported yet")
        expectError(cnp("  egress:\n  - toFQDNs: [{matchName: a.com}]\n    toEndpoints: [{}]\n"),
                    9, 5, "spec.egress[0]", "combining ToEndpoints and ToFQDNs is not supported yet")
        expectError(cnp("  egress:\n  - toEntities: [world]\n    toServices: [{k8sService: {serviceName: s}}]\n"),
                    9, 5, "spec.egress[0]", "combining ToEntities and ToServices is not supported yet")
        expectError(cnp("  ingressDeny:\n  - fromEndpoints: [{}]\n    fromCIDR: [10.0.0.0/8]\n"),
                    9, 5, "spec.ingressDeny[0]", "combining FromEndpoints and FromCIDR is not supported yet")
    }

    @Test func fromRequiresMustBeEmpty() {
        expectError(cnp("  ingress:\n  - fromRequires:\n    - matchLabels: {env: prod}\n"),
                    10, 5, "spec.ingress[0].fromRequires",
                    "must have at most 0 items: fromRequires was removed in Cilium 1.19; put the labels into fromEndpoints instead")
        expectError(cnp("  egress:\n  - toRequires: [{}]\n"),
                    9, 17, "spec.egress[0].toRequires",
                    "must have at most 0 items: toRequires was removed in Cilium 1.19; put the labels into toEndpoints instead")
    }

    @Test func unsupportedEntities() {
        let text = cnp("  egress:\n  - toEntities: [world, internet]\n  ingress:\n  - fromEntities: [cluster, Host]\n")
        expectErrors(text, [
            Diag(9, 25, "spec.egress[0].toEntities[1]", "unsupported entity: internet (one of all, world, cluster, host, init, ingress, unmanaged, remote-node, health, none, kube-apiserver)"),
            Diag(11, 29, "spec.ingress[0].fromEntities[1]", "unsupported entity: Host…"),
        ])
    }

    @Test func fromNodesNeedsTheNodeSelectorFlag() {
        expectError(cnp("  ingress:\n  - fromNodes: [{}]\n"), 9, 16, "spec.ingress[0].fromNodes",
                    "FromNodes/ToNodes rules can only be applied when the \"enable-node-selector-labels\" flag is set…")
    }

    @Test func badCIDRs() {
        let text = cnp("  egress:\n  - toCIDR: [\"10.0.0.0/33\", \"\", 300.1.1.1, 10.0.0.0/8]\n")
        expectErrors(text, [
            Diag(9, 14, "spec.egress[0].toCIDR[0]", "unable to parse CIDR: \"10.0.0.0/33\" is neither an IP address nor a prefix"),
            Diag(9, 29, "spec.egress[0].toCIDR[1]", "IP must be specified"),
            Diag(9, 33, "spec.egress[0].toCIDR[2]", "unable to parse CIDR: \"300.1.1.1\" is neither an IP address nor a prefix"),
        ])
    }

    @Test func cidrSetChecks() {
        let text = cnp("""
              egress:
              - toCIDRSet:
                - cidr: 10.0.0.0/8
                  except:
                  - 10.1.0.0/16
                  - 192.168.0.0/16
                - cidr: 10.0.0.1
                - except: [10.0.0.0/8]
                - cidr: 10.0.0.0/8
                  cidrGroupRef: group
                - cidrGroupRef: Bad_Group
                - cidr: 10.0.0.0/8
                  except: [nonsense]
            """)
        expectErrors(text, [
            Diag(13, 9, "spec.egress[0].toCIDRSet[0].except[1]", "allow CIDR prefix 10.0.0.0/8 does not contain exclude CIDR prefix 192.168.0.0/16"),
            Diag(14, 13, "spec.egress[0].toCIDRSet[1].cidr", "unable to parse CIDR: \"10.0.0.1\" must be a prefix such as 10.0.0.0/8"),
            Diag(15, 7, "spec.egress[0].toCIDRSet[2]", "one of cidr, cidrGroupRef, or cidrGroupSelector is required"),
            Diag(16, 7, "spec.egress[0].toCIDRSet[3]", "more than one of cidr, cidrGroupRef, or cidrGroupSelector may not be set"),
            Diag(18, 21, "spec.egress[0].toCIDRSet[4].cidrGroupRef", "\"Bad_Group\" must be a lowercase DNS-1123 subdomain of at most 253 characters"),
            Diag(20, 16, "spec.egress[0].toCIDRSet[5].except[0]", "unable to parse CIDR: \"nonsense\""),
        ])
    }

    @Test func toServicesChecks() {
        let text = cnp("""
              egress:
              - toServices:
                - {}
                - k8sService: {serviceName: a}
                  k8sServiceSelector: {selector: {}}
                - k8sServiceSelector: {namespace: x}
            """)
        expectErrors(text, [
            Diag(10, 7, "spec.egress[0].toServices[0]", "one of k8sService or k8sServiceSelector is required"),
            Diag(11, 7, "spec.egress[0].toServices[1]", "only one of k8sService or k8sServiceSelector may be set"),
            Diag(13, 27, "spec.egress[0].toServices[2].k8sServiceSelector.selector", "required field is missing"),
        ])
    }

    @Test func authenticationMode() {
        let text = cnp("  egress:\n  - toEndpoints: [{}]\n    authentication:\n      mode: strict\n  - authentication: {}\n")
        expectErrors(text, [
            Diag(11, 13, "spec.egress[0].authentication.mode", "unsupported value \"strict\": must be one of disabled, required, test-always-fail"),
            Diag(12, 21, "spec.egress[1].authentication.mode", "required field is missing"),
        ])
    }
}

@Suite("Ports (toPorts)")
struct PortTests {
    @Test func portAndProtocolErrors() {
        let text = cnp("""
              ingress:
              - toPorts:
                - ports:
                  - port: "70000"
                  - port: 80
                  - port: "http_alt"
                  - protocol: TCP
                  - port: "80"
                    protocol: HTTP
                  - port: "53"
                    protocol: ICMP
                  - port: "90"
                    endPort: 80
                  - port: ""
                  - port: "80"
                    protocol: VRRP
                  - port: "80"
                    endPort: 70000
            """)
        expectErrors(text, [
            Diag(11, 15, "spec.ingress[0].toPorts[0].ports[0].port", "port \"70000\" is out of range 0..65535"),
            Diag(12, 15, "spec.ingress[0].toPorts[0].ports[1].port", "must be a string, found integer (write it quoted: \"80\")"),
            Diag(13, 15, "spec.ingress[0].toPorts[0].ports[2].port", "invalid port \"http_alt\": must be a number 0..65535 or a port name (at most 15 letters, digits and '-', with at least one letter)"),
            Diag(14, 9, "spec.ingress[0].toPorts[0].ports[3].port", "port must be specified"),
            Diag(16, 19, "spec.ingress[0].toPorts[0].ports[4].protocol", "invalid protocol \"HTTP\", must be { tcp | udp | sctp | any | vrrp | igmp }"),
            Diag(18, 19, "spec.ingress[0].toPorts[0].ports[5].protocol", "invalid protocol \"ICMP\", must be { tcp | udp | sctp | any | vrrp | igmp } (ICMP is written as an `icmps` rule)"),
            Diag(20, 18, "spec.ingress[0].toPorts[0].ports[6].endPort", "endPort (80) must be greater than or equal to port (90)"),
            Diag(21, 15, "spec.ingress[0].toPorts[0].ports[7].port", "port must be specified"),
            Diag(22, 15, "spec.ingress[0].toPorts[0].ports[8].port", "port must be empty or 0 for VRRP"),
            Diag(25, 18, "spec.ingress[0].toPorts[0].ports[9].endPort", "70000 is out of range 0..65535"),
        ])
    }

    @Test func unquotedPortIsOneError() {
        // The API server rejects `port: 80` ("must be of type string"); Porin says so once.
        expectError(cnp("  egress:\n  - toPorts:\n    - ports:\n      - port: 443\n        protocol: TCP\n"),
                    11, 15, "spec.egress[0].toPorts[0].ports[0].port", "must be a string, found integer (write it quoted: \"443\")")
    }

    @Test func icmpIsNotAToPortsProtocol() {
        expectError(cnp("  egress:\n  - toPorts:\n    - ports:\n      - port: \"8\"\n        protocol: icmpv6\n"),
                    12, 19, "spec.egress[0].toPorts[0].ports[0].protocol",
                    "invalid protocol \"ICMPV6\", must be { tcp | udp | sctp | any | vrrp | igmp } (ICMP is written as an `icmps` rule)")
    }

    @Test func atMostFortyPorts() {
        func policy(_ n: Int) -> String {
            cnp("  egress:\n  - toPorts:\n    - ports:\n" + (1...n).map { "      - port: \"\($0)\"\n" }.joined())
        }
        expectError(policy(41), 11, 7, "spec.egress[0].toPorts[0].ports", "too many ports, the max is 40")
        let rule = onlyRule(policy(40))
        #expect(rule?.egress.first?.toPorts?.first?.ports.count == 40)
    }

    @Test func l7RulesOnlyOnTCP() {
        let udp = cnp("""
              egress:
              - toPorts:
                - ports:
                  - port: "80"
                    protocol: UDP
                  rules:
                    http: [{}]
            """)
        expectError(udp, 11, 7, "spec.egress[0].toPorts[0].ports", "L7 rules can only apply to TCP (not UDP) except for DNS rules")
        // No protocol means ANY, which is not TCP either.
        let any = cnp("  egress:\n  - toPorts:\n    - ports: [{port: \"80\"}]\n      rules:\n        http: [{method: GET}]\n")
        expectError(any, 10, 14, "spec.egress[0].toPorts[0].ports", "L7 rules can only apply to TCP (not ANY) except for DNS rules")
    }

    @Test func l7RulesNotOnPortZero() {
        let text = cnp("  egress:\n  - toPorts:\n    - ports: [{port: \"0\", protocol: TCP}]\n      rules:\n        http: [{}]\n")
        expectError(text, 10, 14, "spec.egress[0].toPorts[0].ports", "L7 rules can not be used when a port is 0")
    }

    @Test func dnsRuleOnIngress() {
        let text = cnp("""
              ingress:
              - toPorts:
                - ports:
                  - port: "53"
                    protocol: UDP
                  rules:
                    dns:
                    - matchPattern: "*"
            """)
        expectError(text, 10, 5, "spec.ingress[0].toPorts", "L7 protocol DNS is not supported on ingress yet")
    }

    @Test func dnsRuleWithoutPorts() {
        let text = cnp("""
              egress:
              - toEndpoints: [{}]
                toPorts:
                - rules:
                    dns:
                    - matchName: example.com
            """)
        expectError(text, 11, 7, "spec.egress[0].toPorts[0].ports", "port 53 must be specified for DNS rules")
        let empty = cnp("  egress:\n  - toPorts:\n    - ports: []\n      rules:\n        dns: [{matchPattern: \"*\"}]\n")
        expectError(empty, 10, 14, "spec.egress[0].toPorts[0].ports", "port 53 must be specified for DNS rules")
    }

    @Test func dnsRuleWithPortRange() {
        let text = cnp("  egress:\n  - toPorts:\n    - ports: [{port: \"53\", endPort: 54, protocol: UDP}]\n      rules:\n        dns: [{matchPattern: \"*\"}]\n")
        expectError(text, 10, 14, "spec.egress[0].toPorts[0].ports", "DNS rules do not support port ranges")
    }

    @Test func multipleL7Types() {
        let text = cnp("""
              egress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http: [{}]
                    kafka: [{topic: t}]
            """)
        expectError(text, 12, 9, "spec.egress[0].toPorts[0].rules", "multiple L7 protocol rule types specified in single rule")
    }

    @Test func l7WithoutL7Proto() {
        let text = cnp("  egress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n        l7: [{cmd: get}]\n")
        expectError(text, 12, 13, "spec.egress[0].toPorts[0].rules.l7", "'l7' may only be specified when a 'l7proto' is also specified")
    }

    @Test func httpRuleChecks() {
        let text = cnp("""
              ingress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http:
                    - path: "/api/(v1"
                    - headerMatches:
                      - value: x
                      - name: X-A
                        mismatch: DROP
            """)
        expectErrors(text, [
            Diag(13, 17, "spec.ingress[0].toPorts[0].rules.http[0].path", "invalid regular expression \"/api/(v1\""),
            Diag(15, 13, "spec.ingress[0].toPorts[0].rules.http[1].headerMatches[0].name", "Header name missing"),
            Diag(17, 23, "spec.ingress[0].toPorts[0].rules.http[1].headerMatches[1].mismatch", "Invalid header action: DROP"),
        ])
    }

    @Test func serverNamesAndListenerChecks() {
        let text = cnp("""
              ingress:
              - toPorts:
                - ports: [{port: "443", protocol: TCP}]
                  listener:
                    envoyConfig: {name: cec}
                    name: l1
              egress:
              - toPorts:
                - ports: [{port: "443", protocol: TCP}]
                  serverNames: [a.com, ""]
                - ports: [{port: "443", protocol: TCP}]
                  serverNames: [a.com]
                  rules:
                    http: [{}]
            """)
        expectErrors(text, [
            Diag(12, 9, "spec.ingress[0].toPorts[0].listener", "Listener is not allowed on ingress (l1)"),
            Diag(17, 28, "spec.egress[0].toPorts[0].serverNames[1]", "empty server name is not allowed"),
            Diag(19, 20, "spec.egress[0].toPorts[1].serverNames", "ServerNames are not allowed with L7 rules without TLS termination"),
        ])
    }
}

@Suite("ICMP rules")
struct ICMPTests {
    @Test func icmpsTogetherWithToPorts() {
        let text = cnp("""
              ingress:
              - icmps:
                - fields:
                  - type: 8
                toPorts:
                - ports: [{port: "80"}]
            """)
        expectError(text, 9, 5, "spec.ingress[0]", "the ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts")
    }

    @Test func badICMPNamesAndFamilies() {
        let text = cnp("""
              egress:
              - icmps:
                - fields:
                  - type: Foo
                  - type: PacketTooBig
                  - type: EchoRequest
                    family: IPv5
                  - type: 256
                  - family: IPv6
                  - type: [8]
                  - type: EchoRequest
                    family: ipv6
            """)
        expectErrors(text, [
            Diag(11, 15, "spec.egress[0].icmps[0].fields[0].type", "ICMP type Foo not found in IPv4"),
            Diag(12, 15, "spec.egress[0].icmps[0].fields[1].type", "ICMP type PacketTooBig not found in IPv4"),
            Diag(14, 17, "spec.egress[0].icmps[0].fields[2].family", "wrong family: IPv5"),
            Diag(15, 15, "spec.egress[0].icmps[0].fields[3].type", "256 is out of range 0..255"),
            Diag(16, 9, "spec.egress[0].icmps[0].fields[4].type", "required field is missing"),
            Diag(17, 15, "spec.egress[0].icmps[0].fields[5].type", "expected an integer or an ICMP type name, found list"),
            Diag(19, 17, "spec.egress[0].icmps[0].fields[6].family", "wrong family: ipv6"),
        ])
    }

    @Test func atMostFortyICMPFields() {
        let text = cnp("  egress:\n  - icmps:\n    - fields:\n" + (0..<41).map { "      - type: \($0)\n" }.joined())
        expectError(text, 11, 7, "spec.egress[0].icmps[0].fields", "too many types, the max is 40")
    }
}

@Suite("FQDN selectors")
struct FQDNTests {
    @Test func badFQDNSelectors() {
        let text = cnp("""
              egress:
              - toFQDNs:
                - matchName: "api twitter.com"
                - matchPattern: "*.twitter.com/x"
                - matchName: api.twitter.com
                  matchPattern: "*.twitter.com"
                - {}
                - matchName: ""
            """)
        expectErrors(text, [
            Diag(10, 18, "spec.egress[0].toFQDNs[0].matchName", "Invalid characters in MatchName: \"api twitter.com\". Only 0-9, a-z, A-Z and . and - characters are allowed"),
            Diag(11, 21, "spec.egress[0].toFQDNs[1].matchPattern", "Invalid characters in MatchPattern: \"*.twitter.com/x\". Only 0-9, a-z, A-Z and ., - and * characters are allowed"),
            Diag(12, 7, "spec.egress[0].toFQDNs[2]", "only one of MatchName or MatchPattern is allowed in an FQDNSelector"),
            Diag(14, 7, "spec.egress[0].toFQDNs[3]", "one of matchName or matchPattern is required"),
            Diag(15, 18, "spec.egress[0].toFQDNs[4].matchName", "Invalid characters in MatchName: \"\". Only 0-9, a-z, A-Z and . and - characters are allowed"),
        ])
    }

    @Test func fqdnLengthLimit() {
        let long = String(repeating: "a", count: 256)
        expectError(cnp("  egress:\n  - toFQDNs:\n    - matchName: \(long)\n"), 10, 18, "spec.egress[0].toFQDNs[0].matchName", "may not be longer than 255 characters")
        expectError(cnp("  egress:\n  - toFQDNs:\n    - matchPattern: \(long)\n"), 10, 21, "spec.egress[0].toFQDNs[0].matchPattern", "may not be longer than 255 characters")
        #expect(onlyRule(cnp("  egress:\n  - toFQDNs:\n    - matchName: \(String(repeating: "a", count: 255))\n")) != nil)
    }

    @Test func dnsRulesAreCheckedLikeToFQDNs() {
        let text = cnp("  egress:\n  - toPorts:\n    - ports: [{port: \"53\", protocol: UDP}]\n      rules:\n        dns:\n        - matchPattern: \"*.com,\"\n")
        expectError(text, 13, 25, "spec.egress[0].toPorts[0].rules.dns[0].matchPattern",
                    "Invalid characters in MatchPattern: \"*.com,\". Only 0-9, a-z, A-Z and ., - and * characters are allowed")
    }

    @Test func validPatterns() throws {
        let rule = try #require(onlyRule(cnp("""
              egress:
              - toFQDNs:
                - matchPattern: "*"
                - matchPattern: "**.cilium.io"
                - matchPattern: "sub*.cilium.io"
                - matchName: "_srv.example.com."
            """)))
        #expect(rule.egress[0].fqdns?.map(\.labelValue) == ["*", "**.cilium.io", "sub*.cilium.io", "_srv.example.com."])
    }
}

@Suite("Label selectors")
struct SelectorTests {
    @Test func selectorKeyValueAndOperatorErrors() {
        let text = cnp("""
              ingress:
              - fromEndpoints:
                - matchLabels:
                    "bad key!": v
                    app: "-bad"
                    foo:bar: x
                    example.com/: x
                    replicas: 3
                  matchExpressions:
                  - key: env
                    operator: Has
                  - key: env
                    operator: In
                  - key: env
                    operator: Exists
                    values: [x]
                  - operator: In
                    values: [x]
                  - key: env
                    operator: In
                    values: ["not valid!"]
                  - key: "Bad Key"
                    operator: Exists
                  - key: env
            """)
        let valueRule = "a valid label value must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        let keyRule = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        let p = "spec.ingress[0].fromEndpoints[0]"
        expectErrors(text, [
            Diag(11, 9, "\(p).matchLabels.bad key!", "invalid label key \"bad key!\": \(keyRule)"),
            Diag(12, 14, "\(p).matchLabels.app", "invalid label value \"-bad\": \(valueRule)"),
            Diag(13, 9, "\(p).matchLabels.foo:bar", "invalid label key \"foo:bar\": unknown label source \"foo\""),
            Diag(14, 9, "\(p).matchLabels.example.com/", "invalid label key \"example.com/\": name part must be non-empty"),
            Diag(15, 19, "\(p).matchLabels.replicas", "must be a string, found integer (write it quoted: \"3\")"),
            Diag(18, 19, "\(p).matchExpressions[0].operator", "\"Has\" is not a valid selector operator (In, NotIn, Exists, DoesNotExist)"),
            Diag(19, 9, "\(p).matchExpressions[1].values", "must be specified when `operator` is 'In' or 'NotIn'"),
            Diag(23, 17, "\(p).matchExpressions[2].values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
            Diag(24, 9, "\(p).matchExpressions[3].key", "required field is missing"),
            Diag(28, 17, "\(p).matchExpressions[4].values", "invalid label value \"not valid!\": \(valueRule)"),
            Diag(29, 14, "\(p).matchExpressions[5].key", "invalid label key \"Bad Key\": \(keyRule)"),
            Diag(31, 9, "\(p).matchExpressions[6].operator", "required field is missing"),
        ])
    }

    @Test func endpointSelectorIsValidatedToo() {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: test
            spec:
              endpointSelector:
                matchLabels:
                  UPPER.example.com/app: x
              ingress: [{}]
            """
        expectError(text, 8, 7, "spec.endpointSelector.matchLabels.UPPER.example.com/app",
                    "invalid label key \"UPPER.example.com/app\": prefix part \"UPPER.example.com\" must be a lowercase DNS-1123 subdomain")
    }

    @Test func sourcePrefixedKeys() throws {
        // reserved:, cidr: and fqdn: keys are not Kubernetes label keys and are accepted as written.
        let rule = try #require(onlyRule(cnp("""
              ingress:
              - fromEndpoints:
                - matchLabels:
                    reserved:host: ""
                    k8s:io.kubernetes.pod.namespace: kube-system
                    cidr:10.0.0.0/8: ""
            """)))
        #expect(rule.ingress[0].endpoints?.first?.matchLabels.map(\.0) == ["reserved:host", "k8s:io.kubernetes.pod.namespace", "cidr:10.0.0.0/8"])
        expectError(cnp("  ingress:\n  - fromEndpoints:\n    - matchLabels:\n        \"reserved:\": \"\"\n"),
                    11, 9, "spec.ingress[0].fromEndpoints[0].matchLabels.reserved:", "invalid label key \"reserved:\": empty key")
    }
}

@Suite("Object-level checks")
struct ObjectLevelTests {
    @Test func invalidMetadata() {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: Default_Policy
              namespace: Tenant-A
              labels:
                "bad key": x
                ok: "bad value!"
            spec:
              endpointSelector: {}
              ingress: [{}]
            """
        expectErrors(text, [
            Diag(4, 9, "metadata.name", "invalid name \"Default_Policy\": must be a lowercase DNS-1123 subdomain (letters, digits, '-' and '.')"),
            Diag(5, 14, "metadata.namespace", "invalid namespace \"Tenant-A\": must be a lowercase DNS-1123 label"),
            Diag(7, 5, "metadata.labels.bad key", "invalid label key \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
            Diag(8, 9, "metadata.labels.ok", "invalid label value \"bad value!\": a valid label value must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
        ])
    }

    @Test func missingMetadataOrName() {
        expectError("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n",
                    1, 1, "metadata", "required field is missing")
        expectError("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  namespace: a\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n",
                    4, 3, "metadata.name", "required field is missing")
    }

    @Test func missingKind() {
        expectError("apiVersion: cilium.io/v2\nmetadata:\n  name: x\nspec:\n  endpointSelector: {}\n", 1, 1, "kind", "required field is missing")
    }

    @Test func missingAPIVersion() {
        expectError("kind: CiliumNetworkPolicy\nmetadata:\n  name: x\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n",
                    1, 1, "apiVersion", "required field is missing (CiliumNetworkPolicy is cilium.io/v2)")
    }

    @Test func wrongAPIVersion() {
        expectError("apiVersion: cilium.io/v2alpha1\nkind: CiliumNetworkPolicy\nmetadata:\n  name: x\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n",
                    1, 13, "apiVersion", "CiliumNetworkPolicy is served as cilium.io/v2, not \"cilium.io/v2alpha1\"")
        expectError("apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata:\n  name: x\nspec:\n  podSelector: {}\n",
                    1, 13, "apiVersion", "NetworkPolicy is served as networking.k8s.io/v1, not \"extensions/v1beta1\"")
        expectError("apiVersion: apps/v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers: [{name: c}]\n",
                    1, 13, "apiVersion", "Pod is served as v1, not \"apps/v1\"")
    }

    @Test func unsupportedKind() {
        let text = "apiVersion: cilium.io/v2\nkind: CiliumCIDRGroup\nmetadata:\n  name: x\nspec:\n  externalCIDRs: []\n"
        expectError(text, 2, 7, "kind", "unsupported kind \"CiliumCIDRGroup\" (Porin reads CiliumClusterwideNetworkPolicy, CiliumNetworkPolicy, Deployment, Namespace, NetworkPolicy, Pod, Service)")
    }

    @Test func documentMustBeAnObject() {
        expectError("- a\n- b\n", 1, 1, "", "expected an object, found list")
        expectError("just text\n", 1, 1, "", "expected an object, found string")
        expectError("apiVersion: v1\nkind: [Namespace]\n", 2, 7, "kind", "expected a string, found list")
    }
}

@Suite("All errors of a file, and all-or-nothing")
struct AllErrorsTests {
    @Test func threeIndependentErrorsGiveThreeDiagnostics() {
        let text = cnp("""
              ingress:
              - fromEntities: [everything]
              egress:
              - toPorts:
                - ports:
                  - port: "99999"
              - toCIDR: [10.0.0.0/40]
            """)
        expectErrors(text, [
            Diag(9, 20, "spec.ingress[0].fromEntities[0]", "unsupported entity: everything…"),
            Diag(13, 15, "spec.egress[0].toPorts[0].ports[0].port", "port \"99999\" is out of range 0..65535"),
            Diag(14, 14, "spec.egress[1].toCIDR[0]", "unable to parse CIDR: \"10.0.0.0/40\" is neither an IP address nor a prefix"),
        ])
    }

    @Test func errorsInSeveralDocumentsAreReportedTogether() {
        let text = """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: tenant-a
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: a
              namespace: tenant-a
            spec:
              endpointSelector: {}
              egress:
              - toEntities: [wrld]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: b
              namespace: tenant-a
            spec:
              endpointSelector: {}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
            spec:
              containers:
              - name: c
                image: x
                imag: y
            """
        expectErrors(text, [
            Diag(14, 18, "[1].spec.egress[0].toEntities[0]", "unsupported entity: wrld…"),
            Diag(22, 3, "[2].spec", "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny"),
            Diag(32, 5, "[3].spec.containers[0].imag", "unknown field \"imag\""),
        ])
    }

    @Test func oneBadDocumentRejectsTheWholeFile() throws {
        // The first document is valid; the file still yields no objects.
        let text = labDefaultPolicy + "\n---\n" + cnp("  egress:\n  - toPorts:\n    - ports: [{port: \"0x50\", protocol: TCP}]\n      rules:\n        http: [{}]\n      oops: 1\n")
        #expect(throws: ManifestErrors.self) {
            _ = try APIObjectDecoder.decode(text: text, file: "two.yaml")
        }
        let errors = decodeErrors(text, file: "two.yaml")
        #expect(errors.map(\.path) == ["[1].spec.egress[0].toPorts[0].oops"])
        #expect(errors.first?.line == 25 + 13)  // 24 lines, the `---` line, then line 13 of the second document
    }

    @Test func diagnosticsDescribeFileLineColumnAndPath() throws {
        do {
            _ = try APIObjectDecoder.decode(text: cnp("  egress:\n  - toEntities: [x]\n"), file: "policies/a.yaml")
            Issue.record("expected an error")
        } catch {
            let d = try #require(error.diagnostics.first)
            #expect(d.position == SourcePosition(file: "policies/a.yaml", line: 9, column: 18))
            #expect(d.description.hasPrefix("policies/a.yaml:9:18: spec.egress[0].toEntities[0]: unsupported entity: x"))
            #expect(error.description == error.diagnostics.map(\.description).joined(separator: "\n"))
        }
        // Without a path, the description is just position and message.
        let d = ManifestDiagnostic(SourcePosition(file: "f", line: 1, column: 2), path: "", "boom")
        #expect(d.description == "f:1:2: boom")
    }
}

@Suite("Host policies, TLS, listeners and Kafka")
struct MoreRuleChecks {
    /// A CCNP host policy (nodeSelector); `rest` starts at line 7.
    func hostPolicy(_ rest: String) -> String {
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: host\nspec:\n  nodeSelector: {}\n" + rest
    }

    @Test func l7OnHostPolicies() {
        let text = hostPolicy("""
              ingress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http: [{}]
              egress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http: [{}]
              - toPorts:
                - ports: [{port: "53", protocol: UDP}]
                  rules:
                    dns: [{matchPattern: "*"}]
            """)
        expectErrors(text, [
            Diag(9, 5, "spec.ingress[0].toPorts", "L7 policy is not supported on host ingress yet"),
            Diag(14, 5, "spec.egress[0].toPorts", "L7 protocol HTTP is not supported on host egress yet"),
        ])
    }

    @Test func listenerTogetherWithL7Rules() {
        let text = cnp("""
              egress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  listener:
                    envoyConfig: {kind: Envoy, name: cec}
                    name: l1
                    priority: 101
                  rules:
                    http: [{}]
            """)
        expectErrors(text, [
            Diag(12, 9, "spec.egress[0].toPorts[0].listener", "Listener is not allowed with L7 rules (l1)"),
            Diag(12, 29, "spec.egress[0].toPorts[0].listener.envoyConfig.kind", "must be CiliumEnvoyConfig or CiliumClusterwideEnvoyConfig"),
            Diag(14, 19, "spec.egress[0].toPorts[0].listener.priority", "101 is out of range 1..100"),
        ])
    }

    @Test func kafkaRuleChecks() {
        let text = cnp("""
              ingress:
              - toPorts:
                - ports: [{port: "9092", protocol: TCP}]
                  rules:
                    kafka:
                    - role: write
                    - role: produce
                      apiKey: produce
                    - apiVersion: "40000"
                    - topic: "bad topic"
            """)
        let p = "spec.ingress[0].toPorts[0].rules.kafka"
        expectErrors(text, [
            Diag(13, 17, "\(p)[0].role", "Invalid Kafka role \"write\": must be produce or consume"),
            Diag(14, 11, "\(p)[1]", "Cannot set both Role and APIKey"),
            Diag(16, 23, "\(p)[2].apiVersion", "invalid Kafka apiVersion \"40000\": must be 0..32767"),
            Diag(17, 18, "\(p)[3].topic", "invalid Kafka topic \"bad topic\": at most 255 characters of [a-zA-Z0-9._-]"),
        ])
    }

    @Test func l7GenericRulesNeedKeys() {
        let text = cnp("  egress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n        l7proto: x\n        l7:\n        - {\"\": v}\n")
        expectError(text, 14, 11, "spec.egress[0].toPorts[0].rules.l7[0]", "Empty key not allowed")
    }

    @Test func missingRequiredPartsCauseNoFollowOnErrors() {
        // An object that lacks a required field is reported once; its other (known) fields are
        // not reported as unknown.
        let text = cnp("""
              ingress: [{}]
              labels:
              - value: x
                source: k8s
              egress:
              - toPorts:
                - ports: [{port: "443", protocol: TCP}]
                  terminatingTLS:
                    trustedCA: ca.crt
                    certificate: c
                  originatingTLS:
                    secret: {namespace: ns}
            """)
        expectErrors(text, [
            Diag(10, 5, "spec.labels[0].key", "required field is missing"),
            Diag(16, 9, "spec.egress[0].toPorts[0].terminatingTLS.secret", "required field is missing"),
            Diag(19, 17, "spec.egress[0].toPorts[0].originatingTLS.secret.name", "required field is missing"),
        ])
    }
}
