"""The README's first command, apps/demo.sh, on this build (TEMPO_BUILD): it must run to the
end, show what it says it shows (tempo-echo's exchange with the kernel, then tempo-httpd
serving the kernel's connections, tempo holding their TIME_WAIT entries and the kernel none, a
source port still in TIME_WAIT taken again at once), and leave no namespace behind."""

import os
import re
import subprocess
import unittest

import harness


class Demo(unittest.TestCase):
    def test_demo_runs_and_shows_tempo_holding_time_wait(self):
        before = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        r = subprocess.run([os.path.join(harness.SRC, "apps", "demo.sh")],
                           env=dict(os.environ, TEMPO_BUILD=harness.BUILD), capture_output=True,
                           text=True, timeout=300)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        self.assertEqual(out.count("3 received"), 2, out)  # ping, IPv4 and IPv6
        self.assertEqual(out.count("got back b'hello from the Linux kernel'"), 2, out)
        self.assertIn("SHA-256 matches", out)
        self.assertIn("tempo-echo: counters", out)
        self.assertIn("2000 of 2000 responses of 1024 bytes", out)
        self.assertIn("over IPv6: ok", out)
        self.assertIn("kernel: 0 sockets in TIME-WAIT toward port 80", out)
        # Every connection left a TIME_WAIT record on tempo's side (2,000, the IPv6 one and the
        # one from port 61001), but for one whose tuple a later connection took over (RFC 6191
        # reuse: the kernel's ephemeral ports come round again); the demo's own reuse is one.
        m = re.search(r"time_wait_records (\d+)", out)
        reused = re.search(r"timewait\.passive_reuse_accepted: (\d+)", out)
        self.assertIsNotNone(m, out)
        self.assertIsNotNone(reused, out)
        self.assertEqual(int(m.group(1)) + int(reused.group(1)) - 1, 2002, out)
        self.assertEqual(len(re.findall(r"\bTIME-WAIT +198\.18\.0\.2:80 ", out)), 3, out)
        self.assertIn("accepted and served: HTTP/1.1 200", out)
        self.assertRegex(out, r"timewait\.passive_reuse_accepted +[1-9]")
        self.assertIn("tempo-httpd: counters", out)
        after = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertEqual(after, before)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
