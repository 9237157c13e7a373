// Timer expiry: tcp::on_timer is called by the Worker when a timer armed through the Sink
// fires. A stale expiry (the condition it guarded is gone) is ignored.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/output.h"
#include "tcp/recovery.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "tcp/tcb.h"
#include "tcp/transition.h"
#include "time/ticks.h"

namespace tempo::tcp {

namespace detail {

// RFC 8985 §7.3: the PTO expired. Send one segment of new data when there is some and the
// peer's window takes it (cwnd does not apply, nor Nagle: Linux's probe does the same), else
// retransmit the last segment sent; TLP.end_seq = SND.NXT, and the RTO is armed (not the PTO:
// one probe per tail). Returns false when the probe no longer applies (the RTO takes over).
template <Buffer Buf, class S>
requires Sink<S, Buf>
bool send_tlp(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  if (!is_synchronized(t.state) || t.state == State::kSynReceived || t.in_recovery ||
      t.flight() == 0) {
    return false;
  }
  Counters& c = s.core().counters;
  const SeqNum from = t.snd_nxt;
  const uint32_t flight = t.flight();
  const uint32_t by_peer = t.snd_wnd > flight ? t.snd_wnd - flight : 0;
  const bool nagle = t.nagle;
  t.nagle = false;
  const bool fresh = by_peer > 0 && can_send_data(t.state) &&
                     send_new(t, std::min<uint32_t>(by_peer, t.snd_mss), now, s);
  t.nagle = nagle;
  if (fresh) {
    ++c.tlp_new_data;
    t.tlp_start = from;
  } else {
    // The last segment sent (with our FIN, when it went last).
    const uint32_t last =
        std::min(distance(t.snd_una, t.snd_max), uint32_t{t.snd_mss} + (t.fin_sent ? 1u : 0u));
    t.tlp_start = t.snd_max - last;
    if (retransmit_range(t, t.tlp_start, t.snd_mss, now, s) == 0) {
      return false;
    }
  }
  ++c.tlp_probes;
  t.tlp_out = true;
  t.tlp_retrans = !fresh;
  t.tlp_end = t.snd_max;
  arm(t, TimerKind::kRetransmit, now + rto(t), s);
  return true;
}

template <Buffer Buf, class S>
requires Sink<S, Buf>
void on_retransmit(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  Counters& c = s.core().counters;
  if (t.reo_timer) {
    // RFC 8985 §6.3: the reorder timer. What RACK now deems lost goes out (recovery starts
    // when it was not running), and the timer runs on as RACK or as the RTO.
    t.reo_timer = false;
    ++c.rack_reo_timeouts;
    if (t.flight() == 0) {
      return;
    }
    rack_detect(t, now, s);
    output(t, now, s);
    if (!t.armed(TimerKind::kRetransmit)) {
      arm_retransmit(t, now, s);
    }
    return;
  }
  if (t.tlp_timer) {
    t.tlp_timer = false;
    if (!send_tlp(t, now, s) && t.flight() > 0) {
      arm(t, TimerKind::kRetransmit, now + rto(t), s);  // what the PTO stood in for
    }
    return;
  }
  if (t.state == State::kSynSent || t.state == State::kSynReceived) {
    // RFC 6298 §5.5 back off, RFC 1122 4.2.3.5: give up after syn_retries (SYN) or
    // synack_retries (SYN,ACK: a half-open connection holds a backlog slot).
    const uint8_t limit = t.state == State::kSynSent ? t.cfg->syn_retries : t.cfg->synack_retries;
    if (t.retries >= limit) {
      become_closed(t, CloseReason::kTimeout, s);
      return;
    }
    ++t.retries;
    ++c.rto_expired;
    ++c.retransmits;
    ++t.retransmits;
    t.rtt.backoff();
    send_syn(t, now, s);
    return;
  }
  if (t.flight() == 0) {
    return;  // stale: everything was acknowledged
  }
  if (t.retries >= (t.orphan ? t.cfg->orphan_retries : t.cfg->max_retries)) {
    c.orphan_timeouts += t.orphan ? 1 : 0;
    become_closed(t, CloseReason::kTimeout, s);
    return;
  }
  ++t.retries;
  ++c.rto_expired;
  // RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, double the RTO,
  // restart the timer. RFC 5681 §3.1: the window collapses (controller), and we go back to
  // SND.UNA so later ACKs clock out the rest (slow start).
  t.cc.on_rto(t.flight(), t.snd_mss, now);
  t.rtt.backoff();
  t.rtt_timing = false;
  t.in_recovery = false;
  t.rescue_sent = false;
  t.dupacks = 0;
  t.lt_bytes = 0;
  t.tlp_out = false;  // RFC 8985 §7.3: an RTO ends the probe's episode
  // RFC 6582 §4, RFC 6675 §5.1: no fast retransmit for losses before this point (RecoveryPoint
  // = HighData), and SACK recovery ends.
  t.recover = t.snd_max;
  // RFC 2018 §8: after a timeout "the data sender MUST ignore prior SACK information in
  // determining which data to retransmit" (the receiver may have reneged): clear it.
  t.sacked.clear();
  t.high_rxt = t.snd_una;
  // RFC 8985 §6.3: after an RTO everything outstanding goes again, so none of it is dated.
  t.rack.rxt_high = t.snd_max;
  t.rack.marked = false;
  t.snd_nxt = t.snd_una;
  cancel(t, TimerKind::kRetransmit, s);
  output(t, now, s, 1);
  if (!t.armed(TimerKind::kRetransmit)) {
    arm(t, TimerKind::kRetransmit, now + rto(t), s);
  }
}

// RFC 9293 §3.8.6.1 / RFC 1122 4.2.2.17: probe a zero window, backing off like the RTO, and
// never give up while the peer answers. The probe is <SEQ=SND.UNA-1>, no data (as Linux): it is
// outside the peer's window, so the peer answers with an ACK carrying its current window; a
// named deviation from sending one byte of new data, which the closed window would drop.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void on_persist(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  const uint32_t offset = distance(t.snd_una, t.snd_nxt);
  if (t.snd_wnd > 0 || t.flight() > 0 || t.sndq.bytes() <= offset) {
    output(t, now, s);
    return;
  }
  if (t.orphan && t.probes >= t.cfg->orphan_retries) {
    // A peer that keeps its window shut on an orphan would hold it forever (Linux
    // tcp_probe_timer: orphans give up after tcp_orphan_retries probes).
    ++s.core().counters.orphan_timeouts;
    become_closed(t, CloseReason::kTimeout, s);
    return;
  }
  ++s.core().counters.persist_probes;
  send_probe(t, now, s);
  if (t.probes < 16) {
    ++t.probes;
  }
  const Ticks next = std::min(rto(t) * (1ull << t.probes), t.cfg->rto_max);
  arm(t, TimerKind::kPersist, now + next, s);
}

// RFC 9293 §3.8.4, RFC 1122 4.2.3.6: after keepalive_idle without a segment from the peer,
// send <SEQ=SND.NXT-1> probes every keepalive_interval; keepalive_probes unanswered ends it.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void on_keepalive(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  if (!is_synchronized(t.state) || t.state == State::kTimeWait) {
    return;
  }
  const Ticks idle_end = t.last_rcv + t.cfg->keepalive_idle;
  if (t.probes == 0 && now < idle_end) {
    arm(t, TimerKind::kKeepalive, idle_end, s);  // traffic since arming: wait again
    return;
  }
  if (t.probes >= t.cfg->keepalive_probes) {
    become_closed(t, CloseReason::kKeepaliveTimeout, s);
    return;
  }
  if (t.flight() == 0) {
    ++s.core().counters.keepalive_probes;
    OutSegment<Buf> o;
    o.seq = t.snd_nxt - 1;
    o.flags = flag::kAck;
    finish_segment(t, o, now, s.core());
    emit(t, o, s);
  }
  ++t.probes;
  arm(t, TimerKind::kKeepalive, now + t.cfg->keepalive_interval, s);
}

}  // namespace detail

template <Buffer Buf, class S>
requires Sink<S, Buf>
void on_timer(Tcb<Buf>& t, TimerKind k, Ticks now, S& s) noexcept {
  if (!t.armed(k)) {
    return;  // cancelled meanwhile
  }
  t.timers = static_cast<uint8_t>(t.timers & ~(1u << static_cast<int>(k)));
  switch (k) {
    case TimerKind::kRetransmit:
      detail::on_retransmit(t, now, s);
      return;
    case TimerKind::kDelayedAck:
      // RFC 9293 §3.8.6.3: the delayed ACK is due.
      if (is_synchronized(t.state)) {
        ++s.core().counters.delayed_acks;
        detail::send_ack(t, now, s);
      }
      return;
    case TimerKind::kPersist:
      detail::on_persist(t, now, s);
      return;
    case TimerKind::kKeepalive:
      detail::on_keepalive(t, now, s);
      return;
    case TimerKind::kFinWait2:
      if (t.state == State::kFinWait2) {
        detail::become_closed(t, CloseReason::kFinWait2Timeout, s);
      }
      return;
  }
}

}  // namespace tempo::tcp
