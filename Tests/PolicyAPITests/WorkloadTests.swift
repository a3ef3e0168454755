// Namespace, Pod, Deployment and Service manifests.
import Foundation
import Testing
@testable import PolicyAPI

@Suite("Workload objects")
struct WorkloadDecodingTests {
    @Test func namespaceGetsItsNameLabel() throws {
        let text = """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: tenant-a
              namespace: ignored
              labels:
                team: a
                kubernetes.io/metadata.name: something-else
            """
        let ns = try #require(decodeOK(text).first?.namespaceObject)
        #expect(ns == Namespace(name: "tenant-a", labels: ["team": "a", "kubernetes.io/metadata.name": "tenant-a"]))
        let bare = try #require(decodeOK("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n").first?.namespaceObject)
        #expect(bare.labels == ["kubernetes.io/metadata.name": "kube-system"])
    }

    @Test func podWithNamedPorts() throws {
        let text = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: frontend-service
              namespace: tenant-a
              labels:
                app: frontend-service
            spec:
              containers:
              - name: curl
                image: curlimages/curl
                command: ["sleep", "infinity"]
                args: []
                ports:
                - containerPort: 8080
                  name: http-alt
                - containerPort: 53
                  protocol: UDP
                  name: dns
                - containerPort: 9000
                env:
                - name: A
                  value: b
              serviceAccountName: fe
              hostNetwork: false
              nodeName: kind-worker
              dnsPolicy: ClusterFirst
              restartPolicy: Never
            """
        let pod = try #require(decodeOK(text).first?.podObject)
        #expect(pod.name == "frontend-service" && pod.namespace == "tenant-a")
        #expect(pod.labels == ["app": "frontend-service"])
        #expect(pod.spec.serviceAccountName == "fe")
        #expect(pod.spec.restartPolicy == "Never")
        #expect(!pod.spec.hostNetwork)
        let c = try #require(pod.spec.containers.first)
        #expect(c.name == "curl" && c.image == "curlimages/curl" && c.command == ["sleep", "infinity"] && c.args.isEmpty)
        #expect(c.ports.count == 3)
        #expect(pod.namedPorts == ["http-alt": PortProtocol(port: "8080", proto: .tcp), "dns": PortProtocol(port: "53", proto: .udp)])
    }

    @Test func podDefaults() throws {
        let pod = try #require(decodeOK("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [{name: c}]\n", namespace: "tenant-c").first?.podObject)
        #expect(pod.namespace == "tenant-c")
        #expect(pod.spec.serviceAccountName == "default" && pod.spec.restartPolicy == "Always" && !pod.spec.hostNetwork)
        #expect(pod.labels.isEmpty && pod.namedPorts.isEmpty)
    }

    @Test func deployment() throws {
        let text = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: backend
              namespace: tenant-a
            spec:
              replicas: 2
              selector:
                matchLabels:
                  app: backend-service
                matchExpressions:
                - {key: tier, operator: In, values: [web]}
              strategy:
                type: RollingUpdate
              template:
                metadata:
                  labels:
                    app: backend-service
                    tier: web
                spec:
                  containers:
                  - name: web
                    image: nginx
                    ports:
                    - containerPort: 80
                      name: http
            """
        let d = try #require(decodeOK(text).first?.deploymentObject)
        #expect(d.name == "backend" && d.namespace == "tenant-a" && d.replicas == 2)
        #expect(d.selector == LabelSelector(matchLabels: [("app", "backend-service")], matchExpressions: [.init(key: "tier", op: .in, values: ["web"])]))
        #expect(d.templateLabels == ["app": "backend-service", "tier": "web"])
        #expect(d.templateSpec.containers.first?.ports.first?.name == "http")
        let one = try #require(decodeOK(text.replacingOccurrences(of: "  replicas: 2\n", with: "")).first?.deploymentObject)
        #expect(one.replicas == 1)
    }

