// Writing flows as hubble's `-o json` prints them: protojson with proto field names, fields in
// the order flow.proto declares them, zero values left out (a `BoolValue` such as `is_reply` is
// written even when false), enums by name, 64-bit integers as strings.
import PolicyAPI

public enum FlowJSONWriter {
    /// A `GetFlowsResponse` line (without the newline).
    public static func record(_ r: FlowRecord) -> String {
        var w = ObjectWriter()
        switch r {
        case let .flow(f, node, time):
            w.raw("flow", flow(f))
            w.string("node_name", node)
            if let time { w.string("time", timestamp(time)) }
        case let .lostEvents(source, count, cpu, node, time):
            var l = ObjectWriter()
            if source != 0 { l.enumValue("source", source, HubbleEnums.lostEventSources) }
            if count != 0 { l.string("num_events_lost", String(count)) }
            if let cpu { l.raw("cpu", "{\"value\":\(cpu)}") }
            w.raw("lost_events", l.text)
            w.string("node_name", node)
            if let time { w.string("time", timestamp(time)) }
        }
        return w.text
    }

    public static func timestamp(_ t: FlowTime) -> String {
        // protojson: RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.
        var s = HubbleTimeFormat.rfc3339.format(FlowTime(seconds: t.seconds, nanos: 0))
        s.removeLast()  // Z
        if t.nanos != 0 {
            let n = Int(t.nanos)
            let digits = n % 1_000_000 == 0 ? 3 : n % 1000 == 0 ? 6 : 9
            var v = n
            for _ in 0..<(9 - digits) { v /= 10 }
            let text = String(v)
            s += "." + String(repeating: "0", count: digits - text.count) + text
        }
        return s + "Z"
    }


    public static func flow(_ f: Flow) -> String {
        var w = ObjectWriter()
        if let t = f.time { w.string("time", timestamp(t)) }
        w.string("uuid", f.uuid)
        if f.verdict != 0 { w.enumValue("verdict", f.verdict, HubbleEnums.verdicts) }
        w.number("drop_reason", UInt64(f.dropReason))
        if f.authType != 0 { w.enumValue("auth_type", f.authType, HubbleEnums.authTypes) }
        if let ip = f.ip {
            var x = ObjectWriter()
            x.string("source", ip.source)
            x.string("source_xlated", ip.sourceXlated)
            x.string("destination", ip.destination)
            if ip.ipVersion != 0 { x.enumValue("ipVersion", ip.ipVersion, HubbleEnums.ipVersions) }
            if ip.encrypted { x.raw("encrypted", "true") }
            w.raw("IP", x.text)
        }
        if let l4 = f.l4 { w.raw("l4", layer4(l4)) }
        if let s = f.source { w.raw("source", endpoint(s)) }
        if let d = f.destination { w.raw("destination", endpoint(d)) }
        if f.type != 0 { w.enumValue("Type", f.type, HubbleEnums.flowTypes) }
        w.string("node_name", f.nodeName)
        w.strings("node_labels", f.nodeLabels)
        w.strings("source_names", f.sourceNames)
        w.strings("destination_names", f.destinationNames)
        if let l7 = f.l7 { w.raw("l7", layer7(l7)) }
        if let e = f.eventType {
            var x = ObjectWriter()
            x.number("type", Int64(e.type))
            x.number("sub_type", Int64(e.subType))
            w.raw("event_type", x.text)
        }
        if let s = f.sourceService { w.raw("source_service", service(s)) }
        if let s = f.destinationService { w.raw("destination_service", service(s)) }
        if f.trafficDirection != 0 { w.enumValue("traffic_direction", f.trafficDirection, HubbleEnums.trafficDirections) }
        w.number("policy_match_type", UInt64(f.policyMatchType))
        if f.traceObservationPoint != 0 {
            w.enumValue("trace_observation_point", f.traceObservationPoint, name: HubbleEnums.observationPoints[f.traceObservationPoint])
        }
        if f.traceReason != 0 { w.enumValue("trace_reason", f.traceReason, HubbleEnums.traceReasons) }
        if f.ipTraceID != 0 { w.raw("ip_trace_id", "{\"trace_id\":\"\(f.ipTraceID)\"}") }
        if f.dropReasonDesc != 0 { w.enumValue("drop_reason_desc", f.dropReasonDesc, name: HubbleEnums.dropReasons[f.dropReasonDesc].flatMap { $0.proto.isEmpty ? nil : $0.proto }) }
        if let r = f.isReply { w.raw("is_reply", r ? "true" : "false") }
        if f.debugCapturePoint != 0 { w.enumValue("debug_capture_point", f.debugCapturePoint, name: HubbleEnums.debugCapturePoints[f.debugCapturePoint]) }
        if let i = f.interface {
            var x = ObjectWriter()
            x.number("index", UInt64(i.index))
            x.string("name", i.name)
            w.raw("interface", x.text)
        }
        w.number("proxy_port", UInt64(f.proxyPort))
        if !f.traceID.isEmpty {
            var p = ObjectWriter()
            p.string("trace_id", f.traceID)
            w.raw("trace_context", "{\"parent\":\(p.text)}")
        }
        if f.sockXlatePoint != 0 { w.enumValue("sock_xlate_point", f.sockXlatePoint, HubbleEnums.sockXlatePoints) }
        if f.socketCookie != 0 { w.string("socket_cookie", String(f.socketCookie)) }
        if f.cgroupID != 0 { w.string("cgroup_id", String(f.cgroupID)) }
        w.string("Summary", f.summary)
        for (name, list) in [("egress_allowed_by", f.egressAllowedBy), ("ingress_allowed_by", f.ingressAllowedBy),
                             ("egress_denied_by", f.egressDeniedBy), ("ingress_denied_by", f.ingressDeniedBy)] where !list.isEmpty {
            w.raw(name, "[" + list.map(policy).joined(separator: ",") + "]")
        }
        return w.text
    }

