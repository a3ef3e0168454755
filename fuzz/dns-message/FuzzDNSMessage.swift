// libFuzzer entry point for the DNS message parser (Sources/DNS) and for what the DNS proxy does
// with every message it parses (Sources/DNSProxy, Sources/PolicyEngine/FQDNPattern.swift): the
// proxy and Porin's DNS server run the parser on every packet a pod sends. Any input must parse
// or throw: never crash, never hang; whatever parses must encode, and the encoding must parse
// again; then ProxyChecks.swift takes the message through the proxy's own steps.
// Built and run by scripts/fuzz-dns.sh (outside the package: SwiftPM never builds it).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let message = try? DNSMessage(parsing: bytes) else { return 0 }
    let again = message.encoded()
    guard (try? DNSMessage(parsing: again)) != nil else { fatalError("an encoded message does not parse: \(again)") }
    checkProxyHandling(message)
    return 0
}
