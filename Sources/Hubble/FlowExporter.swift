// Hubble's flow exporter: every flow as a JSON line (the `GetFlowsResponse` shape `hubble
// observe -o json` prints) appended to a file, rotated by size as Hubble's exporter does
// (lumberjack: the full file is renamed `NAME-<UTC time>.EXT` and a new one started; the oldest
// backups beyond the limit are removed).
import Foundation
import Glibc

public final class FlowExporter: @unchecked Sendable {
    public let path: String
    public let maxSizeBytes: Int
    public let maxBackups: Int
    private var fd: Int32 = -1
    private var size = 0
    private let lock = NSLock()

    /// Hubble's defaults: 10 MiB per file, 5 backups.
    public init(path: String, maxSizeBytes: Int = 10 << 20, maxBackups: Int = 5) throws {
        self.path = path
        self.maxSizeBytes = maxSizeBytes
        self.maxBackups = maxBackups
        try open()
    }

    deinit { if fd >= 0 { close(fd) } }

    private func open() throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FlowDecodingError(description: "cannot open the flow export file \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        fstat(fd, &st)
        size = Int(st.st_size)
    }

    public func export(_ r: FlowRecord) {
        let line = FlowJSONWriter.record(r) + "\n"
        lock.lock()
        defer { lock.unlock() }
        let n = line.utf8.count
        if size > 0 && size + n > maxSizeBytes { rotate() }
        _ = line.withCString { write(fd, $0, n) }
        size += n
    }

    /// The backup name of a rotation at `date`: `flows-2024-05-01T12-00-01.001.json`.
    public static func backupName(_ path: String, date: Date) -> String {
        let ext = (path as NSString).pathExtension
        let base = ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let t = HubbleTimeFormat.rfc3339.format(FlowTime(seconds: ms / 1000, nanos: 0)).dropLast().replacingOccurrences(of: ":", with: "-")
        let frac = String(format: "%03d", Int(ms % 1000))
        return "\(base)-\(t).\(frac)" + (ext.isEmpty ? "" : ".\(ext)")
    }

    private func rotate() {
        close(fd)
        rename(path, Self.backupName(path, date: Date()))
        pruneBackups()
        try? open()
    }

    /// Backups of this file, oldest first.
    public func backups() -> [String] {
        let dir = (path as NSString).deletingLastPathComponent
        let ext = (path as NSString).pathExtension
        let file = (path as NSString).lastPathComponent
        let base = ext.isEmpty ? file : String(file.dropLast(ext.count + 1))
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? [])
            .filter { $0 != file && $0.hasPrefix(base + "-") && (ext.isEmpty || $0.hasSuffix("." + ext)) }.sorted()
        return names.map { dir.isEmpty ? $0 : "\(dir)/\($0)" }
    }

    private func pruneBackups() {
        let b = backups()
        if b.count > maxBackups { for old in b.prefix(b.count - maxBackups) { unlink(old) } }
    }
}
