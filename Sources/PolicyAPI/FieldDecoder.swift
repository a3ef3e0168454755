// A small strict decoder over `ManifestNode` trees: every value is read with its path, type
// mismatches and unknown fields become diagnostics, and decoding goes on after an error so that
// all errors of a file are reported at once.

public final class FieldDecoder {
    public private(set) var diagnostics: [ManifestDiagnostic] = []

    public init() {}

    public func error(_ node: ManifestNode, _ path: @autoclosure () -> String, _ message: String) {
        diagnostics.append(ManifestDiagnostic(node.position, path: path(), message))
    }

    public func error(at position: SourcePosition, _ path: @autoclosure () -> String, _ message: String) {
        diagnostics.append(ManifestDiagnostic(position, path: path(), message))
    }

    /// The fields of an object; call `finish()` to report the ones nobody asked for.
    public final class Fields {
        let decoder: FieldDecoder
        public let node: ManifestNode
        public let path: String
        var pairs: [(key: String, keyPosition: SourcePosition, value: ManifestNode)]
        /// Which pairs were asked for (by index: objects are small, a scan beats hashing).
        var used: [Bool]

        init(decoder: FieldDecoder, node: ManifestNode, path: String, pairs: [(key: String, keyPosition: SourcePosition, value: ManifestNode)]) {
            self.decoder = decoder
            self.node = node
            self.path = path
            self.pairs = pairs
            self.used = Array(repeating: false, count: pairs.count)
        }

        public func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        /// The value of `key`, or nil when absent. An explicit `null` counts as absent, as in
        /// Kubernetes' JSON decoding.
        public func take(_ key: String) -> ManifestNode? {
            guard let i = pairs.firstIndex(where: { $0.key == key }) else { return nil }
            used[i] = true
            let v = pairs[i].value
            return v.isNull ? nil : v
        }

        public func has(_ key: String) -> Bool { pairs.contains { $0.key == key && !$0.value.isNull } }

        /// Where an error about `key` points: its value when written, else the object itself (for
        /// "required field is missing").
        public func at(_ key: String) -> ManifestNode { pairs.first(where: { $0.key == key })?.value ?? node }

        /// Where `key` itself is written (for errors about a map key, such as a label key).
        public func keyPosition(_ key: String) -> SourcePosition { pairs.first(where: { $0.key == key })?.keyPosition ?? node.position }

        public var keys: [String] { pairs.map(\.key) }

        public func ignore(_ keys: String...) {
            for i in pairs.indices where keys.contains(pairs[i].key) { used[i] = true }
        }

        public func finish() {
            for (i, p) in pairs.enumerated() where !used[i] {
                decoder.error(at: p.keyPosition, sub(p.key), "unknown field \"\(p.key)\"")
            }
        }

        public func string(_ key: String) -> String? { take(key).flatMap { decoder.string($0, self.sub(key)) } }
        public func bool(_ key: String) -> Bool? { take(key).flatMap { decoder.bool($0, self.sub(key)) } }
        public func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
            take(key).flatMap { decoder.int($0, self.sub(key), in: range) }
        }
        public func stringList(_ key: String) -> [String]? { take(key).flatMap { decoder.stringList($0, sub(key)) } }
        public func stringMap(_ key: String) -> [(String, String)]? { take(key).flatMap { decoder.stringMap($0, sub(key)) } }
        public func object(_ key: String) -> Fields? { take(key).flatMap { decoder.object($0, sub(key)) } }
        public func list<T>(_ key: String, _ element: (ManifestNode, String) -> T?) -> [T]? {
            take(key).flatMap { decoder.list($0, sub(key), element) }
        }
    }

    public func object(_ node: ManifestNode, _ path: String) -> Fields? {
        guard case let .mapping(pairs) = node.value else {
            error(node, path, "expected an object, found \(node.kindName)")
            return nil
        }
        return Fields(decoder: self, node: node, path: path, pairs: pairs)
    }

    public func string(_ node: ManifestNode, _ path: @autoclosure () -> String) -> String? {
        guard case let .scalar(s, style) = node.value, !node.isNull else {
            error(node, path(), "expected a string, found \(node.kindName)")
            return nil
        }
        _ = style
        return s
    }

    /// A string that must have been written as a string: `port: 80` in a CiliumNetworkPolicy is
    /// rejected by the API server ("must be of type string"), so Porin rejects it too.
    public func strictString(_ node: ManifestNode, _ path: @autoclosure () -> String) -> String? {
        if case let .scalar(s, .plain) = node.value, node.kindName != "string" {
            error(node, path(), "must be a string, found \(node.kindName) (write it quoted: \"\(s)\")")
            return nil
        }
        return string(node, path())
    }

    public func bool(_ node: ManifestNode, _ path: @autoclosure () -> String) -> Bool? {
        if case let .scalar(s, .plain) = node.value, let b = ManifestNode.plainBool(s) { return b }
        error(node, path(), "expected true or false, found \(node.kindName)")
        return nil
    }

    public func int(_ node: ManifestNode, _ path: @autoclosure () -> String, in range: ClosedRange<Int>) -> Int? {
        guard case let .scalar(s, .plain) = node.value, let v = Int(s) else {
            error(node, path(), "expected an integer, found \(node.kindName)")
            return nil
        }
        guard range.contains(v) else {
            error(node, path(), "\(v) is out of range \(range.lowerBound)..\(range.upperBound)")
            return nil
        }
        return v
    }

    public func list<T>(_ node: ManifestNode, _ path: String, _ element: (ManifestNode, String) -> T?) -> [T]? {
        guard case let .sequence(items) = node.value else {
            error(node, path, "expected a list, found \(node.kindName)")
            return nil
        }
        var out: [T] = []
        for (i, item) in items.enumerated() {
            if let v = element(item, "\(path)[\(i)]") { out.append(v) }
        }
        return out
    }

    public func stringList(_ node: ManifestNode, _ path: String) -> [String]? {
        list(node, path) { n, p in self.string(n, p) }
    }

    /// A map of string to string (labels, matchLabels). Values written as plain numbers or
    /// booleans are rejected as Kubernetes does (label values are strings).
    public func stringMap(_ node: ManifestNode, _ path: String) -> [(String, String)]? {
        guard case let .mapping(pairs) = node.value else {
            error(node, path, "expected an object, found \(node.kindName)")
            return nil
        }
        var out: [(String, String)] = []
        for p in pairs {
            let sub = path.isEmpty ? p.key : "\(path).\(p.key)"
            if p.value.isNull { out.append((p.key, "")); continue }
            if let s = strictString(p.value, sub) { out.append((p.key, s)) }
        }
        return out
    }
}
