// Kubernetes NetworkPolicy (networking.k8s.io/v1): decoding, policyTypes defaulting and the
// API server's checks, with exact positions.
import Foundation
import Testing
@testable import PolicyAPI

/// A NetworkPolicy in tenant-a with `podSelector: {}`; `rest` starts at line 8.
func np(_ rest: String) -> String {
    """
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: test
      namespace: tenant-a
    spec:
      podSelector: {}

    """ + rest
}

func onlyNetworkPolicy(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> KubernetesNetworkPolicy? {
    let objects = decodeOK(text, sourceLocation: sourceLocation)
    guard objects.count == 1, let p = objects[0].kubernetesPolicy else {
        Issue.record("expected one NetworkPolicy, got \(objects)", sourceLocation: sourceLocation)
        return nil
    }
    return p
}

@Suite("NetworkPolicy decoding")
struct NetworkPolicyDecodingTests {
    @Test func fullPolicy() throws {
        let text = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata:
              name: allow-frontend
              namespace: tenant-a
            spec:
              podSelector:
                matchLabels:
                  app: backend-service
              ingress:
              - from:
                - podSelector:
                    matchLabels:
                      app: frontend-service
                - namespaceSelector:
                    matchLabels:
                      kubernetes.io/metadata.name: tenant-b
                  podSelector: {}
                - ipBlock:
                    cidr: 192.0.2.0/24
                    except: [192.0.2.128/25]
                ports:
                - port: 80
                - port: http
                  protocol: TCP
                - protocol: UDP
                - port: 8000
                  endPort: 8080
              - {}
            """
        let objects = decodeOK(text)
        #expect(objects.first?.kind == "NetworkPolicy")
        let p = try #require(onlyNetworkPolicy(text))
        #expect(p.reference == PolicyReference(kind: .networkPolicy, namespace: "tenant-a", name: "allow-frontend"))
        #expect(p.podSelector == LabelSelector(matchLabels: [("app", "backend-service")]))
        #expect(p.policyTypes == [.ingress])
        #expect(p.egress == nil)
        let ingress = try #require(p.ingress)
        try #require(ingress.count == 2)
        let peers = ingress[0].peers
        try #require(peers.count == 3)
        #expect(peers[0].podSelector == LabelSelector(matchLabels: [("app", "frontend-service")]))
        #expect(peers[0].namespaceSelector == nil && peers[0].ipBlock == nil)
        #expect(peers[1].namespaceSelector == LabelSelector(matchLabels: [("kubernetes.io/metadata.name", "tenant-b")]))
        #expect(peers[1].podSelector == LabelSelector())
        #expect(peers[2].ipBlock?.cidr?.description == "192.0.2.0/24")
        #expect(peers[2].ipBlock?.except.map(\.description) == ["192.0.2.128/25"])
        #expect(peers[2].podSelector == nil)
        #expect(ingress[0].ports == [
            .init(proto: .tcp, port: "80", endPort: nil),
            .init(proto: .tcp, port: "http", endPort: nil),
            .init(proto: .udp, port: nil, endPort: nil),
            .init(proto: .tcp, port: "8000", endPort: 8080),
        ])
        // `- {}` allows from everywhere on every port.
        #expect(ingress[1].peers.isEmpty && ingress[1].ports.isEmpty)
    }

    @Test func egressPolicyWithSCTP() throws {
        let p = try #require(onlyNetworkPolicy(np("""
              policyTypes: [Egress]
              egress:
              - to:
                - namespaceSelector: {}
                ports:
                - protocol: SCTP
                  port: 9999
            """)))
        #expect(p.policyTypes == [.egress])
        #expect(p.ingress == nil)
        #expect(p.egress?.first?.peers.first?.namespaceSelector == LabelSelector())
        #expect(p.egress?.first?.ports == [.init(proto: .sctp, port: "9999", endPort: nil)])
    }

    @Test func policyTypesDefaulting() throws {
        // Missing (or empty) policyTypes: Ingress, plus Egress when there is at least one egress rule.
        #expect(onlyNetworkPolicy(np(""))?.policyTypes == [.ingress])
        #expect(onlyNetworkPolicy(np("  ingress: [{}]\n"))?.policyTypes == [.ingress])
        #expect(onlyNetworkPolicy(np("  egress: [{}]\n"))?.policyTypes == [.ingress, .egress])
        #expect(onlyNetworkPolicy(np("  egress: []\n"))?.policyTypes == [.ingress])
        #expect(onlyNetworkPolicy(np("  policyTypes: []\n  egress: [{}]\n"))?.policyTypes == [.ingress, .egress])
        #expect(onlyNetworkPolicy(np("  policyTypes: []\n"))?.policyTypes == [.ingress])
        // Written policyTypes are kept as written.
        #expect(onlyNetworkPolicy(np("  policyTypes: [Egress]\n"))?.policyTypes == [.egress])
        #expect(onlyNetworkPolicy(np("  policyTypes: [Egress, Ingress]\n  egress: [{}]\n"))?.policyTypes == [.egress, .ingress])
        #expect(onlyNetworkPolicy(np("  policyTypes: [Ingress]\n  egress: [{}]\n"))?.policyTypes == [.ingress])
    }

    @Test func defaultDenyPolicies() throws {
        let denyIngress = try #require(onlyNetworkPolicy(np("")))
        #expect(denyIngress.ingress == nil && denyIngress.egress == nil)
        let denyAll = try #require(onlyNetworkPolicy(np("  policyTypes: [Ingress, Egress]\n")))
        #expect(denyAll.policyTypes == [.ingress, .egress])
        let emptyLists = try #require(onlyNetworkPolicy(np("  ingress: []\n  egress: []\n  policyTypes: [Ingress, Egress]\n")))
        #expect(emptyLists.ingress == [] && emptyLists.egress == [])
    }

    @Test func nameCanBeOverriddenByCiliumAnnotation() throws {
        let text = np("  ingress: [{}]\n").replacingOccurrences(of: "  name: test\n", with: "  name: test\n  annotations:\n    io.cilium.k8s.policy.name: renamed\n")
        let p = try #require(onlyNetworkPolicy(text))
        #expect(p.reference.name == "renamed")
    }

    @Test func defaultNamespace() throws {
        let text = np("").replacingOccurrences(of: "  namespace: tenant-a\n", with: "")
        let p = try #require(decodeOK(text, namespace: "tenant-b").first?.kubernetesPolicy)
        #expect(p.reference.namespace == "tenant-b")
    }
}

@Suite("NetworkPolicy validation")
struct NetworkPolicyValidationTests {
    @Test func peerAndPortErrorsAreAllReported() {
        let text = np("""
              ingress:
              - from:
                - ipBlock:
                    cidr: 10.0.0.0/8
                    except:
                    - 10.0.0.0/8
                    - 11.0.0.0/16
                  podSelector: {}
                - {}
                - ipBlock:
                    cidr: 10.0.0.1
                ports:
                - port: 0
                - port: 80
                  protocol: ICMP
                - port: HTTP
                - port: http
                  endPort: 90
                - port: 100
                  endPort: 90
                - protocol: tcp
            """)
        let p = "spec.ingress[0]"
        expectErrors(text, [
            Diag(10, 7, "\(p).from[0]", "may not specify both ipBlock and another peer"),
            Diag(13, 11, "\(p).from[0].ipBlock.except[0]", "must be a strict subset of `cidr` 10.0.0.0/8"),
            Diag(14, 11, "\(p).from[0].ipBlock.except[1]", "must be a strict subset of `cidr` 10.0.0.0/8"),
            Diag(16, 7, "\(p).from[1]", "must specify a peer (podSelector, namespaceSelector or ipBlock)"),
            Diag(18, 15, "\(p).from[2].ipBlock.cidr", "invalid CIDR address: \"10.0.0.1\""),
            Diag(20, 13, "\(p).ports[0].port", "must be between 1 and 65535, inclusive"),
            Diag(22, 17, "\(p).ports[1].protocol", "unsupported value \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
            Diag(23, 13, "\(p).ports[2].port", "invalid port \"HTTP\": must be a number 1..65535 or a port name (at most 15 lowercase letters, digits and '-', with at least one letter)"),
            Diag(25, 16, "\(p).ports[3].endPort", "may not be specified when `port` is not a number"),
            Diag(27, 16, "\(p).ports[4].endPort", "must be greater than or equal to `port`"),
            Diag(28, 17, "\(p).ports[5].protocol", "unsupported value \"tcp\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
        ])
    }

    @Test func portZeroIsRejected() {
        expectError(np("  egress:\n  - ports:\n    - port: 0\n      protocol: UDP\n"),
                    10, 13, "spec.egress[0].ports[0].port", "must be between 1 and 65535, inclusive")
        expectError(np("  egress:\n  - ports:\n    - port: 65536\n"),
                    10, 13, "spec.egress[0].ports[0].port", "must be between 1 and 65535, inclusive")
        // port is an IntOrString: a quoted number is a string, and a port name needs a letter.
        expectError(np("  egress:\n  - ports:\n    - port: \"443\"\n"),
                    10, 13, "spec.egress[0].ports[0].port", "invalid port \"443\": must be a number 1..65535 or a port name (at most 15 lowercase letters, digits and '-', with at least one letter)")
        expectError(np("  egress:\n  - ports:\n    - port: [80]\n"),
                    10, 13, "spec.egress[0].ports[0].port", "expected a port number or name, found list")
    }

    @Test func ipBlockWithAnotherPeerInEgress() {
        let text = np("""
              egress:
              - to:
                - namespaceSelector: {}
                  ipBlock:
                    cidr: 0.0.0.0/0
            """)
        expectError(text, 10, 7, "spec.egress[0].to[0]", "may not specify both ipBlock and another peer")
    }

    @Test func exceptMustBeAStrictSubset() {
        let ok = onlyNetworkPolicy(np("  egress:\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except: [10.0.0.0/8, 0.0.0.0/1]\n"))
        #expect(ok?.egress?.first?.peers.first?.ipBlock?.except.count == 2)
        expectError(np("  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/16\n        except: [10.0.0.0/8]\n"),
                    12, 18, "spec.egress[0].to[0].ipBlock.except[0]", "must be a strict subset of `cidr` 10.0.0.0/16")
        expectError(np("  egress:\n  - to:\n    - ipBlock:\n        cidr: \"2001:db8::/32\"\n        except: [10.0.0.0/8]\n"),
                    12, 18, "spec.egress[0].to[0].ipBlock.except[0]", "must be a strict subset of `cidr` 2001:db8::/32")
        expectError(np("  egress:\n  - to:\n    - ipBlock: {except: []}\n"),
                    10, 16, "spec.egress[0].to[0].ipBlock.cidr", "required field is missing")
    }

    @Test func specLevelErrors() {
        let text = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata:
              name: test
            spec:
              policyTypes: [Ingress, ingress, Ingress]
            """
        expectErrors(text, [
            Diag(6, 3, "spec.podSelector", "required field is missing (use {} to select every pod of the namespace)"),
            Diag(6, 16, "spec.policyTypes", "duplicate value"),
            Diag(6, 26, "spec.policyTypes[1]", "unsupported value \"ingress\": supported values: \"Ingress\", \"Egress\""),
        ])
        expectError("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: test\n",
                    1, 1, "spec", "required field is missing")
    }

    @Test func unknownFieldsInNetworkPolicy() {
        let text = np("""
              ingress:
              - from:
                - podSelectr: {}
                port:
                - port: 80
                  proto: TCP
              egres: []
            """)
        expectErrors(text, [
            Diag(10, 7, "spec.ingress[0].from[0]", "must specify a peer (podSelector, namespaceSelector or ipBlock)"),
            Diag(10, 7, "spec.ingress[0].from[0].podSelectr", "unknown field \"podSelectr\""),
            Diag(11, 5, "spec.ingress[0].port", "unknown field \"port\""),
            Diag(14, 3, "spec.egres", "unknown field \"egres\""),
        ])
    }

    @Test func selectorsInNetworkPolicyAreValidated() {
        let text = np("""
              ingress:
              - from:
                - namespaceSelector:
                    matchExpressions:
                    - key: team
                      operator: in
                      values: [a]
            """)
        expectError(text, 13, 21, "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].operator",
                    "\"in\" is not a valid selector operator (In, NotIn, Exists, DoesNotExist)")
    }
}
