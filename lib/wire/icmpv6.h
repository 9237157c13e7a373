// ICMPv6 (RFC 4443) and the Neighbor Discovery messages a host needs (RFC 4861): a view that
// verifies the checksum with the IPv6 pseudo-header and the ND validity rules, and builders for
// echo and Neighbor Solicitation/Advertisement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include <tempo/result.h>

#include "wire/bytes.h"
#include "wire/error.h"
#include "wire/ipv6.h"
#include "wire/ipv6_addr.h"
#include "wire/mac_addr.h"

namespace tempo::wire {

// RFC 4443 §2.1 and RFC 4861 §4 message types.
inline constexpr uint8_t kIcmpv6DestUnreachable = 1;
inline constexpr uint8_t kIcmpv6PacketTooBig = 2;
inline constexpr uint8_t kIcmpv6TimeExceeded = 3;
inline constexpr uint8_t kIcmpv6ParamProblem = 4;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;
inline constexpr uint8_t kIcmpv6RouterSolicit = 133;
inline constexpr uint8_t kIcmpv6RouterAdvert = 134;
inline constexpr uint8_t kIcmpv6NeighborSolicit = 135;
inline constexpr uint8_t kIcmpv6NeighborAdvert = 136;
// RFC 4861 §4.6.1 option types.
inline constexpr uint8_t kNdOptSourceLinkAddr = 1;
inline constexpr uint8_t kNdOptTargetLinkAddr = 2;
// RFC 4861 §7.1: ND messages arrive with, and are sent with, hop limit 255.
inline constexpr uint8_t kNdHopLimit = 255;

// RFC 4861 §4.4 Neighbor Advertisement flags.
struct NaFlags {
  bool router = false;     // R
  bool solicited = false;  // S
  bool override = false;   // O
};

class Icmpv6View {
 public:
  static constexpr size_t kMinLen = 4;     // type, code, checksum
  static constexpr size_t kEchoLen = 8;    // + identifier, sequence number
  static constexpr size_t kNdMinLen = 24;  // NS/NA: + 4 bytes flags/reserved, 16 bytes target

  // `message` is the upper-layer payload of the IPv6 packet; src, dst and hop_limit come from
  // its IPv6 header. Fails with:
  //   kTruncated              under 4 bytes; an echo or error message under 8; NS/NA under 24;
  //   kBadChecksum            RFC 4443 §2.3 checksum (with the RFC 8200 §8.1 pseudo-header);
  //   kBadOptionLength        an NS/NA option of length 0 or overrunning the message, or a
  //                           link-layer address option whose length is not 1 (Ethernet,
  //                           RFC 4861 §4.6.1);
  //   kBadNeighborDiscovery   NS/NA failing RFC 4861 §7.1.1/§7.1.2 (see WireError).
  // Other types parse with only the length and checksum checked.
  static Result<Icmpv6View, WireError> parse(std::span<const std::byte> message,
                                             const Ipv6Addr& src, const Ipv6Addr& dst,
                                             uint8_t hop_limit) noexcept;
  static Result<Icmpv6View, WireError> parse(const Ipv6View& ip) noexcept {
    return parse(ip.payload(), ip.src(), ip.dst(), ip.hop_limit());
  }

  uint8_t type() const noexcept { return detail::load8(&buf_[0]); }
  uint8_t code() const noexcept { return detail::load8(&buf_[1]); }
  uint16_t checksum() const noexcept { return detail::load_be16(&buf_[2]); }

  bool is_echo_request() const noexcept { return type() == kIcmpv6EchoRequest && code() == 0; }
  bool is_echo_reply() const noexcept { return type() == kIcmpv6EchoReply && code() == 0; }
  // Echo request/reply only.
  uint16_t echo_id() const noexcept { return detail::load_be16(&buf_[4]); }
  uint16_t echo_seq() const noexcept { return detail::load_be16(&buf_[6]); }
  std::span<const std::byte> echo_data() const noexcept { return buf_.subspan(kEchoLen); }

