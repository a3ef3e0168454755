import Testing
@testable import PolicyAPI

@Test func zzExplore() {
    let cases: [(String, String)] = [
("a.yaml", """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: x
spec:
  endpointSelector: {}
  egress:
  - toEndpoints:
    - {}
    toCIDR:
    - 10.0.0.0/8
    toPorts:
    - ports:
      - protocol: TCP
        port: "70000"
      - port: 80
"""),
("b.yaml", """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: x
  name: y
spec: {
"""),
("c.json", """
{"apiVersion": "v1", "kind": "Namespace",
 "metadata": {"name": "a", "name": "b"}}
"""),
("d.json", """
{"apiVersion": "v1", "kind": "Namespace",
 "metadata": {"name": "a",}}
"""),
("e.yaml", """
apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels:
    x: 1
---
---
apiVersion: v1
kind: Foo
"""),
("f.yaml", "a: b\n c: d\n"),
("g.yaml", "a: [b\n"),
("h.yaml", "a: &x b\nc: *x\n"),
    ]
    for (f, t) in cases {
        do {
            let objs = try APIObjectDecoder.decode(text: t, file: f)
            print("OK \(f): \(objs)")
        } catch {
            for d in error.diagnostics { print("ERR \(f): \(d.position.line):\(d.position.column) [\(d.path)] \(d.message)") }
        }
    }
}
