"""TCP against the Linux kernel: tempo-echo serves the kernel's sockets over net_tap,
af_packet and af_xdp, IPv4 and IPv6; every byte comes back intact (SHA-256), also under loss
on the kernel's side (nftables) and under reordering, duplication and delay from tempo's own
fault-injection stage."""

import json
import os
import re
import subprocess
import time
import unittest

import harness
from harness import TEMPO_V4, TEMPO_V6

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "echo_client.py")


def echo(ns, addr, size, conns=1, timeout=180):
    r = ns.sh("/usr/bin/python3", CLIENT, addr, "--size", str(size), "--conns", str(conns),
              "--timeout", str(timeout), check=False, timeout=timeout + 30)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    return r.returncode == 0, result, r.stdout + r.stderr


def nft_loss(ns, percent):
    """Drops `percent`% of the kernel's outgoing TCP segments (this kernel has no netem)."""
    rules = f"""
table inet tempo_loss {{
  chain out {{
    type filter hook output priority 0; policy accept;
    meta l4proto tcp numgen random mod 100 < {percent} counter drop
  }}
}}
"""
    subprocess.run(["ip", "netns", "exec", ns.name, "nft", "-f", "-"], input=rules, text=True,
                   check=True)


def nft_dropped(ns):
    out = ns.sh("nft", "list", "table", "inet", "tempo_loss").stdout
    m = re.search(r"counter packets (\d+)", out)
    return int(m.group(1)) if m else 0


