#!/usr/bin/env python3
"""Writes the seed corpus of worker_fuzz (tests/fuzz/stack/corpus/): a few conversations in
its record format (worker_fuzz.cc), so that the fuzzer starts from established connections,
data both ways, FINs, TIME_WAIT, SYN cookies, an active open and a parked reply rather than
from nothing. Run from anywhere: python3 tests/fuzz/stack/make_corpus.py"""
import os
import struct

SEGMENT, RAW, ARP, POLL, DRAIN, APP, CONNECT = range(7)
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
# Header bits (worker_fuzz.cc kCfg*, kApp*).
COOKIES_ALWAYS, SMALL_BUFFERS = 0x10, 0x20
ECHO_COPY, CLOSE_ON_FIN, SHUT_ON_FIN, BULK = 0x01, 0x04, 0x08, 0x10
# Tempo port choice in a segment's flow byte.
TO_80, TO_LEARNED, TO_443 = 0, 1, 2


def header(cfg=0, app=0):
    return bytes([cfg, app])


def seg(flags, peer=0, pport=0, to=TO_80, seq=None, ack=0, win=None, mss=None, wscale=None,
        sack_ok=False, ts=None, sack=(), length=0, ahead=0):
    """seq None: the peer's next (plus `ahead`, < 128); an int: absolute. ack: a delta from
    tempo's next.
    ts: the TSval increment (TSecr echoes tempo's last). length: bytes of payload (< 256, or a
    multiple of 8 up to 1460)."""
    out = bytes([SEGMENT, peer | pport << 2 | to << 5, flags])
    modes = 0
    body = b''
    if seq is None:
        body += struct.pack('<b', ahead)
    else:
        modes |= 2
        body += struct.pack('<I', seq)
    if ack == 0:
        modes |= 3 << 2
    else:
        body += struct.pack('<b', ack)
    if win is not None:
        modes |= 0x10
        body += struct.pack('<H', win)
    ob = 0
    opts = b''
    if mss is not None:
        ob |= 1
        opts += struct.pack('<H', mss)
    if wscale is not None:
        ob |= 2
        opts += bytes([wscale])
    if sack_ok:
        ob |= 4
    if ts is not None:
        ob |= 8
        opts += bytes([ts])
    if sack:
        ob |= 0x10
        opts += bytes([len(sack) - 1])
        for below, size in sack:
            opts += struct.pack('<HH', below, size)
    if length >= 256:
        modes |= 0x20
        n = bytes([length // 8])
    else:
        n = bytes([length])
    return out + bytes([modes]) + body + bytes([ob]) + opts + n


def poll(us=0, ms=None, sec=None):
    if sec is not None:
        v = sec | 3 << 14
    elif ms is not None:
        v = ms | 1 << 14
    else:
        v = us
    return bytes([POLL]) + struct.pack('<H', v)


def drain(n=0):
    return bytes([DRAIN, n])


def arp(peer, reply=False):
    return bytes([ARP, peer | (0x80 if reply else 0)])


def app(action, conn=0, arg=None):
    out = bytes([APP, action | conn << 3])
    if arg is not None:
        out += struct.pack('<H', arg)
    return out


def connect(peer, pport):
    return bytes([CONNECT, peer | pport << 2])


def handshake(peer=0, pport=0, to=TO_80, ts=True, **kw):
    opts = dict(mss=1460, wscale=7, sack_ok=True, ts=1) if ts else dict(mss=1460)
    return (seg(SYN, peer, pport, to, seq=1000 + 100 * pport, **opts, **kw) + poll() + drain() +
            seg(ACK, peer, pport, TO_LEARNED, ts=1 if ts else None) + poll())


def step(us=100):
    return poll(us) + drain()


seeds = {}
# A passive open, data both ways (echoed), the peer's FIN, the application's close, TIME_WAIT
# and its expiry.
seeds['echo_fin_timewait'] = (
    header(app=CLOSE_ON_FIN) + handshake() +
    seg(PSH | ACK, to=TO_LEARNED, ts=1, length=100) + step() +
    seg(ACK, to=TO_LEARNED, ts=1, length=1448) + poll(ms=50) + drain() +
    seg(ACK, to=TO_LEARNED, ts=1) + step() +
    seg(FIN | ACK, to=TO_LEARNED, ts=1) + step() +
    seg(ACK, to=TO_LEARNED, ts=1) + step() + poll(sec=61) + drain())
# The same by copy, without timestamps or window scaling, small buffers.
seeds['echo_copy_small'] = (
    header(cfg=0x01 | 0x02 | SMALL_BUFFERS, app=ECHO_COPY | SHUT_ON_FIN) +
    handshake(ts=False) +
    seg(PSH | ACK, to=TO_LEARNED, length=1000) + step() +
    seg(PSH | ACK, to=TO_LEARNED, length=1000) + step() +
    seg(ACK, to=TO_LEARNED, length=1456) + step() +
    seg(FIN | ACK, to=TO_LEARNED) + step() + seg(ACK, to=TO_LEARNED) + step())
# Bulk sender on the CUBIC listener: TSO frames, partial drains (a full TX ring), ACKs with
# SACK blocks, a zero window, then a retransmission timeout.
bulk = header(app=BULK) + handshake(to=TO_443)
for _ in range(4):
    bulk += poll(10) + drain(16) + seg(ACK, to=TO_LEARNED, ts=1, sack=[(2896, 1448)]) + poll(10)
bulk += drain() + seg(ACK, to=TO_LEARNED, ts=1, win=0) + step() + poll(ms=300) + drain()
bulk += seg(ACK, to=TO_LEARNED, ts=1) + step() + poll(sec=2) + drain() + app(4)
seeds['bulk_tso_sack'] = bulk
# SYN cookies always: the handshake completes from the cookie; data; the application resets.
seeds['syncookie_always'] = (
    header(cfg=COOKIES_ALWAYS) + handshake(pport=1) +
    seg(PSH | ACK, pport=1, to=TO_LEARNED, ts=1, length=20) + step() + app(4))
# SYN flood past the backlog (kAuto): cookies, the TX ring full, SYN,ACK retransmissions.
flood = header()
for p in range(8):
    flood += seg(SYN, peer=p % 2, pport=p, seq=5000 + p, mss=1460, ts=1)
flood += poll() + poll(ms=1100) + drain(8) + poll(sec=3) + drain()
for p in range(8):
    flood += seg(ACK, peer=p % 2, pport=p, to=TO_LEARNED, ts=1)
flood += step()
seeds['syn_flood_cookies'] = flood
# An active open to a peer (SYN,ACK, data, RST).
seeds['active_open'] = (
    header() + connect(0, 3) + step() +
    seg(SYN | ACK, pport=3, to=TO_LEARNED, seq=7000, mss=1400, wscale=2, sack_ok=True, ts=1) +
    step() + seg(PSH | ACK, pport=3, to=TO_LEARNED, ts=1, length=64) + step() +
    seg(RST | ACK, pport=3, to=TO_LEARNED, ts=1) + step())
# A peer tempo has no ARP entry for: its SYN,ACK is parked until the ARP reply.
seeds['parked_until_arp'] = (
    header() + seg(SYN, peer=2, pport=4, seq=9000, mss=1460, ts=1) + step() + arp(2, True) +
    step() + seg(ACK, peer=2, pport=4, to=TO_LEARNED, ts=1) + step() +
    seg(PSH | ACK, peer=2, pport=4, to=TO_LEARNED, ts=1, length=200) + step())
# Out of order data, a duplicate and an old ACK.
seeds['out_of_order'] = (
    header() + handshake(pport=5) +
    seg(PSH | ACK, pport=5, to=TO_LEARNED, ts=1, length=100, ahead=100) + step() +
    seg(PSH | ACK, pport=5, to=TO_LEARNED, ts=1, length=100) + step() +
    seg(PSH | ACK, pport=5, to=TO_LEARNED, ts=1, length=100) + step() + app(2))
# What the fuzzer found, kept as seeds so that every run replays them first. Out-of-order data
# (so tempo's segments carry a SACK block beside the timestamps), then the application sends
# full segments: was a 1512-byte IPv4 packet on a 1500 MTU (the SACK block not taken from the
# segment's payload; tcp::detail::payload_room now takes it).
repros = {}
repros['sack_blocks_full_segments'] = (
    header() + handshake(pport=6) +
    seg(PSH | ACK, pport=6, to=TO_LEARNED, ts=1, length=10, ahead=100) + step() +
    app(0, arg=3000) + step())
# No RX pool sampling (Interface::rx_pool null, as the conformance RingWorker has it): a small
# segment on a connection holding out-of-order data is packed (pack_payload), which allocates
# from the null rx_pool (it now falls back to the port's one pool).
NO_RX_POOL = 0x40
repros['pack_payload_null_rx_pool'] = (
    header(cfg=NO_RX_POOL) + handshake(pport=6) +
    seg(PSH | ACK, pport=6, to=TO_LEARNED, ts=1, length=10, ahead=100) + step() +
    seg(PSH | ACK, pport=6, to=TO_LEARNED, ts=1, length=10) + step())
# A SYN whose options end with SACK-permitted (MSS, NOP, NOP, SACK-permitted): failed under
# _GLIBCXX_ASSERTIONS, parse_tcp_options taking &options[i + 2] one past the end.
repros['syn_options_end_sack_permitted'] = header() + seg(SYN, seq=1000, mss=1460,
                                                          sack_ok=True) + poll()
# Frames that are not TCP, or not well-formed.
seeds['raw_frames'] = (
    header() + bytes([RAW, 1 | 40 << 1]) + bytes(
        [0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2] +
        [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]) +
    bytes([RAW, 0x80 | 1 | 20 << 1]) + bytes(range(40)) + step() + arp(3) + step())

# Kept as found (not generated here): mss_option_zero, a SYN with an MSS option of 0 on a
# timestamps connection (the send MSS wrapped to 65,524; transition.h now clamps it).
here = os.path.dirname(os.path.abspath(__file__))
for sub, files in (('corpus', seeds), ('corpus', repros)):
    os.makedirs(os.path.join(here, sub), exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(here, sub, name), 'wb') as f:
            f.write(data)
