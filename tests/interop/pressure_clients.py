#!/usr/bin/python3
"""Kernel-side clients for the issue 19 pressure cases (test_pressure.py, pressure_full.py),
run inside the test namespace. Each subcommand prints one JSON line (nonreaders: two).

  idle ADDR      opens --count connections one after another (each given --connect-wait s to
                 complete, then left pending), waits --settle s for the pending ones, closes the
                 first --close-first, then sends a short message on every remaining connection
                 and counts the exact echoes within --echo-timeout s (tempo-echo).
  nonreaders ADDR
                 opens --count connections with a small SO_RCVBUF, sends each one HTTP request
                 and never reads; prints {"opened"} once all are open, holds them until its
                 stdin closes, then prints what they hold (bytes queued, connections reset).
  fetch ADDR     --count fresh clients one after another, each a new connection fetching one
                 response within --timeout s: bytes and seconds each got (tempo-httpd).
  flood ADDR --iface IF
                 one live connection to ADDR:--port (tempo-echo), then --segments segments of
                 each --kinds phase with random sequence and acknowledgment numbers on its
                 4-tuple, sent from a raw socket (IPPROTO_RAW, so the kernel, which owns the
                 tuple, never answers them), at --pps; the answers coming back on IF are counted
                 (AF_PACKET), and the live connection must still echo exact bytes after.
  flood --kernel the same against a Linux listener on 127.0.0.1 (loopback), for comparison.
"""

import argparse
import errno
import fcntl
import hashlib
import json
import os
import random
import resource
import select
import socket
import struct
import sys
import termios
import threading
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: tempo\r\n\r\n"


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n), max(hard, n)))


def emit(obj):
    print(json.dumps(obj), flush=True)


# ---------------------------------------------------------------------------------------------
# idle: a connection table filled one connection after another


