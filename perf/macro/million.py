#!/usr/bin/env python3
"""A million connections through TIME_WAIT, tempo talking to tempo (root; a namespace it makes).

  tempo-loadgen (lcore 1) --memif--> tempo-httpd (lcore 0)       no kernel in the path

tempo-loadgen opens --connections short connections (connect, GET, 1 KiB response, close)
from the 64 addresses of 198.18.1.0/26 (ports[].ipv4_secondary), each used for a whole local
port range in turn, so every 4-tuple is distinct. With --close-first server (the default)
tempo-httpd closes first and holds every tuple in TIME_WAIT at the default 60 s; with
--close-first client tempo-loadgen does. The side holding TIME_WAIT has its RSS sampled
while the run goes and after it (every entry still held), against its RSS when it was ready.

Prints one JSON line: connections, connections/s, failures, TIME_WAIT entries at the peak,
and RSS per entry (the growth over the ready process, divided by the entries). The README
names this script; CI runs the same path scaled down (tests/interop/test_loadgen.py).

Usage: perf/macro/million.py [--build DIR] [--connections N] [--close-first server|client]
                             [--concurrency N] [--max-entries N]
"""

import argparse
import json
import os
import sys
import threading
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "interop"))


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--connections", type=int, default=1000000)
    ap.add_argument("--close-first", choices=["server", "client"], default="server")
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument("--max-entries", type=int, default=0,
                    help="tcp.time_wait.max_entries on the side holding TIME_WAIT (default: "
                    "the config's 4,000,000; the table's index is sized for it)")
    a = ap.parse_args()
    os.environ["TEMPO_SRC"] = SRC
    os.environ["TEMPO_BUILD"] = os.path.abspath(a.build)
    import harness  # after TEMPO_BUILD: it finds the apps there
    import test_loadgen
    harness.require_root()

    client_closes = a.close_first == "client"
    httpd = {"port": 80, "response_bytes": 1024, "keepalive": client_closes}
    lg = {"target": "198.18.0.1:80", "connections": a.connections,
          "concurrency": a.concurrency, "close_first": a.close_first,
          "sources": ["198.18.1.0/26"], "timeout_ms": 30000}
    def bound(cfg):
        if a.max_entries:
            cfg.setdefault("tcp", {}).setdefault("time_wait", {})["max_entries"] = a.max_entries

    with test_loadgen.memif_pair("million", httpd, lg,
                                 server_changes=bound if not client_closes else lambda c: None,
                                 client_changes=bound if client_closes else lambda c: None
                                 ) as (ns, server, cpath):
        if client_closes:
            # The loadgen is the side to watch: start it, find its pid, sample it.
            proc = harness.App(ns, "tempo-loadgen", cpath, ready_timeout=60)
            watched = proc.proc.pid
        else:
            proc = None
            watched = server.proc.pid
        time.sleep(0.5)
        base = rss_kib(watched)
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(watched))
                time.sleep(0.2)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        if client_closes:
            rc, out = proc.wait(timeout=3600)
            summary = test_loadgen.summary(out)
            done.set()
            t.join()
            entries = summary["time_wait"]["entries_peak"]
            # Its own figures: the RSS when its stack was ready (before the link came up and
            # the work began, which sampling from here would miss) and its peak (VmHWM).
            base = summary["rss_kib"]["ready"]
            peak[0] = max(peak[0], summary["rss_kib"]["peak"])
        else:
            rc, out, summary = test_loadgen.loadgen(ns, cpath, timeout=3600)
            time.sleep(0.5)
            done.set()
            t.join()
            peak[0] = max(peak[0], rss_kib(watched))
            src, sout = server.stop()
            entries = harness.counters(sout).get("timewait.entries_peak", 0)
        if rc != 0:
            print(out, file=sys.stderr)
        grown = (peak[0] - base) * 1024
        print(json.dumps({
            "path": "tempo-loadgen -> tempo-httpd over memif, one core each, no kernel",
            "close_first": a.close_first,
            "connections": summary["connections"]["completed"],
            "failed": summary["connections"]["failed"],
            "connections_per_s": round(summary["connections"]["per_s"]),
            "latency_us": summary["latency_us"],
            "time_wait_side": "tempo-loadgen" if client_closes else "tempo-httpd",
            "time_wait_entries_peak": entries,
            "rss_ready_mib": round(base / 1024, 1),
            "rss_peak_mib": round(peak[0] / 1024, 1),
            "rss_bytes_per_time_wait_entry": round(grown / entries, 1) if entries else None,
            "loadgen_exit": rc,
        }))
        return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
