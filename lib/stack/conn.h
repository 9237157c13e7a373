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

#include "flow/conn_table.h"
#include "stack/mbuf_buf.h"
#include "tcp/tcp.h"
#include "time/timer.h"
#include "wire/mac_addr.h"

namespace tempo::stack {

struct Conn;
class Worker;

// The application's side of a connection: a plain function table (no virtual call, no
// std::function), with one context pointer.
struct AppHandler {
  void* ctx = nullptr;
  void (*on_connected)(Conn&, void* ctx) = nullptr;
  // In-order bytes. The handler takes what it keeps (copy `data`, a reference) and calls
  // consume() for what it is done with, which reopens the receive window.
  void (*on_data)(Conn&, const MbufBuf& data, void* ctx) = nullptr;
  void (*on_writable)(Conn&, void* ctx) = nullptr;
  void (*on_peer_closed)(Conn&, void* ctx) = nullptr;  // the peer's FIN: no more data
  void (*on_closed)(Conn&, tcp::CloseReason, void* ctx) = nullptr;
};

struct Conn {
  static constexpr size_t kMaxPendingSends = 16;

  tcp::Tcb<MbufBuf> tcb;
  std::array<time::Timer, tcp::kNumTimers> timers;
  const AppHandler* app = nullptr;
  Worker* worker = nullptr;  // the owner: the application's calls go through it
  void* user = nullptr;      // the application's per-connection state
  flow::FlowKey4 key4;
  flow::FlowKey6 key6;
  wire::MacAddr peer_mac;  // from the last segment received: the next hop toward the peer
  uint32_t next_free = 0;
  uint8_t port = 0;  // index of the Worker interface
  bool v6 = false;
  bool in_use = false;
  bool in_core = false;  // inside tcp:: for this Tcb: queue application calls
  bool dead = false;     // CLOSED or handed to TIME_WAIT: free when the core returns
  // Queued application calls (see the file comment).
  uint8_t pending_sends = 0;
  bool pending_close = false;
  bool pending_shutdown = false;
  bool pending_abort = false;
  bool send_blocked = false;     // the core refused a queued send: wait for its on_writable
  bool notify_writable = false;  // tell the application on_writable once the queue drains
  uint32_t pending_consume = 0;
  std::array<MbufBuf, kMaxPendingSends> pending{};
};

}  // namespace tempo::stack
