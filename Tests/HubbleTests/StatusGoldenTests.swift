// `hubble status` and `hubble list nodes` layouts against the real CLI's output for the golden
// server's answers (golden-server/, the same values as its -o json blocks).
import Foundation
import Hubble
import Testing

@Suite("hubble status and list nodes")
struct StatusGoldenTests {
    static func serverBlock(_ file: String) throws -> String {
        let text = try Golden.text("golden-server/\(file)")
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().prefix { !$0.hasPrefix("# rc=") }.joined(separator: "\n") + "\n"
    }

    @Test("status from the server's ServerStatusResponse")
    func status() throws {
        let json = try JSONReader.parse(try Self.serverBlock("status-json.txt").trimmingCharacters(in: .whitespacesAndNewlines))
        var s = HubbleServerStatus()
        s.numFlows = try #require(json["num_flows"]?.uint64)
        s.maxFlows = try #require(json["max_flows"]?.uint64)
        s.seenFlows = json["seen_flows"]?.uint64 ?? 0
        s.uptimeNs = json["uptime_ns"]?.uint64 ?? 0
        s.flowsRate = Double(json["flows_rate"].flatMap { if case let .number(n) = $0 { n } else { nil } } ?? "0") ?? 0
        s.numConnectedNodes = json["num_connected_nodes"]?.int.map(UInt32.init)
        s.numUnavailableNodes = json["num_unavailable_nodes"]?.int.map(UInt32.init)
        s.unavailableNodes = json["unavailable_nodes"]?.array?.compactMap(\.string) ?? []
        #expect(StatusFormat.status(s, target: "127.0.0.1:14245") == (try Self.serverBlock("status.txt")))
    }

    @Test("list nodes, plain and wide, from the server's GetNodesResponse")
    func nodes() throws {
        let json = try JSONReader.parse(try Self.serverBlock("list-nodes-json.txt"))
        let nodes = try #require(json.array).map { n -> HubbleNode in
            var x = HubbleNode()
            x.name = n["name"]?.string ?? ""
            x.version = n["version"]?.string ?? ""
            x.address = n["address"]?.string ?? ""
            x.state = ["UNKNOWN_NODE_STATE", "NODE_CONNECTED", "NODE_UNAVAILABLE", "NODE_GONE", "NODE_ERROR"].firstIndex(of: n["state"]?.string ?? "") ?? 0
            x.tls = n["tls"]?["enabled"]?.bool
            x.uptimeNs = n["uptime_ns"]?.uint64
            x.numFlows = n["num_flows"]?.uint64
            x.maxFlows = n["max_flows"]?.uint64
            x.seenFlows = n["seen_flows"]?.uint64
            return x
        }
        #expect(nodes.count == 3)
        #expect(StatusFormat.nodes(nodes, wide: false) == (try Self.serverBlock("list-nodes.txt")))
        #expect(StatusFormat.nodes(nodes, wide: true) == (try Self.serverBlock("list-nodes-wide.txt")))
    }
}
