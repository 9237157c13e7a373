// Ethernet II frames with up to two 802.1Q / 802.1ad VLAN tags: a bounds-checked view and a
// builder. The frame check sequence is not part of the buffer (NICs strip it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/result.h>

#include "wire/bytes.h"
#include "wire/error.h"
#include "wire/mac_addr.h"

namespace tempo::wire {

// IEEE 802 EtherType values (IANA "ieee-802-numbers").
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // IEEE 802.1Q C-tag
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // IEEE 802.1ad S-tag
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

class EthView {
 public:
  static constexpr size_t kHeaderLen = 14;
  static constexpr size_t kVlanTagLen = 4;
  // An S-tag and a C-tag (QinQ). A third tag is refused with kUnsupported.
  static constexpr size_t kMaxVlanTags = 2;

  // Errors: kTruncated (shorter than 14 bytes, or than the VLAN tags it announces),
  // kUnsupported (more than kMaxVlanTags tags).
  static Result<EthView, WireError> parse(std::span<const std::byte> frame) noexcept;

  MacAddr dst() const noexcept { return MacAddr::load(&buf_[0]); }
  MacAddr src() const noexcept { return MacAddr::load(&buf_[6]); }
  // The EtherType after any VLAN tags: what payload() holds.
  uint16_t ethertype() const noexcept { return detail::load_be16(&buf_[header_len_ - 2]); }

  size_t vlan_count() const noexcept { return (header_len_ - kHeaderLen) / kVlanTagLen; }
  bool has_vlan() const noexcept { return header_len_ > kHeaderLen; }
  // The TCI (PCP, DEI, VID) of the innermost tag; 0 when untagged.
  uint16_t vlan_tci() const noexcept {
    return has_vlan() ? detail::load_be16(&buf_[header_len_ - 4]) : 0;
  }
  uint16_t vlan_id() const noexcept { return vlan_tci() & 0x0fff; }
  // The TCI of the outermost tag; 0 when untagged.
  uint16_t outer_vlan_tci() const noexcept { return has_vlan() ? detail::load_be16(&buf_[14]) : 0; }

  size_t header_length() const noexcept { return header_len_; }
  std::span<const std::byte> payload() const noexcept { return buf_.subspan(header_len_); }
  std::span<const std::byte> bytes() const noexcept { return buf_; }

 private:
  EthView(std::span<const std::byte> buf, uint8_t header_len) noexcept
      : buf_(buf), header_len_(header_len) {}

  std::span<const std::byte> buf_;
  uint8_t header_len_;
};

// Writes a 14-byte Ethernet II header. Errors: kNoSpace.
Result<size_t, WireError> write_eth(std::span<std::byte> out, const MacAddr& dst,
                                    const MacAddr& src, uint16_t ethertype) noexcept;
// Writes an 18-byte header with one 802.1Q tag carrying `tci`. Errors: kNoSpace.
Result<size_t, WireError> write_eth_vlan(std::span<std::byte> out, const MacAddr& dst,
                                         const MacAddr& src, uint16_t tci,
                                         uint16_t ethertype) noexcept;

}  // namespace tempo::wire
