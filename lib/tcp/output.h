// Segment construction and the send path: ACKs, RSTs, SYNs, data and FIN (RFC 9293 §3.8,
// §3.10.7), and the timer bookkeeping shared by input, timers and user calls.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/sack.h"
#include "tcp/segment.h"
#include "tcp/seq.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "tcp/tcb.h"
#include "time/ticks.h"

namespace tempo::tcp::detail {

inline constexpr uint32_t kMaxWindow = 65535;
inline constexpr uint8_t kMaxWscale = 14;  // RFC 7323 §2.3

template <Buffer Buf, class S>
requires Sink<S, Buf>
void arm(Tcb<Buf>& t, TimerKind k, Ticks deadline, S& s) noexcept {
  t.timers = static_cast<uint8_t>(t.timers | (1u << static_cast<int>(k)));
  if (k == TimerKind::kRetransmit) {
    // An RTO unless arm_retransmit() makes it the PTO, or rack_detect() the reorder timer.
    t.tlp_timer = false;
    t.reo_timer = false;
  }
  s.arm_timer(k, deadline);
}

template <Buffer Buf, class S>
requires Sink<S, Buf>
void cancel(Tcb<Buf>& t, TimerKind k, S& s) noexcept {
  if (t.armed(k)) {
    t.timers = static_cast<uint8_t>(t.timers & ~(1u << static_cast<int>(k)));
    s.cancel_timer(k);
  }
}

template <Buffer Buf, class S>
requires Sink<S, Buf>
void cancel_all(Tcb<Buf>& t, S& s) noexcept {
  for (int k = 0; k < kNumTimers; ++k) {
    cancel(t, static_cast<TimerKind>(k), s);
  }
}

// RFC 6298 §2.4/§2.5 bounds applied to the estimator's (backed-off) RTO.
template <Buffer Buf>
Ticks rto(const Tcb<Buf>& t) noexcept {
  return std::clamp(t.rtt.rto(), t.cfg->rto_min, t.cfg->rto_max);
}

// RFC 7323 §5.4: our timestamp clock ticks in milliseconds, offset per address pair.
template <Buffer Buf>
uint32_t ts_now(const Tcb<Buf>& t, Ticks now) noexcept {
  return static_cast<uint32_t>(now.ms()) + t.ts_offset;
}

// RFC 7323 §2.3: the smallest shift that makes our buffer fit the 16-bit window field.
inline uint8_t wscale_for(uint32_t rcv_buf) noexcept {
  uint8_t s = 0;
  while (s < kMaxWscale && (rcv_buf >> s) > kMaxWindow) {
    ++s;
  }
  return s;
}

// RFC 7323 §3.2: the timestamp option every segment carries once negotiated, 10 bytes with
// two NOPs to align it.
inline constexpr uint32_t kTsOptionLen = 12;

// The right edge to advertise: RFC 9293 §3.8.6.2.2 receiver SWS avoidance (move the edge only
// by at least min(RCV.BUFF / 2, MSS)) and §3.8.6 (never shrink the window). The receive budget
// (RcvBudget) bounds how far it moves; when it allows less than that step the edge stays, and
// a connection left with less than two segments open is marked rcv_starved, for the Worker to
// reopen it when memory frees.
//
// Every move of the edge is charged, dormant or not (issue 19): a window opens only as far as
// the budget has room, and the connection is charged for its whole open window from then on.
// A dormant connection (no data for a while, or none yet) is not charged for the window it
// already has, so its window does not grow either, unless it is nearly shut: the peer is not
// sending, and a window that grew by the budget's whole credit at every segment it sent (the
// credit never shrank, since nothing was charged) offered many times what the pool held, the
// stall of issue 19. What a dormant connection holds uncharged is therefore bounded: its SYN's
// window, or the window it had when its data stopped.
template <Buffer Buf>
SeqNum rcv_right_edge(Tcb<Buf>& t, const CoreState& core) noexcept {
  const SeqNum held = max(t.rcv_adv, t.rcv_nxt);
  SeqNum fresh = t.rcv_nxt + t.rcv_space();
  // Eff.snd.MSS: the payload of the peer's full segments, which carry our timestamps when they
  // are in use (1,448 of 1,460). One more than that, and a budget with room for exactly one
  // more buffer (counted a full segment each, stack sample_pools) never reopened a shut window.
  const uint32_t step =
      std::min<uint32_t>(t.cfg->rcv_buf / 2, t.rcv_mss - (t.ts_ok ? kTsOptionLen : 0));
  if (fresh <= t.rcv_adv || distance(t.rcv_adv, fresh) < step) {
    t.rcv_starved = false;  // held by the connection's own buffer: consume() reopens it
    return held;
  }
  if (const RcvBudget* b = core.rcv_budget; b != nullptr) {
    // Only a window nearly shut needs the Worker's update later: with two segments still open
    // the peer sends, and its data brings the next look.
    const bool nearly_shut = distance(t.rcv_nxt, held) < 2 * uint32_t{t.rcv_mss};
    if (t.rcv_dormant && !nearly_shut) {
      t.rcv_starved = false;
      return held;
    }
    const int64_t credit = b->credit(t.holds_little(b->small));
    SeqNum edge = fresh;
    if (credit < static_cast<int64_t>(distance(held, fresh))) {
      edge = held + static_cast<uint32_t>(std::max<int64_t>(credit, 0));
      if (edge <= t.rcv_adv || distance(t.rcv_adv, edge) < step) {
        t.rcv_starved = nearly_shut;  // held
        return held;
      }
    }
    t.rcv_dormant = false;  // charged from here (settle_rcv_commit)
    t.rcv_starved = false;
    return edge;
  }
  t.rcv_starved = false;
  return fresh;
}

// Charges the window now offered and not yet filled to the receive budget (RcvBudget): after
// every change of rcv_adv or rcv_nxt, and with `gone` when the Tcb is let go. A dormant
// connection (no data yet, or none for a while: the Worker decides) is not charged: windows
// nobody sends into must not shut out the ones in use. Its data, when it comes, is charged
// from then on.
template <Buffer Buf>
void settle_rcv_commit(Tcb<Buf>& t, CoreState& core, bool gone = false) noexcept {
  if (t.cfg == nullptr || core.rcv_budget == nullptr) {
    return;
  }
  const uint32_t open =
      !gone && !t.rcv_dormant && t.rcv_adv > t.rcv_nxt ? distance(t.rcv_nxt, t.rcv_adv) : 0;
  core.rcv_budget->committed += static_cast<int64_t>(open) - t.rcv_commit;
  t.rcv_commit = open;
}

// Fills window and options and records what an ACK-bearing segment announces; the window is
// charged to the core's receive budget (CoreState::rcv_budget).
template <Buffer Buf>
void finish_segment(Tcb<Buf>& t, OutSegment<Buf>& o, Ticks now, CoreState& core) noexcept {
  if (o.has(flag::kAck)) {
    o.ack = t.rcv_nxt;
    t.last_ack_sent = t.rcv_nxt;
  }
  if (o.has(flag::kSyn)) {
    // RFC 7323 §2.2: the window in a SYN is never scaled. Under the receive budget a new
    // connection still gets a few segments' worth (RcvBudget::reserve is for such).
    uint32_t w = std::min(t.rcv_space(), kMaxWindow);
    if (const RcvBudget* b = core.rcv_budget; b != nullptr) {
      const int64_t floor = 4 * int64_t{t.rcv_mss};
      w = static_cast<uint32_t>(std::min<int64_t>(w, std::max(b->credit(true), floor)));
    }
    o.window = static_cast<uint16_t>(w);
    t.rcv_adv = max(t.rcv_adv, t.rcv_nxt + w);
  } else {
    const SeqNum right = rcv_right_edge(t, core);
    uint32_t w = distance(t.rcv_nxt, right) >> t.rcv_wscale;
    w = std::min(w, kMaxWindow);
    o.window = static_cast<uint16_t>(w);
    t.rcv_adv = max(t.rcv_adv, t.rcv_nxt + (w << t.rcv_wscale));
  }
  settle_rcv_commit(t, core);
  if (t.ts_ok) {
    // RFC 7323 §3.2: TSecr echoes TS.Recent when ACK is set, else 0.
    o.opts.has_timestamps = true;
    o.opts.tsval = ts_now(t, now);
    o.opts.tsecr = o.has(flag::kAck) ? t.ts_recent.raw() : 0;
  }
  if (t.sack_ok && !o.has(flag::kSyn) && o.has(flag::kAck) && (t.dsack_pending || !t.ooo.empty())) {
    // RFC 2018 §3: 40 option bytes hold 4 blocks, 3 next to timestamps. RFC 2883 §4: a
    // duplicate the peer sent is reported once, in the first block (a D-SACK), so that it can
    // tell a needless retransmission (a spurious RTO or tail loss probe) from a repair.
    const uint8_t max_blocks = t.ts_ok ? 3 : 4;
    uint8_t n = 0;
    if (t.dsack_pending) {
      o.opts.sack[0] = wire::SackBlock{t.dsack_left.raw(), t.dsack_right.raw()};
      t.dsack_pending = false;
      n = 1;
    }
    n = static_cast<uint8_t>(
        n + t.ooo.sack_blocks(o.opts.sack.data() + n, static_cast<uint8_t>(max_blocks - n)));
    o.opts.num_sack = n;
  }
}

template <Buffer Buf, class S>
requires Sink<S, Buf>
void emit(Tcb<Buf>& t, const OutSegment<Buf>& o, S& s) noexcept {
  ++s.core().counters.segs_out;
  if (o.has(flag::kAck)) {
    // Every ACK we send acknowledges all received data: the delayed ACK is no longer owed.
    t.ack_now = false;
    t.delack_segs = 0;
    cancel(t, TimerKind::kDelayedAck, s);
  }
  s.emit(o);
}

// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
template <Buffer Buf, class S>
requires Sink<S, Buf>
void send_ack(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  OutSegment<Buf> o;
  o.seq = t.snd_nxt;
  o.flags = flag::kAck;
  finish_segment(t, o, now, s.core());
  emit(t, o, s);
}

// A probe that elicits an ACK: <SEQ=SND.UNA-1><ACK=RCV.NXT><CTL=ACK>, no data. RFC 1122
// 4.2.3.6 (keepalive, SEG.SEQ = SND.NXT-1) and zero-window probing; see timers.h.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void send_probe(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  OutSegment<Buf> o;
  o.seq = t.snd_una - 1;
  o.flags = flag::kAck;
  finish_segment(t, o, now, s.core());
  emit(t, o, s);
}

