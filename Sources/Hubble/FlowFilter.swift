// Hubble's FlowFilter (flow.proto) and how the Hubble server applies it (reference §6.2, §6.3,
// cilium pkg/hubble/filters): inside one FlowFilter every populated field must match (AND),
// within a field any value may match (OR); a flow passes a request iff the allowlist is empty or
// one of its filters matches, and no denylist filter matches. Lost events bypass the filters.
//
// `validate()` reproduces the errors the server returns when it builds the filters (bad ports,
// unknown protocols, bad CIDRs, label selectors, patterns…); `json` renders a filter exactly as
// `hubble observe --print-raw-filters` prints it (protojson with proto names, fields in .proto
// order, through Go's json.Marshal: compact, `<>&` escaped); `FlowFilter.decode` reads the JSON
// of `--allowlist`/`--denylist` (proto or lowerCamel names, enums by name or number).

public struct FlowFilterError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct FlowFilter: Sendable, Equatable {
    /// `EventTypeFilter`: a monitor message type (0 = any) and, when `matchSubType`, its sub type.
    public struct EventType: Sendable, Equatable {
        public var type: Int32
        public var matchSubType: Bool
        public var subType: Int32
        public init(type: Int32, matchSubType: Bool = false, subType: Int32 = 0) {
            self.type = type
            self.matchSubType = matchSubType
            self.subType = subType
        }
    }

    /// `NetworkInterface`: index 0 and empty name match any.
    public struct Interface: Sendable, Equatable {
        public var index: UInt32
        public var name: String
        public init(index: UInt32 = 0, name: String = "") {
            self.index = index
            self.name = name
        }
    }

    public struct HTTPHeader: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public var uuid: [String] = []
    public var sourceIP: [String] = []
    public var sourceIPXlated: [String] = []
    public var sourcePod: [String] = []
    public var sourceFQDN: [String] = []
    public var sourceLabel: [String] = []
    public var sourceService: [String] = []
    public var sourceWorkload: [Workload] = []
    public var sourceClusterName: [String] = []
    public var destinationIP: [String] = []
    public var destinationPod: [String] = []
    public var destinationFQDN: [String] = []
    public var destinationLabel: [String] = []
    public var destinationService: [String] = []
    public var destinationWorkload: [Workload] = []
    public var destinationClusterName: [String] = []
    /// TrafficDirection numbers (1 INGRESS, 2 EGRESS).
    public var trafficDirection: [Int] = []
    /// Verdict numbers (HubbleEnums.verdicts).
    public var verdict: [Int] = []
    /// DropReason numbers.
    public var dropReasonDesc: [Int] = []
    public var interface: [Interface] = []
    public var eventType: [EventType] = []
    public var httpStatusCode: [String] = []
    /// `protocol` (a Swift keyword, hence the plural).
    public var protocols: [String] = []
    public var sourcePort: [String] = []
    public var destinationPort: [String] = []
    public var reply: [Bool] = []
    public var dnsQuery: [String] = []
    public var sourceIdentity: [UInt32] = []
    public var destinationIdentity: [UInt32] = []
    public var httpMethod: [String] = []
    public var httpPath: [String] = []
    public var httpURL: [String] = []
    public var httpHeader: [HTTPHeader] = []
    public var tcpFlags: [TCPFlags] = []
    public var nodeName: [String] = []
    public var nodeLabels: [String] = []
    /// IPVersion numbers (1 IPv4, 2 IPv6, 0 not IP).
    public var ipVersion: [Int] = []
    public var traceID: [String] = []
    public var ipTraceID: [UInt64] = []
    public var encrypted: [Bool] = []
    /// `experimental.cel_expression`: kept for --print-raw-filters; porin does not evaluate CEL.
    public var celExpression: [String] = []

    public init() {}

    public var isEmpty: Bool { self == FlowFilter() }

    public static func == (a: FlowFilter, b: FlowFilter) -> Bool {
        a.uuid == b.uuid && a.sourceIP == b.sourceIP && a.sourceIPXlated == b.sourceIPXlated && a.sourcePod == b.sourcePod
            && a.sourceFQDN == b.sourceFQDN && a.sourceLabel == b.sourceLabel && a.sourceService == b.sourceService
            && a.sourceWorkload == b.sourceWorkload && a.sourceClusterName == b.sourceClusterName
            && a.destinationIP == b.destinationIP && a.destinationPod == b.destinationPod && a.destinationFQDN == b.destinationFQDN
            && a.destinationLabel == b.destinationLabel && a.destinationService == b.destinationService
            && a.destinationWorkload == b.destinationWorkload && a.destinationClusterName == b.destinationClusterName
            && a.trafficDirection == b.trafficDirection && a.verdict == b.verdict && a.dropReasonDesc == b.dropReasonDesc
            && a.interface == b.interface && a.eventType == b.eventType && a.httpStatusCode == b.httpStatusCode
            && a.protocols == b.protocols && a.sourcePort == b.sourcePort && a.destinationPort == b.destinationPort
            && a.reply == b.reply && a.dnsQuery == b.dnsQuery && a.sourceIdentity == b.sourceIdentity
            && a.destinationIdentity == b.destinationIdentity && a.httpMethod == b.httpMethod && a.httpPath == b.httpPath
            && a.httpURL == b.httpURL && a.httpHeader == b.httpHeader && a.tcpFlags == b.tcpFlags && a.nodeName == b.nodeName
            && a.nodeLabels == b.nodeLabels && a.ipVersion == b.ipVersion && a.traceID == b.traceID && a.ipTraceID == b.ipTraceID
            && a.encrypted == b.encrypted && a.celExpression == b.celExpression
    }
}

/// A request's filters: the allowlist (`whitelist`) and the denylist (`blacklist`).
public struct FlowFilters: Sendable, Equatable {
    public var allowlist: [FlowFilter]
    public var denylist: [FlowFilter]
    public init(allowlist: [FlowFilter] = [], denylist: [FlowFilter] = []) {
        self.allowlist = allowlist
        self.denylist = denylist
    }

    public var isEmpty: Bool { allowlist.isEmpty && denylist.isEmpty }

    /// Hubble's `filters.Apply`: lost events always pass. (This compiles the filters for one
    /// record; to filter many, use `matcher()` once.)
    public func admits(_ r: FlowRecord) -> Bool { matcher().admits(r) }

    public func admits(_ f: Flow, nodeName: String = "") -> Bool { matcher().admits(f, nodeName: nodeName) }

    /// The filters with their selectors, patterns, networks and regular expressions parsed once,
    /// for filtering a stream.
    public func matcher() -> FlowFilterMatcher { FlowFilterMatcher(self) }

    /// The errors the server returns when it builds these filters (allowlist first).
    public func validate() throws(FlowFilterError) {
        for f in allowlist { try f.validate() }
        for f in denylist { try f.validate() }
    }
}

/// Compiled `FlowFilters`. Not Sendable (Swift's Regex is not): make one per task.
public struct FlowFilterMatcher {
    let allow: [CompiledFlowFilter]
    let deny: [CompiledFlowFilter]

    public init(_ filters: FlowFilters) {
        allow = filters.allowlist.map(CompiledFlowFilter.init)
        deny = filters.denylist.map(CompiledFlowFilter.init)
    }

    public func admits(_ r: FlowRecord) -> Bool {
        switch r {
        case .lostEvents: return true
        case let .flow(f, node, _): return admits(f, nodeName: node)
        }
    }

