// The page's files as the server holds them (EmbeddedAssets.swift is generated from Assets/ by
// scripts/embed-web-assets.py), and conditional GETs against their ETags.

struct EmbeddedAsset: Sendable {
    let name: String
    let contentType: String
    /// A quoted hash of the text, so it changes exactly when the file does.
    let etag: String
    let text: String
}

extension EmbeddedAssets {
    static let byName: [String: EmbeddedAsset] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    static func named(_ name: String) -> EmbeddedAsset? { byName[name] }

    /// `If-None-Match` (RFC 9110 §13.1.2): a list of tags, weak or strong, or `*`.
    static func matches(ifNoneMatch header: String?, etag: String) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { tag in
            let t = tag.trimmedOfBlanks()
            return t == "*" || t == etag || t == "W/" + etag
        }
    }
}

private extension Substring {
    func trimmedOfBlanks() -> String {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
