// Segment arrival: RFC 9293 §3.10.7 ("SEGMENT ARRIVES"), with RFC 7323 (PAWS, timestamps),
// RFC 5961 (blind RST/SYN/data mitigations) and RFC 2018 (SACK generation).
//
// Read RFC 9293 §3.10.7 alongside. input_synchronized is §3.10.7.4 one call per step, in its
// order: check_sequence (first, with PAWS), check_rst (second), check_syn (fourth), check_ack
// (fifth), process_text (seventh), process_fin (eighth); each returns a Step, go on or stop.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/output.h"
#include "tcp/recovery.h"
#include "tcp/segment.h"
#include "tcp/seq.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "tcp/tcb.h"
#include "tcp/transition.h"
#include "time/ticks.h"

namespace tempo::tcp {

namespace detail {

// RFC 7323 §5.5: 24 days (TS clock at 1 ms wraps its sign bit in 24.8 days).
inline constexpr Ticks kPawsIdle = Ticks::from_sec(24ull * 24 * 3600);

// RFC 9293 §3.10.7.2 LISTEN, third check, before the SYN,ACK goes out: RCV.NXT = SEG.SEQ+1,
// IRS = SEG.SEQ, the options settled, SYN-RECEIVED. Shared with the SYN-cookie open
// (cookie_open.h), which replays it on the SYN its cookie describes.
template <Buffer Buf>
void accept_syn(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, Counters& c) noexcept {
  t.irs = seg.seq;
  t.rcv_nxt = seg.seq + 1;
  t.rcv_adv = t.rcv_nxt;
  t.passive = true;
  negotiate(t, seg, now, c);
  t.snd_wnd = seg.window;  // RFC 7323 §2.2: unscaled in a SYN
  t.max_snd_wnd = t.snd_wnd;
  t.snd_una = t.iss;
  t.state = State::kSynReceived;
  t.rtt_start = now;
}

// RFC 9293 §3.10.7.2: LISTEN. `t` holds the configuration and ISS chosen for this tuple.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void input_listen(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s) noexcept {
  Counters& c = s.core().counters;
  if (seg.has(flag::kRst)) {  // first: an incoming RST is ignored
    ++c.drop_listen;
    return;
  }
  if (seg.has(flag::kAck)) {  // second: any ACK is bad, <SEQ=SEG.ACK><CTL=RST>
    ++c.drop_listen;
    send_rst_raw<Buf>(seg.ack, SeqNum(0), false, s);
    return;
  }
  if (!seg.has(flag::kSyn)) {
    ++c.drop_listen;
    return;
  }
  // third: SYN. RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
  // Data and FIN on the SYN are not queued (they come again after the handshake): a named
  // simplification, since tempo's listener keeps no state before the SYN,ACK.
  accept_syn(t, seg, now, c);
  send_syn(t, now, s);
}

// RFC 9293 §3.10.7.3: SYN-SENT.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void input_syn_sent(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s) noexcept {
  Counters& c = s.core().counters;
  // first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set)"
  // <SEQ=SEG.ACK><CTL=RST>. DESIGN.md: this is the peer still in LAST-ACK of an old
  // connection; our SYN is retransmitted by the timer.
  const bool ack = seg.has(flag::kAck);
  if (ack && (seg.ack <= t.iss || seg.ack > t.snd_max)) {
    ++c.drop_syn_sent_bad_ack;
    if (!seg.has(flag::kRst)) {
      send_rst_raw<Buf>(seg.ack, SeqNum(0), false, s);
    }
    return;
  }
  // second: RST. RFC 5961 §3.2 / RFC 9293: acceptable only with an acceptable ACK.
  if (seg.has(flag::kRst)) {
    if (ack) {
      become_closed(t, CloseReason::kRefused, s);
    } else {
      ++c.drop_syn_sent_no_syn;
    }
    return;
  }
  if (!seg.has(flag::kSyn)) {  // fifth: neither SYN nor RST
    ++c.drop_syn_sent_no_syn;
    return;
  }
  // fourth: SYN. The window our SYN offered was relative to what we did not know yet: the
  // peer reads it from IRS+1, and it may not shrink (RFC 9293 §3.8.6).
  const uint32_t offered = distance(t.rcv_nxt, t.rcv_adv);
  t.irs = seg.seq;
  t.rcv_nxt = seg.seq + 1;
  t.rcv_adv = t.rcv_nxt + offered;
  negotiate(t, seg, now, c);
  if (ack) {
    // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED,
    // form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it." Data or FIN on the
    // SYN,ACK is not taken (the peer retransmits it): a named simplification.
    establish(t, seg, now, s);
    t.ack_now = true;
    output(t, now, s);
    return;
  }
  // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><SYN,ACK>.
  t.snd_wnd = seg.window;
  t.max_snd_wnd = t.snd_wnd;
  t.state = State::kSynReceived;
  send_syn(t, now, s);
}

