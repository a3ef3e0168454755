// Valid manifests: the lab's policies, multi-document files, `specs`, JSON input, CCNPs and the
// details of what the decoded rules contain.
import Foundation
import Testing
@testable import PolicyAPI

/// LAB.md §4: tenant-a's `default` policy after the visual editor's clicks.
let labDefaultPolicy = """
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata:
      name: default
      namespace: tenant-a
    spec:
      endpointSelector: {}
      ingress:
      - fromEndpoints:
        - {}
      egress:
      - toEndpoints:
        - {}
      - toEndpoints:
        - matchLabels:
            io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
        toPorts:
        - ports:
          - port: "53"
            protocol: UDP
          rules:
            dns:
            - matchPattern: "*"
    """

/// LAB.md §6: the `extra` policy saved from the observed flows.
let labExtraPolicy = """
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata:
      name: extra
      namespace: tenant-a
    spec:
      endpointSelector: {}
      egress:
      - toFQDNs:
        - matchName: api.twitter.com
        toPorts:
        - ports:
          - port: "80"
    """

/// LAB.md §7: the exam policy in tenant-b.
let labExamPolicy = """
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata:
      name: default-exam
      namespace: tenant-b
    spec:
      endpointSelector: {}
      egress:
      - toEndpoints:
        - {}
      - toEndpoints:
        - matchLabels:
            io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
        toPorts:
        - ports:
          - port: "53"
            protocol: ANY
          rules:
            dns:
            - matchPattern: "*"
      - toFQDNs:
        - matchName: google.com
        toPorts:
        - ports:
          - port: "443"
            protocol: TCP
      - toEndpoints:
        - matchLabels:
            k8s:app: backend-service
            k8s:io.kubernetes.pod.namespace: tenant-c
        toPorts:
        - ports:
          - port: "80"
    """

@Suite("Decoding the lab's policies")
struct LabPolicyTests {
    @Test func defaultPolicyOfTenantA() throws {
        let objects = decodeOK(labDefaultPolicy, file: "tenant-a-default-policy.yaml")
        try #require(objects.count == 1)
        #expect(objects[0].kind == "CiliumNetworkPolicy")
        let p = try #require(objects[0].ciliumPolicy)
        #expect(p.reference == PolicyReference(kind: .ciliumNetworkPolicy, namespace: "tenant-a", name: "default"))
        #expect(p.reference.description == "CiliumNetworkPolicy/tenant-a/default")
        try #require(p.rules.count == 1)
        let rule = p.rules[0]
        #expect(rule.endpointSelector == LabelSelector())
        #expect(rule.nodeSelector == nil)
        #expect(rule.position == SourcePosition(file: "tenant-a-default-policy.yaml", line: 7, column: 3))

        // ingress: [{fromEndpoints: [{}]}]
        try #require(rule.ingress.count == 1)
        #expect(rule.ingress[0].endpoints == [LabelSelector()])
        #expect(rule.ingress[0].toPorts == nil)
        #expect(!rule.ingress[0].hasNoL3)

        // egress: in-namespace + kube-dns with a DNS rule
        try #require(rule.egress.count == 2)
        #expect(rule.egress[0].endpoints == [LabelSelector()])
        let dns = rule.egress[1]
        #expect(dns.endpoints == [LabelSelector(matchLabels: [("io.kubernetes.pod.namespace", "kube-system"), ("k8s-app", "kube-dns")])])
        let ports = try #require(dns.toPorts)
        try #require(ports.count == 1)
        #expect(ports[0].ports == [PortProtocol(port: "53", proto: .udp)])
        #expect(ports[0].rules?.dns == [FQDNSelector(matchPattern: "*")])
        #expect(ports[0].rules?.http == nil)
        #expect(ports[0].parser == .dns)
        #expect(rule.ingressDeny.isEmpty && rule.egressDeny.isEmpty)
        #expect(rule.enableDefaultDeny == DefaultDenyConfig())
    }