// RFC 5961 §7 ("an implementation SHOULD include an ACK throttling mechanism"), per
// connection: one ACK per Config::oow_ack_interval answers the segments a connection drops as
// invalid, so a flood aimed at one connection is answered a couple of times a second, not one
// for one (Linux tcp_oow_rate_limited). Counted when it says no.
template <Buffer Buf>
bool oow_ack_allowed(Tcb<Buf>& t, Ticks now, Counters& c) noexcept {
  const auto now_ms = static_cast<uint32_t>(now.ms());
  if (t.oow_acked && now_ms - t.oow_ack_ms < t.cfg->oow_ack_interval.ms()) {
    ++c.acks_oow_limited;
    return false;
  }
  t.oow_acked = true;
  t.oow_ack_ms = now_ms;
  return true;
}

// RFC 5961 §7: challenge ACKs (for a SYN, an RST in the window, an unacceptable SEG.ACK) are
// throttled per connection, then go through the per-core budget (Linux
// tcp_send_challenge_ack), which bounds them across all connections.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void challenge_ack(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  CoreState& core = s.core();
  if (!oow_ack_allowed(t, now, core.counters)) {
    return;
  }
  if (!core.challenge_acks.allow(now)) {
    ++core.counters.challenge_acks_limited;
    return;
  }
  ++core.counters.challenge_acks;
  send_ack(t, now, s);
}

