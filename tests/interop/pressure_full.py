#!/usr/bin/python3
"""The pressure and abuse runs of issue 19 ("Under pressure and abuse"), with figures, not part
of CI (test_pressure.py checks scaled-down versions): tempo on net_tap with the kernel's
sockets as peers, each case in its own namespace (harness.tap_setup), the kernel-side clients
in tests/interop/pressure_clients.py.

  echo24      tempo-echo with ports[].mbufs 2047 (and ports[].tso per --tso), 24 connections
              each echoing 4 MiB at once (tests/interop/echo_client.py), a fresh tempo each
              repetition (--reps): per run the echoes completed (of 24) within 30 s, the
              seconds, and how tempo ended (exit status, or the signal that killed it); then
              completed runs, crashes, median and max time.
  table       tempo-echo with tcp.max_connections 4096 (--max-connections) and 4,172 (--idle)
              idle connections opened one after another (each given --connect-wait s for its
              SYN,ACK, then left pending; pending ones get --settle s more): how many connected;
              then the first 200 are closed and every other one sends a short message: how many
              echoed (a connection whose SYN got no slot may still open by the kernel's SYN
              retries, or one opened by SYN cookie by its first data); tcp.syncookies_table_full,
              tcp.syncookies_sent, drop.tcp.conn_exhausted.
  nonreaders  tempo-httpd serving 1 MiB responses, --nonreaders (1000) clients each sending
              one request with a 4 KiB SO_RCVBUF and never reading; then 5 fresh clients one
              after another, each fetching the response within --fetch-timeout s: the bytes and
              seconds each got; drop.no_mbuf. app.httpd.idle_timeout_ms is --idle-timeout-ms
              (120000, so that tempo's send timeout does not end the non-readers during the run;
              0 keeps tempo's default, 30000).
  synflood    one live tempo-echo connection, then --segments (20000) segments with random
              SEQ and ACK on its 4-tuple, sent by a raw socket from the kernel's side at --pps,
              first mixed (a third SYNs, a third RSTs, a sixth bare ACKs, a sixth 32-byte data
              segments), then each kind alone: the segments tempo sent back on that tuple (seen
              by AF_PACKET on the tap), and whether the live connection still echoes exact bytes;
              tempo's challenge-ACK counters. Then the same floods against a Linux listener on
              loopback in the same namespace, for comparison.

    tests/interop/pressure_full.py [--echo EXE] [--httpd EXE] [--reps 100] [--tso on|off]
                                   [--cases echo24,table,nonreaders,synflood] [...]

--echo/--httpd run another build's binaries (an older one, to see the before). Root. echo24 at
100 repetitions takes 10-20 minutes, the other cases a minute or two each.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import time

import harness
from harness import TEMPO_V4
from test_tcp_echo import echo

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "pressure_clients.py")


def exe(path):
    """An app name (built tree) or a path to a binary."""
    return os.path.abspath(path) if os.sep in path else path


def clients(ns, *args, timeout=600):
    """pressure_clients.py in `ns`: its last JSON line, and everything it printed."""
    r = ns.sh("/usr/bin/python3", CLIENTS, *map(str, args), check=False, timeout=timeout)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), r.stdout + r.stderr


def ended(rc):
    if rc is None:
        return "still running"
    if rc < 0:
        return f"killed by {signal.Signals(-rc).name}"
    return f"exit {rc}"


def stop(app):
    """Stops the app: (exit code or -signal or None, output, died before SIGINT)."""
    died = app.proc.poll() is not None
    try:
        rc, output = app.stop()
    except AssertionError as e:  # ignored SIGINT: killed
        return None, str(e), died
    return rc, output, died


def show(c, names):
    return ", ".join(f"{k} {c.get(k, 0)}" for k in names)


# ---------------------------------------------------------------------------------------------


def case_echo24(a):
    def changes(cfg):
        cfg["ports"][0]["mbufs"] = 2047
        if a.tso != "default":
            cfg["ports"][0]["tso"] = a.tso == "on"

    print(f"echo24: tempo-echo, mbufs 2047, tso {a.tso}, 24 connections x 4 MiB at once, "
          f"{a.reps} runs ({a.echo})", flush=True)
    runs = []
    for rep in range(1, a.reps + 1):
        with harness.tap_setup("p19echo", app=a.echo, changes=changes) as (ns, app, _):
            ok, res, out = echo(ns, TEMPO_V4, 4 << 20, conns=24, timeout=30)
            rc, output, died = stop(app)
        c = harness.counters(output)
        crashed = rc is None or rc != 0
        runs.append({"intact": res.get("intact", 0), "seconds": res.get("seconds", 30.0),
                     "crashed": crashed})
        print(f"  run {rep}: {res.get('intact', 0)}/24 in {res.get('seconds')} s; tempo "
              f"{ended(rc)}{' (died during the run)' if died else ''}; "
              + (show(c, ("drop.tcp.data_no_mbuf", "tcp.rcv_starved", "tcp.rcv_reopened",
                          "drop.no_mbuf", "tcp.retransmits")) if c else "no counters"),
              flush=True)
    done = [r for r in runs if r["intact"] == 24]
    secs = [r["seconds"] for r in runs]
    dsecs = [r["seconds"] for r in done]
    print(f"echo24 summary: {len(done)}/{len(runs)} runs completed 24/24, "
          f"{sum(r['crashed'] for r in runs)} crashed (or not exit 0); time over all runs median "
          f"{statistics.median(secs):.2f} s, max {max(secs):.2f} s"
          + (f"; completed runs median {statistics.median(dsecs):.2f} s, max {max(dsecs):.2f} s"
             if dsecs else ""), flush=True)


def case_table(a):
    def changes(cfg):
        cfg["tcp"]["max_connections"] = a.max_connections

    print(f"table: tempo-echo, tcp.max_connections {a.max_connections}, {a.idle} idle connections "
          f"one after another ({a.echo})", flush=True)
    with harness.tap_setup("p19table", app=a.echo, changes=changes) as (ns, app, _):
        res, out = clients(ns, "idle", TEMPO_V4, "--count", a.idle, "--connect-wait",
                           a.connect_wait, "--settle", a.settle, "--close-first", 200,
                           "--echo-timeout", 15)
        rc, output, died = stop(app)
    c = harness.counters(output)
    if not res:
        print("  client printed nothing:", out[-2000:])
    print(f"  connected {res.get('connected')}/{a.idle} ({res.get('connected_at_once')} within "
          f"{a.connect_wait} s, {res.get('connected_late')} in {a.settle} s more), "
          f"{res.get('pending')} still pending, {res.get('failed')} failed; opening took "
          f"{res.get('open_seconds')} s", flush=True)
    print(f"  after closing the first {res.get('closed_first')}: {res.get('echo_ok')} of "
          f"{res.get('echo_tried')} that sent echoed ({res.get('connected_after_free')} pending "
          f"ones connected meanwhile); the last opened echoed: {res.get('last_opened_echoed')}; "
          f"errors {res.get('errors')}", flush=True)
    print(f"  tempo {ended(rc)}; " + show(c, ("conns.slots", "tcp.passive_opens",
                                           "tcp.syncookies_table_full", "tcp.syncookies_sent",
                                           "tcp.syncookies_ok", "tcp.syncookies_failed",
                                           "drop.tcp.conn_exhausted")), flush=True)


def case_nonreaders(a):
    def changes(cfg):
        httpd = {"port": 80, "response_bytes": 1 << 20}
        if a.idle_timeout_ms:
            httpd["idle_timeout_ms"] = a.idle_timeout_ms
        cfg["app"] = {"httpd": httpd}

    print(f"nonreaders: tempo-httpd, 1 MiB responses, {a.nonreaders} clients that never read, "
          f"idle_timeout_ms {a.idle_timeout_ms or 'default'} ({a.httpd})", flush=True)
    with harness.tap_setup("p19nr", app=a.httpd, changes=changes) as (ns, app, _):
        alone, _ = clients(ns, "fetch", TEMPO_V4, "--count", 1, "--timeout", a.fetch_timeout)
        bad = subprocess.Popen(["ip", "netns", "exec", ns.name, "/usr/bin/python3", CLIENTS,
                                "nonreaders", TEMPO_V4, "--count", str(a.nonreaders)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            opened = json.loads(bad.stdout.readline() or "{}")
            time.sleep(2)  # their responses fill what tempo has
            res, out = clients(ns, "fetch", TEMPO_V4, "--count", 5, "--timeout", a.fetch_timeout)
            bad.stdin.close()
            held = json.loads(bad.stdout.readline() or "{}")
        finally:
            bad.kill()
            bad.wait()
            bad.stdout.close()
        rc, output, died = stop(app)
    c = harness.counters(output)
    f = alone.get("fetches", [{}])[0]
    print(f"  alone: {f.get('bytes')} of {f.get('want')} bytes in {f.get('seconds')} s", flush=True)
    print(f"  non-readers: {opened.get('opened')} opened in {opened.get('seconds')} s "
          f"({opened.get('failed')} failed {opened.get('errors')}); at the end {held.get('held')} "
          f"held, {held.get('reset')} reset, {held.get('bytes_queued')} bytes in their receive "
          f"queues", flush=True)
    for i, f in enumerate(res.get("fetches", []), 1):
        print(f"  fresh client {i}: {f['bytes']} of {f['want']} bytes in {f['seconds']} s "
              f"(first byte {f['first_byte_s']} s){', ' + f['error'] if f['error'] else ''}",
              flush=True)
    if not res:
        print("  fetch printed nothing:", out[-2000:])
    print(f"  tempo {ended(rc)}; " + show(c, ("drop.no_mbuf", "tx_full", "tx_parked",
                                           "tcp.persist_probes", "tcp.sndq_peak_buffers",
                                           "httpd.send_timeouts", "tcp.rst_sent"))
          + f"; {' '.join(l.strip() for l in output.splitlines() if '_pool_free' in l)}",
          flush=True)


def print_flood(res):
    if "phases" not in res:
        print("  flood failed:", res, flush=True)
        return
    for p in res["phases"]:
        print(f"  {res['target']} {p['kind']}: {p['sent']} segments ({p['syns']} SYNs) in "
              f"{p['seconds']} s, {p['seen_out']} seen leaving -> {p['answers']} answers "
              f"({p['answers_per_s']}/s) {p['by_kind']}", flush=True)
    print(f"  {res['target']}: the live connection echoes exact bytes after: {res['echo_after']}"
          f"{' (' + res['echo_error'] + ')' if res['echo_error'] else ''}", flush=True)


def case_synflood(a):
    print(f"synflood: tempo-echo, one live connection, {a.segments} random-SEQ segments per phase "
          f"at {a.pps}/s ({a.echo})", flush=True)
    kinds = "mix,syn,ack,rst,data"
    with harness.tap_setup("p19flood", app=a.echo) as (ns, app, iface):
        res, out = clients(ns, "flood", TEMPO_V4, "--iface", iface, "--segments", a.segments,
                           "--kinds", kinds, "--pps", a.pps)
        rc, output, died = stop(app)
        if not res:
            print("  flood printed nothing:", out[-2000:])
        print_flood(res)
        c = harness.counters(output)
        print(f"  tempo {ended(rc)}; " + show(c, (
            "rx_packets", "tcp.segments_sent", "tcp.challenge_acks", "tcp.challenge_acks_limited",
            "tcp.acks_oow_limited",
            "tcp.drop_unacceptable", "tcp.drop_syn_synchronized", "tcp.drop_rst_out_of_window",
            "tcp.drop_rst_in_window", "tcp.drop_ack_unsent", "tcp.drop_ack_too_old")), flush=True)
        # The same against Linux, on loopback in this namespace.
        kres, kout = clients(ns, "flood", "--kernel", "--segments", a.segments, "--kinds", kinds,
                             "--pps", a.pps)
        if not kres:
            print("  kernel flood printed nothing:", kout[-2000:])
        print_flood(kres)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--echo", default="tempo-echo", help="tempo-echo binary (default: the build)")
    ap.add_argument("--httpd", default="tempo-httpd", help="tempo-httpd binary")
    ap.add_argument("--cases", default="echo24,table,nonreaders,synflood")
    ap.add_argument("--reps", type=int, default=100, help="echo24 repetitions")
    ap.add_argument("--tso", choices=("default", "on", "off"), default="default",
                    help="echo24: ports[].tso (default: drivers-config/net_tap.yaml's, off)")
    ap.add_argument("--max-connections", type=int, default=4096)
    ap.add_argument("--idle", type=int, default=4172, help="table: idle connections")
    ap.add_argument("--connect-wait", type=float, default=0.3)
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--nonreaders", type=int, default=1000)
    ap.add_argument("--fetch-timeout", type=float, default=10)
    ap.add_argument("--idle-timeout-ms", type=int, default=120000)
    ap.add_argument("--segments", type=int, default=20000, help="synflood: per phase")
    ap.add_argument("--pps", type=float, default=15000)
    a = ap.parse_args()
    a.echo, a.httpd = exe(a.echo), exe(a.httpd)
    cases = a.cases.split(",")
    unknown = set(cases) - {"echo24", "table", "nonreaders", "synflood"}
    if unknown:
        ap.error(f"unknown cases: {', '.join(sorted(unknown))}")
    for name in ("echo24", "table", "nonreaders", "synflood"):
        if name in cases:
            t0 = time.time()
            globals()["case_" + name](a)
            print(f"({name}: {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    harness.require_root()
    main()
