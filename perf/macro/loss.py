#!/usr/bin/env python3
"""tempo versus the Linux kernel under random packet loss, side by side in one run (root;
namespaces it creates).

What it measures: how long short connections and bulk transfers take to complete when a share
p of the packets is lost, tempo against the kernel, at each loss rate of --loss (percent;
default 0, 1 and 5). This is what loss recovery does (fast retransmit, SACK recovery, Limited
Transmit, RACK-TLP, the RTO): at a fixed, modest load, so that recovery, not the CPU, is what
the completion times show.

Paths (compare.py's t2t, at MTU 1500 on both sides)
  tempo   tempo-loadgen (cpu 1) --memif--> tempo-httpd (cpu 0): no kernel in the path. Both
          ports at MTU 1500 and tcp.mss 1460 (the memif configs' 32000 would make a 1 MiB
          transfer 33 packets instead of 719, and a loss rate per packet would mean something
          else), a trusted link (no checksums), tcp.congestion --congestion.
  kernel  loss_client.py (cpu 1) --veth--> kernel-peer http-server (cpu 0), two namespaces, MTU
          1500, TSO and GRO off on both veth ends so that every packet on the link is one
          segment in a frame of at most 1500 bytes, as on tempo's side (with TSO, veth hands
          64 KB buffers across and one drop would be 45 segments), and what each end receives
          processed on its receiver's cpu (RPS), as each tempo process runs its stack on its
          own core (else veth reorders: a sender's segments reach the peer through both cpus'
          backlogs). The namespaces' congestion control is --congestion too (this machine's
          default is BBR, which does not treat random loss as congestion, and tempo has none).
          The client is loss_client.py rather than kernel-peer short, which ends its run at
          SECONDS and leaves out what is still in flight: under loss, the slowest connections.
          (On the same pair at 0% loss the two measured the same short p50, and loss_client.py
          completed 0.93-1.0x kernel-peer's bulk transfers.)

Where the loss is. Each receiver drops a share p of what arrives, in both directions, before
its TCP sees it: tempo's fault stage on the RX of both processes (`faults: {seed, rx: {drop:
p}}`, a seed per process and round), and on the kernel's side an nftables table in each
namespace, hook prerouting, `meta l4proto tcp numgen random mod 1000000 < p*1e6 drop`. So a
data segment and the ACK for it are each lost with probability p, on both sides alike. (tempo's
stage drops whatever arrives, its few ARP packets too; the nft rule only TCP.) Each round
records the loss measured (dropped over arrived, from the fault counters and the nft counters).

Workloads (both clients count alike: loss_client.py does what tempo-loadgen's short mode with
close_first client does)
  short   connect, a keep-alive GET, a --short-bytes response (1 KiB), the client closes first;
          --short-rate connections/s paced, at most --short-concurrency in flight.
  bulk    the same with a --bulk-bytes response (1 MiB, the most tempo-httpd serves), back to
          back, --bulk-concurrency at once: one transfer per connection, from slow start.
Completion time: from just before connect() to the response's last body byte (the close
after it is not counted: its FIN is not what a user waits for). Figures per workload and loss:
p50 and p99 of the completion time (ms), and conn/s (short) or MB/s of response bodies (bulk),
each the median of --rounds rounds, with the ratio tempo/kernel. Both clients stop starting
connections after --seconds and wait for those in flight (what is still open then is the slow
tail), resetting any whose response takes over --timeout-ms from its start, or whose close
over --timeout-ms from its response (counted failed); conn/s (connections closed after a whole
response) and MB/s are over the time until the last connection was done, its close included
(tempo-loadgen's elapsed_s).

Beside the figures, per round and side: the packets the path lost besides (tempo: tx_full, a
memif ring its peer had not drained; the kernel: the veth ends' rx/tx_dropped: "other drops"
in the table, summed over the rounds), retransmitted segments, RTOs and tail loss probes per
completed connection (tempo: tcp.retransmits, tcp.rto_expired, tcp.tlp_probes of both
processes; the kernel: Tcp RetransSegs, TcpExt TCPTimeouts, TcpExt TCPLossProbes of both
namespaces), every non-zero tcp.*, faults.* and arp.*
counter of tempo (arp.requests_sent above 1: an ARP packet was lost and tempo's first
connection waited a second for it) and every non-zero Tcp/TcpExt counter change of the kernel,
in the JSON's `recovery`.

Output: the command, then a markdown table (workload, loss, figure, tempo, kernel,
tempo/kernel) and the recovery table, and --out/<date>-loss.json with every round. Rounds
alternate tempo and kernel (which goes first alternates too); a failed round is reported on
stderr, kept in the JSON and tried again (1 + --retries tries), never the end of the run
(compare.py's Rounds). Every namespace and nftables table it makes is removed at the end, also
on a failure, Ctrl-C or SIGTERM; when the kernel's congestion control has to be allowed in
namespaces first (net.ipv4.tcp_allowed_congestion_control, the one host setting it touches), the
setting is put back then too.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (beside this file)
from compare import KERNEL_SRV, RoundFailed, Rounds, last_json, number, sh  # noqa: E402

SRC = compare.SRC
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss_client.py")
MTU = 1500
NFT_TABLE = "tempo_loss"
ALLOWED_CC = "/proc/sys/net/ipv4/tcp_allowed_congestion_control"
KERNEL_CC = {"cubic": "cubic", "newreno": "reno"}  # tempo's tcp.congestion -> the kernel's
# The kernel settings recorded with each run: what its loss recovery does.
KERNEL_SYSCTLS = ("tcp_congestion_control", "tcp_sack", "tcp_recovery", "tcp_early_retrans",
                  "tcp_timestamps", "tcp_dsack", "tcp_frto", "tcp_reordering")
SHORT_PORT, BULK_PORT = 80, 82
# Packets a path loses besides the loss asked for: tempo's TX when the memif ring is full (its
# peer did not drain it in time), the kernel's veth ends (rx/tx_dropped).
OWN_DROPS = ("tx_full",)
VETH_DROPS = ("rx_dropped", "tx_dropped")


class LossyPair(compare.KernelPair):
    """compare.py's KernelPair made lossy: MTU 1500 segments on the wire (TSO and GRO off on
    both veth ends), --congestion in both namespaces before the servers start, and an nftables
    table in each namespace that drops a share `loss` (0-1) of the TCP packets arriving, with
    counters of what arrived and what it dropped. Servers: kernel-peer http-server on port 80
    (short responses) and 82 (bulk)."""

    def __init__(self, peer, tag, loss, cc, short_bytes, bulk_bytes):
        super().__init__(peer, tag)
        self.srv, self.cli = f"tempo-loss-s{tag}", f"tempo-loss-c{tag}"
        self.namespaces = (self.srv, self.cli)
        self.loss, self.cc = loss, cc
        self.servers = ((SHORT_PORT, short_bytes), (BULK_PORT, bulk_bytes))
        self.settings = {}

    def prepare(self):
        # KernelPair's veth ends, and the cpu of the side that receives on each.
        for ns, dev, cpu in ((self.srv, "cmp-s", 0), (self.cli, "cmp-c", 1)):
            sh("sysctl", "-qw", f"net.ipv4.tcp_congestion_control={self.cc}", ns=ns)
            sh("ethtool", "-K", dev, "tso", "off", "gro", "off", ns=ns)
            # What arrives is processed on the receiver's cpu (RPS), whichever cpu sent it:
            # otherwise a sender's segments, sent from its process on one cpu and, clocked by
            # ACKs, from softirq on the other, reach the peer through two cpus' backlogs and
            # arrive reordered (thousands of spurious fast retransmits a second at 0% loss).
            sh("tee", f"/sys/class/net/{dev}/queues/rx-0/rps_cpus", ns=ns, input=f"{1 << cpu:x}")
            threshold = round(self.loss * 1_000_000)
            sh("nft", "-f", "-", ns=ns, input=(
                f"table inet {NFT_TABLE} {{\n"
                "  chain rx {\n"
                "    type filter hook prerouting priority raw; policy accept;\n"
                '    meta l4proto tcp counter comment "arrived"\n'
                f"    meta l4proto tcp numgen random mod 1000000 < {threshold} counter drop "
                'comment "dropped"\n'
                "  }\n}\n"))
        features = sh("ethtool", "-k", "cmp-s", ns=self.srv).stdout
        self.settings = {
            "sysctls": {k: sh("sysctl", "-n", f"net.ipv4.{k}", ns=self.srv).stdout.strip()
                        for k in KERNEL_SYSCTLS},
            "veth": {k: v.strip() for k, _, v in (l.partition(":") for l in features.splitlines())
                     if k.strip() in ("tcp-segmentation-offload", "generic-segmentation-offload",
                                      "generic-receive-offload")},
            "mtu": int(sh("cat", "/sys/class/net/cmp-s/mtu", ns=self.srv).stdout),
            "rps_cpus": {dev: sh("cat", f"/sys/class/net/{dev}/queues/rx-0/rps_cpus",
                                 ns=ns).stdout.strip()
                         for ns, dev in ((self.srv, "cmp-s"), (self.cli, "cmp-c"))}}

    def down(self):
        for ns in self.namespaces:
            sh("nft", "delete", "table", "inet", NFT_TABLE, ns=ns, check=False)
        super().down()

    def nft_counts(self):
        """(TCP packets that arrived, those dropped) in both namespaces so far."""
        arrived = dropped = 0
        for ns in self.namespaces:
            doc = json.loads(sh("nft", "-j", "list", "table", "inet", NFT_TABLE, ns=ns).stdout)
            for item in doc["nftables"]:
                rule = item.get("rule")
                if not rule:
                    continue
                packets = next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
                if rule.get("comment") == "arrived":
                    arrived += packets
                elif rule.get("comment") == "dropped":
                    dropped += packets
        return arrived, dropped

    def veth_drops(self):
        """Packets both veth ends dropped so far (rx_dropped and tx_dropped)."""
        return sum(int(sh("cat", f"/sys/class/net/{dev}/statistics/{what}", ns=ns).stdout)
                   for ns, dev in ((self.srv, "cmp-s"), (self.cli, "cmp-c"))
                   for what in VETH_DROPS)

    def tcp_mib(self):
        """The Tcp and TcpExt counters of both namespaces, summed: {"Tcp.RetransSegs": n, ...}."""
        total = {}
        for ns in self.namespaces:
            text = sh("cat", "/proc/net/snmp", "/proc/net/netstat", ns=ns).stdout.splitlines()
            for names, values in zip(text[::2], text[1::2]):
                group, *keys = names.split()
                if group not in ("Tcp:", "TcpExt:"):
                    continue
                for key, value in zip(keys, values.split()[1:]):
                    name = f"{group[:-1]}.{key}"
                    total[name] = total.get(name, 0) + int(value)
        return total


@contextlib.contextmanager
def allowed_in_namespaces(cc):
    """The kernel lets a namespace default to a congestion control only when it is in
    net.ipv4.tcp_allowed_congestion_control (a host setting): adds `cc` there for the life of
    a `with` block if it is missing, and puts the setting back after, also on a failure."""
    with open(ALLOWED_CC) as f:
        before = f.read().split()
    if cc in before:
        yield None
        return
    with open(ALLOWED_CC, "w") as f:
        f.write(" ".join(before + [cc]))
    print(f"loss: {ALLOWED_CC} is '{' '.join(before)}': '{cc}' added for this run, removed "
          "at its end", flush=True)
    try:
        yield " ".join(before)
    finally:
        with open(ALLOWED_CC, "w") as f:
            f.write(" ".join(before))


def runnable_others(seconds=1.0, samples=10):
    """Tasks runnable on this machine besides this one, on average over `seconds` (/proc/loadavg's
    running count): what tempo's busy-polling loops would share their cores with."""
    seen = []
    for _ in range(samples):
        with open("/proc/loadavg") as f:
            seen.append(int(f.read().split()[3].split("/")[0]) - 1)
        time.sleep(seconds / samples)
    return round(statistics.mean(seen), 2)


