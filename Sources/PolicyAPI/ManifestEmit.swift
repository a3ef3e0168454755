// Writing documents back out: the control plane stores every object as JSON and `porin get -o
// json|yaml` prints them. Key order is kept as written, so what a user applied is what they see.

extension AnyManifest {
    /// Compact (`indent: nil`) or indented JSON.
    public func json(indent: Int? = 2) -> String {
        var out = ""
        writeJSON(into: &out, indent: indent, level: 0)
        return out
    }

    private func writeJSON(into out: inout String, indent: Int?, level: Int) {
        func newline(_ l: Int) { if let indent { out += "\n" + String(repeating: " ", count: indent * l) } }
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d): out += d.isFinite ? String(d) : "null"
        case let .string(s): Self.quoteJSON(s, into: &out)
        case let .list(items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                v.writeJSON(into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "]"
        case let .object(pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                Self.quoteJSON(k, into: &out)
                out += indent == nil ? ":" : ": "
                v.writeJSON(into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "}"
        }
    }

    /// A JSON string literal (RFC 8259 escapes); strings that need none are appended whole.
    public static func quoteJSON(_ s: String, into out: inout String) {
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// Block-style YAML, as kubectl prints it (strings quoted only where YAML would misread them).
    public func yaml() -> String {
        var out = ""
        writeYAML(into: &out, level: 0, inList: false)
        return out
    }

    private var isScalar: Bool {
        switch self {
        case .list(let l): return l.isEmpty
        case .object(let o): return o.isEmpty
        default: return true
        }
    }

    private func scalarText() -> String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return String(d)
        case let .string(s): return Self.yamlString(s)
        case .list: return "[]"
        case .object: return "{}"
        }
    }

    static func yamlString(_ s: String) -> String {
        let plainUnsafe = s.isEmpty || s.first == " " || s.last == " " || Int(s) != nil || Double(s) != nil
            || ["true", "false", "null", "~", "yes", "no", "on", "off", "True", "False", "Null", "NULL", "TRUE", "FALSE"].contains(s)
            || s.contains(": ") || s.contains(" #") || s.hasSuffix(":") || s.contains("\n")
            || "-?:,[]{}#&*!|>'\"%@`".contains(s.first!)
        if !plainUnsafe { return s }
        var out = ""
        quoteJSON(s, into: &out)
        return out
    }

    private func writeYAML(into out: inout String, level: Int, inList: Bool) {
        let pad = String(repeating: "  ", count: level)
        switch self {
        case let .object(pairs) where !pairs.isEmpty:
            for (i, (k, v)) in pairs.enumerated() {
                if !(inList && i == 0) { out += pad }
                out += Self.yamlString(k) + ":"
                if v.isScalar {
                    out += " " + v.scalarText() + "\n"
                } else if case .list = v {
                    out += "\n"
                    v.writeYAML(into: &out, level: level, inList: false)
                } else {
                    out += "\n"
                    v.writeYAML(into: &out, level: level + 1, inList: false)
                }
            }
        case let .list(items) where !items.isEmpty:
            for v in items {
                out += pad + "- "
                if v.isScalar {
                    out += v.scalarText() + "\n"
                } else {
                    v.writeYAML(into: &out, level: level + 1, inList: true)
                }
            }
        default:
            out += scalarText() + "\n"
        }
    }

    /// The value at a path of object keys, if there is one.
    public subscript(path: String...) -> AnyManifest? {
        var cur = self
        for k in path {
            guard case let .object(pairs) = cur, let v = pairs.first(where: { $0.0 == k })?.1 else { return nil }
            cur = v
        }
        return cur
    }

    /// Sets the value at a path of object keys, creating objects on the way (new keys go last).
    public mutating func set(_ path: [String], _ value: AnyManifest) {
        guard let k = path.first else { self = value; return }
        var pairs: [(String, AnyManifest)]
        if case let .object(p) = self { pairs = p } else { pairs = [] }
        if let i = pairs.firstIndex(where: { $0.0 == k }) {
            pairs[i].1.set(Array(path.dropFirst()), value)
        } else {
            var v = AnyManifest.object([])
            v.set(Array(path.dropFirst()), value)
            pairs.append((k, v))
        }
        self = .object(pairs)
    }

    /// Removes the value at a path of object keys.
    public mutating func remove(_ path: [String]) {
        guard let k = path.first, case var .object(pairs) = self else { return }
        if path.count == 1 { pairs.removeAll { $0.0 == k } } else if let i = pairs.firstIndex(where: { $0.0 == k }) {
            pairs[i].1.remove(Array(path.dropFirst()))
        }
        self = .object(pairs)
    }
}

/// `"cilium.io/v2"` where a document is built in code (the web UI's editor writes policies).
extension AnyManifest: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
