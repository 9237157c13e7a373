// Ipv6Addr: a 128-bit IPv6 address, stored in wire order.
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
#include "wire/mac_addr.h"

namespace tempo::wire {

class Ipv6Addr {
 public:
  static constexpr size_t kSize = 16;

  constexpr Ipv6Addr() noexcept = default;
  constexpr explicit Ipv6Addr(const std::array<uint8_t, kSize>& b) noexcept : bytes_(b) {}

  // Reads/writes 16 bytes at p (the caller has bounds-checked them).
  static Ipv6Addr load(const std::byte* p) noexcept {
    Ipv6Addr a;
    std::memcpy(a.bytes_.data(), p, kSize);
    return a;
  }
  void store(std::byte* p) const noexcept { std::memcpy(p, bytes_.data(), kSize); }

  // RFC 4291 §2.2 text forms, including "::" compression and an embedded dotted quad
  // ("::ffff:198.18.0.1"). No zone index. Errors: kBadAddress.
  static Result<Ipv6Addr, WireError> parse(std::string_view s) noexcept;

  static constexpr Ipv6Addr all_nodes() noexcept {  // ff02::1, RFC 4291 §2.7.1
    return Ipv6Addr({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  }

  constexpr const std::array<uint8_t, kSize>& bytes() const noexcept { return bytes_; }
  constexpr bool is_unspecified() const noexcept { return *this == Ipv6Addr(); }
  constexpr bool is_loopback() const noexcept {
    return *this == Ipv6Addr({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  }
  // RFC 4291 §2.7: ff00::/8.
  constexpr bool is_multicast() const noexcept { return bytes_[0] == 0xff; }
  // RFC 4291 §2.5.6: fe80::/10.
  constexpr bool is_link_local() const noexcept {
    return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
  }

  // RFC 4291 §2.7.1: ff02::1:ffXX:XXXX, the low 24 bits of this address. Neighbor Solicitations
  // for this address go there (RFC 4861 §7.2.2).
  constexpr Ipv6Addr solicited_node() const noexcept {
    return Ipv6Addr(
        {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, bytes_[13], bytes_[14], bytes_[15]});
  }
  // RFC 2464 §7: a multicast IPv6 destination maps to 33:33 followed by its last 4 bytes.
  // Meaningful for multicast addresses (e.g. solicited_node().multicast_mac()).
  constexpr MacAddr multicast_mac() const noexcept {
    return MacAddr(0x33, 0x33, bytes_[12], bytes_[13], bytes_[14], bytes_[15]);
  }
  // RFC 4291 Appendix A / RFC 2464 §5: fe80::/64 with the modified EUI-64 of a MAC.
  static constexpr Ipv6Addr link_local_from_mac(const MacAddr& m) noexcept {
    const auto& b = m.bytes();
    return Ipv6Addr({0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(b[0] ^ 0x02), b[1], b[2],
                     0xff, 0xfe, b[3], b[4], b[5]});
  }

  // RFC 5952 canonical text. For logs and tests, not the datapath.
  std::string to_string() const;

  constexpr auto operator<=>(const Ipv6Addr&) const noexcept = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace tempo::wire
