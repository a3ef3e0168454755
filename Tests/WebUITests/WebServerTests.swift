// The web server as a browser and curl see it: the real Hummingbird server on port 0 with a fake
// handler. The page and its assets, /api/* handed over decoded, server-sent events, the Host/Origin
// guard, the body limit, start/stop, and that the embedded assets match Sources/WebUI/Assets.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import UIModel
@testable import WebUI

// Serialized: each test blocks a thread of the cooperative pool on sockets, and Hummingbird's
// shutdown runs an unstructured task there, so parallel tests would starve it (two threads here).
@Suite(.serialized) struct WebServerTests {
    let handler = FakeHandler()

    func withServer(_ body: (WebServer) async throws -> Void) async throws {
        let server = try WebServer.start(port: 0, handler: handler)
        defer { server.stop() }
        try await body(server)
    }

    @Test func thePageCarriesItsSecurityHeaders() async throws {
        try await withServer { server in
            for path in ["/", "/connections", "/some/deep/link?x=1"] {
                let r = try RawHTTP.request(server.port, "GET", path)
                #expect(r.status == 200, "\(path)")
                #expect(r.header("Content-Type") == "text/html; charset=utf-8")
                #expect(r.header("Content-Security-Policy") == "default-src 'self'")
                #expect(r.header("X-Content-Type-Options") == "nosniff")
                #expect(r.header("ETag") == EmbeddedAssets.indexHTML.etag)
                #expect(r.text == EmbeddedAssets.indexHTML.text)
                #expect(r.text.contains(#"<script type="module" src="/assets/app.js"></script>"#))
            }
        }
    }

