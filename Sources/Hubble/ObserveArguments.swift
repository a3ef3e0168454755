// `hubble observe`'s command line, parsed as hubble 1.19 parses it (reference §6.2, §6.3;
// hubble/cmd/observe/flows.go, flows_filter.go): pflag's syntax (`--flag value`, `--flag=value`,
// clustered short flags, booleans as `--flag=false`), filter flags applied in order so that
// `--not` negates the next filter flag, the CLI's left/right construction of the FlowFilters,
// its conflict groups and namespace checks, and hubble's error texts (pflag wraps a flag's own
// error as `invalid argument "V" for "--flag" flag: …`). Errors the hubble *server* would
// return for the filters (bad port, unknown protocol, bad CIDR, selector syntax…) are raised
// here too, except with --print-raw-filters, which prints the filters as hubble does.

public struct ObserveArgumentError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct ObserveArguments: Sendable {
    /// The request's allowlist and denylist (CLI filters, then --allowlist/--denylist JSON).
    public var filters = FlowFilters()
    /// `compact`, `dict`, `json` (also for `JSON`), `jsonpb` or `table` (also for `tab`).
    public var output = "compact"
    public var compact = CompactOptions()
    /// The --time-format name as given (hubble: case-insensitive, unknown names mean StampMilli).
    public var timeFormatName = "StampMilli"
    public var numeric = false
    public var first: UInt64?
    public var last: UInt64?
    public var all = false
    public var follow = false
    public var since: FlowTime?
    /// nil with --follow (hubble does not send `until` when following).
    public var until: FlowTime?
    public var inputFile: String?
    public var printRawFilters = false
    public var color = "auto"
    public var silentErrors = false
    public var server: String?
    /// --timeout as given (a Go duration, validated).
    public var timeout: String?
    public var fieldMask: [String] = []
    public var useDefaultFieldMasks = false
    public var debug = false
    /// -h/--help was given.
    public var help = false
    /// The other connection flags (TLS, basic auth, port forwarding, kube, --config,
    /// --request-timeout) as given, by flag name.
    public var connection: [String: String] = [:]

    public init() {}

    /// Whether the request asks for the first flows (`--first N`, N > 0).
    public var requestFirst: Bool { (first ?? 0) > 0 }

    /// `GetFlowsRequest.number` as hubble computes it: --first N; or --last N; --all (without
    /// --since/--until) is 2^64-1; without any of last/first/all/since/until/follow/input-file,
    /// 20; otherwise 0 (no limit).
    public var requestNumber: UInt64 {
        if requestFirst { return first ?? 0 }
        var n = last ?? 0
        if since == nil && until == nil {
            if all {
                n = .max
            } else if n == 0 && !follow && inputFile == nil {
                n = 20
            }
        }
        return n
    }

    /// How many of the newest matching flows to print: --last N, or the implied `--last 20` of a
    /// plain `hubble observe`; nil when there is no such limit (--first, --all, --since/--until
    /// without --last, --follow, --input-file without --last).
    public var impliedLast: UInt64? {
        let n = requestNumber
        return !requestFirst && n != 0 && n != .max ? n : nil
    }

    /// What `hubble observe --input-file` prints of `records`: those within --since/--until
    /// that pass the filters, then the first N (--first) or the last N (--last).
    public func select<S: Sequence>(_ records: S) -> [FlowRecord] where S.Element == FlowRecord {
        var out: [FlowRecord] = []
        let n = requestNumber
        let matcher = filters.matcher()
        for r in records {
            let t: FlowTime
            switch r {
            case let .flow(f, _, time): t = time ?? f.time ?? FlowTime(seconds: 0, nanos: 0)
            case let .lostEvents(_, _, _, _, time): t = time ?? FlowTime(seconds: 0, nanos: 0)
            }
            if let since, t < since { continue }
            if let until, until < t { continue }
            guard matcher.admits(r) else { continue }
            out.append(r)
            if requestFirst && n != .max && out.count == n { break }
        }
        if !requestFirst && n != 0 && n != .max && out.count > n { out.removeFirst(out.count - Int(n)) }
        return out
    }

    /// Exactly what `hubble observe … --print-raw-filters` prints.
    public func rawFiltersYAML() -> String {
        var s = ""
        for (name, list) in [("allowlist", filters.allowlist), ("denylist", filters.denylist)] where !list.isEmpty {
            s += name + ":\n"
            for f in list { s += "    - " + Self.yamlSingleQuoted(f.json) + "\n" }
        }
        return s.isEmpty ? "{}\n" : s
    }

    /// hubble's --since/--until syntax: a Go duration before `now` (`3s`, `1h43m`) or an
    /// absolute time (2006-01-02, 2006-01-02T15Z07:00, 2006-01-02T15:04Z07:00, RFC3339 with an
    /// optional fraction, RFC1123Z).
    public static func parseTime(_ s: String, now: FlowTime) -> FlowTime? { GoSyntax.hubbleTime(s, now: now) }

    static func yamlSingleQuoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

// MARK: - Parsing

extension ObserveArguments {
    enum Kind { case filter, bool, uint64, string, stringArray, stringSlice, duration, uint16 }

    struct Spec {
        var name: String
        var short: Character?
        var kind: Kind
        /// pflag's NoOptDefVal: the value when the flag is given without `=value`.
        var noOptDefault: String?
        var display: String { short.map { "-\($0), --\(name)" } ?? "--\(name)" }
    }

