// Ipv4Addr: an IPv4 address as a host-order 32-bit value (198.18.0.1 is 0xc6120001).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <tempo/result.h>

#include "wire/bytes.h"
#include "wire/error.h"

namespace tempo::wire {

class Ipv4Addr {
 public:
  static constexpr size_t kSize = 4;

  constexpr Ipv4Addr() noexcept = default;
  constexpr explicit Ipv4Addr(uint32_t host_order) noexcept : value_(host_order) {}
  constexpr Ipv4Addr(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept
      : value_(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d) {}

  // Reads/writes 4 bytes in network order at p (the caller has bounds-checked them).
  static Ipv4Addr load(const std::byte* p) noexcept { return Ipv4Addr(detail::load_be32(p)); }
  void store(std::byte* p) const noexcept { detail::store_be32(p, value_); }

  // Dotted quad, exactly four decimal parts 0..255 without leading zeros ("010.0.0.1" is
  // refused: inet_aton would read it as octal). Errors: kBadAddress.
  static Result<Ipv4Addr, WireError> parse(std::string_view s) noexcept;

  constexpr uint32_t value() const noexcept { return value_; }
  // The value in network byte order, as DPDK's rte_ipv4_hdr fields hold it.
  constexpr uint32_t to_be() const noexcept { return detail::be32(value_); }

  constexpr bool is_unspecified() const noexcept { return value_ == 0; }
  constexpr bool is_broadcast() const noexcept { return value_ == 0xffffffff; }
  // RFC 5771: 224.0.0.0/4.
  constexpr bool is_multicast() const noexcept { return (value_ >> 28) == 0xe; }
  // RFC 1122 §3.2.1.3: 127.0.0.0/8.
  constexpr bool is_loopback() const noexcept { return (value_ >> 24) == 127; }

  // Dotted quad. For logs and tests, not the datapath.
  std::string to_string() const;

  constexpr auto operator<=>(const Ipv4Addr&) const noexcept = default;

 private:
  uint32_t value_ = 0;
};

}  // namespace tempo::wire
