"""tempo-proxy, the reference embedder of the public API, between kernel clients and a kernel
backend: tempo accepts (passive open) and connects (active open) in one process. Bytes relay
intact both ways; with one local port the backend connections reuse one 4-tuple back to back,
the kernel holding TIME_WAIT (it closes first) or tempo holding it (active early reuse, only
once the last segment from the peer is active_reuse_min_age_ms old)."""

import json
import os
import unittest

import harness
from harness import KERNEL_V4, TEMPO_V4

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO_CLIENT = os.path.join(HERE, "echo_client.py")
PROXY_PORT = 8080
BACKEND_PORT = 8000


def proxy_config(tcp=None, **proxy):
    def apply(cfg):
        cfg["app"] = {"proxy": {"listen": PROXY_PORT, "backends": [f"{KERNEL_V4}:{BACKEND_PORT}"],
                                **proxy}}
        if tcp:
            cfg["tcp"] = tcp
    return apply


def backend(ns, mode):
    return harness.kernel_server(ns, KERNEL_V4, BACKEND_PORT, mode)


def http_clients(ns, port, count):
    # A bound that a working stack never nears (a second or two here) and a broken one reaches.
    return harness.http_clients(ns, TEMPO_V4, count, port=port, timeout=180)


TWO_BACKENDS = [f"{KERNEL_V4}:{BACKEND_PORT}", f"{KERNEL_V4}:{BACKEND_PORT + 1}"]


def fetch(ns, pauses, send=b""):
    """One connection to the proxy per entry of `pauses` (seconds to wait after it), in turn:
    each sends `send` and half-closes (when `send` is set), then reads to EOF. Returns the
    replies (b"" for a connection reset or refused)."""
    script = f"""
import socket, time
for pause in {list(pauses)!r}:
    try:
        s = socket.create_connection(("{TEMPO_V4}", {PROXY_PORT}), timeout=10)
        if {send!r}:
            s.sendall({send!r})
            s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError:
        data = b""
    print(repr(data), flush=True)
    time.sleep(pause)
"""
    r = ns.sh("/usr/bin/python3", "-c", script, timeout=120)
    return [eval(line) for line in r.stdout.splitlines()]


