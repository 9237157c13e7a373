#!/usr/bin/python3
"""The receive-memory runs of issue 13 (finding 1), with figures, not part of CI (the
ReceiveMemory tests in test_tcp_echo.py check the same cases): tempo-echo on net_tap with the
kernel's sockets as clients (tests/interop/echo_client.py), each case in its own namespace.

  many     128 connections echoing 4 MiB each, the default mbufs (8191 per pool)
  small    32 connections echoing 4 MiB each, 1023 mbufs
  abusers  4 well-behaved connections echoing 4 MiB each, alone and then beside 32 connections
           that send and never read
  segments the same beside 8 connections that send 16-byte segments and never read

For each: what the well-behaved clients got (intact connections, seconds, MB/s echoed), a fresh
1000-byte echo's time afterwards, and the server's receive-memory counters.

    tests/interop/rmem_full.py [--echo EXE] [--cases many,small,abusers,segments]

--echo runs another tempo-echo (an older build, to see the before). Root; about a minute.
"""

import argparse
import os
import subprocess
import time

import harness
from test_tcp_echo import CLIENT, TEMPO_V4, echo

COUNTERS = ("drop.tcp.data_no_mbuf", "tcp.rx_copied", "tcp.rx_packed", "tcp.rcv_starved",
            "tcp.rcv_reopened", "tcp.retransmits")


def run_case(a, name, mbufs, conns, size, abusers=0, write=1 << 16, timeout=90):
    def changes(cfg):
        if mbufs:
            cfg["ports"][0]["mbufs"] = mbufs

    with harness.tap_setup("rmemfull", app=a.echo, changes=changes) as (ns, app, iface):
        ns.sh("sysctl", "-qw", "net.ipv4.tcp_autocorking=0")
        bad = None
        if abusers:
            bad = subprocess.Popen(
                ["ip", "netns", "exec", ns.name, "/usr/bin/python3", CLIENT, TEMPO_V4, "--abuse",
                 "--conns", str(abusers), "--write", str(write), "--timeout", "300"],
                stdout=subprocess.PIPE, text=True)
            bad.stdout.readline()
            time.sleep(3)
        try:
            ok, res, out = echo(ns, TEMPO_V4, size, conns=conns, timeout=timeout)
            _, fres, _ = echo(ns, TEMPO_V4, 1000, timeout=15)
        finally:
            if bad is not None:
                bad.kill()
                bad.wait()
                bad.stdout.close()
        _, output = app.stop()
        c = harness.counters(output)
        secs = res.get("seconds", 0)
        mbps = res.get("received", 0) / secs / 1e6 if secs else 0
        print(f"{name}: {res.get('intact', 0)}/{conns} intact in {secs} s, {mbps:.1f} MB/s echoed; "
              f"fresh client {fres.get('intact', 0)}/1 in {fres.get('seconds')} s; "
              + ", ".join(f"{k} {c.get(k, 0)}" for k in COUNTERS), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--echo", default="tempo-echo")
    ap.add_argument("--cases", default="many,small,abusers,segments")
    a = ap.parse_args()
    cases = a.cases.split(",")
    if "many" in cases:
        run_case(a, "128 x 4 MiB, default mbufs", 0, 128, 4 << 20, timeout=120)
    if "small" in cases:
        run_case(a, "32 x 4 MiB, 1023 mbufs", 1023, 32, 4 << 20)
    if "abusers" in cases:
        run_case(a, "4 x 4 MiB alone", 0, 4, 4 << 20, timeout=30)
        run_case(a, "4 x 4 MiB beside 32 that never read", 0, 4, 4 << 20, abusers=32, timeout=30)
    if "segments" in cases:
        run_case(a, "4 x 4 MiB beside 8 sending 16-byte segments", 0, 4, 4 << 20, abusers=8,
                 write=16, timeout=30)


if __name__ == "__main__":
    harness.require_root()
    main()
