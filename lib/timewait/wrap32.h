// Wrapping 32-bit comparisons for TIME_WAIT: sequence numbers (RFC 9293 §3.4), timestamps
// (RFC 7323 §5.2) and the table's 32-bit millisecond clock all live on a circle of 2^32.
//
// lib/tcp has its own SeqNum strong type; lib/timewait keeps these few helpers to itself so that
// it does not depend on the TCP core (records are built from a Tcb by lib/tcp, not here).
#pragma once

#include <cstdint>

#include "time/ticks.h"

namespace tempo::timewait {

// a is after b on the 2^32 circle (the "after()" of RFC 9293 §3.4 and Linux's after()).
constexpr bool after32(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) > 0; }
// a is before b on the 2^32 circle.
constexpr bool before32(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) < 0; }

// The table's compact clock: milliseconds, truncated to 32 bits (wraps every 49.7 days).
// Differences are taken modulo 2^32, so any interval below 2^31 ms (24.8 days) compares right.
constexpr uint32_t ms32(Ticks t) noexcept { return static_cast<uint32_t>(t.ms()); }
// Rounds up, so that an entry never leaves TIME_WAIT before its full duration.
constexpr uint32_t ms32_ceil(Ticks t) noexcept {
  return static_cast<uint32_t>((t.us() + 999) / 1000);
}

}  // namespace tempo::timewait
