// `porin policy validate|test|verdict|map`: Cilium policies checked and evaluated offline.
import ArgumentParser
import Foundation
import Glibc
import PolicyAPI
import PolicyCheck
import PolicyEngine

struct FileSystemReader: ScenarioFileReader {
    func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("no such file: \(path)")
        }
        guard let s = String(data: data, encoding: .utf8) else { throw CLIError("\(path) is not UTF-8 text") }
        return s
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Expands files and directories (their .yaml, .yml and .json files, sorted) into a file list.
func expandPaths(_ paths: [String]) throws -> [String] {
    var out: [String] = []
    for p in paths {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { throw CLIError("no such file or directory: \(p)") }
        if isDir.boolValue {
            let items = try FileManager.default.contentsOfDirectory(atPath: p).sorted()
            out += items.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.map { "\(p)/\($0)" }
        } else {
            out.append(p)
        }
    }
    return out
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8))
}

/// Loads manifest files into a scenario, collecting every error of every file.
func loadManifests(_ paths: [String], into scenario: inout PolicyScenario) throws -> [ManifestDiagnostic] {
    var problems: [ManifestDiagnostic] = []
    let reader = FileSystemReader()
    for file in try expandPaths(paths) {
        let text = try reader.read(file)
        do { scenario.add(try APIObjectDecoder.decode(text: text, file: file)) } catch { problems += error.diagnostics }
    }
    return problems
}

/// With PORIN_TIMING set, prints how long each phase of a command took (to stderr).
final class PhaseTimer {
    let enabled: Bool
    var last = ContinuousClock.now
    init(enabled: Bool) { self.enabled = enabled }
    func lap(_ name: String) {
        guard enabled else { return }
        let now = ContinuousClock.now
        printError("timing: \(name) \(now - last)")
        last = now
    }
}

/// Policies and workloads named on the command line (`verdict`, `map`).
struct ScenarioOptions: ParsableArguments {
    @Option(name: .shortAndLong, parsing: .upToNextOption, help: "Policy manifests (files or directories).")
    var file: [String] = []
    @Option(parsing: .upToNextOption, help: "Workload manifests: Namespaces, Pods, Deployments, Services.")
    var workloads: [String] = []
    @Option(name: .customLong("cluster-name"), help: "Cluster name of the endpoints' identities.")
    var clusterName = "default"

    /// Loads every file; prints all errors and exits 2 if any file is invalid.
    func load() throws -> PolicyScenario {
        var scenario = PolicyScenario()
        scenario.clusterName = clusterName
        var problems = try loadManifests(file, into: &scenario)
        problems += try loadManifests(workloads, into: &scenario)
        if !problems.isEmpty {
            printError(problems.map(\.description).joined(separator: "\n"))
            throw ExitCode(2)
        }
        return scenario
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate, test and explain Cilium and Kubernetes network policies offline.",
        subcommands: [Validate.self, Test.self, Verdict.self, PolicyMap.self])

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check policy manifests; print every error with file:line:column.")
        @Option(name: .shortAndLong, parsing: .upToNextOption, help: "Manifest files or directories.")
        var file: [String] = []

