#!/usr/bin/env bash
# The main demo, from a clean clone on Debian 12, as root: installs the dependencies, builds
# tempo, starts tempo-echo on a net_tap device inside a network namespace it creates, lets the
# Linux kernel talk to it (ARP, ping, ping -6, then TCP from the kernel's sockets over IPv4 and
# IPv6), prints what tempo counted, and removes the namespace again — also when something
# fails. Addresses are 198.18.0.0/15 and 2001:db8::/32,
# inside the namespace only.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (network namespace, DPDK); run: sudo $0" >&2
  exit 1
fi
tests/install-deps.sh
build=${TEMPO_BUILD:-build-demo}
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release -Dtests=false -Dperf=false >/dev/null
ninja -C "$build" apps/tempo-echo/tempo-echo

ns=tempo-demo-$$
iface=tdemo0
cfg=$(mktemp --suffix=.yaml)
log=$(mktemp)
pid=
cleanup() {
  [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -f "$cfg" "$log"
}
trap cleanup EXIT INT TERM

sed -e "s/iface=tempo0/iface=$iface/" -e "s/file_prefix: tempo-tap/file_prefix: $ns/" \
  drivers-config/net_tap.yaml >"$cfg"
ip netns add "$ns"
ip -n "$ns" link set lo up
echo "== starting tempo-echo in namespace $ns"
ip netns exec "$ns" "$build"/apps/tempo-echo/tempo-echo --config "$cfg" >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q ready "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
grep -v '^EAL\|^TELEMETRY\|qdisc\|rte_flow' "$log" || true
ip -n "$ns" addr add 198.18.0.1/24 dev "$iface"
ip -n "$ns" -6 addr add 2001:db8::1/64 dev "$iface" nodad
ip -n "$ns" link set "$iface" up

echo; echo "== the kernel (198.18.0.1) pings tempo (198.18.0.2)"
ip netns exec "$ns" ping -c 3 -i 0.2 198.18.0.2
echo; echo "== the kernel learned tempo's MAC by ARP"
ip -n "$ns" neigh show dev "$iface"
echo; echo "== IPv6: neighbour discovery and ping -6"
ip netns exec "$ns" ping -6 -c 3 -i 0.2 2001:db8::2

echo; echo "== TCP: the kernel's sockets talk to tempo-echo on port 7"
ip netns exec "$ns" /usr/bin/python3 - <<'PY'
import hashlib, os, socket, threading, time
for addr in ("198.18.0.2", "2001:db8::2"):
    s = socket.create_connection((addr, 7), timeout=10)
    s.sendall(b"hello from the Linux kernel")
    print(f"  {addr}: sent 27 bytes, got back {s.recv(100)!r}")
    s.close()
data = os.urandom(20 << 20)
s = socket.create_connection(("198.18.0.2", 7), timeout=30)
got = hashlib.sha256()
n = 0
def rx():
    global n
    while n < len(data):
        b = s.recv(1 << 20)
        if not b:
            break
        got.update(b)
        n += len(b)
t0 = time.time()
t = threading.Thread(target=rx)
t.start()
s.sendall(data)
t.join()
dt = time.time() - t0
ok = got.hexdigest() == hashlib.sha256(data).hexdigest()
print(f"  20 MiB echoed in {dt:.2f} s ({2 * len(data) / dt / 1e6:.0f} MB/s both ways), "
      f"SHA-256 {'matches' if ok else 'DIFFERS'}")
s.close()
PY

echo; echo "== stopping tempo-echo (SIGINT); its counters:"
kill -INT "$pid"
wait "$pid"
pid=
sed -n '/: stopping/,$p' "$log"
