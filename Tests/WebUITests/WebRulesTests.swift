// The server's pure parts: the Host/Origin guard, URL decoding, tick coalescing, If-None-Match; and
// the page's files: EmbeddedAssets.swift up to date, module imports that resolve, nothing the CSP
// would block.
import Foundation
import Testing
@testable import WebUI

@Suite struct WebGuardTests {
    @Test func loopbackNamesWithOurPortPass() {
        for host in ["127.0.0.1:12000", "localhost:12000", "LocalHost:12000"] {
            #expect(WebGuard.refusal(method: "GET", host: host, origin: nil, port: 12000) == nil, "\(host)")
        }
    }

    @Test func anyOtherHostIsRefused() {
        for host in ["evil.example:12000", "127.0.0.1:12001", "127.0.0.1", "localhost", "[::1]:12000", "127.0.0.2:12000", ""] {
            #expect(WebGuard.refusal(method: "GET", host: host, origin: nil, port: 12000) != nil, "\(host)")
        }
        #expect(WebGuard.refusal(method: "GET", host: nil, origin: nil, port: 12000)?.contains("missing") == true)
    }

    @Test func onPort80BrowsersSendTheBareName() {
        #expect(WebGuard.refusal(method: "GET", host: "127.0.0.1", origin: nil, port: 80) == nil)
        #expect(WebGuard.refusal(method: "POST", host: "localhost", origin: "http://localhost", port: 80) == nil)
    }

    @Test func aServerBoundElsewhereAlsoAnswersToItsOwnAddress() {
        #expect(WebGuard.refusal(method: "GET", host: "[::1]:9000", origin: nil, port: 9000, boundHost: "::1") == nil)
        #expect(WebGuard.refusal(method: "POST", host: "[::1]:9000", origin: "http://[::1]:9000", port: 9000, boundHost: "::1") == nil)
        #expect(WebGuard.refusal(method: "GET", host: "0.0.0.0:9000", origin: nil, port: 9000, boundHost: "0.0.0.0") != nil)
    }

    @Test func changesNeedOurOriginOrNone() {
        let ok = "127.0.0.1:12000"
        for method in ["POST", "PUT", "DELETE", "PATCH", "post"] {
            #expect(WebGuard.refusal(method: method, host: ok, origin: nil, port: 12000) == nil)
            #expect(WebGuard.refusal(method: method, host: ok, origin: "http://127.0.0.1:12000", port: 12000) == nil)
            #expect(WebGuard.refusal(method: method, host: ok, origin: "http://localhost:12000", port: 12000) == nil)
            for origin in ["http://evil.example", "null", "https://127.0.0.1:12000", "http://127.0.0.1:12001", "http://127.0.0.1:12000.evil.example"] {
                #expect(WebGuard.refusal(method: method, host: ok, origin: origin, port: 12000) != nil, "\(method) \(origin)")
            }
        }
        #expect(WebGuard.refusal(method: "GET", host: ok, origin: "http://evil.example", port: 12000) == nil)
    }
}

@Suite struct URLDecodingTests {
    @Test func pathsDecodePercentButNotPlus() {
        #expect(URLDecoding.percentDecode("/api/policies/x%20y/a+b", plusIsSpace: false) == "/api/policies/x y/a+b")
        #expect(URLDecoding.percentDecode("%E2%9C%93%zz%4", plusIsSpace: false) == "✓%zz%4")
    }

    @Test func queriesKeepOrderAndRepeats() {
        let q = URLDecoding.query("verdict=DROPPED&from-pod=tenant-a%2Ffrontend&verdict=FORWARDED&&empty=&bare&q=a+b%2Bc")
        #expect(q.map(\.key) == ["verdict", "from-pod", "verdict", "empty", "bare", "q"])
        #expect(q.map(\.value) == ["DROPPED", "tenant-a/frontend", "FORWARDED", "", "", "a b+c"])
        #expect(URLDecoding.query(nil).isEmpty)
        #expect(URLDecoding.query("").isEmpty)
    }
}

@Suite struct TickCoalescerTests {
    @Test func theFirstGoesAtOnceAndABurstWaitsForTheInterval() {
        var c = TickCoalescer(interval: .milliseconds(250))
        let t0 = ContinuousClock.now
        #expect(c.receive(1, now: t0) == .send(1))
        #expect(c.receive(2, now: t0 + .milliseconds(10)) == .wait(until: t0 + .milliseconds(250)))
        #expect(c.receive(3, now: t0 + .milliseconds(20)) == .wait(until: t0 + .milliseconds(250)))
        #expect(c.flush(now: t0 + .milliseconds(250)) == 3)
        #expect(c.flush(now: t0 + .milliseconds(260)) == nil)
        #expect(c.receive(4, now: t0 + .milliseconds(600)) == .send(4))
    }

