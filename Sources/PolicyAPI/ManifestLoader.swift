// Reads YAML (multi-document, through Yams/libyaml) and JSON (our own parser, for exact
// positions) into position-annotated `ManifestNode` trees.
import Yams

public enum ManifestLoader {
    /// Parses `text` into its documents. Files ending in `.json` (or, unless named `.yaml`/`.yml`,
    /// whose first character is `{` or `[`) are read as JSON, everything else as YAML with `---`
    /// separated documents. Empty YAML documents are skipped, as kubectl does.
    public static func documents(text: String, file: String) throws(ManifestErrors) -> [ManifestNode] {
        let first = text.first(where: { !$0.isWhitespace })
        let lower = file.lowercased()
        let yamlName = lower.hasSuffix(".yaml") || lower.hasSuffix(".yml")
        if lower.hasSuffix(".json") || (!yamlName && (first == "{" || first == "[")) {
            var parser = JSONManifestParser(text: text, file: file)
            do {
                let node = try parser.parseDocument()
                // A top-level JSON list is a list of documents, as `kubectl get -o json` items are.
                if case let .sequence(items) = node.value { return items }
                return [node]
            } catch {
                throw ManifestErrors([error])
            }
        }
        return try yamlDocuments(text: text, file: file)
    }

    static func yamlDocuments(text: String, file: String) throws(ManifestErrors) -> [ManifestNode] {
        var result: [ManifestNode] = []
        var errors: [ManifestDiagnostic] = []
        do {
            // The basic resolver (no regexes): scalars are typed by our own `ManifestNode` rules, and
            // Yams then hashes keys for its duplicate check without running regular expressions.
            let parser = try Parser(yaml: text, resolver: .basic)
            while let root = try parser.nextRoot() {
                if let node = convert(root, file: file, errors: &errors), !node.isNull {
                    result.append(node)
                }
            }
        } catch let error as YamlError {
            throw ManifestErrors([diagnostic(for: error, file: file)])
        } catch {
            throw ManifestErrors([ManifestDiagnostic(SourcePosition(file: file, line: 1, column: 1), path: "", "cannot read YAML: \(error)")])
        }
        if !errors.isEmpty { throw ManifestErrors(errors) }
        return result
    }

    static func diagnostic(for error: YamlError, file: String) -> ManifestDiagnostic {
        func at(_ mark: Mark) -> SourcePosition { SourcePosition(file: file, line: mark.line, column: mark.column) }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let ctx = context.map { "\($0.text) at \($0.mark.line):\($0.mark.column): " } ?? ""
            return ManifestDiagnostic(at(mark), path: "", "invalid YAML: \(ctx)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            // Yams names the first occurrence of the (alphabetically first) duplicated key.
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return ManifestDiagnostic(at(context.mark), path: "", "duplicate key \(keys)")
        case let .reader(problem, offset, _, _):
            return ManifestDiagnostic(SourcePosition(file: file, line: 1, column: 1), path: "", "invalid YAML input: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            return ManifestDiagnostic(SourcePosition(file: file, line: 1, column: 1), path: "", "invalid YAML: \(error)")
        }
    }

    static func convert(_ node: Node, file: String, errors: inout [ManifestDiagnostic]) -> ManifestNode? {
        let pos = SourcePosition(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        switch node {
        case let .scalar(s):
            let quoted = s.style == .singleQuoted || s.style == .doubleQuoted || s.style == .literal || s.style == .folded
            // An explicit `!!str` tag makes a plain scalar a string too.
            let tagged = s.tag.description == Tag.Name.str.rawValue
            return ManifestNode(.scalar(s.string, (quoted || tagged) ? .quoted : .plain), at: pos)
        case let .sequence(seq):
            var items: [ManifestNode] = []
            for item in seq { if let n = convert(item, file: file, errors: &errors) { items.append(n) } }
            return ManifestNode(.sequence(items), at: pos)
        case let .mapping(map):
            var pairs: [(key: String, keyPosition: SourcePosition, value: ManifestNode)] = []
            var seen = Set<String>()
            for (k, v) in map {
                let kpos = k.mark.map { SourcePosition(file: file, line: $0.line, column: $0.column) } ?? pos
                guard case let .scalar(ks) = k else {
                    errors.append(ManifestDiagnostic(kpos, path: "", "mapping keys must be strings"))
                    continue
                }
                if !seen.insert(ks.string).inserted {
                    errors.append(ManifestDiagnostic(kpos, path: "", "duplicate key \"\(ks.string)\""))
                    continue
                }
                guard let value = convert(v, file: file, errors: &errors) else { continue }
                pairs.append((ks.string, kpos, value))
            }
            return ManifestNode(.mapping(pairs), at: pos)
        case .alias:
            errors.append(ManifestDiagnostic(pos, path: "", "YAML aliases are not supported in manifests"))
            return nil
        }
    }
}

/// A strict JSON parser (RFC 8259) that records the line and column of every value.
struct JSONManifestParser {
    let bytes: [UInt8]
    let file: String
    var index = 0
    var line = 1
    var lineStart = 0
    var depth = 0

    init(text: String, file: String) {
        self.bytes = Array(text.utf8)
        self.file = file
    }

    var position: SourcePosition {
        // Columns count Unicode scalars, like libyaml's: count non-continuation bytes.
        var col = 1
        var i = lineStart
        while i < index { if bytes[i] & 0xC0 != 0x80 { col += 1 }; i += 1 }
        return SourcePosition(file: file, line: line, column: col)
    }

    func fail(_ message: String) -> ManifestDiagnostic {
        ManifestDiagnostic(position, path: "", "invalid JSON: \(message)")
    }

    mutating func parseDocument() throws(ManifestDiagnostic) -> ManifestNode {
        skipSpace()
        let node = try parseValue()
        skipSpace()
        if index < bytes.count { throw fail("unexpected data after the end of the document") }
        return node
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0D: index += 1
            case 0x0A: index += 1; line += 1; lineStart = index
            default: return
            }
        }
    }

