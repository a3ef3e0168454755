// Loading Porin's BPF object with libbpf: maps pinned under /sys/fs/bpf/porin/<cluster>/ (so that
// enforcement survives an agent restart and a restarted agent finds them again), programs
// attached to veths with tc (clsact).
import CLibBPF
import Foundation
import Glibc

public struct DatapathError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
    static func errno(_ what: String, _ code: Int32) -> DatapathError {
        DatapathError("\(what): \(String(cString: strerror(code < 0 ? -code : code)))")
    }
}

/// A BPF map by file descriptor, with typed updates of ABI structs.
public struct BPFMap: @unchecked Sendable {
    public let fd: Int32
    public let name: String

    public func update<K, V>(_ key: K, _ value: V) throws {
        var k = key, v = value
        let r = bpf_map_update_elem(fd, &k, &v, UInt64(BPF_ANY))
        if r != 0 { throw DatapathError.errno("update of map \(name)", Int32(errno)) }
    }

    /// Deletes a key; a missing key is not an error.
    public func delete<K>(_ key: K) {
        var k = key
        _ = bpf_map_delete_elem(fd, &k)
    }

    public func lookup<K, V>(_ key: K, as: V.Type) -> V? {
        var k = key
        let v = UnsafeMutablePointer<V>.allocate(capacity: 1)
        defer { v.deallocate() }
        guard bpf_map_lookup_elem(fd, &k, v) == 0 else { return nil }
        return v.pointee
    }

    /// A per-CPU array's 64-bit counters at `index`, one per possible CPU.
    public func perCPUCounters(index: UInt32 = 0) -> [UInt64] {
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { return [] }
        var k = index
        var values = [UInt64](repeating: 0, count: cpus)
        guard bpf_map_lookup_elem(fd, &k, &values) == 0 else { return [] }
        return values
    }

    /// Every key of the map (for reconciling and for tests).
    public func keys<K>(_ type: K.Type) -> [K] {
        var out: [K] = []
        let cur = UnsafeMutablePointer<K>.allocate(capacity: 1)
        let next = UnsafeMutablePointer<K>.allocate(capacity: 1)
        defer { cur.deallocate(); next.deallocate() }
        var first = true
        while true {
            let r = first ? bpf_map_get_next_key(fd, nil, next) : bpf_map_get_next_key(fd, cur, next)
            if r != 0 { break }
            out.append(next.pointee)
            cur.pointee = next.pointee
            first = false
        }
        return out
    }
}

extension BPFMap {
    /// A map pinned at `path` (e.g. a running cluster's event ring buffer).
    public static func pinned(_ path: String) throws -> BPFMap {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { throw DatapathError.errno("opening \(path)", Int32(errno)) }
        return BPFMap(fd: fd, name: (path as NSString).lastPathComponent)
    }
}

/// The loaded datapath object: its maps and programs.
public final class DatapathObject: @unchecked Sendable {
    let object: OpaquePointer
    public let pinDirectory: String
    public let policy: BPFMap
    public let policyExact: BPFMap
    public let ipcache: BPFMap
    public let endpoints: BPFMap
    public let conntrack: BPFMap
    public let config: BPFMap
    public let events: BPFMap
    /// Per CPU, the events the ring buffer had no room for.
    public let eventsLost: BPFMap
    public let services: BPFMap
    public let backends: BPFMap
    public let reverseNAT: BPFMap
    public let serviceConnections: BPFMap
    public let fromContainer: Int32
    public let toContainer: Int32

    /// Finds the compiled object: $PORIN_BPF_OBJECT, else `.build/bpf/lxc.o` in an ancestor of
    /// the running executable (where `make` puts it).
    public static func locateObject() throws -> String {
        if let p = ProcessInfo.processInfo.environment["PORIN_BPF_OBJECT"] { return p }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            let candidate = dir.appendingPathComponent(".build/bpf/lxc.o").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw DatapathError("the BPF object was not found: run `make bpf` (or set PORIN_BPF_OBJECT)")
    }

