// What the DNS proxy does with a message it parsed (Sources/DNSProxy/DNSProxyServer.swift), each
// step checked against what it promises:
// * DNSAnswer(m) (policy name, Hubble fields, learning): counts, TTL, addresses as text;
// * the REFUSED answer to a query (`refused` below, DNSProxyServer.refused's three lines: the
//   query's response with rcode 5 and no additionals), encoded and parsed again, and what
//   DNSAnswer reads from it;
// * FQDNPattern (the DNS rules' matchName/matchPattern and toFQDNs selectors) on the query name:
//   fixed patterns against simple reference definitions written here, matchName on the name
//   itself, and the message's first question name used as a pattern for its second, against a
//   dynamic-programming reference matcher.

/// DNSProxyServer.refused (Sources/DNSProxy/DNSProxyServer.swift), copied: that file needs the
/// proxy's sockets and C shim, which the harness does not build. Keep the two the same.
func refused(_ m: DNSMessage) -> DNSMessage {
    var r = m.response(rcode: DNSRCode.refused)
    r.additionals = []
    return r
}

func fail(_ what: String, _ m: DNSMessage) -> Never {
    fatalError("\(what)\nmessage: \(m)")
}

func checkProxyHandling(_ m: DNSMessage) {
    let a = DNSAnswer(m)
    checkAnswer(a, m)

    // The REFUSED answer, as the proxy writes it to the pod.
    let wire = refused(m).encoded()
    guard wire.count <= 65535 else { fail("REFUSED answer of \(wire.count) bytes", m) }
    let back: DNSMessage
    do { back = try DNSMessage(parsing: wire) } catch { fail("REFUSED answer does not parse: \(error)", m) }
    guard back.isResponse, back.rcode == 5, back.id == m.id, back.opcode == m.opcode, back.recursionDesired == m.recursionDesired,
          back.questions == m.questions, back.answers.isEmpty, back.authorities.isEmpty, back.additionals.isEmpty
    else { fail("REFUSED answer parsed as \(back)", m) }
    let ra = DNSAnswer(back)
    guard ra.rcode == 5, ra.query == a.query, ra.qtypes == a.qtypes, ra.ips.isEmpty, ra.ipv4.isEmpty, ra.cnames.isEmpty,
          ra.rrtypes.isEmpty, ra.ttl == UInt32.max
    else { fail("DNSAnswer of the REFUSED answer: \(ra)", m) }

    checkPatterns(a.query, m)
    // Patterns as policies may write them (Cilium allows [-a-zA-Z0-9_*.] only).
    if m.questions.count >= 2, a.query.utf8.allSatisfy({ isLabelByte($0) || $0 == 0x2A || $0 == 0x2E }) {
        let pattern = a.query
        let name = m.questions[1].name.lowercased.description
        let got = FQDNPattern(matchPattern: pattern).matches(name)
        let want = referenceMatch(pattern: pattern, name: name)
        guard got == want else { fail("matchPattern \"\(pattern)\" on \"\(name)\": \(got), reference \(want)", m) }
    }
}