    static let specs: [Spec] = {
        var s: [Spec] = []
        func add(_ name: String, _ kind: Kind, short: Character? = nil, noOpt: String? = nil) {
            s.append(Spec(name: name, short: short, kind: kind, noOptDefault: noOpt ?? (kind == .bool ? "true" : nil)))
        }
        // Filters.
        add("not", .filter, noOpt: "true")
        for n in ["uuid", "node-name", "node-label", "from-cluster", "cluster", "to-cluster", "protocol", "tcp-flags", "verdict",
                  "drop-reason-desc", "http-status", "http-method", "http-path", "http-url", "http-header", "trace-id", "ip-trace-id",
                  "from-fqdn", "fqdn", "to-fqdn", "from-ip", "snat-ip", "ip", "to-ip", "ip-version", "from-pod", "pod", "to-pod",
                  "from-namespace", "to-namespace", "from-label", "to-label", "from-service", "service", "to-service", "from-port",
                  "port", "to-port", "from-workload", "workload", "to-workload", "from-identity", "identity", "to-identity",
                  "traffic-direction", "cel-expression", "interface"]
        {
            add(n, .filter)
        }
        add("type", .filter, short: "t")
        add("ipv4", .filter, short: "4", noOpt: "v4")
        add("ipv6", .filter, short: "6", noOpt: "v6")
        add("namespace", .filter, short: "n")
        add("label", .filter, short: "l")
        add("from-all-namespaces", .filter, noOpt: "true")
        add("all-namespaces", .filter, short: "A", noOpt: "true")
        add("to-all-namespaces", .filter, noOpt: "true")
        add("encrypted", .filter, noOpt: "true")
        add("unencrypted", .filter, noOpt: "true")
        add("allowlist", .stringArray)
        add("denylist", .stringArray)
        // Selectors.
        add("all", .bool)
        add("last", .uint64)
        add("first", .uint64)
        add("follow", .bool, short: "f")
        add("since", .string)
        add("until", .string)
        // Formatting.
        add("output", .string, short: "o")
        add("print-node-name", .bool)
        add("print-policy-names", .bool)
        add("time-format", .string)
        add("numeric", .bool)
        add("ip-translation", .bool)
        add("color", .string)
        // Other.
        add("silent-errors", .bool, short: "s")
        add("print-raw-filters", .bool)
        add("input-file", .string)
        add("field-mask", .stringSlice)
        add("use-default-field-masks", .bool)
        // Server and global flags.
        add("server", .string)
        add("timeout", .duration)
        add("request-timeout", .duration)
        add("tls", .bool)
        add("tls-allow-insecure", .bool)
        add("tls-ca-cert-files", .stringSlice)
        for n in ["tls-client-cert-file", "tls-client-key-file", "tls-server-name", "basic-auth-username", "basic-auth-password",
                  "kube-context", "kubeconfig", "kube-namespace", "config"]
        {
            add(n, .string)
        }
        add("port-forward", .bool, short: "P")
        add("port-forward-port", .uint16)
        add("debug", .bool, short: "D")
        add("help", .bool, short: "h")
        return s
    }()

    static let byName: [String: Spec] = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
    static let byShort: [Character: Spec] = Dictionary(uniqueKeysWithValues: specs.compactMap { s in s.short.map { ($0, s) } })

