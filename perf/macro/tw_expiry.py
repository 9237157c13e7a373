#!/usr/bin/env python3
"""A mass TIME_WAIT expiry and the loop that serves through it, tempo talking to tempo (root; a
namespace it makes). Issue 23: hundreds of thousands of entries falling due in the same second
must not stall tempo-httpd's loop.

  tempo-loadgen (lcore 1) --memif--> tempo-httpd (lcore 0)       no kernel in the path

Each case runs one tempo-httpd (it closes first, so it holds TIME_WAIT, for
tcp.time_wait.duration_ms = --duration-ms) and two tempo-loadgen runs one after the other:
  burst  --entries short connections as fast as they go (from the 64 addresses of
         198.18.1.0/26, as million.py), all of which enter TIME_WAIT within a second or two;
  probe  short connections at --probe-rate/s from the port's own address, started so that they
         run from before the burst's entries fall due until after they have all left: the
         latency of a request (connect to response) while the loop expires them.
Cases:
  no expiry   the entries outlive the run (duration 600 s): the loop's longest turn and the
              probe's latency with nothing expiring, the reference;
  bounded     they fall due during the probe, at most tcp.time_wait.expiry_per_turn (64) leave
              per loop turn (tempo's default);
  all at once the same with expiry_per_turn 0: every due entry leaves in the turn that finds it
              due (tempo before issue 23).
Reported per case: tempo-httpd's longest loop turn (cycles.turn_max, in microseconds: over the
whole run, the burst included, so a turn longer than the reference's is the expiry's),
the probe's p50/p99/p99.9/max latency, and timewait.expired / timewait.expiry_deferred. Prints a
table and one JSON line; --out DIR also writes <date>-tw-expiry.json there.

Usage: perf/macro/tw_expiry.py [--build DIR] [--entries N] [--duration-ms MS]
                               [--probe-rate R] [--rounds N] [--out DIR]
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "interop"))

CASES = [("no expiry", 600000, 64), ("bounded", None, 64), ("all at once", None, 0)]


def run_case(harness, test_loadgen, a, duration_ms, per_turn):
    httpd = {"port": 80, "response_bytes": 1024, "keepalive": False}
    burst = {"target": "198.18.0.1:80", "connections": a.entries, "concurrency": 128,
             "close_first": "server", "sources": ["198.18.1.0/26"], "timeout_ms": 30000}

    def server(cfg):
        tw = cfg.setdefault("tcp", {}).setdefault("time_wait", {})
        tw["duration_ms"] = duration_ms
        tw["expiry_per_turn"] = per_turn

    with test_loadgen.memif_pair("twexp", httpd, burst, server_changes=server) as (ns, app,
                                                                                     cpath):
        t0 = time.monotonic()
        rc, out, s = test_loadgen.loadgen(ns, cpath, timeout=300)
        if rc != 0:
            raise RuntimeError(f"burst: tempo-loadgen exited {rc}:\n{out[-3000:]}")
        burst_s = time.monotonic() - t0
        # The probe: from 3 s before the first entries fall due (its EAL takes about 1 s to
        # start) until 3 s after the last (they entered over burst_s).
        expiring_s = a.duration_ms / 1000
        wait = expiring_s - 3 - (time.monotonic() - t0)
        if wait > 0:
            time.sleep(wait)
        probe_ms = int((burst_s + 6) * 1000)
        probe = {"target": "198.18.0.1:80", "mode": "short", "rate": a.probe_rate,
                 "duration_ms": probe_ms, "concurrency": 64, "close_first": "server",
                 "timeout_ms": 30000}

        def client(cfg):  # as memif_pair's client, with the probe's app section
            cfg["eal"]["file_prefix"] = f"{ns.name}-p"
            cfg["ports"][0]["device"] = test_loadgen.memif_device(cfg, f"/run/{ns.name}.sock")
            cfg["app"] = {"loadgen": probe}

        ppath = harness.write_config("memif-client.yaml", ns, client)
        try:
            rc, out, p = test_loadgen.loadgen(ns, ppath, timeout=probe_ms // 1000 + 60)
        finally:
            os.unlink(ppath)
        if rc != 0:
            raise RuntimeError(f"probe: tempo-loadgen exited {rc}:\n{out[-3000:]}")
        src, sout = app.stop()
        c = harness.counters(sout)
    hz = c.get("cycles.tsc_hz", 0) or 1
    lat = p.get("latency_us", {})
    return {"burst_connections": s["connections"]["completed"],
            "burst_per_s": round(s["connections"]["per_s"]),
            "probe_connections": p["connections"]["completed"],
            "probe_failed": p["connections"]["failed"],
            "turn_max_us": round(c.get("cycles.turn_max", 0) / hz * 1e6, 1),
            "p50_us": lat.get("p50"), "p99_us": lat.get("p99"), "p999_us": lat.get("p999"),
            "max_us": lat.get("max"),
            "expired": c.get("timewait.expired", 0),
            "expiry_deferred": c.get("timewait.expiry_deferred", 0),
            "entries_peak": c.get("timewait.entries_peak", 0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--entries", type=int, default=300000)
    ap.add_argument("--duration-ms", type=int, default=10000,
                    help="tcp.time_wait.duration_ms of the expiring cases")
    ap.add_argument("--probe-rate", type=float, default=2000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    os.environ["TEMPO_SRC"] = SRC
    os.environ["TEMPO_BUILD"] = os.path.abspath(a.build)
    import harness  # after TEMPO_BUILD: it finds the apps there
    import test_loadgen
    harness.require_root()
    print("tw_expiry: " + " ".join([sys.executable] + sys.argv), flush=True)

    results = {}
    for r in range(a.rounds):
        for name, duration, per_turn in CASES:  # alternating, one round of each at a time
            got = run_case(harness, test_loadgen, a, duration or a.duration_ms, per_turn)
            print(f"tw_expiry: round {r} {name}: {json.dumps(got)}", flush=True)
            results.setdefault(name, []).append(got)

    def med(name, key):
        vals = [x[key] for x in results[name] if x[key] is not None]
        return statistics.median(vals) if vals else None

    keys = ["turn_max_us", "p50_us", "p99_us", "p999_us", "max_us", "expired",
            "expiry_deferred"]
    print("| case | " + " | ".join(keys) + " |")
    print("| --- " * (len(keys) + 1) + "|")
    for name, _, _ in CASES:
        print(f"| {name} | " + " | ".join(f"{med(name, k):g}" if med(name, k) is not None
                                           else "-" for k in keys) + " |")
    ref = med("no expiry", "turn_max_us")
    summary = {"entries": a.entries, "duration_ms": a.duration_ms, "probe_rate": a.probe_rate,
               "rounds": a.rounds, "cases": results,
               "turn_max_over_reference": {n: round(med(n, "turn_max_us") / ref, 2)
                                           for n, _, _ in CASES if ref}}
    print(json.dumps(summary))
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        path = os.path.join(a.out, f"{datetime.date.today().isoformat()}-tw-expiry.json")
        with open(path, "w") as f:
            json.dump(summary, f, indent=1)
        print(f"tw_expiry: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