    @Test func theInitialTickCountsAsSent() {
        var c = TickCoalescer(interval: .milliseconds(250))
        let t0 = ContinuousClock.now
        c.sentInitial(now: t0)
        #expect(c.receive(9, now: t0 + .milliseconds(5)) == .wait(until: t0 + .milliseconds(250)))
    }
}

@Suite struct EmbeddedAssetTests {
    @Test func ifNoneMatchAcceptsListsWeakTagsAndStar() {
        let tag = #""abc""#
        #expect(EmbeddedAssets.matches(ifNoneMatch: tag, etag: tag))
        #expect(EmbeddedAssets.matches(ifNoneMatch: #""x", W/"abc""#, etag: tag))
        #expect(EmbeddedAssets.matches(ifNoneMatch: "*", etag: tag))
        #expect(!EmbeddedAssets.matches(ifNoneMatch: #""abcd""#, etag: tag))
        #expect(!EmbeddedAssets.matches(ifNoneMatch: nil, etag: tag))
    }

    @Test func embeddedAssetsAreNotStale() throws {
        let root = repoRoot()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root.appendingPathComponent("scripts/embed-web-assets.py").path, "--stdout"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let committed = try Data(contentsOf: root.appendingPathComponent("Sources/WebUI/EmbeddedAssets.swift"))
        #expect(data == committed, "Sources/WebUI/EmbeddedAssets.swift is stale: run scripts/embed-web-assets.py")
    }

    @Test func theEmbeddedTextIsTheFileByteForByte() throws {
        let dir = repoRoot().appendingPathComponent("Sources/WebUI/Assets")
        for asset in EmbeddedAssets.all {
            let file = try String(contentsOf: dir.appendingPathComponent(asset.name), encoding: .utf8)
            #expect(asset.text == file, "\(asset.name): run scripts/embed-web-assets.py")
        }
    }

    /// What each module exports: `export function f`, `export class C`, `export const x`, `export { a, b }`.
    static func exports(_ js: String) -> Set<String> {
        var names = Set<String>()
        for m in js.matches(of: /export\s+(?:async\s+)?(?:function|class|const|let)\s+([A-Za-z_$][\w$]*)/) { names.insert(String(m.1)) }
        for m in js.matches(of: /export\s*\{([^}]*)\}/) {
            for part in m.1.split(separator: ",") {
                let name = part.split(separator: " ").last.map(String.init) ?? ""
                if !name.isEmpty { names.insert(name) }
            }
        }
        return names
    }

    @Test func everyImportNamesAnAssetAndSomethingItExports() {
        for asset in EmbeddedAssets.all where asset.name.hasSuffix(".js") {
            for m in asset.text.matches(of: /import\s*\{([^}]*)\}\s*from\s*"\.\/([^"]+)"/) {
                let target = String(m.2)
                guard let module = EmbeddedAssets.named(target) else {
                    Issue.record("\(asset.name) imports ./\(target), which is not an asset")
                    continue
                }
                let exported = Self.exports(module.text)
                for name in m.1.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }).filter({ !$0.isEmpty }) {
                    let imported = name.split(separator: " ").first.map(String.init) ?? name
                    #expect(exported.contains(imported), "\(asset.name) imports \(imported) from \(target), which does not export it")
                }
            }
        }
    }

    @Test func thePageLoadsOnlyEmbeddedFiles() {
        let html = EmbeddedAssets.indexHTML.text
        let refs = html.matches(of: /(?:src|href)="([^"#][^"]*)"/).map { String($0.1) }
        #expect(!refs.isEmpty)
        for ref in refs {
            #expect(ref.hasPrefix("/assets/"), "\(ref): only our own assets load under the CSP")
            #expect(EmbeddedAssets.named(String(ref.dropFirst("/assets/".count))) != nil, "\(ref) is not embedded")
        }
    }

    @Test func nothingTheCSPWouldBlock() {
        let html = EmbeddedAssets.indexHTML.text
        #expect(html.matches(of: /<script(?![^>]*\bsrc=)[^>]*>/).isEmpty, "inline script")
        #expect(!html.contains("<style"), "inline style element")
        #expect(html.matches(of: /\sstyle\s*=/).isEmpty, "style attribute")
        #expect(html.matches(of: /\son[a-z]+\s*=/).isEmpty, "inline event handler")
        for asset in EmbeddedAssets.all where asset.name.hasSuffix(".js") {
            for bad in ["innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "setAttribute(\"style\"", "console.error", "console.log"] {
                #expect(!asset.text.contains(bad), "\(asset.name) uses \(bad)")
            }
        }
    }
}
