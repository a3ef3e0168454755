// The agent's `observer.Observer` (Hubble's local observer): GetFlows, ServerStatus and
// GetNamespaces over the node's ring buffer, served on the agent's unix socket. The relay in the
// control plane asks every agent and merges their answers; clients normally talk to the relay.
import Foundation
import GRPCCore
import Hubble
import HubbleProto
import SwiftProtobuf

public struct AgentObserver: Observer_Observer.SimpleServiceProtocol {
    public let ring: FlowRing
    /// The node's name as flows carry it.
    public let nodeName: String
    public let version: String
    let started: Date

    public init(ring: FlowRing, nodeName: String, version: String, started: Date = Date()) {
        self.ring = ring
        self.nodeName = nodeName
        self.version = version
        self.started = started
    }

    public func getFlows(request: Observer_GetFlowsRequest, response: RPCWriter<Observer_GetFlowsResponse>, context: ServerContext) async throws {
        var query = try Self.query(request)
        let mask = try Self.fieldMask(request)
        func send(_ r: FlowRecord) async throws {
            var m = r.response
            if let mask, case .flow(var f)? = m.responseTypes {
                f.trim(keeping: mask)
                m.flow = f
            }
            try await response.write(m)
        }
        var (records, _, last) = ring.read(after: 0)
        for r in records[query.start(in: records)...] {
            switch query.step(r) {
            case .send: try await send(r)
            case .skip: continue
            case .stop: return
            }
        }
        guard request.follow else { return }
        while !Task.isCancelled {
            await ring.waitForRecords(after: last)
            let lost: UInt64
            (records, lost, last) = ring.read(after: last)
            if lost > 0 {
                // Hubble's ring reader reports one HUBBLE_RING_BUFFER loss per overwritten record.
                let loss = FlowRecord.lostEvents(source: 3, count: 1, cpu: nil, nodeName: nodeName, time: .now)
                for _ in 0..<min(lost, UInt64(ring.capacity)) { try await send(loss) }
            }
            for r in records {
                switch query.step(r) {
                case .send: try await send(r)
                case .skip: continue
                case .stop: return
                }
            }
        }
    }

    /// The request's parameters as a FlowQuery; what Hubble refuses is an InvalidArgument.
    static func query(_ request: Observer_GetFlowsRequest) throws -> FlowQuery {
        do {
            let filters = FlowFilters(allowlist: try request.whitelist.map { try FlowFilter(proto: $0) },
                                      denylist: try request.blacklist.map { try FlowFilter(proto: $0) })
            return try FlowQuery(number: request.number, first: request.first, follow: request.follow,
                                 since: request.hasSince ? FlowTime(request.since) : nil,
                                 until: request.hasUntil ? FlowTime(request.until) : nil, filters: filters)
        } catch {
            throw RPCError(code: .invalidArgument, message: "\(error)")
        }
    }

    static func fieldMask(_ request: Observer_GetFlowsRequest) throws -> Google_Protobuf_FieldMask? {
        guard request.hasFieldMask, !request.fieldMask.paths.isEmpty else { return nil }
        guard request.fieldMask.isValid(for: Flow_Flow.self) else {
            throw RPCError(code: .invalidArgument, message: "invalid fieldmask: \(request.fieldMask.paths.joined(separator: ","))")
        }
        return request.fieldMask
    }

    public func serverStatus(request: Observer_ServerStatusRequest, context: ServerContext) async throws -> Observer_ServerStatusResponse {
        var s = Observer_ServerStatusResponse()
        s.numFlows = UInt64(ring.count)
        s.maxFlows = UInt64(ring.capacity)
        s.seenFlows = ring.seen
        s.uptimeNs = UInt64(max(0, Date().timeIntervalSince(started)) * 1e9)
        s.version = version
        // Hubble's rate: flows of the last minute, per second.
        let now = Int64(Date().timeIntervalSince1970)
        s.flowsRate = Double(ring.countFlows(since: FlowTime(seconds: now - 60, nanos: 0))) / 60
        return s
    }

    public func getNamespaces(request: Observer_GetNamespacesRequest, context: ServerContext) async throws -> Observer_GetNamespacesResponse {
        var r = Observer_GetNamespacesResponse()
        r.namespaces = Self.namespaces(in: ring.read(after: 0).records, since: FlowTime(seconds: Int64(Date().timeIntervalSince1970) - 3600, nanos: 0))
        return r
    }

    /// The namespaces of the endpoints in flows since `since`, sorted by cluster, then namespace.
    static func namespaces(in records: [FlowRecord], since: FlowTime) -> [Observer_Namespace] {
        var seen = Set<[String]>()
        for case let .flow(f, _, t) in records where (f.time ?? t).map({ !($0 < since) }) ?? true {
            for ep in [f.source, f.destination] {
                if let ep, !ep.namespace.isEmpty { seen.insert([ep.clusterName, ep.namespace]) }
            }
        }
        return seen.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }.map { pair in
            var n = Observer_Namespace()
            n.cluster = pair[0]
            n.namespace = pair[1]
            return n
        }
    }

    public func getNodes(request: Observer_GetNodesRequest, context: ServerContext) async throws -> Observer_GetNodesResponse {
        // As Hubble's agent: only the relay knows the nodes.
        throw RPCError(code: .unimplemented, message: "GetNodes not implemented")
    }

    public func getAgentEvents(request: Observer_GetAgentEventsRequest, response: RPCWriter<Observer_GetAgentEventsResponse>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "Porin's agent records no agent events; GetFlows carries everything it observes")
    }

    public func getDebugEvents(request: Observer_GetDebugEventsRequest, response: RPCWriter<Observer_GetDebugEventsResponse>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "Porin's datapath emits no debug events")
    }
}