// An RST with no connection behind it (RFC 9293 §3.10.7.1 and the reset-generation rules of
// §3.5.2): `ack_flag` selects <SEQ=0><ACK=..><CTL=RST,ACK> over <SEQ=..><CTL=RST>.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void send_rst_raw(SeqNum seq, SeqNum ack, bool ack_flag, S& s) noexcept {
  OutSegment<Buf> o;
  o.seq = seq;
  o.flags = ack_flag ? static_cast<uint8_t>(flag::kRst | flag::kAck) : flag::kRst;
  o.ack = ack_flag ? ack : SeqNum(0);
  ++s.core().counters.rst_sent;
  ++s.core().counters.segs_out;
  s.emit(o);
}

// RFC 9293 §3.5.2 (1): the reset for a segment that belongs to no connection.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void reset_for(const Segment<Buf>& seg, S& s) noexcept {
  if (seg.has(flag::kRst)) {
    return;  // an RST is never answered with an RST
  }
  if (seg.has(flag::kAck)) {
    send_rst_raw<Buf>(seg.ack, SeqNum(0), false, s);
  } else {
    send_rst_raw<Buf>(SeqNum(0), seg.seq + seg.seg_len(), true, s);
  }
}

// Our SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), built and recorded as sent (SND.NXT, the
// advertised window, Last.ACK.sent); send_syn puts it on the wire. The SYN-cookie open
// (cookie_open.h) records with it the SYN,ACK that cookie_syn_ack() sent statelessly.
template <Buffer Buf>
OutSegment<Buf> syn_segment(Tcb<Buf>& t, Ticks now, CoreState& core) noexcept {
  const bool synack = t.state == State::kSynReceived;
  OutSegment<Buf> o;
  o.seq = t.iss;
  o.flags = synack ? static_cast<uint8_t>(flag::kSyn | flag::kAck) : flag::kSyn;
  o.opts.has_mss = true;  // RFC 9293 §3.7.1
  o.opts.mss = t.rcv_mss;
  // In a SYN we offer what the configuration allows; in a SYN,ACK only what the peer offered
  // (RFC 7323 §2.2, §3.2; RFC 2018 §2). ws_ok/sack_ok/ts_ok hold the offer until the reply.
  if (t.ws_ok) {
    o.opts.has_wscale = true;
    o.opts.wscale = t.rcv_wscale;
  }
  o.opts.sack_permitted = t.sack_ok;
  finish_segment(t, o, now, core);
  t.snd_nxt = t.iss + 1;
  t.snd_max = max(t.snd_max, t.snd_nxt);
  return o;
}

