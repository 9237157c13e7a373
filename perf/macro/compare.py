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
  proxy     tempo-loadgen --memif--> tempo-proxy --memif--> tempo-httpd, against kernel-peer
            --veth--> HAProxy 2.6 (mode tcp, perf/macro/haproxy.cfg) --veth--> kernel-peer
            http-server; the proxy alone on CPU 0, client and server on CPU 1
            (perf/macro/proxy_chain.py). Workloads (--proxy-workloads): short (proxied
            connections/s) and bulk (relayed MB/s on one connection), each with the proxy's
            CPU-us per unit (tempo-proxy's busy cycles; HAProxy: CPU 0's busy time)
  proxy_af_xdp the same HAProxy against tempo-proxy on net_af_xdp with the kernel as its
            client and backend (kernel-peer and kernel-peer http-server across one veth)
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

Failed rounds. Each side's round (tempo or kernel) of every figure is tried up to 1 + --retries
times: a program that exits non-zero, times out or prints nothing to parse fails it, and
stderr gets one line naming the workload, path, side, round and exit status, then the last
lines the program printed. The namespaces and processes of the failed try are removed before
the next. A figure is the median of the rounds that succeeded; a side none of whose rounds
succeeded is null (the table says "failed"), and the run goes on. In the JSON, each figure has
`rounds_failed` (rounds that failed every try) and `failures` (every failed try, with
`exit_status` and `output_tail`); the document has every failure in `failures`.

Steal. Every round records the machine's steal time (/proc/stat's `steal`, all CPUs summed,
in ms) while it ran: `tempo_steal_ms_runs` and `kernel_steal_ms_runs` beside `tempo_runs` and
`kernel_runs`, and `steal_pct_of_cpu_time_max`, the largest share of all CPUs' time stolen in
one of its rounds; the table's notes name any round over 1%. Latency figures add
`tempo_turn_max_us_runs`, the longest loop turn of either tempo app in each round, when the
stack exports it (counter `cycles.turn_max`; null until it does).
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy_chain  # noqa: E402  (beside this file)
from netns_set import NamespaceSet  # noqa: E402

# What the progress and failure lines begin with (perf/macro/loss.py, which reuses the rounds
# and figures, names itself).
PROG = "compare"

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KERNEL_SRV, KERNEL_CLI = "198.18.1.2", "198.18.1.1"


def memif_link_note():
    """What the memif configs (drivers-config/memif*.yaml) declare of the link, for in_path: a
    trusted link sums and verifies no TCP checksum, as the kernel's veth does not either; the
    MTU and MSS both ends segment to (the kernel's veth: 1,500, with 64 KB GSO buffers)."""
    import yaml
    trusted, mtu, mss = True, set(), set()
    for name in ("memif.yaml", "memif-client.yaml"):
        with open(os.path.join(SRC, "drivers-config", name)) as f:
            cfg = yaml.safe_load(f)
        trusted &= bool(cfg["ports"][0].get("trusted_link", False))
        mtu.add(cfg["ports"][0].get("mtu", 1500))
        mss.add((cfg.get("tcp") or {}).get("mss", 1460))
    notes = ["trusted link: no TCP checksums summed or verified"] if trusted else []
    notes.append(f"MTU {'/'.join(map(str, sorted(mtu)))}, MSS {'/'.join(map(str, sorted(mss)))}")
    return f" ({'; '.join(notes)})"


def sh(*args, ns=None, check=True, timeout=120, input=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout,
                          input=input)


# The longest loop turn, in TSC cycles, when the stack exports it (it does not yet: the gauge
# would be StackCounters' in lib/telemetry/counters.h, kept by Worker::account_turn).
TURN_MAX_COUNTER = "cycles.turn_max"
TAIL_LINES = 20  # of a failed program's output, on stderr and in the JSON


class RoundFailed(Exception):
    """A round's program failed: its exit status (None: it did not end, or ended but printed
    nothing to parse), why, and everything it printed."""

    def __init__(self, status, reason, output):
        super().__init__(reason)
        self.status, self.reason, self.output = status, reason, output


# What fails a round (and so is retried) rather than the run: the programs' failures, the
# harness's (an app not ready: AssertionError with its output), output that does not parse.
ROUND_ERRORS = (RoundFailed, subprocess.CalledProcessError, subprocess.TimeoutExpired,
                AssertionError, ValueError, KeyError, IndexError)


def as_text(out):
    if out is None:
        return ""
    return out.decode(errors="replace") if isinstance(out, bytes) else out


def command(cmd):
    return shlex.join(map(str, cmd)).replace("\n", "\\n")


def failure_of(exc):
    """(exit status or None, reason on one line, output) of a failed round's exception."""
    if isinstance(exc, RoundFailed):
        return exc.status, exc.reason, exc.output
    if isinstance(exc, subprocess.CalledProcessError):
        return (exc.returncode, command(exc.cmd),
                as_text(exc.stdout) + as_text(exc.stderr))
    if isinstance(exc, subprocess.TimeoutExpired):
        return (None, f"timed out after {exc.timeout:g} s: {command(exc.cmd)}",
                as_text(exc.stdout) + as_text(exc.stderr))
    return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", \
        str(exc)


def tail(text, n=TAIL_LINES):
    return text.rstrip("\n").splitlines()[-n:]


def last_json(text):
    """The last JSON line a program printed; a round failure when there is none."""
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        raise RoundFailed(None, "no JSON line in its output", text)
    try:
        return json.loads(lines[-1])
    except ValueError as e:
        raise RoundFailed(None, f"unparseable JSON ({e})", text) from e


