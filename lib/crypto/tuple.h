// IP addresses as the crypto code sees them (the TCP-MD5/AO pseudo-headers, the keyed
// functions' inputs), and the bytes of a flow::Tuple as the keyed functions (ISN, SYN cookie,
// timestamp and port offsets) and the TCP-AO KDF take them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "flow/tuple.h"

namespace tempo::crypto {

struct IpAddress {
  std::array<std::byte, 16> bytes{};  // network byte order; an IPv4 address uses the first 4
  bool is_v6 = false;

  // An IPv4 address from its host-order value (198.18.0.1 is 0xc6120001).
  static constexpr IpAddress v4(uint32_t host_order) noexcept {
    IpAddress a;
    a.bytes[0] = std::byte(host_order >> 24);
    a.bytes[1] = std::byte(host_order >> 16);
    a.bytes[2] = std::byte(host_order >> 8);
    a.bytes[3] = std::byte(host_order);
    return a;
  }
  static constexpr IpAddress v6(const std::array<std::byte, 16>& network_order) noexcept {
    IpAddress a;
    a.bytes = network_order;
    a.is_v6 = true;
    return a;
  }

  // The address's own bytes: 4 for IPv4, 16 for IPv6.
  constexpr std::span<const std::byte> view() const noexcept {
    return {bytes.data(), is_v6 ? size_t{16} : size_t{4}};
  }
  constexpr bool operator==(const IpAddress&) const noexcept = default;
};

namespace detail {
constexpr IpAddress address_of(bool v6, uint32_t v4, const std::array<uint8_t, 16>& a6) noexcept {
  if (!v6) {
    return IpAddress::v4(v4);
  }
  IpAddress a = IpAddress::v6({});
  for (size_t i = 0; i < 16; ++i) {
    a.bytes[i] = std::byte(a6[i]);
  }
  return a;
}
}  // namespace detail

// The two addresses of a tuple, local and remote.
constexpr IpAddress local_address(const flow::Tuple& t) noexcept {
  return detail::address_of(t.v6, t.t4.local, t.t6.local);
}
constexpr IpAddress remote_address(const flow::Tuple& t) noexcept {
  return detail::address_of(t.v6, t.t4.remote, t.t6.remote);
}

// Appends `v` big-endian at `out[at]` and returns the position after it.
template <class T>
constexpr size_t put_be(std::span<std::byte> out, size_t at, T v) noexcept {
  for (size_t i = 0; i < sizeof(T); ++i) {
    out[at + i] = std::byte(static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i))));
  }
  return at + sizeof(T);
}

constexpr size_t put_bytes(std::span<std::byte> out, size_t at,
                           std::span<const std::byte> v) noexcept {
  for (size_t i = 0; i < v.size(); ++i) {
    out[at + i] = v[i];
  }
  return at + v.size();
}

// The tuple's bytes as keyed functions take them: local address, remote address, local port,
// remote port (network order). At most kTupleMaxBytes (IPv6).
inline constexpr size_t kTupleMaxBytes = 16 + 16 + 2 + 2;

constexpr size_t put_tuple(std::span<std::byte> out, size_t at, const flow::Tuple& t) noexcept {
  at = put_bytes(out, at, local_address(t).view());
  at = put_bytes(out, at, remote_address(t).view());
  at = put_be<uint16_t>(out, at, t.local_port());
  return put_be<uint16_t>(out, at, t.remote_port());
}

}  // namespace tempo::crypto