        func run() throws {
            guard !file.isEmpty else { throw ValidationError("give at least one file with -f") }
            var failed = false
            let reader = FileSystemReader()
            for path in try expandPaths(file) {
                let text = try reader.read(path)
                do {
                    let objects = try APIObjectDecoder.decode(text: text, file: path)
                    let names = objects.map { o -> String in
                        if case let .policy(p) = o { return p.reference.description }
                        return o.kind
                    }
                    print("\(path): valid (\(names.joined(separator: ", ")))")
                } catch {
                    failed = true
                    for d in error.diagnostics { print(d.description) }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run policy test files; exit 1 if an expectation fails, 2 on invalid input.")
        @Argument(help: "Policy test files (YAML or JSON).")
        var files: [String]
        @Option(name: .shortAndLong, help: "Output: table or json (one object per query).")
        var output: OutputFormat = .table

        func run() throws {
            var allResults: [QueryResult] = []
            var invalid = false
            let reader = FileSystemReader()
            for path in try expandPaths(files) {
                do {
                    let timer = PhaseTimer(enabled: ProcessInfo.processInfo.environment["PORIN_TIMING"] != nil)
                    let text = try reader.read(path)
                    let docs: [ManifestNode]
                    do { docs = try ManifestLoader.documents(text: text, file: path) } catch { throw ScenarioLoadError(diagnostics: error.diagnostics) }
                    timer.lap("parse")
                    if let other = PolicyTestFileLoader.otherKind(docs) {
                        // Lab folders mix manifests with test files; `policy test DIR/*.yaml` runs the tests.
                        printError("\(path): skipped: \(other), not a policy test file")
                        continue
                    }
                    let scenario = try PolicyTestFileLoader.load(path: path, text: text, documents: docs, reader: reader)
                    timer.lap("decode")
                    let runner = try PolicyScenarioRunner(scenario)
                    timer.lap("resolve")
                    let results = try runner.run()
                    timer.lap("queries")
                    allResults += results
                    if output == .json {
                        var out: [UInt8] = []
                        for r in results { PolicyReport.writeJSON(r, into: &out); out.append(0x0A) }
                        FileHandle.standardOutput.write(Data(out))
                    } else {
                        print("# \(path)")
                        print(PolicyReport.table(results), terminator: "")
                    }
                    timer.lap("output")
                } catch let e as ScenarioLoadError {
                    invalid = true
                    printError(e.description)
                } catch let e as ScenarioError {
                    invalid = true
                    printError(e.description)
                }
            }
            if output == .table { print(PolicyReport.summary(allResults)) }
            // Exit here, without tearing down the engines and results one object at a time: the
            // process is over, and for large files the teardown costs as much as a phase.
            fflush(nil)
            Glibc.exit(invalid ? 2 : allResults.contains(where: { $0.ok == false }) ? 1 : 0)
        }
    }

    struct Verdict: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluate one flow against policies and workloads.")
        @OptionGroup var scenarioOptions: ScenarioOptions
        @Option(help: "Source: endpoint (name or namespace/name), entity, IP or CIDR.")
        var from: String
        @Option(help: "Destination: endpoint, entity, IP or CIDR.")
        var to: String
        @Option(help: "Destination port (for ICMP: the ICMP type).")
        var port: Int?
        @Option(name: .customLong("protocol"), help: "TCP, UDP, SCTP, ICMP or ICMPv6.")
        var proto: String = "TCP"
        @Option(help: "Evaluate only one side: egress or ingress.")
        var direction: String?
        @Option(name: .shortAndLong, help: "Output: table or json.")
        var output: OutputFormat = .table

        func validate() throws {
            let p = proto.uppercased()
            guard ["TCP", "UDP", "SCTP", "ICMP", "ICMPV6"].contains(p) else { throw ValidationError("--protocol must be TCP, UDP, SCTP, ICMP or ICMPv6, not \"\(proto)\"") }
            if let port {
                let range = p.hasPrefix("ICMP") ? 0...255 : 1...65535
                guard range.contains(port) else { throw ValidationError("--port \(port) is out of range \(range.lowerBound)..\(range.upperBound)") }
            } else if !p.hasPrefix("ICMP") {
                throw ValidationError("--port is required for \(p)")
            }
            if let direction, TrafficDirection(rawValue: direction) == nil { throw ValidationError("--direction must be egress or ingress") }
        }

        func run() throws {
            var scenario = try scenarioOptions.load()
            let p = proto.uppercased() == "ICMPV6" ? "ICMPv6" : proto.uppercased()
            let defaultPort = p == "ICMP" ? 8 : 128
            scenario.queries = [PolicyQuery(name: "query", from: from, to: to, port: port ?? defaultPort, proto: p,
                                            direction: direction.flatMap(TrafficDirection.init(rawValue:)),
                                            position: SourcePosition(file: "command line", line: 1, column: 1))]
            do {
                let results = try PolicyScenarioRunner(scenario).run()
                if output == .json { for r in results { print(PolicyReport.jsonText(r)) } } else { print(PolicyReport.table(results), terminator: "") }
            } catch {
                printError(error.description)
                throw ExitCode(2)
            }
        }
    }

    struct PolicyMap: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "map", abstract: "Show an endpoint's computed policy-map entries (like `cilium bpf policy get`).")
        @OptionGroup var scenarioOptions: ScenarioOptions
        @Option(help: "The endpoint, as namespace/name.")
        var endpoint: String
        @Option(name: .shortAndLong, help: "Output: table or json.")
        var output: OutputFormat = .table

        func run() throws {
            let scenario = try scenarioOptions.load()
            let runner: PolicyScenarioRunner
            do { runner = try PolicyScenarioRunner(scenario) } catch { printError(error.description); throw ExitCode(2) }
            guard case let .endpoint(name, _)? = runner.resolve(endpoint) else {
                printError("--endpoint \"\(endpoint)\" is not an endpoint of the workloads (\(runner.engine.endpointNames.joined(separator: ", ")))")
                throw ExitCode(2)
            }
            if output == .json {
                print(PolicyReport.mapJSON(engine: runner.engine, endpoint: name)!.text)
            } else {
                print(PolicyReport.mapTable(engine: runner.engine, endpoint: name)!, terminator: "")
            }
        }
    }
}
