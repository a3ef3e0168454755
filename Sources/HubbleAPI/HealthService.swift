// gRPC's health service (grpc.health.v1.Health), which `hubble status` asks before anything else,
// for the service name Hubble registers its observer under. A server that answers at all is
// serving: the observer has no state in which it would refuse requests.
import GRPCCore
import HubbleProto

public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    /// The name Hubble's server registers (`hubble.server.Observer`), the Observer's gRPC name,
    /// and "" (the server as a whole).
    public static let services: Set<String> = ["", "hubble.server.Observer", "observer.Observer"]

    public init() {}

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard Self.services.contains(request.service) else {
            // The health protocol's answer for a service the server does not know.
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        var r = Grpc_Health_V1_HealthCheckResponse()
        r.status = .serving
        return r
    }

    public func watch(request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext) async throws {
        var r = Grpc_Health_V1_HealthCheckResponse()
        r.status = Self.services.contains(request.service) ? .serving : .serviceUnknown
        try await response.write(r)
        // The status never changes while the server runs: hold the stream until the client goes.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }
}
