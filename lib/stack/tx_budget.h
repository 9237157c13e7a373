// TxBudget: which data copies a connection may take from a port's TX pool, the send side's
// counterpart of the receive budget (tcp::RcvBudget). Issue 19 finding 5: clients that ask for
// large responses and never read drained the TX pool (each queued up to tcp.snd_buf of copied
// data, about 64 of them held all 8,191 buffers), and every other connection then got nothing.
//
// Three rules, each one comparison, for one more buffer copied into a connection's send queue:
//  1. The pool's last quarter is kept for headers (ACKs, ARP, retransmission headers): no data
//     copy takes it (the rule that was already there, dpdk/port.h).
//  2. A connection queues no more than its peer's window takes (at least one segment): memory
//     that cannot leave is not taken. A client that never reads closes its window, and then
//     pins one segment's worth, not a send buffer's.
//  3. A connection that already holds kSmall or more may copy only while more than half of
//     the pool is free: the quarter between is the reserve for connections holding little
//     (fresh requests), which the busy ones cannot take (the receive budget's reserve idea).
// A copy refused waits: the Worker wakes the connection (on_writable) when its window opens
// (rule 2) or when the pool has room for it again (rules 1 and 3).
//
// Pure functions of sampled figures: no pool, no connection, no Worker (tests/unit/stack/
// tx_budget_test.cc).
#pragma once

#include <algorithm>
#include <cstdint>

namespace tempo::stack {

struct TxBudget {
  enum class Verdict : uint8_t {
    kTake,        // copy it
    kWaitWindow,  // rule 2: wait for the peer's window
    kWaitPool,    // rules 1 and 3: wait for buffers to free
  };
  // Holding less than this (queued bytes), a connection may use the reserve (rule 3).
  static constexpr uint32_t kSmall = 64 * 1024;

  // `free` of the pool's `size` buffers are free (sampled); the connection has `queued` bytes
  // in its send queue (unacknowledged and unsent), its peer offers `window` bytes (SND.WND),
  // its segments carry `mss`.
  static Verdict may_copy(uint32_t free, uint32_t size, uint32_t queued, uint32_t window,
                          uint32_t mss) noexcept {
    if (free <= size / 4) {
      return Verdict::kWaitPool;
    }
    if (!window_allows(queued, window, mss)) {
      return Verdict::kWaitWindow;
    }
    return pool_allows(free, size, queued) ? Verdict::kTake : Verdict::kWaitPool;
  }
  // Rules 1 and 3 alone: may a connection waiting for the pool try again?
  static bool pool_allows(uint32_t free, uint32_t size, uint32_t queued) noexcept {
    return queued < kSmall ? free > size / 4 : free > size / 2;
  }
  // Rule 2 alone: has the peer's window room again?
  static bool window_allows(uint32_t queued, uint32_t window, uint32_t mss) noexcept {
    return queued < std::max(window, mss);
  }
};

}  // namespace tempo::stack
