// The `porin` command: kubectl-, cilium- and hubble-like verbs: the cluster's life cycle
// (`up`, `status`, `down`), its objects (`create`, `apply`, `delete`, `get`, `exec`), the offline
// policy tools (`policy`), the datapath's events (`monitor`), and the servers pods run.
import ArgumentParser

@main
struct Porin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "porin",
        abstract: "Cilium network policy and Hubble observability on one Linux machine.",
        subcommands: [
            UpCommand.self, StatusCommand.self, DownCommand.self,
            CreateCommand.self, ApplyCommand.self, DeleteCommand.self, GetCommand.self, ExecCommand.self,
            ObserveCommand.self, HubbleCommand.self, FQDNCommand.self, PolicyCommand.self, MonitorCommand.self, StandInCommand.self, DNSServerCommand.self,
            ControlPlaneCommand.self, AgentCommand.self,
        ])
}
