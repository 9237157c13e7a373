"""Two Workers on two queues, every one a whole stack: net_tap's and af_packet's queues are
filled by the kernel's own flow hash, so each Worker passes the segments of tuples it does not
own to their owner (software steering, lib/stack/mesh.h), and the neighbours one Worker learns
reach the other. Passive opens land on both Workers; tempo-proxy's active opens from both
Workers get their replies back; every request is answered and every byte relayed intact."""

import os
import unittest

import harness
from harness import KERNEL_V4, TEMPO_V4

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO_CLIENT = os.path.join(HERE, "echo_client.py")
PROXY_PORT = 8080
BACKEND_PORT = 8000


def two_workers(app_section, qpairs=False):
    def apply(cfg):
        cfg["eal"]["lcores"] = "0-1"
        cfg["ports"][0]["queues"] = 2
        if qpairs:
            cfg["ports"][0]["device"] = cfg["ports"][0]["device"].replace("qpairs=1", "qpairs=2")
        cfg["app"] = app_section
    return apply


HTTPD = {"httpd": {"port": 80, "response_bytes": 1024}}
PROXY = {"proxy": {"listen": PROXY_PORT, "backends": [f"{KERNEL_V4}:{BACKEND_PORT}"]}}


def http_clients(ns, port, count):
    # A bound that a working stack never nears (a second or two here) and a broken one reaches.
    return harness.http_clients(ns, TEMPO_V4, count, port=port, timeout=180)


def per_worker(c, name):
    return [c.get(f"worker{w}.{name}", 0) for w in range(2)]


class TwoWorkers(unittest.TestCase):
    def check_spread(self, c, output, opens):
        passive = per_worker(c, "tcp.passive_opens")
        self.assertEqual(sum(passive), opens, output)
        # The symmetric Toeplitz hash spreads hundreds of tuples over both Workers.
        self.assertTrue(all(n > 0 for n in passive), output)
        # The kernel's queue choice differs from the owner's for some tuples: steered.
        self.assertGreater(c.get("steer.in", 0), 0, output)
        self.assertEqual(c.get("drop.steer", 0), 0, output)

    def test_httpd_on_net_tap_serves_every_request_on_both_workers(self):
        with harness.tap_setup("w2http", app="tempo-httpd", changes=two_workers(HTTPD)) as (
                ns, app, iface):
            res, out = http_clients(ns, 80, 400)
            self.assertEqual(res.get("ok"), 400, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            self.assertIn("software steering", output)
            c = harness.counters(output)
            self.check_spread(c, output, 400)
            # tempo closed first on both Workers: all in TIME_WAIT, none reset.
            self.assertEqual(c.get("timewait.entered"), 400, output)

    def test_httpd_on_af_packet_serves_every_request_on_both_workers(self):
        with harness.af_packet_setup("w2afp", app="tempo-httpd",
                                     changes=two_workers(HTTPD, qpairs=True)) as (ns, app, iface):
            res, out = http_clients(ns, 80, 300)
            self.assertEqual(res.get("ok"), 300, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.check_spread(c, output, 300)

    def test_proxy_opens_from_both_workers_and_relays_every_request(self):
        with harness.tap_setup("w2prx", app="tempo-proxy", changes=two_workers(PROXY)) as (
                ns, app, iface), harness.kernel_server(ns, KERNEL_V4, BACKEND_PORT, "http"):
            res, out = http_clients(ns, PROXY_PORT, 300)
            self.assertEqual(res.get("ok"), 300, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            active = per_worker(c, "tcp.active_opens")
            self.assertEqual(sum(active), 300, output)
            # Each backend connection opens on the Worker that accepted its client, and its
            # replies come back there (the source port is chosen by the owner's hash).
            self.assertEqual(active, per_worker(c, "tcp.passive_opens"), output)
            self.assertTrue(all(n > 0 for n in active), output)
            self.assertEqual(c.get("tcp.connect_failed", 0), 0, output)
            # Both Workers resolved the backend, one of them by the other's ARP answer.
            self.assertEqual(c.get("drop.no_neighbor", 0), 0, output)

    def test_proxy_relays_large_bodies_bit_exact_through_both_workers(self):
        with harness.tap_setup("w2big", app="tempo-proxy", changes=two_workers(PROXY)) as (
                ns, app, iface), harness.kernel_server(ns, KERNEL_V4, BACKEND_PORT, "echo"):
            r = ns.sh("/usr/bin/python3", ECHO_CLIENT, TEMPO_V4, "--port", str(PROXY_PORT),
                      "--conns", "8", "--size", str(2 * 1024 * 1024), check=False, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertTrue(all(n > 0 for n in per_worker(c, "tcp.active_opens")), output)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