// RFC 9293 §3.10.7.4 first check, the acceptability table for SEG.LEN and RCV.WND.
inline bool acceptable(SeqNum rcv_nxt, uint32_t rcv_wnd, SeqNum seq, uint32_t seg_len) noexcept {
  if (seg_len == 0) {
    if (rcv_wnd == 0) {
      return seq == rcv_nxt;
    }
    return in_range(rcv_nxt, seq, rcv_nxt + rcv_wnd);
  }
  if (rcv_wnd == 0) {
    return false;
  }
  return in_range(rcv_nxt, seq, rcv_nxt + rcv_wnd) ||
         in_range(rcv_nxt, seq + seg_len - 1, rcv_nxt + rcv_wnd);
}

// An RTT sample for an ACK that advanced SND.UNA (SND.UNA already moved).
//
// RFC 7323 §4.1-4.2: with timestamps, RTT = now - TSecr on "a segment [that] advances the left
// edge of the send window" (RTTM). The echo names the transmission it answers, so this holds
// for retransmitted segments too (the ambiguity RFC 6298 §3 Karn's rule avoids is gone).
// Our TS clock ticks in ms: an echo from this tick counts as 1 ms (as Linux
// tcp_rtt_tsopt_us()), and an echo from the future or older than rto_max is ignored (a wrong
// or forged TSecr). Without timestamps: RFC 6298 §3 Karn timing of one unretransmitted segment.
template <Buffer Buf>
void rtt_sample(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now) noexcept {
  bool sampled = false;
  if (t.ts_ok && seg.opts.has_timestamps && seg.opts.tsecr != 0) {
    const int32_t d = static_cast<int32_t>(ts_now(t, now) - seg.opts.tsecr);
    if (d >= 0 && Ticks::from_ms(static_cast<uint64_t>(d)) <= t.cfg->rto_max) {
      t.rtt.on_sample(Ticks::from_ms(d > 0 ? static_cast<uint64_t>(d) : 1));
      t.rack.on_rtt_sample(Ticks::from_ms(d > 0 ? static_cast<uint64_t>(d) : 1).us());
      sampled = true;
    }
  }
  if (t.rtt_timing && seg.ack >= t.rtt_seq) {
    if (!sampled) {
      t.rtt.on_sample(now - t.rtt_start);
      t.rack.on_rtt_sample((now - t.rtt_start).us());
    }
    t.rtt_timing = false;
  }
}

// RFC 7323 §4.3 (R3 in §5.3): TS.Recent follows the segment that covers Last.ACK.sent. Taken
// only once the segment's ACK is acceptable, as Linux (FLAG_UPDATE_TS_RECENT in tcp_ack): a
// segment dropped for its ACK (above SND.NXT, or too old) must not move TS.Recent, or its TSval
// would be echoed and then PAWS would drop the peer's next legitimate segment.
template <Buffer Buf>
void update_ts_recent(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now) noexcept {
  if (t.ts_ok && seg.opts.has_timestamps && seg.seq <= t.last_ack_sent &&
      TsVal(seg.opts.tsval) >= t.ts_recent) {
    t.ts_recent = TsVal(seg.opts.tsval);
    t.ts_recent_age = now;
  }
}

// What a step of RFC 9293 §3.10.7.4 says about the segment: go on to the next step, or stop
// here (dropped, answered, or the connection closed or handed to TIME-WAIT).
enum class Step : uint8_t {
  kContinue,
  kStop,
};

// The ACK that answers a segment dropped before the RST check (PAWS, or the sequence check).
// RFC 5961 §4.2: a SYN, whatever its sequence number, gets a challenge ACK (throttled, and from
// the per-core budget), as in the SYN check below. A segment carrying data or a FIN is always
// answered: the sender is owed the ACK that ends its retransmissions, and two ends cannot loop
// on data. Anything else (a pure ACK: an old duplicate, a keepalive probe, a forged segment)
// is answered at most once per oow_ack_interval per connection (RFC 5961 §7; Linux
// tcp_oow_rate_limited); not from the per-core budget, which a flood at other connections
// could spend, leaving keepalive probes unanswered.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void ack_invalid(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s) noexcept {
  if (seg.has(flag::kSyn)) {
    challenge_ack(t, now, s);
  } else if (seg.len > 0 || seg.has(flag::kFin) || oow_ack_allowed(t, now, s.core().counters)) {
    send_ack(t, now, s);
  }
}

