// The two readers under the decoder: the strict JSON parser (positions, RFC 8259 grammar,
// duplicate keys) and the YAML reader (syntax errors, duplicate keys, scalar styles).
import Foundation
import Testing
@testable import PolicyAPI

/// Parses `text` with the JSON reader and returns its single error.
func jsonError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Diag? {
    do {
        _ = try ManifestLoader.documents(text: text, file: "t.json")
        Issue.record("expected a JSON error", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.diagnostics.count == 1, sourceLocation: sourceLocation)
        return error.diagnostics.first.map(Diag.init)
    }
}

@Suite("JSON reader")
struct JSONParserTests {
    @Test func positionsOfValuesAndKeys() throws {
        let text = "{\n  \"a\": [1, \"x\", {\"b\": null}],\n\t\"c\": true\n}"
        let docs = try ManifestLoader.documents(text: text, file: "t.json")
        try #require(docs.count == 1)
        let root = docs[0]
        #expect(root.position == SourcePosition(file: "t.json", line: 1, column: 1))
        guard case let .mapping(pairs) = root.value else { Issue.record("not a mapping"); return }
        #expect(pairs.map(\.key) == ["a", "c"])
        #expect(pairs[0].keyPosition == SourcePosition(file: "t.json", line: 2, column: 3))
        #expect(pairs[0].value.position == SourcePosition(file: "t.json", line: 2, column: 8))
        guard case let .sequence(items) = pairs[0].value.value else { Issue.record("not a list"); return }
        #expect(items.map(\.position.column) == [9, 12, 17])
        #expect(items[0].value == .scalar("1", .plain))
        #expect(items[1].value == .scalar("x", .quoted))
        // A tab is one column.
        #expect(pairs[1].keyPosition == SourcePosition(file: "t.json", line: 3, column: 2))
        #expect(pairs[1].value.position.column == 7)
        #expect(root.toAny() == .object([("a", .list([.int(1), .string("x"), .object([("b", .null)])])), ("c", .bool(true))]))
    }

    @Test func columnsCountUnicodeScalarsAndCRLF() throws {
        let text = "{\"é\": \"ü\",\r\n \"k\": 1}"
        let docs = try ManifestLoader.documents(text: text, file: "t.json")
        guard case let .mapping(pairs)? = docs.first?.value else { Issue.record("not a mapping"); return }
        #expect(pairs[0].value.position.column == 7)
        #expect(pairs[1].keyPosition == SourcePosition(file: "t.json", line: 2, column: 2))
        #expect(jsonError("{\"é\": 1, \"b\": tru}") == Diag(1, 15, "", "invalid JSON: unexpected token \"tru\""))
    }

    @Test func stringEscapes() throws {
        let text = #"{"s": "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}"#
        let docs = try ManifestLoader.documents(text: text, file: "t.json")
        guard case let .mapping(pairs)? = docs.first?.value else { Issue.record("not a mapping"); return }
        #expect(pairs[0].value.value == .scalar("a\"b\\c/d\u{8}\u{c}\n\r\té😀", .quoted))
    }

    @Test func syntaxErrors() {
        #expect(jsonError("") == Diag(1, 1, "", "invalid JSON: unexpected end of input"))
        #expect(jsonError("{\"a\": 1 \"b\": 2}") == Diag(1, 9, "", "invalid JSON: expected ',' or '}'"))
        #expect(jsonError("{\"a\": 1,}") == Diag(1, 9, "", "invalid JSON: expected a string key"))
        #expect(jsonError("{a: 1}") == Diag(1, 2, "", "invalid JSON: expected a string key"))
        #expect(jsonError("{\"a\" 1}") == Diag(1, 6, "", "invalid JSON: expected ':'"))
        #expect(jsonError("{\"a\": [1, 2}") == Diag(1, 12, "", "invalid JSON: expected ',' or ']'"))
        #expect(jsonError("{\"a\": \"abc") == Diag(1, 11, "", "invalid JSON: unterminated string"))
        #expect(jsonError("{\"a\": yes}") == Diag(1, 7, "", "invalid JSON: unexpected token \"yes\""))
        #expect(jsonError("{\"a\": \"\\q\"}") == Diag(1, 9, "", "invalid JSON: invalid escape"))
        #expect(jsonError("{\"a\": \"x\ny\"}") == Diag(1, 9, "", "invalid JSON: control character in string"))
        #expect(jsonError("{} {}") == Diag(1, 4, "", "invalid JSON: unexpected data after the end of the document"))
        #expect(jsonError("{\"a\": 1") == Diag(1, 8, "", "invalid JSON: unexpected end of input in an object"))
        #expect(jsonError("[1,\n 2,\n") == Diag(3, 1, "", "invalid JSON: unexpected end of input"))
        #expect(jsonError("{\"a\": }") == Diag(1, 7, "", "invalid JSON: unexpected character"))
        #expect(jsonError("{\"a\": \"\\u12\"}") == Diag(1, 9, "", "invalid JSON: invalid \\u escape"))
        #expect(jsonError("{\"a\": \"\\ud83d\\u0041\"}") == Diag(1, 19, "", "invalid JSON: invalid surrogate pair"))
        #expect(jsonError("{\"a\": \"\\udc00\"}")?.message == "invalid JSON: invalid \\u escape")
    }

