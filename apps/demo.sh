#!/usr/bin/env bash
# The main demo, from a clean clone on Debian 12, as root: installs the dependencies, builds
# tempo, and lets the Linux kernel talk to it on a net_tap device inside a network namespace it
# creates. First tempo-echo: ARP, neighbour discovery and ping, then the kernel's sockets over
# IPv4 and IPv6 (20 MiB echoed, checked by SHA-256). Then tempo-httpd and what tempo is for:
# 2,000 short HTTP connections from the kernel's sockets; tempo closes each first, so tempo
# holds the TIME_WAIT entries, as compact records on its own table (tempo-stat shows them), and
# the kernel holds none; a new connection from a source port still in tempo's TIME_WAIT is
# accepted at once, as RFC 6191's timestamp rule allows. Each app prints what it counted; the
# namespace is removed again, also when something fails. Addresses are 198.18.0.0/15 and
# 2001:db8::/32, inside the namespace only. TEMPO_BUILD names a build directory to use.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (network namespace, DPDK); run: sudo $0" >&2
  exit 1
fi
tests/install-deps.sh
build=${TEMPO_BUILD:-build-demo}
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release -Dtests=false -Dperf=false >/dev/null
ninja -C "$build" apps/tempo-echo/tempo-echo apps/tempo-httpd/tempo-httpd \
  apps/tempo-stat/tempo-stat >/dev/null

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

# start APP: the app on the tap device (its config: drivers-config/net_tap.yaml with APP's
# section), once ready the kernel's addresses on the device it creates.
start() {
  sed -e "s/iface=tempo0/iface=$iface/" -e "s/file_prefix: tempo-tap/file_prefix: $ns/" \
    -e "/^app:/,\$d" drivers-config/net_tap.yaml >"$cfg"
  if [ "$1" = echo ]; then
    echo "app: { echo: { port: 7 } }" >>"$cfg"
  else
    echo "app: { httpd: { port: 80, response_bytes: 1024 } }" >>"$cfg"
  fi
  : >"$log"
  echo "== starting tempo-$1 in namespace $ns"
  ip netns exec "$ns" "$build"/apps/tempo-$1/tempo-$1 --config "$cfg" >"$log" 2>&1 &
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
}
# stop PATTERN: SIGINT to the app, then those of its counters that are not zero and match.
stop() {
  kill -INT "$pid"
  wait "$pid"
  pid=
  sed -n '/: stopping/,$p' "$log" | grep -vE ': 0$' | grep -E "$1" || true
}
stat() { "$build"/apps/tempo-stat/tempo-stat --config "$cfg" "$@"; }

ip netns add "$ns"
ip -n "$ns" link set lo up
start echo

echo; echo "== the kernel (198.18.0.1) pings tempo (198.18.0.2), learning its MAC by ARP"
ip netns exec "$ns" ping -c 3 -i 0.2 198.18.0.2
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
echo; echo "== stopping tempo-echo (SIGINT); some of its counters:"
stop 'counters|_packets|_bytes|passive_opens|echo_replied'

echo
start httpd

echo; echo "== 2,000 short HTTP connections from the kernel's sockets (tempo-httpd closes first)"
ip netns exec "$ns" /usr/bin/python3 - <<'PY'
import socket, time

def get(addr, source_port=0):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if source_port:
        s.bind(("198.18.0.1", source_port))
    s.settimeout(10)
    s.connect((addr, 80))
    s.sendall(b"GET / HTTP/1.1\r\nHost: tempo\r\nConnection: close\r\n\r\n")
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    s.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.startswith(b"HTTP/1.1 200") and len(body) == 1024

t0 = time.time()
ok = sum(get("198.18.0.2") for _ in range(2000))
dt = time.time() - t0
print(f"  {ok} of 2000 responses of 1024 bytes, {2000 / dt:.0f} connections/s (the client is Python)")
print(f"  over IPv6: {'ok' if get('2001:db8::2') else 'FAILED'}")
print(f"  from source port 61001: {'ok' if get('198.18.0.2', 61001) else 'FAILED'}")
PY

echo; echo "== who holds TIME_WAIT: the kernel's side holds none of them"
echo "  kernel: $(ip netns exec "$ns" ss -tanH state time-wait '( dport = :80 )' | wc -l)" \
  "sockets in TIME-WAIT toward port 80"
echo "  tempo (tempo-stat --once, connections and TIME_WAIT counters):"
stat --once --interval 0.2 | grep -E '^connections|timewait\.(entries|entered)' | sed 's/^/    /'
echo "  the entries closest to expiry (tempo-stat --connections --state time-wait --limit 3):"
stat --connections --state time-wait --limit 3 | sed 's/^/    /'
kernel_tw=$(awk '$1 == "tw_sock_TCP" {print $4}' /proc/slabinfo 2>/dev/null || true)
echo "  an entry: a 44-byte record in tempo (IPv4; 54 bytes of RSS each, all-in, at ten million:" \
  "perf/macro/million.py), a ${kernel_tw:-256}-byte tw_sock_TCP object in this kernel"

# 61001 is past the kernel's ephemeral ports (32768-60999): only the connection above used it.
echo; echo "== RFC 6191: a new connection from source port 61001, still in tempo's TIME_WAIT"
ip netns exec "$ns" /usr/bin/python3 - <<'PY'
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 61001))
s.settimeout(10)
s.connect(("198.18.0.2", 80))
s.sendall(b"GET / HTTP/1.1\r\nHost: tempo\r\nConnection: close\r\n\r\n")
reply = b""
while chunk := s.recv(65536):
    reply += chunk
print("  accepted and served:", reply.split(b"\r\n", 1)[0].decode())
PY
stat --once --interval 0.2 | grep -E 'passive_reuse_accepted' | sed 's/^/    /'

echo; echo "== stopping tempo-httpd (SIGINT); its counters:"
stop .