    /// Parses `hubble observe`'s arguments (without the words `observe`/`flows`). `now` anchors
    /// relative --since/--until (`3s`, `1h43m`).
    public static func parse(_ args: [String], now: FlowTime) throws(ObserveArgumentError) -> ObserveArguments {
        var a = ObserveArguments()
        var builder = FilterBuilder()
        var sinceText: String?, untilText: String?
        var allowRaw: [String] = [], denyRaw: [String] = []
        var positional: [String] = []

        func apply(_ spec: Spec, _ value: String) throws(ObserveArgumentError) {
            func wrap(_ err: String) -> ObserveArgumentError {
                ObserveArgumentError("invalid argument \(GoSyntax.quote(value)) for \(GoSyntax.quote(spec.display)) flag: \(err)")
            }
            switch spec.kind {
            case .filter:
                do { try builder.set(spec.name, value) } catch { throw wrap(error.message) }
            case .bool:
                guard let b = GoSyntax.parseBool(value) else {
                    throw wrap("strconv.ParseBool: parsing \(GoSyntax.quote(value)): invalid syntax")
                }
                switch spec.name {
                case "all": a.all = b
                case "follow": a.follow = b
                case "print-node-name": a.compact.printNodeName = b
                case "print-policy-names": a.compact.printPolicyNames = b
                case "numeric": a.numeric = b
                case "ip-translation": a.compact.ipTranslation = b
                case "silent-errors": a.silentErrors = b
                case "print-raw-filters": a.printRawFilters = b
                case "use-default-field-masks": a.useDefaultFieldMasks = b
                case "debug": a.debug = b
                case "help": a.help = b
                default: a.connection[spec.name] = b ? "true" : "false"
                }
            case .uint64:
                let v: UInt64
                switch GoSyntax.parseUintBase0(value, max: .max) {
                case let .success(n): v = n
                case let .failure(e): throw wrap(e.message)
                }
                if spec.name == "last" { a.last = v } else { a.first = v }
            case .uint16:
                if case let .failure(e) = GoSyntax.parseUintBase0(value, max: UInt64(UInt16.max)) { throw wrap(e.message) }
                a.connection[spec.name] = value
            case .duration:
                if case let .failure(e) = GoSyntax.duration(value) { throw wrap(e.message) }
                if spec.name == "timeout" { a.timeout = value } else { a.connection[spec.name] = value }
            case .string:
                switch spec.name {
                case "since": sinceText = value
                case "until": untilText = value
                case "output": a.output = value
                case "time-format": a.timeFormatName = value
                case "color": a.color = value
                case "input-file": a.inputFile = value
                case "server": a.server = value
                default: a.connection[spec.name] = value
                }
            case .stringArray:
                if spec.name == "allowlist" { allowRaw.append(value) } else { denyRaw.append(value) }
            case .stringSlice:
                let items = value.isEmpty ? [] : value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if spec.name == "field-mask" {
                    a.fieldMask += items
                } else {
                    a.connection[spec.name] = ((a.connection[spec.name].map { [$0] } ?? []) + items).joined(separator: ",")
                }
            }
        }

        var i = 0
        while i < args.count {
            let arg = args[i]
            i += 1
            if arg == "--" {
                positional += args[i...]
                break
            }
            if arg.hasPrefix("--") {
                let body = arg.dropFirst(2)
                let name: String, inline: String?
                if let eq = body.firstIndex(of: "=") {
                    name = String(body[..<eq])
                    inline = String(body[body.index(after: eq)...])
                } else {
                    name = String(body)
                    inline = nil
                }
                guard let spec = byName[name] else { throw ObserveArgumentError("unknown flag: --\(name)") }
                let value: String
                if let inline {
                    value = inline
                } else if let d = spec.noOptDefault {
                    value = d
                } else if i < args.count {
                    value = args[i]
                    i += 1
                } else {
                    throw ObserveArgumentError("flag needs an argument: \(arg)")
                }
                try apply(spec, value)
            } else if arg.hasPrefix("-") && arg.count > 1 {
                var rest = Substring(arg.dropFirst())
                while let c = rest.first {
                    let cluster = rest
                    rest = rest.dropFirst()
                    guard let spec = byShort[c] else { throw ObserveArgumentError("unknown shorthand flag: '\(c)' in -\(cluster)") }
                    let value: String
                    if rest.first == "=" {
                        value = String(rest.dropFirst())
                        rest = ""
                    } else if let d = spec.noOptDefault {
                        value = d
                    } else if !rest.isEmpty {
                        value = String(rest)
                        rest = ""
                    } else if i < args.count {
                        value = args[i]
                        i += 1
                    } else {
                        throw ObserveArgumentError("flag needs an argument: '\(c)' in -\(cluster)")
                    }
                    try apply(spec, value)
                }
            } else {
                positional.append(arg)
            }
        }
        if a.help { return a }
        if let p = positional.first {
            // hubble silently ignores them; porin refuses them (a forgotten flag name, a value
            // that was meant to be quoted).
            throw ObserveArgumentError("unexpected argument \(GoSyntax.quote(p)) (observe takes only flags)")
        }

        // hubble's RunE: handleFlowArgs …
        if builder.blacklisting { throw ObserveArgumentError("trailing --not found in the arguments") }
        let givenOutput = a.output
        switch a.output {
        case "compact", "dict", "jsonpb": break
        case "json", "JSON": a.output = "json"
        case "tab", "table":
            if a.follow { throw ObserveArgumentError("table output format is not compatible with follow mode") }
            a.output = "table"
        default: throw ObserveArgumentError("invalid output format: \(a.output)")
        }
        let jsonOut = a.output == "json" || a.output == "jsonpb"
        if !jsonOut && !a.fieldMask.isEmpty {
            throw ObserveArgumentError("\(givenOutput) output format is not compatible with custom field mask")
        }
        if a.numeric { a.compact.ipTranslation = false }
        let tf = a.timeFormatName.lowercased()
        a.compact.timeFormat = HubbleTimeFormat.allCases.first { $0.rawValue.lowercased() == tf } ?? .stampMilli

        // … then getFlowsRequest.
        let first = (a.first ?? 0) > 0, last = (a.last ?? 0) > 0
        if first && last { throw ObserveArgumentError("cannot set both --first and --last") }
        if first && a.all { throw ObserveArgumentError("cannot set both --first and --all") }
        if first && a.follow { throw ObserveArgumentError("cannot set both --first and --follow") }
        if last && a.all { throw ObserveArgumentError("cannot set both --last and --all") }
        if let s = sinceText, !s.isEmpty {
            guard let t = GoSyntax.hubbleTime(s, now: now) else {
                throw ObserveArgumentError("failed to parse the since time: failed to convert \(s) to time")
            }
            a.since = t
        }
        if let u = untilText, !u.isEmpty, !a.follow {
            guard let t = GoSyntax.hubbleTime(u, now: now) else {
                throw ObserveArgumentError("failed to parse the until time: failed to convert \(u) to time")
            }
            a.until = t
        }
        var allow = builder.whitelist?.flowFilters() ?? []
        var deny = builder.blacklist?.flowFilters() ?? []
        for raw in allowRaw {
            do { allow += try FlowFilter.decodeAll(raw) } catch {
                throw ObserveArgumentError("invalid --allowlist flag: failed to decode '\(raw)': \(error.message)")
            }
        }
        for raw in denyRaw {
            do { deny += try FlowFilter.decodeAll(raw) } catch {
                throw ObserveArgumentError("invalid --denylist flag: failed to decode '\(raw)': \(error.message)")
            }
        }
        a.filters = FlowFilters(allowlist: allow, denylist: deny)
        for m in a.fieldMask {
            let top = String(m.split(separator: ".", omittingEmptySubsequences: false).first ?? "")
            if !flowFieldNames.contains(top) {
                throw ObserveArgumentError(
                    "failed to construct field mask: proto: invalid path \(GoSyntax.quote(m)) for message \"flow.Flow\"")
            }
        }
        if a.printRawFilters { return a }

        // What the client and the server would refuse.
        if a.inputFile != nil && a.connection["port-forward"] == "true" {
            throw ObserveArgumentError("cannot use --input-file and --auto-port-forward together")
        }
        do { try a.filters.validate() } catch { throw ObserveArgumentError(error.message) }
        if a.inputFile != nil, let n = a.impliedLast, n > 1_000_000 {
            throw ObserveArgumentError("--last must be <= 1_000_000, got \(n)")
        }
        return a
    }

