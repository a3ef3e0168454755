// Decoding and validation of CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy rules, with
// the checks of Cilium 1.19's `Sanitize()` and CRD schema (reference §1). Messages reuse
// Cilium's wording where it has one, so that users can search for them.

/// Entities of `fromEntities` / `toEntities` (the CRD enum).
public let knownEntities: [String] = ["all", "world", "cluster", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"]

public let icmpV4TypeNames: [String: UInt8] = [
    "EchoReply": 0, "DestinationUnreachable": 3, "Redirect": 5, "Echo": 8, "EchoRequest": 8,
    "RouterAdvertisement": 9, "RouterSelection": 10, "TimeExceeded": 11, "ParameterProblem": 12,
    "Timestamp": 13, "TimestampReply": 14, "Photuris": 40, "ExtendedEchoRequest": 42, "ExtendedEchoReply": 43,
]

public let icmpV6TypeNames: [String: UInt8] = [
    "DestinationUnreachable": 1, "PacketTooBig": 2, "TimeExceeded": 3, "ParameterProblem": 4,
    "EchoRequest": 128, "EchoReply": 129, "MulticastListenerQuery": 130, "MulticastListenerReport": 131,
    "MulticastListenerDone": 132, "RouterSolicitation": 133, "RouterAdvertisement": 134,
    "NeighborSolicitation": 135, "NeighborAdvertisement": 136, "RedirectMessage": 137,
    "RouterRenumbering": 138, "ICMPNodeInformationQuery": 139, "ICMPNodeInformationResponse": 140,
    "InverseNeighborDiscoverySolicitation": 141, "InverseNeighborDiscoveryAdvertisement": 142,
    "HomeAgentAddressDiscoveryRequest": 144, "HomeAgentAddressDiscoveryReply": 145,
    "MobilePrefixSolicitation": 146, "MobilePrefixAdvertisement": 147,
    "DuplicateAddressRequestCodeSuffix": 157, "DuplicateAddressConfirmationCodeSuffix": 158,
    "ExtendedEchoRequest": 160, "ExtendedEchoReply": 161,
]

extension FieldDecoder {
    /// Decodes one rule (`spec` or `specs[i]`). `clusterwide` allows `nodeSelector`.
    public func ciliumRule(_ node: ManifestNode, _ path: String, clusterwide: Bool) -> PolicyRule? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var rule = PolicyRule()
        rule.position = node.position
        rule.endpointSelector = f.take("endpointSelector").flatMap { labelSelector($0, f.sub("endpointSelector")) }
        if let ns = f.take("nodeSelector") {
            rule.nodeSelector = labelSelector(ns, f.sub("nodeSelector"))
            if !clusterwide {
                error(ns, f.sub("nodeSelector"), "Invalid CiliumNetworkPolicy spec: rule cannot have NodeSelector")
            }
        }
        if f.has("endpointSelector") && f.has("nodeSelector") {
            error(node, path, "rule cannot have both EndpointSelector and NodeSelector")
        } else if !f.has("endpointSelector") && !f.has("nodeSelector") {
            error(node, path, "rule must have one of EndpointSelector or NodeSelector")
        }
        let host = rule.nodeSelector != nil
        rule.ingress = f.list("ingress") { n, p in self.peerRule(n, p, direction: .ingress, deny: false, host: host) } ?? []
        rule.ingressDeny = f.list("ingressDeny") { n, p in self.peerRule(n, p, direction: .ingress, deny: true, host: host) } ?? []
        rule.egress = f.list("egress") { n, p in self.peerRule(n, p, direction: .egress, deny: false, host: host) } ?? []
        rule.egressDeny = f.list("egressDeny") { n, p in self.peerRule(n, p, direction: .egress, deny: true, host: host) } ?? []
        // Cilium checks the lengths: `ingress: []` alone is still "no rules". A list whose items
        // failed to decode counts as written (its items were already reported).
        func written(_ key: String) -> Bool {
            guard let n = f.take(key) else { return false }
            if case let .sequence(items) = n.value { return !items.isEmpty }
            return true
        }
        if !written("ingress") && !written("ingressDeny") && !written("egress") && !written("egressDeny") {
            error(node, path, "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny")
        }
        if let edd = f.object("enableDefaultDeny") {
            rule.enableDefaultDeny.ingress = edd.bool("ingress")
            rule.enableDefaultDeny.egress = edd.bool("egress")
            edd.finish()
        }
        if let labels = f.take("labels") {
            rule.labels = list(labels, f.sub("labels")) { n, p in self.ruleLabel(n, p) } ?? []
        }
        rule.description = f.string("description")
        if let log = f.object("log") {
            if let v = log.string("value") {
                if v.count > 32 { error(log.at("value"), log.sub("value"), "may not be longer than 32 characters") }
                if v.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .unassigned || $0.properties.generalCategory == .format }) {
                    error(log.at("value"), log.sub("value"), "must not contain control characters")
                }
                rule.log = v
            }
            log.finish()
        }
        return diagnostics.count == before ? rule : nil
    }

    /// Rule labels: `{key, value, source}` objects or `source:key=value` strings.
    func ruleLabel(_ node: ManifestNode, _ path: String) -> String? {
        if case .scalar = node.value { return string(node, path) }
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        f.ignore("key", "value", "source")  // known, even when we return early
        guard let key = f.string("key") else {
            if !f.has("key") { error(f.at("key"), f.sub("key"), "required field is missing") }
            return nil
        }
        let value = f.string("value") ?? ""
        let source = f.string("source") ?? "unspec"
        return value.isEmpty ? "\(source):\(key)" : "\(source):\(key)=\(value)"
    }

    func peerRule(_ node: ManifestNode, _ path: String, direction: TrafficDirection, deny: Bool, host: Bool) -> PeerRule? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        let ingress = direction == .ingress
        let px = ingress ? "from" : "to"
        var r = PeerRule()
        r.endpoints = f.list("\(px)Endpoints") { n, p in self.labelSelector(n, p) }
        if let req = f.take("\(px)Requires") {
            if case let .sequence(items) = req.value, !items.isEmpty {
                error(req, f.sub("\(px)Requires"), "must have at most 0 items: \(px)Requires was removed in Cilium 1.19; put the labels into \(px)Endpoints instead")
            } else if case .sequence = req.value {
                r.requires = []
            } else {
                error(req, f.sub("\(px)Requires"), "expected a list, found \(req.kindName)")
            }
        }
        r.cidrs = f.list("\(px)CIDR") { n, p in self.cidr(n, p) }
        r.cidrSets = f.list("\(px)CIDRSet") { n, p in self.cidrRule(n, p) }
        r.entities = f.list("\(px)Entities") { n, p -> String? in
            guard let e = self.string(n, p) else { return nil }
            guard knownEntities.contains(e) else {
                self.error(n, p, "unsupported entity: \(e) (one of \(knownEntities.joined(separator: ", ")))")
                return nil
            }
            return e
        }
        if let nodes = f.take("\(px)Nodes") {
            r.nodes = list(nodes, f.sub("\(px)Nodes")) { n, p in self.labelSelector(n, p) }
            error(nodes, f.sub("\(px)Nodes"), "FromNodes/ToNodes rules can only be applied when the \"enable-node-selector-labels\" flag is set (Porin, like Cilium's default, runs without it)")
        }
        if let groups = f.take("\(px)Groups") {
            r.groupsWritten = true
            _ = list(groups, f.sub("\(px)Groups")) { n, p -> Bool? in self.groups(n, p) }
        }
        if !ingress {
            r.services = f.list("toServices") { n, p in self.service(n, p) }
            if !deny {
                r.fqdns = f.list("toFQDNs") { n, p in self.fqdnSelector(n, p, isDNSRule: false) }
            }
        }
        r.toPorts = f.list("toPorts") { n, p in self.portRule(n, p, ingress: ingress, deny: deny) }
        r.icmps = f.list("icmps") { n, p in self.icmpRule(n, p) }.map { $0.flatMap { $0 } }
        if !deny, let auth = f.object("authentication") {
            if let m = auth.string("mode") {
                if let mode = AuthenticationMode(rawValue: m) { r.authentication = mode } else {
                    error(auth.at("mode"), auth.sub("mode"), "unsupported value \"\(m)\": must be one of disabled, required, test-always-fail")
                }
            } else if !auth.has("mode") {
                error(auth.at("mode"), auth.sub("mode"), "required field is missing")
            }
            auth.finish()
        }
        // L3 members are mutually exclusive within one rule.
        // (Cilium counts non-empty members only: `toEndpoints: []` next to `toCIDR` is accepted.)
        func nonEmpty<T>(_ list: [T]?) -> Bool { !(list?.isEmpty ?? true) }
        let names: [(String, Bool)] = [
            ("\(ingress ? "From" : "To")Endpoints", nonEmpty(r.endpoints)),
            ("\(ingress ? "From" : "To")CIDR", nonEmpty(r.cidrs)),
            ("\(ingress ? "From" : "To")CIDRSet", nonEmpty(r.cidrSets)),
            ("\(ingress ? "From" : "To")Entities", nonEmpty(r.entities)),
            ("\(ingress ? "From" : "To")Nodes", nonEmpty(r.nodes)),
            ("\(ingress ? "From" : "To")Groups", r.groupsWritten),
            ("ToServices", nonEmpty(r.services)),
            ("ToFQDNs", nonEmpty(r.fqdns)),
        ]
        let present = names.filter(\.1).map(\.0)
        if present.count > 1 {
            error(node, path, "combining \(present[0]) and \(present[1]) is not supported yet")
        }
        if r.icmps != nil && r.toPorts != nil {
            error(node, path, "the ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts")
        }
        if let ports = r.toPorts {
            let hasL7 = ports.contains { $0.rules != nil }
            if ingress && ports.contains(where: { $0.rules?.dns != nil }) {
                error(f.at("toPorts"), f.sub("toPorts"), "L7 protocol DNS is not supported on ingress yet")
            }
            if host {
                if ingress && hasL7 { error(f.at("toPorts"), f.sub("toPorts"), "L7 policy is not supported on host ingress yet") }
                if !ingress, let bad = ports.compactMap({ $0.rules?.parser }).first(where: { $0 != .dns }) {
                    error(f.at("toPorts"), f.sub("toPorts"), "L7 protocol \(bad.description.uppercased()) is not supported on host egress yet")
                }
            }
        }
        return diagnostics.count == before ? r : nil
    }

    func cidr(_ node: ManifestNode, _ path: String) -> IPPrefix? {
        guard let s = string(node, path) else { return nil }
        if s.isEmpty { error(node, path, "IP must be specified"); return nil }
        guard let p = IPPrefix(s, allowBareIP: true) else {
            error(node, path, "unable to parse CIDR: \"\(s)\" is neither an IP address nor a prefix")
            return nil
        }
        return p
    }

    func cidrRule(_ node: ManifestNode, _ path: String) -> CIDRRule? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var prefix: IPPrefix?
        if let c = f.take("cidr"), let s = string(c, f.sub("cidr")) {
            prefix = IPPrefix(s, allowBareIP: false)
            if prefix == nil { error(c, f.sub("cidr"), "unable to parse CIDR: \"\(s)\" must be a prefix such as 10.0.0.0/8") }
        }
        let ref = f.string("cidrGroupRef")
        if let ref, ref.count > 253 || !NameValidation.isDNS1123Subdomain(ref) {
            error(f.at("cidrGroupRef"), f.sub("cidrGroupRef"), "\"\(ref)\" must be a lowercase DNS-1123 subdomain of at most 253 characters")
        }
        let gsel = f.take("cidrGroupSelector").flatMap { labelSelector($0, f.sub("cidrGroupSelector")) }
        let count = [f.has("cidr"), f.has("cidrGroupRef"), f.has("cidrGroupSelector")].filter { $0 }.count
        if count == 0 { error(node, path, "one of cidr, cidrGroupRef, or cidrGroupSelector is required") }
        if count > 1 { error(node, path, "more than one of cidr, cidrGroupRef, or cidrGroupSelector may not be set") }
        var excepts: [IPPrefix] = []
        if let ex = f.take("except") {
            excepts = list(ex, f.sub("except")) { n, p -> IPPrefix? in
                guard let s = self.string(n, p) else { return nil }
                guard let e = IPPrefix(s, allowBareIP: true) else {
                    self.error(n, p, "unable to parse CIDR: \"\(s)\"")
                    return nil
                }
                if let prefix, !prefix.contains(e) {
                    self.error(n, p, "allow CIDR prefix \(prefix) does not contain exclude CIDR prefix \(e)")
                    return nil
                }
                return e
            } ?? []
        }
        guard diagnostics.count == before else { return nil }
        return CIDRRule(cidr: prefix, except: excepts, cidrGroupRef: ref, cidrGroupSelector: gsel)
    }

    func groups(_ node: ManifestNode, _ path: String) -> Bool? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        if let aws = f.object("aws") {
            _ = aws.stringMap("labels")
            _ = aws.stringList("securityGroupsIds")
            _ = aws.stringList("securityGroupsNames")
            _ = aws.string("region")
            aws.finish()
        }
        return true
    }

    func service(_ node: ManifestNode, _ path: String) -> ServiceSelector? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        f.ignore("k8sService", "k8sServiceSelector")  // known, even when we return early
        if f.has("k8sService") && f.has("k8sServiceSelector") {
            error(node, path, "only one of k8sService or k8sServiceSelector may be set")
            return nil
        }
        if let s = f.object("k8sService") {
            defer { s.finish() }
            return ServiceSelector(serviceName: s.string("serviceName"), namespace: s.string("namespace"))
        }
        if let s = f.object("k8sServiceSelector") {
            defer { s.finish() }
            s.ignore("selector", "namespace")
            guard let selNode = s.take("selector") else {
                error(s.at("selector"), s.sub("selector"), "required field is missing")
                return nil
            }
            guard let sel = labelSelector(selNode, s.sub("selector")) else { return nil }
            return ServiceSelector(selector: sel, namespace: s.string("namespace"))
        }
        error(node, path, "one of k8sService or k8sServiceSelector is required")
        return nil
    }

    public func fqdnSelector(_ node: ManifestNode, _ path: String, isDNSRule: Bool) -> FQDNSelector? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let name = f.string("matchName")
        let pattern = f.string("matchPattern")
        if name != nil && pattern != nil {
            error(node, path, "only one of MatchName or MatchPattern is allowed in an FQDNSelector")
            return nil
        }
        if let name {
            if name.count > 255 { error(f.at("matchName"), f.sub("matchName"), "may not be longer than 255 characters"); return nil }
            if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
                error(f.at("matchName"), f.sub("matchName"), "Invalid characters in MatchName: \"\(name)\". Only 0-9, a-z, A-Z and . and - characters are allowed")
                return nil
            }
            return FQDNSelector(matchName: name)
        }
        if let pattern {
            let trimmed = String(pattern.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
            if trimmed.count > 255 { error(f.at("matchPattern"), f.sub("matchPattern"), "may not be longer than 255 characters"); return nil }
            if trimmed.isEmpty || !trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.*".contains($0)) }) {
                error(f.at("matchPattern"), f.sub("matchPattern"), "Invalid characters in MatchPattern: \"\(pattern)\". Only 0-9, a-z, A-Z and ., - and * characters are allowed")
                return nil
            }
            return FQDNSelector(matchPattern: pattern)
        }
        error(node, path, "one of matchName or matchPattern is required")
        return nil
    }

    func portRule(_ node: ManifestNode, _ path: String, ingress: Bool, deny: Bool) -> PortRule? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        let ports = f.list("ports") { n, p in self.portProtocol(n, p) } ?? []
        if case let .sequence(items)? = f.take("ports")?.value, items.count > 40 {
            error(f.at("ports"), f.sub("ports"), "too many ports, the max is 40")
        }
        var rule = PortRule(ports: ports)
        if deny {
            // PortDenyRule has only `ports` (the deferred finish() reports anything else).
            return diagnostics.count == before ? rule : nil
        }
        rule.terminatingTLS = f.take("terminatingTLS").flatMap { tlsContext($0, f.sub("terminatingTLS")) }
        rule.originatingTLS = f.take("originatingTLS").flatMap { tlsContext($0, f.sub("originatingTLS")) }
        if let sn = f.take("serverNames") {
            rule.serverNames = list(sn, f.sub("serverNames")) { n, p -> String? in
                guard let s = self.string(n, p) else { return nil }
                if s.isEmpty { self.error(n, p, "empty server name is not allowed"); return nil }
                if s.count > 255 { self.error(n, p, "may not be longer than 255 characters"); return nil }
                return s
            } ?? []
            if rule.serverNames.isEmpty, case .sequence = sn.value { error(sn, f.sub("serverNames"), "must have at least 1 item") }
        }
        if let l = f.object("listener") {
            var ref = ListenerRef(envoyConfigKind: "", envoyConfigName: "", name: "", priority: nil)
            if let ec = l.object("envoyConfig") {
                ref.envoyConfigKind = ec.string("kind") ?? "CiliumEnvoyConfig"
                if !["CiliumEnvoyConfig", "CiliumClusterwideEnvoyConfig"].contains(ref.envoyConfigKind) {
                    error(ec.at("kind"), ec.sub("kind"), "must be CiliumEnvoyConfig or CiliumClusterwideEnvoyConfig")
                }
                if let n = ec.string("name") { ref.envoyConfigName = n } else { error(ec.at("name"), ec.sub("name"), "required field is missing") }
                ec.finish()
            } else { error(l.at("envoyConfig"), l.sub("envoyConfig"), "required field is missing") }
            if let n = l.string("name") { ref.name = n } else { error(l.at("name"), l.sub("name"), "required field is missing") }
            ref.priority = l.int("priority", in: 1...100)
            l.finish()
            rule.listener = ref
            if ingress { error(f.at("listener"), f.sub("listener"), "Listener is not allowed on ingress (\(ref.name))") }
        }
        if let rn = f.take("rules") {
            rule.rules = l7Rules(rn, f.sub("rules"))
            if rule.listener != nil { error(f.at("listener"), f.sub("listener"), "Listener is not allowed with L7 rules (\(rule.listener!.name))") }
        }
        if let rules = rule.rules {
            let nonDNS = rules.dns == nil
            let hasRules = (rules.http.map { !$0.isEmpty } ?? false) || (rules.kafka.map { !$0.isEmpty } ?? false)
                || (rules.dns.map { !$0.isEmpty } ?? false) || rules.l7proto != nil
            if hasRules {
                if nonDNS, let bad = ports.first(where: { $0.proto != .tcp }) {
                    error(f.at("ports"), f.sub("ports"), "L7 rules can only apply to TCP (not \(bad.proto.rawValue)) except for DNS rules")
                }
                if ports.contains(where: { $0.port == "0" }) {
                    error(f.at("ports"), f.sub("ports"), "L7 rules can not be used when a port is 0")
                }
                if !rule.serverNames.isEmpty && rule.terminatingTLS == nil {
                    error(f.at("serverNames"), f.sub("serverNames"), "ServerNames are not allowed with L7 rules without TLS termination")
                }
            }
            if rules.dns != nil {
                if ports.isEmpty { error(f.at("ports"), f.sub("ports"), "port 53 must be specified for DNS rules") }
                if ports.contains(where: { ($0.endPort ?? 0) > 0 && $0.endPort != $0.numericPort }) {
                    error(f.at("ports"), f.sub("ports"), "DNS rules do not support port ranges")
                }
            }
        }
        return diagnostics.count == before ? rule : nil
    }

    func portProtocol(_ node: ManifestNode, _ path: String) -> PortProtocol? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var protoText = f.string("protocol") ?? ""
        protoText = protoText.uppercased()
        var proto = L4Protocol.any
        if !protoText.isEmpty {
            if let p = L4Protocol(rawValue: protoText), p != .icmp, p != .icmpv6 {
                proto = p
            } else {
                error(f.at("protocol"), f.sub("protocol"), "invalid protocol \"\(protoText)\", must be { tcp | udp | sctp | any | vrrp | igmp }\(protoText.hasPrefix("ICMP") ? " (ICMP is written as an `icmps` rule)" : "")")
            }
        }
        var port = ""
        var portUnreadable = false
        if let pn = f.take("port") {
            if let s = strictString(pn, f.sub("port")) { port = s } else { portUnreadable = true }
        }
        let extended = proto == .vrrp || proto == .igmp
        if portUnreadable {
            // Already reported (e.g. an unquoted number); nothing more to say about it.
        } else if extended {
            if !(port.isEmpty || port == "0") { error(f.at("port"), f.sub("port"), "port must be empty or 0 for \(proto.rawValue)") }
            port = "0"
        } else if port.isEmpty {
            error(f.at("port"), f.sub("port"), "port must be specified")
        } else if port.allSatisfy({ $0.isASCII && $0.isNumber }) {
            if port.count > 5 || Int(port)! > 65535 {
                error(f.at("port"), f.sub("port"), "port \"\(port)\" is out of range 0..65535")
            } else {
                port = String(Int(port)!)
            }
        } else {
            let lower = port.lowercased()
            if !NameValidation.isServiceName(lower) {
                error(f.at("port"), f.sub("port"), "invalid port \"\(port)\": must be a number 0..65535 or a port name (at most 15 letters, digits and '-', with at least one letter)")
            }
            port = lower
        }
        var endPort: Int?
        if let e = f.int("endPort", in: 0...65535) {
            if let p = Int(port), e != 0, e < p {
                error(f.at("endPort"), f.sub("endPort"), "endPort (\(e)) must be greater than or equal to port (\(p))")
            }
            endPort = e == 0 ? nil : e
        }
        guard diagnostics.count == before else { return nil }
        return PortProtocol(port: port, endPort: endPort, proto: proto)
    }

    func tlsContext(_ node: ManifestNode, _ path: String) -> TLSContext? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        f.ignore("secret", "trustedCA", "certificate", "privateKey")  // known, even when we return early
        guard let s = f.object("secret") else {
            if !f.has("secret") { error(f.at("secret"), f.sub("secret"), "required field is missing") }
            return nil
        }
        defer { s.finish() }
        s.ignore("name", "namespace")
        guard let name = s.string("name") else {
            if !s.has("name") { error(s.at("name"), s.sub("name"), "required field is missing") }
            return nil
        }
        return TLSContext(secretNamespace: s.string("namespace"), secretName: name, trustedCA: f.string("trustedCA"),
                          certificate: f.string("certificate"), privateKey: f.string("privateKey"))
    }

    func l7Rules(_ node: ManifestNode, _ path: String) -> L7Rules? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var r = L7Rules()
        r.http = f.list("http") { n, p in self.httpRule(n, p) }
        r.kafka = f.list("kafka") { n, p in self.kafkaRule(n, p) }
        r.dns = f.list("dns") { n, p in self.fqdnSelector(n, p, isDNSRule: true) }
        r.l7proto = f.string("l7proto")
        r.l7 = f.list("l7") { n, p -> [String: String]? in
            guard let pairs = self.stringMap(n, p) else { return nil }
            if pairs.contains(where: { $0.0.isEmpty }) { self.error(n, p, "Empty key not allowed"); return nil }
            return Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        }
        let kinds = [f.has("http"), f.has("kafka"), f.has("dns"), f.has("l7proto")].filter { $0 }.count
        if kinds > 1 { error(node, path, "multiple L7 protocol rule types specified in single rule") }
        if r.l7 != nil && r.l7proto == nil { error(f.at("l7"), f.sub("l7"), "'l7' may only be specified when a 'l7proto' is also specified") }
        return diagnostics.count == before ? r : nil
    }

    func httpRule(_ node: ManifestNode, _ path: String) -> HTTPRule? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var r = HTTPRule()
        r.path = f.string("path")
        r.method = f.string("method")
        r.host = f.string("host")
        for (field, value) in [("path", r.path), ("method", r.method), ("host", r.host)] {
            if let value, (try? Regex(value)) == nil {
                error(f.at(field), f.sub(field), "invalid regular expression \"\(value)\"")
            }
        }
        r.headers = f.stringList("headers") ?? []
        r.headerMatches = f.list("headerMatches") { n, p -> HTTPRule.HeaderMatch? in
            guard let h = self.object(n, p) else { return nil }
            defer { h.finish() }
            h.ignore("mismatch", "name", "value", "secret")  // known, even when we return early
            guard let name = h.string("name"), !name.isEmpty else {
                self.error(h.at("name"), h.sub("name"), "Header name missing")
                return nil
            }
            var m = HTTPRule.HeaderMatch(mismatch: h.string("mismatch"), name: name, value: h.string("value"))
            if let mm = m.mismatch, !["LOG", "ADD", "DELETE", "REPLACE"].contains(mm) {
                self.error(h.at("mismatch"), h.sub("mismatch"), "Invalid header action: \(mm)")
                return nil
            }
            if let sec = h.object("secret") {
                m.secretNamespace = sec.string("namespace")
                m.secretName = sec.string("name")
                if m.secretName?.isEmpty ?? true { self.error(h.at("secret"), h.sub("secret.name"), "Secret name missing") }
                sec.finish()
            }
            return m
        } ?? []
        return diagnostics.count == before ? r : nil
    }

    func kafkaRule(_ node: ManifestNode, _ path: String) -> KafkaRule? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        let before = diagnostics.count
        var r = KafkaRule()
        r.role = f.string("role")
        r.apiKey = f.string("apiKey")
        r.apiVersion = f.string("apiVersion")
        r.clientID = f.string("clientID")
        r.topic = f.string("topic")
        if let role = r.role, !["produce", "consume"].contains(role.lowercased()) {
            error(f.at("role"), f.sub("role"), "Invalid Kafka role \"\(role)\": must be produce or consume")
        }
        if r.role != nil && r.apiKey != nil { error(node, path, "Cannot set both Role and APIKey") }
        if let v = r.apiVersion, !(Int(v).map { (0...32767).contains($0) } ?? false) {
            error(f.at("apiVersion"), f.sub("apiVersion"), "invalid Kafka apiVersion \"\(v)\": must be 0..32767")
        }
        if let t = r.topic, t.count > 255 || !t.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            error(f.at("topic"), f.sub("topic"), "invalid Kafka topic \"\(t)\": at most 255 characters of [a-zA-Z0-9._-]")
        }
        return diagnostics.count == before ? r : nil
    }

    func icmpRule(_ node: ManifestNode, _ path: String) -> [ICMPField]? {
        guard let f = object(node, path) else { return nil }
        defer { f.finish() }
        guard let fieldsNode = f.take("fields") else { return [] }
        if case let .sequence(items) = fieldsNode.value, items.count > 40 {
            error(fieldsNode, f.sub("fields"), "too many types, the max is 40")
            return nil
        }
        return list(fieldsNode, f.sub("fields")) { n, p -> ICMPField? in
            guard let g = self.object(n, p) else { return nil }
            defer { g.finish() }
            let typeNode = g.take("type")
            var family = g.string("family") ?? "IPv4"
            if family.isEmpty { family = "IPv4" }  // Cilium treats an empty family as IPv4
            guard family == "IPv4" || family == "IPv6" else {
                self.error(g.at("family"), g.sub("family"), "wrong family: \(family)")
                return nil
            }
            guard let t = typeNode else {
                self.error(g.at("type"), g.sub("type"), "required field is missing")
                return nil
            }
            if case let .scalar(s, style) = t.value {
                if style == .plain, let v = Int(s) {
                    guard (0...255).contains(v) else { self.error(t, g.sub("type"), "\(v) is out of range 0..255"); return nil }
                    return ICMPField(family: family, type: UInt8(v))
                }
                if let v = UInt8(s) { return ICMPField(family: family, type: v) }
                let table = family == "IPv4" ? icmpV4TypeNames : icmpV6TypeNames
                guard let v = table[s] else {
                    self.error(t, g.sub("type"), "ICMP type \(s) not found in \(family)")
                    return nil
                }
                return ICMPField(family: family, type: v)
            }
            self.error(t, g.sub("type"), "expected an integer or an ICMP type name, found \(t.kindName)")
            return nil
        }
    }
}
