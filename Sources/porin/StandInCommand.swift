// `porin standin`: the server a pod runs in place of a container image (started by the agent).
import ArgumentParser
import StandIn

struct StandInCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "standin",
        abstract: "Serve HTTP (HEAD/GET → 200 OK) or echo on TCP ports, in place of a container image.")

    @Option(name: .customLong("port"), help: "PORT, PORT:http or PORT:echo (repeatable).")
    var ports: [String] = []
    @Option(help: "The name shown in the HTML page.")
    var hostname = "porin"

    func validate() throws {
        guard !ports.isEmpty else { throw ValidationError("give at least one --port") }
        for p in ports where StandInPort(argument: p) == nil {
            throw ValidationError("--port \"\(p)\": expected PORT (1-65535), PORT:http or PORT:echo")
        }
    }

    func run() throws {
        try StandInServer.run(ports: ports.compactMap(StandInPort.init(argument:)), hostName: hostname)
    }
}