    @Test func numbersFollowRFC8259() {
        for good in ["0", "-0", "12", "-12", "1.5", "0.25", "1e5", "1E+5", "-2.5e-3", "10.0E2"] {
            #expect(JSONManifestParser.isNumber(good), "\(good) is a JSON number")
        }
        for bad in ["", "-", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "0x10", "1.e5", "Infinity", "NaN", "1_000", "--1", "1.5.5"] {
            #expect(!JSONManifestParser.isNumber(bad), "\(bad) is not a JSON number")
        }
        #expect(jsonError("{\"a\": 0x10}") == Diag(1, 7, "", "invalid JSON: unexpected token \"0x10\""))
        #expect(jsonError("{\"a\": 01}") == Diag(1, 7, "", "invalid JSON: unexpected token \"01\""))
        #expect(jsonError("{\"a\": 1.}") == Diag(1, 7, "", "invalid JSON: unexpected token \"1.\""))
    }

    @Test func nestingLimit() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(jsonError(deep) == Diag(1, 513, "", "invalid JSON: nesting too deep"))
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? ManifestLoader.documents(text: "{\"a\": \(ok)}", file: "t.json"))?.count == 1)
    }

    @Test func duplicateKeyInJSON() {
        #expect(jsonError(#"{"apiVersion": "v1", "kind": "Namespace", "kind": "Pod"}"#) == Diag(1, 43, "", "duplicate key \"kind\""))
        // The same key in different objects is fine.
        #expect((try? ManifestLoader.documents(text: #"{"a": {"k": 1}, "b": {"k": 2}}"#, file: "t.json"))?.count == 1)
        // Through the decoder, a duplicate key rejects the file.
        expectErrors("{\"apiVersion\": \"v1\", \"kind\": \"Namespace\",\n \"metadata\": {\"name\": \"a\", \"name\": \"b\"}}",
                     file: "ns.json", [Diag(2, 28, "", "duplicate key \"name\"")])
    }

    @Test func brokenJSONThroughTheDecoder() {
        let text = """
            {
              "apiVersion": "cilium.io/v2",
              "kind": "CiliumNetworkPolicy",
              "metadata": {"name": "x"},
              "spec": {
                "endpointSelector": {},
                "egress": [{"toEndpoints": [{}]},]
              }
            }
            """
        expectErrors(text, file: "p.json", [Diag(7, 38, "", "invalid JSON: unexpected character")])
    }

    @Test func jsonDecodingErrorsHaveJSONPositions() {
        let text = """
            {
              "apiVersion": "cilium.io/v2",
              "kind": "CiliumNetworkPolicy",
              "metadata": {"name": "x"},
              "spec": {
                "endpointSelector": {},
                "egress": [{"toPorts": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}],
                "ingres": []
              }
            }
            """
        expectErrors(text, file: "p.json", [
            Diag(7, 49, "spec.egress[0].toPorts[0].ports[0].port", "must be a string, found integer (write it quoted: \"53\")"),
            Diag(8, 5, "spec.ingres", "unknown field \"ingres\""),
        ])
    }

    @Test func jsonListOfDocumentsIndexesPaths() {
        let text = """
            [
              {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
              {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "B"}}
            ]
            """
        expectErrors(text, file: "l.json", [Diag(3, 66, "[1].metadata.name", "invalid name \"B\": must be a lowercase DNS-1123 subdomain (letters, digits, '-' and '.')")])
    }
}

