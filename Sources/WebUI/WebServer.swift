// The web UI's HTTP server (Hummingbird): /api/* to a WebHandling, server-sent events on /api/events,
// the embedded page and its assets, and the Host/Origin guard in front of all of it.
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UIModel

public final class WebServer: Sendable {
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The port the kernel gave (the one asked for, unless that was 0).
    public let port: Int
    public let host: String
    private let group: ServiceGroup
    private let finished: DispatchSemaphore
    private let task: Task<Void, Never>

    private init(port: Int, host: String, group: ServiceGroup, finished: DispatchSemaphore, task: Task<Void, Never>) {
        self.port = port
        self.host = host
        self.group = group
        self.finished = finished
        self.task = task
    }

    /// Serves `handler` on `host:port` (0: the kernel chooses) in the background and returns once
    /// the socket listens, or throws why it cannot (`127.0.0.1:12000: address already in use`).
    /// Signals are the caller's business: nothing here installs handlers.
    public static func start(port: Int, handler: any WebHandling, host: String = "127.0.0.1") throws -> WebServer {
        var logger = Logger(label: "porin.webui")
        logger.logLevel = .warning
        let bound = BoundPort()
        let responder = WebResponder(handler: handler, bound: bound, host: host)
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in bound.set(channel.localAddress?.port ?? port) },
            logger: logger)
        let group = ServiceGroup(services: [app], logger: logger)
        let finished = DispatchSemaphore(value: 0)
        let task = Task(executorPreference: ThreadExecutor.shared) {
            do {
                try await group.run()
            } catch {
                bound.fail(error)
            }
            bound.fail(StartError(description: "the server stopped before it listened"))
            finished.signal()
        }
        switch bound.wait() {
        case .success(let p):
            return WebServer(port: p, host: host, group: group, finished: finished, task: task)
        case .failure(let error):
            throw StartError(description: "\(host):\(port): \(describe(error))")
        }
    }

    /// Stops accepting, ends event streams, lets requests in flight finish; returns when the server
    /// has stopped, or after about 2 s (then what is left is cancelled).
    public func stop() {
        let group = self.group
        Task(executorPreference: ThreadExecutor.shared) { await group.triggerGracefulShutdown() }
        if finished.wait(timeout: .now() + 2) == .timedOut {
            task.cancel()
            if finished.wait(timeout: .now() + 0.5) == .timedOut { return }
        }
        // Leave the semaphore signalled, so that stopping again returns at once.
        finished.signal()
    }

    private static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            switch io.errnoCode {
            case EADDRINUSE: return "address already in use"
            case EACCES: return "permission denied"
            case EADDRNOTAVAIL: return "address not available"
            default: return String(cString: strerror(io.errnoCode)).lowercased()
            }
        }
        return "\(error)"
    }
}

/// The bound port, handed from the server's task to `start`, which waits for it.
private final class BoundPort: @unchecked Sendable {
    private let lock = NSLock()
    private let ready = DispatchSemaphore(value: 0)
    private var result: Result<Int, any Error>?

    func set(_ port: Int) { settle(.success(port)) }
    func fail(_ error: any Error) { settle(.failure(error)) }

    private func settle(_ r: Result<Int, any Error>) {
        lock.lock()
        defer { lock.unlock() }
        guard result == nil else { return }
        result = r
        ready.signal()
    }

    func wait() -> Result<Int, any Error> {
        ready.wait()
        lock.lock()
        defer { lock.unlock() }
        return result!
    }

    var port: Int {
        lock.lock()
        defer { lock.unlock() }
        if case .success(let p)? = result { return p }
        return 0
    }
}