def cpu_steal_ms():
    """Steal time so far of all CPUs summed (/proc/stat's first line, its 8th value), in ms:
    the time a hypervisor ran something else while this machine's CPUs had work."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")


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


class KernelPair(NamespaceSet):
    """Two namespaces joined by a veth pair, kernel-peer http-servers on CPU 0 in the server's
    (`servers`: port 80, 1 KiB responses; port 81, 1 MiB), for the life of a `with` block; `cli`
    is the client's namespace. renew() makes them again (after a failed round: its servers may
    be what failed). A subclass may change the link in prepare(), before the servers start."""

    servers = ((80, 1024), (81, 1 << 20))  # (port, response bytes)

    def __init__(self, peer, tag, sysctls=()):
        super().__init__()
        self.peer, self.sysctls = peer, sysctls
        self.srv, self.cli = f"tempo-cmp-s{tag}", f"tempo-cmp-c{tag}"
        self.namespaces = (self.srv, self.cli)

    def up(self):
        srv, cli = self.srv, self.cli
        for ns in (srv, cli):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", "cmp-c", "netns", cli, "type", "veth", "peer", "name", "cmp-s",
           "netns", srv)
        sh("ip", "addr", "add", f"{KERNEL_CLI}/24", "dev", "cmp-c", ns=cli)
        sh("ip", "addr", "add", f"{KERNEL_SRV}/24", "dev", "cmp-s", ns=srv)
        sh("ip", "link", "set", "cmp-c", "up", ns=cli)
        sh("ip", "link", "set", "cmp-s", "up", ns=srv)
        for s in self.sysctls:
            sh("sysctl", "-qw", s, ns=cli)
        self.prepare()
        # restore_signals=False: SIGPIPE stays ignored (Python ignores it), so a client that
        # resets a connection in the middle of a response cannot kill the server.
        for port, size in self.servers:
            self.procs.append(subprocess.Popen(["ip", "netns", "exec", srv, "taskset", "-c",
                                                "0", self.peer, "http-server", str(port),
                                                str(size)], restore_signals=False))
        time.sleep(0.3)

    def prepare(self):
        """The link is up and the servers not started yet: a subclass's own set-up."""


def loadgen_units(s, what):
    """(rate, units done) of a tempo-loadgen summary: `what` is connections, requests or
    mbytes."""
    if what == "mbytes":
        return s["mbytes_per_s"], s["bytes_received"] / 1e6
    return s[what]["per_s"], s[what]["completed"]


def peer_units(k, what):
    """(rate, units done) of a kernel-peer client's JSON, as loadgen_units."""
    if what == "mbytes":
        return k["mbytes_per_s"], k["mbytes_per_s"] * k["seconds"]
    return k[f"{'conn' if what == 'connections' else what}_per_s"], k[what]


def progress_series(out):
    """tempo-loadgen's progress lines: connections/s in each whole second."""
    return [round(float(m.group(1))) for m in
            re.finditer(r"^tempo-loadgen: [\d.]+ s: ([\d.]+) conn/s", out, re.M)]


def turn_max_us(harness, *outputs):
    """The longest loop turn of the tempo apps that printed `outputs`, in us; None while the
    stack does not export it (TURN_MAX_COUNTER)."""
    turns = []
    for text in outputs:
        c = harness.counters(text)
        if TURN_MAX_COUNTER in c and c.get("cycles.tsc_hz"):
            turns.append(c[TURN_MAX_COUNTER] * 1e6 / c["cycles.tsc_hz"])
    return round(max(turns), 1) if turns else None


class Rounds:
    """The rounds of one measurement (a workload on a path, tempo's side and the kernel's).
    attempt() tries a side's round up to 1 + --retries times: each failed try is reported on
    stderr and kept, a successful one's steal time recorded. The figures are then computed from
    the rounds that succeeded."""

    def __init__(self, run, workload, path, label=""):
        self.run, self.workload, self.path, self.label = run, workload, path, label
        self.failures = []  # every failed try
        self.lost = 0  # rounds that failed every try
        self.steal = []  # each successful round: side, round, steal_ms, pct (of all CPUs' time)
        run.measurements.append(self)

    @property
    def name(self):
        return f"{self.workload} {self.path}" + (f" {self.label}" if self.label else "")

    def attempt(self, side, rnd, fn, renew=None, variant=None):
        """fn()'s result for `side`'s round `rnd`, or None when every try failed. `renew` runs
        after a failed try (a KernelPair shared by the rounds: its servers may be what failed);
        `variant` names which of the side's runs this is where it has several."""
        tries = 1 + self.run.a.retries
        for attempt in range(1, tries + 1):
            self.run.arm_injection(self, side, rnd)
            steal, wall = cpu_steal_ms(), time.monotonic()
            try:
                result = fn()
                self.run.check_injection()
            except ROUND_ERRORS as exc:
                self.run.armed = None
                self.failed(side, rnd, attempt, tries, variant, exc)
                if renew is not None:
                    renew()
                continue
            steal = cpu_steal_ms() - steal
            wall = max(time.monotonic() - wall, 1e-3)
            self.steal.append({"side": side, "round": rnd, "steal_ms": round(steal, 1),
                               "pct": round(steal / (wall * 1000 * os.cpu_count()) * 100, 2)})
            return result
        self.lost += 1
        return None

    def failed(self, side, rnd, attempt, tries, variant, exc):
        status, reason, output = failure_of(exc)
        lines = tail(output)
        what = f"{self.name} {side}" + (f" ({variant})" if variant else "")
        then = "retrying" if attempt < tries else "no try left: the round is lost"
        print(f"{PROG}: round failed: {what} round {rnd}, try {attempt} of {tries}: exit "
              f"status {'none' if status is None else status} ({reason}); {then}; its last "
              f"{len(lines)} lines:", file=sys.stderr, flush=True)
        for line in lines:
            print(f"{PROG}:   | {line}", file=sys.stderr)
        record = {"workload": self.workload, "path": self.path, "side": side, "round": rnd,
                  "try": attempt, "retried": attempt < tries, "exit_status": status,
                  "reason": reason, "output_tail": lines}
        if self.label:
            record["measure"] = self.label
        if variant:
            record["variant"] = variant
        self.failures.append(record)

    def json(self):
        """The keys a figure computed from these rounds adds."""
        return {"rounds_failed": self.lost, "failures": self.failures,
                "tempo_steal_ms_runs": [r["steal_ms"] for r in self.steal if r["side"] == "tempo"],
                "kernel_steal_ms_runs": [r["steal_ms"] for r in self.steal
                                         if r["side"] == "kernel"],
                "steal_pct_of_cpu_time_max": max((r["pct"] for r in self.steal), default=None)}


