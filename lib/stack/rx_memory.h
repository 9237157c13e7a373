// RxMemory: a Worker's receive memory (DESIGN.md principle 4): what its ports' pools hold, the
// budget every connection's window draws on (tcp::RcvBudget, which the protocol core reaches
// through its sink), how a received segment's payload is held, and the connections whose
// windows wait on it.
//
//  - Pools. Sampled once per burst (rte_mempool_avail_count walks the per-lcore caches), per
//    port: rx_low (below a sixteenth free: payload is copied out, not held), rx_tight (below
//    half: small segments are packed), tx_low and tx_free (the send budget's figures,
//    stack/tx_budget.h). The budget's limit follows the scarcest port's RX pool.
//  - Payload. A segment's bytes stay in their RX mbuf (one more reference); small ones are
//    packed into a shared buffer when memory is tight or the data waits (unread or out of
//    order: Linux collapses such receive queues); under pressure they are copied out so the RX
//    buffer goes straight back; with no memory at all the data is dropped (the peer resends).
//  - Windows. A connection whose open window is charged to the budget is on `charged`; one
//    that received nothing for kDormantAfter stops being charged (Tcb::rcv_dormant), so idle
//    windows do not hold the budget. One whose window the budget held shut is on `starved`;
//    reopen() offers them, oldest first, as far as the budget has room for each.
//
// It knows connections (stack/conn.h) and pools, not the Worker: what reopening a window means
// (a call into the protocol core) is the caller's callback. Tests: tests/unit/stack/
// rx_memory_test.cc.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <rte_mbuf.h>

#include "stack/conn.h"
#include "stack/interface.h"
#include "stack/mbuf_buf.h"
#include "stack/slot_fifo.h"
#include "tcp/config.h"
#include "tcp/core_state.h"
#include "tcp/rcv_budget.h"
#include "telemetry/counters.h"
#include "time/ticks.h"

namespace tempo::stack {

// One port's pools as last sampled.
struct PoolState {
  bool rx_low = false;    // RX pool below a sixteenth free: payload is copied out
  bool rx_tight = false;  // RX pool below half free: small segments are packed
  bool tx_low = false;    // TX pool below a quarter free: kept for headers (dpdk/port.h)
  // The TX pool's free buffers as last sampled, less what data copies took since (TxBudget).
  uint32_t tx_free = UINT32_MAX;
  int64_t rcv_limit = INT64_MAX / 4;  // this port's share of the receive budget's limit
  rte_mbuf* pack = nullptr;  // the RX buffer small segments are packed into (one reference)
};

class RxMemory {
 public:
  // Payload at most this long may be packed: a buffer holding it alone would be less than a
  // third full.
  static constexpr uint32_t kPackMax = 512;
  static constexpr Ticks kDormantAfter = Ticks::from_ms(200);
  // How a segment's payload is held (hold()).
  enum class Held : uint8_t { kRef, kPacked, kCopied, kDropped };

  RxMemory(size_t ifaces, telemetry::StackCounters& counters);
  ~RxMemory();
  RxMemory(const RxMemory&) = delete;
  RxMemory& operator=(const RxMemory&) = delete;

  // `slots`: the connection slots (each on a list at most once); `small`: what a connection
  // holding little holds at most (the budget's reserve is for those); `mss`: our MSS, of which
  // one RX buffer is counted as one full segment carrying timestamps.
  void init(uint32_t slots, uint32_t small, uint16_t mss);

  tcp::RcvBudget& budget() noexcept { return budget_; }
  const tcp::RcvBudget& budget() const noexcept { return budget_; }
  PoolState& pool(size_t at) noexcept { return pools_[at]; }
  const PoolState& pool(size_t at) const noexcept { return pools_[at]; }
  // What the budget counts one RX buffer as: a full segment carrying timestamps. The limit and
  // the step that reopens a starved window use this one figure (two that differed by 12 bytes
  // left windows shut for good).
  int64_t buffer_bytes() const noexcept { return buffer_bytes_; }

  // Reads interface `at`'s pools (`iface`'s) and sets the budget's limit from the scarcest port.
  void sample(size_t at, const Interface& iface) noexcept;

  // The payload of a segment that arrived in `m` on interface `at`, into `out`. `waits`: the
  // connection already holds unread or out-of-order data. kDropped leaves `out` empty.
  Held hold(size_t at, const Interface& iface, rte_mbuf* m, std::span<const std::byte> payload,
            bool waits, MbufBuf& out) noexcept;
  // Lets go of every port's pack buffer (stop, teardown).
  void release_packs() noexcept;

  // After a call into the core for `c` (slot `slot`; `core` the core's per-Worker state, whose
  // rcv_budget is budget()): onto `charged` when its window now counts in the budget, onto
  // `starved` when the budget held it shut.
  void note(Conn& c, uint32_t slot, tcp::CoreState& core) noexcept;
  bool charged_waiting() const noexcept { return !charged_.empty(); }
  // Whether reopen() has work now (at most every kReopenInterval).
  bool reopen_due(Ticks now) noexcept {
    if (starved_.empty() || now < next_reopen_) {
      return false;
    }
    next_reopen_ = now + kReopenInterval;
    return true;
  }
  // Whether release_dormant() is due: at most every kDormantInterval, as dormancy is a matter
  // of kDormantAfter (checking every loop turn cost a bulk relay 6% of its cycles, each turn
  // reading the same few connections).
  bool dormant_due(Ticks now) noexcept {
    if (charged_.empty() || now < next_dormant_) {
      return false;
    }
    next_dormant_ = now + kDormantInterval;
    return true;
  }
  // Some charged connections (4, or a 128th of them, each call: all within 128 calls): one
  // idle for kDormantAfter stops being charged.
  void release_dormant(std::span<Conn> conns, Ticks now, tcp::CoreState& core) noexcept;
  // Starved connections, oldest first, as far as the budget has room for each: `open(c)` asks
  // the core for the window update (RFC 9293 §3.8.6.2.2) and returns whether the window grew.
  // At most `max` a call; one still short goes to the back.
  template <class Open>
  void reopen(std::span<Conn> conns, size_t max, Open&& open) noexcept;

  static constexpr Ticks kReopenInterval = Ticks::from_us(10);
  static constexpr Ticks kDormantInterval = Ticks::from_ms(1);

 private:
  bool pack(PoolState& ps, const Interface& iface, std::span<const std::byte> payload,
            MbufBuf& out) noexcept;

  telemetry::StackCounters& counters_;
  std::vector<PoolState> pools_;
  tcp::RcvBudget budget_;
  int64_t buffer_bytes_;
  bool pressure_ = false;  // some port's RX pool is nearly empty (rx_low)
  SlotFifo starved_;
  SlotFifo charged_;
  Ticks next_reopen_{};
  Ticks next_dormant_{};
};

template <class Open>
void RxMemory::reopen(std::span<Conn> conns, size_t max, Open&& open) noexcept {
  const int64_t step = buffer_bytes_;  // one buffer: what the budget counts in
  if (budget_.credit(true) < step) {
    return;  // no room even for a connection holding little
  }
  starved_.visit(max, [&](uint32_t slot) {
    Conn& c = conns[slot];
    c.starved_listed = false;
    if (!c.in_use || c.dead || c.in_core || !c.tcb.rcv_starved) {
      return false;
    }
    if (budget_.credit(c.tcb.holds_little(budget_.small)) < step) {
      c.starved_listed = true;  // still no room for this one: to the back
      return true;
    }
    if (open(c)) {
      counters_.tcp_rcv_reopened++;
    }
    return false;
  });
}

}  // namespace tempo::stack
