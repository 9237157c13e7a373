// IPv4 (RFC 791): a bounds-checked view and a builder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/result.h>

#include "wire/bytes.h"
#include "wire/error.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4_addr.h"

namespace tempo::wire {

// Whether Ipv4View::parse verifies the header checksum. kSkip is for packets whose mbuf says
// the NIC verified it (RTE_MBUF_F_RX_IP_CKSUM_GOOD).
enum class ChecksumMode : uint8_t { kVerify, kSkip };

class Ipv4View {
 public:
  static constexpr size_t kMinHeaderLen = 20;
  static constexpr size_t kMaxHeaderLen = 60;

  // Checks, in this order, each failing with:
  //   kTruncated        fewer than 20 bytes;
  //   kBadVersion       version is not 4;
  //   kBadHeaderLength  IHL below 5;
  //   kTruncated        fewer bytes than IHL*4;
  //   kBadTotalLength   total length below IHL*4 or beyond the buffer;
  //   kBadChecksum      header checksum does not verify (unless mode is kSkip).
  // Bytes past the total length (Ethernet minimum-size padding) are ignored: bytes() and
  // payload() end at the total length. Fragments parse; is_fragment() says so.
  static Result<Ipv4View, WireError> parse(std::span<const std::byte> packet,
                                           ChecksumMode mode = ChecksumMode::kVerify) noexcept;

  uint8_t version() const noexcept { return detail::load8(&buf_[0]) >> 4; }
  size_t header_length() const noexcept { return (detail::load8(&buf_[0]) & 0x0f) * 4u; }
  // RFC 2474 DSCP and RFC 3168 ECN, the two parts of the old TOS byte.
  uint8_t dscp() const noexcept { return detail::load8(&buf_[1]) >> 2; }
  uint8_t ecn() const noexcept { return detail::load8(&buf_[1]) & 0x03; }
  uint16_t total_length() const noexcept { return detail::load_be16(&buf_[2]); }
  uint16_t id() const noexcept { return detail::load_be16(&buf_[4]); }
  bool dont_fragment() const noexcept { return (detail::load_be16(&buf_[6]) & 0x4000) != 0; }
  bool more_fragments() const noexcept { return (detail::load_be16(&buf_[6]) & 0x2000) != 0; }
  // Fragment offset in bytes (the field counts 8-byte units).
  uint32_t fragment_offset() const noexcept { return (detail::load_be16(&buf_[6]) & 0x1fffu) * 8u; }
  // RFC 791: a fragment has MF set or a non-zero offset (stack/reassembly.h reassembles).
  bool is_fragment() const noexcept { return (detail::load_be16(&buf_[6]) & 0x3fff) != 0; }
  uint8_t ttl() const noexcept { return detail::load8(&buf_[8]); }
  uint8_t protocol() const noexcept { return detail::load8(&buf_[9]); }
  uint16_t checksum() const noexcept { return detail::load_be16(&buf_[10]); }
  Ipv4Addr src() const noexcept { return Ipv4Addr::load(&buf_[12]); }
  Ipv4Addr dst() const noexcept { return Ipv4Addr::load(&buf_[16]); }

  // The options (0..40 bytes between the fixed header and the payload), unparsed.
  std::span<const std::byte> options() const noexcept {
    return buf_.subspan(kMinHeaderLen, header_length() - kMinHeaderLen);
  }
  std::span<const std::byte> header() const noexcept { return buf_.first(header_length()); }
  std::span<const std::byte> payload() const noexcept { return buf_.subspan(header_length()); }
  // The packet up to its total length.
  std::span<const std::byte> bytes() const noexcept { return buf_; }

 private:
  explicit Ipv4View(std::span<const std::byte> buf) noexcept : buf_(buf) {}
  std::span<const std::byte> buf_;  // exactly total_length() bytes
};

struct Ipv4HeaderFields {
  Ipv4Addr src;
  Ipv4Addr dst;
  uint8_t protocol = kIpProtoTcp;
  uint16_t payload_len = 0;
  uint8_t ttl = 64;
  uint16_t id = 0;
  // RFC 1191 path MTU discovery: TCP sets DF, as Linux does.
  bool dont_fragment = true;
  uint8_t tos = 0;  // DSCP << 2 | ECN
};

// Writes a 20-byte header (no options) with the checksum filled in. Errors: kNoSpace,
// kTooLong (payload_len + 20 above 65535).
Result<size_t, WireError> write_ipv4(std::span<std::byte> out, const Ipv4HeaderFields& f) noexcept;
inline Result<size_t, WireError> write_ipv4(std::span<std::byte> out, Ipv4Addr src, Ipv4Addr dst,
                                            uint8_t protocol, uint16_t payload_len, uint8_t ttl,
                                            uint16_t id) noexcept {
  return write_ipv4(out, Ipv4HeaderFields{.src = src,
                                          .dst = dst,
                                          .protocol = protocol,
                                          .payload_len = payload_len,
                                          .ttl = ttl,
                                          .id = id});
}

}  // namespace tempo::wire
