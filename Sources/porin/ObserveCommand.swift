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
        let args: ObserveArguments
        do {
            args = try ObserveArguments.parse(arguments, now: .now)
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
        // Lines are read where they lie in one buffer, filled by read(2) (no Data per chunk); a
        // line cut by the buffer's end moves to its front, and a longer line grows it. A raw
        // buffer rather than an array, so that the per-line loop is no closure over `scan`.
        let fd = handle.fileDescriptor
        var capacity = 1 << 22
        var base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { base.deallocate() }
        var filled = 0
        var more = true
        while more {
            if filled == capacity {
                let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                grown.update(from: base, count: filled)
                base.deallocate()
                base = grown
                capacity *= 2
            }
            let got = read(fd, base + filled, capacity - filled)
            if got < 0 {
                if errno == EINTR { continue }
                throw ValidationError("--input-file: cannot read \"\(path)\": \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            filled += got
            var start = 0
            while start < filled, let nl = memchr(base + start, 0x0A, filled - start) {
                let end = UnsafeRawPointer(nl) - UnsafeRawPointer(base)
                if !scan.line(UnsafeBufferPointer(start: base + start, count: end - start)) {
                    more = false
                    break
                }
                start = end + 1
            }
            if more, start > 0 {
                if filled > start { memmove(base, base + start, filled - start) }
                filled -= start
            }
        }
        if more, filled > 0 { _ = scan.line(UnsafeBufferPointer(start: base, count: filled)) }
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
    /// Flows repeat their labels and names: each distinct one is made once.
    let strings = FlowJSONStringCache()
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
        do { record = try FlowJSON.record(utf8: bytes, strings: strings) } catch {
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
    enum Output: Sendable { case compact, json, dict, table }
    let args: ObserveArguments
    let output: Output
    var table: TableFormat?
    var count = 0
    /// Output bytes, written when 64 KiB have gathered (compact lines are written straight in).
    var buffer: [UInt8] = []

    init(args: ObserveArguments) {
        self.args = args
        switch args.output {
        case "json", "jsonpb": output = .json
        case "dict": output = .dict
        case "table", "tab": output = .table
        default: output = .compact
        }
        if output == .table { table = TableFormat(options: args.compact) }
        buffer.reserveCapacity(1 << 17)
    }

    mutating func print(_ r: FlowRecord) {
        switch output {
        case .json:
            buffer.append(contentsOf: FlowJSONWriter.record(r).utf8)
            buffer.append(0x0A)
        case .dict: buffer.append(contentsOf: DictFormat.record(r, args.compact, first: count == 0).utf8)
        case .table: table?.add(r)
        case .compact: CompactFormat.write(r, args.compact, into: &buffer)
        }
        count += 1
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = write(STDOUT_FILENO, b.baseAddress! + done, b.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    // Nothing more can be printed (a closed pipe, a full disk).
                    FileHandle.standardError.write(Data("porin observe: write to standard output: \(String(cString: strerror(errno)))\n".utf8))
                    exit(1)
                }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func finish() {
        if let t = table { buffer.append(contentsOf: t.render().utf8) }
        flush()
    }
}
