// `porin-bench flows`: datapath events turned into Hubble flows per second on one core (the
// agent's parser: packet decoding, endpoint lookup, flow fields, into the ring buffer).
import Agent
import Datapath
import DatapathABI
import Foundation
import Hubble

enum FlowBench {
    static func run() {
        var dir = EndpointDirectory()
        let labels = ["k8s:app=frontend-service", "k8s:io.kubernetes.pod.namespace=tenant-a", "k8s:io.cilium.k8s.policy.cluster=default"]
        for i in 0..<200 {
            dir.byIP[0x0AF4_0000 + UInt32(i)] = .init(endpointID: UInt32(i + 1), identity: 256 + UInt32(i), namespace: "tenant-a", pod: "pod-\(i)",
                                                      labels: labels, workloads: [Workload(name: "app", kind: "Deployment")])
        }
        // A TCP SYN between two pods, from its Ethernet header on.
        func packet(_ s: UInt32, _ d: UInt32) -> [UInt8] {
            var p = [UInt8](repeating: 0, count: 54)
            p[12] = 0x08; p[13] = 0x00; p[14] = 0x45; p[23] = 6
            for k in 0..<4 {
                let shift = UInt32(24 - 8 * k)
                p[26 + k] = UInt8((s >> shift) & 0xFF)
                p[30 + k] = UInt8((d >> shift) & 0xFF)
            }
            p[34] = 0xA0; p[35] = 0x00; p[36] = 0x00; p[37] = 80; p[47] = 0x02
            return p
        }
        var events: [DatapathEvent] = []
        for i in 0..<1024 {
            let a = UInt32(i % 200), b = UInt32((i + 7) % 200)
            let type = UInt8(i % 3 == 0 ? PORIN_EVENT_POLICY_VERDICT : PORIN_EVENT_TRACE)
            events.append(DatapathEvent(type: type, subtype: 0, endpointID: UInt16(a + 1), sourceIdentity: 256 + a, destinationIdentity: 256 + b,
                                        verdictFlags: 2 | (2 << 3), kernelTimeNanoseconds: UInt64(i) * 1000,
                                        packet: packet(0x0AF4_0000 + a, 0x0AF4_0000 + b)))
        }
        let builder = FlowBuilder(nodeName: "bench")
        let ring = FlowRing(capacity: 4095)
        var best = 0.0
        for _ in 0..<3 {
            let n = 1_000_000
            let t = clock.measure {
                for i in 0..<n { ring.append(builder.record(events[i & 1023], dir)) }
            }
            best = max(best, Double(n) / (ms(t) / 1000))
        }
        print(String(format: "flows: datapath events turned into flows (into the ring buffer), one core: %.0f/s (best of 3 × 1,000,000; target ≥ 1,000,000)", best))
    }
}
