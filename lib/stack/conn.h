// A TCP connection as a Worker holds it: the protocol core's control block, its timers on the
// Worker's wheel, its 4-tuple, and the application's callbacks. Conns live in one array per
// Worker, allocated at start; a free list recycles them, so opening a connection allocates
// nothing.
//
// Application calls made from inside a callback (the core is mid-segment then, and must not
// be re-entered for the same Tcb: tcp/sink.h) are queued on the Conn and run when the core
// returns; calls made outside a callback run at once.
#pragma once

#include <array>
#include <cstdint>

#include <tempo/stack.h>

#include "flow/conn_table.h"
#include "stack/mbuf_buf.h"
#include "stack/tx_encoder.h"
#include "tcp/tcp.h"
#include "time/timer.h"
#include "wire/mac_addr.h"

namespace tempo::stack {

// The application's side of a connection: tempo::Handler (tempo/stack.h), a plain function
// table (no virtual call, no std::function) with one context pointer.
using AppHandler = tempo::Handler;

// Cache-line aligned: a slot shares no line with its neighbours, and the Tcb's hot fields sit
// at the same place in their lines whatever the Conn's size.
struct alignas(64) Conn {
  static constexpr size_t kMaxPendingSends = 16;

  tcp::Tcb<MbufBuf> tcb;
  std::array<time::Timer, tcp::kNumTimers> timers;
  const AppHandler* app = nullptr;
  ConnOptions opts;
  Worker* worker = nullptr;  // the owner: the application's calls go through it
  void* user = nullptr;      // the application's per-connection state
  // Its identity on the wire, as the segment encoder takes it: its tuple (the connection
  // table's key), the next hop's MAC (from the last segment received, or resolved for an
  // active open).
  TxFlow flow;
  uint32_t next_free = 0;
  uint8_t iface = 0;  // the Worker's interface it lives on (its place among the ports)
  bool in_use = false;
  bool in_core = false;         // inside tcp:: for this Tcb: queue application calls
  bool dead = false;            // CLOSED or handed to TIME_WAIT: free when the core returns
  bool embryonic = false;       // counted in its listener's backlog (SYN-RECEIVED)
  bool orphan = false;          // counted in the Worker's orphans (closed, still finishing)
  bool starved_listed = false;  // this slot is on the Worker's starved_ list (its window)
  bool charged_listed = false;  // ... on its charged_ list (its window counts in the budget)
  uint16_t listener = 0;        // index of the Worker's listener that made it (when passive)
  // Queued application calls (see the file comment).
  uint8_t pending_sends = 0;
  bool pending_close = false;
  bool pending_shutdown = false;
  bool pending_abort = false;
  bool send_blocked = false;     // the core refused a queued send: wait for its on_writable
  bool notify_writable = false;  // tell the application on_writable once the queue drains
  // A copy the send budget refused (stack/tx_budget.h) waits for the peer's window (checked
  // after each call into the core) or for TX buffers (the Worker's tx_waiters_ list).
  bool tx_wait_window = false;
  bool tx_wait_listed = false;
  uint32_t pending_consume = 0;
  std::array<MbufBuf, kMaxPendingSends> pending{};

  const flow::Tuple& tuple() const noexcept { return flow.tuple; }
  bool v6() const noexcept { return flow.tuple.v6; }
};

}  // namespace tempo::stack
