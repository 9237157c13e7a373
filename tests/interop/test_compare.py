"""perf/macro/compare.py in its smoke mode (one round of a second): the tempo-to-tempo and
kernel-to-kernel short-connection runs both complete and report connections/s and CPU per
connection, for short connections, keep-alive requests and bulk. The figures are not judged here (CI machines are shared and noisy); this checks
that the command the README names works."""

import json
import os
import subprocess
import sys
import unittest

import harness


class Compare(unittest.TestCase):
    def test_smoke(self):
        script = os.path.join(harness.SRC, "perf", "macro", "compare.py")
        r = subprocess.run([sys.executable, script, "--build", harness.BUILD, "--smoke"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        d = json.loads(r.stdout[r.stdout.index("{"):])
        for workload in ("short", "keepalive", "bulk"):
            for what in ("rate", "cpu"):
                for side in ("tempo_median", "kernel_median"):
                    self.assertGreater(d[workload][what][side], 0, r.stdout)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertNotIn("tempo-cmp-", left)


if __name__ == "__main__":
    harness.require_root()
    unittest.main()
