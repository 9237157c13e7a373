"""TCP against the Linux kernel: tempo-echo serves the kernel's sockets over net_tap,
af_packet and af_xdp, IPv4 and IPv6; every byte comes back intact (SHA-256), also under loss
on the kernel's side (nftables) and under reordering, duplication and delay from tempo's own
fault-injection stage."""

import json
import os
import re
import subprocess
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


class SmallMempool(unittest.TestCase):
    def test_exhausted_pool_degrades_service_and_loses_nothing(self):
        """1023 mbufs per pool against 30 connections of 150 KB: received payload drains the RX
        pool, tempo copies it out (or drops data but keeps ACKs) instead of starving reception,
        every byte still comes back, and every mbuf is back in its pool at the end."""
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
            self.assertGreater(c.get("tcp.rx_copied", 0) + c.get("drop.tcp.data_no_mbuf", 0), 0,
                               output)
            # Receive memory ran short, so windows were held shut, and it recovered.
            self.assertGreaterEqual(c.get("rx_pressure_changes", 0), 2, output)
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
    # chain as pkt_len bytes read from its first segment. tempo attaches payloads over
    # kCopyBelow as chained indirect mbufs whatever the port says, so every full-sized data
    # segment reaches the kernel with the bytes past its headers wrong (TcpInCsumErrors) and
    # the transfer stalls. Expected to fail until tempo copies payloads on such a port.
    @unittest.expectedFailure
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
