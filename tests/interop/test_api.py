"""The embedding API through its public headers only (tests/interop/api_server.cc): per-Worker
state made before the first callback and destroyed at stop with what it counted; application
timers (periodic, one-shot, cancelled) never early and firing on the Worker's lcore; a
tempo::ByteQueue echoing 8 MiB to a kernel client that does not read until it has sent it all
(the queue fills, the window shuts, nothing is lost or copied); messages between two Workers
(tempo::post): a round trip, and a flood that fills the ring, refused and counted, never
blocking, every posted message run once."""

import json
import os
import re
import subprocess
import time
import unittest

import harness
from harness import KERNEL_V4, TEMPO_V4

EXE = os.path.join(harness.BUILD, "tests", "interop", "tempo-api-test")

CLIENT = f"""
import sys
TWO = sys.argv[1:] == ["two"]
import hashlib, json, socket, threading, time

def exchange(command):
    s = socket.create_connection(("{TEMPO_V4}", 7), timeout=20)
    start = time.monotonic()
    s.sendall(command.encode() + b"\\n")
    lines, buf = [], b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
        while b"\\n" in buf:
            line, buf = buf.split(b"\\n", 1)
            lines.append((line.decode(), time.monotonic() - start))
    s.close()
    return lines

if TWO:
    print(json.dumps({{"post": [exchange("post") for _ in range(4)],
                      "flood": exchange("flood 100000")}}))
    raise SystemExit(0)
out = {{"tick": exchange("tick 5 40"), "once": exchange("once 100"),
       "cancel": exchange("cancel 50"), "post": exchange("post")}}

def nine(source_port):
    s = socket.socket()
    s.settimeout(1.5)
    s.bind(("{KERNEL_V4}", source_port))
    try:
        s.connect(("{TEMPO_V4}", 9))
        return s.recv(100).decode().strip()
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()

out["admission"] = [nine(40002), nine(40001), nine(40004)]
out["connect"] = [exchange("connect 50123"), exchange("connect 50123")]
out["unlisten"] = [exchange("unlisten"), nine(40006), exchange("unlisten")]
out["counters"] = exchange("counters")

s = socket.create_connection(("{TEMPO_V4}", 10), timeout=20)
mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
stream = bytearray()
while True:
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    stream += chunk
s.close()
body, _, trailer = bytes(stream).partition(b"\\nspace ")
want = bytes((i * 7 + i // 251) & 0xff for i in range(4 << 20))
out["stream"] = {{"mss": mss, "intact": body == want, "trailer": "space " + trailer.decode()}}

payload = bytes((i * 7 + i // 251) & 0xff for i in range(8 << 20))
s = socket.create_connection(("{TEMPO_V4}", 7), timeout=30)
s.sendall(b"echo\\n")
def writer():
    s.sendall(payload)  # nothing read meanwhile: tempo's queue and windows fill
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=writer)
t.start()
time.sleep(1.0)
got = bytearray()
while True:
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    got += chunk
t.join()
out["echo"] = {{"sent": len(payload), "received": len(got),
               "intact": hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()}}
print(json.dumps(out))
"""