def pct(part, whole):
    return round(100 * part / whole, 3) if whole else None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class LossRun(compare.Run):
    """The figures of one invocation: compare.Run's rounds, figures and failure handling, with
    the loss set-ups, the recovery counters and a table per loss rate."""

    # workload -> the figures made of its rounds: (what, unit, better, the round's value)
    FIGURES = {
        "short": (("p50", "ms", "lower", lambda r: r["p50_ms"]),
                  ("p99", "ms", "lower", lambda r: r["p99_ms"]),
                  ("rate", "conn/s", "higher", lambda r: r["conn_per_s"])),
        "bulk": (("p50", "ms", "lower", lambda r: r["p50_ms"]),
                 ("p99", "ms", "lower", lambda r: r["p99_ms"]),
                 ("rate", "MB/s", "higher", lambda r: r["mbytes_per_s"])),
    }

    def __init__(self, a):
        super().__init__(a)
        self.recovery = []
        self.kernel_settings = {}
        self.seed = a.seed * 100000  # each tempo process of each try gets the next
        self.busy_before = runnable_others()
        if self.busy_before > 0.5:
            print(f"loss: the machine is busy: {self.busy_before:g} other tasks runnable on "
                  "average; tempo's busy-polling loops share the cores with them, and its "
                  "completion times will show it", file=sys.stderr, flush=True)

    def load(self, workload):
        """(response bytes, connections/s or 0, concurrency, port on the kernel's side)."""
        a = self.a
        if workload == "short":
            return a.short_bytes, a.short_rate, a.short_concurrency, SHORT_PORT
        return a.bulk_bytes, 0, a.bulk_concurrency, BULK_PORT

    # --- one round of each side ----------------------------------------------------------------

    def tempo_round(self, workload, loss):
        a = self.a
        size, rate, conc, _ = self.load(workload)
        seeds = []

        def link(cfg):
            cfg["eal"]["idle_sleep_us"] = a.idle_sleep_us
            cfg["ports"][0]["mtu"] = MTU
            cfg.setdefault("tcp", {}).update(mss=MTU - 40, congestion=a.congestion)
            if loss:
                self.seed += 1
                seeds.append(self.seed)
                cfg["faults"] = {"seed": self.seed, "rx": {"drop": loss}}

        lg = {"target": "198.18.0.1:80", "mode": "short", "close_first": "client",
              "connections": 0, "rate": rate, "concurrency": conc,
              "duration_ms": int(a.seconds * 1000), "timeout_ms": a.timeout_ms,
              "max_errors": 10 ** 12, "progress": False}  # failed connections are figures
        with self.lg.memif_pair(f"loss-{workload[:4]}", {"port": 80, "response_bytes": size,
                                                         "keepalive": True}, lg,
                                client_changes=link, server_changes=link) as (ns, app, cpath):
            out, s = self.loadgen(ns, cpath, timeout=a.seconds + a.timeout_ms / 1000 + 120)
            _, sout = app.stop()
        done = s["connections"]["completed"]
        if not done:
            raise RoundFailed(0, "no connection completed", out)
        errors = {k: v for k, v in s["errors"].items() if v}
        counters = {}
        for text in (out, sout):
            for k, v in self.harness.counters(text).items():
                if v and (k.startswith(("tcp.", "faults.", "arp.")) or k in OWN_DROPS + (
                        "rx_packets",)):
                    counters[k] = counters.get(k, 0) + v
        dropped = counters.get("faults.rx.dropped", 0)
        # rx_packets counts what the fault stage let through.
        arrived = counters.get("rx_packets", 0) + dropped
        return self.result(s, done, s["connections"]["failed"], dropped, arrived,
                           counters.get("tcp.retransmits", 0), counters.get("tcp.rto_expired", 0),
                           counters.get("tcp.tlp_probes", 0),
                           counters, {"seeds": seeds, "errors": errors,
                                      "other_drops": sum(counters.get(k, 0) for k in OWN_DROPS)})

    def kernel_round(self, pair, workload):
        a = self.a
        _, rate, conc, port = self.load(workload)
        nft0, mib0, veth0 = pair.nft_counts(), pair.tcp_mib(), pair.veth_drops()
        args = [CLIENT, KERNEL_SRV, port, "--seconds", a.seconds, "--concurrency", conc,
                "--rate", rate, "--timeout-ms", a.timeout_ms]
        if self.injected():
            args.append("--inject-failure")  # an argument it refuses
        r = sh("taskset", "-c", "1", sys.executable, *map(str, args), ns=pair.cli,
               timeout=a.seconds + a.timeout_ms / 1000 + 120)
        k = last_json(r.stdout + r.stderr)
        if not k["completed"]:
            raise RoundFailed(0, "no connection completed", r.stdout + r.stderr)
        nft1, mib1, veth1 = pair.nft_counts(), pair.tcp_mib(), pair.veth_drops()
        changed = {n: v - mib0.get(n, 0) for n, v in mib1.items() if v != mib0.get(n, 0)}
        return self.result(k, k["completed"], k["failed"], nft1[1] - nft0[1],
                           nft1[0] - nft0[0], changed.get("Tcp.RetransSegs", 0),
                           changed.get("TcpExt.TCPTimeouts", 0),
                           changed.get("TcpExt.TCPLossProbes", 0), changed,
                           {"errors": {e: n for e, n in k["errors"].items() if n},
                            "other_drops": veth1 - veth0})

    @staticmethod
    def result(s, done, failed, dropped, arrived, retrans, rtos, probes, counters, extra):
        """A round's figures from its client's JSON (tempo-loadgen's or loss_client.py's: the
        same keys) and its counters."""
        lat = s["latency_us"]
        return dict(extra, loadavg_1min=os.getloadavg()[0], p50_ms=lat["p50"] / 1000,
                    p99_ms=lat["p99"] / 1000, max_ms=lat["max"] / 1000, samples=lat["samples"],
                    conn_per_s=s.get("conn_per_s", s.get("connections", {}).get("per_s")),
                    mbytes_per_s=s["mbytes_per_s"], completed=done, failed=failed,
                    measured_loss_pct=pct(dropped, arrived), packets_arrived=arrived,
                    retrans_per_conn=round(retrans / done, 3), rto_per_conn=round(rtos / done, 4),
                    probes_per_conn=round(probes / done, 4),
                    counters=counters)

    # --- a loss rate: both workloads, rounds alternating ----------------------------------------

    def loss_rate(self, loss_pct):
        a = self.a
        loss = loss_pct / 100
        with LossyPair(self.peer, self.tag, loss, KERNEL_CC[a.congestion], a.short_bytes,
                       a.bulk_bytes) as pair:
            self.kernel_settings = pair.settings
            for workload in a.workloads.split(","):
                rounds = Rounds(self, workload, "t2t", f"loss {loss_pct:g}%")
                runs = {"tempo": [], "kernel": []}
                sides = (("tempo", lambda w=workload: self.tempo_round(w, loss), None),
                         ("kernel", lambda w=workload: self.kernel_round(pair, w), pair.renew))
                for i in range(a.rounds):
                    for side, fn, renew in (sides if i % 2 == 0 else sides[::-1]):
                        got = rounds.attempt(side, i, fn, renew=renew)
                        if got is not None:
                            runs[side].append(got)
                self.figures_of(workload, loss_pct, runs, rounds)

    def figures_of(self, workload, loss_pct, runs, rounds):
        a = self.a
        size, rate, conc, _ = self.load(workload)
        load = (f"{rate}/s, at most {conc} in flight" if rate else f"{conc} at once, back to back")
        in_path = (f"{workload}: {size} B responses, {load}, {a.seconds:g} s of starting, "
                   f"{loss_pct:g}% of the packets dropped at each receiver; tempo: tempo-loadgen "
                   f"(cpu 1) -> memif (MTU {MTU}, trusted) -> tempo-httpd (cpu 0), fault stage "
                   "on both RXs; kernel: loss_client.py (cpu 1) -> veth (MTU 1500, TSO/GRO off) "
                   "-> kernel-peer http-server (cpu 0), nftables prerouting drops in both "
                   "namespaces; completion time: connect to the last response byte")
        extra = {"loss_pct": loss_pct}
        for key in ("samples", "failed", "measured_loss_pct"):
            for side in ("tempo", "kernel"):
                extra[f"{side}_{key}_runs"] = [r[key] for r in runs[side]]
        for what, unit, better, value in self.FIGURES[workload]:
            self.figure(workload, "t2t", what, unit, [value(r) for r in runs["tempo"]],
                        [value(r) for r in runs["kernel"]], better, None, in_path, rounds, extra)
        self.recovery.append({
            "workload": workload, "loss_pct": loss_pct,
            **{side: {"retrans_per_conn": median(r["retrans_per_conn"] for r in runs[side]),
                      "rto_per_conn": median(r["rto_per_conn"] for r in runs[side]),
                      "probes_per_conn": median(r["probes_per_conn"] for r in runs[side]),
                      "measured_loss_pct": median(r["measured_loss_pct"] for r in runs[side]),
                      "failed": sum(r["failed"] for r in runs[side]),
                      "other_drops": sum(r["other_drops"] for r in runs[side]),
                      "rounds": runs[side]}
               for side in ("tempo", "kernel")}})

    # --- output ------------------------------------------------------------------------------

    def table(self):
        rows = [("workload", "loss", "figure", "tempo", "kernel", "tempo/kernel")]
        for f in self.figures:
            rows.append((f["workload"], f"{f['loss_pct']:g}%", f"{f['what']} ({f['unit']})",
                         number(f["tempo"], ",.4g"), number(f["kernel"], ",.4g"),
                         f"{f['tempo_over_kernel']:g}x" if f["tempo_over_kernel"] else "-"))
        figures = compare.markdown(rows, self.notes())
        rows = [("workload", "loss", "measured loss % (tempo / kernel)",
                 "other drops", "retransmits per conn", "RTOs per conn", "loss probes per conn",
                 "failed conns")]
        both = lambda r, key, spec: " / ".join(number(r[s][key], spec) if r[s]["rounds"] else
                                               "failed" for s in ("tempo", "kernel"))
        for r in self.recovery:
            rows.append((r["workload"], f"{r['loss_pct']:g}%", both(r, "measured_loss_pct", ".2f"),
                         both(r, "other_drops", "d"), both(r, "retrans_per_conn", ",.3g"),
                         both(r, "rto_per_conn", ",.3g"), both(r, "probes_per_conn", ",.3g"),
                         both(r, "failed", "d")))
        return figures + "\n\n" + compare.markdown(rows)

    def notes(self):
        notes = super().notes()
        if self.busy_before > 0.5:
            notes.append(f"the machine was busy before the run ({self.busy_before:g} other tasks "
                         "runnable on average): tempo's busy-polling loops shared their cores")
        for f in self.figures:
            if f["what"] != "p99":
                continue
            few = {s: n for s in ("tempo", "kernel") for n in f[f"{s}_samples_runs"] if n < 100}
            if few:
                notes.append(f"{f['workload']} at {f['loss_pct']:g}%: a round of " + " and ".join(
                    f"{s} completed only {n}" for s, n in few.items()) +
                    " connections: its p99 is (near) their slowest")
        return notes

    def write(self, started, command, allowed_before):
        date = datetime.date.today().isoformat()
        os.makedirs(self.a.out, exist_ok=True)
        path = os.path.join(self.a.out, f"{date}-loss.json")
        doc = {"command": command, "date": date,
               "seconds_taken": round(time.monotonic() - started, 1),
               "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                           "runnable_others_before_run": self.busy_before},
               "settings": {k: v for k, v in vars(self.a).items() if k not in ("build", "out")},
               "tempo": {"mtu": MTU, "mss": MTU - 40, "congestion": self.a.congestion,
                         "faults": "rx drop on both processes, a seed per process and try"},
               "kernel": dict(self.kernel_settings, client="perf/macro/loss_client.py",
                              server="kernel-peer http-server",
                              loss=f"nftables inet {NFT_TABLE} prerouting in both namespaces",
                              allowed_congestion_control_widened_from=allowed_before),
               "figures": self.figures, "recovery": self.recovery,
               "failures": [f for m in self.measurements for f in m.failures],
               "steal_ms_during_run": round(compare.cpu_steal_ms() - self.steal_start, 1)}
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
        return path


