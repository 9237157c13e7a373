#!/usr/bin/env python3
"""Generates tests/unit/wire/packets.h and tests/fuzz/wire/corpus/*: literal frames for the wire
tests, built here with Python's struct and an independent RFC 1071 checksum so that the C++
code under test is checked against bytes it did not produce. Layouts follow what Linux 6.x puts
on the wire (its SYN option order, DF set, TTL 64).

Run from the repository root: python3 tests/unit/wire/gen_packets.py
"""
import ipaddress
import os
import shutil
import struct
import subprocess


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def v4(s):
    return ipaddress.IPv4Address(s).packed


def v6(s):
    return ipaddress.IPv6Address(s).packed


MAC_A = mac("02:00:00:00:00:01")
MAC_B = mac("52:54:00:12:34:56")
IP_A, IP_B = v4("198.18.0.1"), v4("198.18.0.2")
IP6_A, IP6_B = v6("2001:db8::1"), v6("2001:db8::2")


def eth(dst, src, etype, vlan=None):
    if vlan is not None:
        return dst + src + struct.pack("!HHH", 0x8100, vlan, etype)
    return dst + src + struct.pack("!H", etype)


def ipv4(src, dst, proto, payload, ident=0x1C46, ttl=64, flags_frag=0x4000, options=b""):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident, flags_frag,
                      ttl, proto, 0, src, dst) + options
    c = csum(hdr)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, hlim, src, dst) + payload