def cmd_idle(a):
    raise_nofile(a.count + 256)
    conns = []  # dicts: i, sock, state (ok | pending | failed), ms
    t_open = time.time()
    for i in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        t0 = time.time()
        err = s.connect_ex((a.addr, a.port))
        c = {"i": i, "sock": s, "state": "pending", "ms": None, "error": ""}
        if err == 0:
            c["state"] = "ok"
        elif err != errno.EINPROGRESS:
            c["state"], c["error"] = "failed", errno.errorcode.get(err, str(err))
        else:
            p = select.poll()
            p.register(s, select.POLLOUT)
            if p.poll(a.connect_wait * 1000):
                e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if e == 0:
                    c["state"] = "ok"
                else:
                    c["state"], c["error"] = "failed", errno.errorcode.get(e, str(e))
        if c["state"] == "ok":
            c["ms"] = (time.time() - t0) * 1000
        conns.append(c)
    open_seconds = time.time() - t_open
    at_once = sum(1 for c in conns if c["state"] == "ok")

    def settle_pending(timeout):
        """Waits up to `timeout` s for pending connects; returns how many completed."""
        done = 0
        deadline = time.time() + timeout
        while time.time() < deadline:
            pending = [c for c in conns if c["state"] == "pending"]
            if not pending:
                break
            p = select.poll()
            by_fd = {}
            for c in pending:
                p.register(c["sock"], select.POLLOUT)
                by_fd[c["sock"].fileno()] = c
            for fd, _ in p.poll(min(200, max(1, (deadline - time.time()) * 1000))):
                c = by_fd[fd]
                e = c["sock"].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if e == 0:
                    c["state"] = "ok"
                    done += 1
                else:
                    c["state"], c["error"] = "failed", errno.errorcode.get(e, str(e))
        return done

    late = settle_pending(a.settle)
    connected = sum(1 for c in conns if c["state"] == "ok")
    pending_before_free = sum(1 for c in conns if c["state"] == "pending")
    failed_connect = sum(1 for c in conns if c["state"] == "failed")

    # Free slots: close the first --close-first connected ones (the kernel closes first, tempo
    # answers the FIN and frees the slot).
    closed = 0
    for c in conns:
        if closed >= a.close_first:
            break
        if c["state"] == "ok":
            c["sock"].close()
            c["state"] = "closed"
            closed += 1
    time.sleep(a.after_close)

    # Echo on every connection still open, and on the pending ones that complete meanwhile.
    live = [c for c in conns if c["state"] in ("ok", "pending")]
    for c in live:
        c["msg"] = b"echo %07d\n" % c["i"]
        c["got"] = b""
        c["sent"] = False
        c["echoed"] = False
    late_after_free = 0
    deadline = time.time() + a.echo_timeout
    while time.time() < deadline:
        todo = [c for c in live if not c["echoed"] and c["state"] in ("ok", "pending")]
        if not todo:
            break
        p = select.poll()
        by_fd = {}
        for c in todo:
            if c["state"] == "ok" and not c["sent"]:
                try:
                    c["sock"].send(c["msg"])
                    c["sent"] = True
                except BlockingIOError:
                    pass
                except OSError as e:
                    c["state"], c["error"] = "failed", e.__class__.__name__
                    continue
            ev = select.POLLOUT if c["state"] == "pending" else select.POLLIN
            p.register(c["sock"], ev)
            by_fd[c["sock"].fileno()] = c
        for fd, ev in p.poll(100):
            c = by_fd[fd]
            s = c["sock"]
            if c["state"] == "pending":
                e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if e == 0:
                    c["state"] = "ok"
                    late_after_free += 1
                else:
                    c["state"], c["error"] = "failed", errno.errorcode.get(e, str(e))
                continue
            try:
                b = s.recv(64)
            except BlockingIOError:
                continue
            except OSError as e:
                c["state"], c["error"] = "failed", e.__class__.__name__
                continue
            if not b:
                c["state"], c["error"] = "failed", "eof"
                continue
            c["got"] += b
            if c["got"] == c["msg"]:
                c["echoed"] = True
    tried = [c for c in live if c["sent"]]
    ok = [c for c in live if c["echoed"]]
    failed_idx = [c["i"] for c in live if not c["echoed"]]
    errors = {}
    for c in conns:
        if c["error"]:
            errors[c["error"]] = errors.get(c["error"], 0) + 1
    last = conns[-1]
    ms = sorted(c["ms"] for c in conns if c["ms"] is not None)
    emit({
        "count": a.count,
        "open_seconds": round(open_seconds, 2),
        "connected_at_once": at_once,
        "connected_late": late,
        "connected": connected,
        "pending": pending_before_free,
        "failed": failed_connect,
        "connect_ms_max": round(ms[-1], 1) if ms else None,
        "closed_first": closed,
        "connected_after_free": late_after_free,
        "echo_tried": len(tried),
        "echo_ok": len(ok),
        "echo_failed_first": failed_idx[:10],
        "last_opened_echoed": bool(last.get("echoed")),
        "errors": errors,
    })
    for c in conns:
        if c["state"] != "closed":
            c["sock"].close()
    return 0


# ---------------------------------------------------------------------------------------------
# nonreaders: clients that ask for a large response and never read it


def cmd_nonreaders(a):
    raise_nofile(a.count + 256)
    socks = []
    failed = 0
    errors = set()
    t0 = time.time()
    for _ in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        s.settimeout(5)
        try:
            s.connect((a.addr, a.port))
            s.sendall(REQUEST)
        except OSError as e:
            failed += 1
            errors.add(str(e))
            s.close()
            continue
        socks.append(s)
    emit({"opened": len(socks), "failed": failed, "seconds": round(time.time() - t0, 2),
          "errors": sorted(errors)[:3]})
    # Hold until the parent closes our stdin (or --hold seconds).
    select.select([sys.stdin], [], [], a.hold)
    queued = 0
    reset = 0
    for s in socks:
        try:
            s.setblocking(False)
            s.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            pass
        except OSError:
            reset += 1
            continue
        n = fcntl.ioctl(s, termios.FIONREAD, b"\0\0\0\0")
        queued += struct.unpack("i", n)[0]
    emit({"held": len(socks), "reset": reset, "bytes_queued": queued})
    for s in socks:
        s.close()
    return 0


# ---------------------------------------------------------------------------------------------
# fetch: fresh clients, one after another


