"""A bad configuration stops tempo-echo before the EAL starts: one line naming the key, the
value and what is allowed, and exit code 2. Needs no root (nothing reaches DPDK)."""

import os
import subprocess
import tempfile
import unittest

import harness

CASES = [
    # (name, yaml, text the one line must contain)
    ("max_entries_negative",
     "ports: [{device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24}]\ntcp: {time_wait: {max_entries: -3}}\n",
     "config: tcp.time_wait.max_entries: -3: expected an integer in [1, 1e9]"),
    ("unknown_key",
     "ports: [{device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24}]\ntcp: {time_wiat: {}}\n",
     "config: tcp.time_wiat: unknown key"),
    ("bad_address",
     "ports: [{device: 'net_tap0,iface=x', ipv4: 198.18.0.300/24}]\n",
     "config: ports[0].ipv4: 198.18.0.300/24"),
    ("echo_port_range",
     "ports: [{device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24}]\napp: {echo: {port: 70000}}\n",
     "config: app.echo.port: 70000: expected an integer in [1, 65535]"),
    ("syntax_error", "ports: [\n", "syntax error"),
]


class ConfigErrors(unittest.TestCase):
    def run_echo(self, *args):
        return subprocess.run([harness.app_path("tempo-echo"), *args], capture_output=True,
                              text=True, timeout=30)

    def test_bad_values_exit_2_naming_the_key(self):
        for name, text, expected in CASES:
            with self.subTest(name):
                fd, path = tempfile.mkstemp(suffix=".yaml")
                with os.fdopen(fd, "w") as f:
                    f.write(text)
                try:
                    r = self.run_echo("--config", path)
                finally:
                    os.unlink(path)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(expected, lines[0])
                self.assertNotIn("EAL", r.stdout + r.stderr)

    def test_missing_file(self):
        r = self.run_echo("-c", "/nonexistent/tempo.yaml")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/tempo.yaml", r.stderr)

    def test_help_and_version(self):
        r = self.run_echo("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--config", r.stdout)
        r = self.run_echo("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"tempo-echo \d+\.\d+\.\d+")
        r = self.run_echo("--bogus")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