    public func admits(_ f: Flow, nodeName: String = "") -> Bool {
        (allow.isEmpty || allow.contains { $0.matches(f, nodeName: nodeName) }) && !deny.contains { $0.matches(f, nodeName: nodeName) }
    }
}

// MARK: - Matching

extension FlowFilter {
    /// Whether `f` matches every populated field. `nodeName` is the response's node name, used
    /// when the flow itself carries none. Values the server would refuse (see `validate()`)
    /// match nothing.
    public func matches(_ f: Flow, nodeName: String = "") -> Bool { CompiledFlowFilter(self).matches(f, nodeName: nodeName) }
}

/// A FlowFilter with its values parsed (pkg/hubble/filters' OnBuildFilter), ready to match. A
/// class: matching reads it through an array, and a struct of two dozen arrays and strings was
/// copied (retained and released field by field) for every flow.
final class CompiledFlowFilter {
    typealias NamespacedName = (ns: String, prefix: String)
    let f: FlowFilter
    let sourcePods: [NamespacedName], destinationPods: [NamespacedName]
    let sourceServices: [NamespacedName], destinationServices: [NamespacedName]
    let sourceIPs: FilterIPSet, destinationIPs: FilterIPSet, xlatedIPs: FilterIPSet
    let sourceFQDN: [FQDNPattern], destinationFQDN: [FQDNPattern]
    let sourceSelectors: [FlowLabelSelector], destinationSelectors: [FlowLabelSelector], nodeSelectors: [FlowLabelSelector]
    let sourcePorts: [UInt16], destinationPorts: [UInt16]
    let nodePatterns: [NodeNamePattern]
    let httpPaths: [Regex<AnyRegexOutput>], httpURLs: [Regex<AnyRegexOutput>], dnsQueries: [Regex<AnyRegexOutput>]
    let protocols: Set<String>
    let http: Bool

    init(_ f: FlowFilter) {
        self.f = f
        func names(_ list: [String]) -> [NamespacedName] {
            list.compactMap { v in v.isEmpty ? nil : CompiledFlowFilter.parseNamespaceName(v) }
        }
        sourcePods = names(f.sourcePod)
        destinationPods = names(f.destinationPod)
        sourceServices = names(f.sourceService)
        destinationServices = names(f.destinationService)
        sourceIPs = FilterIPSet(f.sourceIP)
        destinationIPs = FilterIPSet(f.destinationIP)
        xlatedIPs = FilterIPSet(f.sourceIPXlated)
        sourceFQDN = f.sourceFQDN.compactMap { try? FQDNPattern($0) }
        destinationFQDN = f.destinationFQDN.compactMap { try? FQDNPattern($0) }
        sourceSelectors = f.sourceLabel.compactMap { try? FlowLabelSelector($0) }
        destinationSelectors = f.destinationLabel.compactMap { try? FlowLabelSelector($0) }
        nodeSelectors = f.nodeLabels.compactMap { try? FlowLabelSelector($0) }
        sourcePorts = f.sourcePort.compactMap { UInt16($0) }
        destinationPorts = f.destinationPort.compactMap { UInt16($0) }
        nodePatterns = f.nodeName.compactMap { try? NodeNamePattern($0) }
        httpPaths = f.httpPath.compactMap { try? Regex($0) }
        httpURLs = f.httpURL.compactMap { try? Regex($0) }
        dnsQueries = f.dnsQuery.compactMap { try? Regex($0) }
        protocols = Set(f.protocols.map { $0.lowercased() })
        http = !f.httpStatusCode.isEmpty || !f.httpMethod.isEmpty || !f.httpPath.isEmpty || !f.httpURL.isEmpty || !f.httpHeader.isEmpty
    }

    func matches(_ fl: Flow, nodeName: String) -> Bool {
        if !f.uuid.isEmpty, !f.uuid.contains(fl.uuid) { return false }
        if !f.verdict.isEmpty, !f.verdict.contains(fl.verdict) { return false }
        if !f.dropReasonDesc.isEmpty, fl.verdict != 2 || !f.dropReasonDesc.contains(fl.dropReasonDesc) { return false }
        if !f.trafficDirection.isEmpty, !f.trafficDirection.contains(fl.trafficDirection) { return false }
        if !f.eventType.isEmpty {
            guard let e = fl.eventType else { return false }
            let hit = f.eventType.contains { t in
                (t.type == 0 || t.type == e.type) && (!t.matchSubType || t.subType == e.subType)
            }
            if !hit { return false }
        }
        if !f.reply.isEmpty {
            // Dropped flows without is_reply count as non-replies (older clients' `reply`).
            if fl.isReply == nil && fl.verdict != 2 { return false }
            if !f.reply.contains(fl.isReply ?? false) { return false }
        }
        if !f.sourceIdentity.isEmpty {
            guard let e = fl.source, f.sourceIdentity.contains(e.identity) else { return false }
        }
        if !f.destinationIdentity.isEmpty {
            guard let e = fl.destination, f.destinationIdentity.contains(e.identity) else { return false }
        }
        if !protocols.isEmpty, !matchProtocol(fl) { return false }
        if !f.sourceIP.isEmpty, !sourceIPs.matches(fl.ip?.source ?? "") { return false }
        if !f.destinationIP.isEmpty, !destinationIPs.matches(fl.ip?.destination ?? "") { return false }
        if !f.sourceIPXlated.isEmpty, !xlatedIPs.matches(fl.ip?.sourceXlated ?? "") { return false }
        if !f.sourcePod.isEmpty, !Self.match(sourcePods, ns: fl.source?.namespace ?? "", name: fl.source?.podName ?? "") { return false }
        if !f.destinationPod.isEmpty,
            !Self.match(destinationPods, ns: fl.destination?.namespace ?? "", name: fl.destination?.podName ?? "")
        {
            return false
        }
        if !f.sourceWorkload.isEmpty, !Self.match(f.sourceWorkload, fl.source?.workloads ?? []) { return false }
        if !f.destinationWorkload.isEmpty, !Self.match(f.destinationWorkload, fl.destination?.workloads ?? []) { return false }
        if !f.sourceService.isEmpty,
            !Self.match(sourceServices, ns: fl.sourceService?.namespace ?? "", name: fl.sourceService?.name ?? "")
        {
            return false
        }
        if !f.destinationService.isEmpty,
            !Self.match(destinationServices, ns: fl.destinationService?.namespace ?? "", name: fl.destinationService?.name ?? "")
        {
            return false
        }
        if !f.sourceClusterName.isEmpty, !f.sourceClusterName.contains(fl.source?.clusterName ?? "") { return false }
        if !f.destinationClusterName.isEmpty, !f.destinationClusterName.contains(fl.destination?.clusterName ?? "") { return false }
        if !f.sourceFQDN.isEmpty, !fl.sourceNames.contains(where: { n in sourceFQDN.contains { $0.matches(n) } }) { return false }
        if !f.destinationFQDN.isEmpty, !fl.destinationNames.contains(where: { n in destinationFQDN.contains { $0.matches(n) } }) {
            return false
        }
        if !f.sourceLabel.isEmpty, !Self.match(sourceSelectors, fl.source?.labels ?? []) { return false }
        if !f.destinationLabel.isEmpty, !Self.match(destinationSelectors, fl.destination?.labels ?? []) { return false }
        if !f.nodeLabels.isEmpty, !Self.match(nodeSelectors, fl.nodeLabels) { return false }
        if !f.sourcePort.isEmpty {
            guard let p = fl.l4?.ports, sourcePorts.contains(UInt16(truncatingIfNeeded: p.source)) else { return false }
        }
        if !f.destinationPort.isEmpty {
            guard let p = fl.l4?.ports, destinationPorts.contains(UInt16(truncatingIfNeeded: p.destination)) else { return false }
        }
        if !f.tcpFlags.isEmpty {
            guard case let .tcp(_, _, flags?) = fl.l4 else { return false }
            let hit = f.tcpFlags.contains { w in
                !(w.fin && !flags.fin || w.syn && !flags.syn || w.rst && !flags.rst || w.psh && !flags.psh || w.ack && !flags.ack
                    || w.urg && !flags.urg || w.ece && !flags.ece || w.cwr && !flags.cwr || w.ns && !flags.ns)
            }
            if !hit { return false }
        }
        if !f.nodeName.isEmpty {
            let node = fl.nodeName.isEmpty ? nodeName : fl.nodeName
            if node.isEmpty { return false }
            // Node names always carry a cluster name.
            let full = node.contains("/") ? node : "default/" + node
            if !nodePatterns.contains(where: { $0.matches(full) }) { return false }
        }
        if !f.ipVersion.isEmpty, !f.ipVersion.contains(fl.ip?.ipVersion ?? 0) { return false }
        if !f.encrypted.isEmpty, !f.encrypted.contains(fl.ip?.encrypted ?? false) { return false }
        if !f.traceID.isEmpty, !f.traceID.contains(fl.traceID) { return false }
        if !f.ipTraceID.isEmpty, fl.ipTraceID == 0 || !f.ipTraceID.contains(fl.ipTraceID) { return false }
        if !f.interface.isEmpty {
            guard let i = fl.interface else { return false }
            let hit = f.interface.contains { w in (w.index == 0 || w.index == i.index) && (w.name.isEmpty || w.name == i.name) }
            if !hit { return false }
        }
        if http {
            guard let h = fl.l7?.http else { return false }
            if !f.httpStatusCode.isEmpty, !Self.matchStatus(f.httpStatusCode, h.code) { return false }
            if !f.httpMethod.isEmpty {
                if h.method.isEmpty { return false }
                let method = h.method.lowercased()
                if !f.httpMethod.contains(where: { $0.lowercased() == method }) { return false }
            }
            if !f.httpPath.isEmpty {
                guard !h.url.isEmpty, let path = Self.requestURIPath(h.url) else { return false }
                if !httpPaths.contains(where: { path.contains($0) }) { return false }
            }
            if !f.httpURL.isEmpty {
                if h.url.isEmpty || !httpURLs.contains(where: { h.url.contains($0) }) { return false }
            }
            if !f.httpHeader.isEmpty {
                let hit = h.headers.contains { hd in f.httpHeader.contains { $0.key == hd.key && $0.value == hd.value } }
                if !hit { return false }
            }
        }
        if !f.dnsQuery.isEmpty {
            guard let dns = fl.l7?.dns, dnsQueries.contains(where: { dns.query.contains($0) }) else { return false }
        }
        // CEL expressions are not evaluated (validate() rejects them): nothing matches.
        if !f.celExpression.isEmpty { return false }
        return true
    }

