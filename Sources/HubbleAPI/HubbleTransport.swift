// Where Hubble's gRPC API is served and reached: addresses as hubble's `--server` spells them
// (`host:port`, `unix:///path`), servers started from synchronous daemons, and client calls with
// hubble's timeouts.
import Dispatch
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HubbleProto

public enum HubbleAddress: Sendable, CustomStringConvertible, Equatable {
    case unix(String)
    case tcp(host: String, port: Int)

    /// `unix:///run/x.sock`, `unix:/run/x.sock`, `host:port`, `[::1]:port` (hubble's --server).
    public init(parsing text: String) throws {
        if text.hasPrefix("unix://") {
            self = .unix(String(text.dropFirst("unix://".count)))
        } else if text.hasPrefix("unix:") {
            self = .unix(String(text.dropFirst("unix:".count)))
        } else {
            var host = text
            var portText = "4245"  // hubble's default port
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                host = String(text[text.index(after: text.startIndex)..<close])
                let rest = text[text.index(after: close)...]
                if rest.hasPrefix(":") { portText = String(rest.dropFirst()) } else if !rest.isEmpty { throw HubbleAddressError(text) }
            } else if let colon = text.lastIndex(of: ":") {
                host = String(text[..<colon])
                portText = String(text[text.index(after: colon)...])
            }
            guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else { throw HubbleAddressError(text) }
            self = .tcp(host: host, port: port)
        }
        if case let .unix(path) = self, path.isEmpty { throw HubbleAddressError(text) }
    }

    public var description: String {
        switch self {
        case let .unix(path): "unix://\(path)"
        case let .tcp(host, port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    var serverAddress: GRPCNIOTransportCore.SocketAddress {
        switch self {
        case let .unix(path): .unixDomainSocket(path: path)
        case let .tcp(host, port): host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        }
    }

    var clientTarget: any ResolvableTarget {
        switch self {
        case let .unix(path): return ResolvableTargets.UnixDomainSocket.unixDomainSocket(path: path)
        case let .tcp(host, port):
            if host.contains(":") { return ResolvableTargets.IPv6.ipv6(host: host, port: port) }
            if host.allSatisfy({ $0.isNumber || $0 == "." }) { return ResolvableTargets.IPv4.ipv4(host: host, port: port) }
            return ResolvableTargets.DNS.dns(host: host, port: port)
        }
    }
}

public struct HubbleAddressError: Error, CustomStringConvertible {
    public let text: String
    init(_ text: String) { self.text = text }
    public var description: String { "invalid server address \"\(text)\": use host:port or unix:///path" }
}

/// Runs async work from synchronous code (the daemons' main threads, the CLI) and waits for it.
public func runBlocking<T: Sendable>(on executor: (any TaskExecutor)? = nil, _ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, any Error>!
    Task(executorPreference: executor) {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result.get()
}

public enum HubbleServer {
    /// Serves `services` plus gRPC health on `address`, in the background; returns once the socket
    /// is listening (with the port bound, for port 0), or throws why it could not (address in
    /// use, no permission).
    /// With an `executor`, the server's tasks run there rather than on the shared cooperative
    /// pool (a process whose pool threads may all be blocked, as a test runner's, needs that).
    @discardableResult
    public static func start(_ address: HubbleAddress, services: [any RegistrableRPCService], executor: (any TaskExecutor)? = nil) throws -> HubbleAddress {
        if case let .unix(path) = address { unlink(path) }
        let server = GRPCServer(transport: .http2NIOPosix(address: address.serverAddress, transportSecurity: .plaintext),
                                services: services + [HealthService()])
        let box = ServerBox(server: server)
        Task(executorPreference: executor) { try? await box.server.serve() }
        let bound = try runBlocking(on: executor) { try await box.server.transport.listeningAddress }
        if let v4 = bound.ipv4 { return .tcp(host: v4.host, port: v4.port) }
        if let v6 = bound.ipv6 { return .tcp(host: v6.host, port: v6.port) }
        return address
    }

    struct ServerBox: Sendable {
        let server: GRPCServer<HTTP2ServerTransport.Posix>
    }
}

/// A client of one Hubble server (an agent or the relay).
public struct HubbleClient: Sendable {
    public let address: HubbleAddress
    public init(_ address: HubbleAddress) { self.address = address }

    /// Calls `body` with an Observer client; the connection closes when `body` returns.
    public func withObserver<T: Sendable>(_ body: @escaping @Sendable (Observer_Observer.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        try await withGRPCClient(transport: try .http2NIOPosix(target: address.clientTarget, transportSecurity: .plaintext)) { client in
            try await body(Observer_Observer.Client(wrapping: client))
        }
    }

    /// Options for a unary call: hubble's request timeout.
    public static func unary(timeout seconds: Double = 12) -> CallOptions {
        var o = CallOptions.defaults
        o.timeout = .milliseconds(Int64(seconds * 1000))
        return o
    }

    /// `hubble status`'s health check: serving or not, or the error that says why not.
    public func health(timeout: Double = 5) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        try await withGRPCClient(transport: try .http2NIOPosix(target: address.clientTarget, transportSecurity: .plaintext)) { client in
            var req = Grpc_Health_V1_HealthCheckRequest()
            req.service = "hubble.server.Observer"
            return try await Grpc_Health_V1_Health.Client(wrapping: client).check(req, options: Self.unary(timeout: timeout)).status
        }
    }
}

extension HubbleClient {
    /// An error as Go's gRPC prints it (`rpc error: code = InvalidArgument desc = …`), the form
    /// hubble users know.
    public static func describe(_ error: any Error) -> String {
        guard let e = error as? RPCError else { return "\(error)" }
        let names: [RPCError.Code: String] = [
            .cancelled: "Canceled", .unknown: "Unknown", .invalidArgument: "InvalidArgument", .deadlineExceeded: "DeadlineExceeded",
            .notFound: "NotFound", .alreadyExists: "AlreadyExists", .permissionDenied: "PermissionDenied",
            .resourceExhausted: "ResourceExhausted", .failedPrecondition: "FailedPrecondition", .aborted: "Aborted",
            .outOfRange: "OutOfRange", .unimplemented: "Unimplemented", .internalError: "Internal", .unavailable: "Unavailable",
            .dataLoss: "DataLoss", .unauthenticated: "Unauthenticated",
        ]
        return "rpc error: code = \(names[e.code] ?? "\(e.code)") desc = \(e.message)"
    }
}
