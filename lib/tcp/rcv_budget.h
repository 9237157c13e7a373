// The receive memory a Worker's connections share (issue 13). Per core: the protocol core
// reaches it through its Sink (CoreState::rcv_budget, core_state.h).
#pragma once

#include <cstdint>

namespace tempo::tcp {

// Every byte of window a connection offers may arrive and must then be held; so the core
// charges each connection's offered, not yet filled window (Tcb::rcv_commit, settle_rcv_commit
// in output.h) against `limit`, which the Worker sets from its free RX buffers. Windows open
// only as far as the budget allows, so the windows in use never add up to more than the buffers
// can hold, and a peer that sends what it was offered is flow-controlled, not dropped. A
// dormant connection (no data for a while, Tcb::rcv_dormant) is not charged.
struct RcvBudget {
  int64_t limit = INT64_MAX / 4;  // bytes all open windows may still bring in
  int64_t committed = 0;          // the sum of every connection's rcv_commit
  // A connection holding less than `small` bytes (received and unread, out of order, or
  // queued to send) may also take `reserve`: the buffers the busy ones cannot reach, so a
  // few connections that hold everything (peers that send and never read) cannot shut out
  // the rest.
  int64_t reserve = 0;
  uint32_t small = 0;
  int64_t credit(bool holding_little) const noexcept {
    return limit - committed + (holding_little ? reserve : 0);
  }
};

}  // namespace tempo::tcp
