// Hubble's enumerations: numbers, proto names and the texts the CLI prints (reference §4).

public enum HubbleEnums {
    /// The name of enum value `v` in `names` (indexed by value), else the number: values from
    /// files and from the wire may be negative or newer than this table.
    public static func name(_ v: Int, _ names: [String]) -> String { v >= 0 && v < names.count ? names[v] : String(v) }

    public static let verdicts = ["VERDICT_UNKNOWN", "FORWARDED", "DROPPED", "ERROR", "AUDIT", "REDIRECTED", "TRACED", "TRANSLATED"]
    public static let flowTypes = ["UNKNOWN_TYPE", "L3_L4", "L7", "SOCK"]
    public static let trafficDirections = ["TRAFFIC_DIRECTION_UNKNOWN", "INGRESS", "EGRESS"]
    public static let ipVersions = ["IP_NOT_USED", "IPv4", "IPv6"]
    public static let l7FlowTypes = ["UNKNOWN_L7_TYPE", "REQUEST", "RESPONSE", "SAMPLE"]
    public static let authTypes = ["DISABLED", "SPIRE", "TEST_ALWAYS_FAIL"]
    public static let lostEventSources = ["UNKNOWN_LOST_EVENT_SOURCE", "PERF_EVENT_RING_BUFFER", "OBSERVER_EVENTS_QUEUE", "HUBBLE_RING_BUFFER"]
    public static let traceReasons = ["TRACE_REASON_UNKNOWN", "NEW", "ESTABLISHED", "REPLY", "RELATED", "REOPENED", "SRV6_ENCAP", "SRV6_DECAP", "ENCRYPT_OVERLAY"]
    public static let sockXlatePoints = ["SOCK_XLATE_POINT_UNKNOWN", "SOCK_XLATE_POINT_PRE_DIRECTION_FWD", "SOCK_XLATE_POINT_POST_DIRECTION_FWD",
                                         "SOCK_XLATE_POINT_PRE_DIRECTION_REV", "SOCK_XLATE_POINT_POST_DIRECTION_REV"]
    public static let debugCapturePoints: [Int: String] = [
        0: "DBG_CAPTURE_POINT_UNKNOWN", 4: "DBG_CAPTURE_DELIVERY", 5: "DBG_CAPTURE_FROM_LB", 6: "DBG_CAPTURE_AFTER_V46", 7: "DBG_CAPTURE_AFTER_V64",
        8: "DBG_CAPTURE_PROXY_PRE", 9: "DBG_CAPTURE_PROXY_POST", 10: "DBG_CAPTURE_SNAT_PRE", 11: "DBG_CAPTURE_SNAT_POST",
    ]

    /// TraceObservationPoint: proto value → enum name.
    public static let observationPoints: [Int: String] = [
        0: "UNKNOWN_POINT", 101: "TO_ENDPOINT", 1: "TO_PROXY", 2: "TO_HOST", 3: "TO_STACK", 4: "TO_OVERLAY", 5: "FROM_ENDPOINT",
        6: "FROM_PROXY", 7: "FROM_HOST", 8: "FROM_STACK", 9: "FROM_OVERLAY", 10: "FROM_NETWORK", 11: "TO_NETWORK",
        12: "FROM_CRYPTO", 13: "TO_CRYPTO",
    ]

    /// The trace event's sub type (the datapath's observation point) → the name compact output
    /// prints (0 is to-endpoint).
    public static let traceSubtypeNames: [Int32: String] = [
        0: "to-endpoint", 1: "to-proxy", 2: "to-host", 3: "to-stack", 4: "to-overlay", 5: "from-endpoint", 6: "from-proxy",
        7: "from-host", 8: "from-stack", 9: "from-overlay", 10: "from-network", 11: "to-network", 12: "from-crypto", 13: "to-crypto",
    ]

    /// Monitor message types (`event_type.type`) and their `--type` names.
    public static let eventTypeNames: [Int32: String] = [
        1: "drop", 2: "debug", 3: "capture", 4: "trace", 5: "policy-verdict", 6: "recorder", 7: "trace-sock", 129: "l7", 130: "agent",
    ]

    /// Policy-verdict match types as compact output prints them.
    public static func matchTypeName(_ v: UInt32) -> String {
        switch v {
        case 0: "none"
        case 1: "L3-Only"
        case 2: "L3-L4"
        case 3: "L4-Only"
        case 4: "all"
        case 5: "L3-Proto"
        case 6: "Proto-Only"
        default: "unknown"
        }
    }

