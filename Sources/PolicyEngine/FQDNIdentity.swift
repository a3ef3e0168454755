// Which labels an address learnt from DNS answers gets (reference §8): `fqdn:<selector>` for every
// toFQDNs selector in use that selects one of its names, `cidr:` for every policy prefix that
// covers it, and `reserved:world`. The agent gives learnt addresses these identities; the web UI's
// what-if gives them to recorded world addresses with names, so a draft's toFQDNs rule selects
// them exactly as it will after the next DNS answer.
import PolicyAPI

public enum FQDNIdentityLabels {
    /// The selector texts that select one of `names` and the covering prefixes, or nil when no
    /// selector selects the address (it then keeps its CIDR or world identity).
    public static func derive(ip: IPAddress, names: [String], selectors: [FQDNPattern], prefixes: [IPPrefix]) -> (selectors: [String], cidrs: [String])? {
        let texts = selectors.filter { s in names.contains { s.matches($0) } }.map(\.text)
        guard !texts.isEmpty else { return nil }
        return (texts, prefixes.filter { $0.contains(ip) }.map(\.description))
    }

    public static func labels(selectors: [String], cidrs: [String]) -> LabelSet {
        LabelSet(selectors.map { Label(LabelSource.fqdn, $0) } + cidrs.map { Label(LabelSource.cidr, $0) } + [.reserved("world")])
    }
}

extension PolicyEngine {
    /// The toFQDNs selectors in use, compiled.
    public var fqdnPatterns: [FQDNPattern] { fqdnSelectors.map { FQDNPattern(matchPattern: $0) } }
}