    /// Top-level field names of flow.Flow (for --field-mask).
    static let flowFieldNames: Set<String> = [
        "time", "uuid", "emitter", "verdict", "drop_reason", "auth_type", "ethernet", "IP", "l4", "tunnel", "source", "destination",
        "Type", "node_name", "node_labels", "source_names", "destination_names", "l7", "reply", "event_type", "source_service",
        "destination_service", "traffic_direction", "policy_match_type", "trace_observation_point", "trace_reason", "file",
        "ip_trace_id", "drop_reason_desc", "is_reply", "debug_capture_point", "interface", "proxy_port", "trace_context",
        "sock_xlate_point", "socket_cookie", "cgroup_id", "Summary", "extensions", "egress_allowed_by", "ingress_allowed_by",
        "egress_denied_by", "ingress_denied_by", "policy_log", "aggregate",
    ]
}

// MARK: - The CLI's filter construction (flows_filter.go)

/// One side (allow or deny) of the CLI's filters: a `left` and a `right` FlowFilter, ORed.
struct FilterTracker {
    var left: FlowFilter?
    var right: FlowFilter?
    var ns: [String] = []
    var srcNs: [String] = []
    var dstNs: [String] = []
    var changed: [String] = []

    mutating func apply(_ update: (inout FlowFilter) -> Void) {
        applyLeft(update)
        applyRight(update)
    }
    mutating func applyLeft(_ update: (inout FlowFilter) -> Void) {
        var f = left ?? FlowFilter()
        update(&f)
        left = f
    }
    mutating func applyRight(_ update: (inout FlowFilter) -> Void) {
        var f = right ?? FlowFilter()
        update(&f)
        right = f
    }

    func flowFilters() -> [FlowFilter] {
        if left == nil && right == nil && ns.isEmpty && srcNs.isEmpty && dstNs.isEmpty { return [] }
        var l = left ?? FlowFilter(), r = right ?? FlowFilter()
        if !dstNs.isEmpty {
            Self.applyDest(&l, dstNs)
            Self.applyDest(&r, dstNs)
        }
        if !srcNs.isEmpty {
            Self.applySrc(&l, srcNs)
            Self.applySrc(&r, srcNs)
        }
        if !ns.isEmpty {
            Self.applySrc(&l, ns)
            Self.applyDest(&r, ns)
        }
        return l == r ? [l] : [l, r]
    }

    static func applySrc(_ f: inout FlowFilter, _ nss: [String]) {
        if f.sourcePod.isEmpty && f.sourceService.isEmpty { f.sourcePod = [""] }
        f.sourcePod = addNamespaces(f.sourcePod, nss)
        f.sourceService = addNamespaces(f.sourceService, nss)
    }
    static func applyDest(_ f: inout FlowFilter, _ nss: [String]) {
        if f.destinationPod.isEmpty && f.destinationService.isEmpty { f.destinationPod = [""] }
        f.destinationPod = addNamespaces(f.destinationPod, nss)
        f.destinationService = addNamespaces(f.destinationService, nss)
    }
    static func addNamespaces(_ names: [String], _ nss: [String]) -> [String] {
        if nss.isEmpty || names.isEmpty { return names }
        var out: [String] = []
        for n in names {
            if n.contains("/") {
                out.append(n)
                continue
            }
            for ns in nss { out.append("\(ns)/\(n)") }
        }
        return out
    }

    static func namespace(of name: String) -> String {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count > 1 ? String(parts[0]) : ""
    }

    static func conflicts(_ nss: [String], _ names: [String]) -> String? {
        for ns in nss {
            for name in names {
                let nn = namespace(of: name)
                if !nn.isEmpty && nn != ns { return "namespace conflict: \(GoSyntax.quote(ns)) does not contain \(GoSyntax.quote(name))" }
            }
        }
        return nil
    }

    static func inconsistent(_ pods: [String], _ services: [String]) -> String? {
        for pod in pods {
            let podNs = namespace(of: pod)
            if podNs.isEmpty { continue }
            for svc in services where namespace(of: svc) != podNs {
                return "namespace of service \(GoSyntax.quote(svc)) conflict with pod \(GoSyntax.quote(podNs))"
            }
        }
        return nil
    }

    func namespaceConflicts(_ f: FlowFilter?) -> String? {
        guard let f else { return nil }
        let errs = [
            Self.conflicts(ns, f.sourcePod), Self.conflicts(ns, f.sourceService), Self.conflicts(ns, f.destinationPod),
            Self.conflicts(ns, f.destinationService), Self.conflicts(srcNs, f.sourcePod), Self.conflicts(srcNs, f.sourceService),
            Self.conflicts(dstNs, f.destinationPod), Self.conflicts(dstNs, f.destinationService),
            Self.inconsistent(f.sourcePod, f.sourceService), Self.inconsistent(f.destinationPod, f.destinationService),
        ].compactMap { $0 }
        return errs.isEmpty ? nil : errs.joined(separator: "\n")
    }
}

struct FilterBuilder {
    var whitelist: FilterTracker?
    var blacklist: FilterTracker?
    var blacklisting = false

