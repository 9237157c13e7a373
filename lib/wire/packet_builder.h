// Whole-frame builder: Ethernet (optionally VLAN-tagged) + IPv4 or IPv6 + TCP + options +
// payload in one buffer, checksums filled. For tests, scenario scripts and tools that need a
// complete packet; the datapath writes its headers into mbufs piece by piece.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <tempo/result.h>

#include "wire/error.h"
#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"
#include "wire/mac_addr.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace tempo::wire {

struct TcpPacketSpec {
  bool with_ethernet = true;  // false: the buffer starts at the IP header
  MacAddr eth_src;
  MacAddr eth_dst;
  std::optional<uint16_t> vlan_tci;  // one 802.1Q tag when set
  bool ipv6 = false;
  Ipv4Addr src4;
  Ipv4Addr dst4;
  Ipv6Addr src6;
  Ipv6Addr dst6;
  uint8_t ttl = 64;  // or hop limit
  uint16_t ip_id = 0;
  TcpHeaderFields tcp;
  TcpOptions options;
  std::span<const std::byte> payload;
  bool fill_checksum = true;  // false: leave the TCP checksum field zero
};

// Writes the packet and returns its length. Errors: kNoSpace, kOptionsTooLong, kTooLong.
Result<size_t, WireError> build_tcp_packet(std::span<std::byte> out,
                                           const TcpPacketSpec& spec) noexcept;
// The same, into a new vector sized to fit (tests only: allocates). An error gives an empty
// vector.
std::vector<std::byte> make_tcp_packet(const TcpPacketSpec& spec);

}  // namespace tempo::wire
