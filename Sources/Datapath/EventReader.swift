// Reads datapath events from the BPF ring buffer, in batches (one wakeup drains many records).
import CLibBPF
import DatapathABI
import Foundation

/// One decoded `porin_event`.
public struct DatapathEvent: Sendable, Hashable {
    public var type: UInt8
    public var subtype: UInt8
    public var endpointID: UInt16
    public var sourceIdentity: UInt32
    public var destinationIdentity: UInt32
    public var ifindex: UInt32
    public var verdictFlags: UInt8
    public var traceReason: UInt8
    public var proxyPort: UInt16
    public var verdict: Int32
    public var entryID: UInt32
    public var originalLength: UInt32
    public var kernelTimeNanoseconds: UInt64
    /// The first bytes of the packet, from its Ethernet header.
    public var packet: [UInt8]

    public var isIngress: Bool { verdictFlags & 3 == 1 }
    public var matchType: UInt8 { (verdictFlags >> 3) & 7 }

    /// An event as the datapath would report it (benchmarks and tests of flow building).
    public init(type: UInt8, subtype: UInt8, endpointID: UInt16, sourceIdentity: UInt32, destinationIdentity: UInt32, ifindex: UInt32 = 0,
                verdictFlags: UInt8 = 0, traceReason: UInt8 = 0, proxyPort: UInt16 = 0, verdict: Int32 = 0, entryID: UInt32 = 0,
                kernelTimeNanoseconds: UInt64 = 0, packet: [UInt8]) {
        self.type = type
        self.subtype = subtype
        self.endpointID = endpointID
        self.sourceIdentity = sourceIdentity
        self.destinationIdentity = destinationIdentity
        self.ifindex = ifindex
        self.verdictFlags = verdictFlags
        self.traceReason = traceReason
        self.proxyPort = proxyPort
        self.verdict = verdict
        self.entryID = entryID
        originalLength = UInt32(packet.count)
        self.kernelTimeNanoseconds = kernelTimeNanoseconds
        self.packet = packet
    }

    init(_ e: porin_event) {
        type = e.type
        subtype = e.subtype
        endpointID = e.endpoint_id
        sourceIdentity = e.src_identity
        destinationIdentity = e.dst_identity
        ifindex = e.ifindex
        verdictFlags = e.verdict_flags
        traceReason = e.trace_reason
        proxyPort = e.proxy_port
        verdict = e.verdict
        entryID = e.entry_id
        originalLength = e.orig_len
        kernelTimeNanoseconds = e.ktime_ns
        var copy = e
        let n = Int(min(e.cap_len, UInt16(PORIN_EVENT_CAPTURE)))
        packet = withUnsafeBytes(of: &copy.data) { Array($0.prefix(n)) }
    }
}

/// Drains the ring buffer into a handler. `poll` blocks up to `timeout` and returns how many
/// events it delivered.
public final class EventReader: @unchecked Sendable {
    private var ring: OpaquePointer?
    private let box: HandlerBox

    final class HandlerBox {
        let handler: (DatapathEvent) -> Void
        init(_ h: @escaping (DatapathEvent) -> Void) { handler = h }
    }

    public init(map: BPFMap, handler: @escaping (DatapathEvent) -> Void) throws {
        box = HandlerBox(handler)
        let ctx = Unmanaged.passUnretained(box).toOpaque()
        ring = ring_buffer__new(map.fd, { ctx, data, size in
            guard let ctx, let data, size >= MemoryLayout<porin_event>.size else { return 0 }
            let box = Unmanaged<EventReader.HandlerBox>.fromOpaque(ctx).takeUnretainedValue()
            box.handler(DatapathEvent(data.assumingMemoryBound(to: porin_event.self).pointee))
            return 0
        }, ctx, nil)
        guard ring != nil else { throw DatapathError("cannot open the event ring buffer") }
    }

    @discardableResult
    public func poll(timeoutMilliseconds: Int32) -> Int32 { ring_buffer__poll(ring, timeoutMilliseconds) }

    /// Reads whatever is there without waiting.
    @discardableResult
    public func drain() -> Int32 { ring_buffer__consume(ring) }

    deinit { ring_buffer__free(ring) }
}
