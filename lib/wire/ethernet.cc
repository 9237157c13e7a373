#include "wire/ethernet.h"

namespace tempo::wire {

Result<EthView, WireError> EthView::parse(std::span<const std::byte> frame) noexcept {
  if (frame.size() < kHeaderLen) {
    return fail(WireError::kTruncated);
  }
  size_t len = kHeaderLen;
  uint16_t type = detail::load_be16(&frame[12]);
  // IEEE 802.1Q §9.5 / 802.1ad: a tag is a TPID (the EtherType slot) then a 2-byte TCI; the
  // real EtherType follows the last tag.
  while (type == kEtherTypeVlan || type == kEtherTypeQinQ) {
    if ((len - kHeaderLen) / kVlanTagLen == kMaxVlanTags) {
      return fail(WireError::kUnsupported);
    }
    if (frame.size() < len + kVlanTagLen) {
      return fail(WireError::kTruncated);
    }
    len += kVlanTagLen;
    type = detail::load_be16(&frame[len - 2]);
  }
  return EthView(frame, static_cast<uint8_t>(len));
}

Result<size_t, WireError> write_eth(std::span<std::byte> out, const MacAddr& dst,
                                    const MacAddr& src, uint16_t ethertype) noexcept {
  if (out.size() < EthView::kHeaderLen) {
    return fail(WireError::kNoSpace);
  }
  dst.store(&out[0]);
  src.store(&out[6]);
  detail::store_be16(&out[12], ethertype);
  return EthView::kHeaderLen;
}

Result<size_t, WireError> write_eth_vlan(std::span<std::byte> out, const MacAddr& dst,
                                         const MacAddr& src, uint16_t tci,
                                         uint16_t ethertype) noexcept {
  constexpr size_t kLen = EthView::kHeaderLen + EthView::kVlanTagLen;
  if (out.size() < kLen) {
    return fail(WireError::kNoSpace);
  }
  dst.store(&out[0]);
  src.store(&out[6]);
  detail::store_be16(&out[12], kEtherTypeVlan);
  detail::store_be16(&out[14], tci);
  detail::store_be16(&out[16], ethertype);
  return kLen;
}

}  // namespace tempo::wire