class Api(unittest.TestCase):
    def test_worker_state_timers_and_byte_queue(self):
        with harness.tap_setup("api", app=EXE) as (ns, app, _), \
                harness.kernel_server(ns, KERNEL_V4, 7, "echo"):
            r = ns.sh("/usr/bin/python3", "-c", CLIENT, timeout=120)
            out = json.loads(r.stdout.splitlines()[-1])
            rc, output = app.stop()
        self.assertEqual(rc, 0, output)

        ticks = out["tick"]
        self.assertEqual([line for line, _ in ticks], [f"tick {i}" for i in range(1, 6)], out)
        # Never early: the first 40 ms after the command at least, the fifth 200 ms.
        self.assertGreaterEqual(ticks[0][1], 0.040, out)
        self.assertGreaterEqual(ticks[4][1], 0.200, out)
        self.assertLess(ticks[4][1], 5.0, out)
        self.assertEqual([line for line, _ in out["once"]], ["once"], out)
        self.assertGreaterEqual(out["once"][0][1], 0.100, out)
        # The cancelled timer never fired; the other one did, at 2 x 50 ms.
        self.assertEqual([line for line, _ in out["cancel"]], ["after cancel"], out)
        self.assertGreaterEqual(out["cancel"][0][1], 0.100, out)
        self.assertEqual(out["echo"], {"sent": 8 << 20, "received": 8 << 20, "intact": True})
        # One Worker: nobody to post to.
        self.assertEqual([line for line, _ in out["post"]], ["no such other worker"], out)
        # Port 9, on 198.18.0.2 only, admits an even source port, resets an odd one, drops one
        # ending in 4; once unlisten()ed, it is refused like a port nobody listens on.
        self.assertEqual(out["admission"], ["admitted", "refused", "timeout"], out)
        self.assertEqual([[line for line, _ in x] for x in out["unlisten"][::2]],
                         [["unlisten 1"], ["unlisten 0"]], out)
        self.assertEqual(out["unlisten"][1], "refused", out)
        # An active open from a chosen port, echoed by the kernel; the same port again at once
        # finds the tuple in tempo's TIME_WAIT (tempo closed first), not reusable yet.
        first, again = ([line for line, _ in x] for x in out["connect"])
        self.assertEqual(first, ["connected from 50123"], out)
        self.assertEqual(again, ["no free local port toward the remote"], out)

        # The state was made once, before any callback, and destroyed at stop with its counts:
        # 4 connections, 5 + 1 + 1 timer firings (not the cancelled one).
        self.assertEqual(output.count("state made for worker 0, before any callback"), 1, output)
        self.assertNotIn("TWICE", output)
        self.assertIn("state destroyed for worker 0: connections=10 fired=7 messages=0", output)
        # The application's counter beside the stack's: read by name on the Worker (the
        # "counters" connection is port 7's ninth, before the echo's), and printed at exit.
        self.assertEqual([line for line, _ in out["counters"]], ["sessions 9 passive 10"], out)
        # Port 10's ConnOptions: the kernel sends segments of at most the clamped 536 bytes
        # (less 12 of timestamps); tempo offers at most its 8 KiB window; every on_writable came
        # with the queue drained to the 16 KiB low-watermark (48 KiB of 64 free at least).
        st = out["stream"]
        self.assertTrue(st["intact"], st["trailer"])
        self.assertLessEqual(st["mss"], 536, st)
        space, lowat, rcv_wnd, rcv_mss = (int(v) for v in st["trailer"].split()[1::2])
        self.assertEqual(lowat, 1, st)
        self.assertGreaterEqual(space, 65536 - 16384, st)
        self.assertLess(space, 65536, st)  # a real on_writable was seen
        self.assertLessEqual(rcv_wnd, 8192, st)
        self.assertEqual(rcv_mss, 536, st)
        for bad, why in [("api.sessions", "a counter of that name exists"),
                         ("tcp.passive_opens", "a counter of that name exists"),
                         ("Sessions", "expected 1 to 48"), ("", "expected 1 to 48"),
                         ("a-b", "expected 1 to 48")]:
            self.assertRegex(output, rf'add_counter\("{bad}"\): counter "{bad}": {why}')
        c = harness.counters(output)
        # The reset SYN, and the dropped one (and its retransmission, 1 s later, if the client
        # was still waiting).
        self.assertIn(c.get("tcp.admission_refused"), (2, 3), output)
        self.assertEqual(c.get("tcp.passive_opens"), 10 + 2, output)  # port 7's, 9's and 10's
        self.assertEqual(c.get("api.sessions"), 10, output)
        self.assertEqual(c.get("tcp.active_opens"), 1, output)
        self.assertLess(output.index("state made"), output.index("state destroyed"), output)

    def test_messages_between_two_workers(self):
        def two_workers(cfg):
            cfg["eal"]["lcores"] = "0-1"
            cfg["ports"][0]["queues"] = 2

        with harness.tap_setup("ap2", app=EXE, changes=two_workers) as (ns, app, _):
            r = ns.sh("/usr/bin/python3", "-c", CLIENT, "two", timeout=120)
            out = json.loads(r.stdout.splitlines()[-1])
            rc, output = app.stop()
        self.assertEqual(rc, 0, output)
        # Each round trip went to the other Worker and back.
        for lines in out["post"]:
            self.assertIn([line for line, _ in lines],
                          [["reply from worker 0"], ["reply from worker 1"]], out)
        [(line, _)] = out["flood"]
        _, posted, _, full = line.split()
        posted, full = int(posted), int(full)
        self.assertEqual(posted + full, 100000, line)
        self.assertGreaterEqual(posted, 512, line)  # a ring's worth at least
        self.assertGreater(full, 0, line)  # faster than the other Worker drains: refused
        c = harness.counters(output)
        self.assertEqual(c.get("drop.app_msg"), full, output)
        self.assertEqual(c.get("app_msg.out"), posted + 2 * 4, output)  # and 4 pings, 4 pongs
        # Every posted message ran once, on the Worker it was posted to.
        ran = [int(m) for m in re.findall(r"state destroyed for worker \d: .* messages=(\d+)",
                                           output)]
        self.assertEqual(len(ran), 2, output)
        self.assertEqual(sum(ran), posted, output)

    def test_drain(self):
        client = f"""
import json, socket, time
idle = [socket.create_connection(("{TEMPO_V4}", 7), timeout=10) for _ in range(2)]
time.sleep(0.2)
s = socket.create_connection(("{TEMPO_V4}", 7), timeout=10)
start = time.monotonic()
s.sendall(b"drain 400\\n")
reply = s.recv(100).decode().strip()
s.close()
try:
    socket.create_connection(("{TEMPO_V4}", 7), timeout=3).close()
    new = "accepted"
except ConnectionRefusedError:
    new = "refused"
eofs = []
for c in idle:
    data = c.recv(100)  # the FIN, at the deadline
    eofs.append((data.decode(), time.monotonic() - start))
    c.close()
print(json.dumps({{"reply": reply, "new": new, "eofs": eofs}}))
"""
        with harness.tap_setup("apd", app=EXE) as (ns, app, _):
            r = ns.sh("/usr/bin/python3", "-c", client, timeout=60)
            out = json.loads(r.stdout.splitlines()[-1])
            # Drained, it stops by itself.
            try:
                app.proc.wait(timeout=20)
            except Exception:
                self.fail("not stopped after the drain:\n" + app.output())
            output = app.output()
        self.assertEqual(app.proc.returncode, 0, output)
        self.assertEqual(out["reply"], "draining", out)
        self.assertEqual(out["new"], "refused", out)  # no longer accepting
        for data, at in out["eofs"]:  # the idle connections had their 400 ms, then a FIN
            self.assertEqual(data, "", out)
            self.assertGreaterEqual(at, 0.4, out)
            self.assertLess(at, 10, out)
        self.assertIn("api-test: worker 0 drained at", output)
        c = harness.counters(output)
        self.assertEqual(c.get("tcp.closed_on_stop"), 2, output)
        self.assertEqual(c.get("tcp.reset_on_stop"), 0, output)

    def test_no_on_closed_for_a_handshake_the_application_never_saw(self):
        # The kernel's handshake ACKs to port 7 are dropped: its connect() completes, tempo's
        # side stays in SYN-RECEIVED. Stopping tempo resets it; the application, which never
        # had on_connected for it, must not get on_closed either (tempo-proxy crashed on one).
        rules = """
table inet tempo_api {
  chain out {
    type filter hook output priority 0; policy accept;
    tcp dport 7 tcp flags == ack counter drop
  }
}
"""
        with harness.tap_setup("aph", app=EXE) as (ns, app, _):
            subprocess.run(["ip", "netns", "exec", ns.name, "nft", "-f", "-"], input=rules,
                           text=True, check=True)
            # The client holds its socket (a FIN would carry an ACK tempo accepts) while tempo
            # stops.
            holder = subprocess.Popen(
                ["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c", f"""
import socket, sys, time
s = socket.create_connection(("{TEMPO_V4}", 7), timeout=10)
print("connected", flush=True)
sys.stdin.read()
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual(holder.stdout.readline().strip(), "connected")
                time.sleep(0.3)
                dropped = ns.sh("nft", "list", "table", "inet", "tempo_api").stdout
                rc, output = app.stop()
            finally:
                holder.stdin.close()
                holder.wait(timeout=30)
        self.assertEqual(rc, 0, output)
        self.assertRegex(dropped, r"counter packets [1-9]", dropped)  # the ACK really went
        c = harness.counters(output)
        self.assertEqual(c.get("tcp.reset_on_stop"), 1, output)  # the embryonic connection
        self.assertNotIn("without on_connected", output)
        self.assertIn("state destroyed for worker 0: connections=0", output)


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