def fetch_one(addr, port, timeout):
    t0 = time.time()
    deadline = t0 + timeout
    got = 0
    want = None
    first = None
    error = ""
    data = b""
    try:
        s = socket.create_connection((addr, port), timeout=timeout)
        s.sendall(REQUEST)
        while time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = s.recv(1 << 16)
            except socket.timeout:
                break
            if not chunk:
                error = "eof"
                break
            if first is None:
                first = time.time() - t0
            got += len(chunk)
            if want is None:
                data += chunk
                end = data.find(b"\r\n\r\n")
                if end >= 0:
                    length = 0
                    for line in data[:end].split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    want = end + 4 + length
                    data = b""
            if want is not None and got >= want:
                break
        s.close()
    except OSError as e:
        error = e.__class__.__name__
    return {"bytes": got, "want": want, "complete": want is not None and got >= want,
            "seconds": round(time.time() - t0, 3),
            "first_byte_s": round(first, 3) if first is not None else None, "error": error}


def cmd_fetch(a):
    fetches = []
    for _ in range(a.count):
        fetches.append(fetch_one(a.addr, a.port, a.timeout))
    emit({"fetches": fetches})
    return 0


# ---------------------------------------------------------------------------------------------
# flood: random-sequence segments on a live connection's 4-tuple

SYN, RST, PSH, ACK = 0x02, 0x04, 0x08, 0x10


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def segment(src, sport, dst, dport, seq, ack, flags, payload=b"", win=65535):
    """An IPv4 packet carrying one TCP segment with no options, checksums filled in."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, win, 0, 0) + payload
    pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    total = 20 + len(tcp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.getrandbits(16), 0, 64,
                     socket.IPPROTO_TCP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def flood_segments(kind, n, src, sport, dst, dport, rng):
    """`n` segments of `kind` (syn | ack | rst | data | mix) with random SEQ and ACK. `mix`
    cycles SYN, RST, then a bare ACK or 32 bytes of data with ACK in turn: a third SYNs."""
    out = []
    kinds = {"syn": 0, "rst": 0, "ack": 0, "data": 0}
    for i in range(n):
        k = kind
        if kind == "mix":
            k = ("syn", "rst", "ack" if (i // 3) % 2 == 0 else "data")[i % 3]
        kinds[k] += 1
        seq, ack = rng.getrandbits(32), rng.getrandbits(32)
        if k == "syn":
            pkt = segment(src, sport, dst, dport, seq, 0, SYN)
        elif k == "rst":
            pkt = segment(src, sport, dst, dport, seq, 0, RST)
        elif k == "ack":
            pkt = segment(src, sport, dst, dport, seq, ack, ACK)
        else:
            pkt = segment(src, sport, dst, dport, seq, ack, ACK | PSH, rng.randbytes(32))
        out.append(pkt)
    return out, kinds


class Sniffer:
    """Counts, on one interface, the TCP segments arriving from `peer` to `local` (the answers
    to the flood) by their flags, and the flood's own segments leaving."""

    def __init__(self, iface, local, peer):
        self.local, self.peer = local, peer
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        with_force = getattr(socket, "SO_RCVBUFFORCE", 33)
        self.sock.setsockopt(socket.SOL_SOCKET, with_force, 64 << 20)
        self.sock.bind((iface, 0))
        self.sock.settimeout(0.1)
        self.lock = threading.Lock()
        self.counts = {"ack": 0, "data": 0, "rst": 0, "other": 0, "out": 0}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        lip, lport = socket.inet_aton(self.local[0]), self.local[1]
        pip, pport = socket.inet_aton(self.peer[0]), self.peer[1]
        while not self.stop.is_set():
            try:
                frame, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if len(frame) < 14 + 40 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            if ip[9] != socket.IPPROTO_TCP:
                continue
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            src, dst = ip[12:16], ip[16:20]
            tcp = ip[ihl:]
            sport, dport = struct.unpack("!HH", tcp[:4])
            flags = tcp[13]
            payload = total - ihl - (tcp[12] >> 4) * 4
            pkttype = addr[2]
            four = (src, sport, dst, dport)
            with self.lock:
                if pkttype == socket.PACKET_HOST and four == (pip, pport, lip, lport):
                    if flags & RST:
                        self.counts["rst"] += 1
                    elif flags & (SYN | 0x01):
                        self.counts["other"] += 1
                    elif payload > 0:
                        self.counts["data"] += 1
                    elif flags & ACK:
                        self.counts["ack"] += 1
                    else:
                        self.counts["other"] += 1
                elif pkttype == socket.PACKET_OUTGOING and four == (lip, lport, pip, pport):
                    self.counts["out"] += 1

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def echo_exact(sock, size, timeout):
    payload = os.urandom(size)
    sock.settimeout(timeout)
    try:
        sock.sendall(payload)
        got = b""
        while len(got) < size:
            b = sock.recv(size - len(got))
            if not b:
                return False, "eof"
            got += b
    except OSError as e:
        return False, e.__class__.__name__
    ok = hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    return ok, "" if ok else "bytes differ"


