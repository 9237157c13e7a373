"""IP reassembly (RFC 1122 §3.3.2) with the Linux kernel as the fragmenter: TCP from a kernel
client whose packets a kernel router fragments on the way to tempo, and pings the kernel
fragments itself (IPv4 and IPv6). Every namespace is the test's own and removed when it ends.

Topology of the TCP test (addresses from 198.18.0.0/15, nothing routed out):

    client ns                       router ns (tempo's)
    veth c0 198.19.0.1/24 MTU 1500  <-> veth r0 198.19.0.2/24, ip_forward=1
    ip_no_pmtu_disc=1 (no DF)           tap (kernel side) 198.18.0.1/24, MTU 576
                                        <-> tempo-echo 198.18.0.2 (net_tap, MTU 1500,
                                            gateway 198.18.0.1)

The client's TCP takes tempo's MSS (1460) and sends full-sized segments without DF; the
router cuts each into 576-byte fragments toward tempo, which must reassemble every one for
the echo to come back intact.
"""

import json
import os
import unittest

import harness
from harness import KERNEL_V4, KERNEL_V6, TEMPO_V4, TEMPO_V6

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "echo_client.py")
CLIENT_V4 = "198.19.0.1"
ROUTER_V4 = "198.19.0.2"


def router_config(workers):
    def apply(cfg):
        cfg["ports"][0]["gateway"] = KERNEL_V4
        if workers > 1:
            cfg["eal"]["lcores"] = f"0-{workers - 1}"
            cfg["ports"][0]["queues"] = workers
    return apply


class FragmentsTest(unittest.TestCase):
    def echo_through_router(self, tag, workers, conns, size):
        """tempo-echo behind the fragmenting router; the client echoes `size` bytes on each of
        `conns` connections. Returns tempo's counters."""
        with harness.tap_setup(tag, changes=router_config(workers)) as (router, app, iface), \
                harness.Namespace(tag + "c") as client:
            router.sh("sysctl", "-qw", "net.ipv4.ip_forward=1")
            # The router's way to tempo is narrow: it fragments what it forwards there.
            router.sh("ip", "link", "set", iface, "mtu", "576")
            router.sh("ip", "link", "add", "r0", "type", "veth", "peer", "name", "c0",
                      "netns", client.name)
            router.sh("ip", "addr", "add", f"{ROUTER_V4}/24", "dev", "r0")
            router.sh("ip", "link", "set", "r0", "up")
            client.sh("ip", "addr", "add", f"{CLIENT_V4}/24", "dev", "c0")
            client.sh("ip", "link", "set", "c0", "up")
            client.sh("ip", "route", "add", "198.18.0.0/24", "via", ROUTER_V4)
            # No DF on the client's TCP (RFC 1191 off), so the router fragments rather than
            # asking the client for a smaller MSS.
            client.sh("sysctl", "-qw", "net.ipv4.ip_no_pmtu_disc=1")
            # veth leaves TCP checksums to an offload that tempo never sees done.
            client.sh("ethtool", "-K", "c0", "tx", "off")
            router.sh("ethtool", "-K", "r0", "tx", "off")
            r = client.sh("/usr/bin/python3", CLIENT, TEMPO_V4, "--size", str(size), "--conns",
                          str(conns), "--timeout", "120", check=False, timeout=180)
            lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
            result = json.loads(lines[-1]) if lines else {}
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr + output)
            self.assertEqual(result.get("intact"), conns, result)
            c = harness.counters(output)
            # The full-sized segments arrived in fragments (3 each: 1500 bytes over 576; a
            # shorter tail in 2).
            segments = conns * size // 1460
            self.assertGreater(c.get("reasm.datagrams", 0), segments // 2, output)
            self.assertGreaterEqual(c.get("reasm.fragments", 0), 2 * c["reasm.datagrams"], output)
            for drop in ("overlap", "invalid", "too_big", "no_mbuf", "table_full"):
                self.assertEqual(c.get(f"drop.reasm.{drop}", 0), 0, output)
            return c, output

    def test_tcp_through_a_fragmenting_router(self):
        self.echo_through_router("fragr", workers=1, conns=2, size=1 << 20)

    def test_tcp_through_a_fragmenting_router_two_workers(self):
        """Fragments meet on the Worker their address pair hashes to; each datagram then goes
        to the Worker that owns its connection (software steering over net_tap's queues)."""
        c, output = self.echo_through_router("fragw", workers=2, conns=16, size=1 << 17)
        passive = [c.get(f"worker{w}.tcp.passive_opens", 0) for w in range(2)]
        self.assertEqual(sum(passive), 16, output)
        self.assertTrue(all(n > 0 for n in passive), output)
        self.assertGreater(c.get("steer.out", 0), 0, output)
        self.assertEqual(c.get("drop.steer", 0), 0, output)

    def test_pings_the_kernel_fragments(self):
        """The kernel fragments its own large echo requests for a narrow link (IPv4 at MTU
        576, IPv6 at 1280): tempo reassembles each and answers it whole."""
        with harness.tap_setup("fragp") as (ns, app, iface):
            # IPv6 first: below 1280 the kernel takes IPv6 off the link (RFC 8200 §5).
            ns.sh("ip", "link", "set", iface, "mtu", "1280")
            r = ns.sh("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1400", TEMPO_V6,
                      check=False, timeout=30)
            self.assertIn("3 received", r.stdout, r.stdout + r.stderr)
            ns.sh("ip", "link", "set", iface, "mtu", "576")
            r = ns.sh("ping", "-4", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1000", "-M", "dont",
                      TEMPO_V4, check=False, timeout=30)
            self.assertIn("3 received", r.stdout, r.stdout + r.stderr)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertGreaterEqual(c.get("reasm.datagrams", 0), 6, output)
            self.assertGreaterEqual(c.get("icmp.echo_replied", 0), 3, output)
            self.assertGreaterEqual(c.get("icmp6.echo_replied", 0), 3, output)


if __name__ == "__main__":
    harness.require_root()
    unittest.main()
