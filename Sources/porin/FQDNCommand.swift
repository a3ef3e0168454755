// `porin fqdn cache list`: what the nodes' DNS proxies learnt, as `cilium fqdn cache list` prints
// it (the same columns, tab-aligned the same way, and the same JSON keys with `-o json`).
import ArgumentParser
import ClusterAPI
import DNS
import Foundation
import PolicyEngine

struct FQDNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fqdn", abstract: "What the DNS proxy learnt (like `cilium fqdn`).",
                                                    subcommands: [FQDNCacheCommand.self])
}

struct FQDNCacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache", abstract: "The DNS proxy's name cache.", subcommands: [FQDNCacheListCommand.self])
}

struct FQDNCacheListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Names, addresses, TTLs and expiry per endpoint, like `cilium fqdn cache list`.")
    @OptionGroup var options: ClusterOptions
    @Option(name: .shortAndLong, help: "Only this endpoint: its id, or NAMESPACE/POD.")
    var endpoint: String?
    @Option(name: .customLong("matchname"), help: "Only this name (exact, case-insensitive).")
    var matchName: String?
    @Option(name: [.customShort("p"), .customLong("matchpattern")], help: "Only names this toFQDNs matchPattern selects (e.g. \"*.twitter.com\").")
    var matchPattern: String?
    @Option(name: .shortAndLong, help: "Output: table (default) or json.")
    var output = "table"

    func validate() throws {
        guard ["table", "json"].contains(output) else { throw ValidationError("-o \(output): table or json") }
        if matchName != nil && matchPattern != nil { throw ValidationError("--matchname and --matchpattern exclude each other") }
        if let n = matchName, (try? DNSName(n)) == nil { throw ValidationError("--matchname \"\(n)\" is not a DNS name") }
        if let p = matchPattern, p.isEmpty || p.contains(where: { !($0.isLetter || $0.isNumber || "-_.*".contains($0)) }) {
            throw ValidationError("--matchpattern \"\(p)\": letters, digits, '-', '_', '.' and '*' only")
        }
    }

    func run() throws {
        let paths = try options.paths()
        let resp: APIResponse
        do { resp = try UnixSocket.call(paths.apiSocket, APIRequest(op: .fqdnCache), as: APIResponse.self) } catch {
            throw ValidationError("cluster \(paths.name) does not answer (\(error)); is it up?")
        }
        guard resp.exitCode == 0 else {
            FileHandle.standardError.write(Data(resp.stderr.utf8))
            throw ExitCode(resp.exitCode)
        }
        var rows = try JSONDecoder().decode([FQDNCacheRow].self, from: Data(resp.stdout.utf8))
        if let e = endpoint {
            guard Int(e) != nil || e.contains("/") else { throw ValidationError("--endpoint \"\(e)\": an endpoint id or NAMESPACE/POD") }
            rows = rows.filter { Int(e) == $0.endpoint || e == $0.pod }
        }
        if let n = matchName {
            let want = n.lowercased().hasSuffix(".") ? n.lowercased() : n.lowercased() + "."
            rows = rows.filter { $0.fqdn == want }
        }
        if let p = matchPattern {
            let pattern = FQDNPattern(matchPattern: p)
            rows = rows.filter { pattern.matches($0.fqdn) }
        }
        print(output == "json" ? Self.json(rows) : Self.table(rows), terminator: "")
    }

    /// `2024-05-30T01:25:01.120Z`, as Cilium prints its API's date-times.
    static func time(_ t: Double) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    /// Go's tabwriter with minwidth 5, padding 3, every cell tab-terminated (cilium's settings).
    static func table(_ rows: [FQDNCacheRow]) -> String {
        let lines = [["Endpoint", "Source", "FQDN", "TTL", "ExpirationTime", "IPs"]]
            + rows.map { [String($0.endpoint), $0.source, $0.fqdn, String($0.ttl), time($0.expirationTime), $0.ips.joined(separator: ",")] }
        var widths = [Int](repeating: 5, count: 6)
        for l in lines { for (i, c) in l.enumerated() { widths[i] = max(widths[i], c.count + 3) } }
        return lines.map { l in l.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined() + "\n" }.joined()
    }

    static func json(_ rows: [FQDNCacheRow]) -> String {
        let objects: [[String: Any]] = rows.map {
            ["endpoint-id": $0.endpoint, "source": $0.source, "fqdn": $0.fqdn, "ttl": $0.ttl, "ips": $0.ips,
             "lookup-time": time($0.lookupTime), "expiration-time": time($0.expirationTime)]
        }
        let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
