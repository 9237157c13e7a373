#include "wire/ipv4.h"

#include "wire/checksum.h"

namespace tempo::wire {

Result<Ipv4View, WireError> Ipv4View::parse(std::span<const std::byte> packet,
                                            ChecksumMode mode) noexcept {
  if (packet.size() < kMinHeaderLen) {
    return fail(WireError::kTruncated);
  }
  const uint8_t vihl = detail::load8(&packet[0]);
  if ((vihl >> 4) != 4) {
    return fail(WireError::kBadVersion);
  }
  const size_t hlen = (vihl & 0x0f) * 4u;
  if (hlen < kMinHeaderLen) {
    return fail(WireError::kBadHeaderLength);
  }
  if (packet.size() < hlen) {
    return fail(WireError::kTruncated);
  }
  const size_t total = detail::load_be16(&packet[2]);
  // RFC 1122 §3.2.1.2 (checksum) and RFC 791 (total length): a receiver MUST check both.
  if (total < hlen || total > packet.size()) {
    return fail(WireError::kBadTotalLength);
  }
  if (mode == ChecksumMode::kVerify && !verify_internet_checksum(packet.first(hlen))) {
    return fail(WireError::kBadChecksum);
  }
  return Ipv4View(packet.first(total));
}

Result<size_t, WireError> write_ipv4(std::span<std::byte> out, const Ipv4HeaderFields& f) noexcept {
  constexpr size_t kLen = Ipv4View::kMinHeaderLen;
  if (out.size() < kLen) {
    return fail(WireError::kNoSpace);
  }
  if (size_t{f.payload_len} + kLen > 0xffff) {
    return fail(WireError::kTooLong);
  }
  detail::store8(&out[0], 0x45);
  detail::store8(&out[1], f.tos);
  detail::store_be16(&out[2], static_cast<uint16_t>(f.payload_len + kLen));
  detail::store_be16(&out[4], f.id);
  detail::store_be16(&out[6], f.dont_fragment ? 0x4000 : 0);
  detail::store8(&out[8], f.ttl);
  detail::store8(&out[9], f.protocol);
  detail::store_be16(&out[10], 0);
  f.src.store(&out[12]);
  f.dst.store(&out[16]);
  detail::store_be16(&out[10], internet_checksum(out.first(kLen)));
  return kLen;
}

}  // namespace tempo::wire
