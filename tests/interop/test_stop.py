"""How tempo-echo stops (issue 13, finding 7), with the kernel's sockets as the peers:
SIGTERM resets the open connections (the peer sees ECONNRESET at once, not at its own
timeout), SIGUSR1 prints the counters and tempo keeps serving, SIGHUP stops it with its
counters, a SIGTERM while the EAL is still starting stops it cleanly, and a clean exit leaves
no DPDK runtime directory behind."""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import TEMPO_V4, TEMPO_V6

# A kernel client in the namespace: connects to tempo-echo, checks one echo, says "ready",
# then waits for what tempo does when it stops and prints it as one JSON line.
PEER = r"""
import json, socket, sys, time
addr = sys.argv[1]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(10)
s.connect((addr, 7))
s.sendall(b"hello")
got = b""
while len(got) < 5:
    got += s.recv(5 - len(got))
assert got == b"hello", got
print("ready", flush=True)
t0 = time.monotonic()
try:
    data = s.recv(100)
    what = "eof" if data == b"" else "data"
except ConnectionResetError:
    what = "reset"
except socket.timeout:
    what = "timeout"
print(json.dumps({"what": what, "waited_s": time.monotonic() - t0}), flush=True)
"""


# A kernel client that answers tempo's FIN by keeping its own side open (CLOSE_WAIT).
HOLDER = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7), timeout=30)
s.sendall(b"x")
assert s.recv(1) == b"x"
print("ready", flush=True)
while s.recv(100):
    pass
time.sleep(30)
"""


# N kernel clients at once: each echoes once, then all wait for tempo's stop; prints one JSON
# line with how each ended and how long the last one took.
MANY = r"""
import json, selectors, socket, sys, time
addr, n = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection((addr, 7), timeout=10)
    s.sendall(b"%04d" % i)
    got = b""
    while len(got) < 4:
        got += s.recv(4 - len(got))
    assert got == b"%04d" % i, got
    socks.append(s)
print("ready", flush=True)
sel = selectors.DefaultSelector()
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
t0 = time.monotonic()
ends = {}
while len(ends) < n and time.monotonic() - t0 < 10:
    for key, _ in sel.select(timeout=1):
        try:
            ends[key.fileobj.fileno()] = "eof" if key.fileobj.recv(100) == b"" else "data"
        except ConnectionResetError:
            ends[key.fileobj.fileno()] = "reset"
        sel.unregister(key.fileobj)
print(json.dumps({"reset": sum(1 for e in ends.values() if e == "reset"), "ended": len(ends),
                  "waited_s": time.monotonic() - t0}), flush=True)
"""


def runtime_dir(ns):
    # DPDK's runtime directory of a primary run by root: /var/run/dpdk/<file_prefix>
    # (harness.write_config sets the prefix to the namespace's name).
    return os.path.join("/var/run/dpdk", ns.name)


ECHO_ONCE = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.sendall(b"again")
got = b""
while len(got) < 5:
    got += s.recv(5 - len(got))
assert got == b"again", got
s.close()
"""


def echo_once(ns, addr):
    r = ns.sh("/usr/bin/python3", "-c", ECHO_ONCE, addr, check=False, timeout=30)
    return r.returncode == 0, r.stdout + r.stderr


