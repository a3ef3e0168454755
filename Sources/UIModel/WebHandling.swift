// The seam between the HTTP server (WebUI, Hummingbird) and the UI's logic (WebAPI here): a request
// and a response with no HTTP library in them, so every route is tested without a socket.

public struct WebRequest: Sendable {
    /// `GET`, `POST`, `DELETE`…
    public var method: String
    /// The path without the query, percent-decoded (`/api/policies/CiliumNetworkPolicy/tenant-a/default`).
    public var path: String
    /// Query parameters in order, percent-decoded; a key may repeat.
    public var query: [(key: String, value: String)]
    public var body: [UInt8]
    public init(method: String, path: String, query: [(key: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
    }
    public func value(_ key: String) -> String? { query.first { $0.key == key }?.value }
}

public struct WebResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public init(status: Int = 200, contentType: String = "application/json", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// What the server calls: routes for `/api/*` and a stream of change notices for server-sent events.
public protocol WebHandling: Sendable {
    func handle(_ request: WebRequest) async -> WebResponse
    /// Yields the flow store's sequence number after flows arrive (the server coalesces ticks to
    /// at most one every 250 ms), and after policies change. Ends when the client goes away.
    func changes() -> AsyncStream<UInt64>
}
