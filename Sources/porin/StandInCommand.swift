// `porin standin`: the server a pod runs in place of a container image (started by the agent), and
// what the simulated world's hosts run (redirects, and HTTPS with the world's certificates).
import ArgumentParser
import PolicyAPI
import StandIn

struct StandInCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "standin",
        abstract: "Serve HTTP (HEAD/GET → 200 OK), HTTPS or echo on TCP ports, in place of a container image.")

    @Option(name: .customLong("port"), help: "PORT, PORT:http, PORT:echo or PORT:redirect:URL (301 to URL); over TLS PORT:tls-http or PORT:tls-redirect:URL (repeatable).")
    var ports: [String] = []
    @Option(help: "The name shown in the HTML page.")
    var hostname = "porin"
    @Option(help: "Listen on this IPv4 address only (default: all).")
    var address: String?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate (leaf, then any chain) the tls- ports present.")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    func validate() throws {
        guard !ports.isEmpty else { throw ValidationError("give at least one --port") }
        if let address, IPv4.parse(address) == nil { throw ValidationError("--address \"\(address)\" is not an IPv4 address") }
        var tls = false
        for p in ports {
            guard let port = StandInPort(argument: p) else {
                throw ValidationError("--port \"\(p)\": expected PORT (1-65535), PORT:http, PORT:echo, PORT:redirect:URL, PORT:tls-http or PORT:tls-redirect:URL")
            }
            tls = tls || port.tls
        }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give --tls-cert and --tls-key together") }
        if tls, tlsCert == nil { throw ValidationError("tls- ports need --tls-cert and --tls-key") }
        if !tls, tlsCert != nil { throw ValidationError("--tls-cert and --tls-key serve tls- ports, and no --port is one") }
    }

    func run() throws {
        var tls: StandInTLS?
        if let tlsCert, let tlsKey { tls = try StandInTLS(certificate: tlsCert, key: tlsKey) }
        try StandInServer.run(ports: ports.compactMap(StandInPort.init(argument:)), hostName: hostname,
                              address: address.flatMap(IPv4.parse) ?? 0, tls: tls)
    }
}

enum IPv4 {
    static func parse(_ s: String) -> UInt32? {
        guard let a = IPAddress(s), a.isIPv4 else { return nil }
        return a.v4
    }
}
