// `porin agent`: the node agent as a daemon. It runs inside its node's network namespace
// (started there by the control plane through nsenter, which keeps the machine's mount
// namespace, so the pinned maps under /sys/fs/bpf stay visible) and serves the control plane on
// a unix socket: object changes in, the node's state out.
import ClusterAPI
import Foundation
import Hubble
import HubbleAPI
import PolicyAPI

public enum AgentDaemon {
    /// Serves until the control plane asks it to shut down; never returns.
    public static func run(config: NodeAgent.Config, socket: String, hubbleSocket: String) throws -> Never {
        let started = Date()
        let agent = try NodeAgent(config: config)
        agent.startSupervisor()
        try agent.startFlowCollector()
        // Before the control plane's first sync: redirect entries carry the proxy's port.
        try agent.startDNSProxy()
        // Hubble's observer on its own socket (the relay in the control plane asks it).
        try HubbleServer.start(.unix(hubbleSocket), services: [AgentObserver(ring: agent.flows, nodeName: config.nodeName, version: PorinVersion.hubble, started: started)])
        let server = try UnixSocketServer<AgentRequest, AgentResponse>(path: socket, invalid: { AgentResponse(error: $0) }) { req in
            switch req.op {
            case .state:
                return AgentResponse(state: agent.state())
            case .metrics:
                var r = AgentResponse()
                r.metrics = agent.metrics.render()
                return r
            case .fqdnCache:
                var r = AgentResponse()
                r.fqdnCache = agent.fqdnCacheRows()
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
