#!/usr/bin/python3
"""The full-size slowloris run of issue 13 (finding 3), not part of CI: 4 x 16,400 connections
(from four kernel addresses, one byte of the head every 10 s each, one process per address:
one process may hold 20,000 descriptors here) against tempo-httpd on net_tap, more than the
Worker's 65,536 connection slots, while a fresh client sends a whole request every second.
Prints each attacker's and the prober's JSON line (tests/interop/slowloris.py), what the fresh
clients got, and the server's httpd.* and slot-exhaustion counters.

    tests/interop/slowloris_full.py [--header-timeout-ms 10000 | --no-timeout] [--httpd EXE]

--no-timeout leaves header_timeout_ms out of the config (tempo-httpd before the timeouts, given
as --httpd, or one with the key at 0). Root; about a minute; namespaces removed at the end.
"""

import argparse
import json
import os
import subprocess

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
SLOWLORIS = os.path.join(HERE, "slowloris.py")
SOURCES = [harness.KERNEL_V4, "198.18.0.3", "198.18.0.4", "198.18.0.5"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header-timeout-ms", type=int, default=10000)
    ap.add_argument("--no-timeout", action="store_true")
    ap.add_argument("--httpd", default="tempo-httpd")
    ap.add_argument("--per-source", type=int, default=16400)
    ap.add_argument("--seconds", type=float, default=20, help="each attacker, after its opening")
    a = ap.parse_args()

    def changes(cfg):
        cfg["app"] = {"httpd": {"port": 80, "response_bytes": 1024}}
        if not a.no_timeout:
            cfg["app"]["httpd"]["header_timeout_ms"] = a.header_timeout_ms

    with harness.tap_setup("slowfull", app=a.httpd, changes=changes) as (ns, app, iface):
        for addr in SOURCES[1:]:
            ns.sh("ip", "addr", "add", f"{addr}/24", "dev", iface)
        ns.sh("sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000")
        prober = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "/usr/bin/python3", SLOWLORIS, harness.TEMPO_V4,
             "--conns", "0", "--seconds", str(a.seconds + 25), "--probe-every", "1"],
            stdout=subprocess.PIPE, text=True)
        attackers = [subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "bash", "-c",
             f"ulimit -n $(ulimit -Hn); exec /usr/bin/python3 {SLOWLORIS} {harness.TEMPO_V4} "
             f"--source {addr} --conns {a.per_source} --seconds {a.seconds} --interval 10 "
             f"--probe-every 1000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for addr in SOURCES]
        for p in attackers:
            print("attacker:", p.communicate(timeout=900)[0].strip()[-600:], flush=True)
        line = prober.communicate(timeout=900)[0].strip()
        print("prober:", line, flush=True)
        probes = json.loads(line)["probes"] if line.startswith("{") else []
        ms = sorted(p["ms"] for p in probes)
        if ms:
            print(f"fresh clients: {sum(p['ok'] for p in probes)}/{len(probes)} served, "
                  f"ms p50 {ms[len(ms) // 2]}, max {ms[-1]}", flush=True)
        _, out = app.stop()
        c = harness.counters(out)
        print({k: v for k, v in c.items()
               if k.startswith("httpd.") or "exhaust" in k or k == "tcp.passive_opens"})


if __name__ == "__main__":
    harness.require_root()
    main()
