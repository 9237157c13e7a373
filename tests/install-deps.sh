#!/usr/bin/env bash
# Installs everything tempo needs to build, test and demo on Debian 12, from Debian's packages
# only. Idempotent; needs root. Used by the README's commands and by .ci/run.
set -euo pipefail

pkgs=(
  # build
  g++ clang clang-14 libclang-rt-14-dev meson ninja-build pkg-config clang-format clang-format-14
  # dependencies (DESIGN.md principle 7)
  libdpdk-dev dpdk dpdk-dev libipsec-mb-dev libssl-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # tests and demo: namespaces, the kernel's peers, loss injection
  iproute2 ethtool iputils-ping iputils-arping nftables curl iperf3 python3 python3-yaml procps
  # captures from dpdk-dumpcap (dpdk), read back in tests
  tshark
  # perf/macro/compare.py's plot, and its proxy workload's kernel-side proxy (started by
  # compare.py in its own namespace; the package's service is not used)
  python3-matplotlib haproxy
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# clang-format 14 under its plain name, as STYLE.md uses it.
if ! command -v clang-format >/dev/null 2>&1 && command -v clang-format-14 >/dev/null 2>&1; then
  ln -sf "$(command -v clang-format-14)" /usr/local/bin/clang-format
fi
if ! command -v clang++ >/dev/null 2>&1 && command -v clang++-14 >/dev/null 2>&1; then
  ln -sf "$(command -v clang++-14)" /usr/local/bin/clang++
fi
