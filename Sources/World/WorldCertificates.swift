// The simulated world's certificates: a CA made when the world starts, and one leaf per HTTPS
// host naming the host and its aliases. Pods trust the CA (NodeNetwork.createPod), so
// `curl https://google.com` verifies a chain without `-k`, as it does against the real host.
import Foundation

public struct WorldCertificates: Sendable {
    /// The CA certificate (PEM), and each HTTPS host's certificate and key by host name.
    public var caCertificate: String
    public var leaves: [String: (certificate: String, key: String)]

    /// Issues the CA and the leaves into `directory` (created 0700; its previous contents go).
    /// The CA's key is deleted once the leaves are signed: nothing needs it later, and a key
    /// that every pod of the cluster trusts should not outlive its use.
    ///
    /// Made with the `openssl` command rather than OpenSSL's C API: the World target does not
    /// link OpenSSL, and two commands per world are all it takes.
    public static func issue(hosts: [WorldSpec.Host], directory: String) throws -> WorldCertificates {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Our own configuration: the machine's openssl.cnf would add its v3_ca extensions
        // (CA:true) to every certificate `req -x509` makes, leaves included.
        let config = "\(directory)/openssl.cnf"
        try """
        [req]
        distinguished_name = dn
        [dn]
        [ca]
        basicConstraints = critical, CA:TRUE, pathlen:0
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [leaf]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let ca = "\(directory)/ca.crt", caKey = "\(directory)/ca.key"
        defer { try? fm.removeItem(atPath: caKey) }
        let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-sha256"]
        try openssl(["req", "-x509", "-config", config, "-extensions", "ca"] + p256 +
                    ["-keyout", caKey, "-out", ca, "-days", "3650", "-subj", "/O=Porin/CN=Porin simulated world CA"])
        var leaves: [String: (certificate: String, key: String)] = [:]
        for h in hosts {
            let cert = "\(directory)/\(h.name).crt", key = "\(directory)/\(h.name).key"
            let names = ([h.name] + h.aliases).map { "DNS:\($0)" }.joined(separator: ",")
            try openssl(["req", "-x509", "-config", config, "-extensions", "leaf", "-CA", ca, "-CAkey", caKey] + p256 +
                        ["-keyout", key, "-out", cert, "-days", "825", "-subj", "/CN=\(h.name)", "-addext", "subjectAltName=\(names)"])
            leaves[h.name] = (cert, key)
        }
        return WorldCertificates(caCertificate: ca, leaves: leaves)
    }

    static func openssl(_ arguments: [String]) throws {
        let path = ((ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/openssl" } + ["/usr/bin/openssl"])
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { throw WorldError("the world's HTTPS hosts need the openssl command (Debian: apt install openssl)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let err = Pipe()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw WorldError("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}

public struct WorldError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
