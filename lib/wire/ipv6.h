// IPv6 (RFC 8200): a bounds-checked view that also walks the extension headers a host must
// process to find the upper-layer protocol, and a builder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/result.h>

#include "wire/bytes.h"
#include "wire/error.h"
#include "wire/ip_protocol.h"
#include "wire/ipv6_addr.h"

namespace tempo::wire {

class Ipv6View {
 public:
  static constexpr size_t kHeaderLen = 40;
  // Extension headers followed before giving up with kBadExtensionHeader. RFC 8200 sets no
  // limit; RFC 7045 lets a node limit the chain, and real traffic carries one or two.
  static constexpr size_t kMaxExtensionHeaders = 8;

  // Fails with:
  //   kTruncated           fewer than 40 bytes, or an extension header's fixed part cut off;
  //   kBadVersion          version is not 6;
  //   kBadTotalLength      40 + payload length beyond the buffer (a zero payload length with
  //                        a Jumbo Payload option is refused below as kUnsupported);
  //   kBadExtensionHeader  Hop-by-Hop anywhere but first (RFC 8200 §4.1), or more than
  //                        kMaxExtensionHeaders;
  //   kBadOptionLength     an extension header or one of its TLV options overruns the payload;
  //   kUnsupported         a Routing header with Segments Left non-zero (RFC 8200 §4.4: a host
  //                        that is the final destination sees 0), or a Hop-by-Hop/Destination
  //                        option unknown to tempo whose type's top two bits say discard
  //                        (RFC 8200 §4.2).
  // Bytes past 40 + payload length are ignored. Fragments parse (RFC 8200 §4.5): the walk stops
  // at a Fragment header whose offset or M flag is not zero, is_fragment() says so, protocol()
  // is kIpProtoFragment and payload() the fragment's data, for reassembly
  // (stack/reassembly.h). An atomic fragment (offset 0, M clear) is processed as if
  // unfragmented, its Fragment header skipped (RFC 6946 §4).
  static Result<Ipv6View, WireError> parse(std::span<const std::byte> packet) noexcept;

  uint8_t version() const noexcept { return detail::load8(&buf_[0]) >> 4; }
  uint8_t traffic_class() const noexcept {
    return static_cast<uint8_t>((detail::load_be16(&buf_[0]) >> 4) & 0xff);
  }
  uint32_t flow_label() const noexcept { return detail::load_be32(&buf_[0]) & 0xfffff; }
  uint16_t payload_length() const noexcept { return detail::load_be16(&buf_[4]); }
  // The Next Header field of the fixed header (may name an extension header).
  uint8_t next_header() const noexcept { return detail::load8(&buf_[6]); }
  uint8_t hop_limit() const noexcept { return detail::load8(&buf_[7]); }
  Ipv6Addr src() const noexcept { return Ipv6Addr::load(&buf_[8]); }
  Ipv6Addr dst() const noexcept { return Ipv6Addr::load(&buf_[24]); }

  // The upper-layer protocol after the extension headers (kIpProtoNoNext for none), or
  // kIpProtoFragment for a fragment.
  uint8_t protocol() const noexcept { return protocol_; }
  size_t extension_headers_length() const noexcept { return upper_offset_ - kHeaderLen; }
  // The upper-layer message (after extension headers); its size is the upper-layer length of
  // the RFC 8200 §8.1 pseudo-header.
  std::span<const std::byte> payload() const noexcept { return buf_.subspan(upper_offset_); }
  // Everything after the fixed header, extension headers included.
  std::span<const std::byte> ip_payload() const noexcept { return buf_.subspan(kHeaderLen); }
  std::span<const std::byte> bytes() const noexcept { return buf_; }

  // --- A fragment (RFC 8200 §4.5): the Fragment header's fields; only when is_fragment(). ---
  static constexpr size_t kFragmentHeaderLen = 8;
  bool is_fragment() const noexcept { return frag_at_ != 0; }
  // Fragment Offset in bytes (the field counts 8-octet units).
  uint32_t fragment_offset() const noexcept {
    return (detail::load_be16(&buf_[frag_at_ + 2]) & 0xfff8u);
  }
  bool more_fragments() const noexcept { return (detail::load8(&buf_[frag_at_ + 3]) & 1u) != 0; }
  uint32_t fragment_id() const noexcept { return detail::load_be32(&buf_[frag_at_ + 4]); }
  // The Next Header of the Fragment header: the first header of the fragmentable part.
  uint8_t fragment_next_header() const noexcept { return detail::load8(&buf_[frag_at_]); }
  // The unfragmentable part: the fixed header and the extension headers before the Fragment
  // header (the reassembled packet's headers, RFC 8200 §4.5).
  std::span<const std::byte> unfragmentable() const noexcept { return buf_.first(frag_at_); }
  // Where in unfragmentable() the Next Header field that names the Fragment header is (6: the
  // fixed header's).
  size_t fragment_next_header_at() const noexcept { return frag_nh_at_; }

 private:
  Ipv6View(std::span<const std::byte> buf, uint16_t upper_offset, uint8_t protocol,
           uint16_t frag_at = 0, uint16_t frag_nh_at = 0) noexcept
      : buf_(buf),
        upper_offset_(upper_offset),
        frag_at_(frag_at),
        frag_nh_at_(frag_nh_at),
        protocol_(protocol) {}

  std::span<const std::byte> buf_;  // exactly 40 + payload_length() bytes
  uint16_t upper_offset_;
  uint16_t frag_at_;     // the Fragment header's offset (0: not a fragment)
  uint16_t frag_nh_at_;  // the Next Header field naming it
  uint8_t protocol_;
};

struct Ipv6HeaderFields {
  Ipv6Addr src;
  Ipv6Addr dst;
  uint8_t next_header = kIpProtoTcp;
  uint16_t payload_len = 0;
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // low 20 bits used
};

// Writes the 40-byte fixed header. Errors: kNoSpace.
Result<size_t, WireError> write_ipv6(std::span<std::byte> out, const Ipv6HeaderFields& f) noexcept;
inline Result<size_t, WireError> write_ipv6(std::span<std::byte> out, const Ipv6Addr& src,
                                            const Ipv6Addr& dst, uint8_t next_header,
                                            uint16_t payload_len, uint8_t hop_limit) noexcept {
  return write_ipv6(out, Ipv6HeaderFields{.src = src,
                                          .dst = dst,
                                          .next_header = next_header,
                                          .payload_len = payload_len,
                                          .hop_limit = hop_limit});
}

}  // namespace tempo::wire
