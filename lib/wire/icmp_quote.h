// The datagram an ICMP or ICMPv6 error quotes, read as one of our TCP segments: RFC 792 (and
// RFC 1812 §4.3.2.3) quotes the IPv4 header and at least the first 8 bytes of its payload,
// RFC 4443 §2.4 (c) as much of the IPv6 packet as fits in 1280 bytes. 8 bytes of TCP hold the
// ports and the sequence number: all RFC 5927 §4.1-4.3 checks need (the quoted tuple is a live
// connection, the quoted sequence number is in flight).
//
// The quoted packet is one this host sent: its source is "local", its destination "remote"
// (flow::Tuple's sense). The quoted IPv4 header checksum is not verified: routers quote what they
// received, and RFC 1812 lets them rewrite parts (TTL) first.
//
// Header-only and bounded like wire/peek.h: every read is checked against the quote's length.
// Tests: tests/unit/wire/icmp_quote_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <tempo/result.h>

#include "flow/tuple.h"
#include "wire/bytes.h"
#include "wire/error.h"
#include "wire/ip_protocol.h"

namespace tempo::wire {

struct QuotedTcp {
  flow::Tuple tuple;       // as this host sees it: local = the quoted source
  uint32_t seq = 0;        // the quoted segment's sequence number
  uint16_t ip_length = 0;  // the quoted packet's length on the wire (IPv4 total length; IPv6
                           // payload length + 40): where RFC 1191 §5's plateau search starts
};

inline constexpr size_t kQuotedTcpBytes = 8;  // ports and sequence number (RFC 792)

// An IPv4 error's quote. Errors: kTruncated (under 20 bytes, under IHL*4 + 8), kBadVersion,
// kBadHeaderLength (IHL < 5), kUnsupported (not TCP, or a fragment past the first, which quotes
// no TCP header: tempo sends DF and never fragments).
inline Result<QuotedTcp, WireError> parse_quoted_tcp4(std::span<const std::byte> q) noexcept {
  constexpr size_t kMin = 20;
  if (q.size() < kMin) {
    return fail(WireError::kTruncated);
  }
  const uint8_t vihl = detail::load8(&q[0]);
  if ((vihl >> 4) != 4) {
    return fail(WireError::kBadVersion);
  }
  const size_t ihl = size_t{vihl & 0x0fU} * 4;
  if (ihl < kMin) {
    return fail(WireError::kBadHeaderLength);
  }
  if (q.size() < ihl + kQuotedTcpBytes) {
    return fail(WireError::kTruncated);
  }
  const bool later_fragment = (detail::load_be16(&q[6]) & 0x1fffU) != 0;
  if (detail::load8(&q[9]) != kIpProtoTcp || later_fragment) {
    return fail(WireError::kUnsupported);
  }
  QuotedTcp out;
  out.ip_length = detail::load_be16(&q[2]);
  out.tuple.t4.local = detail::load_be32(&q[12]);
  out.tuple.t4.remote = detail::load_be32(&q[16]);
  out.tuple.t4.local_port = detail::load_be16(&q[ihl]);
  out.tuple.t4.remote_port = detail::load_be16(&q[ihl + 2]);
  out.seq = detail::load_be32(&q[ihl + 4]);
  return out;
}

// An ICMPv6 error's quote. Errors: kTruncated (under 40 + 8 bytes), kBadVersion,
// kUnsupported (the next header is not TCP: tempo sends no extension headers).
inline Result<QuotedTcp, WireError> parse_quoted_tcp6(std::span<const std::byte> q) noexcept {
  constexpr size_t kHeader = 40;
  if (q.size() < kHeader + kQuotedTcpBytes) {
    return fail(WireError::kTruncated);
  }
  if ((detail::load8(&q[0]) >> 4) != 6) {
    return fail(WireError::kBadVersion);
  }
  if (detail::load8(&q[6]) != kIpProtoTcp) {
    return fail(WireError::kUnsupported);
  }
  QuotedTcp out;
  out.tuple.v6 = true;
  const uint32_t len = uint32_t{detail::load_be16(&q[4])} + kHeader;
  out.ip_length = static_cast<uint16_t>(len > 65535 ? 65535 : len);
  std::memcpy(out.tuple.t6.local.data(), &q[8], 16);
  std::memcpy(out.tuple.t6.remote.data(), &q[24], 16);
  out.tuple.t6.local_port = detail::load_be16(&q[kHeader]);
  out.tuple.t6.remote_port = detail::load_be16(&q[kHeader + 2]);
  out.seq = detail::load_be32(&q[kHeader + 4]);
  return out;
}

}  // namespace tempo::wire
