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
        let days = Int(floorDiv(t.seconds, 86400))
        let secOfDay = Int(t.seconds - Int64(days) * 86400)
        let (y, m, d) = Self.civil(days)
        let h = secOfDay / 3600, mi = secOfDay % 3600 / 60, s = secOfDay % 60
        func p2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        func p4(_ v: Int) -> String { String(repeating: "0", count: max(0, 4 - String(v).count)) + String(v) }
        let date = "\(p4(y))-\(p2(m))-\(p2(d))"
        let clock = "\(p2(h)):\(p2(mi)):\(p2(s))"
        switch self {
        case .stampMilli:
            let ms = Int(t.nanos) / 1_000_000
            let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
            return "\(Self.months[m - 1]) \(d < 10 ? " \(d)" : "\(d)") \(clock).\(msText)"
        case .yearMonthDay: return date
        case .yearMonthDayHour: return "\(date)T\(p2(h))Z"
        case .yearMonthDayHourMinute: return "\(date)T\(p2(h)):\(p2(mi))Z"
        case .rfc3339: return "\(date)T\(clock)Z"
        case .rfc3339Milli: return "\(date)T\(clock)\(Self.fraction(t.nanos, digits: 3))Z"
        case .rfc3339Micro: return "\(date)T\(clock)\(Self.fraction(t.nanos, digits: 6))Z"
        case .rfc3339Nano: return "\(date)T\(clock)\(Self.fraction(t.nanos, digits: 9))Z"
        case .rfc1123Z:
            let wd = Self.weekdays[((days % 7) + 7) % 7]
            return "\(wd), \(p2(d)) \(Self.months[m - 1]) \(p4(y)) \(clock) +0000"
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