    func matchProtocol(_ fl: Flow) -> Bool {
        switch fl.l4 {
        case .tcp?: if protocols.contains("tcp") { return true }
        case .udp?: if protocols.contains("udp") { return true }
        case .sctp?: if protocols.contains("sctp") { return true }
        case .icmpv4?: if protocols.contains("icmp") || protocols.contains("icmpv4") { return true }
        case .icmpv6?: if protocols.contains("icmp") || protocols.contains("icmpv6") { return true }
        case nil: break
        }
        // kafka, vrrp and igmp are not in porin's flow model.
        if protocols.contains("dns") && fl.l7?.dns != nil { return true }
        if protocols.contains("http") && fl.l7?.http != nil { return true }
        return false
    }

    /// `[namespace/][prefix]`: no `/` means namespace `default`; an empty namespace (`/x`, and
    /// `/` from --all-namespaces) means any namespace; endpoints with neither namespace nor name
    /// never match.
    static func match(_ filters: [NamespacedName], ns: String, name: String) -> Bool {
        if ns.isEmpty && name.isEmpty { return false }
        return filters.contains { f in (f.prefix.isEmpty || name.hasPrefix(f.prefix)) && (f.ns.isEmpty || f.ns == ns) }
    }

    static func parseNamespaceName(_ v: String) -> NamespacedName {
        let parts = v.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 { return (parts[0], parts[1]) }
        if parts[0].isEmpty { return ("", "") }
        return ("default", parts[0])
    }

    static func match(_ filters: [Workload], _ workloads: [Workload]) -> Bool {
        workloads.contains { w in filters.contains { ($0.name.isEmpty || $0.name == w.name) && ($0.kind.isEmpty || $0.kind == w.kind) } }
    }

    static func match(_ selectors: [FlowLabelSelector], _ labels: [String]) -> Bool {
        selectors.contains { $0.matches(labels) }
    }

    static func matchStatus(_ codes: [String], _ code: UInt32) -> Bool {
        if code == 0 { return false }
        var s = String(code)
        while s.count < 3 { s = "0" + s }
        for c in codes {
            if c.hasSuffix("+") {
                if s.hasPrefix(String(c.dropLast())) { return true }
            } else if c == s {
                return true
            }
        }
        return false
    }

    /// Go's `url.ParseRequestURI(u).Path`: an absolute URL or an absolute path, without the
    /// query, percent-decoded; nil when Go would fail.
    static func requestURIPath(_ u: String) -> String? {
        var rest = Substring(u)
        if let q = rest.firstIndex(of: "?") { rest = rest[..<q] }
        if rest.hasPrefix("/") { return percentDecode(rest) }
        guard let colon = rest.firstIndex(of: ":"), colon != rest.startIndex else { return nil }
        let scheme = rest[..<colon]
        guard let first = scheme.first, first.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
        else { return nil }
        var after = rest[rest.index(after: colon)...]
        guard after.hasPrefix("/") else { return "" }  // opaque
        if after.hasPrefix("//") {
            after = after.dropFirst(2)
            if let slash = after.firstIndex(of: "/") { return percentDecode(after[slash...]) }
            return ""
        }
        return percentDecode(after)
    }

