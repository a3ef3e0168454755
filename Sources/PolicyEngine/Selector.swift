// Normalised endpoint selectors: every key carries its label source (`any` matches all sources),
// and CIDR keys match by prefix containment. This is what the selector cache interns.
import PolicyAPI

public struct SelectorRequirement: Hashable, Sendable, Comparable {
    public enum Op: UInt8, Sendable, Comparable {
        case `in`, notIn, exists, doesNotExist
        public static func < (a: Op, b: Op) -> Bool { a.rawValue < b.rawValue }
    }
    public var source: String
    public var key: String
    public var op: Op
    public var values: [String]
    /// For `cidr` keys: the parsed prefix, matched by containment.
    public var prefix: IPPrefix?
    let keyHash: Int

    public init(source: String, key: String, op: Op, values: [String] = []) {
        self.source = source
        self.key = key
        self.op = op
        self.values = values.sorted()
        self.prefix = source == LabelSource.cidr ? IPPrefix(key.replacingDashesInV6(), allowBareIP: true) : nil
        self.keyHash = key.hashValue
    }

    public static func == (a: SelectorRequirement, b: SelectorRequirement) -> Bool {
        a.source == b.source && a.key == b.key && a.op == b.op && a.values == b.values
    }
    public func hash(into h: inout Hasher) { h.combine(source); h.combine(key); h.combine(op); h.combine(values) }

    public static func < (a: SelectorRequirement, b: SelectorRequirement) -> Bool {
        (a.source, a.key, a.op, a.values.joined(separator: ",")) < (b.source, b.key, b.op, b.values.joined(separator: ","))
    }

    /// True when label `l` is one this requirement talks about.
    @inline(__always)
    func concerns(_ l: Label) -> Bool {
        l.key == key && (source == LabelSource.any || l.source == source)
    }

    func matches(_ set: LabelSet) -> Bool {
        if let prefix {
            // CIDR requirements hold when some cidr label of the identity lies inside the prefix.
            let inside = set.cidrPrefixes.contains { prefix.contains($0) }
            switch op {
            case .exists, .in: return inside
            case .doesNotExist, .notIn: return !inside
            }
        }
        return set.labels.withUnsafeBufferPointer { labels in
            set.keyHashes.withUnsafeBufferPointer { hashes in
                for i in 0..<hashes.count where hashes[i] == keyHash {
                    guard labels[i].key == key, source == LabelSource.any || labels[i].source == source else { continue }
                    switch op {
                    case .in: if values.contains(labels[i].value) { return true }
                    case .notIn: if values.contains(labels[i].value) { return false }
                    case .exists: return true
                    case .doesNotExist: return false
                    }
                }
                return op == .notIn || op == .doesNotExist
            }
        }
    }

    public var description: String {
        let k = "\(source):\(key)"
        switch op {
        case .in: return values.count == 1 ? "\(k)=\(values[0])" : "\(k) in (\(values.joined(separator: ",")))"
        case .notIn: return "\(k) notin (\(values.joined(separator: ",")))"
        case .exists: return k
        case .doesNotExist: return "!\(k)"
        }
    }
}

extension String {
    /// CIDR label keys write IPv6 colons as dashes (`cidr:fd00--/8`).
    func replacingDashesInV6() -> String {
        contains("-") && !contains(".") ? replacingOccurrences(of: "-", with: ":") : self
    }
    func replacingOccurrences(of a: Character, with b: Character) -> String { String(map { $0 == a ? b : $0 }) }
}

/// A normalised selector: a conjunction of requirements. The empty selector selects everything.
public struct EndpointSelectorSpec: Hashable, Sendable, CustomStringConvertible {
    public private(set) var requirements: [SelectorRequirement]

    public init(_ requirements: [SelectorRequirement]) {
        self.requirements = Array(Set(requirements)).sorted()
    }

    public static let wildcard = EndpointSelectorSpec([])

    public var isWildcard: Bool { requirements.isEmpty }

    public func matches(_ labels: LabelSet) -> Bool {
        requirements.withUnsafeBufferPointer { reqs in
            for i in 0..<reqs.count where !reqs[i].matches(labels) { return false }
            return true
        }
    }

    /// Splits a written key into (source, key): `k8s:app` → (k8s, app); `app` → (any, app).
    public static func splitKey(_ written: String) -> (String, String) {
        if let colon = written.firstIndex(of: ":") {
            return (String(written[..<colon]), String(written[written.index(after: colon)...]))
        }
        return (LabelSource.any, written)
    }

    /// Normalises a selector as written in a policy.
    public init(_ sel: LabelSelector, defaultSource: String = LabelSource.any) {
        var reqs: [SelectorRequirement] = []
        for (k, v) in sel.matchLabels {
            var (src, key) = Self.splitKey(k)
            if !k.contains(":") { src = defaultSource }
            reqs.append(SelectorRequirement(source: src, key: key, op: .in, values: [v]))
        }
        for e in sel.matchExpressions {
            var (src, key) = Self.splitKey(e.key)
            if !e.key.contains(":") { src = defaultSource }
            let op: SelectorRequirement.Op = switch e.op {
            case .in: .in
            case .notIn: .notIn
            case .exists: .exists
            case .doesNotExist: .doesNotExist
            }
            reqs.append(SelectorRequirement(source: src, key: key, op: op, values: e.values))
        }
        self.init(reqs)
    }

    public func adding(_ r: SelectorRequirement) -> EndpointSelectorSpec { EndpointSelectorSpec(requirements + [r]) }

    /// True when some requirement talks about `key` with source `k8s` or `any`.
    public func mentions(key: String) -> Bool {
        requirements.contains { $0.key == key && ($0.source == LabelSource.k8s || $0.source == LabelSource.any) }
    }

    public func mentions(keyPrefix: String) -> Bool {
        requirements.contains { $0.key.hasPrefix(keyPrefix) && ($0.source == LabelSource.k8s || $0.source == LabelSource.any) }
    }

    public var mentionsReserved: Bool { requirements.contains { $0.source == LabelSource.reserved } }

    /// The namespace this selector is restricted to, if it pins one (used to index rules).
    public var pinnedNamespace: String? {
        for r in requirements where r.key == "io.kubernetes.pod.namespace" && r.op == .in && r.values.count == 1
            && (r.source == LabelSource.k8s || r.source == LabelSource.any) {
            return r.values[0]
        }
        return nil
    }

    public var description: String { requirements.isEmpty ? "{}" : requirements.map(\.description).joined(separator: ", ") }
}