    @Test func serviceOfTheLab() throws {
        let text = """
            apiVersion: v1
            kind: Service
            metadata:
              name: backend-service
              namespace: tenant-a
            spec:
              selector:
                app: backend-service
              ports:
              - port: 80
                targetPort: 80
              - name: alt
                port: 8080
                targetPort: http
                protocol: TCP
              - port: 53
                protocol: UDP
              clusterIP: 10.96.16.75
            """
        let s = try #require(decodeOK(text).first?.serviceObject)
        #expect(s.name == "backend-service" && s.namespace == "tenant-a")
        #expect(s.selector == ["app": "backend-service"])
        #expect(s.clusterIP == "10.96.16.75")
        #expect(s.ports == [
            ServicePort(name: nil, port: 80, targetPort: "80", proto: .tcp),
            ServicePort(name: "alt", port: 8080, targetPort: "http", proto: .tcp),
            ServicePort(name: nil, port: 53, targetPort: "53", proto: .udp),
        ])
        let headless = try #require(decodeOK(text.replacingOccurrences(of: "10.96.16.75", with: "None")).first?.serviceObject)
        #expect(headless.clusterIP == "None")
    }

    @Test func labManifestWithPodsAndService() {
        // The lab's tenant-services.yaml shape: two pods and a service in one file.
        let text = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: frontend-service
              labels: {app: frontend-service}
            spec:
              containers:
              - {name: frontend, image: curlimages/curl}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: backend-service
              labels: {app: backend-service}
            spec:
              containers:
              - name: backend
                image: nginx
                ports: [{containerPort: 80}]
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: backend-service
            spec:
              selector: {app: backend-service}
              ports: [{port: 80}]
            """
        let objects = decodeOK(text, namespace: "tenant-b")
        #expect(objects.map(\.kind) == ["Pod", "Pod", "Service"])
        #expect(objects.compactMap { $0.podObject?.namespace } == ["tenant-b", "tenant-b"])
        #expect(objects.last?.serviceObject?.namespace == "tenant-b")
    }
}

@Suite("Workload validation")
struct WorkloadValidationTests {
    @Test func serviceErrors() {
        let text = """
            apiVersion: v1
            kind: Service
            metadata:
              name: backend-service
              namespace: tenant-a
            spec:
              selector:
                app: backend-service
              ports:
              - port: 80
                targetPort: http
                protocol: TCP
                name: web
              - port: 70000
              - port: 81
                targetPort: 0
              - targetPort: 80
                name: noport
              - port: 82
                protocol: ICMP
                name: icmp
              type: NodePort
              clusterIP: 10.96.0.300
            """
        expectErrors(text, [
            Diag(14, 11, "spec.ports[1].port", "70000 is out of range 1..65535"),
            Diag(16, 17, "spec.ports[2].targetPort", "must be between 1 and 65535, inclusive"),
            Diag(17, 5, "spec.ports[3].port", "required field is missing"),
            Diag(20, 15, "spec.ports[4].protocol", "unsupported value \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
            Diag(22, 9, "spec.type", "Porin supports Services of type ClusterIP only, not \"NodePort\""),
            Diag(23, 14, "spec.clusterIP", "invalid IP address \"10.96.0.300\""),
        ])
    }

    @Test func deploymentSelectorMustMatchTemplate() {
        let text = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: 3
              selector:
                matchLabels:
                  app: web
              template:
                metadata:
                  labels:
                    app: other
                spec:
                  containers:
                  - name: web
                    image: nginx
            """
        expectError(text, 8, 5, "spec.selector", "`selector` does not match template `labels`")
    }

    @Test func deploymentMissingParts() {
        expectErrors("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: -1\n", [
            Diag(6, 3, "spec.selector", "required field is missing"),
            Diag(6, 3, "spec.template", "required field is missing"),
            Diag(6, 13, "spec.replicas", "-1 is out of range 0..10000"),
        ].sorted { ($0.line, $0.column) < ($1.line, $1.column) })
    }

    @Test func podErrors() {
        let text = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
            spec:
              restartPolicy: Sometimes
              hostNetwork: yes
              containers:
              - name: a
                ports:
                - containerPort: 80
                  name: Http
                - containerPort: 0
                  protocol: TCP
                  name: ok
                - name: noport
              - name: b
                imag: x
            """
        expectErrors(text, [
            Diag(6, 18, "spec.restartPolicy", "unsupported value \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""),
            Diag(7, 16, "spec.hostNetwork", "expected true or false, found string"),
            Diag(12, 13, "spec.containers[0].ports[0].name", "invalid port name \"Http\": at most 15 lowercase letters, digits and '-', with at least one letter"),
            Diag(13, 22, "spec.containers[0].ports[1].containerPort", "0 is out of range 1..65535"),
            Diag(16, 7, "spec.containers[0].ports[2].containerPort", "required field is missing"),
            Diag(18, 5, "spec.containers[1].imag", "unknown field \"imag\""),
        ])
    }

    @Test func podStructureErrors() {
        expectError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n  - name: a\n",
                    7, 3, "spec.containers", "duplicate container name \"a\"")
        expectError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostname: h\n",
                    6, 3, "spec.containers", "required field is missing")
        expectError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n", 1, 1, "spec", "required field is missing")
        expectError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [{image: x}]\n",
                    6, 16, "spec.containers[0].name", "required field is missing")
    }

    @Test func labelValuesMustBeStrings() {
        expectError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    enforced: true\n",
                    6, 15, "metadata.labels.enforced", "must be a string, found boolean (write it quoted: \"true\")")
    }
}
