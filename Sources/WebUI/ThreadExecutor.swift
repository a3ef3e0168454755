// The threads the web server's tasks run on, apart from Swift's cooperative pool.
import Foundation

/// Runs tasks on threads of its own. `WebServer.start` blocks its caller until the socket is bound;
/// when that caller is on the cooperative pool (two threads on a two-core machine, and test runners
/// block them with synchronous tests), a server whose tasks needed that pool could never start.
/// The threads live as long as the process: one executor serves every server.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = ThreadExecutor(threads: 2, name: "porin-webui")

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int, name: String) {
        for i in 0..<threads {
            let t = Thread { [unowned self] in self.run() }
            t.name = "\(name)-\(i)"
            t.start()
        }
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
