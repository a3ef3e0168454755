// Decoding and validation of label selectors (Cilium's EndpointSelector is a Kubernetes
// LabelSelector whose keys may carry a label source such as `k8s:` or `reserved:`).

/// Label sources Cilium knows (`pkg/labels`); a selector key `src:key` must use one of them.
public let knownLabelSources: Set<String> = [
    "unspec", "any", "k8s", "container", "cni", "reserved", "cidr", "cidrgroup", "node", "fqdn", "directory",
]

extension FieldDecoder {
    public func labelSelector(_ node: ManifestNode, _ path: String) -> LabelSelector? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        var sel = LabelSelector()
        var ok = true
        if let ml = f.take("matchLabels") {
            if let pairs = stringMap(ml, f.sub("matchLabels")), let mf = object(ml, f.sub("matchLabels")) {
                for (k, v) in pairs {
                    let p = mf.sub(k)
                    if let problem = selectorKeyProblem(k) { error(at: mf.keyPosition(k), p, "invalid label key \"\(k)\": \(problem)"); ok = false }
                    if let problem = NameValidation.labelValueProblem(v) { error(mf.at(k), p, "invalid label value \"\(v)\": \(problem)"); ok = false }
                    sel.matchLabels.append((k, v))
                }
            } else { ok = false }
        }
        if let me = f.take("matchExpressions") {
            let reqs = list(me, f.sub("matchExpressions")) { n, p -> LabelSelector.Requirement? in
                self.requirement(n, p)
            }
            if let reqs, case let .sequence(items) = me.value, reqs.count == items.count {
                sel.matchExpressions = reqs
            } else { ok = false }
        }
        return ok ? sel : nil
    }

    func requirement(_ node: ManifestNode, _ path: String) -> LabelSelector.Requirement? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let key = f.string("key")
        let opText = f.string("operator")
        let values = f.stringList("values") ?? []
        guard let key else {
            if !f.has("key") { error(f.at("key"), f.sub("key"), "required field is missing") }
            return nil
        }
        if let problem = selectorKeyProblem(key) { error(f.at("key"), f.sub("key"), "invalid label key \"\(key)\": \(problem)"); return nil }
        guard let opText else {
            if !f.has("operator") { error(f.at("operator"), f.sub("operator"), "required field is missing") }
            return nil
        }
        guard let op = LabelSelector.Requirement.Operator(rawValue: opText) else {
            error(f.at("operator"), f.sub("operator"), "\"\(opText)\" is not a valid selector operator (In, NotIn, Exists, DoesNotExist)")
            return nil
        }
        switch op {
        case .in, .notIn:
            if values.isEmpty {
                error(f.at("values"), f.sub("values"), "must be specified when `operator` is 'In' or 'NotIn'")
                return nil
            }
        case .exists, .doesNotExist:
            if !values.isEmpty {
                error(f.at("values"), f.sub("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
                return nil
            }
        }
        for v in values {
            if let problem = NameValidation.labelValueProblem(v) {
                error(f.at("values"), f.sub("values"), "invalid label value \"\(v)\": \(problem)")
                return nil
            }
        }
        return LabelSelector.Requirement(key: key, op: op, values: values)
    }

    /// Checks a selector key, which may start with `source:`.
    func selectorKeyProblem(_ key: String) -> String? {
        var k = Substring(key)
        if let colon = k.firstIndex(of: ":") {
            let src = String(k[..<colon])
            if !knownLabelSources.contains(src) { return "unknown label source \"\(src)\"" }
            k = k[k.index(after: colon)...]
            // Reserved labels (`reserved:host`) and CIDR labels (`cidr:10.0.0.0/8`) are not k8s keys.
            if src == "reserved" || src == "cidr" || src == "fqdn" || src == "cidrgroup" { return k.isEmpty ? "empty key" : nil }
        }
        return NameValidation.labelKeyProblem(String(k))
    }
}