  bool is_neighbor_solicit() const noexcept { return type() == kIcmpv6NeighborSolicit; }
  bool is_neighbor_advert() const noexcept { return type() == kIcmpv6NeighborAdvert; }
  // NS/NA only.
  Ipv6Addr nd_target() const noexcept { return Ipv6Addr::load(&buf_[8]); }
  NaFlags na_flags() const noexcept {
    const uint8_t f = detail::load8(&buf_[4]);
    return NaFlags{
        .router = (f & 0x80) != 0, .solicited = (f & 0x40) != 0, .override = (f & 0x20) != 0};
  }
  // The first Source/Target Link-Layer Address option of an NS/NA, when present.
  std::optional<MacAddr> source_ll() const noexcept {
    return source_ll_off_ ? std::optional(MacAddr::load(&buf_[source_ll_off_])) : std::nullopt;
  }
  std::optional<MacAddr> target_ll() const noexcept {
    return target_ll_off_ ? std::optional(MacAddr::load(&buf_[target_ll_off_])) : std::nullopt;
  }
  std::span<const std::byte> nd_options() const noexcept { return buf_.subspan(kNdMinLen); }

  // After the 4-byte type/code/checksum (error messages: unused/MTU/pointer and the quote).
  std::span<const std::byte> body() const noexcept { return buf_.subspan(kMinLen); }
  std::span<const std::byte> bytes() const noexcept { return buf_; }

 private:
  explicit Icmpv6View(std::span<const std::byte> buf) noexcept : buf_(buf) {}

  std::span<const std::byte> buf_;
  uint16_t source_ll_off_ = 0;  // offset of the MAC inside the option; 0 when absent
  uint16_t target_ll_off_ = 0;
};

// Echo request/reply: `data` may overlap `out` (it is moved). Errors: kNoSpace.
Result<size_t, WireError> write_icmpv6_echo(std::span<std::byte> out, const Ipv6Addr& src,
                                            const Ipv6Addr& dst, uint8_t type, uint16_t id,
                                            uint16_t seq, std::span<const std::byte> data) noexcept;
inline Result<size_t, WireError> write_icmpv6_echo_reply(std::span<std::byte> out,
                                                         const Ipv6Addr& src, const Ipv6Addr& dst,
                                                         uint16_t id, uint16_t seq,
                                                         std::span<const std::byte> data) noexcept {
  return write_icmpv6_echo(out, src, dst, kIcmpv6EchoReply, id, seq, data);
}
inline Result<size_t, WireError> write_icmpv6_echo_request(
    std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst, uint16_t id, uint16_t seq,
    std::span<const std::byte> data) noexcept {
  return write_icmpv6_echo(out, src, dst, kIcmpv6EchoRequest, id, seq, data);
}

// RFC 4861 §4.3 Neighbor Solicitation for `target`, with a Source Link-Layer Address option
// when `source_ll` is given (RFC 4861 §7.2.2: omit it only for DAD, from ::). To resolve,
// send to target.solicited_node() (Ethernet dst solicited_node().multicast_mac()) with hop
// limit 255. Errors: kNoSpace.
Result<size_t, WireError> write_icmpv6_ns(std::span<std::byte> out, const Ipv6Addr& src,
                                          const Ipv6Addr& dst, const Ipv6Addr& target,
                                          std::optional<MacAddr> source_ll) noexcept;
// RFC 4861 §4.4 Neighbor Advertisement, with a Target Link-Layer Address option when
// `target_ll` is given. Errors: kNoSpace.
Result<size_t, WireError> write_icmpv6_na(std::span<std::byte> out, const Ipv6Addr& src,
                                          const Ipv6Addr& dst, const Ipv6Addr& target,
                                          NaFlags flags, std::optional<MacAddr> target_ll) noexcept;

}  // namespace tempo::wire
