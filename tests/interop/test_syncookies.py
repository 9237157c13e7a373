"""SYN cookies on the wire (RFC 4987 §3.6): the kernel's sockets connect to tempo-echo while
tempo answers SYNs statelessly, always or when a listener's backlog is full, and every byte
still comes back intact; with timestamps the cookie restores window scaling and SACK, without
them the connection opens with neither. With cookies off a full backlog drops SYNs (counted)
and the kernel's retries get through."""

import os
import unittest

import harness
from harness import TEMPO_V4, TEMPO_V6

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "echo_client.py")


def echo(ns, addr, size, conns):
    r = ns.sh("/usr/bin/python3", CLIENT, addr, "--size", str(size), "--conns", str(conns),
              "--timeout", "120", check=False, timeout=180)
    return r.returncode == 0, r.stdout + r.stderr


def tcp_cfg(**tcp):
    def apply(cfg):
        cfg["app"] = {"echo": {"port": 7}}
        cfg["tcp"] = tcp
    return apply


class SynCookies(unittest.TestCase):
    def test_always_cookies_v4_v6_with_and_without_timestamps(self):
        with harness.tap_setup("ckall", changes=tcp_cfg(syncookies="always")) as (ns, app, _):
            ok, out = echo(ns, TEMPO_V4, 4 << 20, 4)   # window scaling needed to be quick
            self.assertTrue(ok, out + app.output())
            ok, out = echo(ns, TEMPO_V6, 100000, 3)
            self.assertTrue(ok, out + app.output())
            ns.sh("sysctl", "-qw", "net.ipv4.tcp_timestamps=0")
            ok, out = echo(ns, TEMPO_V4, 1 << 20, 2)
            self.assertTrue(ok, out + app.output())
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            # Every connection was opened from a cookie: none from a backlog entry.
            self.assertEqual(c.get("tcp.syncookies_ok"), 9, output)
            self.assertGreaterEqual(c.get("tcp.syncookies_sent"), 9, output)
            self.assertEqual(c.get("tcp.syncookies_failed"), 0, output)

    def test_backlog_full_falls_back_to_cookies(self):
        with harness.tap_setup("ckauto", changes=tcp_cfg(listen_backlog=1)) as (ns, app, _):
            ok, out = echo(ns, TEMPO_V4, 20000, 300)
            rc, output = app.stop()
            self.assertTrue(ok, out + output)
            c = harness.counters(output)
            # 300 SYNs in a burst against a backlog of one: most were answered by cookie.
            self.assertGreater(c.get("tcp.syncookies_ok", 0), 0, output)
            self.assertEqual(c.get("drop.tcp.listen_overflow", 0), 0, output)

    def test_cookies_off_full_backlog_drops_syns(self):
        cfg = tcp_cfg(listen_backlog=1, syncookies="off")
        with harness.tap_setup("ckoff", changes=cfg) as (ns, app, _):
            ok, out = echo(ns, TEMPO_V4, 1000, 3)
            self.assertTrue(ok, out + app.output())   # the kernel's SYN retries get in
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertGreater(c.get("drop.tcp.listen_overflow", 0), 0, output)
            self.assertEqual(c.get("tcp.syncookies_sent"), 0, output)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
