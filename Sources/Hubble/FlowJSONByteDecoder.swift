// The single-pass reader of Hubble's JSON flows: the bytes of one line straight into a
// FlowRecord, with no JSONValue tree in between (`porin observe --input-file` reads a million
// flows with it; building and walking the tree was two thirds of its time).
//
// It reads what FlowJSON's tree mapping (FlowJSONDecoding.swift) reads, rule for rule: proto or
// lowerCamel names where the mapping accepts both (the proto name wins, then the first of equal
// names, as the tree's lookups do), enums by name or number, 64-bit integers as numbers or
// strings, values of another type read as absent or empty where the mapping reads them so, and
// unknown members skipped but still checked. It makes no error messages of its own: on anything
// the tree path would refuse (bad syntax, nesting too deep, an unknown enum name, a number out
// of range) it gives up, and FlowJSON.record reads the line again through the tree, so that the
// error, and which of several is reported, is the tree's word for word. It also gives up on a
// member name with non-ASCII bytes that matches no name: the tree compares Strings, which are
// equal under Unicode canonical equivalence (a Kelvin sign is a "K"), bytes are not.

struct FlowJSONByteDecoder {
    struct GiveUp: Error {}

    /// Every member name the mapping reads, spelled as in JSON (proto names; the lowerCamel
    /// spellings come from FlowJSON.camelNames).
    enum Key: String, CaseIterable, Sendable {
        // The response envelope.
        case flow, lost_events
        // Flow.
        case time, uuid, verdict, drop_reason, auth_type, IP, ip, l4, source, destination
        case typeName = "Type", type
        case node_name, node_labels, source_names, destination_names, l7, event_type, source_service, destination_service
        case traffic_direction, policy_match_type, trace_observation_point, trace_reason, drop_reason_desc, is_reply
        case debug_capture_point, interface, proxy_port, trace_context, sock_xlate_point, socket_cookie, cgroup_id, ip_trace_id
        case summaryName = "Summary", summary
        case egress_allowed_by, ingress_allowed_by, egress_denied_by, ingress_denied_by
        // IP, Layer4 and TCP flags.
        case ipVersion, ip_version, encrypted, source_xlated
        case TCP, UDP, SCTP, ICMPv4, ICMPv6, source_port, destination_port, flags, code
        case FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS
        // Endpoint, workloads, services, policies, interface.
        case ID, id, identity, cluster_name, namespace, labels, pod_name, workloads, name, kind, revision, index
        // Layer7, DNS, HTTP.
        case latency_ns, dns, http, query, ips, ttl, cnames, observation_source, rcode, qtypes, rrtypes
        case method, url, protocolName = "protocol", headers, key, value
        // Event type, trace context, IP trace id, lost events.
        case sub_type, parent, trace_id, cpu, num_events_lost
    }

    /// What a member name stands for: its key, which of the object's fields it sets (`slot`:
    /// a spelling and its alternative share one), and whether it is the alternative spelling
    /// (lowerCamel, `ip` for `IP` …), which the proto spelling overrides.
    struct Member: Sendable {
        let key: Key
        let slot: UInt8
        let camel: Bool
    }

    final class Tables: Sendable {
        let members: ByteNameTable<Member>
        let verdicts, authTypes, ipVersions, flowTypes, l7FlowTypes, trafficDirections, observationPoints, traceReasons: ByteNameTable<Int>
        let dropReasons, debugCapturePoints, sockXlatePoints, lostEventSources: ByteNameTable<Int>

        init() {
            let keys = Key.allCases
            func slot(_ k: Key) -> UInt8 { UInt8(keys.firstIndex(of: k)!) }
            // The tree reads these pairs as `o["IP"] ?? o["ip"]`: one field, the first spelling preferred.
            let alternatives: [Key: Key] = [.ip: .IP, .type: .typeName, .ip_version: .ipVersion]
            var pairs: [(name: String, value: Member)] = []
            for k in keys {
                if let main = alternatives[k] {
                    pairs.append((k.rawValue, Member(key: k, slot: slot(main), camel: true)))
                } else {
                    pairs.append((k.rawValue, Member(key: k, slot: slot(k), camel: false)))
                }
            }
            for k in keys { if let camel = FlowJSON.camelNames[k.rawValue] { pairs.append((camel, Member(key: k, slot: slot(k), camel: true))) } }
            members = ByteNameTable(pairs)
            func names(_ list: [String]) -> ByteNameTable<Int> { ByteNameTable(list.enumerated().map { ($0.element, $0.offset) }) }
            func codes(_ map: [String: Int]) -> ByteNameTable<Int> { ByteNameTable(map.map { ($0.key, $0.value) }) }
            verdicts = names(HubbleEnums.verdicts)
            authTypes = names(HubbleEnums.authTypes)
            ipVersions = names(HubbleEnums.ipVersions)
            flowTypes = names(HubbleEnums.flowTypes)
            l7FlowTypes = names(HubbleEnums.l7FlowTypes)
            trafficDirections = names(HubbleEnums.trafficDirections)
            observationPoints = codes(HubbleEnums.observationPointCodes)
            traceReasons = names(HubbleEnums.traceReasons)
            // The table's own names first: the tree tries `dropReasonCodes[s]` before the unknown name.
            dropReasons = ByteNameTable(HubbleEnums.dropReasonCodes.map { ($0.key, $0.value) } + [("DROP_REASON_UNKNOWN", 0)])
            debugCapturePoints = codes(HubbleEnums.debugCapturePointCodes)
            sockXlatePoints = names(HubbleEnums.sockXlatePoints)
            lostEventSources = names(HubbleEnums.lostEventSources)
        }
    }

    static let tables = Tables()

