# Porin's entry points. `make test` is the README's test command and what .ci/run runs.
SWIFT ?= swift

.PHONY: build release test bench lab clean

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product porin
	$(SWIFT) build -c release --product porin-bench

# Unit tests (no root needed) and the lab's policy test files through the real CLI.
test:
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