def kernel_echo_server():
    """A Linux listener on 127.0.0.1 echoing one connection, in a thread: its address."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)

    def serve():
        c, _ = ls.accept()
        while True:
            try:
                b = c.recv(1 << 16)
            except OSError:
                break
            if not b:
                break
            c.sendall(b)
        c.close()
        ls.close()

    threading.Thread(target=serve, daemon=True).start()
    return ls.getsockname()


def cmd_flood(a):
    if a.kernel:
        addr, port = kernel_echo_server()
        iface = "lo"
    else:
        addr, port, iface = a.addr, a.port, a.iface
    live = socket.create_connection((addr, port), timeout=10)
    ok, why = echo_exact(live, 1000, 10)
    if not ok:
        emit({"error": f"live connection does not echo before the flood: {why}"})
        return 1
    local, peer = live.getsockname(), live.getpeername()
    sniff = Sniffer(iface, local, peer)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    rng = random.Random(a.seed)
    phases = []
    time.sleep(0.3)
    try:
        for kind in a.kinds.split(","):
            pkts, sent = flood_segments(kind, a.segments, local[0], local[1], peer[0], peer[1], rng)
            before = sniff.snapshot()
            t0 = time.time()
            for i, pkt in enumerate(pkts):
                raw.sendto(pkt, (peer[0], 0))
                if a.pps and i % 50 == 49:
                    ahead = t0 + (i + 1) / a.pps - time.time()
                    if ahead > 0:
                        time.sleep(ahead)
            seconds = time.time() - t0
            time.sleep(a.gap)  # answers still in flight; the budgets' windows pass
            after = sniff.snapshot()
            d = {k: after[k] - before[k] for k in after}
            phases.append({"kind": kind, "sent": len(pkts), "syns": sent["syn"],
                           "sent_by_kind": sent,
                           "seconds": round(seconds, 3), "seen_out": d.pop("out"),
                           "answers": sum(d.values()), "by_kind": d,
                           "answers_per_s": round(sum(d.values()) / max(seconds, 1e-3), 1)})
    finally:
        raw.close()
        sniff.close()
    ok, why = echo_exact(live, a.echo_bytes, 15)
    live.close()
    emit({"target": "linux" if a.kernel else "tempo", "tuple": [list(local), list(peer)],
          "phases": phases, "echo_after": ok, "echo_error": why})
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("idle")
    p.add_argument("addr")
    p.add_argument("--port", type=int, default=7)
    p.add_argument("--count", type=int, default=1100)
    p.add_argument("--connect-wait", type=float, default=0.3)
    p.add_argument("--settle", type=float, default=3)
    p.add_argument("--close-first", type=int, default=100)
    p.add_argument("--after-close", type=float, default=1)
    p.add_argument("--echo-timeout", type=float, default=10)
    p = sub.add_parser("nonreaders")
    p.add_argument("addr")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--rcvbuf", type=int, default=4096)
    p.add_argument("--hold", type=float, default=600)
    p = sub.add_parser("fetch")
    p.add_argument("addr")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--timeout", type=float, default=10)
    p = sub.add_parser("flood")
    p.add_argument("addr", nargs="?", default="")
    p.add_argument("--port", type=int, default=7)
    p.add_argument("--iface", default="")
    p.add_argument("--kernel", action="store_true", help="flood a Linux listener on loopback")
    p.add_argument("--segments", type=int, default=20000, help="per phase")
    p.add_argument("--kinds", default="mix", help="phases: mix, syn, ack, rst, data")
    p.add_argument("--pps", type=float, default=15000, help="0: as fast as possible")
    p.add_argument("--gap", type=float, default=1.5, help="seconds after each phase")
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--echo-bytes", type=int, default=65536)
    a = ap.parse_args()
    return {"idle": cmd_idle, "nonreaders": cmd_nonreaders, "fetch": cmd_fetch,
            "flood": cmd_flood}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