// Before the first check, SYN-RECEIVED only: a SYN at IRS, which the sequence check would
// reject (SEG.SEQ = IRS < RCV.NXT). Without ACK it is the peer's SYN again: our SYN,ACK was
// lost, so we send it again (RFC 9293 §3.8.1). With an ACK of our SYN it is the peer's SYN,ACK
// in a simultaneous open (RFC 9293 §3.5 figure 7 line 6): both SYNs are acknowledged, so
// ESTABLISHED without a further ACK. Any other SYN goes on to the checks below.
template <Buffer Buf, class S>
requires Sink<S, Buf> Step check_handshake_syn(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now,
                                               S& s)
noexcept {
  if (t.state != State::kSynReceived || !seg.has(flag::kSyn) || seg.has(flag::kRst) ||
      seg.seq != t.irs) {
    return Step::kContinue;
  }
  if (!seg.has(flag::kAck)) {
    send_syn(t, now, s);
    return Step::kStop;
  }
  if (t.snd_una < seg.ack && seg.ack <= t.snd_max) {
    negotiate(t, seg, now, s.core().counters);
    establish(t, seg, now, s);
    output(t, now, s);
    return Step::kStop;
  }
  return Step::kContinue;
}

// RFC 7323 §5.3 R1 (PAWS), as the first check sees it.
enum class Paws : uint8_t {
  kPass,     // no timestamps on both sides, an RST, or SEG.TSval >= TS.Recent
  kExpired,  // SEG.TSval < TS.Recent, but TS.Recent is over 24 days old: take SEG.TSval
  kFail,     // SEG.TSval < TS.Recent: an old duplicate, drop it with an ACK
};

// RFC 7323 §5.3 R1: a segment whose TSval is older than TS.Recent is a duplicate from an
// earlier incarnation or wrap. An RST is not subject to it (as Linux tcp_validate_incoming: "Reset
// is accepted even if it did not pass PAWS"). R1's exception: after 24 days idle TS.Recent is
// invalid (RFC 7323 §5.5).
template <Buffer Buf>
Paws paws_check(const Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now) noexcept {
  if (!t.ts_ok || !seg.opts.has_timestamps || seg.has(flag::kRst) ||
      !(TsVal(seg.opts.tsval) < t.ts_recent)) {
    return Paws::kPass;
  }
  return now - t.ts_recent_age > kPawsIdle ? Paws::kExpired : Paws::kFail;
}

// RFC 9293 §3.10.7.4, first check sequence number: an unacceptable segment (the table, with
// RCV.WND the window we advertised) gets <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> unless it is an
// RST, and is dropped. PAWS (RFC 7323 §5.3) comes first, as R1 asks. The ACK for either drop
// is ack_invalid's (RFC 5961 §4.2 and §7). An RST out of the window is silently dropped (RFC
// 5961 §3.2 case 1). An acceptable segment is news from the peer: keepalive starts over.
template <Buffer Buf, class S>
requires Sink<S, Buf> Step check_sequence(Tcb<Buf>& t, const Segment<Buf>& seg, uint32_t rcv_wnd,
                                          Ticks now, S& s)
noexcept {
  Counters& c = s.core().counters;
  switch (paws_check(t, seg, now)) {
    case Paws::kPass:
      break;
    case Paws::kExpired:
      t.ts_recent = TsVal(seg.opts.tsval);
      t.ts_recent_age = now;
      break;
    case Paws::kFail:
      ++c.paws_drops;
      ack_invalid(t, seg, now, s);
      return Step::kStop;
  }
  if (t.sack_ok && seg.len > 0 && seg.seq < t.rcv_nxt) {
    // RFC 2883 §4: data the peer sent again, below RCV.NXT: the next ACK reports it.
    t.dsack_left = seg.seq;
    t.dsack_right = min(seg.seq + seg.len, t.rcv_nxt);
    t.dsack_pending = true;
  }
  if (!acceptable(t.rcv_nxt, rcv_wnd, seg.seq, seg.seg_len())) {
    ++c.drop_unacceptable;
    if (seg.has(flag::kRst)) {
      ++c.drop_rst_out_of_window;  // RFC 5961 §3.2 case 1: silently dropped
    } else {
      ack_invalid(t, seg, now, s);
    }
    return Step::kStop;
  }
  t.last_rcv = now;
  t.probes = 0;
  return Step::kContinue;
}

