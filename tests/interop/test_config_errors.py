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
    # Issue 13, finding 6: each of these used to start (or reach the EAL).
    ("overlapping_ports",
     "ports:\n  - {device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24}\n"
     "  - {device: 'net_tap1,iface=y', ipv4: 198.18.0.3/16}\n",
     "config: ports[1].ipv4: 198.18.0.3/16: overlaps the subnet of ports[0] (198.18.0.0/24)"),
    ("gateway_off_subnet",
     "ports: [{device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24, gateway: 198.19.0.1}]\n",
     "config: ports[0].gateway: 198.19.0.1: outside the port's subnet 198.18.0.0/24"),
    ("lcores_past_max",
     "eal: {lcores: 0-999}\nports: [{device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24}]\n",
     "config: eal.lcores: 0-999: expected lcores in [0, 127] (RTE_MAX_LCORE 128)"),
    ("lcores_malformed",
     "eal: {lcores: '0-1-2'}\nports: [{device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24}]\n",
     "config: eal.lcores: 0-1-2: expected a core list like 0-3 or 0,2,4"),
    ("file_prefix_nul",
     'eal: {file_prefix: "tempo\\0x"}\nports: [{device: "net_tap0,iface=x", ipv4: 198.18.0.2/24}]\n',
     "config: eal.file_prefix: tempo\\x00x: expected 1 to 64 letters, digits, '-', '_' or '.'"),
    ("extra_arg_nul",
     'eal: {extra_args: ["--huge-unlink\\0x"]}\n'
     'ports: [{device: "net_tap0,iface=x", ipv4: 198.18.0.2/24}]\n',
     "config: eal.extra_args[0]: --huge-unlink\\x00x: expected no control characters"),
    # Found by tempo-echo itself (the sections it read), still before the EAL.
    ("unknown_app_section",
     "ports: [{device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24}]\napp: {ecoh: {port: 7}}\n",
     "config: app.ecoh: unknown app section (known: echo, httpd, loadgen, proxy)"),
]


def lcores_past_this_machine():
    """One CPU past those this process may run on, and the message that names them."""
    cpus = sorted(os.sched_getaffinity(0))
    runs, start = [], cpus[0]
    for a, b in zip(cpus, cpus[1:] + [None]):
        if b != a + 1:
            runs.append(str(start) if start == a else f"{start}-{a}")
            start = b
    past = cpus[-1] + 1
    text = f"{cpus[0]},{past}"
    return (f"eal: {{lcores: '{text}'}}\nports: [{{device: 'net_tap0,iface=x', ipv4: 198.18.0.2/24}}]\n",
            f"config: eal.lcores: {text}: lcore {past} is not a CPU this process may run on "
            f"(it may run on {','.join(runs)})")


if max(os.sched_getaffinity(0)) < 127:
    CASES.append(("lcores_past_this_machine", *lcores_past_this_machine()))


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