    static func percentDecode(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Exact addresses (compared as written, as hubble does) and CIDRs.
struct FilterIPSet {
    let exact: Set<String>
    let networks: [FilterCIDR]
    init(_ values: [String]) {
        exact = Set(values.filter { !$0.contains("/") })
        networks = values.filter { $0.contains("/") }.compactMap(FilterCIDR.init)
    }
    func matches(_ ip: String) -> Bool {
        if ip.isEmpty { return false }
        if exact.contains(ip) { return true }
        guard !networks.isEmpty, let a = FilterIP(ip) else { return false }
        return networks.contains { $0.contains(a) }
    }
}

// MARK: - Validation (the server's OnBuildFilter errors)

extension FlowFilter {
    public func validate() throws(FlowFilterError) {
        // Protocol, IP, pod, service, FQDN, label, port, HTTP, node name: in the order of
        // pkg/hubble/filters.DefaultFilters.
        for p in protocols {
            switch p.lowercased() {
            case "icmp", "icmpv4", "icmpv6", "tcp", "udp", "sctp", "vrrp", "igmp", "dns", "http", "kafka": break
            default: throw FlowFilterError("invalid protocol filter: unknown protocol: \(GoSyntax.quote(p))")
            }
        }
        for list in [sourceIP, destinationIP, sourceIPXlated] {
            for ip in list {
                if ip.contains("/") {
                    if FilterCIDR(ip) == nil { throw FlowFilterError("invalid CIDR in filter: \(GoSyntax.quote(ip))") }
                } else if FilterIP(ip) == nil {
                    throw FlowFilterError("invalid IP address in filter: \(GoSyntax.quote(ip))")
                }
            }
        }
        for (list, wrap) in [(sourcePod, ""), (destinationPod, ""), (sourceService, "invalid source service filter: "),
                             (destinationService, "invalid destination service filter: ")]
        {
            for v in list where v.isEmpty {
                throw FlowFilterError("\(wrap)invalid filter, must be [namespace/][<name>], got \(GoSyntax.quote(v))")
            }
        }
        for list in [sourceFQDN, destinationFQDN] {
            for p in list { _ = try FQDNPattern(p) }
        }
        for q in dnsQuery where (try? Regex(q)) == nil {
            throw FlowFilterError("invalid DNS query filter: failed to compile regexp: error parsing regexp: \(GoSyntax.quote(q))")
        }
        for (list, what) in [(sourceLabel, "source label"), (destinationLabel, "destination label"), (nodeLabels, "node label")] {
            for s in list {
                do { _ = try FlowLabelSelector(s) } catch { throw FlowFilterError("invalid \(what) filter: \(error.message)") }
            }
        }
        for (list, what) in [(sourcePort, "source"), (destinationPort, "destination")] {
            for p in list {
                if let err = GoSyntax.parseUintError(p, bits: 16) {
                    throw FlowFilterError("invalid \(what) port filter: invalid port \(GoSyntax.quote(p)): \(err)")
                }
            }
        }
        let l7Compatible = eventType.isEmpty || eventType.contains { $0.type == 129 }
        func requireL7(_ list: [Any], _ what: String) throws(FlowFilterError) {
            if !list.isEmpty && !l7Compatible {
                throw FlowFilterError("filtering by \(what) requires the event type filter to only match 'l7' events")
            }
        }
        try requireL7(httpStatusCode, "http status code")
        for c in httpStatusCode {
            let digits = Array(c.utf8)
            let full = digits.count == 3 && (UInt8(ascii: "1")...UInt8(ascii: "5")).contains(digits[0])
                && digits[1...].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            let prefix = (digits.count == 2 || digits.count == 3) && digits.last == UInt8(ascii: "+")
                && (UInt8(ascii: "1")...UInt8(ascii: "5")).contains(digits[0])
                && (digits.count == 2 || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digits[1]))
            if !full && !prefix {
                throw FlowFilterError("invalid http status code filter: invalid status code prefix: \(GoSyntax.quote(c))")
            }
        }
        try requireL7(httpMethod, "http method")
        try requireL7(httpPath, "http path")
        for p in httpPath where (try? Regex(p)) == nil {
            throw FlowFilterError("invalid http path filter: \(p): error parsing regexp")
        }
        try requireL7(httpURL, "http url")
        for p in httpURL where (try? Regex(p)) == nil {
            throw FlowFilterError("invalid http url filter: \(p): error parsing regexp")
        }
        try requireL7(httpHeader, "http headers")
        for p in nodeName { _ = try NodeNamePattern(p) }
        for list in [sourceClusterName, destinationClusterName] where list.contains("") {
            throw FlowFilterError("invalid filter, name must not be empty")
        }
        if !celExpression.isEmpty { throw FlowFilterError("porin does not evaluate CEL expressions yet") }
    }
}

/// Go's syntax of numbers, durations, times and quoted strings, as hubble's messages show them.
public enum GoSyntax {
    /// Go's `%q` of a string (the common cases: quotes, backslashes, control characters).
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 || u.value == 0x7f {
                    let h = String(u.value, radix: 16)
                    out += "\\x" + (h.count < 2 ? "0" + h : h)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// The error `strconv.ParseUint(s, 10, bits)` returns, or nil when `s` parses.
    static func parseUintError(_ s: String, bits: Int) -> String? {
        let fn = "strconv.ParseUint: parsing \(GoSyntax.quote(s)): "
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return fn + "invalid syntax" }
        let max: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        guard let v = UInt64(s), v <= max else { return fn + "value out of range" }
        return nil
    }
}

// MARK: - Patterns

/// An FQDN pattern (`--fqdn`): lower-cased, one trailing dot dropped, `*` matching
/// `[-.0-9a-z]*`, anchored at both ends.
struct FQDNPattern {
    enum Token { case literal(UInt8), star }
    var tokens: [Token] = []

    init(_ raw: String) throws(FlowFilterError) {
        var p = raw.trimmingSpace()
        if p.hasSuffix(".") { p.removeLast() }
        p = p.lowercased()
        if p.isEmpty { throw FlowFilterError("empty pattern") }
        if p.hasSuffix(".") { throw FlowFilterError("multiple trailing dots in pattern") }
        for u in p.unicodeScalars {
            switch u {
            case "*": tokens.append(.star)
            case ".", "-", "_", "0"..."9", "a"..."z": tokens.append(.literal(UInt8(u.value)))
            default: throw FlowFilterError("'\(u)': invalid rune in pattern")
            }
        }
    }

    func matches(_ name: String) -> Bool { Self.glob(tokens[...], Array(name.utf8)[...]) }

    static func glob(_ p: ArraySlice<Token>, _ s: ArraySlice<UInt8>) -> Bool {
        guard let t = p.first else { return s.isEmpty }
        switch t {
        case let .literal(c):
            return s.first == c && glob(p.dropFirst(), s.dropFirst())
        case .star:
            var rest = s
            while true {
                if glob(p.dropFirst(), rest) { return true }
                guard let c = rest.first, starClass(c) else { return false }
                rest = rest.dropFirst()
            }
        }
    }

    static func starClass(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
    }
}

/// A node name pattern (`--node-name`): `[cluster/]node`, each part an FQDN pattern, an absent
/// or empty part matching any name.
struct NodeNamePattern {
    var cluster: FQDNPattern?
    var node: FQDNPattern?

    init(_ raw: String) throws(FlowFilterError) {
        if raw.isEmpty { throw FlowFilterError("empty pattern") }
        let parts = raw.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1: node = try FQDNPattern(parts[0])
        case 2:
            cluster = parts[0].isEmpty ? nil : try FQDNPattern(parts[0])
            node = parts[1].isEmpty ? nil : try FQDNPattern(parts[1])
        default: throw FlowFilterError("too many slashes in pattern")
        }
    }

    /// `name` is `cluster/node`.
    func matches(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return false }
        func part(_ p: FQDNPattern?, _ s: String) -> Bool { p.map { $0.matches(s) } ?? Self.anyName(s) }
        return part(cluster, parts[0]) && part(node, parts[1])
    }

    /// `[-0-9_a-z]+(\.[-0-9_a-z]+)*`
    static func anyName(_ s: String) -> Bool {
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { l in
            !l.isEmpty && l.utf8.allSatisfy { $0 == UInt8(ascii: "_") || FQDNPattern.starClass($0) && $0 != UInt8(ascii: ".") }
        }
    }
}

extension String {
    fileprivate func trimmingSpace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

// MARK: - IP addresses

/// An IPv4 or IPv6 address as Go's net.ParseIP reads it (IPv4-mapped IPv6 counts as IPv4).
struct FilterIP: Equatable {
    var bytes: [UInt8]  // 4 or 16
    var isV4: Bool { bytes.count == 4 }