    static let conflictGroups: [[String]] = [
        ["from-fqdn", "from-ip", "ip", "fqdn", "from-namespace", "namespace", "from-all-namespaces", "all-namespaces"],
        ["from-fqdn", "from-ip", "ip", "fqdn", "from-pod", "pod"],
        ["to-fqdn", "to-ip", "ip", "fqdn", "to-namespace", "namespace", "to-all-namespaces", "all-namespaces"],
        ["to-fqdn", "to-ip", "ip", "fqdn", "to-pod", "pod"],
        ["to-pod", "namespace", "all-namespaces"],
        ["from-pod", "namespace", "all-namespaces"],
        ["to-service", "namespace", "all-namespaces"],
        ["from-service", "namespace", "all-namespaces"],
        ["label", "from-label"],
        ["label", "to-label"],
        ["service", "from-service"],
        ["service", "to-service"],
        ["port", "to-port"],
        ["port", "from-port"],
        ["identity", "to-identity"],
        ["identity", "from-identity"],
        ["workload", "to-workload"],
        ["workload", "from-workload"],
        ["encrypted", "unencrypted"],
    ]

    /// Reserved identity names in numeric order (the list hubble prints in its error).
    static let reservedIdentityNames = ["host", "world", "unmanaged", "health", "init", "remote-node", "kube-apiserver", "ingress",
                                        "world-ipv4", "world-ipv6"]

    static let agentSubtypes: [String: Int32] = [
        "unspecified": 0, "message": 1, "agent-started": 2, "endpoint-regenerate-success": 3, "endpoint-regenerate-failure": 4,
        "policy-updated": 5, "policy-deleted": 6, "endpoint-created": 7, "endpoint-deleted": 8, "ipcache-upserted": 9,
        "ipcache-deleted": 10,
    ]

    mutating func set(_ name: String, _ val: String) throws(FlowFilterError) {
        if name == "not" {
            if blacklisting { throw FlowFilterError("consecutive --not statements") }
            blacklisting = true
            return
        }
        if blacklisting {
            blacklisting = false
            var t = blacklist ?? FilterTracker()
            defer { blacklist = t }
            try Self.set(&t, name, val)
        } else {
            var t = whitelist ?? FilterTracker()
            defer { whitelist = t }
            try Self.set(&t, name, val)
        }
    }

    static func checkConflict(_ t: FilterTracker) throws(FlowFilterError) {
        for group in conflictGroups {
            for flag in group where t.changed.contains(flag) {
                for other in group where other != flag && t.changed.contains(other) {
                    throw FlowFilterError("filters --\(flag) and --\(other) cannot be combined")
                }
            }
        }
    }

    static func identity(_ s: String) throws(FlowFilterError) -> UInt32 {
        if let i = reservedIdentityNames.firstIndex(of: s) { return UInt32(i + 1) }
        if case let .success(n) = GoSyntax.parseUintBase0(s, max: UInt64(UInt32.max)) { return UInt32(n) }
        let names = reservedIdentityNames.joined(separator: " ")
        throw FlowFilterError("invalid security identity, expected one of [\(names)] or a numeric value")
    }

    static func workload(_ s: String) -> Workload {
        if s.isEmpty { return Workload(name: "", kind: "") }
        if let slash = s.firstIndex(of: "/") {
            return Workload(name: String(s[s.index(after: slash)...]), kind: String(s[..<slash]))
        }
        return Workload(name: s, kind: "")
    }

    static func tcpFlags(_ val: String) throws(FlowFilterError) -> TCPFlags {
        var t = TCPFlags()
        for f in val.split(separator: ",", omittingEmptySubsequences: false) where !t.set(f) {
            throw FlowFilterError("unknown tcp flag: \(f)")
        }
        return t
    }

    static func eventType(_ val: String) throws(FlowFilterError) -> FlowFilter.EventType {
        let s = val.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var filter = FlowFilter.EventType(type: 0)
        // hubble switches on the *name's* type: a numeric type never takes a sub-type name.
        let named = HubbleEnums.eventTypeNames.first { $0.value == s[0] }?.key
        if let named {
            filter.type = named
        } else {
            guard case let .success(n) = GoSyntax.parseUint10(s[0], max: UInt64(UInt32.max)) else {
                throw FlowFilterError(
                    "unable to parse type '\(s[0])', not a known type name and unable to parse as numeric value: "
                        + (GoSyntax.parseUintError(s[0], bits: 32) ?? "")
                )
            }
            filter.type = Int32(truncatingIfNeeded: n)
        }
        if s.count > 1 {
            if named == 4, let sub = HubbleEnums.traceSubtypeNames.first(where: { $0.value == s[1] })?.key {
                filter.matchSubType = true
                filter.subType = sub
            } else if named == 130, let sub = agentSubtypes[s[1]] {
                filter.matchSubType = true
                filter.subType = sub
            }
            if !filter.matchSubType {
                guard case let .success(n) = GoSyntax.parseUint10(s[1], max: UInt64(UInt32.max)) else {
                    throw FlowFilterError(
                        "unable to parse event sub-type '\(s[1])', not a known sub-type name and unable to parse as numeric value: "
                            + (GoSyntax.parseUintError(s[1], bits: 32) ?? "")
                    )
                }
                filter.matchSubType = true
                filter.subType = Int32(truncatingIfNeeded: n)
            }
        }
        return filter
    }

