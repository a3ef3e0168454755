// Helpers shared by the PolicyAPI tests: decode a literal manifest and get its objects, or get its
// diagnostics as (line, column, path, message) tuples that are easy to compare.
import Foundation
import Testing
@testable import PolicyAPI

/// One expected or actual diagnostic. A `message` ending in `…` matches any message that starts
/// with the text before it (for messages that list every allowed value).
struct Diag: Equatable, CustomStringConvertible {
    var line: Int
    var column: Int
    var path: String
    var message: String

    init(_ line: Int, _ column: Int, _ path: String, _ message: String) {
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    init(_ d: ManifestDiagnostic) {
        self.init(d.position.line, d.position.column, d.path, d.message)
    }

    func matches(_ actual: Diag) -> Bool {
        guard line == actual.line, column == actual.column, path == actual.path else { return false }
        if message.hasSuffix("…") { return actual.message.hasPrefix(String(message.dropLast())) }
        return message == actual.message
    }

    var description: String { "\(line):\(column) [\(path)] \(message)" }
}

/// Decodes `text`, recording a test issue (with the diagnostics) if it does not decode.
func decodeOK(_ text: String, file: String = "test.yaml", namespace: String = "default",
              sourceLocation: SourceLocation = #_sourceLocation) -> [APIObject] {
    do {
        return try APIObjectDecoder.decode(text: text, file: file, defaultNamespace: namespace)
    } catch {
        Issue.record("expected \(file) to decode, got:\n\(error)", sourceLocation: sourceLocation)
        return []
    }
}

/// Decodes `text`, which must fail; returns the diagnostics (and checks they all name `file`).
func decodeErrors(_ text: String, file: String = "test.yaml", namespace: String = "default",
                  sourceLocation: SourceLocation = #_sourceLocation) -> [Diag] {
    do {
        let objects = try APIObjectDecoder.decode(text: text, file: file, defaultNamespace: namespace)
        Issue.record("expected \(file) to be rejected, but it decoded into \(objects.count) object(s)", sourceLocation: sourceLocation)
        return []
    } catch {
        for d in error.diagnostics where d.position.file != file {
            Issue.record("diagnostic names file \(d.position.file), expected \(file)", sourceLocation: sourceLocation)
        }
        #expect(!error.diagnostics.isEmpty, "a thrown ManifestErrors must carry diagnostics", sourceLocation: sourceLocation)
        return error.diagnostics.map(Diag.init)
    }
}

/// Checks that `text` is rejected with exactly the `expected` diagnostics, in this order.
func expectErrors(_ text: String, file: String = "test.yaml", _ expected: [Diag],
                  sourceLocation: SourceLocation = #_sourceLocation) {
    let actual = decodeErrors(text, file: file, sourceLocation: sourceLocation)
    let ok = actual.count == expected.count && zip(expected, actual).allSatisfy { $0.matches($1) }
    if !ok {
        Issue.record("""
            diagnostics differ
            expected:
            \(expected.map { "  \($0)" }.joined(separator: "\n"))
            actual:
            \(actual.map { "  \($0)" }.joined(separator: "\n"))
            """, sourceLocation: sourceLocation)
    }
}

/// Checks that `text` is rejected with exactly one diagnostic.
func expectError(_ text: String, file: String = "test.yaml", _ line: Int, _ column: Int, _ path: String, _ message: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    expectErrors(text, file: file, [Diag(line, column, path, message)], sourceLocation: sourceLocation)
}

/// A CiliumNetworkPolicy in namespace tenant-a whose spec starts with `endpointSelector: {}` and
/// continues with `rest` (indented by two spaces, as spec members). The header is 7 lines long, so
/// the first line of `rest` is line 8.
func cnp(_ rest: String, kind: String = "CiliumNetworkPolicy") -> String {
    """
    apiVersion: cilium.io/v2
    kind: \(kind)
    metadata:
      name: test
      namespace: tenant-a
    spec:
      endpointSelector: {}

    """ + rest
}

extension APIObject {
    var ciliumPolicy: CiliumPolicy? {
        if case let .policy(.cilium(p)) = self { return p }
        return nil
    }
    var kubernetesPolicy: KubernetesNetworkPolicy? {
        if case let .policy(.kubernetes(p)) = self { return p }
        return nil
    }
    var namespaceObject: Namespace? {
        if case let .namespace(n) = self { return n }
        return nil
    }
    var podObject: Pod? {
        if case let .pod(p) = self { return p }
        return nil
    }
    var deploymentObject: Deployment? {
        if case let .deployment(d) = self { return d }
        return nil
    }
    var serviceObject: Service? {
        if case let .service(s) = self { return s }
        return nil
    }
}

/// The single rule of the single Cilium policy in `text` (records an issue otherwise).
func onlyRule(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> PolicyRule? {
    let objects = decodeOK(text, sourceLocation: sourceLocation)
    guard objects.count == 1, let p = objects[0].ciliumPolicy, p.rules.count == 1 else {
        Issue.record("expected one Cilium policy with one rule, got \(objects)", sourceLocation: sourceLocation)
        return nil
    }
    return p.rules[0]
}
