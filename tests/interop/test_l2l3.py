"""ARP, neighbour discovery and ICMP/ICMPv6 echo: tempo-echo answers the Linux kernel, over
net_tap and over af_packet and af_xdp on a veth pair; malformed packets are counted and
dropped."""

import re
import unittest

import harness
from harness import KERNEL_V4, TEMPO_V4, TEMPO_V6


def ping_ok(ns, addr, v6=False, count=3):
    args = ["ping", "-6" if v6 else "-4", "-c", str(count), "-i", "0.2", "-W", "2", addr]
    r = ns.sh(*args, check=False, timeout=30)
    return r.returncode == 0 and f"{count} received" in r.stdout, r.stdout + r.stderr


class L2L3Mixin:
    setup = None  # harness.tap_setup, harness.af_packet_setup or harness.af_xdp_setup

    def test_arp_ping_ping6(self):
        with type(self).setup(self.tag) as (ns, app, iface):
            ok, out = ping_ok(ns, TEMPO_V4)
            self.assertTrue(ok, out)
            # The kernel learned tempo's MAC by ARP.
            neigh = ns.sh("ip", "neigh", "show", TEMPO_V4, "dev", iface).stdout
            self.assertIn(app.mac(), neigh)
            # arping: tempo answers an ARP request directly.
            r = ns.sh("arping", "-c", "2", "-w", "5", "-I", iface, TEMPO_V4, check=False, timeout=20)
            self.assertIn(app.mac().upper(), r.stdout.upper(), r.stdout + r.stderr)
            ok, out = ping_ok(ns, TEMPO_V6, v6=True)
            self.assertTrue(ok, out)
            neigh6 = ns.sh("ip", "-6", "neigh", "show", TEMPO_V6, "dev", iface).stdout
            self.assertIn(app.mac(), neigh6)
            # A large ping: the echo payload comes back whole.
            r = ns.sh("ping", "-c", "1", "-s", "1400", "-W", "2", TEMPO_V4, check=False)
            self.assertEqual(r.returncode, 0, r.stdout)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertGreaterEqual(c.get("icmp.echo_replied", 0), 4, output)
            self.assertGreaterEqual(c.get("icmp6.echo_replied", 0), 3, output)
            self.assertGreaterEqual(c.get("arp.replied", 0), 1, output)
            self.assertGreaterEqual(c.get("nd.advert_sent", 0), 1, output)


