"""A slowloris client (tests/interop/test_httpd_timeouts.py): opens `--conns` connections to an
HTTP server, sends each a partial request head and then one more byte of it every
`--interval` seconds, never the blank line that ends it, and notes when the server closes each
(EOF or reset), for `--seconds`. Meanwhile a fresh client sends a whole request on a new
connection and times its response, at once and then every `--probe-every` seconds, and a slow
but honest client sends a whole head in three parts over `--honest-ms` (`--conns 0`: only
these, a probe of the server while other processes attack it). Prints one JSON line:
  {"opened", "open_failed" (connects that failed; 3 end the opening), "closed",
   "close_after_s": [min, max] (from each connection's open),
   "probes": [{"ok", "ms", "at"}] ("at": seconds after the last slowloris connection opened),
   "honest": {"ok", "ms"}}

    slowloris.py ADDR [--port 80] [--source ADDR] [--conns 300] [--interval 0.25] [--seconds 5]
"""

import argparse
import errno
import json
import select
import socket
import threading
import time

HEAD = b"GET / HTTP/1.1\r\nHost: tempo\r\nX-Slow: "
REQUEST = b"GET / HTTP/1.1\r\nHost: tempo\r\n\r\n"


def read_response(s, deadline):
    """One HTTP/1.1 response with a Content-Length, or None."""
    data = b""
    while time.time() < deadline:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            length = 0
            for line in data[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(data) >= end + 4 + length:
                return data[:end + 4 + length]
        s.settimeout(max(0.01, deadline - time.time()))
        chunk = s.recv(65536)
        if not chunk:
            return None
        data += chunk
    return None


def probe(addr, port, parts, gap):
    """A new connection, one request sent in `parts` pieces `gap` s apart: (ok, ms)."""
    t0 = time.time()
    try:
        s = socket.create_connection((addr, port), timeout=5)
        step = -(-len(REQUEST) // parts)
        for i in range(0, len(REQUEST), step):
            if i:
                time.sleep(gap)
            s.sendall(REQUEST[i:i + step])
        resp = read_response(s, t0 + 5)
        s.close()
        ok = resp is not None and resp.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    return ok, round((time.time() - t0) * 1000, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--source", default="", help="local address of the slowloris connections")
    ap.add_argument("--conns", type=int, default=300)
    ap.add_argument("--interval", type=float, default=0.25)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--probe-every", type=float, default=0.5)
    ap.add_argument("--honest-ms", type=float, default=600)
    a = ap.parse_args()

    opened = {}  # socket -> time opened
    closed = {}  # socket -> seconds from open to the server's close
    open_failed = 0
    for _ in range(a.conns):
        try:
            s = socket.create_connection((a.addr, a.port), timeout=5,
                                         source_address=(a.source, 0))
            s.sendall(HEAD)
        except OSError:  # the server's connection table is full: stop trying
            open_failed += 1
            if open_failed == 3:
                break
            continue
        s.setblocking(False)
        opened[s] = time.time()
    begin = time.time()
    probes = []
    honest = {}
    stop = threading.Event()

    def prober():  # in a thread, so the slowloris loop times the closes undisturbed
        ok, ms = probe(a.addr, a.port, 1, 0)
        probes.append({"ok": ok, "ms": ms, "at": round(time.time() - begin, 3)})
        ok, ms = probe(a.addr, a.port, 3, a.honest_ms / 2000)
        honest.update(ok=ok, ms=ms)
        while not stop.wait(a.probe_every):
            ok, ms = probe(a.addr, a.port, 1, 0)
            probes.append({"ok": ok, "ms": ms, "at": round(time.time() - begin, 3)})

    thread = threading.Thread(target=prober)
    thread.start()
    next_byte = begin + a.interval
    poller = select.poll()  # not select(): thousands of descriptors
    by_fd = {}
    for s in opened:
        poller.register(s, select.POLLIN)
        by_fd[s.fileno()] = s
    while time.time() < begin + a.seconds:
        live = [s for s in opened if s not in closed]
        for fd, _ in poller.poll(20):
            s = by_fd[fd]
            try:
                gone = s.recv(4096) == b""
            except OSError as e:
                gone = e.errno in (errno.ECONNRESET, errno.EPIPE)
            if gone:
                closed[s] = time.time() - opened[s]
                poller.unregister(s)
        now = time.time()
        if now >= next_byte:
            next_byte = now + a.interval
            for s in live:
                if s in closed:
                    continue
                try:
                    s.send(b"x")  # one more byte of the same header line
                except OSError:
                    closed[s] = time.time() - opened[s]
                    poller.unregister(s)
    stop.set()
    thread.join()
    times = sorted(closed.values())
    print(json.dumps({
        "opened": len(opened),
        "open_failed": open_failed,
        "closed": len(closed),
        "close_after_s": [round(times[0], 3), round(times[-1], 3)] if times else [],
        "probes": probes,
        "honest": honest,
    }), flush=True)
    for s in opened:
        s.close()


if __name__ == "__main__":
    main()