def loss_rates(text):
    try:
        rates = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: expected percentages, e.g. 0,1,5")
    if not rates or any(not 0 <= r < 100 for r in rates):
        raise argparse.ArgumentTypeError(f"{text}: each loss rate in [0, 100)")
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--out", default=os.path.join(SRC, "perf", "results"),
                    help="where <date>-loss.json goes")
    ap.add_argument("--loss", type=loss_rates, default=[0.0, 1.0, 5.0],
                    help="loss rates in percent, each direction (default 0,1,5)")
    ap.add_argument("--workloads", default="short,bulk")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3,
                    help="how long each round starts connections")
    ap.add_argument("--short-rate", type=int, default=500)
    ap.add_argument("--short-concurrency", type=int, default=256)
    ap.add_argument("--short-bytes", type=int, default=1024)
    ap.add_argument("--bulk-bytes", type=int, default=1 << 20,
                    help="a bulk transfer's bytes (at most 1 MiB: tempo-httpd's limit)")
    ap.add_argument("--bulk-concurrency", type=int, default=8)
    ap.add_argument("--timeout-ms", type=int, default=10000,
                    help="a connection not complete by then is reset and counted failed")
    ap.add_argument("--congestion", choices=sorted(KERNEL_CC), default="cubic",
                    help="both sides' congestion control (tempo's tcp.congestion default)")
    ap.add_argument("--seed", type=int, default=1, help="tempo's fault stage seeds from this")
    ap.add_argument("--idle-sleep-us", type=int, default=0,
                    help="tempo's eal.idle_sleep_us (default 0: busy polling, tempo's default; "
                    "on a machine shared with other work, its loops then wait for the cpu)")
    ap.add_argument("--retries", type=int, default=2,
                    help="tries of a failed round beyond its first (default 2)")
    # Tests: compare.py's [PATH/]WORKLOAD:SIDE:ROUND[:TRIES] (PATH t2t), counted over the
    # loss rates in order: the first rounds that match fail.
    ap.add_argument("--inject-failure", action="append", default=[], type=compare.injection,
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if not 0 < a.bulk_bytes <= 1 << 20:
        ap.error("--bulk-bytes: at most 1048576 (tempo-httpd's app.httpd.response_bytes)")
    unknown = set(a.workloads.split(",")) - set(LossRun.FIGURES)
    if unknown:
        ap.error(f"--workloads: {','.join(sorted(unknown))}: expected short and/or bulk")
    if os.geteuid() != 0:
        print("loss: needs root (namespaces, nftables, DPDK)", file=sys.stderr)
        return 2
    compare.PROG = "loss"
    command = shlex.join([sys.executable] + sys.argv)
    print(f"loss: {command}", flush=True)
    # SIGTERM and SIGHUP unwind like Ctrl-C (also when started in the background, where SIGINT
    # comes ignored): the `with` blocks remove what they made.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda n, _: sys.exit(128 + n))
    started = time.monotonic()
    run = LossRun(a)
    try:
        with allowed_in_namespaces(KERNEL_CC[a.congestion]) as allowed_before:
            for loss_pct in a.loss:
                run.loss_rate(loss_pct)
    except KeyboardInterrupt:
        print("loss: interrupted (its namespaces, nftables tables and processes are removed)",
              file=sys.stderr)
        return 130
    path = run.write(started, command, allowed_before)
    print(f"loss: {command}")
    print(run.table())
    print(f"loss: wrote {path} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
