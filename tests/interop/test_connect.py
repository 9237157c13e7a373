"""Active opens through the public API (tests/interop/connect_client.cc, tempo/stack.h only):
tempo connects to kernel echo servers over IPv4 and IPv6, from a Worker's poll hook, with the
kernel's address still unresolved at first (the SYN waits for ARP/ND), sends a pattern and
checks every echoed byte in place."""

import os
import subprocess
import unittest

import harness
from harness import KERNEL_V4, KERNEL_V6

EXE = os.path.join(harness.BUILD, "tests", "interop", "tempo-connect-test")


def connect_config(target, count, size):
    def apply(cfg):
        cfg["app"] = {"connect": {"target": target, "count": count, "bytes": size,
                                  "delay_ms": 1500}}
    return apply


class Connect(unittest.TestCase):
    def run_client(self, target, addr, count, size):
        with harness.tap_setup("conn", app=EXE, changes=connect_config(target, count, size)) as (
                ns, app, _):
            with harness.kernel_server(ns, addr, 7, "echo"):
                try:
                    app.proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    self.fail("tempo-connect-test did not finish:\n" + app.output())
            output = app.output()
            self.assertEqual(app.proc.returncode, 0, output)
            self.assertIn(f"done ok={count} failed=0", output)
            return harness.counters(output)

    def test_ipv4_concurrent_connections(self):
        c = self.run_client(f"{KERNEL_V4}:7", KERNEL_V4, 50, 200000)
        self.assertEqual(c.get("tcp.active_opens"), 50)
        self.assertGreaterEqual(c.get("tx_parked", 0), 1)   # the first SYNs waited for ARP

    def test_ipv6(self):
        c = self.run_client(f"[{KERNEL_V6}]:7", KERNEL_V6, 5, 1 << 20)
        self.assertEqual(c.get("tcp.active_opens"), 5)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