// RFC 9293 §3.10.7.4, second check the RST bit, with RFC 5961 §3.2: an RST exactly at RCV.NXT
// resets; elsewhere in the window (the first check let it through) a challenge ACK asks the
// true peer to resend it at RCV.NXT, so a blind attacker must hit one number in 2^32.
template <Buffer Buf, class S>
requires Sink<S, Buf> Step check_rst(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s)
noexcept {
  if (!seg.has(flag::kRst)) {
    return Step::kContinue;
  }
  if (seg.seq != t.rcv_nxt) {
    ++s.core().counters.drop_rst_in_window;
    challenge_ack(t, now, s);
    return Step::kStop;
  }
  switch (t.state) {
    case State::kSynReceived:
      // Passive: RFC 9293 returns the TCB to LISTEN; tempo's listener is separate, so the
      // embryonic TCB simply goes. Active (simultaneous open): connection refused.
      become_closed(t, t.passive ? CloseReason::kReset : CloseReason::kRefused, s);
      break;
    case State::kEstablished:
    case State::kFinWait1:
    case State::kFinWait2:
    case State::kCloseWait:
    case State::kClosing:
    case State::kLastAck:
    case State::kTimeWait:
      become_closed(t, CloseReason::kReset, s);
      break;
    case State::kClosed:
    case State::kListen:
    case State::kSynSent:
      break;  // not reached: handled before
  }
  return Step::kStop;
}

// RFC 9293 §3.10.7.4, fourth check the SYN bit, with RFC 5961 §4.2: in a synchronized state
// any SYN gets a challenge ACK, whatever its sequence number. In SYN-RECEIVED from a passive
// open the TCB goes (RFC 9293: "return to LISTEN"; tempo's listener is separate).
template <Buffer Buf, class S>
requires Sink<S, Buf> Step check_syn(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s)
noexcept {
  if (!seg.has(flag::kSyn)) {
    return Step::kContinue;
  }
  ++s.core().counters.drop_syn_synchronized;
  if (t.state == State::kSynReceived && t.passive) {
    become_closed(t, CloseReason::kReset, s);
    return Step::kStop;
  }
  challenge_ack(t, now, s);
  return Step::kStop;
}

// RFC 9293 §3.10.7.4 fifth check, SYN-RECEIVED STATE: "If SND.UNA < SEG.ACK =< SND.NXT, then
// enter ESTABLISHED ... If the segment acknowledgment is not acceptable, form a reset segment
// <SEQ=SEG.ACK><CTL=RST>". Once our SYN is acknowledged the segment goes on (its text too).
template <Buffer Buf, class S>
requires Sink<S, Buf> Step ack_syn_received(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s)
noexcept {
  if (!(t.snd_una < seg.ack && seg.ack <= t.snd_max)) {
    ++s.core().counters.drop_unacceptable;
    send_rst_raw<Buf>(seg.ack, SeqNum(0), false, s);
    return Step::kStop;
  }
  update_ts_recent(t, seg, now);
  establish(t, seg, now, s);
  return Step::kContinue;
}

// RFC 8985 §7.4 (as Linux tcp_process_tlp_ack): the answer to a tail loss probe, once SEG.ACK
// reaches TLP.end_seq. A probe of new data needs nothing more. A retransmitted probe that the
// peer reports as a duplicate (D-SACK, RFC 2883) repaired nothing; one followed by an ACK
// beyond it, without that report, repaired a loss: the congestion response of a fast recovery,
// once (cwnd = ssthresh, the controller's reduction).
template <Buffer Buf>
void tlp_ack(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, Counters& c) noexcept {
  if (!t.tlp_out || seg.ack < t.tlp_end) {
    return;
  }
  if (!t.tlp_retrans) {
    t.tlp_out = false;
    return;
  }
  if (seg.opts.num_sack > 0) {
    const SeqNum l(seg.opts.sack[0].left);
    const SeqNum r(seg.opts.sack[0].right);
    if (l < r && r <= seg.ack && l < t.tlp_end && t.tlp_start < r) {  // a D-SACK of the probe
      ++c.tlp_spurious;
      t.tlp_out = false;
      return;
    }
  }
  if (seg.ack > t.tlp_end) {
    ++c.tlp_recoveries;
    t.cc.on_enter_recovery(t.flight(), t.snd_mss, now, cc::RecoveryMode::kSack);
    t.cc.on_exit_recovery(t.snd_mss, t.flight());
    t.tlp_out = false;
  }
}

