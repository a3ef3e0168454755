// The control plane as the web UI's backend: snapshots of the store and the agent's pods, and
// apply/delete through the same handlers as `porin apply -f` and `porin delete`. `startWebUI`
// serves the UI on 127.0.0.1:<uiPort> with the relay's flows recorded into its flow store; a port
// already taken leaves the cluster running and `porin status` says so.
import ClusterAPI
import Foundation
import HubbleAPI
import PolicyAPI
import UIModel
import WebUI

extension ControlPlane: WebBackend {
    public func snapshot() -> ClusterSnapshot {
        lock.lock()
        let objects = Array(objects.values)
        let rev = revision
        let ready = agentReady
        lock.unlock()
        // The agent's pods outside the lock: the agent may take a moment to answer.
        let pods = ready ? (podCache.get { self.agentState()?.pods ?? [] }) : []
        return ClusterSnapshot(revision: rev, objects: objects, pods: pods)
    }

    public func apply(yaml: String, dryRun: Bool) -> APIResponse {
        var r = APIRequest(op: .apply)
        r.files = [SourceFile(name: "editor", text: yaml)]
        r.dryRun = dryRun ? true : nil
        return handle(r)
    }

    public func delete(_ ref: PolicyRef) -> APIResponse {
        var r = APIRequest(op: .delete)
        r.resource = ref.kind
        r.names = [ref.name]
        r.namespace = ref.namespace.isEmpty ? nil : ref.namespace
        return handle(r)
    }

    /// The UI on 127.0.0.1:<uiPort>, fed by the relay's flows.
    func startWebUI() {
        guard config.uiPort != 0 else { return }
        let store = FlowStore(capacity: config.uiFlowCapacity)
        let api = WebAPI(backend: self, store: store)
        do {
            webServer = try WebServer.start(port: config.uiPort, handler: api)
        } catch {
            uiState = "error: \(error) (choose another --ui-port)"
            log("web UI: \(uiState)")
            return
        }
        FlowRecorder(address: .unix(paths.relaySocket), store: store).start { [self] in log($0) }
        uiState = "OK (http://127.0.0.1:\(config.uiPort))"
        log("web UI on http://127.0.0.1:\(config.uiPort)")
    }
}

/// The agent's pod list, kept for a second: the UI asks for a snapshot on every call, and the
/// agent's state is a round trip over its socket.
final class PodStatusCache: @unchecked Sendable {
    let lock = NSLock()
    var value: [NodeState.PodStatus] = []
    var at: Double = 0

    func get(_ fetch: () -> [NodeState.PodStatus]) -> [NodeState.PodStatus] {
        let now = Date().timeIntervalSince1970
        if let v = lock.withLock({ now - at < 1 ? value : nil }) { return v }
        let v = fetch()
        lock.withLock {
            value = v
            at = now
        }
        return v
    }
}
