// Hubble Relay's `observer.Observer`: one API for the whole cluster. Every request goes to each
// node's agent observer; answers are merged: flows in time order (all of them, or the first/last
// `number` overall), statuses summed, nodes listed, namespaces united. Node status events tell the
// client which nodes answered, as the relay sends them.
import Foundation
import GRPCCore
import Hubble
import HubbleProto
import SwiftProtobuf

/// A node the relay asks: its name, its agent's observer, and whether the control plane knows it
/// to be up (nodes known to be down are reported unavailable without a connection attempt).
public struct RelayPeer: Sendable {
    public var name: String
    public var address: HubbleAddress
    public var available: Bool
    public init(name: String, address: HubbleAddress, available: Bool = true) {
        self.name = name
        self.address = address
        self.available = available
    }
}

public struct RelayObserver: Observer_Observer.SimpleServiceProtocol {
    let peers: @Sendable () -> [RelayPeer]
    let version: String
    /// How long a unary call to a node may take before the node counts as unavailable.
    let nodeTimeout: Double

    public init(version: String, nodeTimeout: Double = 5, peers: @escaping @Sendable () -> [RelayPeer]) {
        self.version = version
        self.peers = peers
        self.nodeTimeout = nodeTimeout
    }

    enum PeerEvent: Sendable {
        case message(Observer_GetFlowsResponse)
        case failed(String, String)
        case finished
    }

    static func nodeStatus(_ state: Relay_NodeState, _ names: [String], message: String = "") -> Observer_GetFlowsResponse {
        var e = Relay_NodeStatusEvent()
        e.stateChange = state
        e.nodeNames = names
        e.message = message
        var r = Observer_GetFlowsResponse()
        r.nodeStatus = e
        r.time = FlowTime.now.proto
        return r
    }

