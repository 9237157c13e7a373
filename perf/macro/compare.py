#!/usr/bin/env python3
"""tempo versus the Linux kernel, side by side in one run (root; namespaces it creates).

One command, every figure the README shows: it prints the table, writes
perf/results/<date>.json and perf/results/<date>.png (or under --out) and says, for each
figure, what is in the path. Rounds alternate tempo and kernel; a figure is the median of its
rounds, with every round kept in the JSON, and the ratio tempo/kernel, because these machines
are shared and noisy. The client runs on CPU 1 and the server on CPU 0 on both sides.

Paths
  t2t       tempo-loadgen --memif--> tempo-httpd         no kernel in the path, against
            kernel-peer short/keepalive --veth--> kernel-peer http-server
  af_packet the kernel's TCP (kernel-peer) as the client of tempo-httpd on net_af_packet over a
            veth pair, against the same client and a kernel-peer server over a veth pair: the
            figure is the server's CPU per connection (the client is the limit of both)
  af_xdp    the same on net_af_xdp over the same veth pair (veth's own XDP, the AF_XDP socket
            in copy mode: the kernel still copies each frame, into the socket's umem)
  net_tap   the same client of tempo-echo / tempo-httpd on net_tap (a syscall and a signal per
            packet here: it says little about tempo's own cost), labelled as such

Workloads (t2t unless said)
  short         connect, GET, 1 KiB response, the server closes first, --concurrency in flight,
                as fast as it goes: connections/s and CPU-us per connection (both sides: tempo's
                busy cycles, the kernel's busy time of both CPUs in /proc/stat, softirqs too)
  client_close  the same with the client closing first at a fixed --cc-rate for --cc-seconds
                from one client address: connections/s each second, tempo against the kernel as
                configured by default (tcp_tw_reuse=2: loopback only) and with tcp_tw_reuse=1
  keepalive     requests/s on --concurrency connections, 1 KiB responses
  bulk          one connection, 1 MiB responses: MB/s
  latency       short connections at a fixed --latency-rate: p50/p99/p999 connect to response
  memory        bytes per established connection (--idle-conns held open; tempo: the server's
                RSS growth plus its preallocated slot, the kernel: the growth of its slab per
                socket end) and per TIME_WAIT entry (--tw-entries held by tempo-httpd: its RSS
                growth per entry; the kernel: its tw_sock_TCP slab object)

--smoke: one short round of everything (CI: the figures are not judged there).
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KERNEL_SRV, KERNEL_CLI = "198.18.1.2", "198.18.1.1"


def sh(*args, ns=None, check=True, timeout=120):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


def last_json(text):
    return json.loads([l for l in text.splitlines() if l.startswith("{")][-1])


def cpu_busy_s(cpus=None):
    """Busy seconds so far (user, nice, system, irq, softirq) of all CPUs, or of `cpus`."""
    total = 0.0
    with open("/proc/stat") as f:
        for line in f:
            name, *fields = line.split()
            if not name.startswith("cpu"):
                break
            if (cpus is None and name == "cpu") or (cpus is not None and name[3:] in map(str, cpus)):
                user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
                total += user + nice + system + irq + softirq
    return total / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def meminfo_kib(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def slab_objsize(name):
    with open("/proc/slabinfo") as f:
        for line in f:
            if line.split()[0] == name:
                return int(line.split()[3])
    return None


class Peak:
    """Samples a process's RSS every 0.1 s until stopped: its peak."""

    def __init__(self, pid):
        self.pid, self.peak, self.done = pid, rss_kib(pid), threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.done.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.1)

    def stop(self):
        self.done.set()
        self.t.join()
        return self.peak


def harness_modules(build):
    os.environ["TEMPO_SRC"] = SRC
    os.environ["TEMPO_BUILD"] = os.path.abspath(build)
    sys.path.insert(0, os.path.join(SRC, "tests", "interop"))
    import harness
    import test_loadgen
    return harness, test_loadgen


def busy_s(harness, *outputs):
    """The busy cycles the tempo apps' loops counted, in seconds."""
    total = 0.0
    for text in outputs:
        c = harness.counters(text)
        total += c.get("cycles.busy", 0) / max(c.get("cycles.tsc_hz", 1), 1)
    return total