    /// Opens and loads the object, reusing maps already pinned in `pinDirectory`.
    public init(objectPath: String, pinDirectory: String) throws {
        try Self.ensureBPFFilesystem()
        try FileManager.default.createDirectory(atPath: pinDirectory, withIntermediateDirectories: true)
        self.pinDirectory = pinDirectory
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        let obj: OpaquePointer? = pinDirectory.withCString { pin in
            opts.pin_root_path = pin
            return bpf_object__open_file(objectPath, &opts)
        }
        guard let obj, libbpf_get_error(UnsafeRawPointer(obj)) == 0 else {
            throw DatapathError("cannot open BPF object \(objectPath)")
        }
        let r = bpf_object__load(obj)
        if r != 0 {
            bpf_object__close(obj)
            throw DatapathError.errno("loading \(objectPath) (the kernel's verifier log is in the agent's stderr)", r)
        }
        object = obj
        func map(_ name: String) throws -> BPFMap {
            guard let m = bpf_object__find_map_by_name(obj, name) else { throw DatapathError("map \(name) is missing from the object") }
            return BPFMap(fd: bpf_map__fd(m), name: name)
        }
        func prog(_ name: String) throws -> Int32 {
            guard let p = bpf_object__find_program_by_name(obj, name) else { throw DatapathError("program \(name) is missing from the object") }
            return bpf_program__fd(p)
        }
        policy = try map("porin_policy")
        policyExact = try map("porin_policy_exact")
        ipcache = try map("porin_ipcache")
        endpoints = try map("porin_endpoints")
        conntrack = try map("porin_ct")
        config = try map("porin_config")
        events = try map("porin_events")
        eventsLost = try map("porin_events_lost")
        services = try map("porin_services")
        backends = try map("porin_backends")
        reverseNAT = try map("porin_revnat")
        serviceConnections = try map("porin_lb_conns")
        fromContainer = try prog("from_container")
        toContainer = try prog("to_container")
    }

    deinit { bpf_object__close(object) }

    /// Attaches the endpoint programs to a pod's host-side veth (in the calling thread's network
    /// namespace): from_container on tc ingress, to_container on tc egress.
    public func attach(ifindex: Int32) throws {
        // `sz` is the end of the last field libbpf knows: trailing padding of the Swift value is
        // not guaranteed to be zero, and libbpf rejects non-zero bytes beyond its fields.
        var hook = bpf_tc_hook()
        hook.sz = MemoryLayout<bpf_tc_hook>.offset(of: \.parent)! + MemoryLayout<UInt32>.size
        hook.ifindex = ifindex
        hook.attach_point = BPF_TC_INGRESS
        let c = bpf_tc_hook_create(&hook)
        if c != 0 && c != -EEXIST { throw DatapathError.errno("creating the clsact qdisc on ifindex \(ifindex)", c) }
        for (point, fd) in [(BPF_TC_INGRESS, fromContainer), (BPF_TC_EGRESS, toContainer)] {
            hook.attach_point = point
            var o = bpf_tc_opts()
            o.sz = MemoryLayout<bpf_tc_opts>.offset(of: \.priority)! + MemoryLayout<UInt32>.size
            o.prog_fd = fd
            o.handle = 1
            o.priority = 1
            o.flags = UInt32(BPF_TC_F_REPLACE.rawValue)
            let r = bpf_tc_attach(&hook, &o)
            if r != 0 { throw DatapathError.errno("attaching to ifindex \(ifindex)", r) }
        }
    }

    /// Removes every pinned map of this datapath (`porin down`), and the parent directories
    /// (the cluster's, then `porin`) when nothing else is left in them.
    public static func unpin(directory: String) {
        guard let items = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for i in items { unlink("\(directory)/\(i)") }
        rmdir(directory)
        var parent = (directory as NSString).deletingLastPathComponent
        while parent.hasPrefix("/sys/fs/bpf/porin") {
            if rmdir(parent) != 0 { break }  // fails harmlessly when not empty
            parent = (parent as NSString).deletingLastPathComponent
        }
    }

    /// Mounts the BPF filesystem at /sys/fs/bpf when it is not mounted (pinning needs it).
    public static func ensureBPFFilesystem() throws {
        var st = statfs()
        if statfs("/sys/fs/bpf", &st) == 0 && st.f_type == 0xCAFE4A11 { return }
        if mount("bpf", "/sys/fs/bpf", "bpf", 0, nil) != 0 {
            throw DatapathError.errno("mounting the BPF filesystem on /sys/fs/bpf", Int32(errno))
        }
    }
}