    init?(_ s: String) {
        if s.contains(":") {
            guard let b = Self.parseV6(s) else { return nil }
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
                bytes = Array(b[12...])
            } else {
                bytes = b
            }
        } else {
            guard let b = Self.parseV4(Substring(s)) else { return nil }
            bytes = b
        }
    }

    static func parseV4(_ s: Substring) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), !(p.count > 1 && p.first == "0"),
                let v = Int(p), v <= 255
            else { return nil }
            out.append(UInt8(v))
        }
        return out
    }

    static func parseV6(_ s: String) -> [UInt8]? {
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawDouble = false
        var text = Substring(s)
        if text.hasPrefix("::") {
            sawDouble = true
            text = text.dropFirst(2)
        }
        var v4: [UInt8]?
        let groups = text.isEmpty ? [] : text.split(separator: ":", omittingEmptySubsequences: false)
        var i = 0
        while i < groups.count {
            let g = groups[i]
            if g.isEmpty {
                // "::" in the middle (or a trailing "::")
                guard !sawDouble else { return nil }
                sawDouble = true
                if i == groups.count - 2 && groups[i + 1].isEmpty { i += 2; continue }
                i += 1
                continue
            }
            if i == groups.count - 1, g.contains(".") {
                guard let b = parseV4(g) else { return nil }
                v4 = b
                i += 1
                continue
            }
            guard g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
            if sawDouble { tail.append(v) } else { head.append(v) }
            i += 1
        }
        var words = head.count + tail.count + (v4 == nil ? 0 : 2)
        if sawDouble {
            guard words < 8 else { return nil }
        } else {
            guard words == 8 else { return nil }
        }
        var out: [UInt8] = []
        for w in head { out += [UInt8(w >> 8), UInt8(w & 0xff)] }
        while words < 8 {
            out += [0, 0]
            words += 1
        }
        for w in tail { out += [UInt8(w >> 8), UInt8(w & 0xff)] }
        if let v4 { out += v4 }
        return out.count == 16 ? out : nil
    }
}

/// A CIDR as Go's net.ParseCIDR reads it.
struct FilterCIDR {
    var address: FilterIP
    var prefix: Int

    init?(_ s: String) {
        guard let slash = s.firstIndex(of: "/") else { return nil }
        let ipText = String(s[..<slash]), bitsText = s[s.index(after: slash)...]
        guard let ip = FilterIP(ipText), !bitsText.isEmpty, bitsText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let bits = Int(bitsText)
        else { return nil }
        // An IPv4-mapped IPv6 network keeps its 128-bit length in Go; porin counts it as IPv4.
        let v6Text = ipText.contains(":")
        let max = v6Text ? 128 : 32
        guard bits <= max else { return nil }
        address = ip
        prefix = v6Text && ip.isV4 ? Swift.max(0, bits - 96) : bits
    }

    func contains(_ ip: FilterIP) -> Bool {
        guard ip.bytes.count == address.bytes.count else { return false }
        var left = prefix
        for i in 0..<ip.bytes.count where left > 0 {
            let n = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - n))
            if ip.bytes[i] & mask != address.bytes[i] & mask { return false }
            left -= n
        }
        return true
    }
}

// MARK: - Label selectors

/// A Kubernetes label selector over Cilium labels (`source:key=value`), as Hubble's label
/// filters read it: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`, `k>1`,
/// `k<1`, comma-separated (all must hold). A key may name its source (`reserved:host`,
/// `k8s:app`); a key without one matches labels of any source.
public struct FlowLabelSelector: Sendable, Equatable {
    public enum Operator: String, Sendable {
        case equals = "=", doubleEquals = "==", notEquals = "!=", `in` = "in", notIn = "notin", exists = "exists",
            doesNotExist = "!", greaterThan = "gt", lessThan = "lt"
    }

    public struct Requirement: Sendable, Equatable {
        /// The label source (`any` when the selector names none).
        public var source: String
        public var key: String
        public var op: Operator
        public var values: [String]
        public init(source: String, key: String, op: Operator, values: [String]) {
            self.source = source
            self.key = key
            self.op = op
            self.values = values
        }
    }

    /// A flow's label: `source:key=value` (no source: `unspec`).
    public struct Label: Sendable, Equatable {
        public var source: String
        public var key: String
        public var value: String
        public init(_ s: String) {
            var rest = Substring(s)
            let eq = rest.firstIndex(of: "=")
            if let colon = rest.firstIndex(of: ":"), eq.map({ colon < $0 }) ?? true {
                source = String(rest[..<colon])
                rest = rest[rest.index(after: colon)...]
            } else {
                source = "unspec"
            }
            if let e = rest.firstIndex(of: "=") {
                key = String(rest[..<e])
                value = String(rest[rest.index(after: e)...])
            } else {
                key = String(rest)
                value = ""
            }
        }
    }

    public var requirements: [Requirement] = []

    public init(_ text: String) throws(FlowFilterError) {
        var lx = Lexer(Array(text.unicodeScalars))
        while true {
            let (tok, lit) = lx.peek()
            switch tok {
            case .identifier, .not:
                requirements.append(try Self.requirement(&lx))
                let (t, l) = lx.next()
                switch t {
                case .end: return
                case .comma:
                    let (t2, l2) = lx.peek()
                    if t2 != .identifier && t2 != .not { throw FlowFilterError("found '\(l2)', expected: identifier after ','") }
                default: throw FlowFilterError("found '\(l)', expected: ',' or 'end of string'")
                }
            case .end: return
            default: throw FlowFilterError("found '\(lit)', expected: !, identifier, or 'end of string'")
            }
        }
    }

    static func requirement(_ lx: inout Lexer) throws(FlowFilterError) -> Requirement {
        var (tok, lit) = lx.next()
        var op: Operator?
        if tok == .not {
            op = .doesNotExist
            (tok, lit) = lx.next()
        }
        guard tok == .identifier else { throw FlowFilterError("found '\(lit)', expected: identifier") }
        // Cilium's translation: `src:key` → `src.key`, a bare key → `any.key`; then k8s validation.
        let translated: String
        if let c = lit.firstIndex(of: ":") {
            translated = lit.replacingCharacters(in: c...c, with: ".")
        } else {
            translated = "any." + lit
        }
        try validateKey(translated)
        let dot = translated.firstIndex(of: ".")!
        let source = String(translated[..<dot]), key = String(translated[translated.index(after: dot)...])
        let (next, _) = lx.peek()
        if next == .end || next == .comma {
            return Requirement(source: source, key: key, op: op ?? .exists, values: [])
        }
        if op == .doesNotExist {
            let (_, l) = lx.next()
            throw FlowFilterError("found '\(l)', expected: ',' or 'end of string'")
        }
        let (opTok, opLit) = lx.next()
        let theOp: Operator
        switch opTok {
        case .equals: theOp = .equals
        case .doubleEquals: theOp = .doubleEquals
        case .notEquals: theOp = .notEquals
        case .in: theOp = .in
        case .notIn: theOp = .notIn
        case .greater: theOp = .greaterThan
        case .less: theOp = .lessThan
        default: throw FlowFilterError("found '\(opLit)', expected: in, notin, =, ==, !=, gt, lt")
        }
        var values: [String] = []
        if theOp == .in || theOp == .notIn {
            let (p, pl) = lx.next()
            guard p == .open else { throw FlowFilterError("found '\(pl)', expected: '('") }
            var expectValue = true
            loop: while true {
                let (t, l) = lx.next()
                switch t {
                case .identifier, .in, .notIn:
                    guard expectValue else { throw FlowFilterError("found '\(l)', expected: ',' or ')'") }
                    values.append(l)
                    expectValue = false
                case .comma:
                    if expectValue { values.append("") }
                    expectValue = true
                case .close:
                    if expectValue && !values.isEmpty { values.append("") }
                    break loop
                default: throw FlowFilterError("found '\(l)', expected: ',', ')' or identifier")
                }
            }
            if values.isEmpty { throw FlowFilterError("for 'in', 'notin' operators, values set can't be empty") }
        } else {
            let (t, _) = lx.peek()
            if t == .end || t == .comma {
                values = [""]
            } else {
                let (vt, vl) = lx.next()
                guard vt == .identifier || vt == .in || vt == .notIn else { throw FlowFilterError("found '\(vl)', expected: identifier") }
                values = [vl]
            }
            if theOp == .greaterThan || theOp == .lessThan, Int64(values[0]) == nil {
                throw FlowFilterError("for 'Gt', 'Lt' operators, the value must be an integer")
            }
        }
        for v in values { try validateValue(v) }
        return Requirement(source: source, key: key, op: theOp, values: values)
    }

