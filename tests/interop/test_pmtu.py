"""Path MTU discovery against the Linux kernel as a router (RFC 1191, RFC 8201).

tempo-httpd (net_tap) -- 1500 -- kernel router (ip_forward) -- smaller MTU -- kernel client

The router is the namespace that holds tempo's tap (198.18.0.1, 2001:db8::1); the client lives in
a second namespace behind a veth pair whose router end has the small MTU (1000 for IPv4, 1280 for
IPv6, the least IPv6 allows) and whose client end keeps 1500, so the client's SYN offers an MSS of
1460 and tempo starts with full-sized segments (DF). The router cannot forward them and answers
with real ICMP "fragmentation needed" / ICMPv6 "packet too big"; the transfer completes byte for
byte only if tempo lowers its MSS and resends. Both namespaces are removed when the test ends,
also when it fails. Addresses: 198.18.0.0/15 and 2001:db8::/32, nothing routed out.
"""

import os
import subprocess
import unittest

import harness
from harness import TEMPO_V4, TEMPO_V6

MIB = 1 << 20
CLIENT_V4 = "198.18.1.2"
ROUTER_LINK_V4 = "198.18.1.1"
CLIENT_V6 = "2001:db8:1::2"
ROUTER_LINK_V6 = "2001:db8:1::1"


def httpd(workers):
    def changes(cfg):
        cfg["ports"][0]["gateway"] = harness.KERNEL_V4
        cfg["ports"][0]["gateway6"] = harness.KERNEL_V6
        cfg["app"] = {"httpd": {"port": 80, "response_bytes": MIB}}
        if workers > 1:
            cfg["eal"]["lcores"] = f"0-{workers - 1}"
            cfg["ports"][0]["queues"] = workers
    return changes


class PathMtu(unittest.TestCase):
    def test_kernel_router_icmp_lowers_tempos_mss_and_transfers_complete(self):
        self.run_through_router(workers=1)

    def test_two_workers_icmp_reaches_the_connections_owner(self):
        # net_tap spreads what it receives over the queues by a hash of its own: an ICMP message
        # may land on the Worker that does not own the quoted connection, which passes it on
        # (icmp.steered); the result is the same.
        self.run_through_router(workers=2)

    def run_through_router(self, workers):
        with harness.tap_setup(f"pmtu{workers}", app="tempo-httpd", changes=httpd(workers)) as (
                ns, app, iface), harness.Namespace(f"pmtuc{workers}") as client:
            ns.sh("sysctl", "-qw", "net.ipv4.ip_forward=1")
            ns.sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
            # The router's ICMP rate limit would only slow the test down (tempo retransmits
            # until a message comes through); the messages are the same.
            ns.sh("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
            ns.sh("sysctl", "-qw", "net.ipv6.icmp.ratelimit=0")
            ns.sh("ip", "link", "add", "vr", "type", "veth", "peer", "name", "vc")
            ns.sh("ip", "link", "set", "vc", "netns", client.name)
            ns.sh("ip", "addr", "add", f"{ROUTER_LINK_V4}/24", "dev", "vr")
            ns.sh("ip", "-6", "addr", "add", f"{ROUTER_LINK_V6}/64", "dev", "vr", "nodad")
            # IPv6 first: an interface under 1280 loses its IPv6 addresses.
            ns.sh("ip", "link", "set", "vr", "mtu", "1280", "up")
            client.sh("ip", "addr", "add", f"{CLIENT_V4}/24", "dev", "vc")
            client.sh("ip", "-6", "addr", "add", f"{CLIENT_V6}/64", "dev", "vc", "nodad")
            client.sh("ip", "link", "set", "vc", "mtu", "1500", "up")
            client.sh("ip", "route", "add", "default", "via", ROUTER_LINK_V4)
            client.sh("ip", "-6", "route", "add", "default", "via", ROUTER_LINK_V6)
            want = bytes(ord("a") + i % 26 for i in range(MIB))

            def fetch(url):
                r = subprocess.run(["ip", "netns", "exec", client.name, "curl", "-sS", "-g",
                                    "--max-time", "60", url],
                                   capture_output=True, timeout=90)
                self.assertEqual(r.returncode, 0, r.stderr)
                return r.stdout

            got = fetch(f"http://[{TEMPO_V6}]/")
            self.assertEqual(len(got), MIB)
            self.assertTrue(got == want, "IPv6 body differs")
            ns.sh("ip", "link", "set", "vr", "mtu", "1000")
            got = fetch(f"http://{TEMPO_V4}/")
            self.assertEqual(len(got), MIB)
            self.assertTrue(got == want, "IPv4 body differs")
            # A second connection to the same client starts at the learned MTU: no new message.
            got = fetch(f"http://{TEMPO_V4}/")
            self.assertTrue(got == want, "IPv4 body differs (second connection)")
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertGreaterEqual(c.get("icmp.frag_needed", 0), 1, output)
            self.assertGreaterEqual(c.get("icmp6.packet_too_big", 0), 1, output)
            # Once for the first IPv4 connection, once for the IPv6 one; the second IPv4
            # connection started at the learned MTU (with one Worker: each Worker keeps its
            # own cache, and the second connection may open on the other one).
            self.assertGreaterEqual(c.get("icmp.pmtu_lowered", 0), 2, output)
            if os.environ.get("TEMPO_PMTU_DEBUG"):
                print({k: v for k, v in c.items() if "icmp" in k or "pmtu" in k or "steer" in k})
            if workers == 1:
                self.assertEqual(c.get("icmp.pmtu_lowered", 0), 2, output)
                self.assertEqual(c.get("pmtu.learned", 0), 2, output)
                self.assertEqual(c.get("pmtu.applied", 0), 1, output)
            # (icmp.pmtu_ignored_seq may count a message of the burst that arrives after the
            # resent data was acknowledged: its quoted segment is no longer in flight.)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
