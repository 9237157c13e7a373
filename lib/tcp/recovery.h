// Loss recovery driven by ACKs: RFC 5681 §3.2 fast retransmit, RFC 6582 NewReno fast recovery
// when SACK was not negotiated, and RFC 6675 SACK-based recovery (scoreboard in tcp/sack.h,
// NextSeg/pipe transmission in output.h sack_output) when it was; the congestion controller
// (lib/tcp/cc) decides the window.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/output.h"
#include "tcp/rack.h"
#include "tcp/sack.h"
#include "tcp/segment.h"
#include "tcp/sink.h"
#include "tcp/tcb.h"
#include "time/ticks.h"

namespace tempo::tcp::detail {

inline constexpr uint8_t kDupAckThreshold = kDupThresh;  // RFC 5681 §3.2 (DupThresh)

// What an ACK's SACK blocks said (sack_update).
struct SackNews {
  uint32_t fresh = 0;  // octets newly SACKed
  bool dsack = false;  // the first block reported a duplicate (RFC 2883)
  uint8_t n = 0;       // blocks that SACKed something new, lowest first (RACK dates them)
  std::array<SackScoreboard::Range, wire::TcpOptions::kMaxSackBlocks> blocks{};
};

// RFC 2018 §4-5, RFC 6675 §4 Update(): records the SACK blocks of an acceptable ACK (SND.UNA
// already advanced to it) in the scoreboard.
//
// RFC 2883 §4: the first block is a D-SACK, reporting a duplicate the peer received, when it
// lies below SEG.ACK or inside the second block; it says nothing about holes, so it is counted
// and ignored. RFC 2018 §4 blocks report data we sent: one reaching beyond SND.MAX is bogus and
// ignored whole; one below SND.UNA is stale (a reordered ACK) and ignored, and the part of a
// block below SND.UNA is trimmed.
template <Buffer Buf>
SackNews sack_update(Tcb<Buf>& t, const Segment<Buf>& seg, Counters& c) noexcept {
  t.sacked.trim(t.snd_una);
  const uint8_t n = std::min<uint8_t>(seg.opts.num_sack, wire::TcpOptions::kMaxSackBlocks);
  SackNews news;
  for (uint8_t i = 0; i < n; ++i) {
    const SeqNum l(seg.opts.sack[i].left);
    const SeqNum r(seg.opts.sack[i].right);
    if (i == 0) {
      const bool below_ack = l < r && r <= seg.ack;
      const bool inside_second = n > 1 && l < r && SeqNum(seg.opts.sack[1].left) <= l &&
                                 r <= SeqNum(seg.opts.sack[1].right);
      if (below_ack || inside_second) {
        ++c.dsacks;
        news.dsack = true;
        continue;
      }
    }
    if (!(l < r) || r > t.snd_max || r <= t.snd_una) {
      ++c.sack_blocks_invalid;
      continue;
    }
    const SeqNum left = max(l, t.snd_una);
    if (const uint32_t fresh = t.sacked.add(left, r); fresh > 0) {
      news.fresh += fresh;
      uint8_t at = news.n++;
      for (; at > 0 && left < news.blocks[at - 1].left; --at) {
        news.blocks[at] = news.blocks[at - 1];
      }
      news.blocks[at] = SackScoreboard::Range{left, r};
    }
  }
  return news;
}

// The highest stretch of [una, ack) the scoreboard did not hold before the ACK: what the
// cumulative ACK itself delivered last. Empty (left == right) when the scoreboard held it all.
inline SackScoreboard::Range cum_delivered(const SackScoreboard& sb, SeqNum una,
                                           SeqNum ack) noexcept {
  SeqNum end = ack;
  for (int i = sb.size() - 1; i >= 0; --i) {
    const SackScoreboard::Range& r = sb[static_cast<uint8_t>(i)];
    if (r.left >= end) {
      continue;  // above what is left to look at
    }
    if (r.right >= end) {
      end = max(r.left, una);  // held the top: look below it
      continue;
    }
    return SackScoreboard::Range{max(r.right, una), end};
  }
  return SackScoreboard::Range{una, max(end, una)};
}

inline uint32_t us32(Ticks t) noexcept { return static_cast<uint32_t>(t.us()); }

// RFC 8985 §6.2 steps 2-4 for an acceptable ACK: date the newly delivered octets (`cum`, what
// the cumulative ACK delivered, then the newly SACKed blocks), look for reordering, and let a
// D-SACK widen the reordering window. SND.UNA has moved already.
template <Buffer Buf>
void rack_on_ack(Tcb<Buf>& t, const SackScoreboard::Range& cum, const SackNews& news, Ticks now,
                 Counters& c) noexcept {
  Rack& r = t.rack;
  const uint32_t now_us = us32(now);
  bool reord = cum.left < cum.right && r.on_delivered(cum.left, cum.right, t.snd_max, now_us);
  for (uint8_t i = 0; i < news.n; ++i) {
    reord = r.on_delivered(news.blocks[i].left, news.blocks[i].right, t.snd_max, now_us) || reord;
  }
  c.rack_reordering += reord ? 1 : 0;
  r.on_ack_dsack(news.dsack, t.snd_una, t.snd_max);
  r.follow(t.snd_una);
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
  t.rack.on_recovery_end();
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

// RFC 8985 §6.2 step 5 and §6.3, after an ACK's own recovery decisions or when the reorder
// timer fires: RACK marks what is lost (sack_output retransmits it), starts loss recovery when it
// found the loss first, and runs the retransmission timer as the reorder timer while a segment
// may yet turn out lost (it becomes the RTO again when the timer fires, or at the next ACK that
// advances SND.UNA).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void rack_detect(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  if (!t.sack_ok || !t.cfg->rack || t.sacked.empty() || t.flight() == 0) {
    return;
  }
  const uint32_t mss = std::max<uint32_t>(t.snd_mss, 1);
  const uint32_t sacked_segs = (t.sacked.sacked_bytes() + mss - 1) / mss;
  const auto srtt = static_cast<uint32_t>(std::min<uint64_t>(t.rtt.srtt().us(), UINT32_MAX));
  const uint32_t reo = t.rack.reo_wnd_us(t.in_recovery, sacked_segs, srtt);
  const SeqNum was = t.rack.lost_below(t.snd_una);
  const uint32_t wait = t.rack.detect_loss(t.sacked, t.snd_una, t.snd_max, mss, reo, us32(now));
  if (t.rack.lost_below(t.snd_una) > was && !t.in_recovery) {
    enter_recovery(t, now, s);
    s.core().counters.rack_loss_detected += t.in_recovery ? 1 : 0;
  }
  if (wait > 0) {
    arm(t, TimerKind::kRetransmit, now + Ticks::from_us(wait), s);
    t.reo_timer = true;
  }
}

}  // namespace tempo::tcp::detail