@contextlib.contextmanager
def kernel_pair(peer, tag, sysctls=()):
    """Two namespaces joined by a veth pair, kernel-peer http-servers on CPU 0 in the server's
    (port 80: 1 KiB responses, port 81: 1 MiB). Yields the client's namespace."""
    srv, cli = f"tempo-cmp-s{tag}", f"tempo-cmp-c{tag}"
    try:
        for ns in (srv, cli):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", "cmp-c", "netns", cli, "type", "veth", "peer", "name", "cmp-s",
           "netns", srv)
        sh("ip", "addr", "add", f"{KERNEL_CLI}/24", "dev", "cmp-c", ns=cli)
        sh("ip", "addr", "add", f"{KERNEL_SRV}/24", "dev", "cmp-s", ns=srv)
        sh("ip", "link", "set", "cmp-c", "up", ns=cli)
        sh("ip", "link", "set", "cmp-s", "up", ns=srv)
        for s in sysctls:
            sh("sysctl", "-qw", s, ns=cli)
        for port, size in (("80", "1024"), ("81", str(1 << 20))):
            subprocess.Popen(["ip", "netns", "exec", srv, "taskset", "-c", "0", peer,
                              "http-server", port, size])
        time.sleep(0.3)
        yield cli
    finally:
        for ns in (srv, cli):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def kernel_client(peer, cli, *args, timeout=300):
    """kernel-peer on CPU 1 in `cli`: (its JSON, the busy seconds of both CPUs meanwhile)."""
    before = cpu_busy_s()
    r = sh("taskset", "-c", "1", peer, *map(str, args), ns=cli, timeout=timeout)
    return last_json(r.stdout), cpu_busy_s() - before


def progress_series(out):
    """tempo-loadgen's progress lines: connections/s in each whole second."""
    return [round(float(m.group(1))) for m in
            re.finditer(r"^tempo-loadgen: [\d.]+ s: ([\d.]+) conn/s", out, re.M)]


