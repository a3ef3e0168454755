// Which DNS names an FQDNSelector selects (reference §1.6, Cilium v1.19's matchpattern): the DNS
// proxy asks it whether a query is allowed by a DNS rule, and which toFQDNs selectors a learnt
// name feeds. matchName is an exact, case-insensitive match; in matchPattern a `*` stands for
// zero or more of `[-a-zA-Z0-9_]` inside one label, a leading `**.` for one or more whole labels,
// and a pattern of stars alone (`*`, `**`, `*.`) for every name. Compiled once, matched without
// regular expressions (the proxy checks every query).
import PolicyAPI

public struct FQDNPattern: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// Every name (and the root, ".").
        case all
        /// Exactly this name (lower-cased, with its trailing dot).
        case exact([UInt8])
        /// `**.` (optional) then a glob over the rest, with its trailing dot.
        case glob(anyLabelsPrefix: Bool, pattern: [UInt8])
    }

    let kind: Kind
    /// The selector as written (`fqdn:<text>` is its identity label).
    public let text: String

    public init(_ selector: FQDNSelector) {
        if let name = selector.matchName {
            self.init(matchName: name)
        } else {
            self.init(matchPattern: selector.matchPattern ?? "")
        }
    }

    public init(matchName: String) {
        text = matchName
        kind = .exact(Array(Self.fullyQualified(matchName.lowercased()).utf8))
    }

    public init(matchPattern: String) {
        text = matchPattern
        let p = matchPattern.lowercased().trimmingSpaces()
        let stars = p.prefix { $0 == "*" }
        if !stars.isEmpty && (p.count == stars.count || (p.count == stars.count + 1 && p.hasSuffix("."))) {
            kind = .all
            return
        }
        var body = Self.fullyQualified(p)
        var anyLabels = false
        if stars.count >= 2, body.dropFirst(stars.count).hasPrefix(".") {
            anyLabels = true
            body = String(body.dropFirst(stars.count + 1))
        }
        kind = .glob(anyLabelsPrefix: anyLabels, pattern: Array(body.utf8))
    }

    static func fullyQualified(_ s: String) -> String { s.hasSuffix(".") ? s : s + "." }

    /// `[-a-zA-Z0-9_]`: what a `*` may stand for, and what a label is made of.
    @inline(__always) static func isLabelByte(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
    }

    /// Whether `name` (any case, with or without its trailing dot) is selected.
    public func matches(_ name: String) -> Bool {
        var n = Array(name.utf8)
        for i in n.indices where n[i] >= 0x41 && n[i] <= 0x5A { n[i] += 0x20 }
        if n.last != 0x2E { n.append(0x2E) }
        switch kind {
        case .all:
            // Cilium's match-all: one or more labels, each followed by a dot; or the root.
            if n == [0x2E] { return true }
            var labelLength = 0
            for c in n {
                if c == 0x2E {
                    if labelLength == 0 { return false }
                    labelLength = 0
                } else if Self.isLabelByte(c) {
                    labelLength += 1
                } else {
                    return false
                }
            }
            return true
        case let .exact(bytes):
            return n == bytes
        case let .glob(anyLabels, pattern):
            guard anyLabels else { return Self.glob(pattern[...], n[...]) }
            // One or more whole labels, then the rest of the pattern.
            var i = 0
            var labelLength = 0
            while i < n.count {
                let c = n[i]
                if c == 0x2E {
                    if labelLength == 0 { return false }
                    labelLength = 0
                    if Self.glob(pattern[...], n[(i + 1)...]) { return true }
                } else if Self.isLabelByte(c) {
                    labelLength += 1
                } else {
                    return false
                }
                i += 1
            }
            return false
        }
    }

    /// `*` matches zero or more label bytes (never a dot); everything else matches itself.
    static func glob(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        var pi = p.startIndex, si = s.startIndex
        var starP = -1, starS = -1
        while si < s.endIndex {
            if pi < p.endIndex && p[pi] == 0x2A {
                starP = pi
                starS = si
                pi += 1
            } else if pi < p.endIndex && p[pi] == s[si] {
                pi += 1
                si += 1
            } else if starP >= 0 && isLabelByte(s[starS]) {
                // Let the last star take one more byte, if that byte may be part of a label.
                starS += 1
                si = starS
                pi = starP + 1
            } else {
                return false
            }
        }
        while pi < p.endIndex && p[pi] == 0x2A { pi += 1 }
        return pi == p.endIndex
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
