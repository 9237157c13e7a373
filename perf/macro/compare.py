#!/usr/bin/env python3
"""tempo versus the Linux kernel, side by side in one run (root; namespaces it creates).

--path t2t (the default): what a core of tempo does against what a core of Linux does, no
client in the way.
  tempo : tempo-loadgen (cpu 1) --memif--> tempo-httpd (cpu 0)     no kernel in the path
  kernel: kernel-peer short (cpu 1) --veth--> kernel-peer http-server (cpu 0)
Three workloads, each for --seconds as fast as it goes: short connections (connect, GET,
1 KiB response, the server closes first; --concurrency in flight), keep-alive requests
(--concurrency connections, 1 KiB responses) and bulk (one connection, 1 MiB responses). For
each: the rate (conn/s, req/s, MB/s) and the CPU a unit of it costs, both sides together
(tempo: the busy cycles its two loops counted; the kernel: the busy time of both CPUs in
/proc/stat, softirqs included, since on a veth the receiver's protocol work runs on the
sender's CPU).

--path net_tap: the kernel's TCP as the client of tempo on net_tap.
  tempo : kernel client --net_tap--> tempo-echo / tempo-httpd   (198.18.0.0/24, one namespace)
  kernel: kernel client --veth-----> kernel-peer servers        (198.18.1.0/24, two namespaces)
The same client program (kernel-peer) drives both: bulk throughput through an echo server
(both directions' bytes per second) and the short-connection rate of HTTP/1.1 requests with
`Connection: close` (the server closes first, so the server holds TIME_WAIT). net_tap costs a
syscall and a signal per packet here: this path says little about tempo's own cost.

Rounds alternate tempo and kernel, and the result is the median of each and their ratio,
because these machines are shared and noisy. --smoke: one short round (CI: the figures are not
judged there). Usage: perf/macro/compare.py [--build DIR] [--path t2t|net_tap] [--rounds N]
[--seconds S] [--concurrency N] [--tso on|off] [--smoke]
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


def cpu_busy_s():
    """Busy seconds of every CPU so far (/proc/stat: user, nice, system, irq, softirq)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


# The tempo-to-tempo workloads: (httpd section, loadgen section, what the rate is, unit).
T2T = {
    "short": ({"response_bytes": 1024, "keepalive": False},
              {"mode": "short", "connections": 0, "sources": ["198.18.1.0/26"]},
              "connections", "conn/s"),
    "keepalive": ({"response_bytes": 1024, "keepalive": True},
                  {"mode": "keepalive"}, "requests", "req/s"),
    "bulk": ({"response_bytes": 1 << 20, "keepalive": True},
             {"mode": "bulk", "connections": 1}, "mbytes", "MB/s"),
}


def t2t_tempo(build, workload, seconds, concurrency):
    """tempo-loadgen -> tempo-httpd over memif: (rate, CPU-us per unit of work)."""
    os.environ["TEMPO_SRC"] = SRC
    os.environ["TEMPO_BUILD"] = os.path.abspath(build)
    sys.path.insert(0, os.path.join(SRC, "tests", "interop"))
    import harness
    import test_loadgen
    httpd, lg, what, _ = T2T[workload]
    lg = dict(lg, target="198.18.0.1:80", duration_ms=int(seconds * 1000), progress=False,
              concurrency=concurrency)
    if workload == "keepalive":
        lg["connections"] = concurrency
    with test_loadgen.memif_pair(f"cmp{workload[:4]}", dict(httpd, port=80), lg) as (
            ns, app, cpath):
        rc, out, summary = test_loadgen.loadgen(ns, cpath, timeout=seconds + 120)
        _, sout = app.stop()
    if rc != 0 or not summary:
        raise RuntimeError(f"tempo-loadgen failed:\n{out}")
    busy = 0.0
    for text in (out, sout):
        c = harness.counters(text)
        busy += c.get("cycles.busy", 0) / max(c.get("cycles.tsc_hz", 1), 1)
    if what == "mbytes":
        rate = summary["mbytes_per_s"]
        units = summary["bytes_received"] / 1e6
    else:
        rate = summary[what]["per_s"]
        units = summary[what]["completed"]
    return rate, (busy * 1e6 / units if units else None)


def t2t_kernel(peer, cli_ns, workload, seconds, concurrency):
    """kernel-peer (cpu 1) -> kernel-peer http-server (cpu 0) over veth: (rate, CPU-us/unit)."""
    if workload == "short":
        args, key, count = ["short", "198.18.1.2", "80", str(seconds), str(concurrency)], \
            "conn_per_s", "connections"
    elif workload == "keepalive":
        args, key, count = ["keepalive", "198.18.1.2", "80", str(seconds), str(concurrency),
                            "1024"], "requests_per_s", "requests"
    else:
        args, key, count = ["keepalive", "198.18.1.2", "81", str(seconds), "1", str(1 << 20)], \
            "mbytes_per_s", None
    before = cpu_busy_s()
    r = sh("taskset", "-c", "1", peer, *args, ns=cli_ns, timeout=seconds + 60)
    busy = cpu_busy_s() - before
    res = json.loads(r.stdout.strip().splitlines()[-1])
    units = res[count] if count else res["mbytes_per_s"] * res["seconds"]
    return res[key], (busy * 1e6 / units if units else None)


def run_t2t(a, peer, k_srv, k_cli):
    for port, size in (("80", "1024"), ("81", str(1 << 20))):
        subprocess.Popen(["ip", "netns", "exec", k_srv, "taskset", "-c", "0", peer,
                          "http-server", port, size])
    time.sleep(0.3)
    out = {"path": "t2t: tempo-loadgen->tempo-httpd over memif vs kernel-peer over veth, "
                   "client cpu 1, server cpu 0",
           "cpu": "CPU-us per unit (connection, request, MB), both sides together: tempo's "
                  "busy cycles, the kernel's busy time of both CPUs (/proc/stat)",
           "rounds": a.rounds, "seconds": a.seconds, "concurrency": a.concurrency}
    for workload, (_, _, _, unit) in T2T.items():
        runs = {"tempo": {"rate": [], "cpu": []}, "kernel": {"rate": [], "cpu": []}}
        for _ in range(a.rounds):
            for side, fn in (
                    ("tempo", lambda: t2t_tempo(a.build, workload, a.seconds, a.concurrency)),
                    ("kernel", lambda: t2t_kernel(peer, k_cli, workload, a.seconds,
                                                  a.concurrency))):
                rate, cpu = fn()
                runs[side]["rate"].append(round(rate, 1))
                runs[side]["cpu"].append(round(cpu, 2) if cpu else None)
        res = {"unit": unit}
        for what in ("rate", "cpu"):
            t = statistics.median(x for x in runs["tempo"][what] if x is not None)
            k = statistics.median(x for x in runs["kernel"][what] if x is not None)
            res[what] = {"tempo_median": t, "kernel_median": k,
                         "tempo_over_kernel": round(t / k, 3) if k else None,
                         "tempo_runs": runs["tempo"][what], "kernel_runs": runs["kernel"][what]}
        out[workload] = res
    return out


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--bulk-mbytes", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--tso", choices=["on", "off"], help="ports[].tso for tempo (default: the template's)")
    ap.add_argument("--path", choices=["t2t", "net_tap"], default="t2t")
    ap.add_argument("--smoke", action="store_true", help="one round of a second: CI")
    a = ap.parse_args()
    if a.smoke:
        a.rounds, a.seconds, a.bulk_mbytes = 1, 1, 20
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
        if a.path == "t2t":
            print(json.dumps(run_t2t(a, peer, k_srv, k_cli), indent=2))
            return 0
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
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
