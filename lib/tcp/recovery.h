// Loss recovery driven by ACKs: RFC 5681 §3.2 fast retransmit, RFC 6582 NewReno fast recovery
// when SACK was not negotiated, and RFC 6675 SACK-based recovery (scoreboard in tcp/sack.h,
// NextSeg/pipe transmission in output.h sack_output) when it was; the congestion controller
// (lib/tcp/cc) decides the window.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/output.h"
#include "tcp/sack.h"
#include "tcp/segment.h"
#include "tcp/sink.h"
#include "tcp/tcb.h"
#include "time/ticks.h"

namespace tempo::tcp::detail {

inline constexpr uint8_t kDupAckThreshold = kDupThresh;  // RFC 5681 §3.2 (DupThresh)

// RFC 2018 §4-5, RFC 6675 §4 Update(): records the SACK blocks of an acceptable ACK (SND.UNA
// already advanced to it) in the scoreboard. Returns the octets newly SACKed.
//
// RFC 2883 §4: the first block is a D-SACK, reporting a duplicate the peer received, when it
// lies below SEG.ACK or inside the second block; it says nothing about holes, so it is counted
// and ignored. RFC 2018 §4 blocks report data we sent: one reaching beyond SND.MAX is bogus and
// ignored whole; one below SND.UNA is stale (a reordered ACK) and ignored, and the part of a
// block below SND.UNA is trimmed.
template <Buffer Buf>
uint32_t sack_update(Tcb<Buf>& t, const Segment<Buf>& seg, Counters& c) noexcept {
  t.sacked.trim(t.snd_una);
  const uint8_t n = std::min<uint8_t>(seg.opts.num_sack, wire::TcpOptions::kMaxSackBlocks);
  uint32_t fresh = 0;
  for (uint8_t i = 0; i < n; ++i) {
    const SeqNum l(seg.opts.sack[i].left);
    const SeqNum r(seg.opts.sack[i].right);
    if (i == 0) {
      const bool below_ack = l < r && r <= seg.ack;
      const bool inside_second = n > 1 && l < r && SeqNum(seg.opts.sack[1].left) <= l &&
                                 r <= SeqNum(seg.opts.sack[1].right);
      if (below_ack || inside_second) {
        ++c.dsacks;
        continue;
      }
    }
    if (!(l < r) || r > t.snd_max || r <= t.snd_una) {
      ++c.sack_blocks_invalid;
      continue;
    }
    fresh += t.sacked.add(max(l, t.snd_una), r);
  }
  return fresh;
}

// RFC 5681 §3.2 step 2 / RFC 6675 §5 (4.3): retransmit the first unacknowledged segment
// without moving SND.NXT. Returns the sequence space retransmitted.
template <Buffer Buf, class S>
requires Sink<S, Buf> uint32_t retransmit_first(Tcb<Buf>& t, Ticks now, S& s)
noexcept {
  uint32_t len = t.snd_mss;
  if (t.sack_ok && !t.sacked.empty()) {
    // Only the hole: what the peer SACKed right above SND.UNA is not sent again.
    len = std::min(len, distance(t.snd_una, t.sacked[0].left));
    if (len == 0) {
      return 0;
    }
  }
  return retransmit_range(t, t.snd_una, len, now, s);
}

// Enter loss recovery (RFC 6582 §3.2 step 2-3, RFC 6675 §5 step 4) and fast retransmit.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void enter_recovery(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  // RFC 6582 §3.2 step 2, RFC 6675 §5 step (3): only when the loss is past the last recovery
  // point (RFC 6675 §5.1: also after an RTO).
  if (t.snd_una - 1 < t.recover && t.recover != t.iss) {
    return;
  }
  t.recover = t.snd_max;  // (4.1) RecoveryPoint = HighData
  t.in_recovery = true;
  ++s.core().counters.fast_retransmits;
  // RFC 5681 §3.2 step 2: data sent by Limited Transmit is not part of FlightSize here.
  const uint32_t flight = t.flight() - std::min(t.lt_bytes, t.flight());
  t.lt_bytes = 0;
  if (t.sack_ok) {
    // (4.2) ssthresh = cwnd = FlightSize / 2 (the controller decides); (4.3) retransmit the
    // first segment presumed lost and set HighRxt; (4.4) step (C) follows in output().
    ++s.core().counters.sack_recoveries;
    t.rescue_sent = false;
    t.high_rxt = t.snd_una;
    t.cc.on_enter_recovery(flight, t.snd_mss, now, cc::RecoveryMode::kSack);
    t.high_rxt = t.snd_una + retransmit_first(t, now, s);
    return;
  }
  t.cc.on_enter_recovery(flight, t.snd_mss, now);
  retransmit_first(t, now, s);
}

template <Buffer Buf>
void leave_recovery(Tcb<Buf>& t) noexcept {
  t.in_recovery = false;
  t.rescue_sent = false;
  t.high_rxt = t.snd_una;
}

// A duplicate ACK (RFC 5681 §2; with SACK, RFC 6675 §2: one that SACKed new data).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void on_dup_ack(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  if (t.in_recovery) {
    // RFC 6582 §3.2 step 4: each further duplicate ACK may release new data (the controller
    // inflates cwnd). RFC 6675 §5 (B)-(C): no inflation; pipe, recomputed in output(), does.
    if (!t.sack_ok) {
      t.cc.on_dupack(t.snd_mss);
    }
    return;
  }
  if (t.dupacks < UINT8_MAX) {
    ++t.dupacks;
  }
  const bool trigger =
      t.sack_ok ? t.dupacks >= kDupAckThreshold ||
                      // RFC 6675 §5 step (2): fewer duplicate ACKs, but IsLost(HighACK + 1):
                      // DupThresh segments or more than (DupThresh - 1) * SMSS SACKed above it.
                      (!t.sacked.empty() &&
                       sack_is_lost(t.sacked, t.snd_una, t.snd_max, t.snd_mss, t.snd_una))
                : t.dupacks == kDupAckThreshold;  // RFC 5681 §3.2 step 2: the third one
  if (trigger) {
    enter_recovery(t, now, s);
  }
}

// New data acknowledged (`bytes` of payload; `flight` before the ACK).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void on_new_ack(Tcb<Buf>& t, uint32_t bytes, uint32_t flight, Ticks now, S& s) noexcept {
  t.dupacks = 0;
  t.lt_bytes = 0;
  if (t.in_recovery) {
    if (t.snd_una >= t.recover) {
      // RFC 6582 §3.2 step 3 full acknowledgment, RFC 6675 §5 (A): the cumulative ACK covers
      // RecoveryPoint; leave recovery.
      leave_recovery(t);
      t.cc.on_exit_recovery(t.snd_mss, t.flight());
    } else if (!t.sack_ok) {
      // Step 5 partial acknowledgment: the next hole is lost too; retransmit it now.
      t.cc.on_partial_ack(bytes, t.snd_mss);
      retransmit_first(t, now, s);
    }
    // RFC 6675 §5 (B): a partial ACK only updates the scoreboard (done); output() runs (C).
    return;
  }
  t.cc.on_ack(bytes, t.snd_mss, flight, now, t.rtt.srtt());
}

}  // namespace tempo::tcp::detail
