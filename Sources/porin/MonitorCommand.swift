// `porin monitor`: the datapath's events, live, like `cilium monitor` (until Hubble flows exist).
// Reads the cluster's pinned event ring buffer directly.
import ArgumentParser
import ClusterAPI
import Datapath
import DatapathABI
import Foundation

struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Print the datapath's events live (trace, drop, policy verdict, translation).")

    @Option(help: "The cluster (default: $PORIN_CLUSTER, else the only one running).")
    var cluster: String?
    @Option(name: .shortAndLong, help: "Only events of this type: drop, trace, policy-verdict, trace-sock (repeatable).")
    var type: [String] = []

    static let types: [String: Int32] = [
        "drop": PORIN_EVENT_DROP, "trace": PORIN_EVENT_TRACE, "policy-verdict": PORIN_EVENT_POLICY_VERDICT, "trace-sock": PORIN_EVENT_TRACE_SOCK,
    ]

    func validate() throws {
        for t in type where Self.types[t] == nil {
            throw ValidationError("--type \"\(t)\": one of \(Self.types.keys.sorted().joined(separator: ", "))")
        }
    }

    /// The cluster to talk to: --cluster, $PORIN_CLUSTER, or the only cluster with pinned maps.
    static func resolveCluster(_ flag: String?) throws -> String {
        if let flag { return flag }
        if let env = ProcessInfo.processInfo.environment["PORIN_CLUSTER"] { return env }
        let running = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/bpf/porin"))?.sorted() ?? []
        guard running.count == 1 else {
            throw ValidationError(running.isEmpty ? "no cluster is running" : "several clusters run (\(running.joined(separator: ", "))): name one with --cluster")
        }
        return running[0]
    }

    func run() throws {
        let name = try Self.resolveCluster(cluster)
        // A running cluster's agent drains the same ring buffer into Hubble flows; reading it
        // here too would split the events between the two.
        if UnixSocket.isListening(ClusterPaths(name).apiSocket) {
            throw ValidationError("cluster \(name) runs an agent that turns the datapath's events into flows: use `porin observe -f` (porin monitor is for datapaths without an agent)")
        }
        // One ring buffer per node: /sys/fs/bpf/porin/<cluster>/<node>/porin_events.
        let nodes = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/bpf/porin/\(name)"))?.sorted() ?? []
        guard let node = nodes.first(where: { FileManager.default.fileExists(atPath: "/sys/fs/bpf/porin/\(name)/\($0)/porin_events") }) else {
            throw ValidationError("cluster \(name) has no datapath running")
        }
        let ring = try BPFMap.pinned("/sys/fs/bpf/porin/\(name)/\(node)/porin_events")
        let wanted = Set(type.compactMap { Self.types[$0] }.map { UInt8($0) })
        // Lines go out as they come (a pipe would otherwise buffer them).
        func emit(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }
        let reader = try EventReader(map: ring) { e in
            if wanted.isEmpty || wanted.contains(e.type) { emit(MonitorFormat.line(e)) }
        }
        emit("Listening for events of cluster \(name)... Press Ctrl-C to quit")
        while true { reader.poll(timeoutMilliseconds: 200) }
    }
}
