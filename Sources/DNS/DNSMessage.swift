// DNS messages (RFC 1035): a strict parser that never trusts the packet (counts, lengths,
// compression pointers) and an encoder with name compression. Used by Porin's DNS server
// (kube-dns, the world's resolver) and the DNS proxy. Pure: no I/O.

public enum DNSType {
    public static let a: UInt16 = 1, ns: UInt16 = 2, cname: UInt16 = 5, soa: UInt16 = 6, ptr: UInt16 = 12, mx: UInt16 = 15
    public static let txt: UInt16 = 16, aaaa: UInt16 = 28, srv: UInt16 = 33, opt: UInt16 = 41, any: UInt16 = 255

    /// Names as DNS tools print them (`A`, `AAAA`, …), else `TYPE<n>`.
    public static func name(_ t: UInt16) -> String {
        switch t {
        case a: "A"
        case ns: "NS"
        case cname: "CNAME"
        case soa: "SOA"
        case ptr: "PTR"
        case mx: "MX"
        case txt: "TXT"
        case aaaa: "AAAA"
        case srv: "SRV"
        case opt: "OPT"
        case any: "ANY"
        default: "TYPE\(t)"
        }
    }
}

public enum DNSRCode {
    public static let noError: UInt8 = 0, formatError: UInt8 = 1, serverFailure: UInt8 = 2, nameError: UInt8 = 3
    public static let notImplemented: UInt8 = 4, refused: UInt8 = 5
}

/// A domain name as its labels (no trailing empty label). Comparison ignores ASCII case.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    public private(set) var labels: [String]

    public init(labels: [String]) { self.labels = labels }

    /// Parses `a.b.c` or `a.b.c.`; throws on empty labels or labels/names over the limits.
    public init(_ text: String) throws(DNSError) {
        var t = Substring(text)
        if t.hasSuffix(".") { t = t.dropLast() }
        if t.isEmpty { self.labels = []; return }
        let labels = t.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for l in labels {
            if l.isEmpty { throw .invalidName("empty label in \"\(text)\"") }
            if l.utf8.count > 63 { throw .invalidName("label longer than 63 bytes in \"\(text)\"") }
        }
        if labels.reduce(1, { $0 + $1.utf8.count + 1 }) > 255 { throw .invalidName("name longer than 255 bytes") }
        self.labels = labels
    }

    /// The name with a trailing dot, as Hubble and dig print it (`api.twitter.com.`), in the
    /// presentation form of Cilium's DNS library (miekg/dns): `. space ' @ ; ( ) " \` inside a
    /// label are escaped with a backslash, other bytes outside printable ASCII written `\DDD`.
    /// So the one-label name "api.twitter.com" never reads as the name a policy allows.
    public var description: String {
        guard !labels.isEmpty else { return "." }
        var out: [UInt8] = []
        for l in labels {
            for b in l.utf8 {
                switch b {
                case 0x2E, 0x20, 0x27, 0x40, 0x3B, 0x28, 0x29, 0x22, 0x5C:
                    out.append(0x5C)
                    out.append(b)
                case 0x21...0x7E:
                    out.append(b)
                default:
                    out.append(0x5C)
                    out.append(0x30 + b / 100)
                    out.append(0x30 + b / 10 % 10)
                    out.append(0x30 + b % 10)
                }
            }
            out.append(0x2E)
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var lowercased: DNSName { DNSName(labels: labels.map { $0.lowercased() }) }

    public static func == (a: DNSName, b: DNSName) -> Bool {
        a.labels.count == b.labels.count && zip(a.labels, b.labels).allSatisfy { $0.lowercased() == $1.lowercased() }
    }
    public func hash(into h: inout Hasher) { for l in labels { h.combine(l.lowercased()) } }

    /// True when this name is `suffix` or below it.
    public func isSubdomain(of suffix: DNSName) -> Bool {
        labels.count >= suffix.labels.count && DNSName(labels: Array(labels.suffix(suffix.labels.count))) == suffix
    }
}

public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: UInt16
    public var klass: UInt16
    public init(name: DNSName, type: UInt16, klass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.klass = klass
    }
}

public enum DNSRecordData: Hashable, Sendable {
    case a(UInt32)
    case aaaa([UInt8])
    case cname(DNSName)
    case ns(DNSName)
    case ptr(DNSName)
    case raw([UInt8])
}

public struct DNSRecord: Hashable, Sendable {
    public var name: DNSName
    public var type: UInt16
    public var klass: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData
    public init(name: DNSName, type: UInt16, klass: UInt16 = 1, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.klass = klass
        self.ttl = ttl
        self.data = data
    }

