# Porin's entry points. `make test` is the README's test command and what .ci/run runs.
SWIFT ?= swift

.PHONY: build release test bench lab lab-down clean bpf deps ui-screenshots embed-web-assets

BPF_CLANG ?= clang
BPF_CFLAGS = -O2 -g -target bpf -Wall -Werror -I/usr/include/$(shell uname -m)-linux-gnu

build: bpf
	$(SWIFT) build

# The Debian packages the build, lab and tests need (installed when missing, as root).
deps:
	scripts/install-deps.sh

# The eBPF datapath, compiled with the toolchain's clang; the agent finds it in .build/bpf/.
bpf: .build/bpf/lxc.o

.build/bpf/lxc.o: bpf/lxc.c Sources/DatapathABI/include/porin_datapath.h
	mkdir -p .build/bpf
	$(BPF_CLANG) $(BPF_CFLAGS) -c bpf/lxc.c -o $@

release:
	$(SWIFT) build -c release --product porin
	$(SWIFT) build -c release --product porin-bench

# Unit tests (no root needed) and the lab's policy test files through the real CLI.
# The web UI's server tests run in their own process: they wait on raw sockets from the
# cooperative pool, and beside suites that block its two threads (on a 2-core machine) the
# server's own work could wait for a free thread that never comes.
test: deps bpf
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip WebUITests
	$(SWIFT) test --skip-build --filter WebUITests
	.build/debug/porin policy test examples/lab/*.test.yaml examples/policy-tests/*.test.yaml

# The lab (LAB.md): a cluster named `lab` with the simulated world, tenants a, b and c, and
# frontend-service/backend-service in each. Safe to run again: objects are applied, not re-created.
PORIN = .build/release/porin
lab: deps bpf
	$(SWIFT) build -c release --product porin
	$(PORIN) status --cluster lab >/dev/null 2>&1 || $(PORIN) up --name lab --world examples/lab/world.yaml
	$(PORIN) apply --cluster lab -f examples/lab/tenants.yaml
	for ns in tenant-a tenant-b tenant-c; do $(PORIN) apply --cluster lab -n $$ns -f examples/lab/tenant-services.yaml || exit 1; done
	$(PORIN) status --cluster lab --wait
	@echo "The lab is up. Web UI: http://127.0.0.1:12000 (Connections, Policies)."
	@echo "Try: $(PORIN) exec -n tenant-a frontend-service -- curl -sI backend-service.tenant-b"

lab-down:
	$(PORIN) down --name lab

# Benchmarks print figures; they are never part of `make test`.
bench: release bpf
	.build/release/porin-bench

# The web UI's page and scripts are embedded in the binary: run after editing Sources/WebUI/Assets.
embed-web-assets:
	python3 scripts/embed-web-assets.py

# Refreshes the README's screenshots (docs/images/) with the browser test (root, chromium).
ui-screenshots: deps bpf
	$(SWIFT) build --build-tests
	PORIN_UI_SCREENSHOT_DIR=$(CURDIR)/docs/images $(SWIFT) test --skip-build --filter WebUIBrowserTests
	rm -rf docs/images/downloads docs/images/failed-*.png docs/images/policies-section4.png

clean:
	rm -rf .build
