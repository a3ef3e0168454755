// A YAML or JSON document as a tree whose every node remembers where it came from, so that
// every decoding error can name file, line, column and the field path.

/// Where a node starts in its source file (1-based line and column, columns in Unicode scalars).
public struct SourcePosition: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// How a scalar was written: quoted scalars are always strings; plain ones may be numbers,
/// booleans or null (YAML 1.2 core schema, which JSON also follows).
public enum ScalarStyle: Sendable, Hashable {
    case plain
    case quoted
}

public indirect enum ManifestValue: Sendable, Hashable {
    case scalar(String, ScalarStyle)
    case mapping([(key: String, keyPosition: SourcePosition, value: ManifestNode)])
    case sequence([ManifestNode])

    public static func == (a: ManifestValue, b: ManifestValue) -> Bool {
        switch (a, b) {
        case let (.scalar(x, s), .scalar(y, t)): return x == y && s == t
        case let (.sequence(x), .sequence(y)): return x == y
        case let (.mapping(x), .mapping(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
    public func hash(into h: inout Hasher) {
        switch self {
        case let .scalar(s, st): h.combine(0); h.combine(s); h.combine(st)
        case let .sequence(items): h.combine(1); h.combine(items)
        case let .mapping(pairs):
            h.combine(2)
            for p in pairs { h.combine(p.key); h.combine(p.value) }
        }
    }
}

/// A node of a decoded document. Equality ignores positions (two documents with the same content
/// are the same object, wherever they were written).
public struct ManifestNode: Sendable, Hashable {
    public var value: ManifestValue
    public var position: SourcePosition

    public init(_ value: ManifestValue, at position: SourcePosition) {
        self.value = value
        self.position = position
    }
    public static func == (a: ManifestNode, b: ManifestNode) -> Bool { a.value == b.value }
    public func hash(into h: inout Hasher) { h.combine(value) }

    /// A plain scalar that YAML's core schema reads as null (`null`, `~`, or nothing at all).
    public var isNull: Bool {
        if case let .scalar(s, .plain) = value { return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" }
        return false
    }

    public var kindName: String {
        switch value {
        case let .scalar(s, style):
            if isNull { return "null" }
            if style == .quoted { return "string" }
            if Self.plainBool(s) != nil { return "boolean" }
            if Int(s) != nil { return "integer" }
            if Double(s) != nil { return "number" }
            return "string"
        case .mapping: return "object"
        case .sequence: return "list"
        }
    }

    static func plainBool(_ s: String) -> Bool? {
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    /// Converts the node to a plain Swift value tree (for re-emitting or comparing).
    public func toAny() -> AnyManifest {
        switch value {
        case let .scalar(s, style):
            if isNull { return .null }
            if style == .quoted { return .string(s) }
            if let b = Self.plainBool(s) { return .bool(b) }
            if let i = Int(s) { return .int(i) }
            if let d = Double(s), s.contains(".") || s.contains("e") || s.contains("E") { return .double(d) }
            return .string(s)
        case let .sequence(items): return .list(items.map { $0.toAny() })
        case let .mapping(pairs): return .object(pairs.map { ($0.key, $0.value.toAny()) })
        }
    }
}

/// A position-free value tree, used to re-emit documents as JSON or YAML.
public indirect enum AnyManifest: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([AnyManifest])
    case object([(String, AnyManifest)])

    public static func == (a: AnyManifest, b: AnyManifest) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.list(x), .list(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

extension ManifestNode {
    /// The node at a path of mapping keys (`doc.child("metadata", "namespace")`), for messages
    /// that point at a field.
    public func child(_ path: String...) -> ManifestNode? {
        var cur = self
        for k in path {
            guard case let .mapping(pairs) = cur.value, let v = pairs.first(where: { $0.key == k })?.value else { return nil }
            cur = v
        }
        return cur
    }
}