class Run:
    """The figures of one invocation, and how they are printed, stored and plotted."""

    def __init__(self, a):
        self.a = a
        self.peer = os.path.join(a.build, "perf", "macro", "kernel-peer")
        self.harness, self.lg = harness_modules(a.build)
        self.figures = []
        self.series = {}
        self.measurements = []  # every Rounds, in the order run
        self.tag = os.getpid() % 100000
        self.steal_start = cpu_steal_ms()
        self.injections = [dict(i) for i in a.inject_failure]
        self.armed = None  # the injection the current try is to consume

    # --- failures on purpose (--inject-failure) ----------------------------------------------

    def arm_injection(self, rounds, side, rnd):
        self.armed = next((i for i in self.injections if i["tries"] > 0 and
                           i["workload"] == rounds.workload and
                           i["path"] in (None, rounds.path) and i["side"] == side and
                           i["round"] == rnd), None)

    def injected(self):
        """True, once, when the current try is to fail: the program about to run is then given
        what it refuses (an unknown argument, a config that does not exist)."""
        if self.armed is None:
            return False
        self.armed["tries"] -= 1
        self.armed = None
        return True

    def check_injection(self):
        if self.armed is not None:
            raise RuntimeError("--inject-failure: this round runs no program that injected() "
                               "fails: a harness bug")

    # --- the programs --------------------------------------------------------------------------

    def peer_args(self, *args):
        """kernel-peer's command line (with an argument it refuses when injected())."""
        return [self.peer, *map(str, args)] + (["--inject-failure"] if self.injected() else [])

    def kernel_client(self, pair, *args, timeout=300):
        """kernel-peer on CPU 1 in `pair`'s client namespace: (its JSON, the busy seconds of
        both CPUs meanwhile)."""
        before = cpu_busy_s()
        r = sh("taskset", "-c", "1", *self.peer_args(*args), ns=pair.cli, timeout=timeout)
        return last_json(r.stdout + r.stderr), cpu_busy_s() - before

    def loadgen(self, ns, cpath, timeout):
        """tempo-loadgen with config `cpath` to its end: (output, JSON summary); a round
        failure when it fails or prints no summary."""
        if self.injected():
            cpath += ".injected-failure"  # no such file: tempo-loadgen refuses it
        rc, out, summary = self.lg.loadgen(ns, cpath, timeout=timeout)
        if rc != 0:
            raise RoundFailed(rc, f"tempo-loadgen exit {rc}", out)
        if not summary:
            raise RoundFailed(rc, "tempo-loadgen printed no JSON summary", out)
        return out, summary

    def figure(self, workload, path, what, unit, tempo_runs, kernel_runs, better, target,
               in_path, rounds, extra=None):
        """A figure from the rounds that succeeded: a side none of whose rounds did is None."""
        t = statistics.median(tempo_runs) if tempo_runs else None
        k = statistics.median(kernel_runs) if kernel_runs else None
        ratio = round(t / k, 3) if t is not None and k else None
        met = None
        if ratio and target is not None:
            met = ratio >= target if better == "higher" else ratio <= target
        f = {"workload": workload, "path": path, "what": what, "unit": unit,
             "tempo": t, "kernel": k, "tempo_over_kernel": ratio, "better": better,
             "target": target, "target_met": met, "tempo_runs": tempo_runs,
             "kernel_runs": kernel_runs, "in_path": in_path}
        f.update(rounds.json())
        f.update(extra or {})
        self.figures.append(f)
        print(f"{PROG}: {workload} {path} {what}: tempo {number(t, 'g')} kernel "
              f"{number(k, 'g')} {unit}" +
              (f" ({rounds.lost} rounds failed)" if rounds.lost else ""), flush=True)

    def alternate(self, rounds, tempo_round, kernel_round, renew):
        """--rounds rounds of each side, alternating: {side: (rates, CPU-us per unit)} from
        the rounds that succeeded (each round returns that pair)."""
        runs = {"tempo": ([], []), "kernel": ([], [])}
        for i in range(self.a.rounds):
            for side, fn, again in (("tempo", tempo_round, None),
                                    ("kernel", kernel_round, renew)):
                got = rounds.attempt(side, i, fn, renew=again)
                if got is not None:
                    runs[side][0].append(got[0])
                    runs[side][1].append(got[1])
        return runs

    # --- the proxy --------------------------------------------------------------------------

    def proxy(self):
        """tempo-proxy against HAProxy (perf/macro/proxy_chain.py): proxied short connections/s
        and relayed bulk MB/s on one connection, and the proxy's CPU per unit; tempo's side
        both tempo-to-tempo over memif (path proxy) and with the kernel as its client and
        backend over af_xdp (path proxy_af_xdp)."""
        for path in ("proxy", "proxy_af_xdp"):
            if path in self.a.paths.split(","):
                self.proxy_path(path)

    def proxy_on_af_xdp(self, port, kargs):
        """tempo-proxy on net_af_xdp (cpu 0), the kernel its client and its backend across the
        veth (kernel-peer and a kernel-peer http-server, cpu 1): (the client's JSON, the
        proxy's output)."""
        size = 1024 if port == 80 else 1 << 20

        def proxy(cfg):
            cfg["eal"]["file_prefix"] = f"tempo-cmp-pxdp{self.tag}"
            cfg["app"] = {"proxy": {"listen": port,
                                    "backends": [f"{self.harness.KERNEL_V4}:{port}"]}}

        def backend(ns):
            subprocess.Popen(["ip", "netns", "exec", ns.name, "taskset", "-c", "1", self.peer,
                              "http-server", str(port), str(size)])
            time.sleep(0.3)

        with self.harness.af_xdp_setup("cmppx", app="tempo-proxy", changes=proxy,
                                       before_app=backend) as (ns, app, _):
            r = ns.sh("taskset", "-c", "1",
                      *self.peer_args(kargs[0], self.harness.TEMPO_V4, port, *kargs[3:]),
                      timeout=self.a.seconds + 120)
            rc, pout = app.stop()
        if rc != 0:
            raise RoundFailed(rc, f"tempo-proxy exit {rc}", pout)
        return last_json(r.stdout + r.stderr), pout

    def proxy_path(self, path):
        a, ms = self.a, int(self.a.seconds * 1000)
        plans = {
            "short": ({"response_bytes": 1024, "keepalive": False},
                      {"mode": "short", "connections": 0},
                      ["short", proxy_chain.PROXY_FRONT, 80, a.seconds, a.concurrency],
                      "connections", "conn/s", 5, 0.2),
            "bulk": ({"response_bytes": 1 << 20, "keepalive": True},
                     {"mode": "bulk", "connections": 1},
                     ["keepalive", proxy_chain.PROXY_FRONT, 81, a.seconds, 1, 1 << 20],
                     "mbytes", "MB/s", 1.5, None),
        }
        tempo_path = (
            f"tempo: tempo-loadgen -> memif{memif_link_note()} -> tempo-proxy (cpu 0, alone) "
            "-> memif, the proxy its zero-copy client -> tempo-httpd (client and server on cpu "
            "1, sleeping when idle)" if path == "proxy" else
            "tempo: kernel-peer (cpu 1) -> veth -> tempo-proxy on net_af_xdp (cpu 0, alone; "
            "veth's XDP, AF_XDP in copy mode) -> the same veth -> kernel-peer http-server (cpu 1)")
        in_path = (f"{tempo_path}; kernel: kernel-peer -> veth -> HAProxy 2.6 mode tcp (one "
                   "thread, cpu 0, alone; perf/macro/haproxy.cfg) -> veth -> kernel-peer "
                   "http-server (cpu 1)")
        cpu_in_path = ("the proxy's CPU-us per unit: tempo-proxy's busy cycles; HAProxy: the busy "
                       "time of cpu 0 where it runs alone (/proc/stat: its own time plus the "
                       "softirq work its sends cause there, veth delivering on the sender's "
                       "cpu), its own process time in haproxy_cpu_us_runs")
        with proxy_chain.HaproxyChain(self.peer, self.tag, sh) as chain:
            for workload, (httpd, lg, kargs, what, unit, target, cpu_target) in plans.items():
                if workload not in self.a.proxy_workloads.split(","):
                    continue
                rounds = Rounds(self, workload, path)
                own = []  # HAProxy's own process CPU-us per unit

                def tempo_round():
                    if path == "proxy_af_xdp":
                        k, pout = self.proxy_on_af_xdp(kargs[2], kargs)
                        rate, units = peer_units(k, what)
                        if not units or not busy_s(self.harness, pout):
                            raise RoundFailed(0, f"no {what} completed or no busy cycles",
                                              json.dumps(k) + "\n" + pout)
                        return round(rate, 1), round(busy_s(self.harness, pout) * 1e6 / units, 2)
                    lgc = dict(lg, duration_ms=ms, progress=False, concurrency=a.concurrency)
                    with proxy_chain.tempo_chain(self.harness, f"cmpx{workload[:4]}", httpd,
                                                 lgc, inject=self.injected()) as chain:
                        rc, out, s = chain.run(timeout=ms / 1000 + 300)
                        if rc != 0 or not s:
                            raise RoundFailed(rc, f"tempo-loadgen exit {rc}", out)
                        _, pout = chain.proxy.stop()
                        chain.server.stop()
                    rate, units = loadgen_units(s, what)
                    if not units:
                        raise RoundFailed(0, f"no {what} completed", out)
                    return round(rate, 1), round(busy_s(self.harness, pout) * 1e6 / units, 2)

                def kernel_round():
                    cpu0, hcpu = cpu_busy_s([0]), chain.cpu_s()
                    k, _ = self.kernel_client(chain, *kargs)
                    cpu0, hcpu = cpu_busy_s([0]) - cpu0, chain.cpu_s() - hcpu
                    rate, units = peer_units(k, what)
                    if not units:
                        raise RoundFailed(0, f"no {what} completed", json.dumps(k))
                    own.append(round(hcpu * 1e6 / units, 2))
                    return round(rate, 1), round(cpu0 * 1e6 / units, 2)

                runs = self.alternate(rounds, tempo_round, kernel_round, chain.renew)
                # The ends (client and server on CPU 1) may bound the rate before the proxy
                # does: the proxy's own figure is what one of its cores would move, units per
                # CPU-second it spent (each round's rate over its CPU time).
                per_core = {side: [round(1e6 / c, 1) for c in runs[side][1] if c > 0]
                            for side in runs}
                self.figure(workload, path, "rate", unit, runs["tempo"][0],
                            runs["kernel"][0], "higher", None, in_path, rounds)
                self.figure(workload, path, "per_proxy_core", f"{unit.split('/')[0]}/CPU-s",
                            per_core["tempo"], per_core["kernel"], "higher", target, cpu_in_path,
                            rounds)
                self.figure(workload, path, "proxy_cpu", f"CPU-us/{unit.split('/')[0]}",
                            runs["tempo"][1], runs["kernel"][1], "lower", cpu_target,
                            cpu_in_path, rounds, {"haproxy_cpu_us_runs": own})

    # --- tempo-to-tempo ---------------------------------------------------------------------

    def tempo_loadgen(self, tag, httpd, lg, changes=lambda cfg: None):
        """tempo-loadgen -> tempo-httpd over memif: (summary, loadgen output, busy seconds, the
        longest loop turn of either in us or None)."""
        lg = dict(lg, target="198.18.0.1:80")
        timeout = lg.get("duration_ms", 0) / 1000 + 300
        with self.lg.memif_pair(f"cmp{tag}", dict(httpd, port=80), lg,
                                client_changes=changes) as (ns, app, cpath):
            out, summary = self.loadgen(ns, cpath, timeout=timeout)
            _, sout = app.stop()
        return summary, out, busy_s(self.harness, out, sout), turn_max_us(self.harness, out, sout)

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
                     "mbytes", "MB/s", 1.5),
        }
        in_path = (f"tempo: tempo-loadgen (cpu 1) -> memif{memif_link_note()} -> tempo-httpd "
                   "(cpu 0), no kernel; kernel: kernel-peer (cpu 1) -> veth -> kernel-peer "
                   "http-server (cpu 0)")
        cpu_in_path = ("CPU-us per unit, both sides: tempo's busy cycles (both loops), the "
                       "kernel's busy time of both CPUs (/proc/stat, softirqs included)")
        with KernelPair(self.peer, self.tag) as pair:
            for workload, (httpd, lg, kargs, what, unit, target) in plans.items():
                if workload not in self.a.workloads.split(","):
                    continue
                rounds = Rounds(self, workload, "t2t")

                def tempo_round():
                    s, out, busy, _ = self.tempo_loadgen(
                        workload[:4], httpd,
                        dict(lg, duration_ms=ms, progress=False, concurrency=a.concurrency))
                    rate, units = loadgen_units(s, what)
                    if not units:
                        raise RoundFailed(0, f"no {what} completed", out)
                    return round(rate, 1), round(busy * 1e6 / units, 2)

                def kernel_round():
                    k, kbusy = self.kernel_client(pair, *kargs)
                    rate, units = peer_units(k, what)
                    if not units:
                        raise RoundFailed(0, f"no {what} completed", json.dumps(k))
                    return round(rate, 1), round(kbusy * 1e6 / units, 2)

                runs = self.alternate(rounds, tempo_round, kernel_round, pair.renew)
                self.figure(workload, "t2t", "rate", unit, runs["tempo"][0], runs["kernel"][0],
                            "higher", target, in_path, rounds)
                self.figure(workload, "t2t", "cpu", f"CPU-us/{unit.split('/')[0]}",
                            runs["tempo"][1], runs["kernel"][1], "lower",
                            {"short": 0.1, "bulk": 0.5}.get(workload), cpu_in_path, rounds)

    def t2t_latency(self):
        a = self.a
        rate, ms = a.latency_rate, int(a.seconds * 1000)
        qs = ("p50", "p99", "p999")
        tempo = {q: [] for q in qs}
        kernel = {q: [] for q in qs}
        turns = []
        rounds = Rounds(self, "latency", "t2t")

        def tempo_round():
            s, _, _, turn = self.tempo_loadgen(
                "lat", {"response_bytes": 1024, "keepalive": False},
                {"mode": "short", "connections": 0, "rate": rate, "duration_ms": ms,
                 "progress": False, "concurrency": a.concurrency})
            return {q: s["latency_us"][q] for q in qs}, turn

        with KernelPair(self.peer, self.tag) as pair:
            def kernel_round():
                k, _ = self.kernel_client(pair, "short", KERNEL_SRV, 80, a.seconds,
                                          a.concurrency, f"rate={rate}")
                return {q: k["latency_us"][q] for q in qs}

            for i in range(a.rounds):
                got = rounds.attempt("tempo", i, tempo_round)
                if got is not None:
                    for q in qs:
                        tempo[q].append(got[0][q])
                    turns.append(got[1])
                got = rounds.attempt("kernel", i, kernel_round, renew=pair.renew)
                if got is not None:
                    for q in qs:
                        kernel[q].append(got[q])
        # Beside each percentile: the rounds' steal (Rounds.json) and tempo's longest turn.
        extra = {"tempo_turn_max_us_runs":
                 turns if any(t is not None for t in turns) else None}
        for q in qs:
            self.figure("latency", "t2t", q, "us", tempo[q], kernel[q], "lower", None,
                        f"short connections at {rate}/s, connect to response, both sides' "
                        "clients measuring", rounds, extra)

    def t2t_client_close(self):
        a = self.a
        rate, secs = a.cc_rate, a.cc_seconds
        rounds = Rounds(self, "client_close", "t2t")

        def tempo_round():
            s, out, busy, _ = self.tempo_loadgen(
                "cc", {"response_bytes": 1024, "keepalive": True},
                {"mode": "short", "close_first": "client", "connections": 0, "rate": rate,
                 "duration_ms": int(secs * 1000), "concurrency": a.concurrency,
                 "progress": True})
            return (progress_series(out)[:int(secs)], s["connections"]["failed"],
                    round(busy * 1e6 / max(s["connections"]["completed"], 1), 2))

        tempo = rounds.attempt("tempo", 0, tempo_round)
        tempo_series = tempo[0] if tempo else []
        self.series["client_close"] = {"rate": rate, "tempo": tempo_series}
        kernels = {}
        for name, sysctls in (("kernel", ()), ("kernel_tw_reuse1", ("net.ipv4.tcp_tw_reuse=1",))):
            with KernelPair(self.peer, self.tag, sysctls) as pair:
                def kernel_round():
                    k, _ = self.kernel_client(pair, "short", KERNEL_SRV, 80, secs,
                                              a.concurrency, f"rate={rate}",
                                              "client-close=1024", timeout=secs + 120)
                    return k["per_second"], k["no_local_port"]

                kernels[name] = rounds.attempt("kernel", 0, kernel_round, renew=pair.renew,
                                               variant=None if not sysctls else sysctls[0])
            self.series["client_close"][name] = kernels[name][0] if kernels[name] else []
        in_path = (f"client closes first at {rate}/s for {secs:g} s from one client address: "
                   "tempo-loadgen (default early reuse) vs kernel-peer, tcp_tw_reuse 2 (the "
                   "default) and 1")
        # Its last second against what was asked: flat means near 1.
        last = lambda xs: xs[-1] if xs else 0
        tempo_last = [last(tempo_series)] if tempo else []
        for what, name in (("last_second", "kernel"), ("last_second_tw_reuse1",
                                                        "kernel_tw_reuse1")):
            self.figure("client_close", "t2t", what, "conn/s", tempo_last,
                        [last(kernels[name][0])] if kernels[name] else [], "higher", None,
                        in_path, rounds)
        self.series["client_close"]["tempo_failed"] = tempo[1] if tempo else None
        self.series["client_close"]["tempo_cpu_us_per_conn"] = tempo[2] if tempo else None
        self.series["client_close"]["kernel_no_local_port"] = \
            kernels["kernel"][1] if kernels["kernel"] else None

    def t2t_memory(self):
        a = self.a
        n = a.idle_conns
        rounds = Rounds(self, "memory", "t2t", "per_established_conn")
        # tempo: the server's RSS while `n` idle connections are held, against before.
        httpd = {"response_bytes": 1024, "keepalive": True}
        lg = {"target": "198.18.0.1:80", "mode": "idle", "connections": n,
              "concurrency": 256, "duration_ms": 3000, "progress": False}

        def tempo_round():
            with self.lg.memif_pair("cmpidle", dict(httpd, port=80), lg) as (ns, app, cpath):
                base = rss_kib(app.proc.pid)
                peak = Peak(app.proc.pid)
                try:
                    _, s = self.loadgen(ns, cpath, timeout=300)
                finally:
                    grown = max(peak.stop() - base, 0) * 1024
                _, sout = app.stop()
            held = s.get("connections", {}).get("peak_open", n)
            return grown, held, self.harness.counters(sout).get("conns.slot_bytes", 0)

        # The kernel: its slab's growth while `n` idle connections are held, per socket end
        # (both ends are this kernel's).
        def kernel_round():
            with KernelPair(self.peer, self.tag) as pair:
                before = meminfo_kib("Slab")
                p = subprocess.Popen(["ip", "netns", "exec", pair.cli, "taskset", "-c", "1",
                                      *self.peer_args("idle", KERNEL_SRV, 80, n, 3)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    line = p.stdout.readline()
                    time.sleep(0.5)
                    after = meminfo_kib("Slab")
                    out, err = p.communicate(timeout=60)
                finally:
                    if p.poll() is None:
                        p.kill()
                    p.wait()
            if p.returncode != 0 or not line.startswith("{"):
                raise RoundFailed(p.returncode, f"kernel-peer idle exit {p.returncode}",
                                  line + out + err)
            opened = json.loads(line)["open"]
            return round((after - before) * 1024 / max(2 * opened, 1), 1), opened

        tempo = rounds.attempt("tempo", 0, tempo_round)
        kernel = rounds.attempt("kernel", 0, kernel_round)
        slot = tempo[2] if tempo else None
        self.series["memory"] = {
            "tempo_conn_slot_bytes": slot,
            "tempo_idle_rss_growth_per_conn":
                round(tempo[0] / max(tempo[1], 1), 1) if tempo else None,
            "tempo_idle_held": tempo[1] if tempo else None,
            "kernel_idle_sockets": kernel[1] if kernel else None}
        self.figure("memory", "t2t", "per_established_conn", "bytes",
                    [round(tempo[0] / max(tempo[1], 1) + slot, 1)] if tempo else [],
                    [kernel[0]] if kernel else [], "lower", 0.5,
                    f"{n} idle connections: tempo-httpd's RSS growth per connection plus its "
                    f"preallocated slot ({slot} B); the kernel's Slab growth per socket end",
                    rounds)
        # TIME_WAIT: tempo-httpd holding `tw_entries` entries, from 64 client addresses, with
        # the default bound (tcp.time_wait.max_entries, whose index is mapped for it and, hashed,
        # touched all over) and with the bound sized for the load.
        for sized in (False, True):
            self.tw_memory(sized)

    def tw_memory(self, sized):
        a = self.a
        bound = int(a.tw_entries * 1.1) if sized else 0
        what = "per_time_wait_entry" + ("_sized_bound" if bound else "")
        rounds = Rounds(self, "memory", "t2t", what)

        def server(cfg):
            if bound:
                cfg.setdefault("tcp", {}).setdefault("time_wait", {})["max_entries"] = bound

        lg = {"target": "198.18.0.1:80", "mode": "short", "connections": a.tw_entries,
              "concurrency": a.concurrency, "sources": ["198.18.1.0/26"], "progress": False,
              "timeout_ms": 30000}

        def tempo_round():
            with self.lg.memif_pair("cmptw", {"port": 80, "response_bytes": 1024,
                                              "keepalive": False}, lg,
                                    server_changes=server) as (ns, app, cpath):
                base = rss_kib(app.proc.pid)
                peak = Peak(app.proc.pid)
                try:
                    self.loadgen(ns, cpath, timeout=600)
                    time.sleep(0.3)
                finally:
                    grown = max(peak.stop() - base, 0) * 1024
                _, sout = app.stop()
            return grown, self.harness.counters(sout).get("timewait.entries_peak", 0)

        tempo = rounds.attempt("tempo", 0, tempo_round)
        entries = tempo[1] if tempo else None
        tw_obj = slab_objsize("tw_sock_TCP")
        self.figure("memory", "t2t", what, "bytes",
                    [round(tempo[0] / max(entries, 1), 1)] if tempo else [], [tw_obj or 256],
                    "lower", 0.25,
                    f"tempo-httpd's RSS growth per entry with {entries} entries held, "
                    f"tcp.time_wait.max_entries {bound or 'default (4,000,000)'}; the kernel's "
                    "tw_sock_TCP slab object (/proc/slabinfo)", rounds)
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
        rounds = Rounds(self, "short", path)

        def httpd(cfg):
            cfg["eal"]["file_prefix"] = f"tempo-cmp-{path}{self.tag}"
            cfg["app"] = {"httpd": {"port": 80, "response_bytes": 1024, "keepalive": False}}

        def tempo_round():
            with self.harness.af_packet_setup(f"cmp{path}", app="tempo-httpd", changes=httpd,
                                              config=config) as (ns, app, _):
                before = cpu_busy_s([1])
                r = ns.sh("taskset", "-c", "1",
                          *self.peer_args("short", "198.18.0.2", 80, a.seconds, a.concurrency),
                          timeout=a.seconds + 60)
                cpu1 = cpu_busy_s([1]) - before
                _, sout = app.stop()
            k = last_json(r.stdout + r.stderr)
            served = busy_s(self.harness, sout) + max(cpu1 - k["cpu_s"], 0)
            return k["conn_per_s"], k["connections"], k["errors"], served

        def kernel_round():
            with KernelPair(self.peer, self.tag) as pair:
                k, busy = self.kernel_client(pair, "short", KERNEL_SRV, 80, a.seconds,
                                             a.concurrency)
            return k["conn_per_s"], round(max(busy - k["cpu_s"], 0) * 1e6 /
                                          max(k["connections"], 1), 2)

        for i in range(a.rounds):
            got = rounds.attempt("tempo", i, tempo_round)
            if got is not None:
                rate, conns, errors, served = got
                if not conns:
                    print(f"compare: {path}: no connection to tempo-httpd on {pmd} completed "
                          f"({errors} errors)", file=sys.stderr, flush=True)
                tempo_rate.append(rate)
                if conns:
                    tempo_cpu.append(round(served * 1e6 / conns, 2))
            got = rounds.attempt("kernel", i, kernel_round)
            if got is not None:
                kernel_rate.append(got[0])
                kernel_cpu.append(got[1])
        in_path = (f"kernel-peer short (cpu 1) -> veth -> tempo-httpd on {pmd} (cpu 0) "
                   "vs the same client -> veth -> kernel-peer http-server (cpu 0)")
        self.figure("short", path, "rate", "conn/s", tempo_rate, kernel_rate, "higher",
                    None, in_path + "; the client is the limit of both", rounds)
        if tempo_rate and not tempo_cpu:
            return  # no CPU per connection without a connection (said above)
        self.figure("short", path, "server_cpu", "CPU-us/conn", tempo_cpu, kernel_cpu,
                    "lower", 0.1,
                    "everything but the client process: tempo's busy cycles plus the kernel "
                    f"work on cpu 1 outside the client ({kernel_work}); the kernel's both "
                    "CPUs minus the client's own user+system time", rounds)

    def net_tap(self):
        a = self.a
        t_ns = f"tempo-cmp-t{self.tag}"
        iface = f"tcmp{self.tag % 10000}"
        rates = {"tempo": [], "kernel": []}
        rounds = Rounds(self, "short", "net_tap")

        def tempo_round():
            with net_tap_app(a.build, t_ns, "tempo-httpd", iface,
                             {"httpd": {"port": 80, "response_bytes": 1024}}):
                r = sh(*self.peer_args("short", "198.18.0.2", 80, a.seconds, a.concurrency),
                       ns=t_ns, timeout=a.seconds + 60)
            return last_json(r.stdout + r.stderr)["conn_per_s"]

        try:
            sh("ip", "netns", "add", t_ns)
            sh("ip", "link", "set", "lo", "up", ns=t_ns)
            with KernelPair(self.peer, self.tag) as pair:
                def kernel_round():
                    k, _ = self.kernel_client(pair, "short", KERNEL_SRV, 80, a.seconds,
                                              a.concurrency)
                    return k["conn_per_s"]

                for i in range(a.rounds):
                    for side, fn, renew in (("tempo", tempo_round, None),
                                            ("kernel", kernel_round, pair.renew)):
                        got = rounds.attempt(side, i, fn, renew=renew)
                        if got is not None:
                            rates[side].append(got)
        finally:
            for pid in sh("ip", "netns", "pids", t_ns, check=False).stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", t_ns], capture_output=True)
        self.figure("short", "net_tap", "rate", "conn/s", rates["tempo"], rates["kernel"],
                    "higher", None,
                    "kernel-peer short -> net_tap -> tempo-httpd vs the same client -> veth -> "
                    "kernel-peer http-server; net_tap costs a syscall and a signal per packet",
                    rounds)

    # --- output ------------------------------------------------------------------------------

    def table(self):
        rows = [("workload", "path", "figure", "tempo", "kernel", "tempo/kernel", "target")]
        for f in self.figures:
            target = ""
            if f["target"] is not None and f["target_met"] is not None:
                target = (">= " if f["better"] == "higher" else "<= ") + f"{f['target']:g}x" + \
                    (" met" if f["target_met"] else " missed")
            rows.append((f["workload"], f["path"], f"{f['what']} ({f['unit']})",
                         number(f["tempo"], ",.4g"), number(f["kernel"], ",.4g"),
                         f"{f['tempo_over_kernel']:g}x" if f["tempo_over_kernel"] else "-",
                         target))
        return markdown(rows, self.notes())

    def notes(self):
        """Below the table: rounds that failed, and rounds that ran with over 1% of the CPUs'
        time stolen."""
        notes = []
        for m in self.measurements:
            if m.lost:
                notes.append(f"{m.name}: {m.lost} round(s) failed every try; its figures "
                             "are the median of the other rounds (\"failed\": none succeeded); "
                             "the JSON's failures say why")
            elif m.failures:
                notes.append(f"{m.name}: {len(m.failures)} failed tr(ies), retried")
            stolen = [r for r in m.steal if r["pct"] > 1]
            if stolen:
                notes.append(f"{m.name}: steal " + ", ".join(
                    f"{r['side']} round {r['round']} {r['steal_ms']:g} ms ({r['pct']:g}% of "
                    "the CPUs' time)" for r in stolen))
        return notes

    def write(self, started):
        date = datetime.date.today().isoformat()
        os.makedirs(self.a.out, exist_ok=True)
        base = os.path.join(self.a.out, date)
        doc = {"date": date, "seconds_taken": round(time.monotonic() - started, 1),
               "smoke": self.a.smoke,
               "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
               "settings": {k: v for k, v in vars(self.a).items() if k not in ("build", "out")},
               "figures": self.figures, "series": self.series,
               "failures": [f for m in self.measurements for f in m.failures],
               "steal_ms_during_run": round(cpu_steal_ms() - self.steal_start, 1)}
        with open(base + ".json", "w") as f:
            json.dump(doc, f, indent=1)
        plot(doc, base + ".png")
        return base


def number(x, spec):
    return "failed" if x is None else format(x, spec)


def markdown(rows, notes=()):
    """`rows` (the first is the header) as a markdown table, columns padded, then `notes`."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    if notes:
        lines += ["", "notes:"] + [f"- {n}" for n in notes]
    return "\n".join(lines)


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


@contextlib.contextmanager
def net_tap_app(build, ns, app, iface, extra):
    """A tempo app on net_tap (iface `iface`, 198.18.0.1/24 on the kernel's side) in `ns` for
    the life of a `with` block; stopped when it ends, also on a failure."""
    import yaml
    with open(os.path.join(SRC, "drivers-config", "net_tap.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg["eal"]["file_prefix"] = f"{ns}-{app}"
    cfg["ports"][0]["device"] = f"net_tap0,iface={iface}"
    cfg["app"] = extra
    fd, path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(cfg, f)
    log = harness_modules(build)[0].output_file()  # O_APPEND: read while it writes
    p = subprocess.Popen(["ip", "netns", "exec", ns, os.path.join(build, "apps", app, app), "-c",
                          path], stdout=log, stderr=subprocess.STDOUT)

    def output():
        log.seek(0)
        return log.read()

    try:
        for _ in range(400):
            if "ready" in output():
                break
            if p.poll() is not None:
                raise RoundFailed(p.returncode, f"{app} exit {p.returncode} before ready",
                                  output())
            time.sleep(0.05)
        else:
            raise RoundFailed(None, f"{app} not ready in 20 s", output())
        sh("ip", "addr", "add", "198.18.0.1/24", "dev", iface, ns=ns)
        sh("ip", "link", "set", iface, "up", ns=ns)
        time.sleep(0.5)
        yield p
    finally:
        stop(p)
        log.close()
        os.unlink(path)


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()


def injection(text):
    """--inject-failure's [PATH/]WORKLOAD:SIDE:ROUND[:TRIES]."""
    m = re.fullmatch(r"(?:(\w+)/)?(\w+):(tempo|kernel):(\d+)(?::(\d+))?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text}: expected [PATH/]WORKLOAD:SIDE:ROUND[:TRIES], "
                                         "SIDE tempo or kernel")
    path, workload, side, rnd, tries = m.groups()
    return {"path": path, "workload": workload, "side": side, "round": int(rnd),
            "tries": int(tries or 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--out", default=os.path.join(SRC, "perf", "results"),
                    help="where <date>.json and <date>.png go")
    ap.add_argument("--paths", default="t2t,proxy,proxy_af_xdp,af_packet,af_xdp,net_tap")
    ap.add_argument("--proxy-workloads", default="short,bulk",
                    help="the proxy path's workloads to run")
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
    ap.add_argument("--retries", type=int, default=2,
                    help="tries of a failed round beyond its first (default 2)")
    # Tests: makes the program of the round WORKLOAD's SIDE (tempo or kernel) round ROUND
    # (from 0) runs fail TRIES times (default 1), on PATH only if given.
    ap.add_argument("--inject-failure", metavar="[PATH/]WORKLOAD:SIDE:ROUND[:TRIES]",
                    action="append", default=[], type=injection, help=argparse.SUPPRESS)
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
    # SIGTERM (meson test's timeout) and SIGHUP unwind like Ctrl-C: the `with` blocks remove the
    # namespaces they made (a run killed mid-round left them behind, failing the next run).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda n, _: sys.exit(128 + n))
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
    if {"proxy", "proxy_af_xdp"} & set(paths):
        run.proxy()
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
