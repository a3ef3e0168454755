#!/usr/bin/env bash
# Regenerates Sources/HubbleProto (Swift code for Hubble's gRPC API) from proto/*.proto.
# The generated files are committed: a normal build never runs protoc or the plugins (building
# them takes minutes). Run this after changing a .proto file. Needs `protoc`
# (apt-get install protobuf-compiler); the two protoc plugins are built from the same package
# versions Package.swift uses, in .build-protoc/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
plugins=$root/.build-protoc
mkdir -p "$plugins/Dummy"
cat > "$plugins/Package.swift" <<'SWIFT'
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "protoc-plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ],
    targets: [.target(name: "Dummy", path: "Dummy")]
)
SWIFT
echo "// placeholder target so that the package resolves" > "$plugins/Dummy/Dummy.swift"
(cd "$plugins" && swift build --product protoc-gen-swift >/dev/null 2>&1 && swift build --product protoc-gen-grpc-swift-2 >/dev/null 2>&1)
bin=$(cd "$plugins" && swift build --show-bin-path)
out=$root/Sources/HubbleProto
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
mkdir -p "$out"
files=(flow/flow.proto relay/relay.proto observer/observer.proto grpc/health/v1/health.proto)
(cd proto && protoc -I. -I/usr/include \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
    --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
    --swift_out="$out" \
    --grpc-swift-2_opt=Visibility=Public,FileNaming=PathToUnderscores,Client=true,Server=true \
    --grpc-swift-2_out="$out" \
    "${files[@]}")
# protoc-gen-grpc-swift-2 writes a file for every .proto, also those without a service.
grep -l "This file contained no services" "$out"/*.grpc.swift | xargs -r rm
ls "$out"
