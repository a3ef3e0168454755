// `porin agent`: the node agent as a daemon. It runs inside its node's network namespace
// (started there by the control plane through nsenter, which keeps the machine's mount
// namespace, so the pinned maps under /sys/fs/bpf stay visible) and serves the control plane on
// a unix socket: object changes in, the node's state out.
import ClusterAPI
import Foundation
import Hubble
import PolicyAPI

public enum AgentDaemon {
    /// Serves until the control plane asks it to shut down; never returns.
    public static func run(config: NodeAgent.Config, socket: String) throws -> Never {
        let started = Date()
        let agent = try NodeAgent(config: config)
        agent.startSupervisor()
        try agent.startFlowCollector()
        let server = try UnixSocketServer<AgentRequest, AgentResponse>(path: socket, invalid: { AgentResponse(error: $0) }) { req in
            switch req.op {
            case .state:
                return AgentResponse(state: agent.state())
            case .flows:
                let (records, lost, last) = agent.flows.read(after: req.after)
                var r = AgentResponse()
                r.flows = records.map { FlowJSONWriter.record($0) }
                r.sequence = last
                r.lost = lost
                return r
            case .metrics:
                var r = AgentResponse()
                r.metrics = agent.metrics.render()
                return r
            case .flowStatus:
                var r = AgentResponse()
                let now = Date().timeIntervalSince1970
                r.ringCount = UInt64(agent.flows.count)
                r.ringCapacity = UInt64(agent.flows.capacity)
                r.seenFlows = agent.flows.seen
                r.flowsLastMinute = UInt64(agent.flows.countFlows(since: FlowTime(seconds: Int64(now) - 60, nanos: 0)))
                r.uptimeNs = UInt64(Date().timeIntervalSince(started) * 1e9)
                return r
            case .sync:
                do {
                    var upserts: [(key: String, object: APIObject, created: Double)] = []
                    for o in req.upserts {
                        let objects = try APIObjectDecoder.decode(text: o.document, file: o.key, defaultNamespace: o.namespace.isEmpty ? "default" : o.namespace)
                        guard objects.count == 1 else { return AgentResponse(error: "\(o.key): stored document holds \(objects.count) objects") }
                        upserts.append((o.key, objects[0], o.created))
                    }
                    try agent.sync(upserts: upserts, deletes: req.deletes, full: req.full)
                    return AgentResponse(state: nil)
                } catch {
                    return AgentResponse(error: "\(error)")
                }
            case .shutdown:
                agent.shutdown()
                // Answer first, then go.
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: 0.2)
                    unlink(socket)
                    exit(0)
                }
                return AgentResponse()
            }
        }
        server.start()
        FileHandle.standardError.write(Data("porin agent: node \(config.nodeName) serving \(socket)\n".utf8))
        while true { sleep(3600) }
    }
}
