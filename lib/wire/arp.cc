#include "wire/arp.h"

#include "wire/ethernet.h"

namespace tempo::wire {

Result<ArpView, WireError> ArpView::parse(std::span<const std::byte> packet) noexcept {
  if (packet.size() < kLen) {
    return fail(WireError::kTruncated);
  }
  if (detail::load_be16(&packet[0]) != kHwEthernet ||
      detail::load_be16(&packet[2]) != kEtherTypeIpv4 || detail::load8(&packet[4]) != 6 ||
      detail::load8(&packet[5]) != 4) {
    return fail(WireError::kUnsupported);
  }
  // Ethernet pads ARP to 46 bytes; the padding is not ours.
  return ArpView(packet.first(kLen));
}

Result<size_t, WireError> write_arp(std::span<std::byte> out, ArpOp op, const MacAddr& sha,
                                    Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa) noexcept {
  if (out.size() < ArpView::kLen) {
    return fail(WireError::kNoSpace);
  }
  detail::store_be16(&out[0], ArpView::kHwEthernet);
  detail::store_be16(&out[2], kEtherTypeIpv4);
  detail::store8(&out[4], 6);
  detail::store8(&out[5], 4);
  detail::store_be16(&out[6], static_cast<uint16_t>(op));
  sha.store(&out[8]);
  spa.store(&out[14]);
  tha.store(&out[18]);
  tpa.store(&out[24]);
  return ArpView::kLen;
}

}  // namespace tempo::wire
