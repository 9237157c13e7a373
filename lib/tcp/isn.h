// Initial sequence numbers, RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
// secretkey), M a timer ticking every 4 microseconds, F a keyed PRF (crypto::Prf, AES-128-CMAC).
//
// A pure function of (tuple, now): the protocol core reads no clock (DESIGN.md principle 3).
// Successive connections on one tuple get ISNs that advance with M, which keeps old duplicates
// out of a new incarnation (RFC 9293 §3.4.1) and lets RFC 6191 reuse rely on "ISN beyond
// rcv_nxt"; different tuples (or secrets) get unrelated offsets, so ISNs cannot be predicted
// off-path (RFC 6528 §1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/prf.h"
#include "crypto/tuple.h"
#include "time/ticks.h"

namespace tempo::tcp {

// Domain separation: each keyed function of lib/tcp prefixes its PRF input with its own tag, so
// one secret can serve ISNs, SYN cookies and timestamp offsets.
inline constexpr uint8_t kPrfTagIsn = 'I';

// RFC 6528 §3: M, the 4-microsecond timer, modulo 2^32.
constexpr uint32_t isn_clock(Ticks now) noexcept { return static_cast<uint32_t>(now.us() / 4); }

inline uint32_t isn(const crypto::Prf& prf, const flow::Tuple& t, Ticks now) noexcept {
  std::array<std::byte, 1 + crypto::kTupleMaxBytes> msg{};
  size_t at = crypto::put_be<uint8_t>(msg, 0, kPrfTagIsn);
  at = crypto::put_tuple(msg, at, t);
  const auto f = static_cast<uint32_t>(prf.eval(std::span(msg).first(at)) >> 32);
  return isn_clock(now) + f;
}

}  // namespace tempo::tcp
