#!/usr/bin/env bash
# Fuzzes the DNS message parser with libFuzzer (the Swift toolchain's -sanitize=fuzzer) for
# SECONDS (default 600) on one core, growing the corpus kept in fuzz/corpus/dns-message. A crash
# leaves its input as fuzz/crash-* and exits non-zero. Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
out=.build-fuzz
mkdir -p "$out" fuzz/corpus/dns-message
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name FuzzDNS \
    fuzz/dns-message/FuzzDNSMessage.swift Sources/DNS/*.swift -o "$out/fuzz-dns-message"
"$out/fuzz-dns-message" -max_total_time="$seconds" -max_len=4096 -timeout=5 \
    -artifact_prefix=fuzz/ fuzz/corpus/dns-message
