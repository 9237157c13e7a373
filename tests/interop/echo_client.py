"""A kernel-socket client of tempo-echo, run inside the test namespace: sends random bytes on
each of `--conns` connections at once, reads the echo back concurrently, and checks it by
SHA-256. Prints one JSON line with what it saw. Exit 0 when every byte came back intact.

With --abuse it is the abusive client instead: it sends as much as tempo takes on each
connection and never reads, holding them open for --timeout seconds; it prints the bytes tempo
took and exits 0 when every connection stayed up."""

import argparse
import hashlib
import json
import os
import resource
import selectors
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--port", type=int, default=7)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--abuse", action="store_true", help="send, never read, hold open")
    ap.add_argument("--write", type=int, default=1 << 16,
                    help="--abuse: bytes per send(), each its own segment (TCP_NODELAY)")
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, a.conns + 64), max(hard, a.conns + 64)))
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    if a.abuse:
        return abuse(a, fam)
    sel = selectors.DefaultSelector()
    payload = os.urandom(a.size)
    want = hashlib.sha256(payload).hexdigest()
    conns = []
    for _ in range(a.conns):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((a.addr, a.port))
        st = {"sock": s, "sent": 0, "got": hashlib.sha256(), "n": 0, "eof": False, "shut": False}
        conns.append(st)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, st)
    deadline = time.time() + a.timeout
    t0 = time.time()
    open_at_once = 0
    while any(not c["eof"] for c in conns) and time.time() < deadline:
        open_at_once = max(open_at_once, sum(1 for c in conns if not c["eof"]))
        for key, ev in sel.select(timeout=1):
            c = key.data
            s = c["sock"]
            try:
                if ev & selectors.EVENT_WRITE and c["sent"] < a.size:
                    c["sent"] += s.send(payload[c["sent"]:c["sent"] + (1 << 18)])
                if c["sent"] == a.size and not c["shut"]:
                    s.shutdown(socket.SHUT_WR)
                    c["shut"] = True
                    sel.modify(s, selectors.EVENT_READ, c)
                if ev & selectors.EVENT_READ:
                    b = s.recv(1 << 18)
                    if b:
                        c["got"].update(b)
                        c["n"] += len(b)
                    else:
                        c["eof"] = True
                        sel.unregister(s)
                        s.close()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                c["eof"] = True
                c["error"] = str(e)
                sel.unregister(s)
                s.close()
    elapsed = time.time() - t0
    ok = [c["eof"] and c["n"] == a.size and c["got"].hexdigest() == want and "error" not in c
          for c in conns]
    errors = sorted({c.get("error", "") for c in conns if "error" in c})
    print(json.dumps({"conns": a.conns, "size": a.size, "intact": sum(ok),
                      "received": sum(c["n"] for c in conns), "open_at_once": open_at_once,
                      "seconds": round(elapsed, 3), "errors": errors[:3]}))
    return 0 if all(ok) else 1


def abuse(a, fam):
    socks = []
    for _ in range(a.conns):
        s = socket.create_connection((a.addr, a.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    print(json.dumps({"abusers": len(socks)}), flush=True)
    chunk = os.urandom(a.write)
    sent = [0] * len(socks)
    deadline = time.time() + a.timeout
    errors = []
    while time.time() < deadline:
        progress = False
        for i, s in enumerate(socks):
            try:
                sent[i] += s.send(chunk)
                progress = True
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                errors.append(str(e))
        if not progress:
            time.sleep(0.2)
    print(json.dumps({"abusers": len(socks), "taken": sum(sent), "errors": errors[:3]}))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
