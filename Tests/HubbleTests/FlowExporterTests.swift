// The flow exporter: JSON lines that read back as the same flows, rotated by size with a bounded
// number of backups.
import Foundation
import Hubble
import Testing

@Suite("Flow export")
struct FlowExporterTests {
    @Test("lines read back; files rotate at the size limit; old backups go")
    func rotation() throws {
        let dir = NSTemporaryDirectory() + "porin-export-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let records = try Golden.records()
        let exporter = try FlowExporter(path: "\(dir)/flows.json", maxSizeBytes: 4000, maxBackups: 2)
        for (i, r) in (records + records + records).enumerated() {
            exporter.export(r)
            if i % 5 == 4 { usleep(2000) }  // distinct backup names (millisecond resolution)
        }
        let current = try String(contentsOfFile: "\(dir)/flows.json", encoding: .utf8)
        #expect(current.utf8.count <= 4000 + 2000, "the live file stays near the limit")
        let backups = exporter.backups()
        #expect(backups.count == 2, "at most two backups are kept: \(backups)")
        for b in backups { #expect(b.hasPrefix("\(dir)/flows-") && b.hasSuffix(".json")) }
        for line in current.split(separator: "\n") { _ = try FlowJSON.record(String(line)) }
        #expect(FlowExporter.backupName("/x/flows.json", date: Date(timeIntervalSince1970: 1_714_564_801.001)) == "/x/flows-2024-05-01T12-00-01.001.json")
    }
}
