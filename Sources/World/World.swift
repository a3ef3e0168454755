// The simulated outside world (`porin up --world FILE`): a namespace with hosts on documentation
// prefixes, each serving what the lab expects of it (over HTTPS too, with certificates from the
// world's own CA), a resolver that knows their names, and an uplink from the node. Without
// internet, this is where `curl api.twitter.com` and `curl https://google.com` go.
import Foundation
import Netns
import PolicyAPI

public struct WorldSpec: Sendable, Hashable {
    public struct Port: Sendable, Hashable {
        public enum Serve: Sendable, Hashable { case http, echo, redirect(String) }
        public var port: Int
        public var serve: Serve
        /// HTTPS: http and redirect answers over TLS, with a certificate from the world's CA.
        public var tls = false
    }
    public struct Host: Sendable, Hashable {
        public var name: String
        public var address: IPAddress
        public var aliases: [String]
        public var ports: [Port]
    }
    public var dns: IPAddress
    public var hosts: [Host]

    /// The prefixes world hosts may use (RFC 5737): nothing real is ever addressed.
    public static let allowedPrefixes = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map { IPPrefix($0)! }

    /// Decodes a world file; every error is reported with file:line:column.
    public static func decode(text: String, file: String) throws(ManifestErrors) -> WorldSpec {
        let docs = try ManifestLoader.documents(text: text, file: file)
        let d = FieldDecoder()
        guard docs.count == 1, let f = d.object(docs[0], "") else {
            throw ManifestErrors(d.diagnostics.isEmpty ? [ManifestDiagnostic(SourcePosition(file: file, line: 1, column: 1), path: "", "a world file holds one document")] : d.diagnostics)
        }
        func address(_ n: ManifestNode, _ path: String) -> IPAddress? {
            guard let s = d.string(n, path) else { return nil }
            guard let a = IPAddress(s), a.isIPv4 else { d.error(n, path, "\"\(s)\" is not an IPv4 address"); return nil }
            guard allowedPrefixes.contains(where: { $0.contains(a) }) else {
                d.error(n, path, "\(s) is outside the documentation prefixes \(allowedPrefixes.map(\.description).joined(separator: ", ")) the world may use")
                return nil
            }
            return a
        }
        var dns: IPAddress?
        if let n = f.take("dns") { dns = address(n, "dns") } else { d.error(f.node, "dns", "required field is missing (the world resolver's address)") }
        let hosts = f.list("hosts") { n, p -> Host? in
            guard let h = d.object(n, p) else { return nil }
            defer { h.finish() }
            let before = d.diagnostics.count
            let name = h.string("name") ?? ""
            if (try? DNSNameCheck.valid(name)) != true { d.error(h.at("name"), h.sub("name"), "\"\(name)\" is not a host name") }
            var addr: IPAddress?
            if let a = h.take("address") { addr = address(a, h.sub("address")) } else { d.error(n, h.sub("address"), "required field is missing") }
            let aliases = h.stringList("aliases") ?? []
            let ports = h.list("ports") { pn, pp -> Port? in
                guard let q = d.object(pn, pp) else { return nil }
                defer { q.finish() }
                let tls = q.bool("tls") ?? false
                guard let port = q.int("port", in: 1...65535) else {
                    if !q.has("port") { d.error(pn, q.sub("port"), "required field is missing") }
                    // A refused port's kind fields are not unknown: say only what is wrong.
                    q.ignore("http", "echo", "redirect")
                    return nil
                }
                let kinds = [q.has("http"), q.has("echo"), q.has("redirect")].filter { $0 }.count
                if kinds != 1 {
                    d.error(pn, pp, "give exactly one of http: true, echo: true or redirect: URL")
                    q.ignore("http", "echo", "redirect")
                    return nil
                }
                var serve = Port.Serve.echo
                if let r = q.string("redirect") {
                    guard r.hasPrefix("http://") || r.hasPrefix("https://") else { d.error(q.at("redirect"), q.sub("redirect"), "\"\(r)\" is not an http(s) URL"); return nil }
                    serve = .redirect(r)
                } else if q.bool("http") == true {
                    serve = .http
                } else {
                    _ = q.bool("echo")
                }
                if tls, serve == .echo {
                    d.error(q.at("tls"), q.sub("tls"), "echo ports are plain TCP; tls: true goes with http: true or redirect: URL")
                    return nil
                }
                return Port(port: port, serve: serve, tls: tls)
            } ?? []
            guard d.diagnostics.count == before, let addr else { return nil }
            return Host(name: name, address: addr, aliases: aliases, ports: ports)
        } ?? []
        f.finish()
        guard d.diagnostics.isEmpty, let dns else { throw ManifestErrors(d.diagnostics) }
        return WorldSpec(dns: dns, hosts: hosts)
    }