    /// The address of an A record as text.
    public var ipv4Text: String? {
        guard case let .a(v) = data else { return nil }
        return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
    }
}

public enum DNSError: Error, Hashable, Sendable, CustomStringConvertible {
    case truncated(String)
    case invalidName(String)
    case compressionLoop
    case tooLarge(Int)
    case countMismatch(String)

    public var description: String {
        switch self {
        case let .truncated(w): "truncated DNS message: \(w)"
        case let .invalidName(w): "invalid DNS name: \(w)"
        case .compressionLoop: "DNS name compression pointer loop"
        case let .tooLarge(n): "DNS message of \(n) bytes is larger than 65535"
        case let .countMismatch(w): "DNS record counts do not match the message: \(w)"
        }
    }
}

public struct DNSMessage: Hashable, Sendable {
    public var id: UInt16
    public var isResponse: Bool
    public var opcode: UInt8
    public var authoritative: Bool
    public var truncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    public var rcode: UInt8
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    public var additionals: [DNSRecord]

    public init(id: UInt16, isResponse: Bool = false, opcode: UInt8 = 0, authoritative: Bool = false, truncated: Bool = false,
                recursionDesired: Bool = true, recursionAvailable: Bool = false, rcode: UInt8 = 0, questions: [DNSQuestion] = [],
                answers: [DNSRecord] = [], authorities: [DNSRecord] = [], additionals: [DNSRecord] = []) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.authoritative = authoritative
        self.truncated = truncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.rcode = rcode
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A response to this query: same id, question and RD bit, no records yet.
    public func response(rcode: UInt8 = DNSRCode.noError, answers: [DNSRecord] = [], authoritative: Bool = false) -> DNSMessage {
        DNSMessage(id: id, isResponse: true, opcode: opcode, authoritative: authoritative, recursionDesired: recursionDesired,
                   recursionAvailable: true, rcode: rcode, questions: questions, answers: answers)
    }

    // MARK: Parsing

    /// Parses a message. Every count, length and pointer is checked against the bytes present;
    /// compression pointers must point backwards, so they cannot loop.
    public init(parsing bytes: [UInt8]) throws(DNSError) {
        guard bytes.count <= 65535 else { throw .tooLarge(bytes.count) }
        var r = Reader(bytes: bytes)
        id = try r.u16("header")
        let flags = try r.u16("header")
        isResponse = flags & 0x8000 != 0
        opcode = UInt8((flags >> 11) & 0xF)
        authoritative = flags & 0x0400 != 0
        truncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        rcode = UInt8(flags & 0xF)
        let qd = Int(try r.u16("header")), an = Int(try r.u16("header")), ns = Int(try r.u16("header")), ar = Int(try r.u16("header"))
        // Each question needs at least 5 bytes and each record 11: counts beyond that lie.
        if qd * 5 + (an + ns + ar) * 11 > bytes.count - 12 {
            throw .countMismatch("\(qd) questions and \(an + ns + ar) records cannot fit in \(bytes.count) bytes")
        }
        var qs: [DNSQuestion] = []
        for _ in 0..<qd { qs.append(DNSQuestion(name: try r.name(), type: try r.u16("question"), klass: try r.u16("question"))) }
        questions = qs
        answers = try (0..<an).map { _ throws(DNSError) in try r.record() }
        authorities = try (0..<ns).map { _ throws(DNSError) in try r.record() }
        additionals = try (0..<ar).map { _ throws(DNSError) in try r.record() }
    }

    struct Reader {
        let bytes: [UInt8]
        var pos = 0

        mutating func u8(_ what: String) throws(DNSError) -> UInt8 {
            guard pos < bytes.count else { throw .truncated(what) }
            defer { pos += 1 }
            return bytes[pos]
        }
        mutating func u16(_ what: String) throws(DNSError) -> UInt16 {
            guard pos + 2 <= bytes.count else { throw .truncated(what) }
            defer { pos += 2 }
            return UInt16(bytes[pos]) << 8 | UInt16(bytes[pos + 1])
        }
        mutating func u32(_ what: String) throws(DNSError) -> UInt32 {
            UInt32(try u16(what)) << 16 | UInt32(try u16(what))
        }