    public static let sockXlateTypeNames: [Int32: String] = [1: "pre-xlate-fwd", 2: "post-xlate-fwd", 3: "pre-xlate-rev", 4: "post-xlate-rev"]

    /// Drop reasons: code → (the monitor's text compact output prints, the proto `DropReason` name).
    public static let dropReasons: [Int: (text: String, proto: String)] = [
        0: ("Success", "DROP_REASON_UNKNOWN"),
        2: ("Invalid packet", ""),
        3: ("Interface", ""),
        4: ("Interface Decrypted", ""),
        5: ("LB, sock cgroup: No backend slot entry found", ""),
        6: ("LB, sock cgroup: No backend entry found", ""),
        7: ("LB, sock cgroup: Reverse entry update failed", ""),
        8: ("LB, sock cgroup: Reverse entry stale", ""),
        9: ("Fragmented packet", ""),
        10: ("Fragmented packet entry update failed", ""),
        11: ("Missed tail call to custom program", ""),
        12: ("Interface Decrypting", ""),
        13: ("Interface Encrypting", ""),
        14: ("LB: sock cgroup: Reverse entry delete succeeded", ""),
        15: ("MTU error message", ""),
        130: ("Invalid source mac", "INVALID_SOURCE_MAC"),
        131: ("Invalid destination mac", "INVALID_DESTINATION_MAC"),
        132: ("Invalid source ip", "INVALID_SOURCE_IP"),
        133: ("Policy denied", "POLICY_DENIED"),
        134: ("Invalid packet", "INVALID_PACKET_DROPPED"),
        135: ("CT: Truncated or invalid header", "CT_TRUNCATED_OR_INVALID_HEADER"),
        136: ("Fragmentation needed", "CT_MISSING_TCP_ACK_FLAG"),
        137: ("CT: Unknown L4 protocol", "CT_UNKNOWN_L4_PROTOCOL"),
        138: ("CT: Can't create entry from packet", "CT_CANNOT_CREATE_ENTRY_FROM_PACKET"),
        139: ("Unsupported L3 protocol", "UNSUPPORTED_L3_PROTOCOL"),
        140: ("Missed tail call", "MISSED_TAIL_CALL"),
        141: ("Error writing to packet", "ERROR_WRITING_TO_PACKET"),
        142: ("Unknown L4 protocol", "UNKNOWN_L4_PROTOCOL"),
        143: ("Unknown ICMPv4 code", "UNKNOWN_ICMPV4_CODE"),
        144: ("Unknown ICMPv4 type", "UNKNOWN_ICMPV4_TYPE"),
        145: ("Unknown ICMPv6 code", "UNKNOWN_ICMPV6_CODE"),
        146: ("Unknown ICMPv6 type", "UNKNOWN_ICMPV6_TYPE"),
        147: ("Error retrieving tunnel key", "ERROR_RETRIEVING_TUNNEL_KEY"),
        148: ("Error retrieving tunnel options", "ERROR_RETRIEVING_TUNNEL_OPTIONS"),
        149: ("Invalid Geneve option", "INVALID_GENEVE_OPTION"),
        150: ("Unknown L3 target address", "UNKNOWN_L3_TARGET_ADDRESS"),
        151: ("Stale or unroutable IP", "STALE_OR_UNROUTABLE_IP"),
        152: ("No matching local container found", "NO_MATCHING_LOCAL_CONTAINER_FOUND"),
        153: ("Error while correcting L3 checksum", "ERROR_WHILE_CORRECTING_L3_CHECKSUM"),
        154: ("Error while correcting L4 checksum", "ERROR_WHILE_CORRECTING_L4_CHECKSUM"),
        155: ("CT: Map insertion failed", "CT_MAP_INSERTION_FAILED"),
        156: ("Invalid IPv6 extension header", "INVALID_IPV6_EXTENSION_HEADER"),
        157: ("IP fragmentation not supported", "IP_FRAGMENTATION_NOT_SUPPORTED"),
        158: ("Service backend not found", "SERVICE_BACKEND_NOT_FOUND"),
        160: ("No tunnel/encapsulation endpoint (datapath BUG!)", "NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT"),
        161: ("NAT 46/64 not enabled", "FAILED_TO_INSERT_INTO_PROXYMAP"),
        162: ("Reached EDT rate-limiting drop horizon", "REACHED_EDT_RATE_LIMITING_DROP_HORIZON"),
        163: ("Unknown connection tracking state", "UNKNOWN_CONNECTION_TRACKING_STATE"),
        164: ("Local host is unreachable", "LOCAL_HOST_IS_UNREACHABLE"),
        165: ("No configuration available to perform policy decision", "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION"),
        166: ("Unsupported L2 protocol", "UNSUPPORTED_L2_PROTOCOL"),
        167: ("No mapping for NAT masquerade", "NO_MAPPING_FOR_NAT_MASQUERADE"),
        168: ("Unsupported protocol for NAT masquerade", "UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE"),
        169: ("FIB lookup failed", "FIB_LOOKUP_FAILED"),
        170: ("Encapsulation traffic is prohibited", "ENCAPSULATION_TRAFFIC_IS_PROHIBITED"),
        171: ("Invalid identity", "INVALID_IDENTITY"),
        172: ("Unknown sender", "UNKNOWN_SENDER"),
        173: ("NAT not needed", "NAT_NOT_NEEDED"),
        174: ("Is a ClusterIP", "IS_A_CLUSTERIP"),
        175: ("First logical datagram fragment not found", "FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND"),
        176: ("Forbidden ICMPv6 message", "FORBIDDEN_ICMPV6_MESSAGE"),
        177: ("Denied by LB src range check", "DENIED_BY_LB_SRC_RANGE_CHECK"),
        178: ("Socket lookup failed", "SOCKET_LOOKUP_FAILED"),
        179: ("Socket assign failed", "SOCKET_ASSIGN_FAILED"),
        180: ("Proxy redirection not supported for protocol", "PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL"),
        181: ("Policy denied by denylist", "POLICY_DENY"),
        182: ("VLAN traffic disallowed by VLAN filter", "VLAN_FILTERED"),
        183: ("Incorrect VNI from VTEP", "INVALID_VNI"),
        184: ("Failed to update or lookup TC buffer", "INVALID_TC_BUFFER"),
        185: ("No SID was found for the IP address", "NO_SID"),
        186: ("SRv6 state was removed during tail call", "MISSING_SRV6_STATE"),
        187: ("L3 translation from IPv4 to IPv6 failed (NAT46)", "NAT46"),
        188: ("L3 translation from IPv6 to IPv4 failed (NAT64)", "NAT64"),
        189: ("Authentication required", "AUTH_REQUIRED"),
        190: ("No conntrack map found", "CT_NO_MAP_FOUND"),
        191: ("No nat map found", "SNAT_NO_MAP_FOUND"),
        192: ("Invalid ClusterID", "INVALID_CLUSTER_ID"),
        193: ("Unsupported packet protocol for DSR encapsulation", "UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP"),
        194: ("No egress gateway found", "NO_EGRESS_GATEWAY"),
        195: ("Traffic is unencrypted", "UNENCRYPTED_TRAFFIC"),
        196: ("TTL exceeded", "TTL_EXCEEDED"),
        197: ("No node ID found", "NO_NODE_ID"),
        198: ("Rate limited", "DROP_RATE_LIMITED"),
        199: ("IGMP handled", "IGMP_HANDLED"),
        200: ("IGMP subscribed", "IGMP_SUBSCRIBED"),
        201: ("Multicast handled", "MULTICAST_HANDLED"),
        202: ("Host datapath not ready", "DROP_HOST_NOT_READY"),
        203: ("Endpoint policy program not available", "DROP_EP_NOT_READY"),
        204: ("No Egress IP configured", "DROP_NO_EGRESS_IP"),
        205: ("Punt to proxy", "DROP_PUNT_PROXY"),
    ]

    public static func dropReasonName(_ code: Int) -> String {
        if let p = dropReasons[code]?.proto, !p.isEmpty { return p }
        return code == 0 ? "DROP_REASON_UNKNOWN" : String(code)
    }

    /// `DropReason` proto name → code.
    public static let dropReasonCodes: [String: Int] = {
        var m: [String: Int] = [:]
        for (code, v) in dropReasons where !v.proto.isEmpty { m[v.proto] = code }
        return m
    }()

    /// Reserved identities as compact output names them (`(world)`), 0–10.
    public static let reservedIdentities: [UInt32: String] = [
        0: "unknown", 1: "host", 2: "world", 3: "unmanaged", 4: "health", 5: "init", 6: "remote-node", 7: "kube-apiserver",
        8: "ingress", 9: "world-ipv4", 10: "world-ipv6",
    ]

    /// Names → numbers of the enums whose numbers are not 0…n (for reading JSON).
    public static let observationPointCodes = Dictionary(uniqueKeysWithValues: observationPoints.map { ($0.value, $0.key) })
    public static let debugCapturePointCodes = Dictionary(uniqueKeysWithValues: debugCapturePoints.map { ($0.value, $0.key) })
}
