#!/usr/bin/env bash
# The Debian packages Porin's build, lab and tests need, installed when missing (as root), and
# the BPF filesystem mounted. `make lab`, `make test` and .ci/run start with it.
set -euo pipefail

# libssl-dev and openssl: TLS for the simulated world's HTTPS hosts and their certificates.
# protobuf-compiler, python3-grpcio and python3-protobuf: the independent Hubble gRPC client the
# cluster test runs (Debian's /usr/bin/python3).
# chromium, chromium-driver, python3-selenium, fonts-dejavu-core and fonts-noto-color-emoji: the web
# UI's browser test and its screenshots (headless Chromium driven from Debian's Python; same-version
# browser and driver, nothing downloaded).
packages=(make git pkg-config libyaml-dev libsqlite3-dev libbpf-dev libssl-dev iproute2 util-linux curl python3
          iputils-ping dnsutils openssl protobuf-compiler python3-grpcio python3-protobuf
          chromium chromium-driver python3-selenium fonts-dejavu-core fonts-noto-color-emoji)
need=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]} (run as root to install them: apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

# Pinned BPF maps live on the BPF filesystem (root only: the cluster needs root anyway).
if [ "$(id -u)" -eq 0 ]; then
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
fi