func checkAnswer(_ a: DNSAnswer, _ m: DNSMessage) {
    guard a.qtypes.count == m.questions.count, a.rrtypes.count == m.answers.count, a.rcode == m.rcode else { fail("DNSAnswer counts: \(a)", m) }
    guard a.query.isEmpty == m.questions.isEmpty, a.query.isEmpty || a.query.hasSuffix(".") else { fail("DNSAnswer query \"\(a.query)\"", m) }
    var v4 = 0, v6 = 0, cn = 0
    var ttl = UInt32.max
    for r in m.answers {
        switch r.data {
        case .a: v4 += 1; ttl = min(ttl, r.ttl)
        case let .aaaa(b): v6 += 1; ttl = min(ttl, r.ttl); if b.count != 16 { fail("AAAA data of \(b.count) bytes", m) }
        case .cname: cn += 1; ttl = min(ttl, r.ttl)
        default: break
        }
    }
    guard a.ipv4.count == v4, a.ips.count == v4 + v6, a.cnames.count == cn, a.ttl == ttl else { fail("DNSAnswer addresses/TTL: \(a)", m) }
    // IPv6 text (always with a colon) and IPv4 text (never), each in answer order.
    let v6Texts = a.ips.filter { $0.contains(":") }
    let v4Texts = a.ips.filter { !$0.contains(":") }
    guard v6Texts.count == v6 else { fail("IPv6 texts \(a.ips)", m) }
    let v6Data = m.answers.compactMap { r -> [UInt8]? in if case let .aaaa(b) = r.data { return b } else { return nil } }
    for (ip, bytes) in zip(v6Texts, v6Data) where !isRFC5952(ip, bytes) { fail("IPv6 text \"\(ip)\" for \(bytes)", m) }
    guard v4Texts == a.ipv4.map({ "\($0 >> 24).\($0 >> 16 & 0xFF).\($0 >> 8 & 0xFF).\($0 & 0xFF)" }) else { fail("IPv4 text \(a.ips)", m) }
}

// MARK: Names and patterns

