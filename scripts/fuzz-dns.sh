#!/usr/bin/env bash
# Fuzzes the DNS message parser and the DNS proxy's handling of every message it parses
# (DNSAnswer, the REFUSED answer, FQDN pattern matching; fuzz/dns-message/ProxyChecks.swift) with
# libFuzzer (the Swift toolchain's -sanitize=fuzzer,address) for SECONDS (default 600) on one
# core, growing the corpus kept in fuzz/corpus/dns-message. A crash leaves its input as
# fuzz/crash-* and exits non-zero. Not part of `make test`.
#
# The sources are compiled into the harness as one module: DNS (Sources/DNS), the proxy's
# DNSAnswer.swift, and PolicyEngine's FQDNPattern.swift with fuzz/dns-message/PolicyAPIStub.swift
# for the one PolicyAPI type it uses; their `import DNS` / `import PolicyAPI` lines are dropped on
# the way. (DNSProxyServer.refused is copied into ProxyChecks.swift: its file needs sockets.)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
out=.build-fuzz
mkdir -p "$out/src" fuzz/corpus/dns-message
rm -f "$out"/src/*.swift
for f in Sources/DNS/*.swift Sources/DNSProxy/DNSAnswer.swift Sources/PolicyEngine/FQDNPattern.swift; do
    sed -e '/^import DNS$/d' -e '/^import PolicyAPI$/d' "$f" > "$out/src/$(basename "$f")"
done
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name FuzzDNS \
    fuzz/dns-message/*.swift "$out"/src/*.swift -o "$out/fuzz-dns-message"
# Swift's own crash backtracer would outlive a crashing harness (and hold its output open):
# libFuzzer and ASan report crashes here.
SWIFT_BACKTRACE=enable=no "$out/fuzz-dns-message" -max_total_time="$seconds" -max_len=4096 -timeout=5 \
    -artifact_prefix=fuzz/ fuzz/corpus/dns-message
