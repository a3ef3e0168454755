// Address allocation for pods and Services.
import ClusterAPI
import PolicyAPI
import Testing

@Suite("IP allocation")
struct IPAllocatorTests {
    @Test("addresses come in order, skip network, broadcast and reserved ones, and are reused after release")
    func allocates() throws {
        var a = try #require(IPAllocator(prefix: IPPrefix("10.96.0.0/29")!, reserved: [IPAddress("10.96.0.2")!]))
        let got = (0..<5).compactMap { _ in a.allocate()?.description }
        #expect(got == ["10.96.0.1", "10.96.0.3", "10.96.0.4", "10.96.0.5", "10.96.0.6"])
        #expect(a.allocate() == nil, "a /29 has six host addresses, one reserved")
        a.release(IPAddress("10.96.0.4")!)
        #expect(a.allocate()?.description == "10.96.0.4")
    }

    @Test("claiming restores state: taken, outside, network and broadcast addresses are refused")
    func claims() throws {
        var a = try #require(IPAllocator(prefix: IPPrefix("10.244.0.0/24")!))
        let first = a.claim(IPAddress("10.244.0.7")!)
        let again = a.claim(IPAddress("10.244.0.7")!)
        let outside = a.claim(IPAddress("10.245.0.7")!)
        let network = a.claim(IPAddress("10.244.0.0")!)
        let broadcast = a.claim(IPAddress("10.244.0.255")!)
        #expect(first && !again && !outside && !network && !broadcast)
        #expect(IPAllocator(prefix: IPPrefix("fd00::/64")!) == nil, "IPv4 only")
    }
}