@inline(__always) func isLabelByte(_ c: UInt8) -> Bool {
    (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
}

/// ASCII lower-case, with the trailing dot: what FQDNPattern.matches compares.
func normalized(_ name: String) -> [UInt8] {
    var n = Array(name.utf8).map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    if n.last != 0x2E { n.append(0x2E) }
    return n
}

/// One or more labels of label bytes, each followed by a dot.
func isLabelSequence(_ s: ArraySlice<UInt8>) -> Bool {
    guard !s.isEmpty, s.last == 0x2E else { return false }
    var len = 0
    for c in s {
        if c == 0x2E { if len == 0 { return false }; len = 0 } else if isLabelByte(c) { len += 1 } else { return false }
    }
    return true
}

func checkPatterns(_ query: String, _ m: DNSMessage) {
    let n = normalized(query)
    let suffix = Array("example.com.".utf8)
    let hasSuffix = n.count >= suffix.count + 1 && Array(n.suffix(suffix.count)) == suffix && n[n.count - suffix.count - 1] == 0x2E
    let prefix = hasSuffix ? n[0..<(n.count - suffix.count - 1)] : []
    // `*.example.com`: one label of zero or more label bytes.
    let one = hasSuffix && prefix.allSatisfy(isLabelByte)
    let got1 = FQDNPattern(matchPattern: "*.example.com").matches(query)
    guard got1 == one else { fail("*.example.com on \"\(query)\": \(got1), reference \(one)", m) }
    // `**.example.com`: one or more whole labels.
    let many = hasSuffix && isLabelSequence(n[0..<(n.count - suffix.count)])
    let got2 = FQDNPattern(matchPattern: "**.example.com").matches(query)
    guard got2 == many else { fail("**.example.com on \"\(query)\": \(got2), reference \(many)", m) }
    // `*`: every name made of labels (and the root).
    let all = n == [0x2E] || isLabelSequence(n[...])
    let got3 = FQDNPattern(matchPattern: "*").matches(query)
    guard got3 == all else { fail("* on \"\(query)\": \(got3), reference \(all)", m) }
    // matchName: the name itself, in any ASCII case, with or without its trailing dot.
    let exact = FQDNPattern(matchName: query)
    var upper = Array(query.utf8).map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
    // Without the trailing dot, unless the name would still end with one (a label ending in a
    // literal dot: `tt..`), where the dot would not be added back.
    if upper.last == 0x2E && upper.count > 1 && upper[upper.count - 2] != 0x2E { upper.removeLast() }
    let shouted = String(decoding: upper, as: UTF8.self)
    guard exact.matches(query), exact.matches(shouted) else { fail("matchName \"\(query)\" does not match itself (or \"\(shouted)\")", m) }
    guard !exact.matches(query + "x."), !exact.matches("x." + query) else { fail("matchName \"\(query)\" matches another name", m) }
}

/// Cilium's matchPattern, written from its definition (reference §1.6, §8.7): lower-cased,
/// spaces trimmed, fully qualified; stars alone (optionally with the dot) select every name; a
/// leading `**.` stands for one or more labels; every other `*` for zero or more label bytes.
func referenceMatch(pattern: String, name: String) -> Bool {
    var p = Array(pattern.lowercased().utf8)
    while p.first == 0x20 { p.removeFirst() }
    while p.last == 0x20 { p.removeLast() }
    let stars = p.prefix { $0 == 0x2A }.count
    let n = normalized(name)
    if stars > 0 && (p.count == stars || (p.count == stars + 1 && p.last == 0x2E)) {
        return n == [0x2E] || isLabelSequence(n[...])
    }
    if p.last != 0x2E { p.append(0x2E) }
    if stars >= 2 && p.count > stars && p[stars] == 0x2E {
        let rest = Array(p[(stars + 1)...])
        for k in n.indices where n[k] == 0x2E && isLabelSequence(n[...k]) {
            if glob(rest, Array(n[(k + 1)...])) { return true }
        }
        return false
    }
    return glob(p, n)
}

/// `*` = zero or more label bytes, by dynamic programming over (pattern, name) positions.
func glob(_ p: [UInt8], _ s: [UInt8]) -> Bool {
    var row = [Bool](repeating: false, count: s.count + 1)  // row[j]: p[0..<i] matches s[0..<j]
    row[0] = true
    for i in 0..<p.count {
        var next = [Bool](repeating: false, count: s.count + 1)
        if p[i] == 0x2A {
            next[0] = row[0]
            for j in 1...max(1, s.count) where j <= s.count { next[j] = row[j] || (next[j - 1] && isLabelByte(s[j - 1])) }
        } else {
            for j in 1...max(1, s.count) where j <= s.count { next[j] = row[j - 1] && p[i] == s[j - 1] }
        }
        row = next
    }
    return row[s.count]
}

/// Whether `text` is the RFC 5952 form of `bytes`: lower-case hex groups without leading zeros,
/// the longest run (two or more, the first of equals) of zero groups as `::`, nothing else.
func isRFC5952(_ text: String, _ bytes: [UInt8]) -> Bool {
    let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
    func parse(_ s: Substring) -> [UInt16]? {
        if s.isEmpty { return [] }
        var out: [UInt16] = []
        for g in s.split(separator: ":", omittingEmptySubsequences: false) {
            guard (1...4).contains(g.count), g.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
                  g == "0" || g.first != "0", let v = UInt16(g, radix: 16) else { return nil }
            out.append(v)
        }
        return out
    }
    // The text split at each `::` (no Foundation here).
    var halves: [String] = []
    var rest = Substring(text)
    while let r = rest.firstRange(of: "::") {
        halves.append(String(rest[..<r.lowerBound]))
        rest = rest[r.upperBound...]
    }
    halves.append(String(rest))
    switch halves.count {
    case 1:
        guard let all = parse(Substring(text)), all == groups else { return false }
        // No run of two zero groups left uncompressed.
        return !zip(all, all.dropFirst()).contains { $0 == 0 && $1 == 0 }
    case 2:
        guard let left = parse(Substring(halves[0])), let right = parse(Substring(halves[1])) else { return false }
        let run = 8 - left.count - right.count
        guard run >= 2, left + [UInt16](repeating: 0, count: run) + right == groups else { return false }
        // The compressed run is the longest, and the first of the longest.
        func longestRun(_ g: [UInt16]) -> Int {
            var best = 0, cur = 0
            for v in g { cur = v == 0 ? cur + 1 : 0; best = max(best, cur) }
            return best
        }
        return longestRun(left) < run && longestRun(right) <= run && left.last != 0 && right.first != 0
    default:
        return false
    }
}
