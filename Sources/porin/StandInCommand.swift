// `porin standin`: the server a pod runs in place of a container image (started by the agent).
import ArgumentParser
import PolicyAPI
import StandIn

struct StandInCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "standin",
        abstract: "Serve HTTP (HEAD/GET → 200 OK) or echo on TCP ports, in place of a container image.")

    @Option(name: .customLong("port"), help: "PORT, PORT:http, PORT:echo or PORT:redirect:URL (301 to URL) (repeatable).")
    var ports: [String] = []
    @Option(help: "The name shown in the HTML page.")
    var hostname = "porin"
    @Option(help: "Listen on this IPv4 address only (default: all).")
    var address: String?

    func validate() throws {
        guard !ports.isEmpty else { throw ValidationError("give at least one --port") }
        if let address, IPv4.parse(address) == nil { throw ValidationError("--address \"\(address)\" is not an IPv4 address") }
        for p in ports where StandInPort(argument: p) == nil {
            throw ValidationError("--port \"\(p)\": expected PORT (1-65535), PORT:http, PORT:echo or PORT:redirect:URL")
        }
    }

    func run() throws {
        try StandInServer.run(ports: ports.compactMap(StandInPort.init(argument:)), hostName: hostname, address: address.flatMap(IPv4.parse) ?? 0)
    }
}

enum IPv4 {
    static func parse(_ s: String) -> UInt32? {
        guard let a = IPAddress(s), a.isIPv4 else { return nil }
        return a.v4
    }
}
