// TCP header (RFC 9293 §3.1): a bounds-checked view and a builder. Options are parsed and
// written by tcp_options.h; checksums by checksum.h (the view does not verify the checksum,
// which needs the IP pseudo-header and may have been verified by the NIC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/result.h>

#include "wire/bytes.h"
#include "wire/error.h"
#include "wire/tcp_options.h"

namespace tempo::wire {

// The eight control bits of byte 13 (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).
class TcpFlags {
 public:
  static constexpr uint8_t kFin = 0x01;
  static constexpr uint8_t kSyn = 0x02;
  static constexpr uint8_t kRst = 0x04;
  static constexpr uint8_t kPsh = 0x08;
  static constexpr uint8_t kAck = 0x10;
  static constexpr uint8_t kUrg = 0x20;
  static constexpr uint8_t kEce = 0x40;
  static constexpr uint8_t kCwr = 0x80;

  constexpr TcpFlags() noexcept = default;
  constexpr explicit TcpFlags(uint8_t bits) noexcept : bits_(bits) {}

  constexpr uint8_t bits() const noexcept { return bits_; }
  // True when every bit of `mask` is set.
  constexpr bool has(uint8_t mask) const noexcept { return (bits_ & mask) == mask; }
  constexpr bool fin() const noexcept { return has(kFin); }
  constexpr bool syn() const noexcept { return has(kSyn); }
  constexpr bool rst() const noexcept { return has(kRst); }
  constexpr bool psh() const noexcept { return has(kPsh); }
  constexpr bool ack() const noexcept { return has(kAck); }
  constexpr bool urg() const noexcept { return has(kUrg); }
  constexpr bool ece() const noexcept { return has(kEce); }
  constexpr bool cwr() const noexcept { return has(kCwr); }

  constexpr TcpFlags operator|(TcpFlags o) const noexcept { return TcpFlags(bits_ | o.bits_); }
  constexpr TcpFlags operator&(TcpFlags o) const noexcept { return TcpFlags(bits_ & o.bits_); }
  constexpr bool operator==(const TcpFlags&) const noexcept = default;

 private:
  uint8_t bits_ = 0;
};

class TcpView {
 public:
  static constexpr size_t kMinHeaderLen = 20;
  static constexpr size_t kMaxHeaderLen = 60;

  // `segment` is the whole TCP segment: the IP payload, already trimmed to the IP length.
  // Errors: kTruncated (under 20 bytes), kBadDataOffset (data offset below 5 words, or
  // beyond the segment). The checksum is not verified here (checksum.h).
  static Result<TcpView, WireError> parse(std::span<const std::byte> segment) noexcept;

  uint16_t src_port() const noexcept { return detail::load_be16(&buf_[0]); }
  uint16_t dst_port() const noexcept { return detail::load_be16(&buf_[2]); }
  uint32_t seq() const noexcept { return detail::load_be32(&buf_[4]); }
  uint32_t ack() const noexcept { return detail::load_be32(&buf_[8]); }
  // Header length in bytes (data offset * 4), 20..60.
  size_t header_length() const noexcept { return (detail::load8(&buf_[12]) >> 4) * 4u; }
  // The four bits between data offset and CWR: reserved (the lowest was RFC 3540's NS, now
  // historic, and is AccECN's AE bit).
  uint8_t reserved_bits() const noexcept { return detail::load8(&buf_[12]) & 0x0f; }
  TcpFlags flags() const noexcept { return TcpFlags(detail::load8(&buf_[13])); }
  uint16_t window() const noexcept { return detail::load_be16(&buf_[14]); }
  uint16_t checksum() const noexcept { return detail::load_be16(&buf_[16]); }
  uint16_t urgent() const noexcept { return detail::load_be16(&buf_[18]); }

  // The raw option bytes, for parse_tcp_options.
  std::span<const std::byte> options() const noexcept {
    return buf_.subspan(kMinHeaderLen, header_length() - kMinHeaderLen);
  }
  std::span<const std::byte> payload() const noexcept { return buf_.subspan(header_length()); }
  // RFC 9293 §3.4: SYN and FIN each occupy one sequence number.
  uint32_t segment_length() const noexcept {
    return static_cast<uint32_t>(payload().size()) + (flags().syn() ? 1 : 0) +
           (flags().fin() ? 1 : 0);
  }
  std::span<const std::byte> bytes() const noexcept { return buf_; }

 private:
  explicit TcpView(std::span<const std::byte> buf) noexcept : buf_(buf) {}
  std::span<const std::byte> buf_;
};

struct TcpHeaderFields {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  TcpFlags flags;
  uint16_t window = 0;
  uint16_t urgent = 0;
};

// Writes the 20-byte header and the options (write_tcp_options layout) with the data offset
// set and the checksum field zero; returns the header length. The payload, if any, goes right
// after; then fill_tcp_checksum_ipv4/6 (or the pseudo-header sum, for offload).
// Errors: kOptionsTooLong, kNoSpace.
Result<size_t, WireError> write_tcp(std::span<std::byte> out, const TcpHeaderFields& f,
                                    const TcpOptions& opts) noexcept;

}  // namespace tempo::wire