// Our SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), first or retransmitted.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void send_syn(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  const OutSegment<Buf> o = syn_segment(t, now, s.core());
  ++s.core().counters.segs_out;
  s.emit(o);
  arm(t, TimerKind::kRetransmit, now + rto(t), s);
}

// Sequence number of our FIN once the user closed: after every queued byte.
template <Buffer Buf>
SeqNum fin_seq(const Tcb<Buf>& t) noexcept {
  return t.snd_una + t.sndq.bytes();
}

// Our FIN, being the last thing we send, is acknowledged when snd_una reaches snd_max.
template <Buffer Buf>
bool fin_acked(const Tcb<Buf>& t) noexcept {
  return t.fin_sent && t.snd_una == t.snd_max;
}

inline bool can_send_data(State st) noexcept {
  switch (st) {
    case State::kEstablished:
    case State::kCloseWait:
    case State::kFinWait1:  // FIN queued: the data before it still goes out
    case State::kLastAck:
    case State::kClosing:
      return true;
    case State::kClosed:
    case State::kListen:
    case State::kSynSent:
    case State::kSynReceived:
    case State::kFinWait2:
    case State::kTimeWait:
      return false;
  }
  return false;
}

// The payload one segment may carry: the effective MSS (less the timestamp option,
// transition.h) less the SACK blocks the segment carries while data waits out of order
// (RFC 2018 §3; Linux tcp_current_mss does the same), or a full segment with SACK blocks is an
// IP packet past the MTU (the Worker fuzzer found 1,512-byte packets). Counts one block per
// out-of-order piece, at most what fits: never fewer than finish_segment() writes.
template <Buffer Buf>
uint32_t payload_room(const Tcb<Buf>& t) noexcept {
  if (!t.sack_ok || (t.ooo.empty() && !t.dsack_pending)) {
    return t.snd_mss;
  }
  const uint32_t blocks =
      std::min<uint32_t>(t.ooo.entries() + (t.dsack_pending ? 1u : 0u), t.ts_ok ? 3 : 4);
  const uint32_t option = 4 + 8 * blocks;              // two NOPs, kind, length, the blocks
  return t.snd_mss > option ? t.snd_mss - option : 1;  // >= 8: min_snd_mss >= 48
}

