// The fast path's one look at a frame before the parsers: the 4-tuple of a TCP segment as its
// receiver sees it (local = the destination), read at fixed offsets from the first mbuf's bytes,
// for the decisions taken per burst before a packet is parsed in full: which Worker owns it
// (software steering, stack/steering.h) and which connection it belongs to (the Worker's burst
// lookup). Nothing here validates the packet: EthView, Ipv4View/Ipv6View and TcpView do that
// afterwards, and a packet they refuse is dropped whatever this view said. So it only has to be
// right for well-formed packets, and safe (bounded) for any bytes.
//
// peek_tcp answers for TCP over IPv4 without a fragment (any IHL of 5 or more) and over IPv6
// whose next header is TCP (no extension headers), with both ports present; nullopt for anything
// else. peek_fragment answers for fragments: their addresses, ports 0.
// Tests: tests/unit/wire/peek_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "flow/tuple.h"

namespace tempo::wire {

inline std::optional<flow::Tuple> peek_tcp(std::span<const std::byte> frame) noexcept {
  constexpr size_t kEth = 14;
  const auto* b = reinterpret_cast<const uint8_t*>(frame.data());
  const size_t len = frame.size();
  auto be16 = [b](size_t off) { return static_cast<uint16_t>(b[off] << 8 | b[off + 1]); };
  auto be32 = [b](size_t off) {
    return uint32_t{b[off]} << 24 | uint32_t{b[off + 1]} << 16 | uint32_t{b[off + 2]} << 8 |
           b[off + 3];
  };
  if (len < kEth + 20 + 4) {
    return std::nullopt;
  }
  flow::Tuple p;
  const uint16_t type = be16(12);
  if (type == 0x0800) {
    const size_t ihl = size_t{b[kEth] & 0x0fU} * 4;
    const bool fragment = (be16(kEth + 6) & 0x3fffU) != 0;  // MF or an offset
    if ((b[kEth] >> 4) != 4 || ihl < 20 || b[kEth + 9] != 6 || fragment || len < kEth + ihl + 4) {
      return std::nullopt;
    }
    p.t4.remote = be32(kEth + 12);
    p.t4.local = be32(kEth + 16);
    p.t4.remote_port = be16(kEth + ihl);
    p.t4.local_port = be16(kEth + ihl + 2);
    return p;
  }
  if (type == 0x86dd) {
    constexpr size_t kIp6 = 40;
    if (len < kEth + kIp6 + 4 || (b[kEth] >> 4) != 6 || b[kEth + 6] != 6) {
      return std::nullopt;
    }
    p.v6 = true;
    std::memcpy(p.t6.remote.data(), b + kEth + 8, 16);
    std::memcpy(p.t6.local.data(), b + kEth + 24, 16);
    p.t6.remote_port = be16(kEth + kIp6);
    p.t6.local_port = be16(kEth + kIp6 + 2);
    return p;
  }
  return std::nullopt;
}

// The address pair of a fragment (ports 0), as its receiver sees it: an IPv4 fragment (MF set
// or an offset), or an IPv6 packet whose fixed header is followed by a Fragment header that is
// not atomic (RFC 6946); nullopt for anything else. What software steering sends all of one
// datagram's fragments to one Worker by, whatever queue the device put each on.
inline std::optional<flow::Tuple> peek_fragment(std::span<const std::byte> frame) noexcept {
  constexpr size_t kEth = 14;
  const auto* b = reinterpret_cast<const uint8_t*>(frame.data());
  const size_t len = frame.size();
  if (len < kEth + 20) {
    return std::nullopt;
  }
  auto be16 = [b](size_t off) { return static_cast<uint16_t>(b[off] << 8 | b[off + 1]); };
  flow::Tuple p;
  const uint16_t type = be16(12);
  if (type == 0x0800) {
    if ((b[kEth] >> 4) != 4 || (be16(kEth + 6) & 0x3fffU) == 0) {
      return std::nullopt;
    }
    p.t4.remote = uint32_t{b[kEth + 12]} << 24 | uint32_t{b[kEth + 13]} << 16 |
                  uint32_t{b[kEth + 14]} << 8 | b[kEth + 15];
    p.t4.local = uint32_t{b[kEth + 16]} << 24 | uint32_t{b[kEth + 17]} << 16 |
                 uint32_t{b[kEth + 18]} << 8 | b[kEth + 19];
    return p;
  }
  if (type == 0x86dd) {
    constexpr size_t kIp6 = 40;
    if (len < kEth + kIp6 + 8 || (b[kEth] >> 4) != 6 || b[kEth + 6] != 44 ||
        (be16(kEth + kIp6 + 2) & 0xfff9U) == 0) {
      return std::nullopt;
    }
    p.v6 = true;
    std::memcpy(p.t6.remote.data(), b + kEth + 8, 16);
    std::memcpy(p.t6.local.data(), b + kEth + 24, 16);
    return p;
  }
  return std::nullopt;
}

}  // namespace tempo::wire