        /// Reads a (possibly compressed) name at the current position.
        mutating func name() throws(DNSError) -> DNSName {
            var labels: [String] = []
            var total = 1
            var at = pos
            var jumped = false
            var lowestTarget = pos
            while true {
                guard at < bytes.count else { throw .truncated("name") }
                let len = Int(bytes[at])
                if len & 0xC0 == 0xC0 {
                    guard at + 1 < bytes.count else { throw .truncated("compression pointer") }
                    let target = (len & 0x3F) << 8 | Int(bytes[at + 1])
                    // Only strictly backwards, each jump further back than the last: no loops.
                    guard target < lowestTarget else { throw .compressionLoop }
                    lowestTarget = target
                    if !jumped { pos = at + 2; jumped = true }
                    at = target
                    continue
                }
                if len & 0xC0 != 0 { throw .invalidName("reserved label type 0x\(String(len & 0xC0, radix: 16))") }
                if len == 0 {
                    if !jumped { pos = at + 1 }
                    return DNSName(labels: labels)
                }
                guard at + 1 + len <= bytes.count else { throw .truncated("label") }
                total += len + 1
                if total > 255 { throw .invalidName("name longer than 255 bytes") }
                // Names are text here (Hubble shows them, rules match them): a label that is not
                // UTF-8 would be changed by decoding, and the message could no longer be
                // forwarded as it came, so it is refused.
                guard let label = String(validating: bytes[(at + 1)..<(at + 1 + len)], as: UTF8.self) else {
                    throw .invalidName("a label is not valid UTF-8")
                }
                labels.append(label)
                at += 1 + len
            }
        }

        mutating func record() throws(DNSError) -> DNSRecord {
            let name = try name()
            let type = try u16("record"), klass = try u16("record"), ttl = try u32("record")
            let len = Int(try u16("record"))
            guard pos + len <= bytes.count else { throw .truncated("record data") }
            let end = pos + len
            let data: DNSRecordData
            switch type {
            case DNSType.a where len == 4:
                data = .a(UInt32(bytes[pos]) << 24 | UInt32(bytes[pos + 1]) << 16 | UInt32(bytes[pos + 2]) << 8 | UInt32(bytes[pos + 3]))
                pos = end
            case DNSType.aaaa where len == 16:
                data = .aaaa(Array(bytes[pos..<end]))
                pos = end
            case DNSType.cname, DNSType.ns, DNSType.ptr:
                let n = try self.name()
                guard pos == end else { throw .truncated("record data length does not match its name") }
                data = type == DNSType.cname ? .cname(n) : type == DNSType.ns ? .ns(n) : .ptr(n)
            default:
                data = .raw(Array(bytes[pos..<end]))
                pos = end
            }
            return DNSRecord(name: name, type: type, klass: klass, ttl: ttl, data: data)
        }
    }

    // MARK: Encoding

    /// The message in wire format, with names compressed against earlier names.
    public func encoded() -> [UInt8] {
        var w = Writer()
        w.u16(id)
        var flags: UInt16 = 0
        if isResponse { flags |= 0x8000 }
        flags |= UInt16(opcode & 0xF) << 11
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        flags |= UInt16(rcode & 0xF)
        w.u16(flags)
        w.u16(UInt16(questions.count)); w.u16(UInt16(answers.count)); w.u16(UInt16(authorities.count)); w.u16(UInt16(additionals.count))
        for q in questions { w.name(q.name); w.u16(q.type); w.u16(q.klass) }
        for r in answers + authorities + additionals { w.record(r) }
        return w.bytes
    }

    struct Writer {
        var bytes: [UInt8] = []
        var offsets: [DNSName: Int] = [:]

        mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xFF)) }
        mutating func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }

        mutating func name(_ n: DNSName) {
            var labels = n.labels[...]
            while !labels.isEmpty {
                let suffix = DNSName(labels: Array(labels))
                if let off = offsets[suffix], off < 0x4000 {
                    u16(0xC000 | UInt16(off))
                    return
                }
                if bytes.count < 0x4000 { offsets[suffix] = bytes.count }
                let l = Array(labels.first!.utf8)
                bytes.append(UInt8(l.count))
                bytes.append(contentsOf: l)
                labels = labels.dropFirst()
            }
            bytes.append(0)
        }

        mutating func record(_ r: DNSRecord) {
            name(r.name)
            u16(r.type); u16(r.klass); u32(r.ttl)
            let lenAt = bytes.count
            u16(0)
            switch r.data {
            case let .a(v): u32(v)
            case let .aaaa(b): bytes.append(contentsOf: b)
            case let .cname(n), let .ns(n), let .ptr(n): name(n)
            case let .raw(b): bytes.append(contentsOf: b)
            }
            let len = bytes.count - lenAt - 2
            bytes[lenAt] = UInt8(len >> 8)
            bytes[lenAt + 1] = UInt8(len & 0xFF)
        }
    }
}