// RFC 9293 §3.10.7.4 fifth check, ESTABLISHED STATE (and the states after it, which add to
// it): the ACK range, SND.UNA, the RTT, loss recovery and the send window.
template <Buffer Buf, class S>
requires Sink<S, Buf> Step process_ack(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s)
noexcept {
  Counters& c = s.core().counters;
  // RFC 5961 §5.2: acceptable iff (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT; otherwise
  // send an ACK and drop. (We compare with snd_max: snd_nxt is rewound after an RTO.) That ACK
  // is a challenge ACK and takes from the §7 budget (Linux tcp_send_challenge_ack), so a flood
  // of ACKs for data never sent is not answered one for one.
  if (seg.ack > t.snd_max) {
    ++c.drop_ack_unsent;
    challenge_ack(t, now, s);
    return Step::kStop;
  }
  if (seg.ack < t.snd_una - t.max_snd_wnd) {
    ++c.drop_ack_too_old;
    challenge_ack(t, now, s);
    return Step::kStop;
  }
  update_ts_recent(t, seg, now);
  const uint32_t wnd = static_cast<uint32_t>(seg.window) << t.snd_wscale;
  const bool advances = seg.ack > t.snd_una;
  uint32_t data = 0;
  uint32_t flight_before = 0;
  SackScoreboard::Range cum{t.snd_una, t.snd_una};
  if (advances) {
    cum = cum_delivered(t.sacked, t.snd_una, seg.ack);
    const uint32_t acked = distance(t.snd_una, seg.ack);
    const bool acks_fin = t.fin_sent && seg.ack == t.snd_max;
    data = std::min(acked - (acks_fin ? 1u : 0u), t.sndq.bytes());
    t.sndq.release(data);
    flight_before = t.flight();
    if (distance(t.iss, seg.ack) < distance(t.iss, t.snd_una)) {
      ++t.una_wraps;  // SND.UNA - ISS passed 2^32 (Tcb::bytes_acked)
    }
    t.snd_una = seg.ack;
    if (t.snd_nxt < t.snd_una) {
      t.snd_nxt = t.snd_una;
    }
    rtt_sample(t, seg, now);
    t.retries = 0;
    t.rtt.reset_backoff();
  }
  // RFC 2018 §4-5 / RFC 6675 §5 (B.1): the scoreboard before any recovery decision.
  SackNews news;
  if (t.sack_ok) {
    news = sack_update(t, seg, c);
    rack_on_ack(t, cum, news, now, c);
  }
  tlp_ack(t, seg, now, c);
  if (advances) {
    on_new_ack(t, data, flight_before, now, s);
    if (t.flight() == 0) {
      cancel(t, TimerKind::kRetransmit, s);
    } else {
      arm_retransmit(t, now, s);  // RFC 6298 §5.3; RFC 8985 §7.2: or the PTO
    }
    // A refused send() hears on_writable once the queue has drained to two thirds of the
    // buffer (free space at least half of what is queued, Linux's sk_stream_wspace rule), not
    // at every ACK: a sender retrying a large Bytes would otherwise be refused once per ACK.
    if (t.want_writable && data > 0 && !t.fin_queued &&
        (t.cfg->writable_lowat != 0
             ? t.sndq.bytes() <= t.cfg->writable_lowat
             : uint64_t{t.sndq.bytes()} * 3 <= uint64_t{t.cfg->snd_buf} * 2)) {
      t.want_writable = false;
      s.on_writable();
    }
  } else if (seg.ack == t.snd_una && seg.len == 0 && wnd == t.snd_wnd && t.flight() > 0 &&
             !seg.has(flag::kFin) &&
             // RFC 6675 §2: with SACK in use, a duplicate ACK also SACKs data not SACKed
             // before (an ACK carrying only old or D-SACK blocks is not one).
             (!t.sack_ok || seg.opts.num_sack == 0 || news.fresh > 0)) {
    // RFC 5681 §2 duplicate ACK.
    ++c.dup_acks;
    on_dup_ack(t, now, s);
  }
  // RFC 8985 §6.2 applied to the tail loss probe (§7.4.1): the probe, sent at least a PTO
  // (2·SRTT) after everything still in flight, arrived (SACKed) while data sent before it did
  // not: that data is lost, however few duplicate ACKs said so. Loss recovery starts now
  // instead of at the RTO (tempo keeps no per-segment send times, so time-based detection
  // covers this case, which is what the probe exists for).
  if (t.tlp_out && !t.in_recovery && !t.sacked.empty() && t.sacked.highest() >= t.tlp_end &&
      seg.ack < t.tlp_end) {
    ++c.tlp_loss_detected;
    t.tlp_out = false;
    enter_recovery(t, now, s);
  }
  rack_detect(t, now, s);  // RFC 8985 §6.2 step 5: what time says is lost
  // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
  // (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
  if (t.snd_wl1 < seg.seq || (t.snd_wl1 == seg.seq && t.snd_wl2 <= seg.ack)) {
    t.snd_wnd = wnd;
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
    t.max_snd_wnd = std::max(t.max_snd_wnd, wnd);
    if (wnd > 0) {
      cancel(t, TimerKind::kPersist, s);
    }
  }
  return Step::kContinue;
}

