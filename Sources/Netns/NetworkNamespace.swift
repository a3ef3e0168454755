// Network namespaces and veth pairs: the plumbing of nodes and pods. Namespaces are named
// (`ip netns`), so that they outlive the process that made them and `porin down` can find them.
// Porin never changes the root namespace's routes, devices or firewall.
import CNetnsShim
import Foundation
import Glibc

public struct NetnsError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Runs a command and returns its standard output; throws with its standard error on failure.
@discardableResult
public func run(_ argv: [String], input: String? = nil) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
    p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    if let input {
        let inp = Pipe()
        p.standardInput = inp
        inp.fileHandleForWriting.write(Data(input.utf8))
        try? inp.fileHandleForWriting.close()
    }
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw NetnsError("\(argv.joined(separator: " ")) failed (\(p.terminationStatus)): \(String(decoding: e, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    return String(decoding: o, as: UTF8.self)
}

public struct NetworkNamespace: Hashable, Sendable {
    public let name: String
    public init(_ name: String) { self.name = name }

    public var path: String { "/run/netns/\(name)" }

    public static func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: "/run/netns/\(name)") }

    /// Creates the namespace (with loopback up) unless it exists.
    @discardableResult
    public static func create(_ name: String) throws -> NetworkNamespace {
        if !exists(name) { try run(["ip", "netns", "add", name]) }
        let ns = NetworkNamespace(name)
        try ns.ip("link", "set", "lo", "up")
        return ns
    }

    public func delete() throws {
        if Self.exists(name) { try run(["ip", "netns", "delete", name]) }
    }

    /// Kills every process running in this namespace (`ip netns pids`); returns how many.
    @discardableResult
    public func killProcesses() -> Int {
        let pids = (try? run(["ip", "netns", "pids", name]))?.split(separator: "\n").compactMap { Int32($0) } ?? []
        for p in pids { kill(p, SIGKILL) }
        return pids.count
    }

    /// `ip ARGS` inside this namespace.
    @discardableResult
    public func ip(_ args: String...) throws -> String { try run(["ip", "-n", name] + args) }

    /// Runs a command inside this namespace.
    @discardableResult
    public func exec(_ argv: [String], input: String? = nil) throws -> String {
        try run(["ip", "netns", "exec", name] + argv, input: input)
    }

    /// Writes a sysctl inside this namespace (e.g. `net/ipv4/ip_forward`).
    public func sysctl(_ key: String, _ value: String) throws {
        try exec(["sh", "-c", "echo \(value) > /proc/sys/\(key)"])
    }

    /// The interface index and MAC address of a device in this namespace.
    public func link(_ device: String) throws -> (ifindex: Int32, mac: [UInt8]) {
        let out = try ip("-o", "link", "show", "dev", device)
        guard let idx = Int32(out.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) ?? "") else {
            throw NetnsError("cannot read the index of \(device) in \(name)")
        }
        guard let r = out.range(of: "link/ether ") else { throw NetnsError("\(device) in \(name) has no MAC address") }
        let macText = out[r.upperBound...].prefix(17)
        let mac = macText.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard mac.count == 6 else { throw NetnsError("cannot read the MAC address of \(device) in \(name)") }
        return (idx, mac)
    }

    /// Runs `body` on a thread that has entered this namespace (setns is per thread); the thread
    /// ends afterwards, so no other code ever runs in the wrong namespace.
    public func perform<T: Sendable>(_ body: @Sendable @escaping () throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetnsError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            let r = porin_enter_netns(fd)
            guard r == 0 else {
                box.result = .failure(NetnsError("setns(\(self.name)) failed: \(String(cString: strerror(-r)))"))
                return
            }
            box.result = Result { try body() }
        }
        thread.start()
        done.wait()
        return try box.result!.get()
    }
}

final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }

/// Creates a veth pair with one end (`inner`) moved into `into` (renamed `innerName`) and the
/// other (`outer`) in `outerNamespace`. Returns nothing; ask the namespaces for indexes.
public func createVethPair(outer: String, outerNamespace: NetworkNamespace, innerTemp: String, into: NetworkNamespace, innerName: String) throws {
    try outerNamespace.ip("link", "add", outer, "type", "veth", "peer", "name", innerTemp, "netns", into.name)
    try into.ip("link", "set", innerTemp, "name", innerName)
    try outerNamespace.ip("link", "set", outer, "up")
    try into.ip("link", "set", innerName, "up")
}
