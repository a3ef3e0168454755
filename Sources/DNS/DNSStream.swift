// DNS over TCP (RFC 1035 §4.2.2): each message after its two-byte length. Shared by Porin's DNS
// server and the DNS proxy; every read has a deadline, so a silent peer cannot hold a thread.
import Glibc

public enum DNSStream {
    /// Reads exactly `n` bytes, each wait for more at most until `deadline` (monotonic seconds);
    /// nil on end of stream, error or timeout.
    public static func readFully(_ s: Int32, _ n: Int, deadline: Double) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let left = deadline - monotonic()
            guard left > 0 else { return nil }
            var p = pollfd(fd: s, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left * 1000, 1e9)) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            let r = out.withUnsafeMutableBytes { recv(s, $0.baseAddress! + got, n - got, 0) }
            if r < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard r > 0 else { return nil }
            got += r
        }
        return out
    }

    public static func monotonic() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// A DNS-over-TCP message: two length bytes, then the message, which must be at least a
    /// header (12 bytes) long and arrive within `timeout` seconds.
    public static func readMessage(_ s: Int32, timeout: Double) -> [UInt8]? {
        let deadline = monotonic() + timeout
        guard let h = readFully(s, 2, deadline: deadline) else { return nil }
        let n = Int(h[0]) << 8 | Int(h[1])
        guard n >= 12 else { return nil }
        return readFully(s, n, deadline: deadline)
    }

    public static func writeMessage(_ s: Int32, _ m: [UInt8]) -> Bool {
        guard m.count <= 65535 else { return false }
        let out = [UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m
        var sent = 0
        while sent < out.count {
            let r = out.withUnsafeBytes { Glibc.send(s, $0.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL)) }
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { return false }
            sent += r
        }
        return true
    }
}