// RFC 9293 §3.10.7.4 fifth check, what the states after ESTABLISHED add: FIN-WAIT-1 "if the
// FIN segment is now acknowledged, then enter FIN-WAIT-2"; CLOSING "if the ACK acknowledges
// our FIN, then enter the TIME-WAIT state"; LAST-ACK "if our FIN is now acknowledged, delete
// the TCB"; TIME-WAIT, a retransmitted FIN: acknowledge it again.
template <Buffer Buf, class S>
requires Sink<S, Buf> Step ack_closing_states(Tcb<Buf>& t, Ticks now, S& s)
noexcept {
  const bool our_fin_acked = fin_acked(t);
  switch (t.state) {
    case State::kFinWait1:
      if (our_fin_acked) {
        t.state = State::kFinWait2;
        if (t.orphan) {
          arm(t, TimerKind::kFinWait2, now + t.cfg->fin_wait_2_timeout, s);
        }
      }
      break;
    case State::kClosing:
      if (our_fin_acked) {
        enter_time_wait(t, now, s);
        return Step::kStop;
      }
      break;
    case State::kLastAck:
      if (our_fin_acked) {
        become_closed(t, CloseReason::kNormal, s);
        return Step::kStop;
      }
      break;
    case State::kTimeWait:
      t.ack_now = true;  // a retransmitted FIN: ACK it again (the record's job once handed off)
      break;
    case State::kEstablished:
    case State::kFinWait2:
    case State::kCloseWait:
    case State::kSynReceived:
    case State::kClosed:
    case State::kListen:
    case State::kSynSent:
      break;
  }
  return Step::kContinue;
}

// RFC 9293 §3.10.7.4, fifth check the ACK field: "if the ACK bit is off, drop the segment and
// return"; SYN-RECEIVED completes the handshake, the other states process the ACK, and the
// closing states take their transition on the ACK of our FIN.
template <Buffer Buf, class S>
requires Sink<S, Buf> Step check_ack(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s)
noexcept {
  if (!seg.has(flag::kAck)) {
    ++s.core().counters.drop_no_ack;
    return Step::kStop;
  }
  const Step acked = t.state == State::kSynReceived ? ack_syn_received(t, seg, now, s)
                                                    : process_ack(t, seg, now, s);
  if (acked == Step::kStop) {
    return Step::kStop;
  }
  return ack_closing_states(t, now, s);
}

// The part of a segment inside the receive window: its text at [seq, seq + len), found at
// `off` in the payload buffer, and whether its FIN is inside too.
struct InWindow {
  SeqNum seq;
  uint32_t off = 0;
  uint32_t len = 0;
  bool fin = false;
};

// RFC 9293 §3.10.7.4 seventh, "segments ... trimmed to contain only new data": the text below
// RCV.NXT and beyond RCV.NXT + RCV.WND goes; a FIN beyond the window goes with it. RCV.WND is
// the window the first check used.
template <Buffer Buf>
InWindow trim_to_window(const Segment<Buf>& seg, SeqNum rcv_nxt, uint32_t rcv_wnd) noexcept {
  InWindow w{seg.seq, seg.payload_off, seg.len, seg.has(flag::kFin)};
  if (w.seq < rcv_nxt) {
    const uint32_t skip = std::min(distance(w.seq, rcv_nxt), w.len);
    w.seq = w.seq + skip;
    w.off += skip;
    w.len -= skip;
  }
  const SeqNum right = rcv_nxt + rcv_wnd;
  if (w.seq + w.len > right) {
    w.len = distance(w.seq, right);
    w.fin = false;  // the FIN lies beyond the window
  }
  return w;
}