// RFC 8985 §7.2: a tail loss probe may be scheduled when data is in flight, SACK is in use
// (as Linux: the probe's answer is read from SACK and D-SACK), no loss recovery runs (fast or
// after an RTO: SND.NXT back below SND.MAX, or retries), nothing is SACKed, no probe is out,
// and an RTT sample exists.
template <Buffer Buf>
bool tlp_eligible(const Tcb<Buf>& t) noexcept {
  return t.sack_ok && !t.in_recovery && !t.tlp_out && t.retries == 0 && t.sacked.empty() &&
         t.snd_nxt == t.snd_max && t.flight() > 0 && t.rtt.srtt() > Ticks{} &&
         t.state != State::kSynSent && t.state != State::kSynReceived;
}

// RFC 8985 §7.2 PTO: 2·SRTT, plus the peer's worst delayed ACK when one segment is in flight
// (its ACK may wait; Linux adds tcp_rto_min, as here), else a floor of 2 ms (Linux
// TCP_TIMEOUT_MIN_US); never later than the RTO: "if the time at which an RTO would fire ... is
// sooner than the computed time for the PTO, then the sender schedules a TLP to be sent at that
// RTO time" (as Linux tcp_schedule_loss_probe).
inline constexpr Ticks kPtoFloor = Ticks::from_ms(2);
template <Buffer Buf>
Ticks pto(const Tcb<Buf>& t) noexcept {
  const Ticks extra = t.flight() <= t.snd_mss ? t.cfg->rto_min : kPtoFloor;
  return std::min(t.rtt.srtt() + t.rtt.srtt() + extra, rto(t));
}

// Arms the retransmission timer: the PTO where a tail loss probe applies, else the RTO (RFC
// 8985 §7.2: the PTO takes the RTO's place, at the RTO's time at the latest; the probe re-arms
// the RTO, so a timeout that finds the tail lost sends a probe first, not an RTO's collapse of
// the window and doubled timer).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void arm_retransmit(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  if (tlp_eligible(t)) {
    arm(t, TimerKind::kRetransmit, now + pto(t), s);
    t.tlp_timer = true;
    return;
  }
  arm(t, TimerKind::kRetransmit, now + rto(t), s);
}

