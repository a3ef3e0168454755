// `porin hubble status` and `porin hubble list nodes|namespaces`: hubble's own commands, with
// its layouts, answered by the cluster's control plane from every node's flow ring.
import ArgumentParser
import ClusterAPI

struct HubbleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubble", abstract: "Hubble's status and node list, as `hubble status` and `hubble list` print them.",
        subcommands: [HubbleStatus.self, HubbleList.self])

    struct HubbleStatus: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Flows held, flows per second, connected nodes.")
        @OptionGroup var options: ClusterOptions
        func run() throws { try callControlPlane(try options.paths(), APIRequest(op: .hubbleStatus)) }
    }

    struct HubbleList: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List nodes or namespaces.")
        @OptionGroup var options: ClusterOptions
        @Option(name: .shortAndLong, help: "table (default) or wide (nodes only).")
        var output = "table"
        @Argument(help: "nodes or namespaces")
        var what: String

        func validate() throws {
            guard ["nodes", "namespaces"].contains(what) else { throw ValidationError("list what? nodes or namespaces, not \"\(what)\"") }
            guard ["table", "wide"].contains(output) else { throw ValidationError("-o \(output): table or wide") }
        }

        func run() throws {
            var r = APIRequest(op: what == "nodes" ? .hubbleNodes : .hubbleNamespaces)
            r.output = output
            try callControlPlane(try options.paths(), r)
        }
    }
}