    static func isNameChar(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_" || c == ".")
    }
    static func isAlnum(_ c: Unicode.Scalar) -> Bool { c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c)) }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters.
    static func validName(_ s: Substring) -> Bool {
        let u = Array(s.unicodeScalars)
        guard let f = u.first, let l = u.last, u.count <= 63 else { return false }
        return isAlnum(f) && isAlnum(l) && u.allSatisfy(isNameChar)
    }

    static func validateKey(_ k: String) throws(FlowFilterError) {
        let parts = k.split(separator: "/", omittingEmptySubsequences: false)
        let name = parts.last!
        var ok = parts.count <= 2 && validName(name)
        if ok, parts.count == 2 {
            let prefix = parts[0]
            ok = !prefix.isEmpty && prefix.count <= 253
                && prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { l in
                    l.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
                        && !l.isEmpty && l.first != "-" && l.last != "-"
                }
        }
        if !ok {
            throw FlowFilterError(
                "key: Invalid value: \(GoSyntax.quote(k)): name part must consist of alphanumeric characters, '-', '_' or '.', "
                    + "and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'"
            )
        }
    }

    static func validateValue(_ v: String) throws(FlowFilterError) {
        if v.isEmpty { return }
        if !validName(Substring(v)) {
            throw FlowFilterError(
                "values[0]: Invalid value: \(GoSyntax.quote(v)): a valid label must be an empty string or consist of alphanumeric "
                    + "characters, '-', '_' or '.', and must start and end with an alphanumeric character"
            )
        }
    }

    /// Whether the labels (`source:key=value` strings) satisfy every requirement.
    public func matches(_ labels: [String]) -> Bool {
        requirements.allSatisfy { r in
            let found = Self.value(source: r.source, key: r.key, in: labels)
            func listed(_ v: Substring) -> Bool { r.values.contains { $0.utf8.elementsEqual(v.utf8) } }
            switch r.op {
            case .equals, .doubleEquals, .in:
                guard let found else { return false }
                return listed(found)
            case .notEquals, .notIn:
                guard let found else { return true }
                return !listed(found)
            case .exists: return found != nil
            case .doesNotExist: return found == nil
            case .greaterThan, .lessThan:
                guard let found, let have = Int64(found), let want = Int64(r.values[0]) else { return false }
                return r.op == .greaterThan ? have > want : have < want
            }
        }
    }

    public func matches(_ labels: [Label]) -> Bool { matches(labels.map { "\($0.source):\($0.key)=\($0.value)" }) }

    /// The value of the first label with this key (and source, unless `any`), without
    /// allocating: `source:key=value`, the source being what precedes a `:` before any `=`.
    static func value(source: String, key: String, in labels: [String]) -> Substring? {
        let colonByte = UInt8(ascii: ":"), eqByte = UInt8(ascii: "=")
        for l in labels {
            let u = l.utf8
            var colon: String.Index?
            var eq: String.Index?
            var i = u.startIndex
            while i != u.endIndex {
                let c = u[i]
                if c == eqByte {
                    eq = i
                    break
                }
                if c == colonByte && colon == nil { colon = i }
                i = u.index(after: i)
            }
            if source != "any" {
                if let colon {
                    guard u[u.startIndex..<colon].elementsEqual(source.utf8) else { continue }
                } else if source != "unspec" {
                    continue
                }
            }
            let keyStart = colon.map { u.index(after: $0) } ?? u.startIndex
            guard u[keyStart..<(eq ?? u.endIndex)].elementsEqual(key.utf8) else { continue }
            return eq.map { l[l.index(after: $0)...] } ?? ""
        }
        return nil
    }

    enum Token: Equatable { case identifier, not, equals, doubleEquals, notEquals, open, close, comma, greater, less, `in`, notIn, end }

    struct Lexer {
        var s: [Unicode.Scalar]
        var i = 0
        init(_ s: [Unicode.Scalar]) { self.s = s }

        static func special(_ c: Unicode.Scalar) -> Bool { "!=(),<>".unicodeScalars.contains(c) }

        func peek() -> (Token, String) {
            var copy = self
            return copy.next()
        }

        mutating func next() -> (Token, String) {
            while i < s.count, s[i].properties.isWhitespace { i += 1 }
            guard i < s.count else { return (.end, "") }
            let c = s[i]
            if Self.special(c) {
                let two = i + 1 < s.count ? String(String.UnicodeScalarView([c, s[i + 1]])) : ""
                switch two {
                case "!=": i += 2; return (.notEquals, "!=")
                case "==": i += 2; return (.doubleEquals, "==")
                default: break
                }
                i += 1
                switch c {
                case "!": return (.not, "!")
                case "=": return (.equals, "=")
                case "(": return (.open, "(")
                case ")": return (.close, ")")
                case ",": return (.comma, ",")
                case ">": return (.greater, ">")
                default: return (.less, "<")
                }
            }
            var word = String.UnicodeScalarView()
            while i < s.count, !s[i].properties.isWhitespace, !Self.special(s[i]) {
                word.append(s[i])
                i += 1
            }
            let w = String(word)
            switch w {
            case "in": return (.in, w)
            case "notin": return (.notIn, w)
            default: return (.identifier, w)
            }
        }
    }
}

// MARK: - JSON (--print-raw-filters, --allowlist/--denylist)

