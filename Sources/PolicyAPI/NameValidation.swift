// Kubernetes name, label and selector syntax checks (apimachinery's validation rules), used for
// selectors and metadata so that a typo is reported where it is written.

public enum NameValidation {
    static func isAlnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }

    /// DNS-1123 label: lowercase alphanumerics and '-', alnum at both ends, at most 63 chars.
    public static func isDNS1123Label(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 63 else { return false }
        guard s.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }) else { return false }
        return isAlnum(s.first!) && isAlnum(s.last!)
    }

    /// DNS-1123 subdomain: dot-separated labels, at most 253 chars.
    public static func isDNS1123Subdomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 253 else { return false }
        guard s.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }) else { return false }
        return isAlnum(s.first!) && isAlnum(s.last!)
    }

    /// The name part of a qualified name or a label value: `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, ≤ 63.
    static func isQualifiedNamePart(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 63 else { return false }
        guard s.allSatisfy({ isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }) else { return false }
        return isAlnum(s.first!) && isAlnum(s.last!)
    }

    /// A label key: `[prefix/]name` with a DNS-1123 subdomain prefix.
    public static func labelKeyProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 {
            if parts[0].isEmpty { return "prefix part must be non-empty" }
            if !isDNS1123Subdomain(parts[0]) { return "prefix part \"\(parts[0])\" must be a lowercase DNS-1123 subdomain" }
        }
        let name = parts.last!
        if name.isEmpty { return "name part must be non-empty" }
        if name.count > 63 { return "name part must be no more than 63 characters" }
        if !isQualifiedNamePart(name) {
            return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        }
        return nil
    }

    public static func labelValueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.count > 63 { return "must be no more than 63 characters" }
        if !isQualifiedNamePart(value) {
            return "a valid label value must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        }
        return nil
    }

    /// IANA service name (a named port): ≤ 15 chars, lowercase letters, digits and '-', at least
    /// one letter, no '-' at either end and no "--".
    public static func isServiceName(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 15 else { return false }
        guard s.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }) else { return false }
        guard s.contains(where: { $0.isLetter }), s.first != "-", s.last != "-", !s.contains("--") else { return false }
        return true
    }
}
