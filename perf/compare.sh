#!/usr/bin/env bash
# tempo against the Linux kernel, side by side, from a clean clone on Debian 12, as root:
# installs the dependencies, builds the release apps and perf/macro's kernel-peer, and runs
# perf/macro/compare.py (every workload and path; its own namespaces). It prints the table and
# writes perf/results/<date>.json and .png. Arguments go to compare.py (e.g. --smoke, --rounds).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "compare: needs root (network namespaces, DPDK); run: sudo $0" >&2
  exit 1
fi
tests/install-deps.sh
build=${TEMPO_BUILD:-build-perf}
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release -Dtests=false >/dev/null
ninja -C "$build" apps/tempo-httpd/tempo-httpd apps/tempo-loadgen/tempo-loadgen apps/tempo-proxy/tempo-proxy \
  apps/tempo-echo/tempo-echo perf/macro/kernel-peer
exec /usr/bin/python3 perf/macro/compare.py --build "$build" "$@"
