// `porin observe`: `hubble observe` for Porin. Flags, filters and output formats are hubble's
// (parsed by Hubble.ObserveArguments, in order, so that `--not` applies to the next filter);
// flows come from a file of Hubble JSON (`--input-file FILE|-`) or from the cluster's nodes.
import ArgumentParser
import ClusterAPI
import Foundation
import Hubble
import HubbleAPI
import HubbleProto
import SwiftProtobuf

struct ObserveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observe",
        abstract: "Observe flows, like `hubble observe` (same flags, filters and output).",
        discussion: "Examples: porin observe --namespace tenant-a --verdict DROPPED; porin observe --input-file flows.jsonl --from-pod tenant-a/frontend-service")

    @Option(help: "The cluster (default: $PORIN_CLUSTER, else the only one running).")
    var cluster: String?
    @Argument(parsing: .captureForPassthrough, help: "hubble observe's flags")
    var arguments: [String] = []

    func run() throws {
        let now = Date().timeIntervalSince1970
        let args: ObserveArguments
        do {
            args = try ObserveArguments.parse(arguments, now: FlowTime(seconds: Int64(now), nanos: Int32((now - now.rounded(.down)) * 1e9)))
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        if args.help {
            print(Self.helpMessage(), terminator: "")
            return
        }
        if args.printRawFilters {
            print(args.rawFiltersYAML(), terminator: "")
            return
        }
        var printer = RecordPrinter(args: args)
        if let file = args.inputFile {
            try readFile(file, args: args, printer: &printer)
        } else {
            try readCluster(args: args, printer: &printer)
        }
        printer.finish()
    }

    /// A file of Hubble JSON lines, streamed: records within --since/--until that pass the
    /// filters, all of them, the first N or the last N (hubble's --input-file rules).
    func readFile(_ path: String, args: ObserveArguments, printer: inout RecordPrinter) throws {
        let handle: FileHandle
        if path == "-" { handle = FileHandle.standardInput } else {
            guard let h = FileHandle(forReadingAtPath: path) else { throw ValidationError("--input-file: cannot open \"\(path)\"") }
            handle = h
        }
        var scan = InputFileScan(args: args, path: path, printer: printer)
        var buffer: [UInt8] = []
        reading: while true {
            let chunk = handle.readData(ofLength: 1 << 22)
            if chunk.isEmpty { break }
            buffer.append(contentsOf: chunk)
            var start = 0
            var more = true
            buffer.withUnsafeBufferPointer { p in
                var i = 0
                while i < p.count {
                    if p[i] == 0x0A {
                        if !scan.line(UnsafeBufferPointer(rebasing: p[start..<i])) { more = false; return }
                        start = i + 1
                    }
                    i += 1
                }
            }
            if !more { break reading }
            buffer.removeFirst(start)
        }
        if !buffer.isEmpty { buffer.withUnsafeBufferPointer { _ = scan.line($0) } }
        scan.finish()
        printer = scan.printer
    }

    /// The cluster's flows through Hubble Relay's GetFlows (the cluster's relay socket, or
    /// --server): the server selects and filters, as for hubble; with --follow, flows are printed
    /// as they come.
    func readCluster(args: ObserveArguments, printer: inout RecordPrinter) throws {
        let address: HubbleAddress
        if let server = args.server {
            do { address = try HubbleAddress(parsing: server) } catch { throw ValidationError("--server: \(error)") }
        } else {
            do { address = .unix(try ClusterPaths.select(cluster).relaySocket) } catch { throw ValidationError("\(error)") }
        }
        var request = Observer_GetFlowsRequest()
        request.number = args.requestNumber
        request.first = args.requestFirst
        request.follow = args.follow
        if let since = args.since { request.since = since.proto }
        if let until = args.until { request.until = until.proto }
        do {
            request.whitelist = try args.filters.allowlist.map { try $0.proto }
            request.blacklist = try args.filters.denylist.map { try $0.proto }
        } catch {
            throw ValidationError("filters: \(error)")
        }
        if !args.fieldMask.isEmpty { request.fieldMask = Google_Protobuf_FieldMask(protoPaths: args.fieldMask) }
        let start = printer
        do {
            printer = try runBlocking { [request] in
                try await HubbleClient(address).withObserver { observer in
                    try await observer.getFlows(request) { stream in
                        var p = start
                        for try await m in stream.messages {
                            guard let r = FlowRecord(response: m) else { continue }
                            p.print(r)
                            if request.follow { p.flush() }
                        }
                        return p
                    }
                }
            }
        } catch {
            FileHandle.standardError.write(Data("failed to get flows from '\(address)': \(HubbleClient.describe(error))\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The state of one pass over an input file (a struct, so that the per-line path needs no
/// dynamic exclusivity checks).
struct InputFileScan {
    let args: ObserveArguments
    let path: String
    var printer: RecordPrinter
    let matcher: FlowFilterMatcher
    let n: UInt64
    let first: Bool
    let keepLast: Int?
    var tail: [FlowRecord] = []
    var printed: UInt64 = 0
    var lineNo = 0

    init(args: ObserveArguments, path: String, printer: RecordPrinter) {
        self.args = args
        self.path = path
        self.printer = printer
        matcher = args.filters.matcher()
        n = args.requestNumber
        first = args.requestFirst
        keepLast = !first && n != 0 && n != .max ? Int(n) : nil
    }

    /// Handles one line; false when nothing more is wanted.
    mutating func line(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        lineNo += 1
        guard !bytes.isEmpty else { return true }
        let record: FlowRecord
        do { record = try FlowJSON.record(bytes: Array(bytes)) } catch {
            if !args.silentErrors { FileHandle.standardError.write(Data("warning: \(path):\(lineNo): \(error); printing an empty flow\n".utf8)) }
            record = .flow(Flow(), nodeName: "", time: nil)
        }
        let t: FlowTime
        switch record {
        case let .flow(f, _, time): t = time ?? f.time ?? FlowTime(seconds: 0, nanos: 0)
        case let .lostEvents(_, _, _, _, time): t = time ?? FlowTime(seconds: 0, nanos: 0)
        }
        if let s = args.since, t < s { return true }
        if let u = args.until, u < t { return true }
        guard matcher.admits(record) else { return true }
        if let k = keepLast {
            tail.append(record)
            if tail.count > 2 * k { tail.removeFirst(tail.count - k) }
            return true
        }
        printer.print(record)
        printed += 1
        return !(first && n != .max && printed >= n)
    }

    mutating func finish() {
        if let k = keepLast { for r in tail.suffix(k) { printer.print(r) } }
    }
}

/// Prints records in the chosen output format (table is aligned when the output ends).
struct RecordPrinter: Sendable {
    let args: ObserveArguments
    var table: TableFormat?
    var count = 0
    var buffer = ""

    init(args: ObserveArguments) {
        self.args = args
        if args.output == "table" || args.output == "tab" { table = TableFormat(options: args.compact) }
    }

    mutating func print(_ r: FlowRecord) {
        switch args.output {
        case "json", "jsonpb": buffer += FlowJSONWriter.record(r) + "\n"
        case "dict": buffer += DictFormat.record(r, args.compact, first: count == 0)
        case "table", "tab": table?.add(r)
        default: buffer += CompactFormat.line(r, args.compact)
        }
        count += 1
        if buffer.utf8.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }

    mutating func finish() {
        if let t = table { buffer += t.render() }
        flush()
    }
}
