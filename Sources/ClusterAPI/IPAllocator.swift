// Address allocation for pods (from the node's pod CIDR) and Services (from the Service CIDR).
import PolicyAPI

public struct IPAllocator: Sendable {
    public let prefix: IPPrefix
    private var used: Set<UInt32> = []
    private var next: UInt32
    private let first: UInt32
    private let last: UInt32

    /// An IPv4 range; `reserved` addresses (e.g. kube-dns's 10.96.0.10) are never handed out by
    /// `allocate`. Network and broadcast addresses are skipped.
    public init?(prefix: IPPrefix, reserved: [IPAddress] = []) {
        guard prefix.isIPv4, prefix.length <= 30 else { return nil }
        self.prefix = prefix
        first = prefix.address.v4
        last = first | ~(~UInt32(0) << UInt32(32 - prefix.length))
        used = Set(reserved.map(\.v4))
        next = first + 1
    }

    /// The next free address (in order, wrapping around), or nil when the range is full.
    public mutating func allocate() -> IPAddress? {
        for _ in 0..<(last - first - 1) {
            let candidate = next
            next = next + 1 >= last ? first + 1 : next + 1
            if used.insert(candidate).inserted { return IPAddress(v4: candidate) }
        }
        return nil
    }

    /// Marks a specific address as taken (restoring state after a restart); false if it was
    /// taken or is outside the range.
    @discardableResult
    public mutating func claim(_ a: IPAddress) -> Bool {
        guard prefix.contains(a), a.v4 != first, a.v4 != last else { return false }
        return used.insert(a.v4).inserted
    }

    public mutating func release(_ a: IPAddress) { used.remove(a.v4) }
}