class Run:
    """The figures of one invocation, and how they are printed, stored and plotted."""

    def __init__(self, a):
        self.a = a
        self.peer = os.path.join(a.build, "perf", "macro", "kernel-peer")
        self.harness, self.lg = harness_modules(a.build)
        self.figures = []
        self.series = {}
        self.tag = os.getpid() % 100000

    def figure(self, workload, path, what, unit, tempo_runs, kernel_runs, better, target,
               in_path):
        t = statistics.median(tempo_runs)
        k = statistics.median(kernel_runs)
        ratio = round(t / k, 3) if k else None
        met = None
        if ratio and target is not None:
            met = ratio >= target if better == "higher" else ratio <= target
        self.figures.append({
            "workload": workload, "path": path, "what": what, "unit": unit,
            "tempo": t, "kernel": k, "tempo_over_kernel": ratio, "better": better,
            "target": target, "target_met": met, "tempo_runs": tempo_runs,
            "kernel_runs": kernel_runs, "in_path": in_path})
        print(f"compare: {workload} {path} {what}: tempo {t:g} kernel {k:g} {unit}", flush=True)

    # --- tempo-to-tempo ---------------------------------------------------------------------

    def tempo_loadgen(self, tag, httpd, lg, changes=lambda cfg: None):
        """tempo-loadgen -> tempo-httpd over memif: (summary, loadgen output, busy seconds)."""
        lg = dict(lg, target="198.18.0.1:80")
        timeout = lg.get("duration_ms", 0) / 1000 + 300
        with self.lg.memif_pair(f"cmp{tag}", dict(httpd, port=80), lg,
                                client_changes=changes) as (ns, app, cpath):
            rc, out, summary = self.lg.loadgen(ns, cpath, timeout=timeout)
            _, sout = app.stop()
        if rc != 0 or not summary:
            raise RuntimeError(f"tempo-loadgen failed:\n{out}")
        return summary, out, busy_s(self.harness, out, sout)

    def t2t_rates(self):
        a, ms = self.a, int(self.a.seconds * 1000)
        plans = {
            "short": ({"response_bytes": 1024, "keepalive": False},
                      {"mode": "short", "connections": 0, "sources": ["198.18.1.0/26"]},
                      ["short", KERNEL_SRV, 80, a.seconds, a.concurrency],
                      "connections", "conn/s", 10),
            "keepalive": ({"response_bytes": 1024, "keepalive": True},
                          {"mode": "keepalive", "connections": a.concurrency},
                          ["keepalive", KERNEL_SRV, 80, a.seconds, a.concurrency, 1024],
                          "requests", "req/s", 3),
            "bulk": ({"response_bytes": 1 << 20, "keepalive": True},
                     {"mode": "bulk", "connections": 1},
                     ["keepalive", KERNEL_SRV, 81, a.seconds, 1, 1 << 20],
                     "mbytes", "MB/s", 1),
        }
        in_path = ("tempo: tempo-loadgen (cpu 1) -> memif -> tempo-httpd (cpu 0), no kernel; "
                   "kernel: kernel-peer (cpu 1) -> veth -> kernel-peer http-server (cpu 0)")
        cpu_in_path = ("CPU-us per unit, both sides: tempo's busy cycles (both loops), the "
                       "kernel's busy time of both CPUs (/proc/stat, softirqs included)")
        with kernel_pair(self.peer, self.tag) as cli:
            for workload, (httpd, lg, kargs, what, unit, target) in plans.items():
                runs = {"tempo": [], "kernel": [], "tcpu": [], "kcpu": []}
                for _ in range(a.rounds):
                    s, _, busy = self.tempo_loadgen(
                        workload[:4], httpd,
                        dict(lg, duration_ms=ms, progress=False, concurrency=a.concurrency))
                    if what == "mbytes":
                        rate, units = s["mbytes_per_s"], s["bytes_received"] / 1e6
                    else:
                        rate, units = s[what]["per_s"], s[what]["completed"]
                    runs["tempo"].append(round(rate, 1))
                    runs["tcpu"].append(round(busy * 1e6 / units, 2))
                    k, kbusy = kernel_client(self.peer, cli, *kargs)
                    if what == "mbytes":
                        rate, units = k["mbytes_per_s"], k["mbytes_per_s"] * k["seconds"]
                    else:
                        rate, units = k[f"{'conn' if what == 'connections' else what}_per_s"], \
                            k[what]
                    runs["kernel"].append(round(rate, 1))
                    runs["kcpu"].append(round(kbusy * 1e6 / units, 2))
                self.figure(workload, "t2t", "rate", unit, runs["tempo"], runs["kernel"],
                            "higher", target, in_path)
                self.figure(workload, "t2t", "cpu", f"CPU-us/{unit.split('/')[0]}",
                            runs["tcpu"], runs["kcpu"], "lower",
                            0.1 if workload == "short" else None, cpu_in_path)

    def t2t_latency(self):
        a = self.a
        rate, ms = a.latency_rate, int(a.seconds * 1000)
        tempo = {"p50": [], "p99": [], "p999": []}
        kernel = {"p50": [], "p99": [], "p999": []}
        with kernel_pair(self.peer, self.tag) as cli:
            for _ in range(a.rounds):
                s, _, _ = self.tempo_loadgen("lat", {"response_bytes": 1024, "keepalive": False},
                                             {"mode": "short", "connections": 0, "rate": rate,
                                              "duration_ms": ms, "progress": False,
                                              "concurrency": a.concurrency})
                k, _ = kernel_client(self.peer, cli, "short", KERNEL_SRV, 80, a.seconds,
                                     a.concurrency, f"rate={rate}")
                for q in tempo:
                    tempo[q].append(s["latency_us"][q])
                    kernel[q].append(k["latency_us"][q])
        for q in tempo:
            self.figure("latency", "t2t", q, "us", tempo[q], kernel[q], "lower", None,
                        f"short connections at {rate}/s, connect to response, both sides' "
                        "clients measuring")

    def t2t_client_close(self):
        a = self.a
        rate, secs = a.cc_rate, a.cc_seconds
        s, out, busy = self.tempo_loadgen(
            "cc", {"response_bytes": 1024, "keepalive": True},
            {"mode": "short", "close_first": "client", "connections": 0, "rate": rate,
             "duration_ms": int(secs * 1000), "concurrency": a.concurrency, "progress": True})
        tempo_series = progress_series(out)[:int(secs)]
        failed = s["connections"]["failed"]
        self.series["client_close"] = {"rate": rate, "tempo": tempo_series}
        kernels = {}
        for name, sysctls in (("kernel", ()), ("kernel_tw_reuse1", ("net.ipv4.tcp_tw_reuse=1",))):
            with kernel_pair(self.peer, self.tag, sysctls) as cli:
                k, _ = kernel_client(self.peer, cli, "short", KERNEL_SRV, 80, secs,
                                     a.concurrency, f"rate={rate}", "client-close=1024",
                                     timeout=secs + 120)
            self.series["client_close"][name] = k["per_second"]
            kernels[name] = k
        in_path = (f"client closes first at {rate}/s for {secs:g} s from one client address: "
                   "tempo-loadgen (default early reuse) vs kernel-peer, tcp_tw_reuse 2 (the "
                   "default) and 1")
        # Its last second against what was asked: flat means near 1.
        last = lambda xs: xs[-1] if xs else 0
        self.figure("client_close", "t2t", "last_second", "conn/s", [last(tempo_series)],
                    [last(kernels["kernel"]["per_second"])], "higher", None, in_path)
        self.figure("client_close", "t2t", "last_second_tw_reuse1", "conn/s",
                    [last(tempo_series)], [last(kernels["kernel_tw_reuse1"]["per_second"])],
                    "higher", None, in_path)
        self.series["client_close"]["tempo_failed"] = failed
        self.series["client_close"]["tempo_cpu_us_per_conn"] = round(
            busy * 1e6 / max(s["connections"]["completed"], 1), 2)
        self.series["client_close"]["kernel_no_local_port"] = kernels["kernel"]["no_local_port"]

    def t2t_memory(self):
        a = self.a
        n = a.idle_conns
        # tempo: the server's RSS while `n` idle connections are held, against before.
        httpd = {"response_bytes": 1024, "keepalive": True}
        lg = {"target": "198.18.0.1:80", "mode": "idle", "connections": n,
              "concurrency": 256, "duration_ms": 3000, "progress": False}
        with self.lg.memif_pair(f"cmpidle", dict(httpd, port=80), lg) as (ns, app, cpath):
            base = rss_kib(app.proc.pid)
            peak = Peak(app.proc.pid)
            rc, out, s = self.lg.loadgen(ns, cpath, timeout=300)
            grown = max(peak.stop() - base, 0) * 1024
            _, sout = app.stop()
        c = self.harness.counters(sout)
        held = s.get("connections", {}).get("peak_open", n) if s else n
        slot = c.get("conns.slot_bytes", 0)
        tempo_est = round(grown / max(held, 1) + slot, 1)
        # The kernel: its slab's growth while `n` idle connections are held, per socket end
        # (both ends are this kernel's).
        with kernel_pair(self.peer, self.tag) as cli:
            before = meminfo_kib("Slab")
            p = subprocess.Popen(["ip", "netns", "exec", cli, "taskset", "-c", "1", self.peer,
                                  "idle", KERNEL_SRV, "80", str(n), "3"],
                                 stdout=subprocess.PIPE, text=True)
            line = p.stdout.readline()
            time.sleep(0.5)
            after = meminfo_kib("Slab")
            p.wait(timeout=60)
        opened = json.loads(line)["open"] if line.startswith("{") else 0
        kernel_est = round((after - before) * 1024 / max(2 * opened, 1), 1)
        self.series["memory"] = {"tempo_conn_slot_bytes": slot,
                                 "tempo_idle_rss_growth_per_conn": round(grown / max(held, 1), 1),
                                 "tempo_idle_held": held, "kernel_idle_sockets": opened}
        self.figure("memory", "t2t", "per_established_conn", "bytes", [tempo_est], [kernel_est],
                    "lower", 0.5,
                    f"{n} idle connections: tempo-httpd's RSS growth per connection plus its "
                    f"preallocated slot ({slot} B); the kernel's Slab growth per socket end")
        # TIME_WAIT: tempo-httpd holding `tw_entries` entries, from 64 client addresses, with
        # the default bound (tcp.time_wait.max_entries, whose index is mapped for it and, hashed,
        # touched all over) and with the bound sized for the load.
        for sized in (False, True):
            self.tw_memory(sized)

    def tw_memory(self, sized):
        a = self.a
        bound = int(a.tw_entries * 1.1) if sized else 0

        def server(cfg):
            if bound:
                cfg.setdefault("tcp", {}).setdefault("time_wait", {})["max_entries"] = bound

        lg = {"target": "198.18.0.1:80", "mode": "short", "connections": a.tw_entries,
              "concurrency": a.concurrency, "sources": ["198.18.1.0/26"], "progress": False,
              "timeout_ms": 30000}
        with self.lg.memif_pair("cmptw", {"port": 80, "response_bytes": 1024,
                                          "keepalive": False}, lg,
                                server_changes=server) as (ns, app, cpath):
            base = rss_kib(app.proc.pid)
            peak = Peak(app.proc.pid)
            rc, out, s = self.lg.loadgen(ns, cpath, timeout=600)
            time.sleep(0.3)
            grown = max(peak.stop() - base, 0) * 1024
            _, sout = app.stop()
        entries = self.harness.counters(sout).get("timewait.entries_peak", 0)
        tw_obj = slab_objsize("tw_sock_TCP")
        self.figure("memory", "t2t",
                    "per_time_wait_entry" + ("_sized_bound" if bound else ""),
                    "bytes", [round(grown / max(entries, 1), 1)], [tw_obj or 256], "lower", 0.25,
                    f"tempo-httpd's RSS growth per entry with {entries} entries held, "
                    f"tcp.time_wait.max_entries {bound or 'default (4,000,000)'}; the kernel's "
                    "tw_sock_TCP slab object (/proc/slabinfo)")
        self.series.setdefault("memory", {})[
            "tempo_time_wait_entries" + ("_sized" if bound else "")] = entries

    # --- the kernel as the client: af_packet, af_xdp and net_tap ---------------------------

    # The paths over harness.af_packet_setup's veth pair: the PMD tempo-httpd runs on, its
    # drivers-config template, and the kernel's work for it outside the client process.
    VETH_PATHS = {"af_packet": ("net_af_packet", "af_packet.yaml", "veth, AF_PACKET"),
                  "af_xdp": ("net_af_xdp", "af_xdp.yaml", "veth, XDP, AF_XDP copy mode")}

    def veth_path(self, path):
        a = self.a
        pmd, config, kernel_work = self.VETH_PATHS[path]
        tempo_rate, kernel_rate, tempo_cpu, kernel_cpu = [], [], [], []

        def httpd(cfg):
            cfg["eal"]["file_prefix"] = f"tempo-cmp-{path}{self.tag}"
            cfg["app"] = {"httpd": {"port": 80, "response_bytes": 1024, "keepalive": False}}

        for _ in range(a.rounds):
            with self.harness.af_packet_setup(f"cmp{path}", app="tempo-httpd", changes=httpd,
                                              config=config) as (ns, app, _):
                before = cpu_busy_s([1])
                r = ns.sh("taskset", "-c", "1", self.peer, "short", "198.18.0.2", "80",
                          str(a.seconds), str(a.concurrency), timeout=a.seconds + 60)
                cpu1 = cpu_busy_s([1]) - before
                k = last_json(r.stdout)
                _, sout = app.stop()
            if not k["connections"]:
                print(f"compare: {path}: no connection to tempo-httpd on {pmd} completed "
                      f"({k['errors']} errors)", file=sys.stderr, flush=True)
            served = busy_s(self.harness, sout) + max(cpu1 - k["cpu_s"], 0)
            tempo_rate.append(k["conn_per_s"])
            if k["connections"]:
                tempo_cpu.append(round(served * 1e6 / k["connections"], 2))
            with kernel_pair(self.peer, self.tag) as cli:
                k, busy = kernel_client(self.peer, cli, "short", KERNEL_SRV, 80, a.seconds,
                                        a.concurrency)
            kernel_rate.append(k["conn_per_s"])
            kernel_cpu.append(round(max(busy - k["cpu_s"], 0) * 1e6 / max(k["connections"], 1),
                                    2))
        in_path = (f"kernel-peer short (cpu 1) -> veth -> tempo-httpd on {pmd} (cpu 0) "
                   "vs the same client -> veth -> kernel-peer http-server (cpu 0)")
        self.figure("short", path, "rate", "conn/s", tempo_rate, kernel_rate, "higher",
                    None, in_path + "; the client is the limit of both")
        if not tempo_cpu:
            return  # no CPU per connection without a connection (said above)
        self.figure("short", path, "server_cpu", "CPU-us/conn", tempo_cpu, kernel_cpu,
                    "lower", 0.1,
                    "everything but the client process: tempo's busy cycles plus the kernel "
                    f"work on cpu 1 outside the client ({kernel_work}); the kernel's both "
                    "CPUs minus the client's own user+system time")

    def net_tap(self):
        a = self.a
        t_ns = f"tempo-cmp-t{self.tag}"
        iface = f"tcmp{self.tag % 10000}"
        rates = {"tempo": [], "kernel": []}
        try:
            sh("ip", "netns", "add", t_ns)
            sh("ip", "link", "set", "lo", "up", ns=t_ns)
            with kernel_pair(self.peer, self.tag) as cli:
                for _ in range(a.rounds):
                    p, path = start_net_tap(a.build, t_ns, "tempo-httpd", iface,
                                            {"httpd": {"port": 80, "response_bytes": 1024}})
                    r = sh(self.peer, "short", "198.18.0.2", "80", str(a.seconds),
                           str(a.concurrency), ns=t_ns, timeout=a.seconds + 60)
                    rates["tempo"].append(last_json(r.stdout)["conn_per_s"])
                    stop(p)
                    os.unlink(path)
                    k, _ = kernel_client(self.peer, cli, "short", KERNEL_SRV, 80, a.seconds,
                                         a.concurrency)
                    rates["kernel"].append(k["conn_per_s"])
        finally:
            for pid in sh("ip", "netns", "pids", t_ns, check=False).stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", t_ns], capture_output=True)
        self.figure("short", "net_tap", "rate", "conn/s", rates["tempo"], rates["kernel"],
                    "higher", None,
                    "kernel-peer short -> net_tap -> tempo-httpd vs the same client -> veth -> "
                    "kernel-peer http-server; net_tap costs a syscall and a signal per packet")

    # --- output ------------------------------------------------------------------------------

    def table(self):
        rows = [("workload", "path", "figure", "tempo", "kernel", "tempo/kernel", "target")]
        for f in self.figures:
            target = ""
            if f["target"] is not None:
                target = (">= " if f["better"] == "higher" else "<= ") + f"{f['target']:g}x" + \
                    (" met" if f["target_met"] else " missed")
            rows.append((f["workload"], f["path"], f"{f['what']} ({f['unit']})",
                         f"{f['tempo']:,.4g}", f"{f['kernel']:,.4g}",
                         f"{f['tempo_over_kernel']:g}x" if f["tempo_over_kernel"] else "-",
                         target))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
        lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
        return "\n".join(lines)

    def write(self, started):
        date = datetime.date.today().isoformat()
        os.makedirs(self.a.out, exist_ok=True)
        base = os.path.join(self.a.out, date)
        doc = {"date": date, "seconds_taken": round(time.monotonic() - started, 1),
               "smoke": self.a.smoke,
               "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
               "settings": {k: v for k, v in vars(self.a).items() if k not in ("build", "out")},
               "figures": self.figures, "series": self.series}
        with open(base + ".json", "w") as f:
            json.dump(doc, f, indent=1)
        plot(doc, base + ".png")
        return base