struct WebResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    static let maxBody = 4 << 20
    static let csp = "default-src 'self'"

    let handler: any WebHandling
    fileprivate let bound: BoundPort
    let host: String

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let method = request.method.rawValue
        if let reason = WebGuard.refusal(method: method, host: request.head.authority,
                                         origin: request.headers[.origin], port: bound.port, boundHost: host) {
            return Self.json(403, APIError(reason))
        }
        let rawPath = request.uri.path
        if rawPath == "/api" || rawPath.hasPrefix("/api/") {
            if rawPath == "/api/events" && method == "GET" { return events(request) }
            return await api(request)
        }
        guard method == "GET" || method == "HEAD" else {
            return Self.json(405, APIError("\(method) \(rawPath): only GET outside /api"))
        }
        if rawPath.hasPrefix("/assets/") {
            guard let asset = EmbeddedAssets.named(String(rawPath.dropFirst("/assets/".count))) else {
                return Self.json(404, APIError("no asset \(rawPath)"))
            }
            return Self.serve(asset, ifNoneMatch: request.headers[.ifNoneMatch])
        }
        // Every other path is the page: its routes live after the '#'.
        return Self.serve(EmbeddedAssets.indexHTML, ifNoneMatch: request.headers[.ifNoneMatch])
    }

    private func api(_ request: Request) async -> Response {
        var request = request
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Self.maxBody {
            return Self.tooLarge()
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maxBody)
        } catch is NIOTooManyBytesError {
            return Self.tooLarge()
        } catch {
            return Self.json(400, APIError("could not read the request body: \(error)"))
        }
        let web = WebRequest(
            method: request.method.rawValue,
            path: URLDecoding.percentDecode(Substring(request.uri.path), plusIsSpace: false),
            query: URLDecoding.query(request.uri.query.map { Substring($0) }),
            body: Array(buffer: body))
        let r = await handler.handle(web)
        var headers = HTTPFields()
        headers[.contentType] = r.contentType
        headers[.cacheControl] = "no-store"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: Self.status(r.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }

    private func events(_ request: Request) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[.xContentTypeOptions] = "nosniff"
        let handler = self.handler
        return Response(status: .ok, headers: headers, body: .init { writer in
            // Ends the stream when the browser closes the connection (not only at the next failed
            // write) and when the server shuts down gracefully.
            let (stopped, stop) = AsyncStream<Void>.makeStream()
            do {
                try await withGracefulShutdownHandler {
                    try await request.body.consumeWithCancellationOnInboundClose { _ in
                        try await EventStream.run(writer: &writer, changes: handler.changes(), stop: stopped)
                    }
                } onGracefulShutdown: {
                    stop.finish()
                }
            } catch is CancellationError {
            }
            try await writer.finish(nil)
        })
    }

    static func serve(_ asset: EmbeddedAsset, ifNoneMatch: String?) -> Response {
        var headers = HTTPFields()
        headers[.eTag] = asset.etag
        headers[.cacheControl] = "no-cache"
        headers[.xContentTypeOptions] = "nosniff"
        if asset.contentType.hasPrefix("text/html") {
            headers[.contentSecurityPolicy] = csp
            headers[.frameOptions] = "DENY"
            headers[.referrerPolicyName] = "no-referrer"
        }
        if EmbeddedAssets.matches(ifNoneMatch: ifNoneMatch, etag: asset.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: asset.text)))
    }

    static func json(_ status: Int, _ error: APIError) -> Response {
        let data = (try? JSONEncoder().encode(error)) ?? Data(#"{"error":"internal error","errors":[]}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: Self.status(status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func status(_ code: Int) -> HTTPResponse.Status {
        guard (100...599).contains(code) else { return .internalServerError }
        let phrases = [200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
                       403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
                       413: "Content Too Large", 422: "Unprocessable Content", 500: "Internal Server Error",
                       503: "Service Unavailable"]
        return HTTPResponse.Status(code: code, reasonPhrase: phrases[code] ?? "")
    }

    static func tooLarge() -> Response { json(413, APIError("request body larger than 4 MiB")) }
}

private extension HTTPField.Name {
    static let frameOptions = Self("X-Frame-Options")!
    static let referrerPolicyName = Self("Referrer-Policy")!
}
