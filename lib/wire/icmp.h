// ICMP for IPv4 (RFC 792): a checksum-verifying view and builders for echo and for messages
// that quote the offending datagram.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/result.h>

#include "wire/bytes.h"
#include "wire/error.h"

namespace tempo::wire {

// RFC 792 message types tempo reads or writes.
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpDestUnreachable = 3;
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
// RFC 792 Destination Unreachable codes; RFC 1191 §4 "fragmentation needed" carries the MTU.
inline constexpr uint8_t kIcmpCodePortUnreachable = 3;
inline constexpr uint8_t kIcmpCodeFragNeeded = 4;

class IcmpView {
 public:
  static constexpr size_t kHeaderLen = 8;  // type, code, checksum, 4 bytes rest-of-header

  // `message` is the whole ICMP message (the IPv4 payload). Errors: kTruncated (under 8
  // bytes), kBadChecksum (RFC 792: the checksum covers the whole message).
  static Result<IcmpView, WireError> parse(std::span<const std::byte> message) noexcept;

  uint8_t type() const noexcept { return detail::load8(&buf_[0]); }
  uint8_t code() const noexcept { return detail::load8(&buf_[1]); }
  uint16_t checksum() const noexcept { return detail::load_be16(&buf_[2]); }
  uint32_t rest_of_header() const noexcept { return detail::load_be32(&buf_[4]); }
  bool is_echo_request() const noexcept { return type() == kIcmpEchoRequest && code() == 0; }
  bool is_echo_reply() const noexcept { return type() == kIcmpEchoReply && code() == 0; }
  // Echo and echo reply: identifier and sequence number.
  uint16_t echo_id() const noexcept { return detail::load_be16(&buf_[4]); }
  uint16_t echo_seq() const noexcept { return detail::load_be16(&buf_[6]); }
  // RFC 1191 §4: next-hop MTU of a "fragmentation needed" message (low 16 bits).
  uint16_t next_hop_mtu() const noexcept { return detail::load_be16(&buf_[6]); }
  // Echo data, or the quoted datagram of an error message.
  std::span<const std::byte> data() const noexcept { return buf_.subspan(kHeaderLen); }
  std::span<const std::byte> bytes() const noexcept { return buf_; }

 private:
  explicit IcmpView(std::span<const std::byte> buf) noexcept : buf_(buf) {}
  std::span<const std::byte> buf_;
};

// Writes type, code, rest-of-header and `data` (which may overlap `out`: it is moved, so an
// echo request can be turned into a reply in place), then the checksum. Errors: kNoSpace.
Result<size_t, WireError> write_icmp(std::span<std::byte> out, uint8_t type, uint8_t code,
                                     uint32_t rest_of_header,
                                     std::span<const std::byte> data) noexcept;
inline Result<size_t, WireError> write_icmp_echo_reply(std::span<std::byte> out, uint16_t id,
                                                       uint16_t seq,
                                                       std::span<const std::byte> data) noexcept {
  return write_icmp(out, kIcmpEchoReply, 0, uint32_t{id} << 16 | seq, data);
}
inline Result<size_t, WireError> write_icmp_echo_request(std::span<std::byte> out, uint16_t id,
                                                         uint16_t seq,
                                                         std::span<const std::byte> data) noexcept {
  return write_icmp(out, kIcmpEchoRequest, 0, uint32_t{id} << 16 | seq, data);
}

}  // namespace tempo::wire
