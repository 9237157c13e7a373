"""tempo-httpd against the kernel's HTTP clients (curl, python sockets): keep-alive and
`Connection: close`; tempo closing first holds the TIME_WAIT entries in its compact table,
and a kernel client reusing the same 4-tuple gets served (RFC 6191 passive early reuse)."""

import os
import subprocess
import time
import unittest

import harness
from harness import TEMPO_V4, TEMPO_V6


def httpd(cfg):
    cfg["app"] = {"httpd": {"port": 80, "response_bytes": 1024}}


def clients(ns, addr, count, source_port=0, timeout=600):
    return harness.http_clients(ns, addr, count, source_port=source_port, timeout=timeout)


class Httpd(unittest.TestCase):
    def test_curl_keepalive_and_close(self):
        with harness.tap_setup("http", app="tempo-httpd", changes=httpd) as (ns, app, iface):
            url = f"http://{TEMPO_V4}/"
            r = ns.sh("curl", "-sS", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                      "-w", "%{http_code} %{size_download} %{num_connects}\\n", url, url, url)
            lines = r.stdout.split()
            # Three requests on one connection: keep-alive.
            self.assertEqual(lines[0:3], ["200", "1024", "1"], r.stdout)
            self.assertEqual(lines[3:6], ["200", "1024", "0"], r.stdout)
            r = ns.sh("curl", "-sS", "-H", "Connection: close", "-o", "/dev/null", "-o",
                      "/dev/null", "-w", "%{http_code} %{num_connects}\\n", url, url)
            self.assertEqual(r.stdout.split(), ["200", "1", "200", "1"], r.stdout)
            r = ns.sh("curl", "-sS", "-g", f"http://[{TEMPO_V6}]/")
            self.assertEqual(len(r.stdout), 1024)
            self.assertTrue(r.stdout.startswith("abcdefghij"), r.stdout[:20])
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            # The two Connection: close requests: tempo closed first, so tempo holds TIME_WAIT.
            self.assertEqual(c.get("timewait.entered"), 2, output)
            # net_tap verifies received TCP checksums (RX checksum offload, in its PMD): tempo
            # takes its verdict instead of summing every segment again.
            self.assertGreater(c.get("rx_cksum_offloaded", 0), 5, output)

    def test_data_after_close_is_answered_by_rst(self):
        # RFC 1122 §4.2.2.13: tempo-httpd answers `Connection: close` and closes; the kernel
        # client reads the response and the FIN, then sends more: nobody will read it, and
        # tempo says so with an RST (as Linux does), which the kernel takes: the client's next
        # call fails with ECONNRESET instead of the bytes vanishing into FIN-WAIT-2.
        script = f"""
import socket, time
s = socket.create_connection(("{TEMPO_V4}", 80), timeout=10)
s.sendall(b"GET / HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n")
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print("response", len(got), got.startswith(b"HTTP/1.1 200"), flush=True)
s.sendall(b"more bytes nobody reads")
time.sleep(0.5)
try:
    s.sendall(b"and more")
    s.recv(1)
    print("no reset", flush=True)
except ConnectionResetError:
    print("reset", flush=True)
except BrokenPipeError:
    print("reset", flush=True)
"""
        with harness.tap_setup("aod", app="tempo-httpd", changes=httpd) as (ns, app, iface):
            r = ns.sh("/usr/bin/python3", "-c", script, timeout=60)
            lines = r.stdout.split("\n")
            self.assertTrue(lines[0].startswith("response") and lines[0].endswith("True"),
                            r.stdout + r.stderr)
            self.assertEqual(lines[1], "reset", r.stdout + r.stderr + app.output())
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertEqual(c.get("tcp.abort_on_data"), 1, output)
            self.assertEqual(c.get("timewait.entered", 0), 0, output)  # reset, not closed

    def test_large_lent_responses_arrive_byte_exact(self):
        # tempo-httpd lends its responses to the stack (tempo::lend): a 1 MiB body is sent by
        # reference, in 60 KiB external buffers and 64 KiB slices, to a kernel client.
        mib = 1 << 20

        def big(cfg):
            cfg["app"] = {"httpd": {"port": 80, "response_bytes": mib}}

        with harness.tap_setup("lent", app="tempo-httpd", changes=big) as (ns, app, iface):
            url = f"http://{TEMPO_V4}/"
            want = bytes(ord("a") + i % 26 for i in range(mib))
            for _ in range(2):  # the second from the same loan
                r = subprocess.run(["ip", "netns", "exec", ns.name, "curl", "-sS", url],
                                   capture_output=True, check=True, timeout=60).stdout
                self.assertEqual(len(r), mib)
                self.assertTrue(r == want, "the body differs from the pattern")
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            self.assertNotIn("responses are copied", output)

    def test_idle_mode_sleeps_when_nothing_comes_and_still_serves(self):
        # eal.idle_sleep_us: a loop that found nothing idle_polls turns in a row sleeps, so an
        # idle server leaves its core to others; a busy-polling one would use all of it.
        def idle(cfg):
            httpd(cfg)
            cfg["eal"]["idle_sleep_us"] = 200
            cfg["eal"]["idle_polls"] = 64

        def cpu_s(pid):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        with harness.tap_setup("idle", app="tempo-httpd", changes=idle) as (ns, app, iface):
            url = f"http://{TEMPO_V4}/"
            r = ns.sh("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                      url)
            self.assertEqual(r.stdout.split(), ["200", "1024"], r.stdout)
            before, t0 = cpu_s(app.proc.pid), time.monotonic()
            time.sleep(2)
            used, wall = cpu_s(app.proc.pid) - before, time.monotonic() - t0
            self.assertLess(used, 0.5 * wall, f"{used:.2f} s of CPU in {wall:.2f} s idle")
            res, out = clients(ns, TEMPO_V4, 200)  # and it still serves at once
            self.assertEqual(res.get("ok"), 200, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            self.assertGreater(harness.counters(output).get("loops.idle_sleeps", 0), 1000,
                               output)

    def test_ten_thousand_time_waits_then_passive_reuse(self):
        with harness.tap_setup("tw", app="tempo-httpd", changes=httpd) as (ns, app, iface):
            res, out = clients(ns, TEMPO_V4, 10000)
            self.assertEqual(res.get("ok"), 10000, out)
            # One source port over and over: every connection after the first finds its tuple
            # in TIME_WAIT at tempo; the kernel's SYN carries a newer timestamp, so RFC 6191
            # lets it open a new connection.
            res, out = clients(ns, TEMPO_V4, 50, source_port=40000)
            self.assertEqual(res.get("ok"), 50, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertEqual(c.get("timewait.entered"), 10050, output)
            # The 49 deliberate reuses, and any the kernel's own ephemeral-port choice made
            # among the first 10,000 (it holds no TIME_WAIT as the passive closer).
            accepted = c.get("timewait.passive_reuse_accepted", 0)
            self.assertGreaterEqual(accepted, 49, output)
            self.assertEqual(c.get("timewait.passive_reuse_refused"), 0, output)
            # 60 s TIME_WAIT: every entry is still held but those a reuse took over.
            self.assertEqual(c.get("timewait.expired"), 0, output)
            self.assertEqual(c.get("timewait.entries"), 10050 - accepted, output)

    def test_passive_reuse_without_timestamps_uses_the_isn_rule(self):
        with harness.tap_setup("twnots", app="tempo-httpd", changes=httpd) as (ns, app, iface):
            ns.sh("sysctl", "-qw", "net.ipv4.tcp_timestamps=0")
            res, out = clients(ns, TEMPO_V4, 20, source_port=40001)
            rc, output = app.stop()
            c = harness.counters(output)
            accepted = c.get("timewait.passive_reuse_accepted", 0)
            refused = c.get("timewait.passive_reuse_refused", 0)
            ok, failed = res.get("ok", 0), res.get("failed", 0)
            # Every connection is accounted for by the client, served or failed.
            self.assertEqual(ok + failed, 20, out + output)
            # Each of connections 2..20 finds its predecessor's entry (tempo closed first) and
            # is judged by the ISN rule alone (no timestamps). Accepted: the entry gives way
            # and the connection is served; the first connection met no entry. So every
            # accepted reuse was served, and nothing else was.
            self.assertEqual(ok, 1 + accepted, out + output)
            # Refused: tempo answers the SYN with no more than an ACK for the old connection
            # (RFC 5961 §4.2), the RST the client may send back is ignored (RFC 1337, the
            # default), and every retransmitted SYN carries the same ISN and is refused again:
            # the client never gets a SYN,ACK and connect() times out (settimeout(10) in
            # http_client.py, no errno). refused counts SYNs, retransmissions included: at
            # least one per failed connection, and none when none failed.
            self.assertEqual(failed, 19 - accepted, out + output)
            self.assertGreaterEqual(refused, failed, output)
            self.assertEqual(refused == 0, failed == 0, out + output)
            # "TimeoutError" (Python >= 3.10; "timeout" before): no other failure.
            errors = res.get("errors", {})
            self.assertEqual(sum(errors.values()), failed, out)
            self.assertLessEqual(set(errors), {"TimeoutError", "timeout"}, out)

    def test_expiry_after_duration(self):
        def short(cfg):
            httpd(cfg)
            cfg["tcp"] = {"time_wait": {"duration_ms": 1000}}
        with harness.tap_setup("twexp", app="tempo-httpd", changes=short) as (ns, app, iface):
            res, out = clients(ns, TEMPO_V4, 100)
            self.assertEqual(res.get("ok"), 100, out)
            harness.wait_for(lambda: False, timeout=2.5)
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertEqual(c.get("timewait.entered"), 100, output)
            self.assertEqual(c.get("timewait.expired"), 100, output)
            self.assertEqual(c.get("timewait.entries"), 0, output)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
