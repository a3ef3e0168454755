// The control plane's admission and printing, without a cluster: what `porin apply` accepts,
// what it assigns, and what `porin get` prints.
import ClusterAPI
@testable import ControlPlane
import PolicyAPI
import Testing

@Suite("Admission")
struct AdmissionTests {
    static let existing: [String: StoredObject] = [
        "Namespace//default": StoredObject(kind: "Namespace", namespace: "", name: "default", document: #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}"#, created: 1),
        "Service/default/taken": StoredObject(kind: "Service", namespace: "default", name: "taken",
                                              document: #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"taken","namespace":"default"},"spec":{"clusterIP":"10.96.0.2","ports":[{"port":80}]}}"#, created: 1),
    ]
    let adm = Admission(existing: existing, serviceCIDR: IPPrefix("10.96.0.0/12")!, reservedServiceIPs: [IPAddress("10.96.0.1")!, IPAddress("10.96.0.10")!])

    func admit(_ text: String, namespace: String? = nil, create: Bool = false) throws(AdmissionError) -> [AdmittedObject] {
        try adm.admit(try adm.decode([SourceFile(name: "f.yaml", text: text)], namespace: namespace), create: create, now: 5)
    }

    @Test("Services get the next free ClusterIP; the namespace is filled in; a List's items are objects")
    func assigns() throws {
        let out = try admit("""
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {ports: [{port: 80}], selector: {app: a}}}
            - {apiVersion: v1, kind: Service, metadata: {name: b}, spec: {ports: [{port: 80}], selector: {app: b}}}
            """)
        #expect(out.map(\.stored.key) == ["Service/default/a", "Service/default/b"])
        #expect(out.map { Admission.clusterIP($0.stored)?.description } == ["10.96.0.3", "10.96.0.4"], "10.96.0.1, .2 (taken) and .10 are not handed out")
        #expect(out[0].stored.document.contains(#""namespace":"default""#))
    }

    @Test("a missing namespace, -n contradicting metadata.namespace, an existing object on create, a taken ClusterIP")
    func refuses() {
        func errors(_ text: String, namespace: String? = nil, create: Bool = false) -> [String] {
            do {
                _ = try admit(text, namespace: namespace, create: create)
                return []
            } catch { return error.lines }
        }
        #expect(errors("{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: nope}, spec: {containers: [{name: c, image: x}]}}")
            == ["f.yaml:1:60: metadata.namespace: namespaces \"nope\" not found (create it first: porin create ns nope)"])
        #expect(errors("{apiVersion: v1, kind: Namespace, metadata: {name: x}}", namespace: "default").isEmpty, "cluster-scoped objects ignore -n")
        let mismatch = errors("{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: other}, spec: {containers: [{name: c, image: x}]}}", namespace: "default")
        #expect(mismatch.count == 1 && mismatch[0].contains("does not match the namespace \"default\""), "\(mismatch)")
        #expect(errors("{apiVersion: v1, kind: Namespace, metadata: {name: default}}", create: true)
            == ["f.yaml:1:1: namespaces \"default\" already exists (error when creating \"f.yaml\")"])
        let taken = errors("{apiVersion: v1, kind: Service, metadata: {name: c}, spec: {clusterIP: 10.96.0.2, ports: [{port: 80}]}}")
        #expect(taken.count == 1 && taken[0].contains("provided IP is already allocated"), "\(taken)")
        let outside = errors("{apiVersion: v1, kind: Service, metadata: {name: c}, spec: {clusterIP: 10.1.0.2, ports: [{port: 80}]}}")
        #expect(outside.count == 1 && outside[0].contains("The range of valid IPs is 10.96.0.0/12"), "\(outside)")
        let immutable = errors("{apiVersion: v1, kind: Service, metadata: {name: taken}, spec: {clusterIP: 10.96.0.7, ports: [{port: 80}]}}")
        #expect(immutable.count == 1 && immutable[0].contains("field is immutable"), "\(immutable)")
    }

    @Test("headless Services keep clusterIP None")
    func headless() throws {
        let out = try admit("{apiVersion: v1, kind: Service, metadata: {name: h}, spec: {clusterIP: None, ports: [{port: 80}]}}")
        #expect(out[0].stored.document.contains(#""clusterIP":"None""#))
    }

    @Test("kubectl's AGE and table layout")
    func printing() {
        #expect([0, 45, 119, 120, 192, 600, 10_799, 10_800, 18_180, 100_000, 200_000, 700_000].map { Printer.age(Double($0)) }
            == ["0s", "45s", "119s", "2m", "3m12s", "10m", "179m", "3h", "5h3m", "27h", "2d7h", "8d"])
        #expect(Printer.table(["NAME", "AGE"], [["a", "1s"], ["longer-name", "2m"]]) == "NAME          AGE\na             1s\nlonger-name   2m\n")
    }

    @Test("documents come back out as JSON and YAML")
    func emit() throws {
        let doc = try #require(ManifestLoader.documents(text: "a: {b: [1, 'x: y', true]}\nc: ''\n", file: "t").first).toAny()
        #expect(doc.json(indent: nil) == #"{"a":{"b":[1,"x: y",true]},"c":""}"#)
        #expect(doc.yaml() == "a:\n  b:\n  - 1\n  - \"x: y\"\n  - true\nc: \"\"\n")
    }
}