def plot(doc, png):
    """The PNG beside the JSON: every figure as tempo's advantage (log scale), and the
    client-closes-first run over time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.5))
    figs = [f for f in doc["figures"] if f["tempo_over_kernel"]]
    labels = [f"{f['workload']} {f['what']} ({f['path']})" for f in figs]
    # "Better" to the right for every figure: the ratio, or its inverse where lower wins.
    gain = [f["tempo_over_kernel"] if f["better"] == "higher" else 1 / f["tempo_over_kernel"]
            for f in figs]
    colors = ["tab:grey" if 0.95 <= g <= 1.05 else "tab:green" if g > 1 else "tab:red"
              for g in gain]
    ax1.barh(range(len(figs)), gain, color=colors)
    ax1.set_yticks(range(len(figs)), labels, fontsize=8)
    ax1.invert_yaxis()
    ax1.set_xscale("log")
    ax1.axvline(1, color="black", linewidth=0.8)
    ax1.set_xlabel("tempo's advantage over the kernel (x; right is better for tempo)")
    ax1.set_title(f"tempo vs Linux, same machine, one run ({doc['date']})")
    cc = doc["series"].get("client_close")
    if cc:
        styles = (("kernel", "kernel, tcp_tw_reuse=2 (default)", dict(color="tab:orange")),
                  ("kernel_tw_reuse1", "kernel, tcp_tw_reuse=1",
                   dict(color="tab:purple", linestyle="--")),
                  ("tempo", "tempo", dict(color="tab:green", linewidth=3, alpha=0.6)))
        for key, label, style in styles:
            ys = cc.get(key, [])
            ax2.plot(range(1, len(ys) + 1), ys, marker="o", label=label, **style)
        ax2.axhline(cc["rate"], color="grey", linestyle=":", label=f"asked: {cc['rate']}/s")
        ax2.set_xlabel("second of the run")
        ax2.set_ylabel("connections completed per second")
        ax2.set_title("client closes first, one client address, 28,232 ports")
        ax2.set_ylim(bottom=0)
        ax2.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def start_net_tap(build, ns, app, iface, extra):
    import yaml
    with open(os.path.join(SRC, "drivers-config", "net_tap.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg["eal"]["file_prefix"] = f"{ns}-{app}"
    cfg["ports"][0]["device"] = f"net_tap0,iface={iface}"
    cfg["app"] = extra
    fd, path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(cfg, f)
    log = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(["ip", "netns", "exec", ns, os.path.join(build, "apps", app, app), "-c",
                          path], stdout=log, stderr=subprocess.STDOUT)
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--out", default=os.path.join(SRC, "perf", "results"),
                    help="where <date>.json and <date>.png go")
    ap.add_argument("--paths", default="t2t,af_packet,af_xdp,net_tap")
    ap.add_argument("--workloads", default="short,keepalive,bulk,latency,memory,client_close",
                    help="the t2t workloads to run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument("--latency-rate", type=int, default=5000)
    ap.add_argument("--cc-rate", type=int, default=10000)
    ap.add_argument("--cc-seconds", type=float, default=12)
    ap.add_argument("--idle-conns", type=int, default=16000,
                    help="idle connections held (the kernel's client holds one descriptor "
                    "each: keep it under RLIMIT_NOFILE's hard limit, 20000 here)")
    ap.add_argument("--tw-entries", type=int, default=1000000)
    ap.add_argument("--smoke", action="store_true", help="one short round of everything (CI)")
    ap.add_argument("--plot", metavar="JSON", help="only draw the PNG of an earlier run's JSON")
    a = ap.parse_args()
    try:
        import matplotlib  # noqa: F401  (Debian's python3-matplotlib: /usr/bin/python3's)
    except ImportError:
        if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] +
                     sys.argv[1:])
        raise
    if a.smoke:
        a.rounds, a.seconds, a.cc_seconds = 1, 1, 3
        a.idle_conns, a.tw_entries, a.cc_rate, a.latency_rate = 1000, 5000, 2000, 1000
    if a.plot:
        with open(a.plot) as f:
            plot(json.load(f), os.path.splitext(a.plot)[0] + ".png")
        return 0
    if os.geteuid() != 0:
        print("compare: needs root (namespaces, DPDK)", file=sys.stderr)
        return 2
    started = time.monotonic()
    run = Run(a)
    paths = a.paths.split(",")
    workloads = a.workloads.split(",")
    if "t2t" in paths:
        if {"short", "keepalive", "bulk"} & set(workloads):
            run.t2t_rates()
        if "latency" in workloads:
            run.t2t_latency()
        if "memory" in workloads:
            run.t2t_memory()
        if "client_close" in workloads:
            run.t2t_client_close()
    for path in Run.VETH_PATHS:
        if path in paths:
            run.veth_path(path)
    if "net_tap" in paths:
        run.net_tap()
    base = run.write(started)
    print(run.table())
    print(f"compare: wrote {base}.json and {base}.png in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
