// Strings that a stream of flows repeats (labels, namespaces, pod, workload and node names),
// made once: FlowJSONByteDecoder looks a string's bytes up here before it makes a String, so a
// repeated one costs a hash and a comparison instead of a UTF-8 check, an allocation and a copy
// (and the records of a `--last N` tail share the storage).

/// Recently made strings, by their bytes: a fixed table, a new string replacing the one in its
/// slot, so memory stays bounded however many distinct strings pass. One per reader; not Sendable.
public final class FlowJSONStringCache {
    private static let size = 4096
    private var slots: [String]

    public init() { slots = Array(repeating: "", count: Self.size) }

    /// Shorter strings are kept inside the String value itself (no allocation): not worth a lookup.
    static let minimumLength = 16

    /// The string of `n` (≥ minimumLength) bytes at `p`, as `String(decoding:as: UTF8.self)` makes it.
    func string(_ p: UnsafePointer<UInt8>, _ n: Int) -> String {
        let raw = UnsafeRawPointer(p)
        // The first, middle and last eight bytes and the length: labels that share a prefix
        // differ in their end or their length.
        var h = raw.loadUnaligned(as: UInt64.self) &* 0x9E37_79B9_7F4A_7C15
        h ^= raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= raw.loadUnaligned(fromByteOffset: n / 2 - 4, as: UInt64.self) &* 0x1656_67B1_9E37_79F9
        h ^= UInt64(truncatingIfNeeded: n)
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        let slot = Int(truncatingIfNeeded: h >> 40) & (Self.size - 1)
        let cached = slots[slot]
        // A String made from invalid UTF-8 has other bytes (U+FFFD), so it never matches here
        // and such a string is made afresh each time, as it would be without the cache.
        if cached.utf8.count == n, cached.utf8.withContiguousStorageIfAvailable({ Self.equal($0.baseAddress!, p, n) }) == true {
            return cached
        }
        let s = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        slots[slot] = s
        return s
    }

    private static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let x = UnsafeRawPointer(a), y = UnsafeRawPointer(b)
        var k = 0
        while k + 8 <= n {
            if x.loadUnaligned(fromByteOffset: k, as: UInt64.self) != y.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
            k += 8
        }
        return x.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == y.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
    }
}
