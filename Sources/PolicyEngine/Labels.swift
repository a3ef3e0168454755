// Security labels: `source:key=value` triples (Cilium's `pkg/labels`), the label sets that
// make up identities, and the rule that decides which labels count for identity (§3.3).
import PolicyAPI

public enum LabelSource {
    public static let any = "any"
    public static let k8s = "k8s"
    public static let reserved = "reserved"
    public static let cidr = "cidr"
    public static let fqdn = "fqdn"
    public static let unspec = "unspec"
}

public struct Label: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var source: String
    public var key: String
    public var value: String

    public init(_ source: String, _ key: String, _ value: String = "") {
        self.source = source
        self.key = key
        self.value = value
    }

    public static func reserved(_ name: String) -> Label { Label(LabelSource.reserved, name) }

    /// Parses `source:key=value`, `source:key`, or `key=value` (source `unspec`).
    public init(parsing text: String) {
        var rest = Substring(text)
        var source = LabelSource.unspec
        if let colon = rest.firstIndex(of: ":"), let eq = rest.firstIndex(of: "=") ?? Optional(rest.endIndex), colon < eq {
            source = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        if let eq = rest.firstIndex(of: "=") {
            self.init(source, String(rest[..<eq]), String(rest[rest.index(after: eq)...]))
        } else {
            self.init(source, String(rest))
        }
    }

    /// Hubble's form: `k8s:app=frontend`, `reserved:world`.
    public var description: String { value.isEmpty ? "\(source):\(key)" : "\(source):\(key)=\(value)" }

    public static func < (a: Label, b: Label) -> Bool { (a.source, a.key, a.value) < (b.source, b.key, b.value) }
}

/// A sorted, duplicate-free set of labels: the label set of an identity.
public struct LabelSet: Hashable, Sendable, CustomStringConvertible {
    public private(set) var labels: [Label]
    /// The prefixes of the `cidr:` labels, parsed once for containment matching.
    public private(set) var cidrPrefixes: [IPPrefix]
    /// Hashes of the label keys, so that selector matching compares strings only on a likely hit.
    private(set) var keyHashes: [Int]
    /// The pod namespace (`k8s:io.kubernetes.pod.namespace`), used to index selectors and rules.
    public private(set) var namespace: String?

    public init(_ labels: [Label]) {
        // Sort, then drop adjacent duplicates (cheaper than hashing every label).
        var sorted = labels.sorted()
        if sorted.count > 1 {
            var w = 1
            for r in 1..<sorted.count where sorted[r] != sorted[w - 1] {
                sorted[w] = sorted[r]
                w += 1
            }
            sorted.removeLast(sorted.count - w)
        }
        self.labels = sorted
        self.cidrPrefixes = self.labels.compactMap { $0.source == LabelSource.cidr ? IPPrefix($0.key.replacingDashesInV6(), allowBareIP: true) : nil }
        self.keyHashes = self.labels.map { $0.key.hashValue }
        self.namespace = self.labels.first { $0.source == LabelSource.k8s && $0.key == "io.kubernetes.pod.namespace" }?.value
    }

    public static func == (a: LabelSet, b: LabelSet) -> Bool { a.labels == b.labels }
    public func hash(into h: inout Hasher) { h.combine(labels) }

    public func contains(source: String, key: String) -> Bool {
        labels.contains { $0.key == key && $0.source == source }
    }

    public var description: String { labels.map(\.description).joined(separator: ",") }
}

/// Which pod labels take part in identity (Cilium's default label prefix filter, §3.3).
public enum IdentityLabelFilter {
    static let include = ["io.kubernetes.pod.namespace", "io.cilium.k8s.namespace.labels", "app.kubernetes.io",
                          "io.cilium.k8s.policy.cluster", "io.cilium.k8s.policy.serviceaccount"]
    static let ignore = ["io.kubernetes", "kubernetes.io", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
                         "batch.kubernetes.io/job-completion-index", "batch.kubernetes.io/controller-uid", "k8s.io",
                         "pod-template-generation", "pod-template-hash", "controller-revision-hash", "controller-uid",
                         "annotation", "etcd_node", "topology.kubernetes.io"]

    /// True when a `k8s` label with this key is part of the identity. The longest matching prefix
    /// decides; an include beats an ignore of the same length.
    public static func keeps(key: String) -> Bool {
        var best = -1
        var keep = true
        for p in include where key.hasPrefix(p) && p.count >= best { best = p.count; keep = true }
        for p in ignore where key.hasPrefix(p) && p.count > best { best = p.count; keep = false }
        // `.*beta.kubernetes.io` ignores any key containing beta.kubernetes.io.
        if key.contains("beta.kubernetes.io") && best < 0 { keep = false }
        return keep
    }
}

/// The security labels of a pod (`SanitizePodLabels` + the identity filter): pod labels, the
/// namespace's labels, namespace, service account and cluster, all with source `k8s`.
public func podIdentityLabels(podLabels: [String: String], namespace: String, namespaceLabels: [String: String],
                              serviceAccount: String, clusterName: String, keeps: (String) -> Bool = IdentityLabelFilter.keeps) -> LabelSet {
    var out: [Label] = []
    out.reserveCapacity(podLabels.count + namespaceLabels.count + 4)
    for (k, v) in podLabels where !k.hasPrefix("io.cilium.k8s") && keeps(k) {
        out.append(Label(LabelSource.k8s, k, v))
    }
    // Namespace labels always pass the filter (`io.cilium.k8s.namespace.labels` is an include).
    var nsLabels = namespaceLabels
    nsLabels["kubernetes.io/metadata.name"] = namespace
    for (k, v) in nsLabels {
        out.append(Label(LabelSource.k8s, "io.cilium.k8s.namespace.labels." + k, v))
    }
    out.append(Label(LabelSource.k8s, "io.kubernetes.pod.namespace", namespace))
    out.append(Label(LabelSource.k8s, "io.cilium.k8s.policy.serviceaccount", serviceAccount))
    out.append(Label(LabelSource.k8s, "io.cilium.k8s.policy.cluster", clusterName))
    return LabelSet(out)
}
