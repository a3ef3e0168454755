// A fixed table from byte strings to values: JSON member names and enum names looked up where they
// lie in the input line, without making a String of each (FlowJSONByteDecoder looks up every key
// and enum name of every flow it reads).

struct ByteNameTable<Value: Sendable>: @unchecked Sendable {
    private struct Entry {
        var start: Int32
        var length: Int32
    }

    /// Every name's bytes, one after another, and where each begins. Raw storage made once and
    /// never freed (the tables are static): a lookup is on the path of every JSON member name,
    /// and arrays cost it bounds checks and reference counting.
    private let bytes: UnsafeMutablePointer<UInt8>
    private let entries: UnsafeMutablePointer<Entry>
    private let values: [Value]
    /// Open addressing: an entry's index + 1, or 0 for an empty slot.
    private let slots: UnsafeMutablePointer<Int32>
    private let mask: Int

    /// The first of several equal names wins, as `firstIndex(of:)` and a JSON object's first member do.
    init(_ pairs: [(name: String, value: Value)]) {
        var names: [[UInt8]] = [], values: [Value] = []
        var size = 16
        while size < pairs.count * 4 { size *= 2 }
        var slots = [Int32](repeating: 0, count: size)
        for (name, value) in pairs {
            let b = Array(name.utf8)
            let h = b.isEmpty ? 0 : b.withUnsafeBufferPointer { Self.hash($0.baseAddress!, $0.count) }
            var s = h & (size - 1)
            var duplicate = false
            while slots[s] != 0 {
                if names[Int(slots[s]) - 1] == b { duplicate = true; break }
                s = (s + 1) & (size - 1)
            }
            if duplicate { continue }
            names.append(b)
            values.append(value)
            slots[s] = Int32(values.count)
        }
        let total = names.reduce(0) { $0 + $1.count }
        bytes = .allocate(capacity: max(1, total))
        entries = .allocate(capacity: max(1, names.count))
        var at = 0
        for (k, b) in names.enumerated() {
            for (j, c) in b.enumerated() { bytes[at + j] = c }
            entries[k] = Entry(start: Int32(at), length: Int32(b.count))
            at += b.count
        }
        self.slots = .allocate(capacity: size)
        for k in 0..<size { self.slots[k] = slots[k] }
        self.values = values
        mask = size - 1
    }

    /// Names here differ in length or in their first, middle or last bytes, so a hash of those
    /// few bytes spreads them as well as one over every byte, for less work.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        guard n > 0 else { return 0 }
        var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        h ^= UInt64(p[0]) | UInt64(p[n - 1]) << 8 | UInt64(p[n >> 1]) << 16 | UInt64(p[(n - 1) >> 2]) << 24
            | UInt64(p[(3 * n) >> 2]) << 32
        h = h &* 0xFF51_AFD7_ED55_8CCD
        return Int(truncatingIfNeeded: h >> 33)
    }

    @inline(__always)
    func value(_ p: UnsafePointer<UInt8>, _ n: Int) -> Value? {
        var s = Self.hash(p, n) & mask
        while true {
            let e = Int(slots[s]) - 1
            if e < 0 { return nil }
            let entry = entries[e]
            if Int(entry.length) == n {
                let name = bytes + Int(entry.start)
                var k = 0
                while k < n, name[k] == p[k] { k += 1 }
                if k == n { return values[e] }
            }
            s = (s + 1) & mask
        }
    }
}