class Stop(unittest.TestCase):
    def peers(self, ns, addrs):
        procs = []
        for addr in addrs:
            p = subprocess.Popen(["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c", PEER,
                                  addr], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
            procs.append(p)
            line = p.stdout.readline().strip()
            if line != "ready":
                p.wait()
                self.fail(line + p.stdout.read())
        return procs

    def test_sigterm_resets_open_connections(self):
        with harness.tap_setup("stop-rst") as (ns, app, _):
            self.assertTrue(os.path.isdir(runtime_dir(ns)), runtime_dir(ns))
            procs = self.peers(ns, [TEMPO_V4, TEMPO_V6])
            app.proc.send_signal(signal.SIGTERM)
            rc, out = app.stop()
            results = []
            for p in procs:
                results.append(json.loads(p.stdout.read().strip().splitlines()[-1]))
                p.wait()
                p.stdout.close()
            self.assertEqual(rc, 0, out)
            for r in results:
                # Without the reset the peer hears nothing: its recv times out after 10 s.
                self.assertEqual(r["what"], "reset", (results, out))
                self.assertLess(r["waited_s"], 3, results)
            c = harness.counters(out)
            self.assertEqual(c.get("tcp.reset_on_stop"), 2, out)
            self.assertFalse(os.path.exists(runtime_dir(ns)), os.listdir(runtime_dir(ns))
                             if os.path.isdir(runtime_dir(ns)) else "")

    def test_grace_closes_with_fin_then_resets_the_rest(self):
        """tcp.stop_grace_ms: a SIGTERM closes every connection with FIN; a peer that closes
        too is done at once, one that holds its side open is reset when the grace ends."""
        grace_s = 3

        def grace(cfg):
            cfg["tcp"]["stop_grace_ms"] = grace_s * 1000

        with harness.tap_setup("stop-grace", changes=grace) as (ns, app, _):
            closers = self.peers(ns, [TEMPO_V4, TEMPO_V6])
            holder_script = subprocess.Popen(
                ["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c", HOLDER, TEMPO_V4],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(holder_script.stdout.readline().strip(), "ready")
            t0 = time.monotonic()
            app.proc.send_signal(signal.SIGTERM)
            got = [json.loads(p.stdout.read().strip().splitlines()[-1]) for p in closers]
            rc = app.proc.wait(timeout=grace_s + 10)  # not app.stop(): a 2nd signal hurries
            took = time.monotonic() - t0
            out = app.output()
            for p in closers + [holder_script]:
                p.kill()
                p.wait()
                p.stdout.close()
            self.assertEqual(rc, 0, out)
            for g in got:
                self.assertEqual(g["what"], "eof", got)  # the FIN, not a reset
                self.assertLess(g["waited_s"], 2, got)
            # The holder kept tempo waiting for the whole grace, then was reset.
            self.assertGreater(took, grace_s - 0.5, out)
            self.assertLess(took, grace_s + 5, out)
            c = harness.counters(out)
            self.assertEqual(c.get("tcp.closed_on_stop"), 3, out)
            self.assertGreaterEqual(c.get("tcp.reset_on_stop"), 1, out)

    def test_second_signal_ends_the_grace(self):
        def grace(cfg):
            cfg["tcp"]["stop_grace_ms"] = 60000

        with harness.tap_setup("stop-hurry", changes=grace) as (ns, app, _):
            holder = subprocess.Popen(
                ["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c", HOLDER, TEMPO_V4],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(holder.stdout.readline().strip(), "ready")
            app.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertIsNone(app.proc.poll(), app.output())  # waiting on the holder
            t0 = time.monotonic()
            app.proc.send_signal(signal.SIGTERM)
            rc = app.proc.wait(timeout=20)
            took = time.monotonic() - t0
            holder.kill()
            holder.wait()
            holder.stdout.close()
            self.assertEqual(rc, 0, app.output())
            self.assertLess(took, 2, app.output())
            c = harness.counters(app.output())
            self.assertEqual(c.get("tcp.closed_on_stop"), 1, app.output())
            self.assertEqual(c.get("tcp.reset_on_stop"), 1, app.output())

    def test_two_workers_each_reset_their_connections(self):
        """With two Workers each resets its own connections on its own lcore; SIGUSR1 prints
        the counters of both while they run."""
        n = 16

        def two(cfg):
            cfg["eal"]["lcores"] = "0-1"
            cfg["ports"][0]["queues"] = 2

        with harness.tap_setup("stop-w2", changes=two) as (ns, app, _):
            peer = subprocess.Popen(["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c",
                                     MANY, TEMPO_V4, str(n)], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            line = peer.stdout.readline().strip()
            if line != "ready":
                peer.wait()
                self.fail(line + peer.stdout.read())
            app.proc.send_signal(signal.SIGUSR1)
            self.assertTrue(harness.wait_for(lambda: "tempo-echo: counters" in app.output(), 10),
                            app.output())
            ok, log = echo_once(ns, TEMPO_V4)
            self.assertTrue(ok, log)
            # The echo connection's close may trail the kernel's by an ACK: stop once tempo holds
            # only the n (else it resets that one too).
            self.assertTrue(harness.wait_for(lambda: harness.open_connections(ns) == n, 10),
                            harness.telemetry(ns, "/tempo/connections"))
            app.proc.send_signal(signal.SIGTERM)
            rc, out = app.stop()
            got = json.loads(peer.stdout.read().strip().splitlines()[-1])
            peer.wait()
            peer.stdout.close()
            self.assertEqual(rc, 0, out)
            self.assertEqual(got["reset"], n, (got, out))
            self.assertLess(got["waited_s"], 3, got)
            final = harness.counters(out.split("tempo-echo: stopping")[1])
            self.assertEqual(final.get("tcp.reset_on_stop"), n, out)
            opens = [final.get(f"worker{w}.tcp.passive_opens", 0) for w in range(2)]
            self.assertEqual(sum(opens), n + 1, out)
            self.assertTrue(all(o > 0 for o in opens), out)  # both Workers had some to reset

    def test_sigusr1_prints_counters_and_keeps_serving(self):
        with harness.tap_setup("stop-usr1") as (ns, app, _):
            ok, log = echo_once(ns, TEMPO_V4)
            self.assertTrue(ok, log)
            app.proc.send_signal(signal.SIGUSR1)
            self.assertTrue(harness.wait_for(lambda: "tempo-echo: counters" in app.output(), 10),
                            app.output())
            self.assertIsNone(app.proc.poll(), app.output())
            self.assertIn("tcp.passive_opens: 1", app.output())
            # Still serving, and a second SIGUSR1 prints again.
            ok, log = echo_once(ns, TEMPO_V4)
            self.assertTrue(ok, log)
            app.proc.send_signal(signal.SIGUSR1)
            self.assertTrue(harness.wait_for(
                lambda: app.output().count("tempo-echo: counters") == 2, 10), app.output())
            self.assertIsNone(app.proc.poll(), app.output())
            rc, out = app.stop()
            self.assertEqual(rc, 0, out)
            self.assertEqual(out.count("tempo-echo: counters"), 3, out)
            self.assertIn("tcp.passive_opens: 2", out.split("tempo-echo: stopping")[1])

    def test_sighup_stops_with_counters(self):
        with harness.tap_setup("stop-hup") as (ns, app, _):
            app.proc.send_signal(signal.SIGHUP)
            try:
                rc = app.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.fail("SIGHUP did not stop tempo-echo:\n" + app.output())
            self.assertEqual(rc, 0, app.output())
            self.assertIn("tempo-echo: stopping", app.output())
            self.assertIn("tempo-echo: counters", app.output())
            self.assertFalse(os.path.exists(runtime_dir(ns)))

    def test_sigterm_while_the_eal_starts(self):
        """The handler is in place before rte_eal_init: a SIGTERM as soon as the EAL has made
        its runtime directory (the start of its init) stops tempo cleanly, never by the
        default action."""
        harness.require_root()
        with harness.Namespace("stop-early") as ns:
            path = harness.write_config("net_tap.yaml", ns, lambda cfg: cfg["ports"][0].update(
                device=f"net_tap0,iface=te{os.getpid() % 100000}"))
            log = harness.output_file()
            try:
                proc = subprocess.Popen(["ip", "netns", "exec", ns.name,
                                         harness.app_path("tempo-echo"), "--config", path],
                                        stdout=log, stderr=subprocess.STDOUT)
                deadline = time.monotonic() + 30
                while not os.path.isdir(runtime_dir(ns)) and proc.poll() is None:
                    self.assertLess(time.monotonic(), deadline, "no EAL runtime directory")
                    time.sleep(0.001)
                proc.send_signal(signal.SIGTERM)
                rc = proc.wait(timeout=30)
                log.seek(0)
                out = log.read()
                self.assertEqual(rc, 0, out)
                self.assertIn("tempo-echo: counters", out)
                self.assertFalse(os.path.exists(runtime_dir(ns)), out)
            finally:
                log.close()
                os.unlink(path)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
