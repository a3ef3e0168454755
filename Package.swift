// swift-tools-version: 6.1
// Porin: Cilium's network policy and Hubble's observability on one Linux machine.
// Layers follow ../shared/DESIGN.md: pure policy layers at the bottom, daemons and CLI on top.
import PackageDescription

let package = Package(
    name: "Porin",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "porin", targets: ["porin"]),
        .executable(name: "porin-bench", targets: ["porin-bench"]),
        .library(name: "PolicyAPI", targets: ["PolicyAPI"]),
        .library(name: "PolicyEngine", targets: ["PolicyEngine"]),
        .library(name: "PolicyCheck", targets: ["PolicyCheck"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // Hubble's gRPC API: the runtime, HTTP/2 over NIO (TCP and unix sockets), protobuf.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        // The web UI's HTTP server. No traits: Porin needs neither swift-configuration nor
        // URL-encoded forms, and leaving them out keeps the build shorter.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
    ],
    targets: [
        // libyaml from the system (pkg-config yaml-0.1; Debian libyaml-dev).
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // Kubernetes/Cilium API objects: decoding from YAML/JSON with positions, validation.
        .target(name: "PolicyAPI", dependencies: ["CLibYAML"]),
        // Labels, selectors, identities, selector cache, resolution into policy-map entries, lookup.
        .target(name: "PolicyEngine", dependencies: ["PolicyAPI"]),
        // libbpf from the system (Debian libbpf-dev), the ABI header shared with bpf/*.c,
        // namespace plumbing, and the datapath's loader, map writer and event reader.
        .systemLibrary(name: "CLibBPF", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        .target(name: "DatapathABI"),
        .target(name: "CNetnsShim"),
        // DNS messages (parser and encoder), for Porin's DNS server and the DNS proxy. Pure.
        .target(name: "DNS"),
        .testTarget(name: "DNSTests", dependencies: ["DNS"]),
        // Porin's DNS server (kube-dns, the world's resolver): UDP, records file, forwarding.
        .target(name: "DNSServer", dependencies: ["DNS"]),
        // The stand-in server pods run when their manifest names only an image.
        .systemLibrary(name: "CTLS", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "StandIn", dependencies: ["CTLS"]),
        .target(name: "Netns", dependencies: ["CNetnsShim"]),
        // What the CLI, the control plane and the agents share: cluster paths and names, the
        // unix-socket API and its messages, process spawning, address allocation.
        .target(name: "CProcessShim"),
        .target(name: "ClusterAPI", dependencies: ["PolicyAPI", "CProcessShim"]),
        // SQLite from the system (Debian libsqlite3-dev): the control plane's object store.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The control plane: object store, admission (validation, namespaces, ClusterIPs),
        // the API the CLI talks to, kube-dns's records, and supervision of the node agents.
        .target(name: "ControlPlane", dependencies: ["ClusterAPI", "CSQLite", "Hubble", "HubbleAPI", "HubbleProto", "PolicyAPI", "PolicyEngine", "Netns", "UIModel", "WebUI", "World"]),
        // Hubble: flows (the model, Hubble JSON, the CLI's output formats, filters). Pure.
        .target(name: "Hubble", dependencies: ["PolicyAPI"]),
        .testTarget(name: "HubbleTests", dependencies: ["Hubble"], exclude: ["hubble-golden"]),
        // Hubble's gRPC API as generated from proto/ by scripts/generate-hubble-grpc.sh (committed).
        .target(name: "HubbleProto", dependencies: [
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ]),
        // The Hubble gRPC API served and used: flows to and from protobuf, the agent's observer
        // over its ring buffer, the relay that merges the nodes, health, and the client side.
        .target(name: "HubbleAPI", dependencies: [
            "Hubble", "HubbleProto",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ]),
        .testTarget(name: "HubbleAPITests", dependencies: [
            "Hubble", "HubbleAPI", "HubbleProto",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
        ]),
        // The simulated outside world: hosts on documentation prefixes and their resolver.
        .target(name: "World", dependencies: ["Netns", "PolicyAPI"]),
        .target(name: "Datapath", dependencies: ["CLibBPF", "DatapathABI", "PolicyEngine", "PolicyAPI"]),
        // The node agent's parts: pod networking, address allocation.
        .target(name: "DNSProxy", dependencies: ["CProcessShim", "DNS", "Hubble", "PolicyAPI", "PolicyEngine"]),
        .testTarget(name: "DNSProxyTests", dependencies: ["DNSProxy", "DNS", "Hubble", "PolicyAPI", "PolicyEngine"]),
        .target(name: "Agent", dependencies: ["ClusterAPI", "Datapath", "DatapathABI", "DNS", "DNSProxy", "Hubble", "HubbleAPI", "Netns", "PolicyAPI", "PolicyEngine", "StandIn"]),
        // Policy test files: workloads + policies + queries evaluated by the engine, offline.
        .target(name: "PolicyCheck", dependencies: ["PolicyAPI", "PolicyEngine"]),
        // The web UI's logic, pure: the policy picture and the editor's operations, rules from flows,
        // what-if verdicts, the flow store and service map, and the JSON API's routing.
        .target(name: "UIModel", dependencies: ["ClusterAPI", "Hubble", "PolicyAPI", "PolicyEngine", "PolicyCheck"]),
        .testTarget(name: "UIModelTests", dependencies: [
            "UIModel", "Hubble", "PolicyAPI", "PolicyEngine", "ClusterAPI",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ], exclude: ["fixtures"]),
        // The web UI's HTTP glue: Hummingbird, server-sent events, the embedded page and assets.
        .target(name: "WebUI", dependencies: ["UIModel", "Hubble", .product(name: "Hummingbird", package: "hummingbird")], exclude: ["Assets"]),
        .testTarget(name: "WebUITests", dependencies: ["WebUI", "UIModel", "Hubble"]),
        .executableTarget(
            name: "porin",
            dependencies: [
                "PolicyAPI", "PolicyEngine", "PolicyCheck", "StandIn", "DNS", "DNSServer", "Datapath", "DatapathABI",
                "ClusterAPI", "ControlPlane", "Agent", "Netns", "World", "Hubble", "HubbleAPI", "HubbleProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "porin-bench", dependencies: ["PolicyAPI", "PolicyEngine", "PolicyCheck", "Datapath", "DatapathABI", "Netns", "Agent", "ClusterAPI", "Hubble", "UIModel", "WebUI"]),
        .testTarget(name: "PolicyAPITests", dependencies: ["PolicyAPI"]),
        .testTarget(
            name: "PolicyEngineTests",
            dependencies: [
                "PolicyAPI", "PolicyEngine",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(name: "PolicyCheckTests", dependencies: ["PolicyCheck", "PolicyAPI", "PolicyEngine"]),
        // The `porin` binary as users run it: commands, exit codes, servers on loopback.
        .testTarget(name: "PorinCLITests"),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "ClusterAPI", "ControlPlane", "PolicyAPI"]),
        // Root-only: real namespaces, veths, BPF programs and packets.
        .testTarget(name: "DatapathTests", dependencies: ["Datapath", "Netns", "PolicyAPI", "PolicyEngine", "DatapathABI", "Agent", "PolicyCheck", "World", "ClusterAPI"], exclude: ["probe.py", "webui_browser.py"]),
    ],
    swiftLanguageModes: [.v6]
)
