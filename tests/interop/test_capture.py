"""Packet capture from a running tempo, read back with tshark: with DPDK's own dpdk-dumpcap
(tempo serves rte_pdump; on hugepages, as a secondary process attaches only to those), and with
tempo's built-in capture (stack/capture.h), from the config or through telemetry. tempo-echo on
net_tap, the kernel its client: each capture holds the handshake both ways, the echoed bytes
and the close, as the wire had them."""

import json
import os
import subprocess
import tempfile
import time
import unittest

import harness
from harness import KERNEL_V4, TEMPO_V4

CLIENT = f"""
import socket
s = socket.create_connection(("{TEMPO_V4}", 7), timeout=10)
s.sendall(b"captured by dumpcap")
assert s.recv(100) == b"captured by dumpcap"
print(s.getsockname()[1], flush=True)
s.close()
"""


def exchange(ns):
    """One echo connection from the kernel; its source port."""
    return int(ns.sh("/usr/bin/python3", "-c", CLIENT).stdout)


class Capture(unittest.TestCase):
    def check_handshake(self, pcap, port):
        r = subprocess.run(
            ["tshark", "-r", pcap, "-Y", f"tcp.port == {port}", "-T", "fields", "-e",
             "ip.src", "-e", "tcp.srcport", "-e", "tcp.flags.str", "-e", "tcp.payload"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split("\t") for line in r.stdout.splitlines()]
        flags = [(src, f.replace("·", "").strip()) for src, _, f, _ in rows]
        # The handshake, in order: the kernel's SYN, tempo's SYN-ACK, the kernel's ACK.
        self.assertEqual(flags[:3], [(KERNEL_V4, "S"), (TEMPO_V4, "AS"), (KERNEL_V4, "A")],
                         r.stdout)
        payload = "captured by dumpcap".encode().hex()
        sent = [src for src, _, _, data in rows if data == payload]
        self.assertEqual(sent, [KERNEL_V4, TEMPO_V4], r.stdout)  # the request and its echo
        self.assertIn((TEMPO_V4, "AF"), flags, r.stdout)  # tempo's FIN
        self.assertIn((KERNEL_V4, "AF"), flags, r.stdout)

    def test_built_in_capture_from_the_config(self):
        with tempfile.TemporaryDirectory() as tmp:
            pcap = f"{tmp}/tempo.pcapng"

            def capture(cfg):
                cfg["capture"] = {"file": pcap, "count": 200, "snaplen": 256}

            with harness.tap_setup("pcfg", changes=capture) as (ns, app, _):
                port = exchange(ns)
                time.sleep(0.5)  # the last ACK of the close
                rc, output = app.stop()
                self.assertEqual(rc, 0, output)
            self.check_handshake(pcap, port)

    def test_built_in_capture_through_telemetry(self):
        with tempfile.TemporaryDirectory() as tmp, \
                harness.tap_setup("ptel") as (ns, app, _):
            pcap = f"{tmp}/tempo.pcapng"

            def capture(params):
                r = subprocess.run(["dpdk-telemetry.py", "-f", ns.name],
                                   input=f"/tempo/capture{params}\n", capture_output=True,
                                   text=True, timeout=30, check=True)
                return json.loads(r.stdout.splitlines()[-1])["/tempo/capture"]

            self.assertEqual(capture("")["active"], 0)
            self.assertEqual(capture(f",start,{pcap},500")["active"], 1)
            port = exchange(ns)
            time.sleep(0.5)
            status = capture(",stop")
            self.assertEqual(status["active"], 0, status)
            self.assertGreaterEqual(status["captured"], 9, status)  # 3 + 2 + 4 of the exchange
            self.assertEqual(status["dropped"], 0, status)
            self.check_handshake(pcap, port)
            after = exchange(ns)  # stopped: nothing more is written
            time.sleep(0.3)
            self.assertEqual(capture("")["captured"], status["captured"])
            self.assertIn("usage", capture(",bogus")["error"])
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            self.assertNotEqual(after, port)

    def test_dumpcap_captures_a_handshake_both_ways(self):
        with harness.hugepages(160) as huge, tempfile.TemporaryDirectory() as tmp:
            def on_hugepages(cfg):
                cfg["eal"]["no_huge"] = False
                cfg["eal"]["memory_mb"] = 256
                # The secondary maps the primary's memory at the primary's addresses. DPDK's
                # default base (4 GB) lies in ASan's shadow gap, so an ASan build's memory lands
                # among the shared libraries, where dumpcap's own may sit (ASLR: it failed 1 in
                # a few CI runs). 32 TB is free in both layouts.
                cfg["eal"]["extra_args"] = ["--huge-dir", huge, "--base-virtaddr", "0x200000000000"]

            pcap = f"{tmp}/tempo.pcapng"
            with harness.tap_setup("pcap", changes=on_hugepages) as (ns, app, _):
                dumpcap = subprocess.Popen(
                    ["dpdk-dumpcap", "--file-prefix", ns.name, "-i", "net_tap0", "-w", pcap],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                try:
                    # It writes the file's header once it captures (its stdout is buffered).
                    started = harness.wait_for(
                        lambda: dumpcap.poll() is not None
                        or os.path.exists(pcap) and os.path.getsize(pcap) > 0, timeout=30)
                    if started and dumpcap.poll() is None:
                        port = exchange(ns)
                        time.sleep(0.5)  # the last ACK of the close
                finally:
                    dumpcap.send_signal(2)  # SIGINT: it writes its statistics and the file
                    out, _ = dumpcap.communicate(timeout=30)
                self.assertTrue(started, "dpdk-dumpcap did not start:\n" + out)
                rc, output = app.stop()
                self.assertEqual(rc, 0, output)
            self.assertEqual(dumpcap.returncode, 0, out)
            self.check_handshake(pcap, port)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
