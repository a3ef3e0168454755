// Errors found in manifests. Every error says what is wrong, where (file:line:column) and
// which field (a JSON-path-like string such as `spec.egress[0].toPorts[0].ports[0].port`).

public struct ManifestDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var position: SourcePosition
    /// The field path inside the document, e.g. `spec.ingress[1].fromEndpoints[0]`.
    public var path: String
    public var message: String

    public init(_ position: SourcePosition, path: String, _ message: String) {
        self.position = position
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? "\(position): \(message)" : "\(position): \(path): \(message)"
    }
}

/// All errors of one or more files. A file with any error is rejected whole.
public struct ManifestErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ManifestDiagnostic]
    public init(_ diagnostics: [ManifestDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
