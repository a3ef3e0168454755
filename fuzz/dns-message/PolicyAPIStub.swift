// The one PolicyAPI type FQDNPattern.swift uses (Sources/PolicyAPI/PolicyTypes.swift), so the
// harness compiles FQDNPattern without the YAML-based PolicyAPI module.
public struct FQDNSelector: Hashable, Sendable {
    public var matchName: String?
    public var matchPattern: String?
    public init(matchName: String? = nil, matchPattern: String? = nil) {
        self.matchName = matchName
        self.matchPattern = matchPattern
    }
}
