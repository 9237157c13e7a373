// What the protocol core produces, as a concept the Worker (and the test recorder) implements.
//
// Every call happens inline from tcp::input / on_timer / send / close. The Sink MUST NOT call
// back into tcp:: for the same Tcb from inside a callback; the Worker queues application
// actions until the core returns (the core's state is consistent at each callback, but the
// callback is not a re-entry point).
#pragma once

#include <concepts>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/core_state.h"
#include "tcp/segment.h"
#include "tcp/seq.h"
#include "time/ticks.h"

namespace tempo::tcp {

// One timer slot per kind per connection; the Worker maps them onto its timer wheel.
enum class TimerKind : uint8_t {
  kRetransmit,  // RFC 6298 (also SYN and SYN-ACK retries, and FIN)
  kDelayedAck,  // RFC 9293 §3.8.6.3
  kPersist,     // RFC 9293 §3.8.6.1 zero-window probing
  kKeepalive,   // RFC 9293 §3.8.4, RFC 1122 4.2.3.6
  kFinWait2,    // orphaned FIN-WAIT-2 bound (Linux tcp_fin_timeout)
};
inline constexpr int kNumTimers = 5;

enum class CloseReason : uint8_t {
  kNormal,            // both FINs exchanged and acknowledged (or TIME-WAIT handed off)
  kReset,             // peer sent an acceptable RST in a synchronized state
  kRefused,           // RST in answer to our SYN (RFC 9293 §3.10.7.3)
  kTimeout,           // retransmissions exhausted (RFC 1122 4.2.3.5 R2)
  kKeepaliveTimeout,  // keepalive probes unanswered
  kFinWait2Timeout,   // orphaned FIN-WAIT-2 expired
  kAborted,           // local abort(): we sent RST
  kUnreachable,       // SYN-SENT: an ICMP hard error (RFC 1122 §4.2.3.9; tcp/pmtu.h)
};

// What lib/timewait's compact record needs (the 4-tuple is the caller's).
struct TimeWaitInfo {
  SeqNum snd_nxt;
  SeqNum rcv_nxt;
  uint32_t ts_recent = 0;
  Ticks ts_recent_age{};
  uint32_t ts_offset = 0;
  bool timestamps = false;
  uint16_t rcv_wnd = 0;  // the window we last advertised, as carried
  uint8_t rcv_wscale = 0;
};

template <class S, class Buf>
concept Sink = Buffer<Buf> &&
    requires(S s, const OutSegment<Buf>& seg, TimerKind k, Ticks t, const Buf& b, uint32_t n,
             CloseReason r, const TimeWaitInfo& tw) {
  s.emit(seg);         // transmit this segment (clone the payload refs you keep)
  s.arm_timer(k, t);   // (re)arm the timer of this kind at absolute deadline t
  s.cancel_timer(k);   // cancel it (no-op when not armed)
  s.on_connected();    // ESTABLISHED reached
  s.on_data(b, n, n);  // in-order bytes [off, off+len) of b; call tcp::consume later
  s.on_writable();     // send queue space freed after a send() was refused
  s.on_peer_fin();     // the peer's FIN arrived in order: no more data
  s.on_closed(r);      // the Tcb reached CLOSED; it may be freed after this returns
  s.on_time_wait(tw);  // TIME-WAIT reached: hand off to lib/timewait, free the Tcb
  { s.core() } -> std::same_as<CoreState&>;
};

}  // namespace tempo::tcp
