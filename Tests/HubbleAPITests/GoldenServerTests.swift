// `porin hubble status|list` and `porin observe` as gRPC clients, against a Hubble server in this
// process that serves what the golden server served (golden-server/: its status, nodes and
// namespaces; flows.jsonl in an agent observer's ring buffer). The outputs must be the real hubble
// CLI's, byte for byte.
import Foundation
import GRPCCore
import Hubble
import HubbleAPI
import HubbleProto
import SwiftProtobuf
import Testing

/// The golden server: fixed status, nodes and namespaces; flows from an agent observer.
struct GoldenObserver: Observer_Observer.SimpleServiceProtocol {
    let flows: AgentObserver
    let status: Observer_ServerStatusResponse
    let nodes: [Observer_Node]
    let namespaces: [Observer_Namespace]

    init() throws {
        let ring = FlowRing(capacity: 4095)
        for r in try Golden.records() { ring.append(r) }
        flows = AgentObserver(ring: ring, nodeName: "kind-worker", version: "1.19.4")
        let statusJSON = try Golden.serverBlock("status-json.txt").output
        status = try Observer_ServerStatusResponse(jsonString: statusJSON)
        func objects(_ file: String) throws -> [String] {
            guard case let .array(items) = try JSONReader.parse(try Golden.serverBlock(file).output) else { return [] }
            return items.map { $0.indented() }
        }
        nodes = try objects("list-nodes-json.txt").map { try Observer_Node(jsonString: $0) }
        namespaces = try objects("list-namespaces-json.txt").map { try Observer_Namespace(jsonString: $0) }
    }

    func getFlows(request: Observer_GetFlowsRequest, response: RPCWriter<Observer_GetFlowsResponse>, context: ServerContext) async throws {
        try await flows.getFlows(request: request, response: response, context: context)
    }
    func getAgentEvents(request: Observer_GetAgentEventsRequest, response: RPCWriter<Observer_GetAgentEventsResponse>, context: ServerContext) async throws {}
    func getDebugEvents(request: Observer_GetDebugEventsRequest, response: RPCWriter<Observer_GetDebugEventsResponse>, context: ServerContext) async throws {}
    func getNodes(request: Observer_GetNodesRequest, context: ServerContext) async throws -> Observer_GetNodesResponse {
        var r = Observer_GetNodesResponse()
        r.nodes = nodes
        return r
    }
    func getNamespaces(request: Observer_GetNamespacesRequest, context: ServerContext) async throws -> Observer_GetNamespacesResponse {
        var r = Observer_GetNamespacesResponse()
        r.namespaces = namespaces
        return r
    }
    func serverStatus(request: Observer_ServerStatusRequest, context: ServerContext) async throws -> Observer_ServerStatusResponse { status }
}

@Suite("porin as a hubble client (golden server)", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: porinBinary().path)))
struct GoldenServerTests {
    /// One server for the suite, on a free loopback port.
    static let server: HubbleAddress = {
        // swiftlint:disable:next force_try
        try! HubbleServer.start(.tcp(host: "127.0.0.1", port: 0), services: [try! GoldenObserver()], executor: ThreadExecutor(threads: 2))
    }()

    static func check(_ file: String, porinArgs: [String]) throws {
        let golden = try Golden.serverBlock(file)
        let r = try porin(porinArgs + ["--server", server.description])
        let expected = golden.output.replacingOccurrences(of: "127.0.0.1:14245", with: server.description)
        #expect(r.status == golden.rc, "\(file): \(r.stderr)")
        #expect(r.stdout == expected, "\(file)")
    }

    @Test("hubble status, plain and json")
    func status() throws {
        try Self.check("status.txt", porinArgs: ["hubble", "status"])
        try Self.check("status-json.txt", porinArgs: ["hubble", "status", "-o", "json"])
    }

    @Test("hubble list nodes: table, wide, json")
    func nodes() throws {
        try Self.check("list-nodes.txt", porinArgs: ["hubble", "list", "nodes"])
        try Self.check("list-nodes-wide.txt", porinArgs: ["hubble", "list", "nodes", "-o", "wide"])
        try Self.check("list-nodes-json.txt", porinArgs: ["hubble", "list", "nodes", "-o", "json"])
    }

    @Test("hubble list namespaces: table and json")
    func namespaces() throws {
        try Self.check("list-namespaces.txt", porinArgs: ["hubble", "list", "namespaces"])
        try Self.check("list-namespaces-json.txt", porinArgs: ["hubble", "list", "namespaces", "-o", "json"])
    }

    @Test("observe through GetFlows: all, a verdict filter, a pod filter as json, the last 3", arguments: [
        "observe-all.txt", "observe-dropped.txt", "observe-from-pod-json.txt", "observe-last-3.txt",
    ])
    func observe(_ file: String) throws {
        try Self.check(file, porinArgs: try Golden.serverBlock(file).args)
    }

    @Test("requests the server refuses: InvalidArgument with Hubble's messages")
    func refused() throws {
        func refusal(_ request: Observer_GetFlowsRequest) throws -> String {
            do {
                try runBlocking {
                    try await HubbleClient(Self.server).withObserver { o in
                        try await o.getFlows(request) { stream in for try await _ in stream.messages {} }
                    }
                }
                return "accepted"
            } catch {
                return HubbleClient.describe(error)
            }
        }
        var firstAndFollow = Observer_GetFlowsRequest()
        firstAndFollow.first = true
        firstAndFollow.follow = true
        #expect(try refusal(firstAndFollow) == "rpc error: code = InvalidArgument desc = first cannot be specified with follow")
        var badPort = Observer_GetFlowsRequest()
        var filter = Flow_FlowFilter()
        filter.destinationPort = ["99999"]
        badPort.whitelist = [filter]
        let text = try refusal(badPort)
        #expect(text.hasPrefix("rpc error: code = InvalidArgument desc = ") && text.contains("99999"), "\(text)")
        #expect(try refusal(Observer_GetFlowsRequest()) == "accepted")
    }

    @Test("no server at the address: a clear error, exit 1")
    func noServer() throws {
        let r = try porin(["hubble", "status", "--server", "unix:///nonexistent/hubble.sock"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("failed to connect to 'unix:///nonexistent/hubble.sock'"))
    }
}
