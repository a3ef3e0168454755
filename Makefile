# Porin's entry points. `make test` is the README's test command and what .ci/run runs.
SWIFT ?= swift

.PHONY: build release test bench lab clean bpf

BPF_CLANG ?= clang
BPF_CFLAGS = -O2 -g -target bpf -Wall -Werror -I/usr/include/$(shell uname -m)-linux-gnu

build: bpf
	$(SWIFT) build

# The eBPF datapath, compiled with the toolchain's clang; the agent finds it in .build/bpf/.
bpf: .build/bpf/lxc.o

.build/bpf/lxc.o: bpf/lxc.c Sources/DatapathABI/include/porin_datapath.h
	mkdir -p .build/bpf
	$(BPF_CLANG) $(BPF_CFLAGS) -c bpf/lxc.c -o $@

release:
	$(SWIFT) build -c release --product porin
	$(SWIFT) build -c release --product porin-bench

# Unit tests (no root needed) and the lab's policy test files through the real CLI.
test: bpf
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	.build/debug/porin policy test examples/lab/*.test.yaml examples/policy-tests/*.test.yaml

# The lab. Until the cluster exists (issue #3) this evaluates its policies offline.
lab:
	$(SWIFT) build -c release --product porin
	.build/release/porin policy test examples/lab/*.test.yaml

# Benchmarks print figures; they are never part of `make test`.
bench: release
	.build/release/porin-bench

clean:
	rm -rf .build