    /// The resolver's records: each host's name and aliases.
    public var dnsRecords: String {
        hosts.flatMap { h in ["\(h.name) A \(h.address)"] + h.aliases.map { "\($0) CNAME \(h.name)" } }.joined(separator: "\n") + "\n"
    }
}

enum DNSNameCheck {
    static func valid(_ s: String) throws -> Bool {
        !s.isEmpty && s.count <= 253 && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { l in
            !l.isEmpty && l.count <= 63 && l.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}

/// The world's namespace, wired to a node by an uplink, with its servers running.
public final class WorldNetwork: @unchecked Sendable {
    public let namespace: NetworkNamespace
    public let spec: WorldSpec
    private var processes: [Process] = []
    /// The uplink's addresses: the node's end and the world's end.
    public static let nodeUplink = "10.255.255.1", worldUplink = "10.255.255.2"

    /// With HTTPS hosts: the world's certificates (under /etc/netns/<world>/porin-world-tls/).
    public private(set) var certificates: WorldCertificates?
    /// Where the CA certificate is published for the cluster's pods to trust (ClusterPaths.worldCA).
    public let caCertificatePath: String?

    /// Builds the world and routes between it and the node's pods (`podCIDR`). `porin` is the
    /// binary whose `standin` and `dns-server` the world runs. With HTTPS hosts, the world's CA
    /// certificate is copied to `caCertificatePath` (any older one there is removed otherwise).
    public init(name: String, spec: WorldSpec, node: NetworkNamespace, podCIDR: IPPrefix, porin: String,
                caCertificatePath: String? = nil) throws {
        self.spec = spec
        self.caCertificatePath = caCertificatePath
        namespace = try NetworkNamespace.create(name)
        do {
            try createVethPair(outer: "uplink", outerNamespace: node, innerTemp: "wtmp\(getpid() % 10000)", into: namespace, innerName: "eth0")
            try node.ip("addr", "add", "\(Self.nodeUplink)/30", "dev", "uplink")
            try namespace.ip("addr", "add", "\(Self.worldUplink)/30", "dev", "eth0")
            for p in WorldSpec.allowedPrefixes { try node.ip("route", "replace", p.description, "via", Self.worldUplink) }
            try namespace.ip("route", "add", podCIDR.description, "via", Self.nodeUplink)
            for a in Set(spec.hosts.map(\.address) + [spec.dns]) { try namespace.ip("addr", "add", "\(a)/32", "dev", "lo") }
            let records = "/etc/netns/\(name)/porin-world.records"
            try FileManager.default.createDirectory(atPath: "/etc/netns/\(name)", withIntermediateDirectories: true)
            try spec.dnsRecords.write(toFile: records, atomically: true, encoding: .utf8)
            try start([porin, "dns-server", "--listen", "\(spec.dns):53", "--zone", ".", "--records", records, "--ttl", "300"])
            if let caCertificatePath { try? FileManager.default.removeItem(atPath: caCertificatePath) }
            let https = spec.hosts.filter { $0.ports.contains(where: \.tls) }
            if !https.isEmpty {
                // Not named after anything in /etc: `ip netns exec` bind-mounts each entry of
                // /etc/netns/<world>/ over /etc/<entry>, and this one must shadow nothing.
                let certificates = try WorldCertificates.issue(hosts: https, directory: "/etc/netns/\(name)/porin-world-tls")
                self.certificates = certificates
                if let caCertificatePath {
                    let dir = (caCertificatePath as NSString).deletingLastPathComponent
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    try FileManager.default.copyItem(atPath: certificates.caCertificate, toPath: caCertificatePath)
                }
            }
            for h in spec.hosts where !h.ports.isEmpty {
                let ports = h.ports.map { p -> String in
                    let tls = p.tls ? "tls-" : ""
                    return switch p.serve {
                    case .http: "\(p.port):\(tls)http"
                    case .echo: "\(p.port):echo"
                    case let .redirect(url): "\(p.port):\(tls)redirect:\(url)"
                    }
                }
                var argv = [porin, "standin", "--address", h.address.description, "--hostname", h.name] + ports.flatMap { ["--port", $0] }
                if let leaf = certificates?.leaves[h.name] { argv += ["--tls-cert", leaf.certificate, "--tls-key", leaf.key] }
                try start(argv)
            }
        } catch {
            destroy()
            throw error
        }
    }

    private func start(_ argv: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", namespace.name] + argv
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        processes.append(p)
    }

    public func destroy() {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        processes = []
        try? namespace.delete()
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(namespace.name)")
        // Pods made after the world is gone should not trust its CA.
        if let caCertificatePath { try? FileManager.default.removeItem(atPath: caCertificatePath) }
    }
}