extension FlowFilter {
    /// The filter as `hubble observe --print-raw-filters` prints it.
    public var json: String {
        var w = FilterJSONWriter()
        w.strings("uuid", uuid)
        w.strings("source_ip", sourceIP)
        w.strings("source_ip_xlated", sourceIPXlated)
        w.strings("source_pod", sourcePod)
        w.strings("source_fqdn", sourceFQDN)
        w.strings("source_label", sourceLabel)
        w.strings("source_service", sourceService)
        w.objects("source_workload", sourceWorkload.map(Self.workloadJSON))
        w.strings("source_cluster_name", sourceClusterName)
        w.strings("destination_ip", destinationIP)
        w.strings("destination_pod", destinationPod)
        w.strings("destination_fqdn", destinationFQDN)
        w.strings("destination_label", destinationLabel)
        w.strings("destination_service", destinationService)
        w.objects("destination_workload", destinationWorkload.map(Self.workloadJSON))
        w.strings("destination_cluster_name", destinationClusterName)
        w.enums("traffic_direction", trafficDirection) {
            HubbleEnums.trafficDirections.indices.contains($0) ? HubbleEnums.trafficDirections[$0] : nil
        }
        w.enums("verdict", verdict) { HubbleEnums.verdicts.indices.contains($0) ? HubbleEnums.verdicts[$0] : nil }
        w.enums("drop_reason_desc", dropReasonDesc) { code in
            if code == 0 { return "DROP_REASON_UNKNOWN" }
            let p = HubbleEnums.dropReasons[code]?.proto ?? ""
            return p.isEmpty ? nil : p
        }
        w.objects("interface", interface.map { i in
            var o = FilterJSONWriter()
            o.number("index", i.index == 0 ? nil : String(i.index))
            o.string("name", i.name.isEmpty ? nil : i.name)
            return o.text
        })
        w.objects("event_type", eventType.map { e in
            var o = FilterJSONWriter()
            o.number("type", e.type == 0 ? nil : String(e.type))
            o.raw("match_sub_type", e.matchSubType ? "true" : nil)
            o.number("sub_type", e.subType == 0 ? nil : String(e.subType))
            return o.text
        })
        w.strings("http_status_code", httpStatusCode)
        w.strings("protocol", protocols)
        w.strings("source_port", sourcePort)
        w.strings("destination_port", destinationPort)
        w.list("reply", reply.map { $0 ? "true" : "false" })
        w.strings("dns_query", dnsQuery)
        w.list("source_identity", sourceIdentity.map { String($0) })
        w.list("destination_identity", destinationIdentity.map { String($0) })
        w.strings("http_method", httpMethod)
        w.strings("http_path", httpPath)
        w.strings("http_url", httpURL)
        w.objects("http_header", httpHeader.map { h in
            var o = FilterJSONWriter()
            o.string("key", h.key.isEmpty ? nil : h.key)
            o.string("value", h.value.isEmpty ? nil : h.value)
            return o.text
        })
        w.objects("tcp_flags", tcpFlags.map { t in
            var o = FilterJSONWriter()
            for name in t.setNames { o.raw(name, "true") }
            return o.text
        })
        w.strings("node_name", nodeName)
        w.strings("node_labels", nodeLabels)
        w.enums("ip_version", ipVersion) { HubbleEnums.ipVersions.indices.contains($0) ? HubbleEnums.ipVersions[$0] : nil }
        w.strings("trace_id", traceID)
        w.list("ip_trace_id", ipTraceID.map { FilterJSONWriter.quote(String($0)) })
        w.list("encrypted", encrypted.map { $0 ? "true" : "false" })
        if !celExpression.isEmpty {
            var o = FilterJSONWriter()
            o.strings("cel_expression", celExpression)
            w.raw("experimental", o.text)
        }
        return w.text
    }

    static func workloadJSON(_ wl: Workload) -> String {
        var o = FilterJSONWriter()
        o.string("name", wl.name.isEmpty ? nil : wl.name)
        o.string("kind", wl.kind.isEmpty ? nil : wl.kind)
        return o.text
    }

    /// The FlowFilters in a `--allowlist`/`--denylist` value: one or several JSON objects.
    public static func decodeAll(_ text: String) throws(FlowFilterError) -> [FlowFilter] {
        var out: [FlowFilter] = []
        for doc in try splitJSONValues(text) {
            let v: JSONValue
            do { v = try JSONReader.parse(doc) } catch { throw FlowFilterError(error.description) }
            out.append(try decode(v))
        }
        return out
    }

    /// A FlowFilter from its protojson (proto or lowerCamel field names; enums by name or number).
    public static func decode(_ v: JSONValue) throws(FlowFilterError) -> FlowFilter {
        guard case let .object(pairs) = v else { throw FlowFilterError("proto: syntax error: FlowFilter must be a JSON object") }
        var f = FlowFilter()
        for (rawKey, value) in pairs {
            let key = snake(rawKey)
            if value == .null { continue }
            switch key {
            case "uuid": f.uuid = try strings(value, key)
            case "source_ip": f.sourceIP = try strings(value, key)
            case "source_ip_xlated": f.sourceIPXlated = try strings(value, key)
            case "source_pod": f.sourcePod = try strings(value, key)
            case "source_fqdn": f.sourceFQDN = try strings(value, key)
            case "source_label": f.sourceLabel = try strings(value, key)
            case "source_service": f.sourceService = try strings(value, key)
            case "source_workload": f.sourceWorkload = try objects(value, key).map(workload)
            case "source_cluster_name": f.sourceClusterName = try strings(value, key)
            case "destination_ip": f.destinationIP = try strings(value, key)
            case "destination_pod": f.destinationPod = try strings(value, key)
            case "destination_fqdn": f.destinationFQDN = try strings(value, key)
            case "destination_label": f.destinationLabel = try strings(value, key)
            case "destination_service": f.destinationService = try strings(value, key)
            case "destination_workload": f.destinationWorkload = try objects(value, key).map(workload)
            case "destination_cluster_name": f.destinationClusterName = try strings(value, key)
            case "traffic_direction": f.trafficDirection = try enums(value, key) { HubbleEnums.trafficDirections.firstIndex(of: $0) }
            case "verdict": f.verdict = try enums(value, key) { HubbleEnums.verdicts.firstIndex(of: $0) }
            case "drop_reason_desc": f.dropReasonDesc = try enums(value, key) { HubbleEnums.dropReasonCodes[$0] }
            case "interface":
                f.interface = try objects(value, key).map { o throws(FlowFilterError) in
                    var i = Interface()
                    for (k, v) in o {
                        switch snake(k) {
                        case "index": i.index = UInt32(try integer(v, "index", max: UInt64(UInt32.max)))
                        case "name": i.name = try string(v, "name")
                        default: throw unknown(k)
                        }
                    }
                    return i
                }
            case "event_type":
                f.eventType = try objects(value, key).map { o throws(FlowFilterError) in
                    var e = EventType(type: 0)
                    for (k, v) in o {
                        switch snake(k) {
                        case "type": e.type = Int32(truncatingIfNeeded: try signed(v, "type"))
                        case "match_sub_type": e.matchSubType = try bool(v, "match_sub_type")
                        case "sub_type": e.subType = Int32(truncatingIfNeeded: try signed(v, "sub_type"))
                        default: throw unknown(k)
                        }
                    }
                    return e
                }
            case "http_status_code": f.httpStatusCode = try strings(value, key)
            case "protocol": f.protocols = try strings(value, key)
            case "source_port": f.sourcePort = try strings(value, key)
            case "destination_port": f.destinationPort = try strings(value, key)
            case "reply": f.reply = try array(value, key).map { v throws(FlowFilterError) in try bool(v, key) }
            case "dns_query": f.dnsQuery = try strings(value, key)
            case "source_identity":
                f.sourceIdentity = try array(value, key).map { v throws(FlowFilterError) in
                    UInt32(try integer(v, key, max: UInt64(UInt32.max)))
                }
            case "destination_identity":
                f.destinationIdentity = try array(value, key).map { v throws(FlowFilterError) in
                    UInt32(try integer(v, key, max: UInt64(UInt32.max)))
                }
            case "http_method": f.httpMethod = try strings(value, key)
            case "http_path": f.httpPath = try strings(value, key)
            case "http_url": f.httpURL = try strings(value, key)
            case "http_header":
                f.httpHeader = try objects(value, key).map { o throws(FlowFilterError) in
                    var h = HTTPHeader(key: "", value: "")
                    for (k, v) in o {
                        switch snake(k) {
                        case "key": h.key = try string(v, "key")
                        case "value": h.value = try string(v, "value")
                        default: throw unknown(k)
                        }
                    }
                    return h
                }
            case "tcp_flags":
                f.tcpFlags = try objects(value, key).map { o throws(FlowFilterError) in
                    var t = TCPFlags()
                    for (k, v) in o {
                        let b = try bool(v, k)
                        guard k == k.uppercased(), t.set(k, b) else { throw unknown(k) }
                    }
                    return t
                }
            case "node_name": f.nodeName = try strings(value, key)
            case "node_labels": f.nodeLabels = try strings(value, key)
            case "ip_version": f.ipVersion = try enums(value, key) { HubbleEnums.ipVersions.firstIndex(of: $0) }
            case "trace_id": f.traceID = try strings(value, key)
            case "ip_trace_id": f.ipTraceID = try array(value, key).map { v throws(FlowFilterError) in try integer(v, key, max: .max) }
            case "encrypted": f.encrypted = try array(value, key).map { v throws(FlowFilterError) in try bool(v, key) }
            case "experimental":
                guard case let .object(o) = value else { throw FlowFilterError("proto: invalid value for experimental") }
                for (k, v) in o {
                    guard snake(k) == "cel_expression" else { throw unknown(k) }
                    f.celExpression = try strings(v, "cel_expression")
                }
            default: throw unknown(rawKey)
            }
        }
        return f
    }