// Seventh step, in a state where the peer may still send: the trimmed text [seq, seq + len),
// at `off` in the payload, delivered in order or held out of order. Returns true when RCV.NXT
// reached the end of this segment's data (so an in-sequence FIN on it can be taken).
template <Buffer Buf, class S>
requires Sink<S, Buf>
bool receive_text(Tcb<Buf>& t, const Segment<Buf>& seg, SeqNum seq, uint32_t off, uint32_t len,
                  Ticks now, S& s) noexcept {
  if (len == 0) {
    return seq == t.rcv_nxt;
  }
  t.rcv_data_at = now;  // the window is in use: charged to the receive budget again
  t.rcv_dormant = false;
  if (seq != t.rcv_nxt) {
    // Beyond RCV.NXT: hold it (RFC 9293 §3.10.7.4), and ACK at once so the sender sees the
    // hole (RFC 5681 §4.2) and our SACK blocks (RFC 2018 §4).
    const auto r =
        t.ooo.insert(seq, seg.payload, off, len, t.cfg->ooo_max_bytes, s.core().ooo_pool);
    if (r == Reassembly<Buf>::Insert::kFull) {
      ++s.core().counters.drop_ooo_full;
    } else if (r == Reassembly<Buf>::Insert::kQueued) {
      ++s.core().counters.ooo_queued;
    }
    t.ack_now = true;
    return false;
  }
  const bool had_hole = !t.ooo.empty();
  s.on_data(seg.payload, off, len);
  const uint32_t before = distance(t.irs, t.rcv_nxt);
  t.rcv_nxt += len;
  t.rcv_held += len;
  if (had_hole) {
    t.rcv_nxt = t.ooo.drain(t.rcv_nxt, [&](const Buf& b, uint32_t o, uint32_t n) {
      s.on_data(b, o, n);
      t.rcv_held += n;
    });
  }
  if (distance(t.irs, t.rcv_nxt) < before) {
    ++t.rcv_wraps;  // RCV.NXT - IRS passed 2^32 (Tcb::bytes_received)
  }
  if (had_hole) {
    t.ack_now = true;  // RFC 5681 §4.2: ACK at once when a segment fills a hole
    return t.ooo.empty() || t.rcv_nxt >= seq + len;
  }
  // RFC 9293 §3.8.6.3: delay the ACK, but ACK at least every second full-sized segment and
  // within 0.5 s.
  if (++t.delack_segs >= 2) {
    t.ack_now = true;
  } else if (!t.armed(TimerKind::kDelayedAck)) {
    arm(t, TimerKind::kDelayedAck, now + t.cfg->delack_timeout, s);
  }
  return true;
}

// RFC 9293 §3.10.7.4, seventh process the segment text. ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2
// take it; CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT ignore it ("a FIN has been received from
// the remote side"). Returns whether RCV.NXT reached the end of the text, so that a FIN after
// it may be taken.
template <Buffer Buf, class S>
requires Sink<S, Buf>
bool process_text(Tcb<Buf>& t, const Segment<Buf>& seg, const InWindow& w, Ticks now,
                  S& s) noexcept {
  switch (t.state) {
    case State::kEstablished:
    case State::kFinWait1:
    case State::kFinWait2:
      return receive_text(t, seg, w.seq, w.off, w.len, now, s);
    case State::kCloseWait:
    case State::kClosing:
    case State::kLastAck:
    case State::kTimeWait:
      if (w.len > 0) {
        ++s.core().counters.drop_data_after_close;  // the peer already sent FIN
      }
      break;
    case State::kSynReceived:
    case State::kClosed:
    case State::kListen:
    case State::kSynSent:
      break;
  }
  return true;
}

// RFC 1122 §4.2.2.13, RFC 9293 §3.6.1: new data arriving after the application closed (an
// orphan in FIN-WAIT-1 or FIN-WAIT-2; after shutdown() the application still reads) has nobody
// to go to: the TCP SHOULD send an RST to show that data was lost, rather than ACK it and hold
// it until the FIN-WAIT-2 timeout. <SEQ=SEG.ACK><CTL=RST> (as Linux, TCPAbortOnData; FreeBSD
// tcps_rcvafterclose), and the connection is gone. `w` is the text inside the window.
template <Buffer Buf, class S>
requires Sink<S, Buf> Step abort_on_data(Tcb<Buf>& t, const Segment<Buf>& seg, const InWindow& w,
                                         S& s)
noexcept {
  if (!t.orphan || w.len == 0 || (t.state != State::kFinWait1 && t.state != State::kFinWait2)) {
    return Step::kContinue;
  }
  ++s.core().counters.abort_on_data;
  send_rst_raw<Buf>(seg.ack, SeqNum(0), false, s);
  become_closed(t, CloseReason::kAborted, s);
  return Step::kStop;
}

// RFC 9293 §3.10.7.4, eighth check the FIN bit: taken only in sequence, once the text before
// it is in (an out-of-order FIN is dropped; the peer resends it). RCV.NXT advances over it and
// the user hears that the peer is done: SYN-RECEIVED and ESTABLISHED enter CLOSE-WAIT,
// FIN-WAIT-1 CLOSING (our FIN not yet acknowledged: a simultaneous close), FIN-WAIT-2
// TIME-WAIT.
template <Buffer Buf, class S>
requires Sink<S, Buf> Step process_fin(Tcb<Buf>& t, const InWindow& w, bool in_order, Ticks now,
                                       S& s)
