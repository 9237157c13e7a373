// Loss recovery driven by ACKs: RFC 5681 §3.2 fast retransmit and RFC 6582 NewReno fast
// recovery, with the congestion controller (lib/tcp/cc) deciding the window.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/output.h"
#include "tcp/sink.h"
#include "tcp/tcb.h"
#include "time/ticks.h"

namespace tempo::tcp::detail {

inline constexpr uint8_t kDupAckThreshold = 3;  // RFC 5681 §3.2 (DupThresh)

// Retransmits the first unacknowledged segment (RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 5
// partial ACK) without moving SND.NXT.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void retransmit_first(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  const uint32_t outstanding = distance(t.snd_una, t.snd_max);
  const bool fin_out = t.fin_sent;
  const uint32_t data_out = std::min(outstanding - (fin_out ? 1u : 0u), t.sndq.bytes());
  OutSegment<Buf> o;
  uint32_t len = std::min<uint32_t>(data_out, t.snd_mss);
  if (len > 0) {
    len = t.sndq.reference(0, len, o);
  }
  const bool fin = fin_out && len == data_out;
  if (len == 0 && !fin) {
    return;
  }
  o.seq = t.snd_una;
  o.flags = flag::kAck;
  if (fin) {
    o.flags |= flag::kFin;
  }
  finish_segment(t, o, now);
  ++s.core().counters.retransmits;
  t.rtt_timing = false;  // RFC 6298 §3 (Karn): no sample across a retransmission
  emit(t, o, s);
}

template <Buffer Buf, class S>
requires Sink<S, Buf>
void on_dup_ack(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  if (t.in_recovery) {
    // RFC 6582 §3.2 step 4: each further duplicate ACK may release new data (the controller
    // inflates cwnd).
    t.cc.on_dupack(t.snd_mss);
    return;
  }
  if (++t.dupacks != kDupAckThreshold) {
    return;
  }
  // RFC 6582 §3.2 step 2: enter recovery only when the loss is past the last recovery point.
  if (t.snd_una - 1 < t.recover && t.recover != t.iss) {
    return;
  }
  t.recover = t.snd_max;
  t.in_recovery = true;
  ++s.core().counters.fast_retransmits;
  t.cc.on_enter_recovery(t.flight(), t.snd_mss, now);
  retransmit_first(t, now, s);
}

// New data acknowledged (`bytes` of payload; `flight` before the ACK).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void on_new_ack(Tcb<Buf>& t, uint32_t bytes, uint32_t flight, Ticks now, S& s) noexcept {
  t.dupacks = 0;
  if (t.in_recovery) {
    if (t.snd_una >= t.recover) {
      // RFC 6582 §3.2 step 3 full acknowledgment: leave recovery.
      t.in_recovery = false;
      t.cc.on_exit_recovery(t.snd_mss, t.flight());
    } else {
      // Step 5 partial acknowledgment: the next hole is lost too; retransmit it now.
      t.cc.on_partial_ack(bytes, t.snd_mss);
      retransmit_first(t, now, s);
    }
    return;
  }
  t.cc.on_ack(bytes, t.snd_mss, flight, now, t.rtt.srtt());
}

}  // namespace tempo::tcp::detail