// Sends one segment of new data from SND.NXT (with the FIN when it is due), at most `usable`
// bytes (RFC 9293 §3.8.6, §3.7.4 Nagle, §3.8.6.2.1 sender SWS avoidance). Returns false when
// nothing was sent.
template <Buffer Buf, class S>
requires Sink<S, Buf>
bool send_new(Tcb<Buf>& t, uint32_t usable, Ticks now, S& s) noexcept {
  const uint32_t offset = distance(t.snd_una, t.snd_nxt);
  if (offset > t.sndq.bytes()) {
    return false;  // FIN already sent
  }
  const uint32_t avail = t.sndq.bytes() - offset;
  const uint32_t flight = t.flight();
  const uint32_t room = payload_room(t);
  uint32_t len = std::min({avail, usable, room});
  if (len < avail && len < room) {
    // RFC 9293 §3.8.6.2.1: a window-limited runt waits, unless it is half the largest
    // window the peer offered.
    if (len == 0 || len < t.max_snd_wnd / 2) {
      len = 0;
    }
  } else if (len == avail && len < room && len > 0 && t.nagle && flight > 0) {
    len = 0;  // RFC 9293 §3.7.4 Nagle: a small segment waits for the outstanding ACK
  }
  OutSegment<Buf> o;
  if (len > 0) {
    len = t.sndq.reference(offset, len, o);
  }
  const bool fin = t.fin_queued && t.snd_nxt + len == fin_seq(t) && len == avail;
  if (len == 0 && !fin) {
    return false;
  }
  o.seq = t.snd_nxt;
  o.flags = flag::kAck;
  if (len > 0 && len == avail) {
    o.flags |= flag::kPsh;
  }
  if (fin) {
    o.flags |= flag::kFin;
    t.fin_sent = true;
  }
  finish_segment(t, o, now, s.core());
  if (o.seq < t.snd_max) {
    ++s.core().counters.retransmits;
    ++t.retransmits;
  }
  emit(t, o, s);
  const SeqNum old_max = t.snd_max;
  if (t.sack_ok && o.seq + len > old_max) {
    // RFC 8985 §6.1: when new data left (what goes again after an RTO is not dated).
    t.rack.sent.on_send(max(o.seq, old_max), static_cast<uint32_t>(now.us()));
  }
  t.snd_nxt = t.snd_nxt + len + (fin ? 1u : 0u);
  t.snd_max = max(t.snd_max, t.snd_nxt);
  // RFC 6298 §3 (Karn): time one segment at a time, never a retransmitted one.
  if (!t.rtt_timing && o.seq >= old_max) {
    t.rtt_timing = true;
    t.rtt_seq = t.snd_nxt;
    t.rtt_start = now;
  }
  // RFC 6298 §5.1: start the timer when it is not running (RFC 8985 §7.2: as the PTO where a
  // tail loss probe applies).
  if (!t.armed(TimerKind::kRetransmit)) {
    arm_retransmit(t, now, s);
  }
  cancel(t, TimerKind::kPersist, s);
  return true;
}

// Retransmits the sent data from `seq` (SND.UNA <= seq < SND.MAX), at most `max_len` payload
// bytes, with our FIN when the segment reaches it; SND.NXT does not move. Returns the sequence
// space the segment covered (0 when there was nothing to send).
template <Buffer Buf, class S>
requires Sink<S, Buf> uint32_t retransmit_range(Tcb<Buf>& t, SeqNum seq, uint32_t max_len,
                                                Ticks now, S& s)
noexcept {
  const uint32_t outstanding = distance(t.snd_una, t.snd_max);
  const bool fin_out = t.fin_sent;
  const uint32_t data_out = std::min(outstanding - (fin_out ? 1u : 0u), t.sndq.bytes());
  const uint32_t off = distance(t.snd_una, seq);
  OutSegment<Buf> o;
  uint32_t len = off < data_out ? std::min({data_out - off, max_len, payload_room(t)}) : 0;
  if (len > 0) {
    len = t.sndq.reference(off, len, o);
  }
  const bool fin = fin_out && off + len == data_out;
  if (len == 0 && !fin) {
    return 0;
  }
  o.seq = seq;
  o.flags = flag::kAck;
  if (fin) {
    o.flags |= flag::kFin;
  }
  finish_segment(t, o, now, s.core());
  ++s.core().counters.retransmits;
  ++t.retransmits;
  // RFC 6298 §3 (Karn): no timed sample across a retransmission. (With timestamps the TSecr
  // of the ACK still gives one: RFC 7323 §4.1, see input.h process_ack.)
  t.rtt_timing = false;
  emit(t, o, s);
  // RFC 8985 §6.2 step 2: which copy arrives is ambiguous from here on; RACK dates none of it.
  t.rack.rxt_high = max(t.rack.rxt_high, seq + len + (fin ? 1u : 0u));
  if (!t.armed(TimerKind::kRetransmit)) {
    arm(t, TimerKind::kRetransmit, now + rto(t), s);
  }
  return len + (fin ? 1u : 0u);
}

// A stretch [seq, end) of unSACKed sequence space NextSeg() may retransmit from; `found` is
// false when there is none.
struct NextSegRange {
  SeqNum seq;
  SeqNum end;
  bool found = false;
};

// The retransmission candidates of RFC 6675 NextSeg() at or above `from` (HighRxt or SND.UNA).
struct NextSegHoles {
  NextSegRange lost;  // rule (1)
  NextSegRange any;   // rule (3)
};

