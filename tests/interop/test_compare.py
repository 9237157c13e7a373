"""perf/macro/compare.py in its smoke mode (one short round of everything): every figure of
every path (tempo-to-tempo, af_packet, af_xdp, net_tap) is measured on both sides, the JSON and
the PNG plot are written, the table is printed, and no namespace is left behind. The figures are not
judged here (CI machines are shared and noisy); this checks that the command the README names
works, and that tempo completes the client-closes-first run without a failed connection."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import harness

FIGURES = [("short", "t2t", "rate"), ("short", "t2t", "cpu"), ("keepalive", "t2t", "rate"),
           ("keepalive", "t2t", "cpu"), ("bulk", "t2t", "rate"), ("bulk", "t2t", "cpu"),
           ("latency", "t2t", "p50"), ("latency", "t2t", "p99"), ("latency", "t2t", "p999"),
           ("memory", "t2t", "per_established_conn"), ("memory", "t2t", "per_time_wait_entry"),
           ("memory", "t2t", "per_time_wait_entry_sized_bound"),
           ("client_close", "t2t", "last_second"), ("short", "af_packet", "rate"),
           ("short", "af_packet", "server_cpu"), ("short", "af_xdp", "rate"),
           ("short", "af_xdp", "server_cpu"), ("short", "net_tap", "rate")]


class Compare(unittest.TestCase):
    def test_smoke(self):
        script = os.path.join(harness.SRC, "perf", "macro", "compare.py")
        with tempfile.TemporaryDirectory() as out:
            r = subprocess.run([sys.executable, script, "--build", harness.BUILD, "--smoke",
                                "--out", out], capture_output=True, text=True, timeout=600)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            written = sorted(os.listdir(out))
            self.assertEqual(len(written), 2, written)
            jpath, png = (os.path.join(out, f) for f in written)
            self.assertTrue(jpath.endswith(".json") and png.endswith(".png"), written)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            with open(jpath) as f:
                d = json.load(f)
        got = {(f["workload"], f["path"], f["what"]): f for f in d["figures"]}
        for key in FIGURES:
            self.assertIn(key, got, r.stdout)
            self.assertGreater(got[key]["tempo"], 0, key)
            self.assertGreater(got[key]["kernel"], 0, key)
        cc = d["series"]["client_close"]
        for side in ("tempo", "kernel", "kernel_tw_reuse1"):
            self.assertEqual(len(cc[side]), 3, cc)
        self.assertEqual(cc["tempo_failed"], 0, cc)
        self.assertIn("| tempo/kernel |", r.stdout)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertNotIn("tempo-cmp-", left)
        self.assertNotIn("cmp", " ".join(l.split()[0] for l in left.splitlines() if l))


if __name__ == "__main__":
    harness.require_root()
    unittest.main()
