#include "wire/icmpv6.h"

#include <cstring>

#include "wire/checksum.h"
#include "wire/ip_protocol.h"

namespace tempo::wire {
namespace {

constexpr size_t kLlOptLen = 8;  // type, length (1 = 8 bytes), 6-byte MAC

void fill_checksum(std::span<std::byte> msg, const Ipv6Addr& src, const Ipv6Addr& dst) noexcept {
  detail::store_be16(&msg[2], 0);
  detail::store_be16(&msg[2], l4_checksum_ipv6(src, dst, kIpProtoIcmpv6, msg));
}

}  // namespace

Result<Icmpv6View, WireError> Icmpv6View::parse(std::span<const std::byte> message,
                                                const Ipv6Addr& src, const Ipv6Addr& dst,
                                                uint8_t hop_limit) noexcept {
  if (message.size() < kMinLen) {
    return fail(WireError::kTruncated);
  }
  const uint8_t type = detail::load8(&message[0]);
  const bool nd = type == kIcmpv6NeighborSolicit || type == kIcmpv6NeighborAdvert;
  const bool echo = type == kIcmpv6EchoRequest || type == kIcmpv6EchoReply;
  const bool error = type >= kIcmpv6DestUnreachable && type <= kIcmpv6ParamProblem;
  if ((nd && message.size() < kNdMinLen) || ((echo || error) && message.size() < kEchoLen)) {
    return fail(WireError::kTruncated);
  }
  if (!verify_l4_checksum_ipv6(src, dst, kIpProtoIcmpv6, message)) {
    return fail(WireError::kBadChecksum);
  }
  Icmpv6View v(message);
  if (!nd) {
    return v;
  }
  // RFC 4861 §7.1.1 (NS) and §7.1.2 (NA): a node MUST silently discard messages that fail
  // these checks. Hop limit 255 proves the sender is on-link.
  const Ipv6Addr target = v.nd_target();
  if (hop_limit != kNdHopLimit || v.code() != 0 || target.is_multicast()) {
    return fail(WireError::kBadNeighborDiscovery);
  }
  for (size_t off = kNdMinLen; off < message.size();) {
    if (off + 2 > message.size()) {
      return fail(WireError::kBadOptionLength);
    }
    const uint8_t opt = detail::load8(&message[off]);
    const size_t len = detail::load8(&message[off + 1]) * 8u;
    if (len == 0 || off + len > message.size()) {
      return fail(WireError::kBadOptionLength);
    }
    if (opt == kNdOptSourceLinkAddr || opt == kNdOptTargetLinkAddr) {
      if (len != kLlOptLen) {
        return fail(WireError::kBadOptionLength);
      }
      uint16_t& slot = opt == kNdOptSourceLinkAddr ? v.source_ll_off_ : v.target_ll_off_;
      if (slot == 0) {
        slot = static_cast<uint16_t>(off + 2);
      }
    }
    off += len;
  }
  if (type == kIcmpv6NeighborSolicit) {
    // §7.1.1: from the unspecified address (DAD), the destination is a solicited-node
    // address and there is no Source Link-Layer Address option.
    if (src.is_unspecified() && (v.source_ll_off_ != 0 || dst != target.solicited_node())) {
      return fail(WireError::kBadNeighborDiscovery);
    }
  } else if (dst.is_multicast() && v.na_flags().solicited) {
    // §7.1.2: an advertisement to a multicast address must not claim to be solicited.
    return fail(WireError::kBadNeighborDiscovery);
  }
  return v;
}

Result<size_t, WireError> write_icmpv6_echo(std::span<std::byte> out, const Ipv6Addr& src,
                                            const Ipv6Addr& dst, uint8_t type, uint16_t id,
                                            uint16_t seq,
                                            std::span<const std::byte> data) noexcept {
  const size_t len = Icmpv6View::kEchoLen + data.size();
  if (out.size() < len) {
    return fail(WireError::kNoSpace);
  }
  if (!data.empty()) {
    std::memmove(&out[Icmpv6View::kEchoLen], data.data(), data.size());
  }
  detail::store8(&out[0], type);
  detail::store8(&out[1], 0);
  detail::store_be16(&out[4], id);
  detail::store_be16(&out[6], seq);
  fill_checksum(out.first(len), src, dst);
  return len;
}

namespace {

Result<size_t, WireError> write_nd(std::span<std::byte> out, const Ipv6Addr& src,
                                   const Ipv6Addr& dst, uint8_t type, uint8_t flags,
                                   const Ipv6Addr& target, uint8_t opt_type,
                                   std::optional<MacAddr> ll) noexcept {
  const size_t len = Icmpv6View::kNdMinLen + (ll ? kLlOptLen : 0);
  if (out.size() < len) {
    return fail(WireError::kNoSpace);
  }
  detail::store8(&out[0], type);
  detail::store8(&out[1], 0);
  detail::store_be32(&out[4], uint32_t{flags} << 24);
  target.store(&out[8]);
  if (ll) {
    detail::store8(&out[24], opt_type);
    detail::store8(&out[25], 1);
    ll->store(&out[26]);
  }
  fill_checksum(out.first(len), src, dst);
  return len;
}

}  // namespace

Result<size_t, WireError> write_icmpv6_ns(std::span<std::byte> out, const Ipv6Addr& src,
                                          const Ipv6Addr& dst, const Ipv6Addr& target,
                                          std::optional<MacAddr> source_ll) noexcept {
  return write_nd(out, src, dst, kIcmpv6NeighborSolicit, 0, target, kNdOptSourceLinkAddr,
                  source_ll);
}

Result<size_t, WireError> write_icmpv6_na(std::span<std::byte> out, const Ipv6Addr& src,
                                          const Ipv6Addr& dst, const Ipv6Addr& target,
                                          NaFlags flags,
                                          std::optional<MacAddr> target_ll) noexcept {
  const uint8_t f = static_cast<uint8_t>((flags.router ? 0x80 : 0) | (flags.solicited ? 0x40 : 0) |
                                         (flags.override ? 0x20 : 0));
  return write_nd(out, src, dst, kIcmpv6NeighborAdvert, f, target, kNdOptTargetLinkAddr, target_ll);
}

}  // namespace tempo::wire
