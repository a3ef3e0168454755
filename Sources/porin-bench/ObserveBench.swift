// `porin-bench observe`: `porin observe --input-file` over 1,000,000 recorded Hubble JSON flows
// (the golden flows.jsonl, repeated) with a filter and compact output, whole process.
import Foundation

enum ObserveBench {
    static func run(porin: String) {
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/HubbleTests/hubble-golden/flows.jsonl")
        guard let text = try? String(contentsOf: golden, encoding: .utf8) else { print("observe: skipped, \(golden.path) missing"); return }
        let lines = text.split(separator: "\n").map(String.init)
        let path = NSTemporaryDirectory() + "porin-observe-bench-\(getpid()).jsonl"
        defer { unlink(path) }
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: path) else { return }
        let n = 1_000_000
        var chunk = ""
        for i in 0..<n {
            chunk += lines[i % lines.count]
            chunk += "\n"
            if i % 10_000 == 9_999 { h.write(Data(chunk.utf8)); chunk = "" }
        }
        h.write(Data(chunk.utf8))
        try? h.close()
        var best = 0.0
        for _ in 0..<3 {
            var status: Int32 = 0
            let t = clock.measure {
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
                var pid: pid_t = 0
                let args: [String] = [porin, "observe", "--input-file", path, "--namespace", "tenant-a"]
                let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
                posix_spawn(&pid, porin, &actions, nil, argv, environ)
                waitpid(pid, &status, 0)
                posix_spawn_file_actions_destroy(&actions)
            }
            precondition(status == 0, "porin observe failed (\(status))")
            best = max(best, Double(n) / (ms(t) / 1000))
        }
        print(String(format: "observe: porin observe --input-file (1,000,000 Hubble JSON flows, --namespace tenant-a, compact to /dev/null): %.0f flows/s (best of 3; target ≥ 125,000; hubble ≈ 25,000)", best))
    }
}