@Suite("YAML reader")
struct YAMLReaderTests {
    @Test func duplicateKeyInYAML() {
        let text = """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: a
              labels:
                team: a
                team: b
            """
        // Reported at the repeated key, as in JSON.
        expectErrors(text, [Diag(7, 5, "", "duplicate key \"team\"")])
        expectErrors("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, name: b}\n", [Diag(3, 21, "", "duplicate key \"name\"")])
        expectErrors("kind: Namespace\napiVersion: v1\nkind: Pod\n", [Diag(3, 1, "", "duplicate key \"kind\"")])
    }

    @Test func brokenYAML() {
        expectErrors("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n   labels: {}\n",
                     [Diag(5, 10, "", "invalid YAML: mapping values are not allowed in this context")])
        expectErrors("apiVersion: v1\nkind: Namespace\nmetadata: {name: a\n",
                     [Diag(4, 1, "", "invalid YAML: while parsing a flow mapping at 3:11: did not find expected ',' or '}'")])
        expectErrors("apiVersion: v1\nmetadata:\n\tname: a\n",
                     [Diag(3, 1, "", "invalid YAML: while scanning for the next token at 3:1: found character that cannot start any token")])
        expectErrors("a: \"unterminated\n", [Diag(2, 1, "", "invalid YAML: while scanning a quoted scalar at 1:4: found unexpected end of stream")])
    }

    @Test func brokenYAMLInALaterDocumentRejectsTheFile() {
        let text = labDefaultPolicy + "\n---\napiVersion: v1\nkind: Namespace\nmetadata: [\n"
        let errors = decodeErrors(text)
        #expect(errors.count == 1)
        #expect(errors.first?.line == 29)
        #expect(errors.first?.message.hasPrefix("invalid YAML:") == true)
    }

    @Test func scalarStyles() throws {
        let text = """
            a: 80
            b: "80"
            c: '80'
            d: !!str 80
            e: |
              80
            f: ~
            g:
            h: true
            i: 1.5
            j: text
            """
        let docs = try ManifestLoader.documents(text: text, file: "s.yaml")
        guard case let .mapping(pairs)? = docs.first?.value else { Issue.record("not a mapping"); return }
        let values = Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value) })
        #expect(values["a"]?.kindName == "integer")
        #expect(values["b"]?.kindName == "string" && values["c"]?.kindName == "string" && values["d"]?.kindName == "string")
        #expect(values["e"]?.value == .scalar("80\n", .quoted))
        #expect(values["f"]?.isNull == true && values["g"]?.isNull == true)
        #expect(values["h"]?.kindName == "boolean" && values["i"]?.kindName == "number" && values["j"]?.kindName == "string")
        #expect(values["a"]?.toAny() == .int(80) && values["b"]?.toAny() == .string("80") && values["i"]?.toAny() == .double(1.5))
        #expect(values["f"]?.toAny() == .null && values["h"]?.toAny() == .bool(true))
        // Positions: 1-based line and column of the value.
        #expect(values["b"]?.position == SourcePosition(file: "s.yaml", line: 2, column: 4))
        #expect(values["e"]?.position == SourcePosition(file: "s.yaml", line: 5, column: 4))
    }

    @Test func taggedStringPortIsAccepted() throws {
        let rule = try #require(onlyRule(cnp("  egress:\n  - toPorts:\n    - ports:\n      - port: !!str 443\n")))
        #expect(rule.egress[0].toPorts?.first?.ports == [PortProtocol(port: "443", proto: .any)])
    }

    @Test func yamlColumnsCountUnicodeScalars() {
        expectErrors("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: {ü: x, \"é!\": y}\n", [
            Diag(5, 12, "metadata.labels.ü", "invalid label key \"ü\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
            Diag(5, 18, "metadata.labels.é!", "invalid label key \"é!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
        ])
    }

    @Test func nodeEqualityIgnoresPositions() throws {
        let a = try ManifestLoader.documents(text: "x: [1, {y: z}]\n", file: "a.yaml")
        let b = try ManifestLoader.documents(text: "\n\nx:\n- 1\n- y: z\n", file: "b.yaml")
        #expect(a == b)
        #expect(a.first?.hashValue == b.first?.hashValue)
        let c = try ManifestLoader.documents(text: "x: [1, {y: \"z\"}]\n", file: "c.yaml")
        #expect(a != c)  // a quoted scalar differs from a plain one
    }
}
