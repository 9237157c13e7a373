// MacAddr: a 48-bit IEEE 802 MAC address, stored in wire order.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <tempo/result.h>

#include "wire/error.h"

namespace tempo::wire {

class MacAddr {
 public:
  static constexpr size_t kSize = 6;

  constexpr MacAddr() noexcept = default;
  constexpr explicit MacAddr(const std::array<uint8_t, kSize>& b) noexcept : bytes_(b) {}
  constexpr MacAddr(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f) noexcept
      : bytes_{a, b, c, d, e, f} {}

  // Reads 6 bytes at p (the caller has bounds-checked them).
  static MacAddr load(const std::byte* p) noexcept {
    MacAddr m;
    std::memcpy(m.bytes_.data(), p, kSize);
    return m;
  }
  void store(std::byte* p) const noexcept { std::memcpy(p, bytes_.data(), kSize); }

  static constexpr MacAddr broadcast() noexcept {
    return MacAddr(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  }

  // "aa:bb:cc:dd:ee:ff" (hex, either case, ':' or '-'). Errors: kBadAddress.
  static Result<MacAddr, WireError> parse(std::string_view s) noexcept;

  constexpr const std::array<uint8_t, kSize>& bytes() const noexcept { return bytes_; }
  constexpr bool is_broadcast() const noexcept { return *this == broadcast(); }
  // IEEE 802-2014 §8.2: the I/G bit (least significant bit of the first octet) marks a group
  // address. Broadcast is a group address too.
  constexpr bool is_multicast() const noexcept { return (bytes_[0] & 0x01) != 0; }
  constexpr bool is_unicast() const noexcept { return !is_multicast(); }
  constexpr bool is_zero() const noexcept { return *this == MacAddr(); }

  // "aa:bb:cc:dd:ee:ff", lower case. For logs and tests, not the datapath.
  std::string to_string() const;

  constexpr auto operator<=>(const MacAddr&) const noexcept = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace tempo::wire
