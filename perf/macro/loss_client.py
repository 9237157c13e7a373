#!/usr/bin/env python3
"""The kernel side's client in perf/macro/loss.py: short HTTP/1.1 connections over the kernel's
TCP, counted as tempo-loadgen counts them (mode short, close_first client), so that the two
sides' completion times mean the same thing.

  loss_client.py ADDR PORT --seconds S --concurrency C [--rate R] [--timeout-ms T]

Up to C connections in flight, at most R started a second when R > 0 (tempo-loadgen's budget:
R x elapsed + 1). Each: connect, one keep-alive GET, the response head and its Content-Length
of body, then the client closes first (shutdown, then the server's FIN: the close is done, as
tempo-loadgen's connection is done when it reaches TIME_WAIT). A connection's completion time
runs from just before connect() to its last body byte. Nothing starts after S seconds, and what
is in flight then is waited for, as tempo-loadgen does (kernel-peer short ends its run at S and
leaves it out: under loss, the slowest connections are the ones still open then). A connection
whose response is not whole T ms (default 10000, tempo-loadgen's timeout_ms) after it started,
or whose close is not done T ms after its response, is reset and counted failed.

Prints one JSON line: started, completed (closed after a whole response), failed, errors by
kind, elapsed_s (start to the last connection done), conn_per_s (completed), bytes_received
(bodies), mbytes_per_s, latency_us {samples, p50, p90, p99, p999, max} (every whole response;
the ceil(q x n)-th smallest, tempo-loadgen's rule, exact rather than bucketed).
"""

import argparse
import json
import math
import select
import socket
import struct
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: loss\r\nUser-Agent: loss_client\r\n\r\n"


class Conn:
    __slots__ = ("sock", "t0", "deadline", "sent", "head", "body_left", "closing")

    def __init__(self, sock, t0, deadline):
        self.sock, self.t0, self.deadline = sock, t0, deadline
        self.sent, self.head, self.body_left, self.closing = False, b"", None, False


def quantile(sorted_us, q):
    if not sorted_us:
        return 0
    return sorted_us[max(math.ceil(q * len(sorted_us)), 1) - 1]


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise ValueError(f"no Content-Length in {head[:200]!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--timeout-ms", type=int, default=10000)
    a = ap.parse_args()

    ep = select.epoll()
    conns = {}  # fd -> Conn
    lat_us, started, completed, body_bytes = [], 0, 0, 0
    errors = {"connect": 0, "reset": 0, "closed_early": 0, "request_timeout": 0,
              "close_timeout": 0}
    buf = bytearray(1 << 18)
    view = memoryview(buf)
    begin = time.perf_counter_ns()
    end_start = begin + int(a.seconds * 1e9)
    timeout_ns = a.timeout_ms * 1_000_000
    last_done = begin
    next_scan = begin

    def finish(fd, error, now):
        """The connection is done: closed (error None) or failed (error: its kind)."""
        nonlocal completed, last_done
        c = conns.pop(fd)
        ep.unregister(fd)
        last_done = now
        if error is None:
            completed += 1
        else:
            errors[error] += 1
            # Reset rather than close: what tempo-loadgen does to a connection it gives up.
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sock.close()

    while True:
        now = time.perf_counter_ns()
        starting = now < end_start
        if not starting and not conns:
            break
        while starting and len(conns) < a.concurrency and (
                a.rate <= 0 or started < a.rate * (now - begin) / 1e9 + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t0 = time.perf_counter_ns()
            started += 1
            err = s.connect_ex((a.addr, a.port))
            if err not in (0, 115):  # EINPROGRESS
                errors["connect"] += 1
                s.close()
                break
            conns[s.fileno()] = Conn(s, t0, t0 + timeout_ns)
            ep.register(s.fileno(), select.EPOLLOUT | select.EPOLLIN)
        wait = 0.001 if starting and (a.rate > 0 or len(conns) < a.concurrency) else 0.1
        for fd, events in ep.poll(wait):
            c = conns.get(fd)
            if c is None:
                continue
            now = time.perf_counter_ns()
            if not c.sent:
                if events & (select.EPOLLERR | select.EPOLLHUP):
                    finish(fd, "reset", now)
                    continue
                if events & select.EPOLLOUT:
                    try:
                        c.sock.send(REQUEST)
                    except OSError:
                        finish(fd, "reset", now)
                        continue
                    c.sent = True
                    ep.modify(fd, select.EPOLLIN)
                continue
            try:
                n = c.sock.recv_into(buf)
            except BlockingIOError:
                continue
            except OSError:
                finish(fd, "reset", now)
                continue
            if c.closing:  # the server's FIN ends the close; anything else is an error
                finish(fd, None if n == 0 else "closed_early", now)
                continue
            if n == 0:
                finish(fd, "closed_early", now)  # closed before the response was whole
                continue
            got = view[:n]
            if c.body_left is None:
                c.head += bytes(got)
                at = c.head.find(b"\r\n\r\n")
                if at < 0:
                    continue
                c.body_left = content_length(c.head[:at])
                got = c.head[at + 4:]
            body_bytes += len(got)
            c.body_left -= len(got)
            if c.body_left < 0:
                raise ValueError("a response longer than its Content-Length")
            if c.body_left == 0:
                lat_us.append((now - c.t0) // 1000)
                c.closing, c.deadline = True, now + timeout_ns
                c.sock.shutdown(socket.SHUT_WR)  # the client closes first
        now = time.perf_counter_ns()
        if now >= next_scan:
            next_scan = now + 100_000_000
            for fd in [fd for fd, c in conns.items() if now > c.deadline]:
                finish(fd, "close_timeout" if conns[fd].closing else "request_timeout", now)
    secs = max(last_done - begin, 1) / 1e9
    lat_us.sort()
    print(json.dumps({
        "started": started, "completed": completed, "failed": sum(errors.values()),
        "errors": errors, "elapsed_s": round(secs, 3), "conn_per_s": round(completed / secs, 1),
        "bytes_received": body_bytes, "mbytes_per_s": round(body_bytes / secs / 1e6, 2),
        "latency_us": {"samples": len(lat_us), "p50": quantile(lat_us, 0.5),
                       "p90": quantile(lat_us, 0.9), "p99": quantile(lat_us, 0.99),
                       "p999": quantile(lat_us, 0.999), "max": lat_us[-1] if lat_us else 0}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