    static func layer4(_ l4: FlowL4) -> String {
        var x = ObjectWriter()
        func ports(_ s: UInt32, _ d: UInt32) -> ObjectWriter {
            var p = ObjectWriter()
            p.number("source_port", UInt64(s))
            p.number("destination_port", UInt64(d))
            return p
        }
        switch l4 {
        case let .tcp(s, d, flags):
            var p = ports(s, d)
            if let flags {
                var fl = ObjectWriter()
                for n in flags.setNames { fl.raw(n, "true") }
                p.raw("flags", fl.text)
            }
            x.raw("TCP", p.text)
        case let .udp(s, d): x.raw("UDP", ports(s, d).text)
        case let .sctp(s, d): x.raw("SCTP", ports(s, d).text)
        case let .icmpv4(t, c), let .icmpv6(t, c):
            var i = ObjectWriter()
            i.number("type", UInt64(t))
            i.number("code", UInt64(c))
            if case .icmpv4 = l4 { x.raw("ICMPv4", i.text) } else { x.raw("ICMPv6", i.text) }
        }
        return x.text
    }

    static func endpoint(_ e: FlowEndpoint) -> String {
        var x = ObjectWriter()
        x.number("ID", UInt64(e.id))
        x.number("identity", UInt64(e.identity))
        x.string("cluster_name", e.clusterName)
        x.string("namespace", e.namespace)
        x.strings("labels", e.labels)
        x.string("pod_name", e.podName)
        if !e.workloads.isEmpty {
            x.raw("workloads", "[" + e.workloads.map { wl in
                var o = ObjectWriter()
                o.string("name", wl.name)
                o.string("kind", wl.kind)
                return o.text
            }.joined(separator: ",") + "]")
        }
        return x.text
    }

    static func service(_ s: FlowService) -> String {
        var x = ObjectWriter()
        x.string("name", s.name)
        x.string("namespace", s.namespace)
        return x.text
    }

    static func policy(_ p: FlowPolicy) -> String {
        var x = ObjectWriter()
        x.string("name", p.name)
        x.string("namespace", p.namespace)
        x.strings("labels", p.labels)
        if p.revision != 0 { x.string("revision", String(p.revision)) }
        x.string("kind", p.kind)
        return x.text
    }

    static func layer7(_ l7: FlowL7) -> String {
        var x = ObjectWriter()
        if l7.type != 0 { x.enumValue("type", l7.type, HubbleEnums.l7FlowTypes) }
        if l7.latencyNs != 0 { x.string("latency_ns", String(l7.latencyNs)) }
        if let d = l7.dns {
            var o = ObjectWriter()
            o.string("query", d.query)
            o.strings("ips", d.ips)
            o.number("ttl", UInt64(d.ttl))
            o.strings("cnames", d.cnames)
            o.string("observation_source", d.observationSource)
            o.number("rcode", UInt64(d.rcode))
            o.strings("qtypes", d.qtypes)
            o.strings("rrtypes", d.rrtypes)
            x.raw("dns", o.text)
        }
        if let h = l7.http {
            var o = ObjectWriter()
            o.number("code", UInt64(h.code))
            o.string("method", h.method)
            o.string("url", h.url)
            o.string("protocol", h.protocolName)
            if !h.headers.isEmpty {
                o.raw("headers", "[" + h.headers.map { hd in
                    var e = ObjectWriter()
                    e.string("key", hd.key)
                    e.string("value", hd.value)
                    return e.text
                }.joined(separator: ",") + "]")
            }
            x.raw("http", o.text)
        }
        return x.text
    }
}

/// Builds a JSON object field by field, leaving out proto3 zero values.
struct ObjectWriter {
    private var body = ""
    var text: String { "{" + body + "}" }

    mutating func key(_ k: String) {
        if !body.isEmpty { body += "," }
        body += "\"\(k)\":"
    }
    mutating func raw(_ k: String, _ json: String) {
        key(k)
        body += json
    }
    mutating func string(_ k: String, _ v: String) {
        guard !v.isEmpty else { return }
        key(k)
        Self.quote(v, into: &body)
    }
    /// An enum as protojson writes it: its name, or its number when no name is known.
    mutating func enumValue(_ k: String, _ v: Int, _ names: [String]) {
        enumValue(k, v, name: v >= 0 && v < names.count ? names[v] : nil)
    }
    mutating func enumValue(_ k: String, _ v: Int, name: String?) {
        if let name { string(k, name) } else { raw(k, String(v)) }
    }
    mutating func number(_ k: String, _ v: UInt64) {
        guard v != 0 else { return }
        raw(k, String(v))
    }
    mutating func number(_ k: String, _ v: Int64) {
        guard v != 0 else { return }
        raw(k, String(v))
    }
    mutating func strings(_ k: String, _ v: [String]) {
        guard !v.isEmpty else { return }
        key(k)
        body += "["
        for (i, s) in v.enumerated() {
            if i > 0 { body += "," }
            Self.quote(s, into: &body)
        }
        body += "]"
    }

    /// protojson's string escaping (quotes, backslashes, control characters; <, > and & as they are).
    static func quote(_ s: String, into out: inout String) { AnyManifest.quoteJSON(s, into: &out) }
}
