// The web UI's request rules that need no socket: the Host/Origin guard against DNS rebinding and
// cross-site posts, and the percent-decoding of paths and query strings into a WebRequest.

enum WebGuard {
    /// Why the request is refused (403), or nil when it may go on.
    ///
    /// A `Host` other than the loopback names with our port means the browser reached us through a
    /// name an attacker controls (DNS rebinding), so even GETs are refused. A state-changing method
    /// whose `Origin` is another site is refused too: the page at that origin could otherwise apply
    /// or delete policies through the user's browser. A missing `Origin` is allowed (curl, and
    /// same-origin GETs); a present but foreign one, including `null`, is not.
    static func refusal(method: String, host: String?, origin: String?, port: Int, boundHost: String = "127.0.0.1") -> String? {
        let names = allowedNames(boundHost: boundHost)
        // Browsers leave out the default port, so on port 80 the bare name is ours too.
        let hosts = names.map { "\($0):\(port)" } + (port == 80 ? names : [])
        guard let host, hosts.contains(host.lowercased()) else {
            return "Host \(host.map { "'\($0)'" } ?? "missing") is not this server (use http://127.0.0.1:\(port))"
        }
        let changing = ["POST", "PUT", "DELETE", "PATCH"].contains(method.uppercased())
        if changing, let origin, !hosts.contains(where: { "http://\($0)" == origin.lowercased() }) {
            return "Origin '\(origin)' may not change this cluster"
        }
        return nil
    }

    private static func allowedNames(boundHost: String) -> [String] {
        var names = ["127.0.0.1", "localhost"]
        let host = boundHost.lowercased()
        if !["0.0.0.0", "::", "", "127.0.0.1", "localhost"].contains(host) {
            names.append(host.contains(":") ? "[\(host)]" : host)
        }
        return names
    }
}

enum URLDecoding {
    /// `%XX` decoded as UTF-8 bytes; invalid escapes are kept as written. With `plusIsSpace` (query
    /// strings, as browsers' URLSearchParams and Go's url.ParseQuery read them) `+` is a space.
    static func percentDecode(_ s: Substring, plusIsSpace: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
                continue
            }
            out.append(plusIsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The query's `key=value` pairs in order; a pair without `=` has an empty value.
    static func query(_ q: Substring?) -> [(key: String, value: String)] {
        guard let q, !q.isEmpty else { return [] }
        return q.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            if let eq = pair.firstIndex(of: "=") {
                return (percentDecode(pair[..<eq], plusIsSpace: true), percentDecode(pair[pair.index(after: eq)...], plusIsSpace: true))
            }
            return (percentDecode(pair, plusIsSpace: true), "")
        }
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