    static func unknown(_ k: String) -> FlowFilterError { FlowFilterError("proto: unknown field \(GoSyntax.quote(k))") }

    /// lowerCamel → proto name (`sourcePod` → `source_pod`); proto names pass through.
    static func snake(_ k: String) -> String {
        if TCPFlags.fields.contains(where: { $0.name == k }) { return k }
        var out = ""
        for c in k {
            if c.isUppercase {
                out += "_" + c.lowercased()
            } else {
                out.append(c)
            }
        }
        return out
    }

    static func array(_ v: JSONValue, _ key: String) throws(FlowFilterError) -> [JSONValue] {
        guard case let .array(a) = v else { throw FlowFilterError("proto: invalid value for repeated field \(key)") }
        return a
    }
    static func string(_ v: JSONValue, _ key: String) throws(FlowFilterError) -> String {
        guard case let .string(s) = v else { throw FlowFilterError("proto: invalid value for string field \(key): \(v.filterBrief)") }
        return s
    }
    static func strings(_ v: JSONValue, _ key: String) throws(FlowFilterError) -> [String] {
        try array(v, key).map { e throws(FlowFilterError) in try string(e, key) }
    }
    static func bool(_ v: JSONValue, _ key: String) throws(FlowFilterError) -> Bool {
        guard case let .bool(b) = v else { throw FlowFilterError("proto: invalid value for bool field \(key): \(v.filterBrief)") }
        return b
    }
    static func integer(_ v: JSONValue, _ key: String, max: UInt64) throws(FlowFilterError) -> UInt64 {
        guard let n = v.uint64, n <= max else { throw FlowFilterError("proto: invalid value for integer field \(key): \(v.filterBrief)") }
        return n
    }
    static func signed(_ v: JSONValue, _ key: String) throws(FlowFilterError) -> Int64 {
        let n: Int64? = switch v {
        case let .number(s), let .string(s): Int64(s)
        default: nil
        }
        guard let n else { throw FlowFilterError("proto: invalid value for integer field \(key): \(v.filterBrief)") }
        return n
    }
    static func objects(_ v: JSONValue, _ key: String) throws(FlowFilterError) -> [[(String, JSONValue)]] {
        try array(v, key).map { e throws(FlowFilterError) in
            guard case let .object(o) = e else { throw FlowFilterError("proto: invalid value for message field \(key): \(e.filterBrief)") }
            return o
        }
    }
    static func enums(_ v: JSONValue, _ key: String, _ byName: (String) -> Int?) throws(FlowFilterError) -> [Int] {
        try array(v, key).map { e throws(FlowFilterError) in
            switch e {
            case let .string(s):
                guard let n = byName(s) else { throw FlowFilterError("proto: invalid value for enum field \(key): \(GoSyntax.quote(s))") }
                return n
            case let .number(s):
                guard let n = Int(s) else { throw FlowFilterError("proto: invalid value for enum field \(key): \(s)") }
                return n
            default: throw FlowFilterError("proto: invalid value for enum field \(key): \(e.filterBrief)")
            }
        }
    }
    static func workload(_ o: [(String, JSONValue)]) throws(FlowFilterError) -> Workload {
        var w = Workload(name: "", kind: "")
        for (k, v) in o {
            switch k {
            case "name": w.name = try string(v, "name")
            case "kind": w.kind = try string(v, "kind")
            default: throw unknown(k)
            }
        }
        return w
    }

    /// Splits a stream of JSON values (what Go's json.Decoder reads one after another).
    static func splitJSONValues(_ text: String) throws(FlowFilterError) -> [String] {
        let b = Array(text.utf8)
        var out: [String] = []
        var i = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
        while i < b.count {
            if isSpace(b[i]) {
                i += 1
                continue
            }
            let start = i
            if b[i] == UInt8(ascii: "{") || b[i] == UInt8(ascii: "[") {
                var depth = 0
                var inString = false
                while i < b.count {
                    let c = b[i]
                    i += 1
                    if inString {
                        if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") { inString = false }
                    } else if c == UInt8(ascii: "\"") {
                        inString = true
                    } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                        depth += 1
                    } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                        depth -= 1
                        if depth == 0 { break }
                    }
                }
                if depth != 0 { throw FlowFilterError("unexpected EOF") }
            } else {
                while i < b.count, !isSpace(b[i]), b[i] != UInt8(ascii: "{"), b[i] != UInt8(ascii: "[") { i += 1 }
            }
            out.append(String(decoding: b[start..<min(i, b.count)], as: UTF8.self))
        }
        return out
    }
}

extension JSONValue {
    var filterBrief: String {
        switch self {
        case .null: "null"
        case let .bool(b): b ? "true" : "false"
        case let .number(n): n
        case let .string(s): GoSyntax.quote(s)
        case .array: "["
        case .object: "{"
        }
    }
}

/// A JSON object writer with Go's json.Marshal string escaping (HTML-safe).
struct FilterJSONWriter {
    var body = ""
    var text: String { "{" + body + "}" }

    mutating func raw(_ key: String, _ json: String?) {
        guard let json else { return }
        if !body.isEmpty { body += "," }
        body += FilterJSONWriter.quote(key) + ":" + json
    }
    mutating func string(_ key: String, _ v: String?) { raw(key, v.map(FilterJSONWriter.quote)) }
    mutating func number(_ key: String, _ v: String?) { raw(key, v) }
    mutating func list(_ key: String, _ items: [String]) {
        guard !items.isEmpty else { return }
        raw(key, "[" + items.joined(separator: ",") + "]")
    }
    mutating func strings(_ key: String, _ items: [String]) { list(key, items.map(FilterJSONWriter.quote)) }
    mutating func objects(_ key: String, _ items: [String]) { list(key, items) }
    mutating func enums(_ key: String, _ items: [Int], _ name: (Int) -> String?) {
        list(key, items.map { n in name(n).map(FilterJSONWriter.quote) ?? String(n) })
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if u.value < 0x20 || u.value == 0x7f {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
