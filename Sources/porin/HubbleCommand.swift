// `porin hubble status` and `porin hubble list nodes|namespaces`: hubble's own commands, with
// its layouts, asked of Hubble Relay's gRPC API (the cluster's relay socket, or --server).
import ArgumentParser
import ClusterAPI
import Foundation
import Hubble
import HubbleAPI
import HubbleProto

/// Where the hubble commands connect: --server as hubble spells it, else the cluster's relay.
struct HubbleServerOptions: ParsableArguments {
    @Option(help: "The cluster (default: $PORIN_CLUSTER, else the only one running).")
    var cluster: String?
    @Option(help: "A Hubble server instead of the cluster's relay: host:port or unix:///path (hubble's --server).")
    var server: String?

    func address() throws -> HubbleAddress {
        if let server {
            do { return try HubbleAddress(parsing: server) } catch { throw ValidationError("--server: \(error)") }
        }
        let paths: ClusterPaths
        do { paths = try ClusterPaths.select(cluster) } catch { throw ValidationError("\(error)") }
        return .unix(paths.relaySocket)
    }
}

/// Runs a client call; a failure is printed as hubble prints it and exits 1.
func hubbleCall<T: Sendable>(_ address: HubbleAddress, _ body: @escaping @Sendable (HubbleClient) async throws -> T) throws -> T {
    do {
        return try runBlocking { try await body(HubbleClient(address)) }
    } catch {
        FileHandle.standardError.write(Data("failed to connect to '\(address)': \(HubbleClient.describe(error))\n".utf8))
        throw ExitCode(1)
    }
}

struct HubbleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubble", abstract: "Hubble's status and node list, as `hubble status` and `hubble list` print them.",
        subcommands: [HubbleStatus.self, HubbleList.self])

    struct HubbleStatus: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Health, flows held, flows per second, connected nodes.")
        @OptionGroup var options: HubbleServerOptions
        @Option(name: .shortAndLong, help: "compact (default) or json.")
        var output = "compact"

        func validate() throws {
            guard ["compact", "json"].contains(output) else { throw ValidationError("-o \(output): compact or json") }
        }

        func run() throws {
            let address = try options.address()
            let json = output == "json"
            let text: String = try hubbleCall(address) { client in
                let health = try await client.health()
                guard health == .serving else { return "Healthcheck (via \(address)): Unavailable: \(health)\n" }
                let s = try await client.withObserver { o in try await o.serverStatus(Observer_ServerStatusRequest(), options: HubbleClient.unary()) }
                return json ? try HubbleJSON.compact(s) + "\n" : StatusFormat.status(HubbleServerStatus(proto: s), target: address.description)
            }
            print(text, terminator: "")
        }
    }

    struct HubbleList: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List nodes or namespaces.")
        @OptionGroup var options: HubbleServerOptions
        @Option(name: .shortAndLong, help: "table (default), wide (nodes only) or json.")
        var output = "table"
        @Argument(help: "nodes or namespaces")
        var what: String

        func validate() throws {
            guard ["nodes", "namespaces"].contains(what) else { throw ValidationError("list what? nodes or namespaces, not \"\(what)\"") }
            let formats = what == "nodes" ? ["table", "wide", "json"] : ["table", "json"]
            guard formats.contains(output) else { throw ValidationError("-o \(output): \(formats.joined(separator: ", "))") }
        }

        func run() throws {
            let address = try options.address()
            let (what, output) = (self.what, self.output)
            let text: String = try hubbleCall(address) { client in
                try await client.withObserver { o in
                    if what == "nodes" {
                        let nodes = try await o.getNodes(Observer_GetNodesRequest(), options: HubbleClient.unary()).nodes
                        return output == "json" ? try HubbleJSON.indentedArray(nodes) : StatusFormat.nodes(nodes.map(HubbleNode.init(proto:)), wide: output == "wide")
                    }
                    let namespaces = try await o.getNamespaces(Observer_GetNamespacesRequest(), options: HubbleClient.unary()).namespaces
                    return output == "json" ? try HubbleJSON.indentedArray(namespaces) : (["NAMESPACE"] + namespaces.map(\.namespace)).joined(separator: "\n") + "\n"
                }
            }
            print(text, terminator: "")
        }
    }
}