    @Test func extraPolicyWithToFQDNs() throws {
        let objects = decodeOK(labExtraPolicy)
        let p = try #require(objects.first?.ciliumPolicy)
        #expect(p.reference.name == "extra")
        let rule = try #require(p.rules.first)
        try #require(rule.egress.count == 1)
        let e = rule.egress[0]
        #expect(e.fqdns == [FQDNSelector(matchName: "api.twitter.com")])
        #expect(e.fqdns?.first?.labelValue == "api.twitter.com")
        #expect(e.endpoints == nil)
        // A port without a protocol means ANY.
        #expect(e.toPorts?.first?.ports == [PortProtocol(port: "80", proto: .any)])
        #expect(e.toPorts?.first?.rules == nil)
        #expect(e.toPorts?.first?.parser == nil)
        #expect(rule.ingress.isEmpty)
    }

    @Test func examPolicyOfTenantB() throws {
        let p = try #require(decodeOK(labExamPolicy).first?.ciliumPolicy)
        #expect(p.reference == PolicyReference(kind: .ciliumNetworkPolicy, namespace: "tenant-b", name: "default-exam"))
        let rule = try #require(p.rules.first)
        try #require(rule.egress.count == 4)
        #expect(rule.egress[1].toPorts?.first?.ports == [PortProtocol(port: "53", proto: .any)])
        #expect(rule.egress[2].fqdns == [FQDNSelector(matchName: "google.com")])
        #expect(rule.egress[2].toPorts?.first?.ports == [PortProtocol(port: "443", proto: .tcp)])
        // Keys with a source prefix are kept as written.
        #expect(rule.egress[3].endpoints == [LabelSelector(matchLabels: [("k8s:app", "backend-service"), ("k8s:io.kubernetes.pod.namespace", "tenant-c")])])
        #expect(rule.egress[3].toPorts?.first?.ports == [PortProtocol(port: "80", proto: .any)])
    }

    @Test func allThreeLabPoliciesInOneFile() throws {
        let text = labDefaultPolicy + "\n---\n" + labExtraPolicy + "\n---\n" + labExamPolicy + "\n"
        let objects = decodeOK(text)
        #expect(objects.map { $0.ciliumPolicy?.reference.description } == [
            "CiliumNetworkPolicy/tenant-a/default", "CiliumNetworkPolicy/tenant-a/extra", "CiliumNetworkPolicy/tenant-b/default-exam",
        ])
    }

    @Test func editorSkeletonWithEmptyRulesIsValid() throws {
        // LAB.md §4: the "deny" toggles add `ingress: [{}]` and `egress: [{}]`.
        let rule = try #require(onlyRule(cnp("  ingress: [{}]\n  egress: [{}]\n")))
        #expect(rule.ingress == [PeerRule()])
        #expect(rule.egress == [PeerRule()])
        #expect(rule.ingress[0].hasNoL3)
    }
}

@Suite("Document structure: multi-document YAML, specs, JSON, List")
struct DocumentStructureTests {
    @Test func multiDocumentYAMLSkipsEmptyDocuments() {
        let text = """
            ---
            ---
            apiVersion: v1
            kind: Namespace
            metadata:
              name: tenant-a
            ---
            # only a comment
            ---
            apiVersion: v1
            kind: Namespace
            metadata:
              name: tenant-b
            ...
            """
        let objects = decodeOK(text)
        #expect(objects.compactMap { $0.namespaceObject?.name } == ["tenant-a", "tenant-b"])
    }

    @Test func emptyFileHasNoObjects() {
        #expect(decodeOK("").isEmpty)
        #expect(decodeOK("# nothing here\n").isEmpty)
        #expect(decodeOK("---\n---\n").isEmpty)
    }