    static func ipVersion(_ v: String) -> Int {
        switch v.lowercased() {
        case "4", "v4", "ipv4", "ip4": 1
        case "6", "v6", "ipv6", "ip6": 2
        default: 0
        }
    }

    static func set(_ f: inout FilterTracker, _ name: String, _ val: String) throws(FlowFilterError) {
        if !f.changed.contains(name) { f.changed.append(name) }
        try checkConflict(f)

        switch name {
        case "uuid": f.apply { $0.uuid.append(val) }
        case "fqdn":
            f.applyLeft { $0.sourceFQDN.append(val) }
            f.applyRight { $0.destinationFQDN.append(val) }
        case "from-fqdn": f.apply { $0.sourceFQDN.append(val) }
        case "to-fqdn": f.apply { $0.destinationFQDN.append(val) }
        case "pod":
            f.applyLeft { $0.sourcePod.append(val) }
            f.applyRight { $0.destinationPod.append(val) }
        case "from-pod": f.apply { $0.sourcePod.append(val) }
        case "to-pod": f.apply { $0.destinationPod.append(val) }
        case "from-ip": f.apply { $0.sourceIP.append(val) }
        case "snat-ip": f.apply { $0.sourceIPXlated.append(val) }
        case "ip":
            f.applyLeft { $0.sourceIP.append(val) }
            f.applyRight { $0.destinationIP.append(val) }
        case "to-ip": f.apply { $0.destinationIP.append(val) }
        case "ipv4": f.apply { $0.ipVersion.append(1) }
        case "ipv6": f.apply { $0.ipVersion.append(2) }
        case "ip-version": f.apply { $0.ipVersion.append(ipVersion(val)) }
        case "label":
            f.applyLeft { $0.sourceLabel.append(val) }
            f.applyRight { $0.destinationLabel.append(val) }
        case "from-label": f.apply { $0.sourceLabel.append(val) }
        case "to-label": f.apply { $0.destinationLabel.append(val) }
        case "namespace": f.ns.append(val)
        case "from-namespace": f.srcNs.append(val)
        case "to-namespace": f.dstNs.append(val)
        case "all-namespaces": f.ns.append("")
        case "from-all-namespaces": f.srcNs.append("")
        case "to-all-namespaces": f.dstNs.append("")
        case "service":
            f.applyLeft { $0.sourceService.append(val) }
            f.applyRight { $0.destinationService.append(val) }
        case "from-service": f.apply { $0.sourceService.append(val) }
        case "to-service": f.apply { $0.destinationService.append(val) }
        case "port":
            f.applyLeft { $0.sourcePort.append(val) }
            f.applyRight { $0.destinationPort.append(val) }
        case "from-port": f.apply { $0.sourcePort.append(val) }
        case "to-port": f.apply { $0.destinationPort.append(val) }
        case "trace-id": f.apply { $0.traceID.append(val) }
        case "ip-trace-id":
            if val == "0" { throw FlowFilterError("invalid --ip-trace-id value; must be greater than 0") }
            guard case let .success(id) = GoSyntax.parseUint10(val, max: .max) else {
                throw FlowFilterError("invalid --ip-trace-id value: \(GoSyntax.parseUintError(val, bits: 64) ?? "")")
            }
            f.apply { $0.ipTraceID.append(id) }
        case "verdict":
            guard let v = HubbleEnums.verdicts.firstIndex(of: val) else { throw FlowFilterError("invalid --verdict value: \(val)") }
            f.apply { $0.verdict.append(v) }
        case "drop-reason-desc":
            if val.isEmpty { throw FlowFilterError("empty --drop-reason-desc value") }
            guard let v = HubbleEnums.dropReasonCodes[val] else { throw FlowFilterError("invalid --drop-reason-desc value: \(val)") }
            f.apply { $0.dropReasonDesc.append(v) }
        case "http-status": f.apply { $0.httpStatusCode.append(val) }
        case "http-method": f.apply { $0.httpMethod.append(val) }
        case "http-path": f.apply { $0.httpPath.append(val) }
        case "http-url": f.apply { $0.httpURL.append(val) }
        case "http-header":
            guard let colon = val.firstIndex(of: ":") else {
                throw FlowFilterError("invalid http-header value \(GoSyntax.quote(val)), expected name:value")
            }
            let h = FlowFilter.HTTPHeader(key: String(val[..<colon]), value: String(val[val.index(after: colon)...]))
            f.apply { $0.httpHeader.append(h) }
        case "type":
            let t = try eventType(val)
            f.apply { $0.eventType.append(t) }
        case "protocol": f.apply { $0.protocols.append(val) }
        case "workload":
            let w = workload(val)
            f.applyLeft { $0.sourceWorkload.append(w) }
            f.applyRight { $0.destinationWorkload.append(w) }
        case "from-workload":
            let w = workload(val)
            f.apply { $0.sourceWorkload.append(w) }
        case "to-workload":
            let w = workload(val)
            f.apply { $0.destinationWorkload.append(w) }
        case "identity":
            let id = try identity(val)
            f.applyLeft { $0.sourceIdentity.append(id) }
            f.applyRight { $0.destinationIdentity.append(id) }
        case "from-identity":
            let id = try identity(val)
            f.apply { $0.sourceIdentity.append(id) }
        case "to-identity":
            let id = try identity(val)
            f.apply { $0.destinationIdentity.append(id) }
        case "node-name": f.apply { $0.nodeName.append(val) }
        case "node-label": f.apply { $0.nodeLabels.append(val) }
        case "cluster":
            f.applyLeft { $0.sourceClusterName.append(val) }
            f.applyRight { $0.destinationClusterName.append(val) }
        case "from-cluster": f.apply { $0.sourceClusterName.append(val) }
        case "to-cluster": f.apply { $0.destinationClusterName.append(val) }
        case "tcp-flags":
            let flags = try tcpFlags(val)
            f.apply { $0.tcpFlags.append(flags) }
        case "traffic-direction":
            let td = val.lowercased()
            switch td {
            case "ingress": f.apply { $0.trafficDirection.append(1) }
            case "egress": f.apply { $0.trafficDirection.append(2) }
            default: throw FlowFilterError("\(td): invalid traffic direction, expected ingress or egress")
            }
        case "cel-expression": f.apply { $0.celExpression.append(val) }
        case "interface": f.apply { $0.interface.append(FlowFilter.Interface(name: val)) }
        case "encrypted": f.apply { $0.encrypted.append(true) }
        case "unencrypted": f.apply { $0.encrypted.append(false) }
        default: break
        }

        if let e = f.namespaceConflicts(f.left) { throw FlowFilterError(e) }
        if let e = f.namespaceConflicts(f.right) { throw FlowFilterError(e) }
    }
}

// MARK: - Go's number, bool, duration and time syntax

extension GoSyntax {
    static func parseBool(_ s: String) -> Bool? {
        switch s {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }

    /// `strconv.ParseUint(s, 10, …)`.
    static func parseUint10(_ s: String, max: UInt64) -> Result<UInt64, FlowFilterError> {
        if let e = GoSyntax.parseUintError(s, bits: 64) { return .failure(FlowFilterError(e)) }
        guard let v = UInt64(s), v <= max else {
            return .failure(FlowFilterError("strconv.ParseUint: parsing \(GoSyntax.quote(s)): value out of range"))
        }
        return .success(v)
    }

    /// `strconv.ParseUint(s, 0, …)` (pflag's unsigned flags): 0x, 0o, 0b prefixes, a leading 0 for
    /// octal, underscores between digits.
    static func parseUintBase0(_ s: String, max: UInt64) -> Result<UInt64, FlowFilterError> {
        let syntax = FlowFilterError("strconv.ParseUint: parsing \(GoSyntax.quote(s)): invalid syntax")
        var digits = Substring(s)
        var radix = 10
        let lower = s.lowercased()
        if lower.hasPrefix("0x") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if lower.hasPrefix("0o") {
            radix = 8
            digits = digits.dropFirst(2)
        } else if lower.hasPrefix("0b") {
            radix = 2
            digits = digits.dropFirst(2)
        } else if s.count > 1 && s.hasPrefix("0") {
            radix = 8
            digits = digits.dropFirst()
        }
        if digits.hasPrefix("_") && radix != 10 { digits = digits.dropFirst() }
        let clean = digits.replacingOccurrences(of: "_", with: "")
        guard !clean.isEmpty, !digits.hasSuffix("_"), !digits.contains("__") else { return .failure(syntax) }
        guard clean.allSatisfy({ $0.isHexDigit && Int(String($0), radix: 16)! < radix }) else { return .failure(syntax) }
        guard let v = UInt64(clean, radix: radix), v <= max else {
            return .failure(FlowFilterError("strconv.ParseUint: parsing \(GoSyntax.quote(s)): value out of range"))
        }
        return .success(v)
    }

    /// Go's `time.ParseDuration`, in nanoseconds.
    static func duration(_ orig: String) -> Result<Int64, FlowFilterError> {
        let invalid = FlowFilterError("time: invalid duration \(GoSyntax.quote(orig))")
        var s = Substring(orig)
        var neg = false
        if let c = s.first, c == "-" || c == "+" {
            neg = c == "-"
            s = s.dropFirst()
        }
        if s == "0" { return .success(0) }
        if s.isEmpty { return .failure(invalid) }
        let units: [String: Double] = ["ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9]
        var total: Double = 0
        while !s.isEmpty {
            guard let c = s.first, c == "." || c.isASCII && c.isNumber else { return .failure(invalid) }
            let intPart = s.prefix { $0.isASCII && $0.isNumber }
            s = s.dropFirst(intPart.count)
            var frac: Substring = ""
            if s.first == "." {
                s = s.dropFirst()
                frac = s.prefix { $0.isASCII && $0.isNumber }
                s = s.dropFirst(frac.count)
            }
            if intPart.isEmpty && frac.isEmpty { return .failure(invalid) }
            let unit = s.prefix { !($0 == "." || $0.isASCII && $0.isNumber) }
            if unit.isEmpty { return .failure(FlowFilterError("time: missing unit in duration \(GoSyntax.quote(orig))")) }
            s = s.dropFirst(unit.count)
            guard let scale = units[String(unit)] else {
                return .failure(FlowFilterError("time: unknown unit \(GoSyntax.quote(String(unit))) in duration \(GoSyntax.quote(orig))"))
            }
            let v = Double(String(intPart.isEmpty ? "0" : intPart) + "." + String(frac.isEmpty ? "0" : frac)) ?? 0
            total += v * scale
            if total > 9.223372036854775807e18 { return .failure(invalid) }
        }
        let n = Int64(total.rounded(.towardZero))
        return .success(neg ? -n : n)
    }

    /// hubble's `time.FromString`: a Go duration before `now`, or an absolute time in one of the
    /// layouts 2006-01-02, 2006-01-02T15Z07:00, 2006-01-02T15:04Z07:00, RFC3339 (with optional
    /// fraction: RFC3339Nano, RFC3339Milli, RFC3339Micro) or RFC1123Z.
    static func hubbleTime(_ s: String, now: FlowTime) -> FlowTime? {
        if case let .success(d) = GoSyntax.duration(s) {
            let total = Int64(now.nanos) - d % 1_000_000_000
            var seconds = now.seconds - d / 1_000_000_000
            var nanos = total
            if nanos < 0 {
                nanos += 1_000_000_000
                seconds -= 1
            } else if nanos >= 1_000_000_000 {
                nanos -= 1_000_000_000
                seconds += 1
            }
            return FlowTime(seconds: seconds, nanos: Int32(nanos))
        }
        return GoSyntax.isoLayouts(s) ?? GoSyntax.rfc1123Z(s)
    }

    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146097 + doe - 719468)
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func isoLayouts(_ s: String) -> FlowTime? {
        var sc = ObserveTimeScanner(s)
        guard let y = sc.digits(4), sc.literal("-"), let mo = sc.digits(2), sc.literal("-"), let d = sc.digits(2),
            (1...12).contains(mo), d >= 1, d <= GoSyntax.daysIn(mo, y)
        else { return nil }
        var h = 0, mi = 0, sec = 0, nanos = 0, offset = 0
        if !sc.atEnd {
            guard sc.literal("T") else { return nil }
            // The hour: one or two digits (Go's "15").
            guard let h1 = sc.digits(1) else { return nil }
            h = h1
            if let h2 = sc.digits(1) { h = h * 10 + h2 }
            if sc.literal(":") {
                guard let m = sc.digits(2) else { return nil }
                mi = m
                if sc.literal(":") {
                    guard let ss = sc.digits(2) else { return nil }
                    sec = ss
                    if sc.literal(".") || sc.literal(",") {
                        var n = 0, count = 0
                        while let dgt = sc.digits(1) {
                            if count < 9 { n = n * 10 + dgt }
                            count += 1
                        }
                        guard count > 0 else { return nil }
                        if count < 9 { for _ in count..<9 { n *= 10 } }
                        nanos = n
                    }
                }
            }
            guard let z = sc.zone(), sc.atEnd else { return nil }
            offset = z
        }
        guard h < 24, mi < 60, sec < 60 else { return nil }
        let secs = GoSyntax.daysFromCivil(y, mo, d) * 86400 + Int64(h * 3600 + mi * 60 + sec - offset)
        return FlowTime(seconds: secs, nanos: Int32(nanos))
    }

    /// RFC1123Z: `Mon, 02 Jan 2006 15:04:05 -0700`.
    static func rfc1123Z(_ s: String) -> FlowTime? {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let parts = s.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), days.contains(String(parts[0].dropLast())),
            parts[1].count == 2, let d = Int(parts[1]), let mo = months.firstIndex(of: parts[2]).map({ $0 + 1 }),
            parts[3].count == 4, let y = Int(parts[3]), d >= 1, d <= GoSyntax.daysIn(mo, y)
        else { return nil }
        var clock = ObserveTimeScanner(parts[4])
        guard let h = clock.digits(2), clock.literal(":"), let mi = clock.digits(2), clock.literal(":"), let sec = clock.digits(2),
            h < 24, mi < 60, sec < 60
        else { return nil }
        var nanos = 0
        if clock.literal(".") || clock.literal(",") {
            var count = 0
            while let dgt = clock.digits(1) {
                if count < 9 { nanos = nanos * 10 + dgt }
                count += 1
            }
            guard count > 0 else { return nil }
            if count < 9 { for _ in count..<9 { nanos *= 10 } }
        }
        guard clock.atEnd else { return nil }
        var z = ObserveTimeScanner(parts[5])
        guard z.b.count == 5, z.b[0] == UInt8(ascii: "+") || z.b[0] == UInt8(ascii: "-") else { return nil }
        let sign = z.b[0] == UInt8(ascii: "-") ? -1 : 1
        z.i = 1
        guard let zh = z.digits(2), let zm = z.digits(2) else { return nil }
        let offset = sign * (zh * 3600 + zm * 60)
        let secs = GoSyntax.daysFromCivil(y, mo, d) * 86400 + Int64(h * 3600 + mi * 60 + sec - offset)
        return FlowTime(seconds: secs, nanos: Int32(nanos))
    }
}

/// A cursor over ASCII bytes for the time layouts.
struct ObserveTimeScanner {
    var b: [UInt8]
    var i = 0
    init(_ s: String) { b = Array(s.utf8) }
    var atEnd: Bool { i == b.count }
    mutating func digits(_ n: Int) -> Int? {
        guard i + n <= b.count, b[i..<i + n].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let v = b[i..<i + n].reduce(0) { $0 * 10 + Int($1 - 48) }
        i += n
        return v
    }
    mutating func literal(_ c: Character) -> Bool {
        guard i < b.count, b[i] == c.asciiValue else { return false }
        i += 1
        return true
    }
    /// `Z07:00`: `Z` or ±hh:mm, as seconds east of UTC.
    mutating func zone() -> Int? {
        if literal("Z") { return 0 }
        guard i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return nil }
        let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
        i += 1
        guard let h = digits(2), literal(":"), let m = digits(2) else { return nil }
        return sign * (h * 3600 + m * 60)
    }
}
