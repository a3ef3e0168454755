// Reads YAML (multi-document, through libyaml's event parser) and JSON (our own parser, for exact
// positions) into position-annotated `ManifestNode` trees.
import CLibYAML

public enum ManifestLoader {
    /// Parses `text` into its documents. Files ending in `.json` (or, unless named `.yaml`/`.yml`,
    /// whose first character is `{` or `[`, when that parses) are read as JSON, everything else as YAML with `---`
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
                // Guessed from the content (stdin, no extension): YAML's flow style also starts
                // with `{`, and YAML reads every JSON document, so it gets the second word.
                guard !lower.hasSuffix(".json"), let docs = try? yamlDocuments(text: text, file: file) else { throw ManifestErrors([error]) }
                return docs
            }
        }
        return try yamlDocuments(text: text, file: file)
    }

    static func yamlDocuments(text: String, file: String) throws(ManifestErrors) -> [ManifestNode] {
        var loader = YAMLEventLoader(file: file)
        return try loader.load(text)
    }
}

/// Builds `ManifestNode` trees straight from libyaml's event stream: no intermediate tree, no
/// regex-based tag resolution, and exact positions for every node and key (libyaml's marks are
/// 0-based; ours are 1-based).
struct YAMLEventLoader {
    let file: String
    var anchors: [String: ManifestNode] = [:]
    var errors: [ManifestDiagnostic] = []

    init(file: String) { self.file = file }

    func position(_ m: yaml_mark_t) -> SourcePosition {
        SourcePosition(file: file, line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    mutating func load(_ text: String) throws(ManifestErrors) -> [ManifestNode] {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return [] }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw ManifestErrors([ManifestDiagnostic(SourcePosition(file: file, line: 1, column: 1), path: "", "cannot initialise the YAML parser")])
        }
        defer { yaml_parser_delete(&parser) }
        var docs: [ManifestNode] = []
        let result: Result<Void, ManifestErrors> = bytes.withUnsafeMutableBufferPointer { buf in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            do {
                while true {
                    var event = try next(&parser)
                    defer { yaml_event_delete(&event) }
                    switch event.type {
                    case YAML_STREAM_END_EVENT: return .success(())
                    case YAML_DOCUMENT_START_EVENT:
                        anchors = [:]
                        var first = try next(&parser)
                        let node = try node(from: &first, &parser)
                        yaml_event_delete(&first)
                        var end = try next(&parser)  // DOCUMENT-END
                        yaml_event_delete(&end)
                        if let node, !node.isNull { docs.append(node) }
                    default: continue
                    }
                }
            } catch let e as ManifestErrors {
                return .failure(e)
            } catch {
                return .failure(ManifestErrors([ManifestDiagnostic(SourcePosition(file: file, line: 1, column: 1), path: "", "cannot read YAML: \(error)")]))
            }
        }
        if case let .failure(e) = result { throw e }
        if !errors.isEmpty { throw ManifestErrors(errors) }
        return docs
    }

    func next(_ parser: inout yaml_parser_t) throws -> yaml_event_t {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else {
            let problem = parser.problem.map { String(cString: $0) } ?? "syntax error"
            var context = ""
            if let c = parser.context {
                context = "\(String(cString: c)) at \(parser.context_mark.line + 1):\(parser.context_mark.column + 1): "
            }
            let mark = parser.problem_mark
            throw ManifestErrors([ManifestDiagnostic(position(mark), path: "", "invalid YAML: \(context)\(problem)")])
        }
        return event
    }

    static func string(_ p: UnsafeMutablePointer<yaml_char_t>?, _ n: Int) -> String {
        guard let p else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    /// Reads the node that starts with `event` (whose memory the caller frees).
    mutating func node(from event: inout yaml_event_t, _ parser: inout yaml_parser_t) throws -> ManifestNode? {
        let pos = position(event.start_mark)
        switch event.type {
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let value = Self.string(s.value, s.length)
            let tag = s.tag.map { String(cString: $0) }
            // Quoted and block scalars are strings; so is a plain one tagged `!!str`.
            let quoted = s.style != YAML_PLAIN_SCALAR_STYLE || tag == "tag:yaml.org,2002:str"
            let node = ManifestNode(.scalar(value, quoted ? .quoted : .plain), at: pos)
            if let a = s.anchor { anchors[String(cString: a)] = node }
            return node
        case YAML_ALIAS_EVENT:
            let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
            guard let target = anchors[name] else {
                errors.append(ManifestDiagnostic(pos, path: "", "unknown YAML alias *\(name)"))
                return nil
            }
            var node = target
            node.position = pos
            return node
        case YAML_SEQUENCE_START_EVENT:
            let anchor = event.data.sequence_start.anchor.map { String(cString: $0) }
            var items: [ManifestNode] = []
            while true {
                var e = try next(&parser)
                defer { yaml_event_delete(&e) }
                if e.type == YAML_SEQUENCE_END_EVENT { break }
                if let n = try node(from: &e, &parser) { items.append(n) }
            }
            let node = ManifestNode(.sequence(items), at: pos)
            if let anchor { anchors[anchor] = node }
            return node
        case YAML_MAPPING_START_EVENT:
            let anchor = event.data.mapping_start.anchor.map { String(cString: $0) }
            var pairs: [(key: String, keyPosition: SourcePosition, value: ManifestNode)] = []
            var seen = Set<String>()
            while true {
                var k = try next(&parser)
                defer { yaml_event_delete(&k) }
                if k.type == YAML_MAPPING_END_EVENT { break }
                let kpos = position(k.start_mark)
                let keyNode = try node(from: &k, &parser)
                var v = try next(&parser)
                defer { yaml_event_delete(&v) }
                let value = try node(from: &v, &parser)
                guard let keyNode, case let .scalar(key, _) = keyNode.value else {
                    errors.append(ManifestDiagnostic(kpos, path: "", "mapping keys must be strings"))
                    continue
                }
                if !seen.insert(key).inserted {
                    errors.append(ManifestDiagnostic(kpos, path: "", "duplicate key \"\(key)\""))
                    continue
                }
                if let value { pairs.append((key, kpos, value)) }
            }
            let node = ManifestNode(.mapping(pairs), at: pos)
            if let anchor { anchors[anchor] = node }
            return node
        default:
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