    /// Which of an object's fields are set, and whether by their proto spelling.
    struct Taken {
        private var proto: UInt128 = 0
        private var any: UInt128 = 0

        /// Whether the member's value is the one the tree would read: the first with the proto
        /// spelling, else the first with the alternative one.
        @inline(__always)
        mutating func take(_ m: Member) -> Bool {
            let bit: UInt128 = 1 << m.slot
            if m.camel {
                guard any & bit == 0 else { return false }
            } else {
                guard proto & bit == 0 else { return false }
                proto |= bit
            }
            any |= bit
            return true
        }
    }

    private let p: UnsafePointer<UInt8>
    private let n: Int
    private var i = 0
    /// Unescaped strings (rare in flows) are built here.
    private var scratch: [UInt8] = []
    private let t: Tables
    private let strings: FlowJSONStringCache?

    private init(_ p: UnsafePointer<UInt8>, _ n: Int, _ strings: FlowJSONStringCache?) {
        self.p = p
        self.n = n
        t = Self.tables
        self.strings = strings
    }

    /// One line's record, or nil when the tree path must read it (see the top of the file).
    static func record(_ line: UnsafeBufferPointer<UInt8>, strings: FlowJSONStringCache? = nil) -> FlowRecord? {
        guard let base = line.baseAddress, !line.isEmpty else { return nil }
        var d = FlowJSONByteDecoder(base, line.count, strings)
        return try? d.document()
    }

    // MARK: - The record

