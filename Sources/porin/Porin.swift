// The `porin` command: kubectl-, cilium- and hubble-like verbs. This verbs are the
// offline policy tools under `porin policy`.
import ArgumentParser

@main
struct Porin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "porin",
        abstract: "Cilium network policy and Hubble observability on one Linux machine.",
        subcommands: [PolicyCommand.self, MonitorCommand.self, StandInCommand.self, DNSServerCommand.self])
}
