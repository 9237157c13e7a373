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
import unittest

import harness
from harness import TEMPO_V4

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
        with harness.tap_setup("api", app=EXE) as (ns, app, _):
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

        # The state was made once, before any callback, and destroyed at stop with its counts:
        # 4 connections, 5 + 1 + 1 timer firings (not the cancelled one).
        self.assertEqual(output.count("state made for worker 0, before any callback"), 1, output)
        self.assertNotIn("TWICE", output)
        self.assertIn("state destroyed for worker 0: connections=5 fired=7 messages=0", output)
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


if __name__ == "__main__":
    harness.require_root()
    unittest.main(verbosity=2)