    /// FlowJSON.record's rules, read in one pass: the envelope's members and, in case the line
    /// is a bare Flow (exporter files), the same members as a Flow's.
    private mutating func document() throws(GiveUp) -> FlowRecord {
        skipSpace()
        guard at(i) == .openBrace else { throw GiveUp() }
        var top = Taken()
        var bare = FlowFields()
        var nested: Flow?
        var lost: (source: Int, count: UInt64, cpu: Int32?)?
        var time: FlowTime?
        // The first `node_name` and `nodeName`, each nil when absent and .some(nil) when not a string.
        var nodeProto: String??, nodeCamel: String??
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: 1); continue }
                switch m.key {
                case .flow: if try wants(&top, m, 1) { nested = try flow(1) }
                case .lost_events: if try wants(&top, m, 1) { lost = try lostEvents(1) }
                case .time: if try wants(&top, m, 1) { time = try timestamp() }
                case .node_name:
                    // The envelope reads `v["node_name"]?.string ?? v["nodeName"]?.string`: both first
                    // occurrences count, not just the preferred one.
                    if m.camel {
                        if nodeCamel == nil { nodeCamel = .some(try string(1)) } else { try skipValue(depth: 1) }
                    } else {
                        if nodeProto == nil { nodeProto = .some(try string(1)) } else { try skipValue(depth: 1) }
                    }
                default: try flowMember(m, &bare, 1)
                }
            } while try nextMember()
        }
        skipSpace()
        guard i == n else { throw GiveUp() }
        let node = (nodeProto ?? nil) ?? (nodeCamel ?? nil) ?? ""
        if let l = lost { return .lostEvents(source: l.source, count: l.count, cpu: l.cpu, nodeName: node, time: time) }
        if let f = nested { return .flow(f, nodeName: node, time: time) }
        // A bare Flow's node name is `field(o, "node_name")?.string ?? ""`: the preferred spelling if present.
        bare.f.nodeName = nodeProto.map { $0 ?? "" } ?? nodeCamel.map { $0 ?? "" } ?? ""
        bare.f.time = time
        let f = bare.finish()
        return .flow(f, nodeName: f.nodeName, time: f.time)
    }

    private mutating func lostEvents(_ d: Int) throws(GiveUp) -> (source: Int, count: UInt64, cpu: Int32?) {
        var source = 0, count: UInt64 = 0, cpu: Int32?
        guard at(i) == .openBrace else { try skipValue(depth: d); return (0, 0, nil) }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .source where !m.camel: if try wants(&taken, m, d + 1) { source = try enumeration(d + 1, t.lostEventSources) ?? 0 }
                case .num_events_lost: if try wants(&taken, m, d + 1) { count = try uint64(d + 1) ?? 0 }
                case .cpu:
                    guard try wants(&taken, m, d + 1) else { break }
                    // `(lost["cpu"]?["value"] ?? lost["cpu"]).flatMap(\.int)`: a UInt32Value or a bare number.
                    let v: Int?
                    if at(i) == .openBrace { v = try wrapped(d + 1) { (r: inout Self, d: Int) throws(GiveUp) in try r.int(d) } ?? nil } else { v = try int(d + 1) }
                    if let v {
                        guard let c = Int32(exactly: v) else { throw GiveUp() }
                        cpu = c
                    }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return (source, count, cpu)
    }

    // MARK: - Flow

    /// A Flow being read, and what its `field(o, …)` lookups would see.
    struct FlowFields {
        var f = Flow()
        var taken = Taken()
        /// `o["Summary"]?.string ?? o["summary"]?.string`: each spelling's first value.
        var summaryName: String??
        var summary: String??

        mutating func finish() -> Flow {
            f.summary = (summaryName ?? nil) ?? (summary ?? nil) ?? ""
            return f
        }
    }

    private mutating func flow(_ d: Int) throws(GiveUp) -> Flow {
        var a = FlowFields()
        guard at(i) == .openBrace else { try skipValue(depth: d); return a.finish() }
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                try flowMember(m, &a, d + 1)
            } while try nextMember()
        }
        return a.finish()
    }

    /// One member of a Flow object, its value at depth `d`.
    private mutating func flowMember(_ m: Member, _ a: inout FlowFields, _ d: Int) throws(GiveUp) {
        switch m.key {
        case .time: if try wants(&a.taken, m, d) { a.f.time = try timestamp() }
        case .uuid: if try wants(&a.taken, m, d) { a.f.uuid = try string(d) ?? "" }
        case .verdict: if try wants(&a.taken, m, d) { a.f.verdict = try enumeration(d, t.verdicts) ?? 0 }
        case .drop_reason: if try wants(&a.taken, m, d) { a.f.dropReason = try uint32(d) }
        case .auth_type: if try wants(&a.taken, m, d) { a.f.authType = try enumeration(d, t.authTypes) ?? 0 }
        case .IP, .ip: if try wants(&a.taken, m, d) { a.f.ip = try ip(d) }
        case .l4: if try wants(&a.taken, m, d) { a.f.l4 = try l4(d) }
        case .source: if try wants(&a.taken, m, d) { a.f.source = try endpoint(d) }
        case .destination: if try wants(&a.taken, m, d) { a.f.destination = try endpoint(d) }
        case .typeName, .type: if try wants(&a.taken, m, d) { a.f.type = try enumeration(d, t.flowTypes) ?? 0 }
        case .node_name: if try wants(&a.taken, m, d) { a.f.nodeName = try string(d) ?? "" }
        case .node_labels: if try wants(&a.taken, m, d) { a.f.nodeLabels = try strings(d) }
        case .source_names: if try wants(&a.taken, m, d) { a.f.sourceNames = try strings(d) }
        case .destination_names: if try wants(&a.taken, m, d) { a.f.destinationNames = try strings(d) }
        case .l7: if try wants(&a.taken, m, d) { a.f.l7 = try l7(d) }
        case .event_type: if try wants(&a.taken, m, d) { a.f.eventType = try eventType(d) }
        case .source_service: if try wants(&a.taken, m, d) { a.f.sourceService = try service(d) }
        case .destination_service: if try wants(&a.taken, m, d) { a.f.destinationService = try service(d) }
        case .traffic_direction: if try wants(&a.taken, m, d) { a.f.trafficDirection = try enumeration(d, t.trafficDirections) ?? 0 }
        case .policy_match_type: if try wants(&a.taken, m, d) { a.f.policyMatchType = try uint32(d) }
        case .trace_observation_point:
            if try wants(&a.taken, m, d) { a.f.traceObservationPoint = try enumeration(d, t.observationPoints) ?? 0 }
        case .trace_reason: if try wants(&a.taken, m, d) { a.f.traceReason = try enumeration(d, t.traceReasons) ?? 0 }
        case .drop_reason_desc:
            guard try wants(&a.taken, m, d) else { return }
            // A name must be known; anything else is read as a number (0 when it is none).
            if at(i) == .quote {
                guard let c = try stringLookup(t.dropReasons) else { throw GiveUp() }
                a.f.dropReasonDesc = c
            } else {
                a.f.dropReasonDesc = try int(d) ?? 0
            }
        case .is_reply:
            guard try wants(&a.taken, m, d) else { return }
            // `r.bool ?? r["value"]?.bool`: a bool or a BoolValue.
            if at(i) == .openBrace {
                a.f.isReply = try wrapped(d) { (r: inout Self, d: Int) throws(GiveUp) in try r.bool(d) } ?? nil
            } else {
                a.f.isReply = try bool(d)
            }
        case .debug_capture_point:
            if try wants(&a.taken, m, d) { a.f.debugCapturePoint = try enumeration(d, t.debugCapturePoints) ?? 0 }
        case .interface: if try wants(&a.taken, m, d) { a.f.interface = try interface(d) }
        case .proxy_port: if try wants(&a.taken, m, d) { a.f.proxyPort = try uint32(d) }
        case .trace_context: if try wants(&a.taken, m, d) { a.f.traceID = try traceContext(d) }
        case .sock_xlate_point: if try wants(&a.taken, m, d) { a.f.sockXlatePoint = try enumeration(d, t.sockXlatePoints) ?? 0 }
        case .socket_cookie: if try wants(&a.taken, m, d) { a.f.socketCookie = try uint64(d) ?? 0 }
        case .cgroup_id: if try wants(&a.taken, m, d) { a.f.cgroupID = try uint64(d) ?? 0 }
        case .ip_trace_id: if try wants(&a.taken, m, d) { a.f.ipTraceID = try ipTraceID(d) }
        case .summaryName: if try wants(&a.taken, m, d) { a.summaryName = .some(try string(d)) }
        case .summary: if try wants(&a.taken, m, d) { a.summary = .some(try string(d)) }
        case .egress_allowed_by: if try wants(&a.taken, m, d) { a.f.egressAllowedBy = try policies(d) }
        case .ingress_allowed_by: if try wants(&a.taken, m, d) { a.f.ingressAllowedBy = try policies(d) }
        case .egress_denied_by: if try wants(&a.taken, m, d) { a.f.egressDeniedBy = try policies(d) }
        case .ingress_denied_by: if try wants(&a.taken, m, d) { a.f.ingressDeniedBy = try policies(d) }
        default: try skipValue(depth: d)
        }
    }

    private mutating func ip(_ d: Int) throws(GiveUp) -> FlowIP {
        var x = FlowIP()
        guard at(i) == .openBrace else { try skipValue(depth: d); return x }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .source: if try wants(&taken, m, d + 1) { x.source = try string(d + 1) ?? "" }
                case .destination: if try wants(&taken, m, d + 1) { x.destination = try string(d + 1) ?? "" }
                case .ipVersion, .ip_version: if try wants(&taken, m, d + 1) { x.ipVersion = try enumeration(d + 1, t.ipVersions) ?? 0 }
                case .encrypted: if try wants(&taken, m, d + 1) { x.encrypted = try bool(d + 1) ?? false }
                case .source_xlated: if try wants(&taken, m, d + 1) { x.sourceXlated = try string(d + 1) ?? "" }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return x
    }

    /// The tree takes TCP, else UDP, SCTP, ICMPv4, ICMPv6, whatever their order in the object.
    private mutating func l4(_ d: Int) throws(GiveUp) -> FlowL4? {
        guard at(i) == .openBrace else { try skipValue(depth: d); return nil }
        var best: FlowL4?
        var bestRank = 5
        if openObject() {
            repeat {
                guard let m = try memberName(), !m.camel else { try skipValue(depth: d + 1); continue }
                let rank: Int
                switch m.key {
                case .TCP: rank = 0
                case .UDP: rank = 1
                case .SCTP: rank = 2
                case .ICMPv4: rank = 3
                case .ICMPv6: rank = 4
                default: rank = 5
                }
                guard rank < bestRank else { try skipValue(depth: d + 1); continue }
                bestRank = rank
                switch m.key {
                case .TCP:
                    let (s, dp, flags) = try ports(d + 1, tcp: true)
                    best = .tcp(sourcePort: s, destinationPort: dp, flags: flags)
                case .UDP:
                    let (s, dp, _) = try ports(d + 1, tcp: false)
                    best = .udp(sourcePort: s, destinationPort: dp)
                case .SCTP:
                    let (s, dp, _) = try ports(d + 1, tcp: false)
                    best = .sctp(sourcePort: s, destinationPort: dp)
                case .ICMPv4:
                    let (type, code) = try icmp(d + 1)
                    best = .icmpv4(type: type, code: code)
                default:
                    let (type, code) = try icmp(d + 1)
                    best = .icmpv6(type: type, code: code)
                }
            } while try nextMember()
        }
        return best
    }

    private mutating func ports(_ d: Int, tcp: Bool) throws(GiveUp) -> (UInt32, UInt32, TCPFlags?) {
        var s: UInt32 = 0, dp: UInt32 = 0
        var flags: TCPFlags?
        guard at(i) == .openBrace else { try skipValue(depth: d); return (0, 0, nil) }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .source_port: if try wants(&taken, m, d + 1) { s = try uint32(d + 1) }
                case .destination_port: if try wants(&taken, m, d + 1) { dp = try uint32(d + 1) }
                case .flags where tcp && !m.camel: if try wants(&taken, m, d + 1) { flags = try tcpFlags(d + 1) }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return (s, dp, flags)
    }

    /// The names are TCPFlags.fields' (a test checks that each one is read).
    private mutating func tcpFlags(_ d: Int) throws(GiveUp) -> TCPFlags {
        var x = TCPFlags()
        guard at(i) == .openBrace else { try skipValue(depth: d); return x }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName(), !m.camel else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .FIN: if try wants(&taken, m, d + 1) { x.fin = try bool(d + 1) ?? false }
                case .SYN: if try wants(&taken, m, d + 1) { x.syn = try bool(d + 1) ?? false }
                case .RST: if try wants(&taken, m, d + 1) { x.rst = try bool(d + 1) ?? false }
                case .PSH: if try wants(&taken, m, d + 1) { x.psh = try bool(d + 1) ?? false }
                case .ACK: if try wants(&taken, m, d + 1) { x.ack = try bool(d + 1) ?? false }
                case .URG: if try wants(&taken, m, d + 1) { x.urg = try bool(d + 1) ?? false }
                case .ECE: if try wants(&taken, m, d + 1) { x.ece = try bool(d + 1) ?? false }
                case .CWR: if try wants(&taken, m, d + 1) { x.cwr = try bool(d + 1) ?? false }
                case .NS: if try wants(&taken, m, d + 1) { x.ns = try bool(d + 1) ?? false }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return x
    }

    private mutating func icmp(_ d: Int) throws(GiveUp) -> (UInt32, UInt32) {
        var type: UInt32 = 0, code: UInt32 = 0
        guard at(i) == .openBrace else { try skipValue(depth: d); return (0, 0) }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .type: if try wants(&taken, m, d + 1) { type = try uint32(d + 1) }
                case .code: if try wants(&taken, m, d + 1) { code = try uint32(d + 1) }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return (type, code)
    }

    private mutating func endpoint(_ d: Int) throws(GiveUp) -> FlowEndpoint {
        var e = FlowEndpoint()
        guard at(i) == .openBrace else { try skipValue(depth: d); return e }
        var taken = Taken()
        // `o["ID"]?.int ?? o["id"]?.int`: a first `ID` that is no integer gives way to `id`.
        var upperID: Int??, lowerID: Int??
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .ID: if upperID == nil { upperID = .some(try int(d + 1)) } else { try skipValue(depth: d + 1) }
                case .id: if lowerID == nil { lowerID = .some(try int(d + 1)) } else { try skipValue(depth: d + 1) }
                case .identity: if try wants(&taken, m, d + 1) { e.identity = try uint32(d + 1) }
                case .cluster_name: if try wants(&taken, m, d + 1) { e.clusterName = try string(d + 1) ?? "" }
                case .namespace: if try wants(&taken, m, d + 1) { e.namespace = try string(d + 1) ?? "" }
                case .labels: if try wants(&taken, m, d + 1) { e.labels = try strings(d + 1) }
                case .pod_name: if try wants(&taken, m, d + 1) { e.podName = try string(d + 1) ?? "" }
                case .workloads: if try wants(&taken, m, d + 1) { e.workloads = try workloads(d + 1) }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        if let v = (upperID ?? nil) ?? (lowerID ?? nil) {
            guard let id = UInt32(exactly: v) else { throw GiveUp() }
            e.id = id
        }
        return e
    }

    private mutating func workloads(_ d: Int) throws(GiveUp) -> [Workload] {
        guard at(i) == .openBracket else { try skipValue(depth: d); return [] }
        var out: [Workload] = []
        if openArray() {
            repeat {
                let (name, kind) = try nameAnd(.kind, d + 1)
                out.append(Workload(name: name, kind: kind))
            } while try nextElement()
        }
        return out
    }

    /// An object's `name` and one other string member (workloads' `kind`, services' `namespace`).
    private mutating func nameAnd(_ other: Key, _ d: Int) throws(GiveUp) -> (String, String) {
        var name = "", second = ""
        guard at(i) == .openBrace else { try skipValue(depth: d); return ("", "") }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName(), !m.camel else { try skipValue(depth: d + 1); continue }
                if m.key == .name {
                    if try wants(&taken, m, d + 1) { name = try string(d + 1) ?? "" }
                } else if m.key == other {
                    if try wants(&taken, m, d + 1) { second = try string(d + 1) ?? "" }
                } else {
                    try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return (name, second)
    }

    private mutating func service(_ d: Int) throws(GiveUp) -> FlowService {
        let (name, namespace) = try nameAnd(.namespace, d)
        return FlowService(name: name, namespace: namespace)
    }

    private mutating func l7(_ d: Int) throws(GiveUp) -> FlowL7 {
        var x = FlowL7()
        guard at(i) == .openBrace else { try skipValue(depth: d); return x }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .type: if try wants(&taken, m, d + 1) { x.type = try enumeration(d + 1, t.l7FlowTypes) ?? 0 }
                case .latency_ns: if try wants(&taken, m, d + 1) { x.latencyNs = try uint64(d + 1) ?? 0 }
                case .dns: if try wants(&taken, m, d + 1) { x.dns = try dns(d + 1) }
                case .http: if try wants(&taken, m, d + 1) { x.http = try http(d + 1) }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return x
    }

    private mutating func dns(_ d: Int) throws(GiveUp) -> DNSRecord {
        var r = DNSRecord()
        guard at(i) == .openBrace else { try skipValue(depth: d); return r }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .query: if try wants(&taken, m, d + 1) { r.query = try string(d + 1) ?? "" }
                case .ips: if try wants(&taken, m, d + 1) { r.ips = try strings(d + 1) }
                case .ttl: if try wants(&taken, m, d + 1) { r.ttl = try uint32(d + 1) }
                case .cnames: if try wants(&taken, m, d + 1) { r.cnames = try strings(d + 1) }
                case .observation_source: if try wants(&taken, m, d + 1) { r.observationSource = try string(d + 1) ?? "" }
                case .rcode: if try wants(&taken, m, d + 1) { r.rcode = try uint32(d + 1) }
                case .qtypes: if try wants(&taken, m, d + 1) { r.qtypes = try strings(d + 1) }
                case .rrtypes: if try wants(&taken, m, d + 1) { r.rrtypes = try strings(d + 1) }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return r
    }

    private mutating func http(_ d: Int) throws(GiveUp) -> HTTPRecord {
        var r = HTTPRecord()
        guard at(i) == .openBrace else { try skipValue(depth: d); return r }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .code: if try wants(&taken, m, d + 1) { r.code = try uint32(d + 1) }
                case .method: if try wants(&taken, m, d + 1) { r.method = try string(d + 1) ?? "" }
                case .url: if try wants(&taken, m, d + 1) { r.url = try string(d + 1) ?? "" }
                case .protocolName: if try wants(&taken, m, d + 1) { r.protocolName = try string(d + 1) ?? "" }
                case .headers:
                    guard try wants(&taken, m, d + 1) else { break }
                    guard at(i) == .openBracket else { try skipValue(depth: d + 1); break }
                    var headers: [(key: String, value: String)] = []
                    if openArray() {
                        repeat { headers.append(try keyValue(d + 2)) } while try nextElement()
                    }
                    r.headers = headers
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return r
    }

    private mutating func keyValue(_ d: Int) throws(GiveUp) -> (key: String, value: String) {
        var k = "", v = ""
        guard at(i) == .openBrace else { try skipValue(depth: d); return ("", "") }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .key: if try wants(&taken, m, d + 1) { k = try string(d + 1) ?? "" }
                case .value: if try wants(&taken, m, d + 1) { v = try string(d + 1) ?? "" }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return (k, v)
    }

    private mutating func eventType(_ d: Int) throws(GiveUp) -> (type: Int32, subType: Int32) {
        var type: Int?, sub: Int?
        guard at(i) == .openBrace else { try skipValue(depth: d); return (0, 0) }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName() else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .type: if try wants(&taken, m, d + 1) { type = try int(d + 1) }
                case .sub_type: if try wants(&taken, m, d + 1) { sub = try int(d + 1) }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        guard let t32 = Int32(exactly: type ?? 0), let s32 = Int32(exactly: sub ?? 0) else { throw GiveUp() }
        return (t32, s32)
    }

    private mutating func interface(_ d: Int) throws(GiveUp) -> (index: UInt32, name: String) {
        var index: UInt32 = 0, name = ""
        guard at(i) == .openBrace else { try skipValue(depth: d); return (0, "") }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName(), !m.camel else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .index: if try wants(&taken, m, d + 1) { index = try uint32(d + 1) }
                case .name: if try wants(&taken, m, d + 1) { name = try string(d + 1) ?? "" }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return (index, name)
    }

    /// `trace_context.parent.trace_id` (only that spelling inside: the tree subscripts it).
    private mutating func traceContext(_ d: Int) throws(GiveUp) -> String {
        guard at(i) == .openBrace else { try skipValue(depth: d); return "" }
        let parent = try wrapped(d, key: .parent) { (r: inout Self, d: Int) throws(GiveUp) -> String? in
            guard r.at(r.i) == .openBrace else { try r.skipValue(depth: d); return nil }
            return try r.wrapped(d, key: .trace_id) { (r: inout Self, d: Int) throws(GiveUp) in try r.string(d) } ?? nil
        }
        return (parent ?? nil) ?? ""
    }

    /// `ip_trace_id.trace_id` (or `traceId`).
    private mutating func ipTraceID(_ d: Int) throws(GiveUp) -> UInt64 {
        guard at(i) == .openBrace else { try skipValue(depth: d); return 0 }
        var taken = Taken()
        var v: UInt64?
        if openObject() {
            repeat {
                guard let m = try memberName(), m.key == .trace_id else { try skipValue(depth: d + 1); continue }
                if try wants(&taken, m, d + 1) { v = try uint64(d + 1) }
            } while try nextMember()
        }
        return v ?? 0
    }

    private mutating func policies(_ d: Int) throws(GiveUp) -> [FlowPolicy] {
        guard at(i) == .openBracket else { try skipValue(depth: d); return [] }
        var out: [FlowPolicy] = []
        if openArray() {
            repeat { out.append(try policy(d + 1)) } while try nextElement()
        }
        return out
    }

    private mutating func policy(_ d: Int) throws(GiveUp) -> FlowPolicy {
        var x = FlowPolicy()
        guard at(i) == .openBrace else { try skipValue(depth: d); return x }
        var taken = Taken()
        if openObject() {
            repeat {
                guard let m = try memberName(), !m.camel else { try skipValue(depth: d + 1); continue }
                switch m.key {
                case .name: if try wants(&taken, m, d + 1) { x.name = try string(d + 1) ?? "" }
                case .namespace: if try wants(&taken, m, d + 1) { x.namespace = try string(d + 1) ?? "" }
                case .labels: if try wants(&taken, m, d + 1) { x.labels = try strings(d + 1) }
                case .revision: if try wants(&taken, m, d + 1) { x.revision = try uint64(d + 1) ?? 0 }
                case .kind: if try wants(&taken, m, d + 1) { x.kind = try string(d + 1) ?? "" }
                default: try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return x
    }

    /// The first member called `key` (proto spelling only) of the object at i, read by `read`;
    /// nil when there is none. Other members are skipped.
    private mutating func wrapped<T>(_ d: Int, key: Key = .value, _ read: (inout Self, Int) throws(GiveUp) -> T) throws(GiveUp) -> T? {
        var out: T?
        var seen = false
        if openObject() {
            repeat {
                if let m = try memberName(), m.key == key, !m.camel, !seen {
                    seen = true
                    out = try read(&self, d + 1)
                } else {
                    try skipValue(depth: d + 1)
                }
            } while try nextMember()
        }
        return out
    }

    // MARK: - Values of the types the mapping reads

    /// Whether the member's value is to be read (else it is skipped, and false).
    @inline(__always)
    private mutating func wants(_ taken: inout Taken, _ m: Member, _ d: Int) throws(GiveUp) -> Bool {
        if taken.take(m) { return true }
        try skipValue(depth: d)
        return false
    }

    /// `.string`: nil for any other type.
    private mutating func string(_ d: Int) throws(GiveUp) -> String? {
        if at(i) == .quote { return try string() }
        try skipValue(depth: d)
        return nil
    }

    /// `strings(v)`: the array's strings, other elements left out; [] for anything but an array.
    private mutating func strings(_ d: Int) throws(GiveUp) -> [String] {
        guard at(i) == .openBracket else { try skipValue(depth: d); return [] }
        var out: [String] = []
        if openArray() {
            // Labels come five or more to an endpoint: one allocation instead of growing 1, 2, 4, 8.
            out.reserveCapacity(8)
            repeat {
                if at(i) == .quote { out.append(try string()) } else { try skipValue(depth: d + 1) }
            } while try nextElement()
        }
        return out
    }

    /// `.int`: a number (integral, in range), or a string of decimal digits; nil otherwise.
    private mutating func int(_ d: Int) throws(GiveUp) -> Int? {
        let c = at(i)
        if c == .quote { return Int(try string()) }
        if c == .minus || (c >= .digit0 && c <= .digit9) { return intValue(try numberToken()) }
        try skipValue(depth: d)
        return nil
    }

    /// A 32-bit unsigned field: `.int ?? 0`, which must fit.
    private mutating func uint32(_ d: Int) throws(GiveUp) -> UInt32 {
        guard let v = try int(d) else { return 0 }
        guard let u = UInt32(exactly: v) else { throw GiveUp() }
        return u
    }

    /// `.uint64`: a number of digits only, or a string of them.
    private mutating func uint64(_ d: Int) throws(GiveUp) -> UInt64? {
        let c = at(i)
        if c == .quote { return UInt64(try string()) }
        if c == .minus || (c >= .digit0 && c <= .digit9) {
            let r = try numberToken()
            if r.count <= 19 {
                var v: UInt64 = 0
                var k = r.lowerBound
                while k < r.upperBound {
                    let digit = p[k] &- .digit0
                    if digit > 9 { break }
                    v = v * 10 + UInt64(digit)
                    k += 1
                }
                if k == r.upperBound { return v }
            }
            return UInt64(text(r))
        }
        try skipValue(depth: d)
        return nil
    }

    /// `.bool`: nil for any other type.
    private mutating func bool(_ d: Int) throws(GiveUp) -> Bool? {
        switch at(i) {
        case .t:
            try literal("true")
            return true
        case .f:
            try literal("false")
            return false
        default:
            try skipValue(depth: d)
            return nil
        }
    }

    /// FlowJSON.enumValue: a known name, a number (nil when not integral), null (nil); anything
    /// else is an error, and so is an unknown name.
    private mutating func enumeration(_ d: Int, _ table: ByteNameTable<Int>) throws(GiveUp) -> Int? {
        let c = at(i)
        if c == .quote {
            guard let v = try stringLookup(table) else { throw GiveUp() }
            return v
        }
        if c == .minus || (c >= .digit0 && c <= .digit9) { return intValue(try numberToken()) }
        if c == .n {
            try literal("null")
            return nil
        }
        throw GiveUp()
    }

    /// An RFC 3339 string; anything else is an error.
    private mutating func timestamp() throws(GiveUp) -> FlowTime {
        guard at(i) == .quote else { throw GiveUp() }
        i += 1
        let start = i
        scanPlain()
        let time: FlowTime?
        if at(i) == .quote {
            time = FlowJSON.parseRFC3339(UnsafeBufferPointer(start: p + start, count: i - start))
            i += 1
        } else {
            try unescape(from: start)
            time = scratch.withUnsafeBufferPointer { FlowJSON.parseRFC3339($0) }
        }
        guard let time else { throw GiveUp() }
        return time
    }

    /// The value of a JSON number's text, as JSONValue.int reads it.
    private func intValue(_ r: Range<Int>) -> Int? {
        var k = r.lowerBound
        let negative = p[k] == .minus
        if negative { k += 1 }
        if r.upperBound - k <= 18 {
            var v = 0
            while k < r.upperBound {
                let digit = p[k] &- .digit0
                if digit > 9 { break }
                v = v * 10 + Int(digit)
                k += 1
            }
            if k == r.upperBound { return negative ? -v : v }
        }
        return JSONValue.int(number: text(r))
    }

    private func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(start: p + r.lowerBound, count: r.count), as: UTF8.self) }

    // MARK: - JSON syntax, as JSONReader checks it

    @inline(__always)
    private func at(_ k: Int) -> UInt8 { k < n ? p[k] : 0 }

    @inline(__always)
    private mutating func skipSpace() {
        while i < n {
            let c = p[i]
            guard c == .space || c == .newline || c == .carriageReturn || c == .tab else { return }
            i += 1
        }
    }

    /// At `{`: consumes it; false (and the `}` consumed) when the object is empty.
    private mutating func openObject() -> Bool {
        i += 1
        skipSpace()
        if at(i) == .closeBrace {
            i += 1
            return false
        }
        return true
    }

    /// After a member's value: true when another member follows.
    @inline(__always)
    private mutating func nextMember() throws(GiveUp) -> Bool {
        skipSpace()
        let c = at(i)
        i += 1
        if c == .comma { return true }
        if c == .closeBrace { return false }
        throw GiveUp()
    }

    /// At `[`: consumes it; false (and the `]` consumed) when the array is empty. Leaves i at
    /// the first element.
    private mutating func openArray() -> Bool {
        i += 1
        skipSpace()
        if at(i) == .closeBracket {
            i += 1
            return false
        }
        return true
    }

    /// After an element: true (and i at the next element) when another follows.
    @inline(__always)
    private mutating func nextElement() throws(GiveUp) -> Bool {
        skipSpace()
        let c = at(i)
        i += 1
        if c == .comma {
            skipSpace()
            return true
        }
        if c == .closeBracket { return false }
        throw GiveUp()
    }

    /// A member's name looked up (nil when unknown), its `:` consumed and i at its value.
    private mutating func memberName() throws(GiveUp) -> Member? {
        skipSpace()
        guard at(i) == .quote else { throw GiveUp() }
        i += 1
        let start = i
        scanPlain()
        let m: Member?
        if at(i) == .quote {
            m = t.members.value(p + start, i - start)
            if m == nil { try refuseNonASCII(UnsafeBufferPointer(start: p + start, count: i - start)) }
            i += 1
        } else {
            try unescape(from: start)
            let members = t.members
            m = scratch.withUnsafeBufferPointer { b in b.baseAddress.flatMap { members.value($0, b.count) } }
            if m == nil { for c in scratch where c >= 0x80 { throw GiveUp() } }
        }
        skipSpace()
        guard at(i) == .colon else { throw GiveUp() }
        i += 1
        skipSpace()
        return m
    }

    private func refuseNonASCII(_ b: UnsafeBufferPointer<UInt8>) throws(GiveUp) {
        for c in b where c >= 0x80 { throw GiveUp() }
    }

    /// Moves i to the first quote, backslash or control byte (or the end).
    @inline(__always)
    private mutating func scanPlain() {
        // Eight bytes at a time (labels are long): a byte of `x` is zero where `w` has the byte
        // looked for, and `(x - 0x01…) & ~x & 0x80…` flags zero bytes, exactly from the lowest up.
        while i + 8 <= n {
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            let q = w ^ (ones &* 0x22), b = w ^ (ones &* 0x5C)
            let hits = ((q &- ones) & ~q | (b &- ones) & ~b | (w &- ones &* 0x20) & ~w) & highs
            if hits != 0 {
                i += hits.trailingZeroBitCount >> 3
                return
            }
            i += 8
        }
        while i < n {
            let c = p[i]
            if c == .quote || c == .backslash || c < 0x20 { return }
            i += 1
        }
    }

    /// At `"`: the string.
    private mutating func string() throws(GiveUp) -> String {
        i += 1
        let start = i
        scanPlain()
        if at(i) == .quote {
            defer { i += 1 }
            let count = i - start
            if let strings, count >= FlowJSONStringCache.minimumLength { return strings.string(p + start, count) }
            return String(decoding: UnsafeBufferPointer(start: p + start, count: count), as: UTF8.self)
        }
        try unescape(from: start)
        return String(decoding: scratch, as: UTF8.self)
    }

    /// At `"`: the string looked up in `table` (nil when it is no name there).
    private mutating func stringLookup(_ table: ByteNameTable<Int>) throws(GiveUp) -> Int? {
        i += 1
        let start = i
        scanPlain()
        if at(i) == .quote {
            defer { i += 1 }
            return table.value(p + start, i - start)
        }
        try unescape(from: start)
        return scratch.withUnsafeBufferPointer { b in b.baseAddress.flatMap { table.value($0, b.count) } }
    }

    /// From the first byte scanPlain stopped at: the whole string from `start` unescaped into
    /// scratch, the closing quote consumed.
    private mutating func unescape(from start: Int) throws(GiveUp) {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: p + start, count: i - start))
        while i < n {
            let c = p[i]
            i += 1
            if c == .quote { return }
            guard c >= 0x20 else { throw GiveUp() }
            if c != .backslash {
                scratch.append(c)
                continue
            }
            guard i < n else { throw GiveUp() }
            let e = p[i]
            i += 1
            switch e {
            case .quote: scratch.append(0x22)
            case .backslash: scratch.append(0x5C)
            case .slash: scratch.append(0x2F)
            case .b: scratch.append(0x08)
            case .f: scratch.append(0x0C)
            case .n: scratch.append(0x0A)
            case .r: scratch.append(0x0D)
            case .t: scratch.append(0x09)
            case .u:
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard i + 1 < n, p[i] == .backslash, p[i + 1] == .u else { throw GiveUp() }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw GiveUp() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw GiveUp()
                }
                appendUTF8(scalar)
            default: throw GiveUp()
            }
        }
        throw GiveUp()
    }

    private mutating func appendUTF8(_ s: UInt32) {
        switch s {
        case ..<0x80: scratch.append(UInt8(s))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | s >> 6))
            scratch.append(UInt8(0x80 | s & 0x3F))
        case ..<0x10000:
            scratch.append(UInt8(0xE0 | s >> 12))
            scratch.append(UInt8(0x80 | s >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | s & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | s >> 18))
            scratch.append(UInt8(0x80 | s >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | s >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | s & 0x3F))
        }
    }

    private mutating func hex4() throws(GiveUp) -> UInt32 {
        guard i + 4 <= n else { throw GiveUp() }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = p[i]
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw GiveUp()
            }
            v = v * 16 + digit
            i += 1
        }
        return v
    }

    /// A number's bounds, checked as JSONReader.number checks it.
    private mutating func numberToken() throws(GiveUp) -> Range<Int> {
        let start = i
        if at(i) == .minus { i += 1 }
        let digits = i
        while at(i) >= .digit0 && at(i) <= .digit9 { i += 1 }
        guard i > digits else { throw GiveUp() }
        if p[digits] == .digit0 && i - digits > 1 { throw GiveUp() }
        if at(i) == .dot {
            i += 1
            let f = i
            while at(i) >= .digit0 && at(i) <= .digit9 { i += 1 }
            guard i > f else { throw GiveUp() }
        }
        if at(i) == .e || at(i) == .upperE {
            i += 1
            if at(i) == .plus || at(i) == .minus { i += 1 }
            let e = i
            while at(i) >= .digit0 && at(i) <= .digit9 { i += 1 }
            guard i > e else { throw GiveUp() }
        }
        return start..<i
    }

    private mutating func literal(_ word: StaticString) throws(GiveUp) {
        let w = word.utf8Start
        let count = word.utf8CodeUnitCount
        guard i + count <= n else { throw GiveUp() }
        for k in 0..<count where p[i + k] != w[k] { throw GiveUp() }
        i += count
    }

    /// Any value, checked and passed over; `depth` as JSONReader counts it (the line's object is 0).
    private mutating func skipValue(depth: Int) throws(GiveUp) {
        guard depth < 200 else { throw GiveUp() }
        skipSpace()
        switch at(i) {
        case .openBrace:
            guard openObject() else { return }
            repeat {
                skipSpace()
                guard at(i) == .quote else { throw GiveUp() }
                try skipString()
                skipSpace()
                guard at(i) == .colon else { throw GiveUp() }
                i += 1
                try skipValue(depth: depth + 1)
            } while try nextMember()
        case .openBracket:
            guard openArray() else { return }
            repeat { try skipValue(depth: depth + 1) } while try nextElement()
        case .quote: try skipString()
        case .t: try literal("true")
        case .f: try literal("false")
        case .n: try literal("null")
        default: _ = try numberToken()
        }
    }

    private mutating func skipString() throws(GiveUp) {
        i += 1
        let start = i
        scanPlain()
        if at(i) == .quote {
            i += 1
            return
        }
        try unescape(from: start)
    }
}

extension UInt8 {
    fileprivate static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), slash = UInt8(ascii: "/")
    fileprivate static let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
    fileprivate static let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
    fileprivate static let colon = UInt8(ascii: ":"), comma = UInt8(ascii: ","), dot = UInt8(ascii: ".")
    fileprivate static let minus = UInt8(ascii: "-"), plus = UInt8(ascii: "+"), digit0 = UInt8(ascii: "0"), digit9 = UInt8(ascii: "9")
    fileprivate static let space = UInt8(ascii: " "), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r"), tab = UInt8(ascii: "\t")
    fileprivate static let b = UInt8(ascii: "b"), e = UInt8(ascii: "e"), upperE = UInt8(ascii: "E"), f = UInt8(ascii: "f")
    fileprivate static let n = UInt8(ascii: "n"), r = UInt8(ascii: "r"), t = UInt8(ascii: "t"), u = UInt8(ascii: "u")
}