noexcept {
  if (!w.fin || !in_order || w.seq + w.len != t.rcv_nxt || t.peer_fin) {
    return Step::kContinue;
  }
  t.rcv_nxt += 1;
  if (distance(t.irs, t.rcv_nxt) == 0) {
    ++t.rcv_wraps;  // the FIN took RCV.NXT - IRS past 2^32 (Tcb::bytes_received)
  }
  t.peer_fin = true;
  t.ooo.clear();  // anything held beyond the FIN is not data of this connection
  t.ack_now = true;
  s.on_peer_fin();
  switch (t.state) {
    case State::kSynReceived:
    case State::kEstablished:
      t.state = State::kCloseWait;
      break;
    case State::kFinWait1:
      t.state = State::kClosing;
      break;
    case State::kFinWait2:
      cancel(t, TimerKind::kFinWait2, s);
      enter_time_wait(t, now, s);
      return Step::kStop;
    case State::kCloseWait:
    case State::kClosing:
    case State::kLastAck:
    case State::kTimeWait:
    case State::kClosed:
    case State::kListen:
    case State::kSynSent:
      break;
  }
  return Step::kContinue;
}

// RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states, one call per step in the RFC's
// order (Linux tcp_rcv_established: tcp_validate_incoming, tcp_ack, tcp_data_queue). A step
// that stops ends the segment's processing; after the last, what is owed goes out.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void input_synchronized(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s) noexcept {
  if (check_handshake_syn(t, seg, now, s) == Step::kStop) {
    return;
  }
  // RCV.WND as advertised when the segment arrived: the first check and the seventh step's
  // trim use this one figure, since an ACK in the fifth step may send (a retransmission) and
  // every segment sent may move RCV.ADV.
  const uint32_t rcv_wnd = distance(t.rcv_nxt, t.rcv_adv);
  if (check_sequence(t, seg, rcv_wnd, now, s) == Step::kStop) {
    return;
  }
  if (check_rst(t, seg, now, s) == Step::kStop) {
    return;
  }
  // Third, check security: tempo does not implement the IP security compartment (RFC 791
  // option 130); there is nothing to compare.
  if (check_syn(t, seg, now, s) == Step::kStop) {
    return;
  }
  if (check_ack(t, seg, now, s) == Step::kStop) {
    return;
  }
  // Sixth, check the URG bit: RFC 9293 §3.8.5 asks that the user be told of urgent data; tempo
  // keeps no RCV.UP and tells it nothing, a named deviation. Urgent bytes are delivered in line
  // with the rest, and new applications SHOULD NOT use the mechanism (RFC 9293 §3.8.5 SHLD-13).
  const InWindow w = trim_to_window(seg, t.rcv_nxt, rcv_wnd);
  if (abort_on_data(t, seg, w, s) == Step::kStop) {
    return;
  }
  const bool in_order = process_text(t, seg, w, now, s);
  if (process_fin(t, w, in_order, now, s) == Step::kStop) {
    return;
  }
  output(t, now, s);
}

}  // namespace detail

// RFC 9293 §3.10.7: one segment for the connection `t`, at time `now`. Replies go to the Sink;
// the Tcb may be CLOSED (s.on_closed) or handed to TIME-WAIT (s.on_time_wait) on return.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void input(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s) noexcept {
  ++s.core().counters.segs_in;
  switch (t.state) {
    case State::kClosed:
      // RFC 9293 §3.10.7.1: no connection. Every segment but an RST draws an RST.
      ++s.core().counters.drop_closed;
      detail::reset_for(seg, s);
      return;
    case State::kListen:
      detail::input_listen(t, seg, now, s);
      return;
    case State::kSynSent:
      detail::input_syn_sent(t, seg, now, s);
      return;
    case State::kSynReceived:
    case State::kEstablished:
    case State::kFinWait1:
    case State::kFinWait2:
    case State::kCloseWait:
    case State::kClosing:
    case State::kLastAck:
    case State::kTimeWait:
      detail::input_synchronized(t, seg, now, s);
      return;
  }
}

// RFC 9293 §3.10.7.1 for a segment that matched no connection and no listener.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void reply_closed(const Segment<Buf>& seg, S& s) noexcept {
  ++s.core().counters.drop_closed;
  detail::reset_for(seg, s);
}

}  // namespace tempo::tcp
