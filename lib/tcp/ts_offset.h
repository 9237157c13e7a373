// The TCP timestamp clock of a connection: a 1 ms clock plus an offset that is a keyed function
// of the address pair (local, remote) — never random per connection.
//
// DESIGN.md (TIME_WAIT, active early reuse): a new connection on a tuple still in TIME_WAIT
// must send timestamps above anything the peer saw from the old one; with one offset per
// address pair the clock only moves forward across incarnations, as Linux's secure_tcp_ts_off()
// (saddr, daddr) does. Keyed, so the offset reveals neither uptime nor the clocks used towards
// other peers (RFC 7323 §7.1, §5.4 on randomized offsets).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/prf.h"
#include "crypto/tuple.h"
#include "time/ticks.h"

namespace tempo::tcp {

inline constexpr uint8_t kPrfTagTsOffset = 'T';

// A function of the tuple's address pair only: the ports are not hashed.
inline uint32_t ts_offset(const crypto::Prf& prf, const flow::Tuple& t) noexcept {
  std::array<std::byte, 1 + 16 + 16> msg{};
  size_t at = crypto::put_be<uint8_t>(msg, 0, kPrfTagTsOffset);
  at = crypto::put_bytes(msg, at, crypto::local_address(t).view());
  at = crypto::put_bytes(msg, at, crypto::remote_address(t).view());
  return static_cast<uint32_t>(prf.eval(std::span(msg).first(at)) >> 32);
}

// RFC 7323 §5.4: the timestamp clock ticks between once a millisecond and once a second; ours
// ticks once a millisecond, as Linux's, so TSval = now in ms + the address pair's offset.
constexpr uint32_t ts_value(Ticks now, uint32_t offset) noexcept {
  return static_cast<uint32_t>(now.ms()) + offset;
}

}  // namespace tempo::tcp
