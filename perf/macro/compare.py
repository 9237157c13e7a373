#!/usr/bin/env python3
"""tempo versus the Linux kernel, side by side in one run (root; namespaces it creates).

  tempo : kernel client --net_tap--> tempo-echo / tempo-httpd   (198.18.0.0/24, one namespace)
  kernel: kernel client --veth-----> kernel-peer servers        (198.18.1.0/24, two namespaces)

The same client program (kernel-peer) drives both: bulk throughput through an echo server
(both directions' bytes per second) and the short-connection rate of HTTP/1.1 requests with
`Connection: close` (the server closes first, so the server holds TIME_WAIT). Rounds alternate
tempo and kernel, and the result is the median of each and their ratio, because these machines
are shared and noisy. Usage: perf/macro/compare.py [--build DIR] [--rounds N] [--seconds S]
[--tso on|off]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def sh(*args, ns=None, check=True, timeout=120):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


def measure(ns, peer, mode, addr, port, args):
    r = sh(peer, mode, addr, str(port), *map(str, args), ns=ns, timeout=300)
    return json.loads(r.stdout.strip().splitlines()[-1])


def start_tempo(build, ns, app, iface, extra, tso=None):
    import yaml
    with open(os.path.join(SRC, "drivers-config", "net_tap.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg["eal"]["file_prefix"] = f"{ns}-{app}"
    cfg["ports"][0]["device"] = f"net_tap0,iface={iface}"
    cfg["app"] = extra
    if tso is not None:
        cfg["ports"][0]["tso"] = tso
    fd, path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(cfg, f)
    log = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(["ip", "netns", "exec", ns, os.path.join(build, "apps", app, app), "-c", path],
                         stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        log.seek(0)
        if "ready" in log.read():
            break
        time.sleep(0.05)
    sh("ip", "addr", "add", "198.18.0.1/24", "dev", iface, ns=ns)
    sh("ip", "link", "set", iface, "up", ns=ns)
    time.sleep(0.5)
    return p, path


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build-release"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--bulk-mbytes", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--tso", choices=["on", "off"], help="ports[].tso for tempo (default: the template's)")
    a = ap.parse_args()
    tso = None if a.tso is None else a.tso == "on"
    peer = os.path.join(a.build, "perf", "macro", "kernel-peer")
    tag = os.getpid()
    t_ns, k_srv, k_cli = f"tempo-cmp-t{tag}", f"tempo-cmp-s{tag}", f"tempo-cmp-c{tag}"
    procs = []
    try:
        for ns in (t_ns, k_srv, k_cli):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        # Kernel to kernel over a veth pair.
        sh("ip", "link", "add", "cmp-c", "netns", k_cli, "type", "veth", "peer", "name", "cmp-s",
           "netns", k_srv)
        sh("ip", "addr", "add", "198.18.1.1/24", "dev", "cmp-c", ns=k_cli)
        sh("ip", "addr", "add", "198.18.1.2/24", "dev", "cmp-s", ns=k_srv)
        sh("ip", "link", "set", "cmp-c", "up", ns=k_cli)
        sh("ip", "link", "set", "cmp-s", "up", ns=k_srv)
        for args in (["echo-server", "7"], ["http-server", "80", "1024"]):
            procs.append(subprocess.Popen(["ip", "netns", "exec", k_srv, peer, *args]))
        time.sleep(0.3)

        results = {"tempo": {"bulk": [], "short": []}, "kernel": {"bulk": [], "short": []}}
        for r in range(a.rounds):
            # tempo: one app at a time on the same net_tap namespace.
            p, path = start_tempo(a.build, t_ns, "tempo-echo", f"tcmp{tag % 10000}", {"echo": {"port": 7}},
                                  tso)
            results["tempo"]["bulk"].append(
                measure(t_ns, peer, "bulk", "198.18.0.2", 7, [a.bulk_mbytes])["mbytes_per_s"])
            stop(p)
            os.unlink(path)
            results["kernel"]["bulk"].append(
                measure(k_cli, peer, "bulk", "198.18.1.2", 7, [a.bulk_mbytes])["mbytes_per_s"])
            p, path = start_tempo(a.build, t_ns, "tempo-httpd", f"tcmp{tag % 10000}",
                                  {"httpd": {"port": 80, "response_bytes": 1024}}, tso)
            results["tempo"]["short"].append(
                measure(t_ns, peer, "short", "198.18.0.2", 80, [a.seconds, a.concurrency])["conn_per_s"])
            stop(p)
            os.unlink(path)
            results["kernel"]["short"].append(
                measure(k_cli, peer, "short", "198.18.1.2", 80, [a.seconds, a.concurrency])["conn_per_s"])
        out = {}
        for what, unit in (("bulk", "MB/s"), ("short", "conn/s")):
            t = statistics.median(results["tempo"][what])
            k = statistics.median(results["kernel"][what])
            out[what] = {"unit": unit, "tempo_median": t, "kernel_median": k,
                         "tempo_over_kernel": round(t / k, 3) if k else None,
                         "tempo_runs": results["tempo"][what], "kernel_runs": results["kernel"][what]}
        print(json.dumps(out, indent=2))
    finally:
        for p in procs:
            p.kill()
        for ns in (t_ns, k_srv, k_cli):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
