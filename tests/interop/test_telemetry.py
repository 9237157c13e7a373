"""tempo's commands on DPDK's telemetry socket (lib/stack/telemetry.h), read with DPDK's own
dpdk-telemetry.py and with tempo-stat while tempo-httpd serves the kernel's clients over
net_tap: counters summed and per Worker, the port's packets and pools, and connections by state
counted by the Worker, each checked against what the clients did."""

import json
import os
import subprocess
import time
import unittest

import harness
from harness import TEMPO_V4

HOLD = 20  # connections the holder keeps open
SHORT = 500  # short HTTP connections (tempo-httpd closes first: TIME_WAIT on its side)

# Opens HOLD connections to tempo-httpd, says "open", keeps them until its stdin closes.
HOLDER = f"""
import socket, sys
conns = [socket.create_connection(("{TEMPO_V4}", 80), timeout=10) for _ in range({HOLD})]
print("open", flush=True)
sys.stdin.read()
"""


# Opens and closes connections (an HTTP request each) until its stdin closes; prints how many.
LOOPER = f"""
import socket, sys, threading
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
print("started", flush=True)
n = 0
while not done.is_set():
    s = socket.create_connection(("{TEMPO_V4}", 80), timeout=10)
    s.sendall(b"GET / HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n")
    while s.recv(65536):
        pass
    s.close()
    n += 1
print(n, flush=True)
"""


def tempo_stat(*args):
    exe = os.path.join(harness.BUILD, "apps", "tempo-stat", "tempo-stat")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)


query = harness.telemetry