class TapTest(L2L3Mixin, unittest.TestCase):
    setup = staticmethod(harness.tap_setup)
    tag = "tap"

    def test_a_port_not_promiscuous_still_resolves_and_answers(self):
        """ports[].promiscuous: false (for a port shared with the kernel or other functions):
        the device reports it off, and ARP, neighbour discovery (all-multicast stays on) and
        ping in both families still work."""
        def off(cfg):
            cfg["ports"][0]["promiscuous"] = False
        with harness.tap_setup("nopromisc", changes=off) as (ns, app, iface):
            self.assertIn("not promiscuous", app.output())
            ok, out = ping_ok(ns, TEMPO_V4)
            self.assertTrue(ok, out)
            ok, out = ping_ok(ns, TEMPO_V6, v6=True)
            self.assertTrue(ok, out)
        with harness.tap_setup("promisc") as (ns, app, iface):
            self.assertNotIn("not promiscuous", app.output())

    def test_resolves_gateways_unprompted(self):
        """With gateways configured, tempo resolves them itself (ARP request, neighbour
        solicitation) and learns the kernel's MAC, before the kernel sends anything to it."""
        def gateways(cfg):
            cfg["ports"][0]["gateway"] = KERNEL_V4
            cfg["ports"][0]["gateway6"] = harness.KERNEL_V6
        with harness.tap_setup("gw", changes=gateways) as (ns, app, iface):
            kernel_mac = ns.sh("cat", f"/sys/class/net/{iface}/address").stdout.strip()
            # Linux learns the sender of an ARP request aimed at it: tempo's MAC shows up in the
            # kernel's table although the kernel never asked.
            self.assertTrue(harness.wait_for(
                lambda: app.mac() in ns.sh("ip", "neigh", "show", TEMPO_V4, "dev", iface).stdout,
                timeout=10), ns.sh("ip", "neigh").stdout)
            harness.wait_for(lambda: False, timeout=1.5)  # let one more NS/NA round pass
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertGreaterEqual(c.get("arp.requests_sent", 0), 1, output)
            self.assertGreaterEqual(c.get("nd.solicit_sent", 0), 1, output)
            self.assertIn(f"{KERNEL_V4} lladdr {kernel_mac}", output)
            self.assertIn(f"{harness.KERNEL_V6} lladdr {kernel_mac}", output)
            self.assertEqual(c.get("icmp.echo_replied", 0), 0, output)

    def test_tcp_to_closed_port_is_refused(self):
        """RFC 9293 §3.10.7.1: a SYN to a port nobody serves gets RST+ACK at once, so the
        kernel's connect() fails with ECONNREFUSED instead of retrying for minutes."""
        with harness.tap_setup("rst") as (ns, app, iface):
            script = f"""
import socket, time
for fam, addr in ((socket.AF_INET, "{TEMPO_V4}"), (socket.AF_INET6, "{TEMPO_V6}")):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    t = time.time()
    try:
        s.connect((addr, 9))
        print("connected")
    except ConnectionRefusedError:
        print("refused", round(time.time() - t, 3))
"""
            r = ns.sh("/usr/bin/python3", "-c", script, check=False, timeout=60)
            lines = r.stdout.split("\n")
            self.assertEqual([l.split()[0] for l in lines if l], ["refused", "refused"], r.stdout + r.stderr)
            for l in lines:
                if l:
                    self.assertLess(float(l.split()[1]), 2.0, r.stdout)
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertEqual(c.get("tcp.rst_sent", 0), 2, output)

    def test_malformed_counted_and_dropped(self):
        """Bad IPv4 checksum, truncated IPv4 and a bad ICMP checksum each bump their own drop
        counter; tempo keeps answering afterwards."""
        with harness.tap_setup("bad") as (ns, app, iface):
            ok, out = ping_ok(ns, TEMPO_V4, count=1)
            self.assertTrue(ok, out)
            script = f"""
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("{iface}", 0))
dst = bytes.fromhex("{app.mac().replace(':', '')}")
src = s.getsockname()[4]
eth = dst + src + b"\\x08\\x00"
def csum(b):
    if len(b) % 2: b += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip(payload, proto=1, bad=False):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                    socket.inet_aton("{KERNEL_V4}"), socket.inet_aton("{TEMPO_V4}"))
    c = csum(h) ^ (0x1111 if bad else 0)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload
icmp = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"x" * 8
icmp_ok = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
icmp_bad = icmp[:2] + struct.pack("!H", csum(icmp) ^ 0x0101) + icmp[4:]
for _ in range(3):
    s.send(eth + ip(icmp_ok, bad=True))     # bad IPv4 header checksum
    s.send(eth + ip(icmp_ok)[:14])          # truncated IPv4 header
    s.send(eth + ip(icmp_bad))              # bad ICMP checksum
    tcp = struct.pack("!HHIIBBHHH", 1234, 7, 1, 0, 0x50, 0x02, 65535, 0xbeef, 0)
    s.send(eth + ip(tcp, proto=6))          # SYN with a wrong TCP checksum
"""
            ns.sh("/usr/bin/python3", "-c", script)
            ok, out = ping_ok(ns, TEMPO_V4, count=2)
            self.assertTrue(ok, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertEqual(c.get("drop.ipv4.bad_checksum", 0), 3, output)
            self.assertEqual(c.get("drop.ipv4.truncated", 0), 3, output)
            self.assertEqual(c.get("drop.icmp.bad_checksum", 0), 3, output)
            self.assertEqual(c.get("drop.tcp.bad_checksum", 0), 3, output)
            self.assertEqual(c.get("icmp.echo_replied", 0), 3, output)


class FaultInjectionTest(unittest.TestCase):
    """tempo's own fault-injection stage (this kernel has no netem): loss, duplication and
    delay, seen from the kernel's ping and counted by tempo."""

    def test_rx_drop(self):
        def faults(cfg):
            cfg["faults"] = {"seed": 5, "rx": {"drop": 0.4}}
        with harness.tap_setup("frx", changes=faults) as (ns, app, iface):
            r = ns.sh("ping", "-c", "30", "-i", "0.05", "-W", "1", TEMPO_V4, check=False, timeout=60)
            m = re.search(r"(\d+) received", r.stdout)
            received = int(m.group(1)) if m else 0
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertGreater(received, 3, r.stdout)
            self.assertLess(received, 28, r.stdout)
            self.assertGreater(c.get("faults.rx.dropped", 0), 0, output)
            self.assertEqual(c.get("icmp.echo_replied", 0), received, output)

    def test_tx_delay_and_duplicate(self):
        def faults(cfg):
            cfg["faults"] = {"seed": 9, "tx": {"delay_ms": 200, "duplicate": 1.0}}
        with harness.tap_setup("ftx", changes=faults) as (ns, app, iface):
            r = ns.sh("ping", "-c", "3", "-i", "0.3", "-W", "3", TEMPO_V4, check=False, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("DUP!", r.stdout)
            rtts = [float(x) for x in re.findall(r"time=([\d.]+) ms", r.stdout)]
            # tempo times the delay on its TSC clock, the kernel on its own: allow 25%.
            self.assertTrue(rtts and min(rtts) >= 150.0, r.stdout)
            rc, output = app.stop()
            c = harness.counters(output)
            self.assertGreaterEqual(c.get("faults.tx.duplicated", 0), 3, output)
            self.assertGreaterEqual(c.get("faults.tx.delayed", 0), 6, output)


class AfPacketTest(L2L3Mixin, unittest.TestCase):
    setup = staticmethod(harness.af_packet_setup)
    tag = "afp"


class AfXdpTest(L2L3Mixin, unittest.TestCase):
    setup = staticmethod(harness.af_xdp_setup)
    tag = "afxdp"


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
