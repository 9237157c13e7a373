// tempo::crypto::SegmentRef: one TCP segment as TCP-MD5 (RFC 2385) and TCP-AO (RFC 5925) sign
// it: the IP addresses of its pseudo-header, its TCP header with options, and its payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/result.h>

#include "crypto/error.h"
#include "crypto/tuple.h"

namespace tempo::crypto {

struct SegmentRef {
  IpAddress src;  // as in the IP header (the sender)
  IpAddress dst;
  // The TCP header, options included: at least data offset x 4 bytes (only those are used).
  std::span<const std::byte> tcp_header;
  std::span<const std::byte> payload;
};

// Where one option sits in the TCP header: offset of its kind byte, and its length byte.
struct OptionSpan {
  size_t offset = 0;
  size_t length = 0;
};

// The TCP header length (data offset x 4) after checking it against the buffer.
// Errors: kMalformedHeader (fewer than 20 bytes, data offset < 5, or beyond the buffer).
Result<size_t, CryptoError> tcp_header_length(std::span<const std::byte> tcp_header) noexcept;

// Finds the first option of `kind` in a header whose length tcp_header_length() returned.
// Errors: kMalformedHeader (an option length < 2 or running past the header); kNoOption.
Result<OptionSpan, CryptoError> find_option(std::span<const std::byte> tcp_header, size_t hdr_len,
                                            uint8_t kind) noexcept;

// Writes the TCP pseudo-header for a segment of `tcp_length` bytes (header + payload) and returns
// its size: RFC 9293 §3.1 for IPv4 (12 bytes), RFC 8200 §8.1 for IPv6 (40 bytes).
size_t write_pseudo_header(std::span<std::byte> out, const IpAddress& src, const IpAddress& dst,
                           uint32_t tcp_length) noexcept;

// Constant-time comparison of two equal-length MACs.
bool equal_ct(std::span<const std::byte> a, std::span<const std::byte> b) noexcept;

}  // namespace tempo::crypto