def tcp(sport, dport, seq, ack, flags, win, options=b"", payload=b"", phdr=None):
    assert len(options) % 4 == 0
    doff = 5 + len(options) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0) + options
    seg = hdr + payload
    c = csum(phdr(len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ph4(src, dst, proto):
    return lambda n: src + dst + struct.pack("!BBH", 0, proto, n)


def ph6(src, dst, nh):
    return lambda n: src + dst + struct.pack("!I3xB", n, nh)


def icmp(typ, code, rest, data):
    m = struct.pack("!BBHI", typ, code, 0, rest) + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp6(src, dst, body):
    m = body[:2] + b"\0\0" + body[4:]
    c = csum(ph6(src, dst, 58)(len(m)) + m)
    return m[:2] + struct.pack("!H", c) + m[4:]


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
# Linux SYN: MSS 1460, SACK-permitted packed before timestamps, NOP, window scale 7.
SYN_OPTS = bytes.fromhex("020405b4" "0402080a") + struct.pack("!II", 123456, 0) + bytes.fromhex("01030307")
SYNACK_OPTS = bytes.fromhex("020405a0" "0402080a") + struct.pack("!II", 987654, 123456) + bytes.fromhex("01030307")
ACK_TS_OPTS = bytes.fromhex("0101080a") + struct.pack("!II", 123457, 987654)

packets = {}

packets["kEthIpv4TcpSyn"] = eth(MAC_B, MAC_A, 0x0800) + ipv4(
    IP_A, IP_B, 6, tcp(40000, 80, 0x12345678, 0, SYN, 64240, SYN_OPTS, phdr=ph4(IP_A, IP_B, 6)))

payload = b"hello"
packets["kEthIpv4OptsTcpData"] = eth(MAC_A, MAC_B, 0x0800) + ipv4(
    IP_B, IP_A, 6,
    tcp(80, 40000, 0xABCDEF01, 0x12345679, PSH | ACK, 502, ACK_TS_OPTS, payload,
        phdr=ph4(IP_B, IP_A, 6)),
    ident=0, options=bytes.fromhex("94040000"))  # RFC 2113 Router Alert

ack = eth(MAC_B, MAC_A, 0x0800) + ipv4(
    IP_A, IP_B, 6, tcp(40000, 80, 0x12345679, 0xABCDEF02, ACK, 502, phdr=ph4(IP_A, IP_B, 6)),
    ident=0x1C47)
packets["kEthIpv4TcpAckPadded"] = ack + b"\0" * (60 - len(ack))  # Ethernet minimum frame

packets["kEthIpv6TcpSynAck"] = eth(MAC_A, MAC_B, 0x86DD) + ipv6(
    IP6_B, IP6_A, 6,
    tcp(80, 40000, 0x0BADCAFE, 0x12345679, SYN | ACK, 65160, SYNACK_OPTS,
        phdr=ph6(IP6_B, IP6_A, 6)))

arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, IP_A, b"\0" * 6, IP_B)
packets["kEthVlanArpRequest"] = eth(b"\xff" * 6, MAC_A, 0x0806, vlan=0x2064) + arp + b"\0" * 18

packets["kEthIpv4IcmpEcho"] = eth(MAC_B, MAC_A, 0x0800) + ipv4(
    IP_A, IP_B, 1, icmp(8, 0, 0x12340001, b"abcdefgh"), ttl=64)

packets["kEthIpv6IcmpEcho"] = eth(MAC_B, MAC_A, 0x86DD) + ipv6(
    IP6_A, IP6_B, 58, icmp6(IP6_A, IP6_B, struct.pack("!BBHHH", 128, 0, 0, 0x4321, 7) + b"ping"))

# Neighbor Solicitation from 2001:db8::1 for 2001:db8::2, to its solicited-node address.
SN_B = v6("ff02::1:ff00:2")
packets["kEthIpv6Ns"] = eth(mac("33:33:ff:00:00:02"), MAC_A, 0x86DD) + ipv6(
    IP6_A, SN_B, 58,
    icmp6(IP6_A, SN_B, struct.pack("!BBHI16s", 135, 0, 0, 0, IP6_B) + bytes([1, 1]) + MAC_A),
    hlim=255)
# Solicited, override Neighbor Advertisement in reply.
packets["kEthIpv6Na"] = eth(MAC_A, MAC_B, 0x86DD) + ipv6(
    IP6_B, IP6_A, 58,
    icmp6(IP6_B, IP6_A, struct.pack("!BBHI16s", 136, 0, 0, 0x60000000, IP6_B) + bytes([2, 1]) + MAC_B),
    hlim=255)

# IPv6 with Hop-by-Hop (Router Alert + PadN) and Destination Options before TCP.
tcp6 = tcp(40000, 80, 1, 0, SYN, 1000, phdr=ph6(IP6_A, IP6_B, 6))
hbh = bytes([60, 0]) + bytes.fromhex("05020000") + bytes([1, 0])  # RA(MLD), PadN(2)
dst_opts = bytes([6, 0]) + bytes([1, 4, 0, 0, 0, 0])  # PadN(6)
packets["kEthIpv6ExtTcp"] = eth(MAC_B, MAC_A, 0x86DD) + ipv6(IP6_A, IP6_B, 0, hbh + dst_opts + tcp6)
# A Fragment header in front of TCP.
frag = struct.pack("!BBHI", 6, 0, 0x0001, 0xDEADBEEF)
packets["kEthIpv6Frag"] = eth(MAC_B, MAC_A, 0x86DD) + ipv6(IP6_A, IP6_B, 44, frag + tcp6)
# An IPv4 first fragment (MF set).
packets["kEthIpv4Frag"] = eth(MAC_B, MAC_A, 0x0800) + ipv4(
    IP_A, IP_B, 6, tcp(40000, 80, 1, 0, ACK, 1000, payload=b"x" * 12, phdr=ph4(IP_A, IP_B, 6)),
    flags_frag=0x2000)

root = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(root, "packets.h"), "w") as f:
    f.write("// Generated by gen_packets.py: do not edit. Literal frames for the wire tests.\n")
    f.write("#pragma once\n\n#include <array>\n#include <cstddef>\n#include <cstdint>\n#include <span>\n\n")
    f.write("namespace tempo::wire::testdata {\n\n")
    for name, data in packets.items():
        f.write("inline constexpr std::array<uint8_t, %d> %s = {\n" % (len(data), name))
        for i in range(0, len(data), 12):
            f.write("    " + ", ".join("0x%02x" % b for b in data[i:i + 12]) + ",\n")
        f.write("};\n\n")
    f.write("template <size_t N>\nstd::span<const std::byte> bytes(const std::array<uint8_t, N>& a) {\n")
    f.write("  return std::as_bytes(std::span(a));\n}\n\n}  // namespace tempo::wire::testdata\n")
if shutil.which("clang-format"):
    subprocess.run(["clang-format", "-i", os.path.join(root, "packets.h")], check=True)

corpus = os.path.join(root, "..", "..", "fuzz", "wire", "corpus")
os.makedirs(corpus, exist_ok=True)
for name, data in packets.items():
    with open(os.path.join(corpus, name[1:]), "wb") as f:
        f.write(data)