class Telemetry(unittest.TestCase):
    def test_counters_port_and_connections_match_the_clients(self):
        with harness.tap_setup("telem", app="tempo-httpd") as (ns, app, _):
            info, = query(ns, "/tempo/info")
            self.assertEqual((info["program"], info["workers"], info["ports"]),
                             ("tempo-httpd", 1, 1), info)
            holder = subprocess.Popen(["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c",
                                       HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True)
            try:
                self.assertEqual(holder.stdout.readline().strip(), "open")
                # The holder's handshakes are done on its side; tempo's may trail by a segment.
                conns = {}
                for _ in range(50):
                    conns, = query(ns, "/tempo/connections")
                    if conns["ESTABLISHED"] == HOLD:
                        break
                    time.sleep(0.1)
                self.assertEqual(conns["ESTABLISHED"], HOLD, conns)
                self.assertEqual(conns["TIME_WAIT"] + conns["time_wait_records"], 0, conns)

                summary, out = harness.http_clients(ns, TEMPO_V4, SHORT)
                self.assertEqual(summary.get("ok"), SHORT, out)
                tcp, tw, worker0, port, conns = query(
                    ns, "/tempo/counters,tcp", "/tempo/counters,timewait", "/tempo/worker,0,tcp",
                    "/tempo/port,0", "/tempo/connections")
            finally:
                holder.stdin.close()
                holder.wait(timeout=30)
            self.assertEqual(tcp["tcp/passive_opens"], HOLD + SHORT, tcp)
            self.assertEqual(worker0["tcp/passive_opens"], HOLD + SHORT, worker0)
            self.assertTrue(all(name.startswith("tcp/") for name in tcp), tcp)
            # A TIME_WAIT record each (tempo-httpd closes first), but for a tuple the kernel's
            # next connection took over (RFC 6191 reuse).
            reused = tw["timewait/passive_reuse_accepted"]
            self.assertEqual(tw["timewait/entries"] + reused, SHORT, tw)
            self.assertEqual(conns["time_wait_records"] + reused, SHORT, conns)
            self.assertGreater(conns["time_wait_mapped_bytes"], 0, conns)
            # The tables follow occupancy: 500 entries back their records and two 4 KB indices,
            # not the bound's 28 MB index.
            self.assertGreater(conns["time_wait_backed_bytes"], conns["time_wait_records"] * 44,
                               conns)
            self.assertLess(conns["time_wait_backed_bytes"], 1 << 20, conns)
            self.assertEqual(conns["ESTABLISHED"], HOLD, conns)
            self.assertEqual((port["name"], port["driver"]), ("net_tap0", "net_tap"), port)
            # Every connection took at least its SYN and its ACK (and a request) in.
            self.assertGreaterEqual(port["ipackets"], 3 * SHORT + 2 * HOLD, port)
            self.assertLessEqual(port["rx_pool_free"], port["rx_pool_size"], port)

            # The holder's connections close (its FINs): the Worker counts them gone.
            self.assertTrue(harness.wait_for(
                lambda: query(ns, "/tempo/connections")[0]["ESTABLISHED"] == 0), conns)
            port, counters = query(ns, "/tempo/port,0", "/tempo/counters,")
            self.assertIn("rx_packets", counters)
            # The port's own count and the Worker's agree (the kernel's stray ND aside).
            self.assertLessEqual(abs(counters["rx_packets"] - port["ipackets"]), 10,
                                 (counters, port))
            bad = query(ns, "/tempo/worker,7", "/tempo/port,x", "/tempo/counters,nosuch")
            self.assertIn("N below 1", bad[0]["error"])
            self.assertIn("usage", bad[1]["error"])
            self.assertEqual(bad[2], {})
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            self.assertEqual(harness.counters(output)["tcp.passive_opens"], HOLD + SHORT, output)

    def test_tempo_stat_under_load(self):
        with harness.tap_setup("tstat", app="tempo-httpd") as (ns, app, _):
            config = next(a for a in app.proc.args if a.endswith(".yaml"))
            looper = subprocess.Popen(["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c",
                                       LOOPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True)
            try:
                self.assertEqual(looper.stdout.readline().strip(), "started")
                live = tempo_stat("--config", config, "--json", "--interval", "0.5")
                table = tempo_stat("-c", config, "--once", "--interval", "0.2", "--worker", "0")
            finally:
                looper.stdin.close()
                made = int(looper.stdout.readline())
                looper.wait(timeout=30)
            self.assertEqual(live.returncode, 0, live.stderr)
            d = json.loads(live.stdout)
            self.assertEqual(d["info"]["program"], "tempo-httpd", d["info"])
            # Connections came at a rate while it watched, and none is lost from the totals.
            self.assertGreater(d["rates"]["tcp.passive_opens"], 0, d["rates"])
            self.assertLessEqual(d["counters"]["tcp.passive_opens"], made + 1)
            self.assertEqual(d["ports"][0]["driver"], "net_tap", d["ports"])
            self.assertIn("ESTABLISHED", d["connections"])
            self.assertEqual(table.returncode, 0, table.stderr)
            self.assertIn("Worker 0", table.stdout)
            self.assertRegex(table.stdout, r"\ntcp\.passive_opens +[1-9]")
            settled = json.loads(tempo_stat("-c", config, "--json", "--interval", "0.1").stdout)
            self.assertEqual(settled["counters"]["tcp.passive_opens"], made, settled["counters"])
            # tempo-httpd closed each first: a TIME_WAIT record each, but for those whose tuple
            # the kernel's next connection took over (RFC 6191 reuse).
            reused = settled["counters"]["timewait.passive_reuse_accepted"]
            self.assertEqual(settled["connections"]["time_wait_records"] + reused, made,
                             settled["counters"])

            bad = tempo_stat("-c", config, "--once", "--worker", "3")
            self.assertEqual((bad.returncode, bad.stderr.strip()),
                             (2, "tempo-stat: --worker 3: the app has 1 Worker(s)"))
            rc, output = app.stop()
            self.assertEqual(rc, 0, output)
            gone = tempo_stat("-c", config, "--once")
            self.assertEqual(gone.returncode, 1, gone.stdout)
            self.assertIn("no tempo process answers with file prefix " + ns.name, gone.stderr)
            self.assertEqual(tempo_stat("--once").returncode, 2)

    def test_tempo_stat_lists_connections_and_time_wait(self):
        """--connections: what each connection's Tcb says, as ss -tin; --state time-wait: the
        TIME_WAIT entries closest to expiry, as ss -tan state time-wait."""
        request = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
        holder = f"""
import socket, sys
conns = [socket.create_connection(("{TEMPO_V4}", 80), timeout=10) for _ in range(40)]
for c in conns[:5]:
    c.sendall({request!r})
    c.recv(65536)
print("open", flush=True)
sys.stdin.read()
"""
        with harness.tap_setup("tconn", app="tempo-httpd") as (ns, app, _):
            config = next(a for a in app.proc.args if a.endswith(".yaml"))
            summary, out = harness.http_clients(ns, TEMPO_V4, 30)
            self.assertEqual(summary.get("ok"), 30, out)
            proc = subprocess.Popen(["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c",
                                     holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True)
            try:
                self.assertEqual(proc.stdout.readline().strip(), "open")
                listed = tempo_stat("-c", config, "--connections", "--json")
                paged = tempo_stat("-c", config, "--connections", "--limit", "35")
                tw = tempo_stat("-c", config, "--connections", "--state", "time-wait",
                                "--limit", "7", "--json")
                bad = tempo_stat("-c", config, "--connections", "--state", "bogus")
            finally:
                proc.stdin.close()
                proc.wait(timeout=30)
            self.assertEqual(listed.returncode, 0, listed.stderr)
            conns = json.loads(listed.stdout)
            self.assertEqual(len(conns), 40, conns)  # more than one page (32) of the census
            for c in conns:
                self.assertEqual((c["state"], c["local"]), ("ESTABLISHED", f"{TEMPO_V4}:80"))
                self.assertTrue(c["remote"].startswith(harness.KERNEL_V4 + ":"), c)
                self.assertRegex(c["options"], r"^ws\d+/\d+,sack,ts$", c)  # the kernel's, ours
                self.assertGreater(c["srtt_us"], 0, c)
                self.assertEqual(c["retransmits"], 0, c)
            served = [c for c in conns if c["bytes_received"] == len(request)]
            self.assertEqual(len(served), 5, conns)
            self.assertTrue(all(c["bytes_acked"] > 0 for c in served), served)
            self.assertEqual(sum(c["bytes_received"] for c in conns), 5 * len(request))
            # The table: a header line, then 35 connections.
            self.assertEqual(paged.returncode, 0, paged.stderr)
            lines = paged.stdout.splitlines()
            self.assertEqual(len(lines), 36, paged.stdout)
            self.assertTrue(all(" ESTABLISHED " in line for line in lines[1:]), paged.stdout)
            self.assertEqual(tw.returncode, 0, tw.stderr)
            entries = json.loads(tw.stdout)
            self.assertEqual(len(entries), 7, entries)
            for e in entries:
                self.assertEqual(e["state"], "TIME-WAIT", e)
                self.assertEqual(e["options"], "ts", e)
                self.assertTrue(0 < e["left_ms"] <= 60000, e)
            lefts = [e["left_ms"] for e in entries]
            self.assertEqual(lefts, sorted(lefts), entries)  # closest to expiry first
            self.assertEqual(bad.returncode, 2, bad.stdout)
            self.assertIn("STATE any or as /tempo/connections names it", bad.stderr)
            app.stop()


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
