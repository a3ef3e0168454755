// Time as hubble prints it: `--time-format` layouts (Go layouts, rendered in UTC), with Go's
// rules (StampMilli pads the day with a space; `.999` fractions drop trailing zeros).

public enum HubbleTimeFormat: String, Sendable, CaseIterable {
    case stampMilli = "StampMilli"
    case yearMonthDay = "YearMonthDay"
    case yearMonthDayHour = "YearMonthDayHour"
    case yearMonthDayHourMinute = "YearMonthDayHourMinute"
    case rfc3339 = "RFC3339"
    case rfc3339Milli = "RFC3339Milli"
    case rfc3339Micro = "RFC3339Micro"
    case rfc3339Nano = "RFC3339Nano"
    case rfc1123Z = "RFC1123Z"

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday

    public func format(_ t: FlowTime) -> String {
        var out: [UInt8] = []
        write(t, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The layout's bytes, appended (compact output writes a line's bytes without Strings).
    public func write(_ t: FlowTime, into out: inout [UInt8]) {
        let days = Int(floorDiv(t.seconds, 86400))
        let secOfDay = Int(t.seconds - Int64(days) * 86400)
        let (y, m, d) = Self.civil(days)
        let h = secOfDay / 3600, mi = secOfDay % 3600 / 60, s = secOfDay % 60
        func date() {
            // Go pads the year to four characters, a minus sign included.
            let text = String(y)
            for _ in 0..<max(0, 4 - text.utf8.count) { out.append(0x30) }
            out.append(contentsOf: text.utf8)
            out.append(0x2D)
            Self.two(m, &out)
            out.append(0x2D)
            Self.two(d, &out)
        }
        func clock() {
            Self.two(h, &out)
            out.append(0x3A)
            Self.two(mi, &out)
            out.append(0x3A)
            Self.two(s, &out)
        }
        switch self {
        case .stampMilli:
            let ms = Int(t.nanos) / 1_000_000
            out.append(contentsOf: Self.months[m - 1].utf8)
            out.append(0x20)
            if d < 10 { out.append(0x20) }
            Self.decimal(d, &out)
            out.append(0x20)
            clock()
            out.append(0x2E)
            if ms < 10 { out.append(0x30) }
            if ms < 100 { out.append(0x30) }
            Self.decimal(ms, &out)
        case .yearMonthDay:
            date()
        case .yearMonthDayHour:
            date()
            out.append(0x54)
            Self.two(h, &out)
            out.append(0x5A)
        case .yearMonthDayHourMinute:
            date()
            out.append(0x54)
            Self.two(h, &out)
            out.append(0x3A)
            Self.two(mi, &out)
            out.append(0x5A)
        case .rfc3339, .rfc3339Milli, .rfc3339Micro, .rfc3339Nano:
            date()
            out.append(0x54)
            clock()
            switch self {
            case .rfc3339Milli: out.append(contentsOf: Self.fraction(t.nanos, digits: 3).utf8)
            case .rfc3339Micro: out.append(contentsOf: Self.fraction(t.nanos, digits: 6).utf8)
            case .rfc3339Nano: out.append(contentsOf: Self.fraction(t.nanos, digits: 9).utf8)
            default: break
            }
            out.append(0x5A)
        case .rfc1123Z:
            out.append(contentsOf: Self.weekdays[((days % 7) + 7) % 7].utf8)
            out.append(contentsOf: ", ".utf8)
            Self.two(d, &out)
            out.append(0x20)
            out.append(contentsOf: Self.months[m - 1].utf8)
            out.append(0x20)
            let text = String(y)
            for _ in 0..<max(0, 4 - text.utf8.count) { out.append(0x30) }
            out.append(contentsOf: text.utf8)
            out.append(0x20)
            clock()
            out.append(contentsOf: " +0000".utf8)
        }
    }

    /// Two digits (or more, for values of 10 and up): Go's `01`, `02` … fields.
    static func two(_ v: Int, _ out: inout [UInt8]) {
        if v < 10 { out.append(0x30) }
        decimal(v, &out)
    }

    /// `String(v)`'s bytes, without the String.
    static func decimal(_ v: Int, _ out: inout [UInt8]) {
        if v < 0 { out.append(0x2D) }
        var m = v.magnitude
        if m < 10 {
            out.append(0x30 + UInt8(m))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { b in
            while m > 0 {
                b[19 - count] = 0x30 + UInt8(m % 10)
                m /= 10
                count += 1
            }
            out.append(contentsOf: b[(20 - count)...])
        }
    }

    /// Go's `.999…`: the first `digits` digits of the fraction without trailing zeros, and no dot
    /// at all when nothing is left.
    static func fraction(_ nanos: Int32, digits: Int) -> String {
        var v = Int(nanos)
        for _ in 0..<(9 - digits) { v /= 10 }
        guard v > 0 else { return "" }
        var s = String(v)
        s = String(repeating: "0", count: digits - s.count) + s
        while s.hasSuffix("0") { s.removeLast() }
        return "." + s
    }

    func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    static func civil(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
