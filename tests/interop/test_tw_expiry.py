"""perf/macro/tw_expiry.py scaled down (issue 23): tempo-httpd holds a burst's TIME_WAIT entries
and lets them expire while a second tempo-loadgen's connections are served. Whatever the
per-turn bound (tcp.time_wait.expiry_per_turn 1, far below what falls due in a turn, and 0, no
bound), every entry leaves, none early, and no connection of the probe fails. With a bound of 1
the bound holds back entries (timewait.expiry_deferred counts the turns) and still keeps up.
The figures (the loop's longest turn, the probe's latency) are the script's, not judged here.

Also perf/macro/million.py's ten-million options scaled down (--sources, --local-port-range,
--duration-ms, --timeline-s): every tuple distinct, so every connection is one entry held at
the end, and the timeline follows them."""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import unittest

import harness
import test_loadgen

SCRIPT = os.path.join(harness.SRC, "perf", "macro", "tw_expiry.py")
spec = importlib.util.spec_from_file_location("tw_expiry", SCRIPT)
tw_expiry = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tw_expiry)

ENTRIES = 20000


class TwExpiry(unittest.TestCase):
    def setUp(self):
        harness.require_root()

    def case(self, per_turn):
        a = argparse.Namespace(entries=ENTRIES, duration_ms=4000, probe_rate=500)
        return tw_expiry.run_case(harness, test_loadgen, a, a.duration_ms, per_turn)

    def check(self, got):
        self.assertEqual(got["burst_connections"], ENTRIES, got)
        self.assertEqual(got["probe_failed"], 0, got)
        self.assertGreater(got["probe_connections"], 0, got)
        # The burst's entries have all left (the probe's own, entered in its last seconds, may
        # still be held), and never more than entered.
        self.assertGreaterEqual(got["expired"], ENTRIES, got)
        self.assertLessEqual(got["expired"], ENTRIES + got["probe_connections"], got)
        self.assertGreaterEqual(got["entries_peak"], ENTRIES, got)

    def test_a_bound_of_one_per_turn_defers_and_keeps_up(self):
        got = self.case(1)
        self.check(got)
        self.assertGreater(got["expiry_deferred"], 0, got)

    def test_no_bound_expires_everything_due_at_once(self):
        got = self.case(0)
        self.check(got)
        self.assertEqual(got["expiry_deferred"], 0, got)


class MillionScaledDown(unittest.TestCase):
    def test_ten_million_options_hold_every_tuple(self):
        harness.require_root()
        n = 30000  # 32 addresses x 1,000 ports: 32,000 distinct tuples
        script = os.path.join(harness.SRC, "perf", "macro", "million.py")
        args = ["--build", harness.BUILD, "--connections", str(n), "--max-entries", "40000",
                "--local-port-range", "50000-50999", "--sources", "198.18.1.0/28,198.18.2.0/28",
                "--duration-ms", "60000", "--timeline-s", "0.5"]
        r = subprocess.run([sys.executable, script] + args, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        d = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(d["connections"], n, d)
        self.assertEqual(d["failed"], 0, d)
        self.assertEqual(d["time_wait_entries_peak"], n, d)
        self.assertGreater(d["turn_max_us"], 0, d)
        self.assertGreater(len(d["timeline"]), 0, d)
        entries = [t["entries"] for t in d["timeline"]]
        self.assertEqual(entries, sorted(entries), d)  # nothing expires within 60 s
        self.assertLessEqual(entries[-1], n, d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
