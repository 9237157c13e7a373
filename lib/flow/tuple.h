// The TCP 4-tuple, one type per address family, seen from this host ("local" is us): what the
// wire peek reads, the connection and TIME_WAIT tables key on, the keyed functions (ISN, SYN
// cookies, timestamp and port offsets) hash, and a connection's TX identity holds. No
// conversions between shapes along a segment's path: a table key is a tuple plus padding
// (conn_table.h), a TIME_WAIT record stores the tuple itself (timewait/record.h).
//
// IPv4 addresses and all ports are host-order integers; IPv6 addresses are their 16 wire
// bytes. Neither type has padding bytes, so a tuple can be hashed and compared as bytes.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

namespace tempo::flow {

struct Tuple4 {
  uint32_t local = 0;
  uint32_t remote = 0;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  friend constexpr bool operator==(const Tuple4&, const Tuple4&) noexcept = default;
};
static_assert(sizeof(Tuple4) == 12 && std::has_unique_object_representations_v<Tuple4>);

struct Tuple6 {
  std::array<uint8_t, 16> local{};
  std::array<uint8_t, 16> remote{};
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  friend constexpr bool operator==(const Tuple6&, const Tuple6&) noexcept = default;
};
static_assert(sizeof(Tuple6) == 36 && std::has_unique_object_representations_v<Tuple6>);

// A tuple of either family, where one code path serves both (a segment being demultiplexed, a
// connection's TX identity): `v6` says which member holds it; the other stays zero.
struct Tuple {
  bool v6 = false;
  Tuple4 t4;
  Tuple6 t6;

  static constexpr Tuple of(const Tuple4& t) noexcept { return {.v6 = false, .t4 = t, .t6 = {}}; }
  static constexpr Tuple of(const Tuple6& t) noexcept { return {.v6 = true, .t4 = {}, .t6 = t}; }

  constexpr uint16_t local_port() const noexcept { return v6 ? t6.local_port : t4.local_port; }
  constexpr uint16_t remote_port() const noexcept { return v6 ? t6.remote_port : t4.remote_port; }
  constexpr Tuple with_local_port(uint16_t port) const noexcept {
    Tuple t = *this;
    (v6 ? t.t6.local_port : t.t4.local_port) = port;
    return t;
  }
  friend constexpr bool operator==(const Tuple&, const Tuple&) noexcept = default;
};

}  // namespace tempo::flow
