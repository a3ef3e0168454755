// Receiving many UDP datagrams per system call (`recvmmsg`): under load the proxy's threads
// take every query or answer already queued at one wake-up instead of one each.
import CProcessShim
import Glibc

final class DatagramBatch {
    let count: Int
    let size: Int
    private let buffers: UnsafeMutableRawPointer
    private let controls: UnsafeMutableRawPointer
    private let peers: UnsafeMutablePointer<sockaddr_in>
    private let iovecs: UnsafeMutablePointer<iovec>
    private let headers: UnsafeMutablePointer<msghdr>
    private let lengths: UnsafeMutablePointer<UInt32>
    static let controlSize = 64

    /// `count` datagrams of up to `size` bytes each (a DNS message over UDP is at most 65,535).
    init(count: Int = 32, size: Int = 65536) {
        precondition(count <= 64, "porin_recv_batch takes at most 64")
        self.count = count
        self.size = size
        buffers = .allocate(byteCount: count * size, alignment: 16)
        controls = .allocate(byteCount: count * Self.controlSize, alignment: 16)
        peers = .allocate(capacity: count)
        iovecs = .allocate(capacity: count)
        headers = .allocate(capacity: count)
        lengths = .allocate(capacity: count)
        for i in 0..<count { iovecs[i] = iovec(iov_base: buffers + i * size, iov_len: size) }
    }

    deinit {
        buffers.deallocate()
        controls.deallocate()
        peers.deallocate()
        iovecs.deallocate()
        headers.deallocate()
        lengths.deallocate()
    }

    /// Waits for at least one datagram and takes what else is queued; returns how many (0 on
    /// an interrupted or failed call).
    func receive(_ fd: Int32, withControl: Bool) -> Int {
        for i in 0..<count {
            let m = msghdr(msg_name: UnsafeMutableRawPointer(peers + i), msg_namelen: socklen_t(MemoryLayout<sockaddr_in>.size),
                           msg_iov: iovecs + i, msg_iovlen: 1,
                           msg_control: withControl ? controls + i * Self.controlSize : nil,
                           msg_controllen: withControl ? Self.controlSize : 0, msg_flags: 0)
            headers[i] = m
        }
        return max(0, Int(porin_recv_batch(fd, headers, lengths, UInt32(count))))
    }

    func bytes(_ i: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: buffers + i * size, count: Int(lengths[i])))
    }

    func peer(_ i: Int) -> sockaddr_in { peers[i] }

    func control(_ i: Int) -> (UnsafeMutableRawBufferPointer, Int) {
        (UnsafeMutableRawBufferPointer(start: controls + i * Self.controlSize, count: Self.controlSize), Int(headers[i].msg_controllen))
    }
}
