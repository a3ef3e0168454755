// `porin dns-server`: Porin's DNS server, run by kube-dns pods and by the simulated world.
import ArgumentParser
import DNS
import DNSServer

struct DNSServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns-server",
        abstract: "Answer DNS over UDP and TCP from a records file; forward other names upstream.")

    @Option(help: "ADDRESS:PORT to listen on (UDP and TCP).")
    var listen = "0.0.0.0:53"
    @Option(help: "A zone this server is authoritative for (unknown names in it are NXDOMAIN); repeatable.")
    var zone: [String] = []
    @Option(help: "Records file: `NAME A IP[,IP...]` or `NAME CNAME TARGET` per line; re-read when it changes.")
    var records: String?
    @Option(help: "ADDRESS:PORT of the resolver for names outside the zones.")
    var upstream: String?
    @Option(help: "TTL of the answers, in seconds.")
    var ttl: UInt32 = 30
    @Option(help: "Seconds a TCP connection may wait for its next query before it is closed.")
    var tcpIdleTimeout: Double = 10

    func validate() throws {
        guard tcpIdleTimeout > 0, tcpIdleTimeout <= 3600 else { throw ValidationError("--tcp-idle-timeout must be in (0, 3600]") }
    }

    func run() throws {
        let zones = try zone.map { z in
            do { return try DNSName(z) } catch { throw ValidationError("--zone \"\(z)\": \(error)") }
        }
        let server = try DNSServer(listen: listen, zones: zones, recordsPath: records, upstream: upstream, ttl: ttl)
        server.tcpIdleTimeout = tcpIdleTimeout
        server.serve()
    }
}
