// A small netperf: TCP request/response (TCP_RR) and connect/request/response/close (TCP_CRR)
// over loopback-free paths between namespaces. Server and client are this same binary, started
// inside the namespaces with `ip netns exec` and pinned with `taskset`.
import Foundation
import Glibc

enum NetPerf {
    static func fail(_ s: String) -> Never {
        FileHandle.standardError.write(Data("netperf: \(s): \(String(cString: strerror(errno)))\n".utf8))
        exit(2)
    }

    static func address(_ host: String, _ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &a.sin_addr)
        return a
    }

    /// Accepts connections forever; each answers every byte it reads with one byte.
    static func server(host: String, port: UInt16) -> Never {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = address(host, port)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 { fail("bind") }
        listen(s, 1024)
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        while true {
            let c = accept(s, nil, nil)
            if c < 0 { continue }
            setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            Thread.detachNewThread {
                var b: UInt8 = 0
                while recv(c, &b, 1, 0) == 1 { _ = send(c, &b, 1, 0) }
                close(c)
            }
        }
    }

    static func connectTo(_ host: String, _ port: UInt16) -> Int32 {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = address(host, port)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 { fail("connect to \(host):\(port)") }
        return s
    }

    /// Transactions per second of one-byte request/response on one connection.
    static func rr(host: String, port: UInt16, seconds: Double) -> Double {
        let s = connectTo(host, port)
        var b: UInt8 = 1
        var n = 0
        let end = Date().addingTimeInterval(seconds)
        let start = Date()
        while true {
            if send(s, &b, 1, 0) != 1 || recv(s, &b, 1, 0) != 1 { fail("rr") }
            n += 1
            if n & 255 == 0 && Date() >= end { break }
        }
        close(s)
        return Double(n) / Date().timeIntervalSince(start)
    }

    /// New connections per second, each with one request/response.
    static func crr(host: String, port: UInt16, seconds: Double) -> Double {
        var n = 0
        let end = Date().addingTimeInterval(seconds)
        let start = Date()
        var b: UInt8 = 1
        while Date() < end {
            let s = connectTo(host, port)
            if send(s, &b, 1, 0) != 1 || recv(s, &b, 1, 0) != 1 { fail("crr") }
            // RST instead of FIN/TIME_WAIT, so that ports do not run out during the run.
            var l = linger(l_onoff: 1, l_linger: 0)
            setsockopt(s, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
            close(s)
            n += 1
        }
        return Double(n) / Date().timeIntervalSince(start)
    }
}
