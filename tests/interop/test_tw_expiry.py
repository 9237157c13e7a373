"""perf/macro/tw_expiry.py scaled down (issue 23): tempo-httpd holds a burst's TIME_WAIT entries
and lets them expire while a second tempo-loadgen's connections are served. Whatever the
per-turn bound (tcp.time_wait.expiry_per_turn 1, far below what falls due in a turn, and 0, no
bound), every entry leaves, none early, and no connection of the probe fails. With a bound of 1
the bound holds back entries (timewait.expiry_deferred counts the turns) and still keeps up.
The figures (the loop's longest turn, the probe's latency) are the script's, not judged here."""

import argparse
import importlib.util
import os
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
