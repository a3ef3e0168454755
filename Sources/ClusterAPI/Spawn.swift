// Starting daemons and containers: posix_spawn in a new session (so they outlive the process
// that started them and a terminal's signals never reach them), with a clean signal mask and
// default handlers, stdin from /dev/null and output appended to a log file. Foundation's Process
// reaps its children itself; Porin's supervisors need their own waitpid, hence this.
import CProcessShim
import Foundation
import Glibc

public enum Spawn {
    /// Starts `argv` (argv[0] an absolute path); returns its pid.
    public static func start(_ argv: [String], log: String?, environment: [String: String] = [:]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let out = log ?? "/dev/null"
        if let log { try? FileManager.default.createDirectory(atPath: (log as NSString).deletingLastPathComponent, withIntermediateDirectories: true) }
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else is inherited: Foundation's Process learns that a child ended when a socket
        // the child holds closes, so a daemon holding its starter's copy would make the starter
        // look alive forever (and pipes would never reach end of file).
        porin_spawn_closefrom(&actions, 3)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, porin_spawn_setsid_flag() | Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = envStrings.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) }; for p in cEnv { free(p) } }
        let r = posix_spawn(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        guard r == 0 else { throw ClusterError("cannot start \(argv[0]): \(String(cString: strerror(r)))") }
        return pid
    }

    /// Whether a process exists (a zombie counts until it is reaped).
    public static func alive(_ pid: pid_t) -> Bool { pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) }

    /// Reaps a child if it has exited: its exit status (128+signal when killed), else nil.
    public static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    /// The absolute path of the running executable (daemons start the same `porin`).
    public static var selfExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