    @Test func everyAssetIsServedWithItsETagAndRevalidates() async throws {
        try await withServer { server in
            for asset in EmbeddedAssets.all {
                let r = try RawHTTP.request(server.port, "GET", "/assets/\(asset.name)")
                #expect(r.status == 200, "\(asset.name)")
                #expect(r.header("ETag") == asset.etag)
                #expect(r.header("Cache-Control") == "no-cache")
                #expect(r.header("Content-Type") == asset.contentType)
                #expect(r.body == Array(asset.text.utf8))
                let again = try RawHTTP.request(server.port, "GET", "/assets/\(asset.name)", headers: [("If-None-Match", asset.etag)])
                #expect(again.status == 304, "\(asset.name)")
                #expect(again.body.isEmpty)
                let stale = try RawHTTP.request(server.port, "GET", "/assets/\(asset.name)", headers: [("If-None-Match", #""0000""#)])
                #expect(stale.status == 200)
            }
            let missing = try RawHTTP.request(server.port, "GET", "/assets/nope.js")
            #expect(missing.status == 404)
            #expect(missing.text.contains(#""error""#))
        }
    }

    @Test func apiRequestsReachTheHandlerDecoded() async throws {
        try await withServer { server in
            let body = Array(#"{"yaml":"a: b"}"#.utf8)
            let r = try RawHTTP.request(server.port, "POST", "/api/policies/CiliumNetworkPolicy/tenant%2Da/x%20y?namespace=tenant-a&verdict=DROPPED&verdict=FORWARDED&q=a%20b+c&flag",
                                        headers: [("Content-Type", "application/json")], body: body)
            #expect(r.status == 201)
            #expect(r.text == #"{"echo":true}"#)
            #expect(r.header("Content-Type") == "application/json")
            #expect(r.header("Cache-Control") == "no-store")
            let got = try #require(handler.received.last)
            #expect(got.method == "POST")
            #expect(got.path == "/api/policies/CiliumNetworkPolicy/tenant-a/x y")
            #expect(got.query.map { "\($0.key)=\($0.value)" } == ["namespace=tenant-a", "verdict=DROPPED", "verdict=FORWARDED", "q=a b c", "flag="])
            #expect(got.body == body)
        }
    }

    @Test func theMapComesBackAsTheHandlerWroteIt() async throws {
        try await withServer { server in
            // URLSession, as a plain client would: nothing here depends on the raw socket helper.
            let url = URL(string: "http://127.0.0.1:\(server.port)/api/map?namespace=tenant-a")!
            let (data, response) = try await URLSession.shared.data(from: url)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let map = try JSONDecoder().decode(MapResponse.self, from: data)
            #expect(map.seq == 7)
            #expect(map.edges.map(\.id) == ["e1"])
            #expect(map.edges.first?.droppedBy.first?.description == "CiliumNetworkPolicy tenant-a/default")
            #expect(handler.received.last?.query.first?.value == "tenant-a")
        }
    }

    @Test func aPushedChangeArrivesAsATickWithinASecond() async throws {
        try await withServer { server in
            let fd = try RawHTTP.connect(server.port)
            defer { close(fd) }
            RawHTTP.send(fd, Array("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nAccept: text/event-stream\r\n\r\n".utf8))
            let first = String(decoding: RawHTTP.read(fd) { String(decoding: $0, as: UTF8.self).contains("retry: 1000") }, as: UTF8.self)
            #expect(first.contains("Content-Type: text/event-stream"))
            #expect(first.contains("Cache-Control: no-cache"))
            #expect(first.contains("event: tick\ndata: {\"seq\":0}\n\n"))
            // The stream subscribes as it starts writing: wait for that before pushing.
            let deadline = ContinuousClock.now + .seconds(2)
            while handler.subscriberCount == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            let pushed = ContinuousClock.now
            handler.push(42)
            let rest = String(decoding: RawHTTP.read(fd) { String(decoding: $0, as: UTF8.self).contains("{\"seq\":42}") }, as: UTF8.self)
            #expect(rest.contains("event: tick\ndata: {\"seq\":42}\n\n"))
            #expect(ContinuousClock.now - pushed < .seconds(1))
        }
    }

    @Test func aBurstOfChangesBecomesFewTicksEndingWithTheLast() async throws {
        try await withServer { server in
            let fd = try RawHTTP.connect(server.port)
            defer { close(fd) }
            RawHTTP.send(fd, Array("GET /api/events HTTP/1.1\r\nHost: localhost:\(server.port)\r\n\r\n".utf8))
            _ = RawHTTP.read(fd) { String(decoding: $0, as: UTF8.self).contains("retry: 1000") }
            let deadline = ContinuousClock.now + .seconds(2)
            while handler.subscriberCount == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            for seq in 1...50 as ClosedRange<UInt64> { handler.push(seq) }
            let text = String(decoding: RawHTTP.read(fd) { String(decoding: $0, as: UTF8.self).contains("{\"seq\":50}") }, as: UTF8.self)
            let ticks = text.components(separatedBy: "event: tick").count - 1
            #expect(text.contains("{\"seq\":50}"))
            #expect(ticks >= 1 && ticks <= 2, "\(ticks) ticks for 50 changes: \(text)")
        }
    }

    @Test func theClientLeavingEndsItsSubscription() async throws {
        try await withServer { server in
            let fd = try RawHTTP.connect(server.port)
            RawHTTP.send(fd, Array("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n\r\n".utf8))
            _ = RawHTTP.read(fd) { String(decoding: $0, as: UTF8.self).contains("retry: 1000") }
            var deadline = ContinuousClock.now + .seconds(2)
            while handler.subscriberCount == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(handler.subscriberCount == 1)
            close(fd)
            deadline = ContinuousClock.now + .seconds(2)
            while handler.subscriberCount > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(handler.subscriberCount == 0)
        }
    }

    @Test func aForeignHostIsRefused() async throws {
        try await withServer { server in
            for host in ["evil.example:\(server.port)", "127.0.0.1:1", "attacker.test"] {
                let r = try RawHTTP.request(server.port, "GET", "/api/namespaces", host: host)
                #expect(r.status == 403, "\(host)")
                let e = try JSONDecoder().decode(APIError.self, from: Data(r.body))
                #expect(e.error.contains("is not this server"))
                #expect(e.errors.isEmpty)
                #expect(try RawHTTP.request(server.port, "GET", "/", host: host).status == 403)
            }
            #expect(try RawHTTP.request(server.port, "GET", "/", host: nil).status == 403)
            #expect(try RawHTTP.request(server.port, "GET", "/", host: "localhost:\(server.port)").status == 200)
            #expect(try RawHTTP.request(server.port, "GET", "/", host: "LOCALHOST:\(server.port)").status == 200)
            #expect(handler.received.isEmpty)
        }
    }

    @Test func aForeignOriginMayNotChangeAnything() async throws {
        try await withServer { server in
            let body = Array(#"{"yaml":""}"#.utf8)
            for origin in ["http://evil.example", "null", "http://127.0.0.1:\(server.port + 1)", "https://127.0.0.1:\(server.port)"] {
                for method in ["POST", "DELETE", "PUT"] {
                    let r = try RawHTTP.request(server.port, method, "/api/policies/apply", headers: [("Origin", origin)], body: body)
                    #expect(r.status == 403, "\(method) from \(origin)")
                    #expect(r.text.contains("may not change this cluster"))
                }
            }
            #expect(handler.received.isEmpty)
            for origin in ["http://127.0.0.1:\(server.port)", "http://localhost:\(server.port)"] {
                #expect(try RawHTTP.request(server.port, "POST", "/api/editor", headers: [("Origin", origin)], body: body).status == 201)
            }
            #expect(try RawHTTP.request(server.port, "POST", "/api/editor", body: body).status == 201)
            // Reading is not changing: a cross-site GET cannot read the answer anyway (no CORS).
            #expect(try RawHTTP.request(server.port, "GET", "/api/map", headers: [("Origin", "http://evil.example")]).status == 200)
            #expect(handler.received.count == 4)
        }
    }

    @Test func aBodyOver4MiBIsRefused() async throws {
        try await withServer { server in
            let big = [UInt8](repeating: UInt8(ascii: "x"), count: (4 << 20) + 1)
            let r = try RawHTTP.request(server.port, "POST", "/api/editor", body: big)
            #expect(r.status == 413)
            let e = try JSONDecoder().decode(APIError.self, from: Data(r.body))
            #expect(e.error == "request body larger than 4 MiB")
            // Without a length up front, the limit still holds while reading.
            let fd = try RawHTTP.connect(server.port)
            defer { close(fd) }
            var chunked = Array("POST /api/editor HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".utf8)
            for _ in 0..<5 { chunked += Array("100000\r\n".utf8) + [UInt8](repeating: 0x61, count: 1 << 20) + Array("\r\n".utf8) }
            chunked += Array("0\r\n\r\n".utf8)
            RawHTTP.send(fd, chunked)
            let streamed = try RawHTTP.parse(RawHTTP.read(fd))
            #expect(streamed.status == 413)
            #expect(streamed.text.contains("larger than 4 MiB"))
            // Exactly 4 MiB is allowed.
            let limit = try RawHTTP.request(server.port, "POST", "/api/editor", body: [UInt8](repeating: 0x61, count: 4 << 20))
            #expect(limit.status == 201)
            #expect(handler.received.last?.body.count == 4 << 20)
        }
    }

    @Test func onlyGetOutsideTheAPI() async throws {
        try await withServer { server in
            let r = try RawHTTP.request(server.port, "POST", "/", body: Array("x".utf8))
            #expect(r.status == 405)
        }
    }

    @Test func aTakenPortIsAClearError() async throws {
        try await withServer { server in
            #expect {
                try WebServer.start(port: server.port, handler: handler)
            } throws: { error in
                "\(error)" == "127.0.0.1:\(server.port): address already in use"
            }
        }
    }

    @Test func stopEndsOpenEventStreamsPromptly() async throws {
        let server = try WebServer.start(port: 0, handler: handler)
        let fd = try RawHTTP.connect(server.port)
        defer { close(fd) }
        RawHTTP.send(fd, Array("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n\r\n".utf8))
        _ = RawHTTP.read(fd) { String(decoding: $0, as: UTF8.self).contains("retry: 1000") }
        let started = ContinuousClock.now
        server.stop()
        #expect(ContinuousClock.now - started < .milliseconds(2600))
        _ = RawHTTP.read(fd)   // returns at the end of the stream (or after the 5 s receive timeout)
        #expect(ContinuousClock.now - started < .seconds(4))
        #expect(throws: (any Error).self) { try RawHTTP.request(server.port, "GET", "/") }
        server.stop()   // twice is harmless
    }
}