    public func getFlows(request: Observer_GetFlowsRequest, response: RPCWriter<Observer_GetFlowsResponse>, context: ServerContext) async throws {
        // Refuse what every node would refuse before asking any of them.
        _ = try AgentObserver.query(request)
        _ = try AgentObserver.fieldMask(request)
        let all = peers()
        let connected = all.filter(\.available)
        let unavailable = all.filter { !$0.available }.map(\.name)
        if !unavailable.isEmpty { try await response.write(Self.nodeStatus(.nodeUnavailable, unavailable)) }
        if !connected.isEmpty { try await response.write(Self.nodeStatus(.nodeConnected, connected.map(\.name))) }
        let (events, sink) = AsyncStream<PeerEvent>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for peer in connected {
                group.addTask {
                    do {
                        try await HubbleClient(peer.address).withObserver { observer in
                            try await observer.getFlows(request) { stream in
                                for try await m in stream.messages { sink.yield(.message(m)) }
                            }
                        }
                        sink.yield(.finished)
                    } catch {
                        sink.yield(.failed(peer.name, "\(error)"))
                    }
                }
            }
            var remaining = connected.count
            var collected: [Observer_GetFlowsResponse] = []
            if remaining > 0 {
                for await event in events {
                    switch event {
                    case let .message(m):
                        if request.follow { try await response.write(m) } else { collected.append(m) }
                    case let .failed(name, why):
                        try await response.write(Self.nodeStatus(.nodeError, [name], message: why))
                        remaining -= 1
                    case .finished:
                        remaining -= 1
                    }
                    if remaining == 0 { break }
                }
            }
            sink.finish()
            try await group.waitForAll()
            for m in Self.merge(collected, number: request.number, first: request.first) { try await response.write(m) }
        }
    }

    /// The nodes' answers in time order; with a `number`, the first or last that many overall
    /// (lost events and status events stay where their time puts them and are not counted).
    static func merge(_ responses: [Observer_GetFlowsResponse], number: UInt64, first: Bool) -> [Observer_GetFlowsResponse] {
        func key(_ r: Observer_GetFlowsResponse) -> (Int64, Int32) { (r.time.seconds, r.time.nanos) }
        var sorted = responses.enumerated().sorted { a, b in
            let ka = key(a.element), kb = key(b.element)
            return ka != kb ? ka < kb : a.offset < b.offset
        }.map(\.element)
        guard number > 0 else { return sorted }
        let flows = sorted.indices.filter { if case .flow? = sorted[$0].responseTypes { true } else { false } }
        guard UInt64(flows.count) > number else { return sorted }
        let n = Int(number)
        if first {
            sorted = Array(sorted[...flows[n - 1]])
        } else {
            sorted = Array(sorted[flows[flows.count - n]...])
        }
        return sorted
    }

    /// Each available node's ServerStatus; nodes that do not answer come back as errors.
    func statuses() async -> [(peer: RelayPeer, status: Result<Observer_ServerStatusResponse, any Error>)] {
        await withTaskGroup(of: (Int, Result<Observer_ServerStatusResponse, any Error>).self) { group in
            let all = peers()
            for (i, peer) in all.enumerated() {
                group.addTask {
                    guard peer.available else { return (i, .failure(RPCError(code: .unavailable, message: "node \(peer.name) is not running"))) }
                    do {
                        let timeout = nodeTimeout
                        let s = try await HubbleClient(peer.address).withObserver { o in
                            try await o.serverStatus(Observer_ServerStatusRequest(), options: HubbleClient.unary(timeout: timeout))
                        }
                        return (i, .success(s))
                    } catch {
                        return (i, .failure(error))
                    }
                }
            }
            var out = [(peer: RelayPeer, status: Result<Observer_ServerStatusResponse, any Error>)?](repeating: nil, count: all.count)
            for await (i, r) in group { out[i] = (all[i], r) }
            return out.compactMap { $0 }
        }
    }

    public func serverStatus(request: Observer_ServerStatusRequest, context: ServerContext) async throws -> Observer_ServerStatusResponse {
        var r = Observer_ServerStatusResponse()
        r.version = version
        var connected: UInt32 = 0
        var unavailable: [String] = []
        for (peer, result) in await statuses() {
            switch result {
            case let .success(s):
                connected += 1
                r.numFlows += s.numFlows
                r.maxFlows += s.maxFlows
                r.seenFlows += s.seenFlows
                // As Hubble's relay: the oldest node's uptime (summing uptimes means nothing).
                r.uptimeNs = max(r.uptimeNs, s.uptimeNs)
                r.flowsRate += s.flowsRate
            case .failure:
                unavailable.append(peer.name)
            }
        }
        r.numConnectedNodes = Google_Protobuf_UInt32Value(connected)
        r.numUnavailableNodes = Google_Protobuf_UInt32Value(UInt32(unavailable.count))
        r.unavailableNodes = unavailable
        return r
    }

    public func getNodes(request: Observer_GetNodesRequest, context: ServerContext) async throws -> Observer_GetNodesResponse {
        var r = Observer_GetNodesResponse()
        for (peer, result) in await statuses() {
            var n = Observer_Node()
            n.name = peer.name
            n.address = peer.address.description
            switch result {
            case let .success(s):
                n.state = .nodeConnected
                n.version = s.version
                n.uptimeNs = s.uptimeNs
                n.numFlows = s.numFlows
                n.maxFlows = s.maxFlows
                n.seenFlows = s.seenFlows
            case .failure:
                n.state = .nodeUnavailable
            }
            r.nodes.append(n)
        }
        return r
    }

    public func getNamespaces(request: Observer_GetNamespacesRequest, context: ServerContext) async throws -> Observer_GetNamespacesResponse {
        let timeout = nodeTimeout
        let lists = await withTaskGroup(of: [Observer_Namespace].self) { group in
            for peer in peers() where peer.available {
                group.addTask {
                    (try? await HubbleClient(peer.address).withObserver { o in
                        try await o.getNamespaces(Observer_GetNamespacesRequest(), options: HubbleClient.unary(timeout: timeout)).namespaces
                    }) ?? []
                }
            }
            var all: [Observer_Namespace] = []
            for await l in group { all += l }
            return all
        }
        var seen = Set<[String]>()
        var r = Observer_GetNamespacesResponse()
        for n in lists.sorted(by: { ($0.cluster, $0.namespace) < ($1.cluster, $1.namespace) }) where seen.insert([n.cluster, n.namespace]).inserted {
            r.namespaces.append(n)
        }
        return r
    }

    public func getAgentEvents(request: Observer_GetAgentEventsRequest, response: RPCWriter<Observer_GetAgentEventsResponse>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "Porin's agents record no agent events; GetFlows carries everything they observe")
    }

    public func getDebugEvents(request: Observer_GetDebugEventsRequest, response: RPCWriter<Observer_GetDebugEventsResponse>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "Porin's datapath emits no debug events")
    }
}
