// Where a cluster lives on the machine. Every name a cluster creates derives from its name, so
// that `porin down` can find and remove all of it even when its daemons are gone.
import Foundation

public struct ClusterPaths: Sendable, Hashable {
    public let name: String

    /// Cluster names are lowercase letters and digits (at most 20), with no hyphen: every
    /// namespace a cluster makes is named `porin-<name>-…`, and a hyphen would let one cluster's
    /// prefix match another's (`a` and `a-b`).
    public static func validate(_ name: String) throws {
        guard !name.isEmpty, name.count <= 20, name.allSatisfy({ ($0.isASCII && $0.isLowercase && $0.isLetter) || ($0.isASCII && $0.isNumber) }),
              name.first!.isLetter else {
            throw ClusterError("cluster name \"\(name)\": use 1-20 lowercase letters and digits, starting with a letter (no hyphens)")
        }
    }

    public init(_ name: String) { self.name = name }

    public static let runRoot = "/run/porin", stateRoot = "/var/lib/porin", bpfRoot = "/sys/fs/bpf/porin"

    /// Sockets and pid files: root-only (0700).
    public var runDirectory: String { "\(Self.runRoot)/\(name)" }
    public var apiSocket: String { "\(runDirectory)/api.sock" }
    public func agentSocket(node: String) -> String { "\(runDirectory)/agent-\(node).sock" }
    /// Hubble's gRPC API: each agent's observer, and the relay that merges them (which also
    /// listens on 127.0.0.1:4245 unless told otherwise).
    public func hubbleSocket(node: String) -> String { "\(runDirectory)/hubble-\(node).sock" }
    public var relaySocket: String { "\(runDirectory)/hubble-relay.sock" }
    public var controlPlanePIDFile: String { "\(runDirectory)/controlplane.pid" }
    /// The simulated world's CA certificate, present while a world with HTTPS hosts runs: the
    /// agent adds it to each new pod's trust store.
    public var worldCA: String { "\(runDirectory)/world-ca.crt" }
    /// The object store, the agents' endpoint state and every daemon's and container's log.
    public var stateDirectory: String { "\(Self.stateRoot)/\(name)" }
    public var storePath: String { "\(stateDirectory)/store.sqlite" }
    public var logDirectory: String { "\(stateDirectory)/log" }
    public func nodeStateDirectory(node: String) -> String { "\(stateDirectory)/nodes/\(node)" }
    public var bpfDirectory: String { "\(Self.bpfRoot)/\(name)" }
    /// Network namespaces: `porin-<name>-<node>` for nodes, `porin-<name>-world`, and
    /// `porin-<name>-<namespace>.<pod>` for pods.
    public var netnsPrefix: String { "porin-\(name)-" }
    public func nodeNetns(_ node: String) -> String { "porin-\(node)" }
    public var worldNetns: String { "\(netnsPrefix)world" }
    /// kind names its nodes `<cluster>-control-plane`, `<cluster>-worker`, …; so does Porin.
    public var firstNode: String { "\(name)-control-plane" }

    /// Clusters with a control-plane socket.
    public static func running() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: runRoot)) ?? []).filter {
            FileManager.default.fileExists(atPath: "\(runRoot)/\($0)/api.sock")
        }.sorted()
    }

    /// The cluster a command talks to: `--cluster`, else $PORIN_CLUSTER, else the only one running.
    public static func select(_ flag: String?) throws -> ClusterPaths {
        if let flag, !flag.isEmpty { try validate(flag); return ClusterPaths(flag) }
        if let env = ProcessInfo.processInfo.environment["PORIN_CLUSTER"], !env.isEmpty { try validate(env); return ClusterPaths(env) }
        guard getuid() == 0 else {
            throw ClusterError("talking to a cluster needs root: its sockets under \(runRoot) are root-only (run with sudo)")
        }
        let r = running()
        guard r.count == 1 else {
            throw ClusterError(r.isEmpty ? "no cluster is running (start one with `porin up`)"
                : "several clusters run (\(r.joined(separator: ", "))): name one with --cluster or PORIN_CLUSTER")
        }
        return ClusterPaths(r[0])
    }
}

public struct ClusterError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
