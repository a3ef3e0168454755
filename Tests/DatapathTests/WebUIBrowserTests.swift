// Issue #6 in a real browser: the lab cluster with its web UI, and headless Chromium driven by
// webui_browser.py (Debian's chromium, chromium-driver and python3-selenium) doing LAB.md §4–§6 by
// clicks, with the lab's curls between the steps. The script prints one line per step; this test
// passes when it ends with no failure. Screenshots go to .build/ui-screenshots/ (or
// PORIN_UI_SCREENSHOT_DIR: `make ui-screenshots` refreshes docs/images/ with them).
import ClusterAPI
import Foundation
import Testing

@Suite("The web UI in headless Chromium", .serialized)
struct WebUIBrowserTests {
    static let driver = "/usr/bin/chromedriver"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("webui_browser.py").path
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    @Test("LAB.md §4–§6 by clicks: the exact YAML, the red drops on the map, rules from dropped flows, Visualize all",
          .enabled(if: FileManager.default.isExecutableFile(atPath: PorinCLI.binary)))
    func lab() throws {
        try #require(getuid() == 0, "cluster tests need root (network namespaces and BPF)")
        guard FileManager.default.isExecutableFile(atPath: Self.driver) else {
            #expect(!Self.inCI, "CI must have chromium-driver (scripts/install-deps.sh installs it)")
            print("skipped: \(Self.driver) is missing (apt-get install chromium chromium-driver python3-selenium)")
            return
        }
        let c = PorinCLI(cluster: ClusterTests.name("ui"))
        defer { _ = try? c.run(["down", "--name", c.cluster]) }
        // Below the kernel's ephemeral range (32768-60999): no port-0 socket of another test holds it.
        let port = 10000 + Int(getpid() % 10000)
        let up = try c.run(["up", "--name", c.cluster, "--world", "\(PorinCLI.lab)/world.yaml", "--metrics-port", "0", "--hubble-port", "0",
                            "--ui-port", String(port)])
        try #require(up.status == 0, "porin up: \(up.stdout)\(up.stderr)")
        try #require(up.stdout.contains("Web UI: http://127.0.0.1:\(port)"), "porin up prints the UI's address: \(up.stdout)")
        #expect(try c.run(["apply", "-f", "\(PorinCLI.lab)/tenants.yaml"]).status == 0)
        for ns in ["tenant-a", "tenant-b", "tenant-c"] {
            #expect(try c.run(["apply", "-n", ns, "-f", "\(PorinCLI.lab)/tenant-services.yaml"]).status == 0)
        }
        // §3 before the browser opens: every flow of tenant-a forwarded.
        for t in ["backend-service.tenant-a", "backend-service.tenant-b", "backend-service.tenant-c", "api.twitter.com"] {
            #expect(try c.curlUntilUp(from: "tenant-a", t).status == 0, "§3 \(t)")
        }
        let shots = ProcessInfo.processInfo.environment["PORIN_UI_SCREENSHOT_DIR"]
            ?? URL(fileURLWithPath: PorinCLI.binary).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("ui-screenshots").path
        let r = try PorinCLI.process("/usr/bin/python3", [Self.script, "--url", "http://127.0.0.1:\(port)", "--porin", PorinCLI.binary,
                                                          "--cluster", c.cluster, "--lab", PorinCLI.lab, "--screenshots", shots],
                                     environment: ["PORIN_CLUSTER": c.cluster])
        print(r.stdout)
        #expect(r.status == 0, "webui_browser.py failed:\n\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains(" 0 failed"), "\(r.stdout)")
        let down = try c.run(["down"])
        #expect(down.status == 0 && c.leftovers() == [], "porin down leaves nothing: \(down)")
    }
}