class TapEcho(unittest.TestCase):
    def test_sizes_v4_and_v6(self):
        with harness.tap_setup("echo") as (ns, app, iface):
            for size in (1, 1000, 65536, 1 << 20, 10 << 20, 100 << 20):
                ok, res, out = echo(ns, TEMPO_V4, size)
                self.assertTrue(ok, f"{size}: {out}")
            ok, res, out = echo(ns, TEMPO_V6, 1 << 20)
            self.assertTrue(ok, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertGreater(c.get("tcp.segments_sent", 0), 80000, output)

    def test_thousand_connections_at_once(self):
        with harness.tap_setup("many") as (ns, app, iface):
            ok, res, out = echo(ns, TEMPO_V4, 2000, conns=1000)
            self.assertTrue(ok, out)
            self.assertEqual(res["intact"], 1000, out)
            self.assertGreaterEqual(res["open_at_once"], 1000, out)

    def test_kernel_side_loss(self):
        for percent in (1, 5):
            with self.subTest(loss=percent), harness.tap_setup(f"loss{percent}") as (ns, app, iface):
                nft_loss(ns, percent)
                # The kernel's output hook sees its GSO super-packets, a few dozen per MiB:
                # at 1% the transfer must be long enough for a drop to be near certain.
                ok, res, out = echo(ns, TEMPO_V4, (10 << 20) // percent)
                self.assertTrue(ok, out)
                self.assertGreater(nft_dropped(ns), 0)
                rc, output = app.stop()
                self.assertEqual(rc, 0, output)

    def test_tempo_side_reorder_duplicate_delay(self):
        def faults(cfg):
            cfg["faults"] = {"seed": 11,
                             "rx": {"reorder": 0.05, "duplicate": 0.05, "drop": 0.01},
                             "tx": {"reorder": 0.05, "duplicate": 0.02, "delay_ms": 2}}
        with harness.tap_setup("faults", changes=faults) as (ns, app, iface):
            ok, res, out = echo(ns, TEMPO_V4, 2 << 20)
            self.assertTrue(ok, out)
            rc, output = app.stop()
            c = harness.counters(output)
            for k in ("faults.rx.reordered", "faults.rx.duplicated", "faults.rx.dropped",
                      "faults.tx.reordered", "faults.tx.duplicated", "faults.tx.delayed"):
                self.assertGreater(c.get(k, 0), 0, f"{k}: {output}")


class TapTso(unittest.TestCase):
    def test_tso_frames_carry_the_bytes_intact(self):
        """TSO on (net_tap cuts the frames in software, as a NIC would): consecutive segments
        of one connection leave as one frame; IPv6 (net_tap's GSO has none) goes unmerged."""
        def tso(cfg):
            cfg["ports"][0]["tso"] = True
        with harness.tap_setup("tso", changes=tso) as (ns, app, iface):
            self.assertIn(", TSO", app.output())
            for size in (1, 65536, 10 << 20):
                ok, res, out = echo(ns, TEMPO_V4, size)
                self.assertTrue(ok, f"{size}: {out}")
            ok, res, out = echo(ns, TEMPO_V4, 1 << 20, conns=20)
            self.assertTrue(ok, out)
            ok, res, out = echo(ns, TEMPO_V6, 4 << 20)
            self.assertTrue(ok, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            self.assertGreater(c.get("tx_tso_frames", 0), 100, output)
            self.assertGreater(c.get("tx_tso_merged", 0), c.get("tx_tso_frames", 0) // 2, output)
            csum = ns.sh("nstat", "-az", "TcpInCsumErrors").stdout
            self.assertRegex(csum, r"TcpInCsumErrors\s+0\s", csum)


def abusers(ns, conns, write=1 << 16):
    """echo_client.py --abuse in `ns`: `conns` connections that send and never read. Returns
    the process once they are connected; kill it when done."""
    p = subprocess.Popen(["ip", "netns", "exec", ns.name, "/usr/bin/python3", CLIENT, TEMPO_V4,
                          "--abuse", "--conns", str(conns), "--write", str(write),
                          "--timeout", "300"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("{"):
        p.kill()
        p.wait()
        raise AssertionError(f"abusers did not connect: {line!r}")
    return p


class ReceiveMemory(unittest.TestCase):
    """Issue 13 finding 1: received payload pins RX buffers; the windows tempo offers never add
    up to more than its free buffers hold (tcp::RcvBudget), so senders are flow-controlled, not
    dropped and left in RTO backoff; small segments are packed; connections that hold a lot
    cannot take the reserve the others need. Each test failed before: 5 of 128 connections
    completed in 90 s, none of 32 with 1023 mbufs, 0 bytes for legitimate clients beside
    abusers."""

    def check_flow_controlled(self, app):
        rc, output = app.stop()
        self.assertEqual(rc, 0, output)
        c = harness.counters(output)
        self.assertEqual(c.get("drop.tcp.data_no_mbuf", 0), 0, output)
        return c

    def test_128_connections_of_4_mib_with_the_default_mbufs(self):
        with harness.tap_setup("rmem128") as (ns, app, iface):
            ok, res, out = echo(ns, TEMPO_V4, 4 << 20, conns=128, timeout=120)
            if not ok:
                self.fail(out + app.stop()[1])
            self.check_flow_controlled(app)

    def test_32_connections_with_1023_mbufs_and_a_fresh_client_answered(self):
        def small(cfg):
            cfg["ports"][0]["mbufs"] = 1023
        with harness.tap_setup("rmem32", changes=small) as (ns, app, iface):
            ok, res, out = echo(ns, TEMPO_V4, 4 << 20, conns=32, timeout=60)
            if not ok:
                self.fail(out + app.stop()[1])
            ok, res, out = echo(ns, TEMPO_V4, 1000, timeout=10)
            if not ok:
                self.fail(out + app.stop()[1])
            self.assertLess(res["seconds"], 2, out)
            c = self.check_flow_controlled(app)
            # Windows were held for want of memory and reopened by window updates.
            self.assertGreater(c.get("tcp.rcv_starved", 0), 0, c)
            self.assertGreater(c.get("tcp.rcv_reopened", 0), 0, c)

    def abused(self, n, write, expect_packed):
        with harness.tap_setup("rmemab") as (ns, app, iface):
            ns.sh("sysctl", "-qw", "net.ipv4.tcp_autocorking=0")  # a segment per send()
            bad = abusers(ns, n, write)
            try:
                time.sleep(3)  # let them fill what tempo offers
                ok, res, out = echo(ns, TEMPO_V4, 4 << 20, conns=4, timeout=30)
                if not ok:
                    self.fail(out + app.stop()[1])
                ok, res, out = echo(ns, TEMPO_V4, 1000, timeout=10)
                self.assertTrue(ok, out)
                self.assertLess(res["seconds"], 2, out)
            finally:
                bad.kill()
                bad.wait()
                bad.stdout.close()
            c = self.check_flow_controlled(app)
            if expect_packed:
                self.assertGreater(c.get("tcp.rx_packed", 0), 1000, c)

    def test_32_clients_that_never_read_do_not_stall_the_others(self):
        self.abused(32, 1 << 16, expect_packed=False)

    def test_small_segments_are_packed(self):
        self.abused(8, 16, expect_packed=True)


class SmallMempool(unittest.TestCase):
    def test_exhausted_pool_degrades_service_and_loses_nothing(self):
        """1023 mbufs per pool against 30 connections of 150 KB: windows close as received
        payload fills the RX pool and reopen as it drains, every byte comes back, and every mbuf
        is back in its pool at the end."""
        self.exhaust(tso=False)

    def test_exhausted_pool_with_tso(self):
        """The same with TSO frames being built while the pool runs dry."""
        self.exhaust(tso=True)

    def exhaust(self, tso):
        def small(cfg):
            cfg["ports"][0]["mbufs"] = 1023
            cfg["ports"][0]["tso"] = tso
        with harness.tap_setup("pool", changes=small) as (ns, app, iface):
            ok, res, out = echo(ns, TEMPO_V4, 150000, conns=30, timeout=60)
            if not ok:
                self.fail(out + app.stop()[1])
            ok, res, out = echo(ns, TEMPO_V4, 1000)
            self.assertTrue(ok, out)
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            c = harness.counters(output)
            # Receive memory ran short, so windows were held shut, and reopened.
            self.assertGreater(c.get("tcp.rcv_starved", 0), 0, output)
            self.assertGreater(c.get("tcp.rcv_reopened", 0), 0, output)
            pools = dict(re.findall(r"port0\.(\w+)_pool_free: (\d+) of 1023", output))
            self.assertEqual(int(pools["tx"]), 1023, output)
            # The RX descriptors hold at most a quarter of the RX pool; nothing else may.
            self.assertGreaterEqual(int(pools["rx"]), 1023 - 256, output)


class AfPacketEcho(unittest.TestCase):
    def test_sizes(self):
        with harness.af_packet_setup("aecho") as (ns, app, iface):
            for size in (1, 100000, 4 << 20):
                ok, res, out = echo(ns, TEMPO_V4, size)
                self.assertTrue(ok, f"{size}: {out}")
            ok, res, out = echo(ns, TEMPO_V6, 1 << 20)
            self.assertTrue(ok, out)


class AfXdpEcho(unittest.TestCase):
    def test_short_messages(self):
        """Segments of at most TxEncoder::kCopyBelow (256) bytes, which tempo sends as one
        mbuf: the handshake, data both ways and the close, IPv4 and IPv6."""
        with harness.af_xdp_setup("xecho") as (ns, app, iface):
            for addr in (TEMPO_V4, TEMPO_V6):
                ok, res, out = echo(ns, addr, 200, conns=4, timeout=30)
                self.assertTrue(ok, f"{addr}: {out}")

    # DPDK 22.11's net_af_xdp advertises no RTE_ETH_TX_OFFLOAD_MULTI_SEGS and sends an mbuf
    # chain as pkt_len bytes read from its first segment: tempo copies every payload into the
    # frame's one mbuf on such a port (Interface::tx_multi_seg). Before, every full-sized data
    # segment reached the kernel with the bytes past its headers wrong (TcpInCsumErrors).
    def test_sizes(self):
        with harness.af_xdp_setup("xsizes") as (ns, app, iface):
            for size in (1, 100000, 4 << 20):
                ok, res, out = echo(ns, TEMPO_V4, size, timeout=30)
                self.assertTrue(ok, f"{size}: {out}")
            ok, res, out = echo(ns, TEMPO_V6, 1 << 20, timeout=30)
            self.assertTrue(ok, out)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