    mutating func parseValue() throws(ManifestDiagnostic) -> ManifestNode {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        let pos = position
        switch bytes[index] {
        case UInt8(ascii: "{"):
            depth += 1
            if depth > 512 { throw fail("nesting too deep") }
            index += 1
            var pairs: [(key: String, keyPosition: SourcePosition, value: ManifestNode)] = []
            var seen = Set<String>()
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; depth -= 1; return ManifestNode(.mapping([]), at: pos) }
            while true {
                skipSpace()
                let kpos = position
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try parseString()
                if !seen.insert(key).inserted { throw ManifestDiagnostic(kpos, path: "", "duplicate key \"\(key)\"") }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipSpace()
                let value = try parseValue()
                pairs.append((key, kpos, value))
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end of input in an object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; break }
                throw fail("expected ',' or '}'")
            }
            depth -= 1
            return ManifestNode(.mapping(pairs), at: pos)
        case UInt8(ascii: "["):
            depth += 1
            if depth > 512 { throw fail("nesting too deep") }
            index += 1
            var items: [ManifestNode] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; depth -= 1; return ManifestNode(.sequence([]), at: pos) }
            while true {
                skipSpace()
                items.append(try parseValue())
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end of input in a list") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; break }
                throw fail("expected ',' or ']'")
            }
            depth -= 1
            return ManifestNode(.sequence(items), at: pos)
        case UInt8(ascii: "\""):
            return ManifestNode(.scalar(try parseString(), .quoted), at: pos)
        default:
            let start = index
            while index < bytes.count, !" \t\r\n,]}:".utf8.contains(bytes[index]) { index += 1 }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            if word == "true" || word == "false" || word == "null" || Self.isNumber(word) {
                return ManifestNode(.scalar(word, .plain), at: pos)
            }
            index = start
            throw fail(word.isEmpty ? "unexpected character" : "unexpected token \"\(word)\"")
        }
    }

    /// RFC 8259 `number`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isNumber(_ s: String) -> Bool {
        let b = Array(s.utf8)
        var i = 0
        func digits() -> Int {
            let start = i
            while i < b.count, (48...57).contains(b[i]) { i += 1 }
            return i - start
        }
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            if digits() == 0 { return false }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == b.count
    }

    mutating func parseString() throws(ManifestDiagnostic) -> String {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") { index += 1; return String(decoding: out, as: UTF8.self) }
            if b < 0x20 { throw fail("control character in string") }
            if b == UInt8(ascii: "\\") {
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code), index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "\\"), bytes[index + 2] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("invalid escape")
                }
                index += 1
                continue
            }
            out.append(b)
            index += 1
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(ManifestDiagnostic) -> UInt32 {
        guard index + 4 < bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for i in 1...4 {
            let c = bytes[index + i]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw fail("invalid \\u escape")
            }
            v = v * 16 + d
        }
        index += 4
        return v
    }
}
