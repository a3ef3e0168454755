// A pod's containers as processes inside its network namespace, restarted as the pod's
// restartPolicy says (Always, OnFailure, Never), with a back-off between restarts.
import ClusterAPI
import Foundation
import Glibc
import Netns

/// One container's process and history. Codable: the agent's saved state carries pids, so a
/// restarted agent adopts the containers its predecessor started instead of starting them twice.
struct ContainerProcess: Codable, Sendable {
    enum State: String, Codable, Sendable { case running, waiting, exited }
    var name: String
    var argv: [String]
    var pid: Int32
    var state: State
    var restarts: Int
    var lastExit: Int32?
    /// When a waiting container starts again (seconds since 1970).
    var nextStart: Double
    /// Whether this agent process started it (only then can it read the exit status).
    var ownChild: Bool

    enum CodingKeys: String, CodingKey { case name, argv, pid, state, restarts, lastExit, nextStart }
    init(name: String, argv: [String]) {
        self.name = name
        self.argv = argv
        pid = 0
        state = .waiting
        restarts = 0
        nextStart = 0
        ownChild = false
    }
    init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        argv = try c.decode([String].self, forKey: .argv)
        pid = try c.decode(Int32.self, forKey: .pid)
        state = try c.decode(State.self, forKey: .state)
        restarts = try c.decode(Int.self, forKey: .restarts)
        lastExit = try c.decodeIfPresent(Int32.self, forKey: .lastExit)
        nextStart = try c.decode(Double.self, forKey: .nextStart)
        ownChild = false
    }
}

enum ContainerRuntime {
    /// Back-off before restart n (1 s doubling, at most 30 s; Kubernetes starts at 10 s and
    /// caps at 5 min, too slow for a lab where a fix is applied and tried within seconds).
    static func backoff(restarts: Int) -> Double { min(30, pow(2, Double(min(restarts, 5)))) }

    /// Starts the container in `netns` (through `ip netns exec`, which also mounts the pod's
    /// resolv.conf); its output goes to `log`.
    static func start(_ c: inout ContainerProcess, netns: String, log: String?) {
        do {
            c.pid = try Spawn.start(["/usr/sbin/ip", "netns", "exec", netns] + c.argv, log: log)
            c.state = .running
            c.ownChild = true
        } catch {
            // Counted as a failed start: restartPolicy decides, with back-off, like an exit.
            c.state = .running
            c.pid = 0
            c.ownChild = false
            c.lastExit = 127
            if let log, let h = FileHandle(forWritingAtPath: log) {
                h.seekToEndOfFile()
                h.write(Data("porin: \(error)\n".utf8))
            }
        }
    }

    /// Checks a running container; on exit decides, by restart policy, whether it starts again.
    /// Returns true when something changed.
    static func check(_ c: inout ContainerProcess, restartPolicy: String, now: Double) -> Bool {
        guard c.state == .running else { return false }
        var exit: Int32?
        if c.pid == 0 { exit = c.lastExit ?? 127 }  // never started
        else if c.ownChild { exit = Spawn.reap(c.pid) } else if !Spawn.alive(c.pid) { exit = 137 }  // status unknown: assume killed
        guard let code = exit else { return false }
        c.lastExit = code
        let restart = restartPolicy == "Always" || (restartPolicy == "OnFailure" && code != 0)
        if restart {
            c.state = .waiting
            c.nextStart = now + backoff(restarts: c.restarts)
        } else {
            c.state = .exited
        }
        return true
    }

    /// Stops every process in a network namespace (containers and anything they started).
    /// Own children that have not been reaped are killed by pid (their pid cannot have been
    /// reused); everything else is found by the namespace it runs in, never by a saved pid.
    static func killAll(netns: String, containers: [ContainerProcess]) {
        let unreaped = containers.filter { $0.ownChild && $0.state == .running && $0.pid > 0 }
        for c in unreaped { kill(c.pid, SIGKILL) }
        NetworkNamespace(netns).killProcesses()
        for c in unreaped {
            var st: Int32 = 0
            waitpid(c.pid, &st, 0)
        }
    }

    /// The pod's phase as kubectl shows it (STATUS column).
    static func phase(_ cs: [ContainerProcess], restartPolicy: String) -> (phase: String, ready: Int) {
        let ready = cs.filter { $0.state == .running }.count
        if cs.isEmpty || ready == cs.count { return ("Running", ready) }
        if cs.contains(where: { $0.state == .waiting && $0.lastExit != nil }) { return ("CrashLoopBackOff", ready) }
        if cs.contains(where: { $0.state == .waiting }) { return ("ContainerCreating", ready) }
        if cs.allSatisfy({ $0.state == .exited && $0.lastExit == 0 }) { return ("Completed", ready) }
        if cs.allSatisfy({ $0.state == .exited }) { return ("Error", ready) }
        return ("Running", ready)
    }
}