    @Test func specsHoldSeveralRules() throws {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: multi
              namespace: tenant-a
            specs:
            - endpointSelector:
                matchLabels:
                  app: frontend-service
              egress:
              - toEndpoints:
                - matchLabels:
                    app: backend-service
            - endpointSelector:
                matchLabels:
                  app: backend-service
              ingress:
              - fromEndpoints:
                - matchLabels:
                    app: frontend-service
            """
        let p = try #require(decodeOK(text).first?.ciliumPolicy)
        try #require(p.rules.count == 2)
        #expect(p.rules[0].endpointSelector == LabelSelector(matchLabels: [("app", "frontend-service")]))
        #expect(p.rules[0].egress.count == 1 && p.rules[0].ingress.isEmpty)
        #expect(p.rules[1].endpointSelector == LabelSelector(matchLabels: [("app", "backend-service")]))
        #expect(p.rules[1].ingress.count == 1 && p.rules[1].egress.isEmpty)
        #expect(p.rules[0].position?.line == 7 && p.rules[1].position?.line == 14)
    }

    @Test func specAndSpecsTogether() throws {
        let text = cnp("  ingress: [{}]\n") + """
            specs:
            - endpointSelector: {matchLabels: {app: a}}
              egress: [{}]
            """
        let p = try #require(decodeOK(text).first?.ciliumPolicy)
        #expect(p.rules.count == 2)
        #expect(p.rules[0].ingress.count == 1)
        #expect(p.rules[1].egress.count == 1)
    }

    @Test func jsonSingleObject() throws {
        let json = """
            {
              "apiVersion": "cilium.io/v2",
              "kind": "CiliumNetworkPolicy",
              "metadata": {"name": "extra", "namespace": "tenant-a"},
              "spec": {
                "endpointSelector": {},
                "egress": [
                  {"toFQDNs": [{"matchName": "api.twitter.com"}],
                   "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}
                ]
              }
            }
            """
        let objects = decodeOK(json, file: "extra.json")
        let p = try #require(objects.first?.ciliumPolicy)
        #expect(objects.count == 1)
        // JSON and YAML decode to the same policy.
        #expect(p == decodeOK(labExtraPolicy.replacingOccurrences(of: "- port: \"80\"", with: "- port: \"80\"\n        protocol: TCP")).first?.ciliumPolicy)
        #expect(p.rules[0].egress[0].toPorts?.first?.ports == [PortProtocol(port: "80", proto: .tcp)])
        #expect(p.rules[0].position == SourcePosition(file: "extra.json", line: 5, column: 11))
    }

    @Test func jsonTopLevelListIsAListOfDocuments() throws {
        let json = """
            [
              {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-a"}},
              {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-b", "labels": {"team": "b"}}}
            ]
            """
        let objects = decodeOK(json, file: "namespaces.json")
        #expect(objects.compactMap { $0.namespaceObject } == [
            Namespace(name: "tenant-a", labels: ["kubernetes.io/metadata.name": "tenant-a"]),
            Namespace(name: "tenant-b", labels: ["kubernetes.io/metadata.name": "tenant-b", "team": "b"]),
        ])
    }

    @Test func jsonIsRecognisedByContentWithoutSuffix() {
        let json = #"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}"#
        #expect(decodeOK(json, file: "-").count == 1)
        #expect(decodeOK("  \n" + json, file: "stdin").count == 1)
    }

    @Test func yamlFlowStyleInYamlFileIsYAML() {
        // A .yaml file is YAML even when it starts with `{` (flow style is not JSON: unquoted keys).
        let objects = decodeOK("{apiVersion: v1, kind: Namespace, metadata: {name: a}}\n", file: "ns.yaml")
        #expect(objects.first?.namespaceObject?.name == "a")
        // In YAML, a document that is a list is not a list of documents (only JSON's top-level list is).
        expectError("[{apiVersion: v1, kind: Namespace, metadata: {name: a}}]\n", file: "ns.yml", 1, 1, "", "expected an object, found list")
    }

    @Test func kindListHoldsItems() {
        let text = """
            apiVersion: v1
            kind: List
            metadata: {}
            items:
            - apiVersion: v1
              kind: Namespace
              metadata:
                name: tenant-a
            - apiVersion: cilium.io/v2
              kind: CiliumNetworkPolicy
              metadata:
                name: default
                namespace: tenant-a
              spec:
                endpointSelector: {}
                ingress: [{}]
            """
        let objects = decodeOK(text)
        #expect(objects.map(\.kind) == ["Namespace", "CiliumNetworkPolicy"])
    }

    @Test func defaultNamespaceAppliesToNamespacedObjectsOnly() throws {
        let text = cnp("  ingress: [{}]\n").replacingOccurrences(of: "  namespace: tenant-a\n", with: "")
        let p = try #require(decodeOK(text, namespace: "tenant-c").first?.ciliumPolicy)
        #expect(p.reference.namespace == "tenant-c")
        let q = try #require(decodeOK(text).first?.ciliumPolicy)
        #expect(q.reference.namespace == "default")
        // An explicit namespace wins.
        let r = try #require(decodeOK(cnp("  ingress: [{}]\n"), namespace: "tenant-c").first?.ciliumPolicy)
        #expect(r.reference.namespace == "tenant-a")
    }

    @Test func statusAndKnownMetadataAreIgnored() throws {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: default
              namespace: tenant-a
              uid: 0b7e8c52-0000-0000-0000-000000000000
              resourceVersion: "12345"
              creationTimestamp: "2024-05-30T00:34:48Z"
              annotations:
                kubectl.kubernetes.io/last-applied-configuration: "{}"
              labels:
                team: a
            spec:
              endpointSelector: {}
              ingress: [{}]
            status:
              conditions:
              - type: Valid
                status: "True"
            """
        let p = try #require(decodeOK(text).first?.ciliumPolicy)
        #expect(p.labels.count == 1 && p.labels[0] == ("team", "a"))
    }

    @Test func explicitNullCountsAsAbsent() throws {
        let rule = try #require(onlyRule(cnp("  ingress: [{}]\n  egress: null\n  description: ~\n")))
        #expect(rule.egress.isEmpty)
        #expect(rule.description == nil)
    }
}

@Suite("CiliumClusterwideNetworkPolicy")
struct ClusterwidePolicyTests {
    @Test func clusterwidePolicyHasNoNamespace() throws {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata:
              name: allow-dns
            spec:
              endpointSelector: {}
              egress:
              - toEndpoints:
                - matchLabels:
                    k8s:io.kubernetes.pod.namespace: kube-system
                    k8s:k8s-app: kube-dns
                toPorts:
                - ports:
                  - port: "53"
                    protocol: ANY
            """
        let objects = decodeOK(text, namespace: "tenant-a")
        let p = try #require(objects.first?.ciliumPolicy)
        #expect(objects[0].kind == "CiliumClusterwideNetworkPolicy")
        #expect(p.reference == PolicyReference(kind: .ciliumClusterwideNetworkPolicy, namespace: "", name: "allow-dns"))
        #expect(p.reference.description == "CiliumClusterwideNetworkPolicy/allow-dns")
    }

    @Test func hostPolicyWithNodeSelector() throws {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata:
              name: host-fw
            spec:
              nodeSelector:
                matchLabels:
                  kubernetes.io/hostname: kind-worker
              ingress:
              - fromEntities: [cluster]
              - toPorts:
                - ports:
                  - port: "22"
                    protocol: TCP
              egress:
              - toEndpoints:
                - matchLabels: {k8s-app: kube-dns}
                toPorts:
                - ports: [{port: "53", protocol: UDP}]
                  rules:
                    dns: [{matchPattern: "*.cluster.local"}]
            """
        let rule = try #require(decodeOK(text).first?.ciliumPolicy?.rules.first)
        #expect(rule.endpointSelector == nil)
        #expect(rule.nodeSelector == LabelSelector(matchLabels: [("kubernetes.io/hostname", "kind-worker")]))
        #expect(rule.ingress[0].entities == ["cluster"])
        #expect(rule.ingress[1].hasNoL3)
        #expect(rule.egress[0].toPorts?.first?.rules?.dns == [FQDNSelector(matchPattern: "*.cluster.local")])
    }
}

@Suite("Rule contents")
struct RuleContentTests {
    @Test func selectorsWithExpressions() throws {
        let rule = try #require(onlyRule(cnp("""
              ingress:
              - fromEndpoints:
                - matchLabels:
                    app: frontend-service
                  matchExpressions:
                  - {key: env, operator: In, values: [prod, staging]}
                  - {key: tier, operator: NotIn, values: [db]}
                  - {key: k8s:io.kubernetes.pod.namespace, operator: Exists}
                  - {key: debug, operator: DoesNotExist}
                - matchLabels:
                    reserved:host: ""
                    any:app: x
            """)))
        let sel = try #require(rule.ingress.first?.endpoints)
        #expect(sel[0] == LabelSelector(matchLabels: [("app", "frontend-service")], matchExpressions: [
            .init(key: "env", op: .in, values: ["prod", "staging"]),
            .init(key: "tier", op: .notIn, values: ["db"]),
            .init(key: "k8s:io.kubernetes.pod.namespace", op: .exists),
            .init(key: "debug", op: .doesNotExist),
        ]))
        #expect(sel[1] == LabelSelector(matchLabels: [("reserved:host", ""), ("any:app", "x")]))
    }

    @Test func emptyListsAreKeptDistinctFromMissingOnes() throws {
        let rule = try #require(onlyRule(cnp("""
              egress:
              - toEndpoints: []
              - toEntities: [world]
            """)))
        #expect(rule.egress[0].endpoints == [])
        #expect(!rule.egress[0].hasNoL3)
        #expect(rule.egress[1].endpoints == nil)
        #expect(rule.egress[1].entities == ["world"])
    }

    @Test func everyKnownEntityIsAccepted() throws {
        let list = knownEntities.joined(separator: ", ")
        let rule = try #require(onlyRule(cnp("  egress:\n  - toEntities: [\(list)]\n  ingress:\n  - fromEntities: [\(list)]\n")))
        #expect(rule.egress[0].entities == knownEntities)
        #expect(rule.ingress[0].entities == knownEntities)
    }

    @Test func cidrsAndCidrSets() throws {
        let rule = try #require(onlyRule(cnp("""
              egress:
              - toCIDR: [192.0.2.1, 10.0.0.0/8, "2001:db8::/32", "::1"]
              - toCIDRSet:
                - cidr: 10.0.0.0/8
                  except: [10.96.0.0/12, 10.1.2.3]
                - cidrGroupRef: my-group
                - cidrGroupSelector:
                    matchLabels: {env: prod}
            """)))
        let cidrs = try #require(rule.egress[0].cidrs)
        #expect(cidrs.map(\.description) == ["192.0.2.1/32", "10.0.0.0/8", "2001:db8::/32", "::1/128"])
        let sets = try #require(rule.egress[1].cidrSets)
        #expect(sets[0].cidr?.description == "10.0.0.0/8")
        #expect(sets[0].except.map(\.description) == ["10.96.0.0/12", "10.1.2.3/32"])
        #expect(sets[1].cidrGroupRef == "my-group" && sets[1].cidr == nil)
        #expect(sets[2].cidrGroupSelector == LabelSelector(matchLabels: [("env", "prod")]))
    }

    @Test func portsProtocolsAndNamedPorts() throws {
        let rule = try #require(onlyRule(cnp("""
              ingress:
              - toPorts:
                - ports:
                  - port: "80"
                  - port: "8080"
                    endPort: 8090
                    protocol: tcp
                  - port: HTTP-alt
                    protocol: Udp
                  - port: "0"
                    protocol: SCTP
                  - port: "007"
                  - protocol: VRRP
                  - port: "0"
                    protocol: IGMP
                  - port: "443"
                    endPort: 0
            """)))
        let ports = try #require(rule.ingress.first?.toPorts?.first?.ports)
        #expect(ports == [
            PortProtocol(port: "80", proto: .any),
            PortProtocol(port: "8080", endPort: 8090, proto: .tcp),
            PortProtocol(port: "http-alt", proto: .udp),
            PortProtocol(port: "0", proto: .sctp),
            PortProtocol(port: "7", proto: .any),
            PortProtocol(port: "0", proto: .vrrp),
            PortProtocol(port: "0", proto: .igmp),
            PortProtocol(port: "443", proto: .any),
        ])
        #expect(ports[1].numericPort == 8080)
        #expect(ports[2].numericPort == nil)
    }

    @Test func icmpRulesByNumberAndName() throws {
        let rule = try #require(onlyRule(cnp("""
              egress:
              - icmps:
                - fields:
                  - type: 8
                  - type: EchoRequest
                  - type: "0"
                    family: IPv4
                  - type: EchoRequest
                    family: IPv6
                  - type: PacketTooBig
                    family: IPv6
                  - type: 255
                    family: ""
                - fields:
                  - type: DestinationUnreachable
            """)))
        let icmps = try #require(rule.egress.first?.icmps)
        #expect(icmps == [
            ICMPField(family: "IPv4", type: 8), ICMPField(family: "IPv4", type: 8), ICMPField(family: "IPv4", type: 0),
            ICMPField(family: "IPv6", type: 128), ICMPField(family: "IPv6", type: 2), ICMPField(family: "IPv4", type: 255),
            ICMPField(family: "IPv4", type: 3),
        ])
        #expect(rule.egress[0].toPorts == nil)
    }

    @Test func everyICMPNameOfTheReferenceResolves() {
        #expect(icmpV4TypeNames.count == 14)
        #expect(icmpV6TypeNames.count == 27)
        #expect(icmpV4TypeNames["EchoRequest"] == 8 && icmpV4TypeNames["Echo"] == 8 && icmpV4TypeNames["ExtendedEchoReply"] == 43)
        #expect(icmpV6TypeNames["EchoRequest"] == 128 && icmpV6TypeNames["ExtendedEchoReply"] == 161)
    }

    @Test func httpKafkaAndGenericL7Rules() throws {
        let rule = try #require(onlyRule(cnp("""
              ingress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http:
                    - method: GET
                      path: "/public/.*"
                      host: "example\\\\.com"
                      headers: ["X-Token: abc", "X-Present"]
                      headerMatches:
                      - name: X-Env
                        value: prod
                        mismatch: LOG
                    - {}
                - ports: [{port: "9092", protocol: TCP}]
                  rules:
                    kafka:
                    - {role: produce, topic: orders}
                    - {apiKey: fetch, apiVersion: "3", clientID: c1}
                - ports: [{port: "4000", protocol: TCP}]
                  rules:
                    l7proto: binarymemcache
                    l7:
                    - {opcode: get, key: k}
            """)))
        let portRules = try #require(rule.ingress.first?.toPorts)
        let http = try #require(portRules[0].rules?.http)
        #expect(http.count == 2)
        #expect(http[0].method == "GET" && http[0].path == "/public/.*" && http[0].host == "example\\.com")
        #expect(http[0].headers == ["X-Token: abc", "X-Present"])
        #expect(http[0].headerMatches.first?.name == "X-Env" && http[0].headerMatches.first?.mismatch == "LOG")
        #expect(http[1] == HTTPRule())
        #expect(portRules[0].parser == .http)
        #expect(portRules[1].rules?.kafka == [KafkaRule(role: "produce", topic: "orders"), KafkaRule(apiKey: "fetch", apiVersion: "3", clientID: "c1")])
        #expect(portRules[1].parser == .kafka)
        #expect(portRules[2].rules?.l7proto == "binarymemcache")
        #expect(portRules[2].rules?.l7 == [["opcode": "get", "key": "k"]])
        #expect(portRules[2].parser == .generic("binarymemcache"))
    }

    @Test func tlsServerNamesAndListener() throws {
        let rule = try #require(onlyRule(cnp("""
              egress:
              - toFQDNs: [{matchPattern: "*.example.com"}]
                toPorts:
                - ports: [{port: "443", protocol: TCP}]
                  serverNames: [api.example.com, www.example.com]
                  terminatingTLS:
                    secret: {name: tls-in, namespace: kube-system}
                  originatingTLS:
                    secret: {name: ca}
                    trustedCA: ca.crt
                - ports: [{port: "8443", protocol: TCP}]
                  listener:
                    envoyConfig: {kind: CiliumClusterwideEnvoyConfig, name: cec}
                    name: l1
                    priority: 10
            """)))
        let pr = try #require(rule.egress.first?.toPorts)
        #expect(pr[0].serverNames == ["api.example.com", "www.example.com"])
        #expect(pr[0].terminatingTLS?.secretName == "tls-in" && pr[0].terminatingTLS?.secretNamespace == "kube-system")
        #expect(pr[0].originatingTLS?.trustedCA == "ca.crt")
        #expect(pr[0].parser == .tls)
        #expect(pr[1].listener == ListenerRef(envoyConfigKind: "CiliumClusterwideEnvoyConfig", envoyConfigName: "cec", name: "l1", priority: 10))
        #expect(pr[1].parser == .crd)
    }

    @Test func denyRulesServicesAuthAndRuleMetadata() throws {
        let rule = try #require(onlyRule(cnp("""
              ingressDeny:
              - fromCIDR: [198.51.100.0/24]
                toPorts:
                - ports: [{port: "22", protocol: TCP}]
              egressDeny:
              - toEntities: [world]
              egress:
              - toServices:
                - k8sService: {serviceName: backend-service, namespace: tenant-a}
                - k8sServiceSelector:
                    selector: {matchLabels: {app: x}}
              - toEndpoints: [{}]
                authentication:
                  mode: required
              enableDefaultDeny:
                ingress: false
                egress: true
              labels:
              - {key: owner, value: team-a, source: k8s}
              - "unspec:purpose=lab"
              description: "lab policy"
              log:
                value: "lab-log"
            """)))
        #expect(rule.ingressDeny.first?.cidrs?.map(\.description) == ["198.51.100.0/24"])
        #expect(rule.ingressDeny.first?.toPorts?.first?.ports == [PortProtocol(port: "22", proto: .tcp)])
        #expect(rule.egressDeny.first?.entities == ["world"])
        #expect(rule.egress[0].services == [
            ServiceSelector(serviceName: "backend-service", namespace: "tenant-a"),
            ServiceSelector(selector: LabelSelector(matchLabels: [("app", "x")])),
        ])
        #expect(rule.egress[1].authentication == .required)
        #expect(rule.enableDefaultDeny == DefaultDenyConfig(ingress: false, egress: true))
        #expect(rule.labels == ["k8s:owner=team-a", "unspec:purpose=lab"])
        #expect(rule.description == "lab policy")
        #expect(rule.log == "lab-log")
    }

    @Test func emptyRequiresListIsAllowed() throws {
        // Cilium 1.19 keeps `fromRequires` with MaxItems=0: an empty list is still accepted.
        let rule = try #require(onlyRule(cnp("  ingress:\n  - fromRequires: []\n  egress:\n  - toRequires: []\n")))
        #expect(rule.ingress[0].requires == [])
        #expect(rule.egress[0].requires == [])
    }

    @Test func emptyL3ListDoesNotCountAsACombination() throws {
        // Cilium counts non-empty L3 members only.
        let rule = try #require(onlyRule(cnp("  egress:\n  - toEndpoints: []\n    toCIDR: [10.0.0.0/8]\n")))
        #expect(rule.egress[0].endpoints == [])
        #expect(rule.egress[0].cidrs?.count == 1)
    }

    @Test func positionsAreRecordedOnTheSourceTree() throws {
        let objects = decodeOK(labDefaultPolicy, file: "p.yaml")
        let source = try #require(objects.first?.ciliumPolicy?.source)
        #expect(source.position == SourcePosition(file: "p.yaml", line: 1, column: 1))
        guard case let .mapping(pairs) = source.value else { Issue.record("not a mapping"); return }
        #expect(pairs.map(\.key) == ["apiVersion", "kind", "metadata", "spec"])
        #expect(pairs[3].keyPosition == SourcePosition(file: "p.yaml", line: 6, column: 1))
        #expect(pairs[1].value.position == SourcePosition(file: "p.yaml", line: 2, column: 7))
    }
}