// NextSeg (1): the lowest unSACKed octet not yet retransmitted (above HighRxt), below the
// highest SACKed octet, that IsLost() or RACK deemed lost; (3): the same without either, once
// (2) new data found nothing to send.
template <Buffer Buf>
NextSegHoles next_seg_holes(const Tcb<Buf>& t, SeqNum from, uint32_t mss) noexcept {
  NextSegHoles c;
  if (!t.sacked.empty()) {
    for_each_hole(t.sacked, t.snd_una, t.snd_max, mss, t.rack.lost_below(t.snd_una),
                  [&](const SackHole& h) {
                    if (!h.below_sacked || h.end <= from) {
                      return h.below_sacked;
                    }
                    const SeqNum start = max(h.start, from);
                    if (!c.any.found) {
                      c.any.found = true;
                      c.any.seq = start;
                      c.any.end = h.end;
                    }
                    if (h.lost) {
                      c.lost.found = true;
                      c.lost.seq = start;
                      c.lost.end = h.end;
                      return false;
                    }
                    return true;
                  });
  }
  return c;
}

// Retransmits at most one SMSS from the start of `r` and moves HighRxt past it (C.3). Returns
// false when nothing could be sent.
template <Buffer Buf, class S>
requires Sink<S, Buf>
bool retransmit_next_seg(Tcb<Buf>& t, const NextSegRange& r, uint32_t mss, Ticks now,
                         S& s) noexcept {
  const uint32_t sent = retransmit_range(t, r.seq, std::min(distance(r.seq, r.end), mss), now, s);
  if (sent == 0) {
    return false;
  }
  t.high_rxt = r.seq + sent;  // (C.3)
  return true;
}

// NextSeg (2): new data, as the receive window allows (cwnd is accounted by pipe here, and
// `cwnd_room` is cwnd - pipe). Returns whether a segment was sent.
template <Buffer Buf, class S>
requires Sink<S, Buf>
bool send_new_in_recovery(Tcb<Buf>& t, uint32_t cwnd_room, Ticks now, S& s) noexcept {
  const uint32_t rwnd = t.snd_wnd > t.flight() ? t.snd_wnd - t.flight() : 0;
  return can_send_data(t.state) && send_new(t, std::min(rwnd, cwnd_room), now, s);
}

// NextSeg (4), the rescue retransmission: once per recovery, one segment ending at the
// highest outstanding unSACKed octet. Deviation: only when that octet was not already
// retransmitted in this recovery (it is then in flight again, and counted in pipe).
// Returns whether a segment was sent (false ends sack_output's loop).
template <Buffer Buf, class S>
requires Sink<S, Buf>
bool rescue_retransmit(Tcb<Buf>& t, SeqNum from, uint32_t mss, Ticks now, S& s) noexcept {
  if (t.rescue_sent) {
    return false;
  }
  SeqNum hole_start;
  SeqNum hole_end;
  bool have_hole = false;
  for_each_hole(t.sacked, t.snd_una, t.snd_max, mss, [&](const SackHole& h) {
    hole_start = h.start;
    hole_end = h.end;
    have_hole = true;
    return true;
  });
  if (!have_hole || hole_end <= from) {
    return false;
  }
  SeqNum start = max(hole_start, from);
  if (distance(start, hole_end) > mss) {
    start = hole_end - mss;
  }
  t.rescue_sent = true;  // RFC 6675: "RescueRxt set to RecoveryPoint. HighRxt MUST NOT be
                         // updated."
  if (retransmit_range(t, start, distance(start, hole_end), now, s) == 0) {
    return false;
  }
  ++s.core().counters.sack_rescue_rxts;
  return true;
}

// RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send what NextSeg() chooses. pipe is
// recomputed from the scoreboard after each segment, which is step (C.4)'s bookkeeping.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void sack_output(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  const uint32_t mss = t.snd_mss;
  // Each pass sends one segment that moves HighRxt, SND.NXT or sets rescue_sent, so the
  // loop ends; the bound only guards against a bug turning this into a livelock.
  for (uint32_t guard = 0; guard < 4096; ++guard) {
    const SeqNum from = max(t.high_rxt, t.snd_una);
    const uint32_t pipe =
        sack_pipe(t.sacked, t.snd_una, t.snd_max, mss, from, t.rack.lost_below(t.snd_una));
    const uint32_t cwnd = t.cc.cwnd();
    if (cwnd < pipe || cwnd - pipe < mss) {
      return;
    }
    const NextSegHoles holes = next_seg_holes(t, from, mss);
    if (holes.lost.found) {  // NextSeg (1)
      if (!retransmit_next_seg(t, holes.lost, mss, now, s)) {
        return;
      }
      continue;
    }
    if (send_new_in_recovery(t, cwnd - pipe, now, s)) {  // NextSeg (2)
      continue;
    }
    if (holes.any.found) {  // NextSeg (3)
      if (!retransmit_next_seg(t, holes.any, mss, now, s)) {
        return;
      }
      continue;
    }
    if (!rescue_retransmit(t, from, mss, now, s)) {  // NextSeg (4)
      return;
    }
  }
}

// RFC 3042 Limited Transmit (RFC 5681 §3.2 step 1, RFC 6675 §5 step (1)): on the first and
// second duplicate ACK, one segment of new data each may go beyond cwnd (the peer's window
// still applies), so that a window too small to draw three duplicate ACKs still recovers by
// fast retransmit rather than the RTO. cwnd itself is not changed. Only new data: after an
// RTO, while SND.NXT is back below SND.MAX, what would go is sent data again.
template <Buffer Buf>
uint32_t limited_transmit(const Tcb<Buf>& t) noexcept {
  if (t.in_recovery || t.dupacks == 0 || t.dupacks >= kDupThresh || t.snd_nxt != t.snd_max) {
    return 0;
  }
  return uint32_t{t.dupacks} * t.snd_mss;
}

// Sends what the windows allow, up to max_segs segments (RFC 9293 §3.8.6), then an ACK if one is
// owed and nothing carried it. In RFC 6675 loss recovery, NextSeg() under pipe decides instead.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void output(Tcb<Buf>& t, Ticks now, S& s, uint32_t max_segs = UINT32_MAX) noexcept {
  if (t.in_recovery && t.sack_ok) {
    if (is_synchronized(t.state)) {
      sack_output(t, now, s);
    }
  } else if (can_send_data(t.state)) {
    const uint32_t cwnd = t.cc.cwnd();
    const uint32_t allowed = cwnd + limited_transmit(t);
    const bool timer_ran = t.armed(TimerKind::kRetransmit);
    uint32_t n = 0;
    for (; n < max_segs; ++n) {
      const uint32_t flight = t.flight();
      const uint32_t by_peer = t.snd_wnd > flight ? t.snd_wnd - flight : 0;
      const uint32_t by_cc = allowed > flight ? allowed - flight : 0;
      if (!send_new(t, std::min(by_peer, by_cc), now, s)) {
        break;
      }
      if (t.flight() > cwnd) [[unlikely]] {
        ++s.core().counters.limited_transmits;
        t.lt_bytes = t.flight() - cwnd;
      }
    }
    if (n > 0 && !timer_ran) {
      // The timer started with this burst's first segment: now that the whole burst is out,
      // it may run as the PTO (RFC 8985 §7.2: armed after the transmission).
      arm_retransmit(t, now, s);
    }
  }
  if (can_send_data(t.state)) {
    // RFC 9293 §3.8.6.1: data waits behind a zero window and nothing is in flight to bring
    // the window update: probe.
    const uint32_t offset = distance(t.snd_una, t.snd_nxt);
    if (t.snd_wnd == 0 && t.flight() == 0 && t.sndq.bytes() > offset &&
        !t.armed(TimerKind::kPersist)) {
      t.probes = 0;
      arm(t, TimerKind::kPersist, now + rto(t), s);
    }
  }
  if (t.ack_now) {
    send_ack(t, now, s);
  }
}

}  // namespace tempo::tcp::detail
