// Shared by the Hubble API tests: the golden vectors of the real hubble CLI (kept with the
// HubbleTests) and the `porin` binary built next to this test bundle.
import Foundation
import Hubble

enum Golden {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("HubbleTests/hubble-golden")
    static func text(_ path: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(path), encoding: .utf8) }
    static func lines() throws -> [String] { try text("flows.jsonl").split(separator: "\n").map(String.init) }
    static func records() throws -> [FlowRecord] { try lines().map { try FlowJSON.record($0) } }

    /// A golden-server file: the command (after `hubble `), its output, its exit code.
    static func serverBlock(_ file: String) throws -> (args: [String], output: String, rc: Int32) {
        let lines = try text("golden-server/\(file)").split(separator: "\n", omittingEmptySubsequences: false)
        let args = lines[0].dropFirst("# hubble ".count).split(separator: " ").map(String.init)
        let body = lines.dropFirst().prefix { !$0.hasPrefix("# rc=") }
        let rc = lines.first { $0.hasPrefix("# rc=") }.flatMap { Int32($0.dropFirst(5)) } ?? -1
        return (args, body.map { $0 + "\n" }.joined(), rc)
    }
}

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

func porinBinary() -> URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("porin")
}

/// Runs `porin` with TZ=UTC (hubble prints local time; the golden outputs were made in UTC).
func porin(_ args: [String]) throws -> Run {
    let p = Process()
    p.executableURL = porinBinary()
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["TZ"] = "UTC"
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// Runs tasks on threads of its own. The test runner blocks its cooperative pool's threads (two on
/// a two-core machine) with synchronous tests; a server in the test process must not depend on them.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int) {
        for _ in 0..<threads { Thread { self.run() }.start() }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let j = UnownedJob(job)
        condition.lock()
        jobs.append(j)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let j = jobs.removeFirst()
            condition.unlock()
            j.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
