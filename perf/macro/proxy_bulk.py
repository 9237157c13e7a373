#!/usr/bin/env python3
"""Bulk throughput of one connection relayed by tempo-proxy (root; namespaces it creates).

  kernel client --af_packet|af_xdp|net_tap--> tempo-proxy --same port--> kernel echo backend

tempo-proxy relays zero-copy: every segment it receives is queued by reference on the other
connection, so its send queue holds one buffer per received segment. This measures what one
relayed connection moves (client bytes out plus bytes back, per second, SHA-256 checked), the
median of several rounds. Usage: perf/macro/proxy_bulk.py [--build DIR] [--path af_packet|
af_xdp|net_tap] [--mb N] [--rounds N] [--conns N] [--delay-ms N]
"""

import argparse
import json
import os
import statistics
import sys

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "interop"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--path", choices=["af_packet", "af_xdp", "net_tap"], default="af_packet")
    ap.add_argument("--mb", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--delay-ms", type=int, default=0,
                    help="tempo's fault stage delays every received packet: an RTT to fill")
    a = ap.parse_args()
    os.environ["TEMPO_SRC"] = SRC
    os.environ["TEMPO_BUILD"] = os.path.abspath(a.build)
    import harness  # after TEMPO_BUILD: it finds the apps there
    harness.require_root()

    def proxy(cfg):
        cfg["app"] = {"proxy": {"listen": 8080, "backends": [f"{harness.KERNEL_V4}:8000"]}}
        if a.delay_ms:
            cfg["faults"] = {"rx": {"delay_ms": a.delay_ms}}

    setup = {"af_packet": harness.af_packet_setup, "af_xdp": harness.af_xdp_setup,
             "net_tap": harness.tap_setup}[a.path]
    client = os.path.join(SRC, "tests", "interop", "echo_client.py")
    rates = []
    with setup("pbulk", app="tempo-proxy", changes=proxy) as (ns, app, iface), \
            harness.kernel_server(ns, harness.KERNEL_V4, 8000, "echo"):
        for _ in range(a.rounds):
            r = ns.sh("/usr/bin/python3", client, harness.TEMPO_V4, "--port", "8080", "--conns",
                      str(a.conns), "--size", str(a.mb << 20), "--timeout", "300", check=False,
                      timeout=400)
            res = json.loads(r.stdout.strip().splitlines()[-1])
            if res["intact"] != a.conns:
                sys.exit(f"proxy_bulk: bytes lost or corrupted: {res}")
            rates.append(2 * res["received"] / res["seconds"] / 1e6)
    print(json.dumps({"path": a.path, "conns": a.conns, "mb": a.mb, "delay_ms": a.delay_ms,
                      "MBps_both_directions": [round(x, 1) for x in rates],
                      "median": round(statistics.median(rates), 1)}))


if __name__ == "__main__":
    main()