class Proxy(unittest.TestCase):
    def test_relays_bytes_intact_both_ways(self):
        with harness.tap_setup("proxy", app="tempo-proxy", changes=proxy_config()) as (ns, app, _):
            with backend(ns, "echo"):
                for size, conns in ((1, 1), (100000, 20), (20 << 20, 1)):
                    r = ns.sh("/usr/bin/python3", ECHO_CLIENT, TEMPO_V4, "--port", str(PROXY_PORT),
                              "--size", str(size), "--conns", str(conns), check=False, timeout=200)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr + app.output())
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertEqual(c.get("tcp.active_opens"), 22, output)
            # Zero-copy relaying queues one buffer per received segment: the send queue holds
            # far more than the 16 buffers it was once capped at (bounded by tcp.snd_buf now).
            self.assertGreater(c.get("tcp.sndq_peak_buffers", 0), 16, output)

    def test_relays_bulk_on_af_xdp_losing_no_frame(self):
        """On net_af_xdp the RX pool is the socket's umem. DPDK 22.11 registers only
        populated_size * object size bytes of it, and without hugepages an ordinary pool spans
        1.7x that: the kernel dropped every frame sent from a buffer past the end, silently
        (3-7% of a relay's segments, then RTOs and about 1 MB/s). Every frame tempo hands the
        port must leave veth-t, and every byte arrive. A pool of 4,095 makes the buffers past
        58% certain to be used: the fill ring alone takes 1,024."""
        def config(cfg):
            proxy_config()(cfg)
            cfg["ports"][0]["mbufs"] = 4095

        with harness.af_xdp_setup("pxxdp", app="tempo-proxy", changes=config) as (ns, app, _):
            with backend(ns, "echo"):
                r = ns.sh("/usr/bin/python3", ECHO_CLIENT, TEMPO_V4, "--port", str(PROXY_PORT),
                          "--size", str(16 << 20), "--conns", "2", "--timeout", "60",
                          check=False, timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr + app.output())
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            link = json.loads(ns.sh("ip", "-s", "-j", "link", "show", "veth-t").stdout)[0]
            left = link["stats64"]["tx"]["packets"]
            c = harness.counters(output)
            self.assertGreater(c.get("tx_packets", 0), 2 * (16 << 20) // 1448, output)
            self.assertEqual(c.get("tx_packets"), left, output)

    def test_reconnect_same_tuple_kernel_closes_first(self):
        # One local port: every backend connection is 198.18.0.2:40000 -> 198.18.0.1:8000.
        tcp = {"local_port_range": [40000, 40000]}
        with harness.tap_setup("pxtw", app="tempo-proxy", changes=proxy_config(tcp)) as (ns, app, _):
            with backend(ns, "greet") as be:
                replies = fetch(ns, [0] * 5)
                # The kernel closed first each time: its TIME_WAIT holds the tuple, and its
                # RFC 6191-style check accepts our SYN because our timestamps only grow.
                for i, reply in enumerate(replies):
                    self.assertEqual(reply, f"hello {i + 1} from {TEMPO_V4}:40000\n".encode(),
                                     app.output())
                tw = ns.sh("ss", "-tanH", "state", "time-wait", "dst", f"{TEMPO_V4}:40000").stdout
                self.assertIn("198.18.0.1:8000", tw)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertEqual(c.get("tcp.active_opens"), 5, output)
            # The kernel closed first, so tempo never held the backend tuple in TIME_WAIT.
            self.assertEqual(c.get("timewait.active_reuse", 0), 0, output)

    def test_active_early_reuse_waits_for_min_age(self):
        tcp = {"local_port_range": [40000, 40000], "active_reuse_min_age_ms": 1500}
        with harness.tap_setup("pxar", app="tempo-proxy", changes=proxy_config(tcp)) as (ns, app, _):
            with backend(ns, "echo"):
                # The client closes first; the proxy passes the FIN on, so tempo closes the
                # backend connection first and holds its tuple in TIME_WAIT.
                # The second one follows 0.2 s after the first: the tuple's last peer segment
                # is < 1.5 s old, no reuse. The third, 2 s later, takes it from TIME_WAIT.
                replies = fetch(ns, [0.2, 2.0, 0], send=b"ping")
            rc, output = app.stop()
            self.assertEqual(replies, [b"ping", b"", b"ping"], output)
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertEqual(c.get("timewait.active_reuse"), 1, output)
            self.assertEqual(c.get("tcp.connect_failed"), 1, output)
            self.assertEqual(c.get("timewait.entered", 0), 2, output)

    def test_per_connection_keepalive(self):
        # Keepalive off stack-wide (tcp.keepalive.enabled: false) but on for the relay's
        # connections (ConnOptions): an idle pair draws probes on both sides, the kernel answers
        # them, and the relay still works afterwards.
        tcp = {"keepalive": {"enabled": False, "idle_ms": 300, "interval_ms": 200, "probes": 3}}
        changes = proxy_config(tcp, keepalive=True, nagle=False)
        with harness.tap_setup("pxka", app="tempo-proxy", changes=changes) as (ns, app, _):
            with backend(ns, "echo"):
                script = f"""
import socket, time
s = socket.create_connection(("{TEMPO_V4}", {PROXY_PORT}), timeout=10)
s.sendall(b"a")
assert s.recv(10) == b"a"
time.sleep(1.5)           # idle: several keepalive intervals
s.sendall(b"b")
print(s.recv(10).decode(), flush=True)
"""
                r = ns.sh("/usr/bin/python3", "-c", script, timeout=30)
                self.assertEqual(r.stdout.strip(), "b", r.stdout + r.stderr)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertGreaterEqual(c.get("tcp.keepalive_probes", 0), 2, output)

    def test_no_keepalive_by_default(self):
        tcp = {"keepalive": {"enabled": False, "idle_ms": 300, "interval_ms": 200, "probes": 3}}
        with harness.tap_setup("pxnk", app="tempo-proxy", changes=proxy_config(tcp)) as (ns, app, _):
            with backend(ns, "echo"):
                script = f"""
import socket, time
s = socket.create_connection(("{TEMPO_V4}", {PROXY_PORT}), timeout=10)
s.sendall(b"a")
assert s.recv(10) == b"a"
time.sleep(1.0)
"""
                ns.sh("/usr/bin/python3", "-c", script, timeout=30)
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertEqual(c.get("tcp.keepalive_probes"), 0, output)

    def test_refusing_backend_is_skipped_and_its_clients_retried(self):
        # The second backend has nothing listening: the kernel refuses it (RST). Its first
        # client is moved to the other backend before any byte, and the refusing backend is
        # skipped for backend_retry_ms, so it is tried once in all.
        changes = proxy_config(backends=TWO_BACKENDS, backend_retry_ms=60000)
        with harness.tap_setup("pxrf", app="tempo-proxy", changes=changes) as (ns, app, _):
            with backend(ns, "http"):
                res, out = http_clients(ns, PROXY_PORT, 20)
                self.assertEqual(res.get("ok"), 20, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertEqual(c.get("proxy.backend_failures"), 1, output)
            self.assertEqual(c.get("proxy.retries"), 1, output)
            self.assertEqual(c.get("proxy.backend0.connections"), 20, output)
            self.assertEqual(c.get("proxy.backend1.connections"), 0, output)
            self.assertEqual(c.get("proxy.no_backend"), 0, output)

    def test_round_robin_alternates(self):
        changes = proxy_config(backends=TWO_BACKENDS, balance="round_robin")
        with harness.tap_setup("pxrr", app="tempo-proxy", changes=changes) as (ns, app, _), \
                harness.kernel_server(ns, KERNEL_V4, BACKEND_PORT, "http"), \
                harness.kernel_server(ns, KERNEL_V4, BACKEND_PORT + 1, "http"):
            res, out = http_clients(ns, PROXY_PORT, 10)
            self.assertEqual(res.get("ok"), 10, out)
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertEqual(c.get("proxy.backend0.connections"), 5, output)
            self.assertEqual(c.get("proxy.backend1.connections"), 5, output)

    def test_least_connections_sends_new_clients_to_the_idle_backend(self):
        # backend0 echoes, backend1 speaks HTTP. Four clients send "x" and stay: two land on
        # each backend; those on backend1 (no echo: it waits for a whole request) leave. Then
        # six HTTP requests: backend0 holds two connections and backend1 none, so least
        # connections sends every one to backend1 (round robin would send half to the echo).
        changes = proxy_config(backends=TWO_BACKENDS, balance="least_connections")
        script = f"""
import socket, time
held = []
for i in range(4):
    s = socket.create_connection(("{TEMPO_V4}", {PROXY_PORT}), timeout=10)
    s.sendall(b"x")
    held.append(s)
time.sleep(0.5)
kept = []
for s in held:
    s.setblocking(False)
    try:
        if s.recv(10) == b"x":
            kept.append(s)
            continue
    except BlockingIOError:
        pass
    s.close()
time.sleep(0.5)
ok = 0
for i in range(6):
    c = socket.create_connection(("{TEMPO_V4}", {PROXY_PORT}), timeout=10)
    c.sendall(b"GET / HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n")
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    c.close()
    ok += data.startswith(b"HTTP/1.1 200")
print(len(kept), ok, flush=True)
"""
        with harness.tap_setup("pxlc", app="tempo-proxy", changes=changes) as (ns, app, _), \
                harness.kernel_server(ns, KERNEL_V4, BACKEND_PORT, "echo"), \
                harness.kernel_server(ns, KERNEL_V4, BACKEND_PORT + 1, "http"):
            r = ns.sh("/usr/bin/python3", "-c", script, timeout=60)
            self.assertEqual(r.stdout.split(), ["2", "6"], r.stdout + r.stderr + app.output())
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertEqual(c.get("proxy.backend1.connections"), 8, output)

    def test_idle_timeout_resets_silent_pairs_only(self):
        changes = proxy_config(idle_timeout_ms=1000)
        script = f"""
import socket, time
quiet = socket.create_connection(("{TEMPO_V4}", {PROXY_PORT}), timeout=10)
busy = socket.create_connection(("{TEMPO_V4}", {PROXY_PORT}), timeout=10)
for s in (quiet, busy):
    s.sendall(b"a")
    assert s.recv(10) == b"a"
for i in range(10):            # 3 s: busy talks every 0.3 s, quiet says nothing
    time.sleep(0.3)
    busy.sendall(b"b")
    assert busy.recv(10) == b"b"
try:
    quiet_gone = quiet.recv(10) == b""
except ConnectionResetError:
    quiet_gone = True
print(quiet_gone, flush=True)
"""
        with harness.tap_setup("pxid", app="tempo-proxy", changes=changes) as (ns, app, _):
            with backend(ns, "echo"):
                r = ns.sh("/usr/bin/python3", "-c", script, timeout=60)
                self.assertEqual(r.stdout.strip(), "True", r.stdout + r.stderr)
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertEqual(c.get("proxy.idle_closed"), 1, output)

    def test_connect_timeout_moves_the_client_to_the_next_backend(self):
        # backend0's SYNs are dropped (nftables in the namespace): without connect_timeout_ms
        # the client would wait out the stack's SYN retries (about 2 minutes). With it, the
        # backend connection is given up after 1 s and the client served by backend1.
        blackhole = BACKEND_PORT + 1
        changes = proxy_config(backends=[f"{KERNEL_V4}:{blackhole}", f"{KERNEL_V4}:{BACKEND_PORT}"],
                               connect_timeout_ms=1000, backend_retry_ms=60000)
        script = f"""
import socket, time
for i in range(2):
    t0 = time.time()
    s = socket.create_connection(("{TEMPO_V4}", {PROXY_PORT}), timeout=10)
    s.sendall(b"ping")
    s.shutdown(socket.SHUT_WR)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    print(data.decode() or "-", round(time.time() - t0, 3), flush=True)
"""
        with harness.tap_setup("pxct", app="tempo-proxy", changes=changes) as (ns, app, _):
            ns.sh("nft", "add table inet tempotest")
            ns.sh("nft", "add chain inet tempotest in { type filter hook input priority 0 ; }")
            ns.sh("nft", f"add rule inet tempotest in tcp dport {blackhole} drop")
            with backend(ns, "echo"):
                r = ns.sh("/usr/bin/python3", "-c", script, timeout=60)
            lines = [l.split() for l in r.stdout.splitlines()]
            print("connect timeout: reply, seconds:", lines, flush=True)
            rc, output = app.stop()
            self.assertEqual([l[0] for l in lines], ["ping", "ping"], r.stdout + output)
            # The first waited out the connect timeout (checked each loop turn), the second
            # went straight to backend1 (backend0 is skipped for backend_retry_ms).
            self.assertGreaterEqual(float(lines[0][1]), 0.95, r.stdout)
            self.assertLess(float(lines[0][1]), 2.0, r.stdout)
            self.assertLess(float(lines[1][1]), 0.5, r.stdout)
            c = harness.counters(output)
            self.assertEqual(c.get("proxy.connect_timeouts"), 1, output)
            self.assertEqual(c.get("proxy.backend_failures"), 1, output)
            self.assertEqual(c.get("proxy.retries"), 1, output)
            self.assertEqual(c.get("proxy.backend1.connections"), 2, output)


if __name__ == "__main__":
    harness.require_root()
    unittest.main()
