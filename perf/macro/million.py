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

Ten million (issue 23): --sources gives the source blocks (each the client port's
ipv4_secondary too) and --local-port-range the ports per address, so that the tuples are
enough: 160 addresses x 64,512 ports = 10.3M, e.g.
  million.py --connections 10000000 --max-entries 12000000 --local-port-range 1024-65535 \
             --sources 198.18.1.0/25,198.18.2.0/27 --timeline-s 5
--duration-ms sets tcp.time_wait.duration_ms on the side holding TIME_WAIT (60 s by default;
RFC 9293's 2·MSL is 240 s). --timeline-s N asks that side for its counters every N seconds
(SIGUSR1) and adds a timeline: entries held and connections/s per interval. The JSON has the
loop's longest turn (cycles.turn_max) of that side.

Usage: perf/macro/million.py [--build DIR] [--connections N] [--close-first server|client]
                             [--concurrency N] [--max-entries N] [--sources B,B]
                             [--local-port-range LO-HI] [--duration-ms MS] [--timeline-s N]
"""

import argparse
import json
import os
import signal
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
    ap.add_argument("--sources", default="198.18.1.0/26",
                    help="tempo-loadgen's source blocks, comma-separated (on its port too)")
    ap.add_argument("--local-port-range", default="",
                    help="LO-HI: tcp.local_port_range of tempo-loadgen (default the config's)")
    ap.add_argument("--duration-ms", type=int, default=0,
                    help="tcp.time_wait.duration_ms on the side holding TIME_WAIT")
    ap.add_argument("--timeline-s", type=float, default=0,
                    help="sample the TIME_WAIT side's counters (SIGUSR1) every N seconds")
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
          "sources": a.sources.split(","), "timeout_ms": 30000}

    def bound(cfg):
        tw = cfg.setdefault("tcp", {}).setdefault("time_wait", {})
        if a.max_entries:
            tw["max_entries"] = a.max_entries
        if a.duration_ms:
            tw["duration_ms"] = a.duration_ms

    def client(cfg):
        cfg["ports"][0]["ipv4_secondary"] = a.sources.split(",")
        if a.local_port_range:
            lo, hi = (int(x) for x in a.local_port_range.split("-"))
            cfg.setdefault("tcp", {})["local_port_range"] = [lo, hi]
        if client_closes:
            bound(cfg)

    with test_loadgen.memif_pair("million", httpd, lg,
                                 server_changes=bound if not client_closes else lambda c: None,
                                 client_changes=client) as (ns, server, cpath):
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
        app = proc if client_closes else server
        opens_key = "tcp.active_opens" if client_closes else "tcp.passive_opens"
        timeline = []
        start = time.monotonic()

        def sample():
            next_report = start + a.timeline_s
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(watched))
                if a.timeline_s and time.monotonic() >= next_report:
                    next_report += a.timeline_s
                    app.proc.send_signal(signal.SIGUSR1)
                    time.sleep(0.3)  # the main lcore prints at its next turn
                    c = harness.counters(app.output())
                    timeline.append({"t_s": round(time.monotonic() - start, 1),
                                     "entries": c.get("timewait.entries", 0),
                                     "opens": c.get(opens_key, 0),
                                     "rss_mib": round(rss_kib(watched) / 1024, 1)})
                time.sleep(0.2)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        if client_closes:
            rc, out = proc.wait(timeout=3600)
            summary = test_loadgen.summary(out)
            done.set()
            t.join()
            entries = summary["time_wait"]["entries_peak"]
            out_counters = harness.counters(out)
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
            out_counters = harness.counters(sout)
            entries = out_counters.get("timewait.entries_peak", 0)
        if rc != 0:
            print(out, file=sys.stderr)
        grown = (peak[0] - base) * 1024
        for prev, cur in zip([{"t_s": 0, "opens": 0}] + timeline, timeline):
            cur["opens_per_s"] = round((cur["opens"] - prev["opens"]) / (cur["t_s"] - prev["t_s"]))
        hz = out_counters.get("cycles.tsc_hz", 0)
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
            "turn_max_us": (round(out_counters.get("cycles.turn_max", 0) / hz * 1e6, 1)
                            if hz else None),
            "timeline": timeline,
            "loadgen_exit": rc,
        }))
        return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
