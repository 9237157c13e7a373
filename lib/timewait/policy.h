// What a TIME_WAIT entry does with one arriving segment: a pure function from (record, segment,
// now, policy) to a verdict. The caller does the I/O (sends the ACK, opens the new connection)
// and hands the verdict to TwTable::apply for the table-side effects and counters, the way Linux
// tcp_timewait_state_process() returns TCP_TW_ACK/RST/SYN/SUCCESS (STYLE.md §3).
//
// RFCs, in the order the rules are applied:
//   RFC 1337          TIME-WAIT assassination: RSTs are ignored in TIME_WAIT (configurable).
//   RFC 5961 §3.2     An RST is accepted only when SEG.SEQ == RCV.NXT exactly.
//   RFC 9293 §3.10.7.4 (fourth check, SYN) and RFC 5961 §4.2: a SYN in a synchronized state gets
//                     a challenge ACK, except that TIME_WAIT may accept it per RFC 6191.
//   RFC 6191 §2       Passive early reuse: TSval newer than TS.Recent (or equal with a higher
//                     ISN); without timestamps on both sides, ISN beyond the old RCV.NXT.
//   RFC 7323 §5.3 R1  PAWS: a TSval older than TS.Recent makes the segment unacceptable; ACK it
//                     and drop. §5.5: TS.Recent older than 24 days is invalid and not applied.
//   RFC 9293 §3.10.7.4 (fifth check, ACK off): drop. ("check the FIN bit"/TIME-WAIT and "check
//                     the ACK field"/TIME-WAIT): a retransmitted FIN is ACKed again and the 2 MSL
//                     timer restarts. §3.6: nothing received in TIME_WAIT is delivered.
//   RFC 9293 §3.10.7.4 (first check): an unacceptable segment is ACKed; acceptable data is ACKed
//                     (duplicate ACK) and never delivered.
#pragma once

#include <cstdint>

#include "time/ticks.h"
#include "timewait/record.h"
#include "timewait/wrap32.h"

namespace tempo::timewait {

enum class TwReuse : uint8_t {
  kRfc6191,  // a new SYN may take over the tuple (RFC 6191)
  kOff,      // every SYN is treated as an old duplicate
};

struct TwPolicy {
  TwReuse reuse = TwReuse::kRfc6191;
  bool rfc1337 = true;  // true: ignore RSTs in TIME_WAIT (RFC 1337); false: an exact RST closes
  Ticks duration = Ticks::from_ms(60000);  // 2*MSL, tcp.time_wait.duration_ms (< 2^31 ms)

  friend bool operator==(const TwPolicy&, const TwPolicy&) = default;
};

// The fields of an arriving TCP segment that TIME_WAIT looks at.
struct TwSegment {
  static constexpr uint8_t kFin = 0x01;  // TCP header flag bits (RFC 9293 §3.1)
  static constexpr uint8_t kSyn = 0x02;
  static constexpr uint8_t kRst = 0x04;
  static constexpr uint8_t kPsh = 0x08;
  static constexpr uint8_t kAck = 0x10;

  uint8_t flags = 0;
  bool has_ts = false;  // RFC 7323 Timestamps option present
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint32_t payload_len = 0;  // bytes of data, not counting SYN or FIN
  uint32_t tsval = 0;
  uint32_t tsecr = 0;
};

enum class TwAction : uint8_t {
  kDrop,        // send nothing; the entry stays
  kAck,         // send an ACK: SEQ=snd_nxt, ACK=rcv_nxt, WND=rcv_wnd, TSecr=ts_recent
  kAckRestart,  // as kAck, and restart the 2*MSL timer (TwTable::apply does it)
  kClose,       // send nothing; the entry is removed (RST accepted, rfc1337 off)
  kReuse,       // open a new connection from this SYN; the entry is removed
};

// Why; each reason is one counter in TwCounters.
enum class TwReason : uint8_t {
  kFinRetransmit,  // -> fin_reacked
  kDupAck,         // -> dup_acked: data, or an out-of-window segment
  kBareAck,        // -> bare_acks: pure ACK at RCV.NXT, absorbed
  kNoAck,          // -> no_ack_drops: neither SYN, RST nor ACK
  kRstIgnored,     // -> rst_ignored
  kRstClosed,      // -> rst_closed
  kPawsDrop,       // -> paws_drops
  kReuseAccepted,  // -> passive_reuse_accepted
  kReuseRefused,   // -> passive_reuse_refused
  // Set by the demultiplexer, not by on_segment: a SYN that on_segment would let reopen the
  // tuple, but nothing takes it. The record stays (DESIGN.md: it is removed only when a
  // listener takes the SYN).
  kReuseNoListener,  // -> passive_reuse_no_listener: answered as a refused SYN (ACK)
  kReuseNotTaken,    // -> passive_reuse_not_taken: no slot, backlog full or a SYN+FIN
};

struct TwVerdict {
  TwAction action = TwAction::kDrop;
  TwReason reason = TwReason::kNoAck;
  // RFC 7323 §4.3: copy SEG.TSval to TS.Recent (and stamp its age) before replying.
  bool update_ts = false;

  friend constexpr bool operator==(const TwVerdict&, const TwVerdict&) noexcept = default;
};

// RFC 7323 §5.5: 24 days, after which TS.Recent is no longer trusted for PAWS.
inline constexpr uint32_t kPawsIdleMs = 24u * 24 * 3600 * 1000;

namespace detail {

// RFC 6191 §2. With timestamps on both the old incarnation and this SYN: a newer TSval, or an
// equal TSval with a newer ISN. Otherwise: an ISN beyond the old RCV.NXT.
constexpr bool rfc6191_acceptable(const TwConn& c, const TwSegment& s) noexcept {
  if (c.ts_ok() && s.has_ts) {
    if (after32(s.tsval, c.ts_recent)) {
      return true;
    }
    return s.tsval == c.ts_recent && after32(s.seq, c.rcv_nxt);
  }
  return after32(s.seq, c.rcv_nxt);
}

}  // namespace detail

constexpr TwVerdict on_segment(const TwConn& c, const TwSegment& s, Ticks now,
                               const TwPolicy& p) noexcept {
  const bool rst = (s.flags & TwSegment::kRst) != 0;
  const bool syn = (s.flags & TwSegment::kSyn) != 0;
  const bool ack = (s.flags & TwSegment::kAck) != 0;
  const bool fin = (s.flags & TwSegment::kFin) != 0;

  if (rst) {
    // RFC 1337: an RST would end TIME_WAIT early and expose the tuple to old duplicates
    // (hazards H1-H3), so by default it is ignored. RFC 7323 §5.3: PAWS does not apply to RST.
    if (p.rfc1337) {
      return {TwAction::kDrop, TwReason::kRstIgnored, false};
    }
    // RFC 5961 §3.2: only an RST exactly at RCV.NXT is accepted. The in-window challenge ACK is
    // not sent: the peer's side is closed, a blind attacker gains nothing from one here.
    if (s.seq == c.rcv_nxt) {
      return {TwAction::kClose, TwReason::kRstClosed, false};
    }
    return {TwAction::kDrop, TwReason::kRstIgnored, false};
  }

  if (syn) {
    // RFC 6191 §2: a SYN (without ACK) may open a new incarnation when it cannot be an old
    // duplicate of the previous one. A SYN failing PAWS fails this test too (older TSval).
    if (!ack && p.reuse == TwReuse::kRfc6191 && detail::rfc6191_acceptable(c, s)) {
      return {TwAction::kReuse, TwReason::kReuseAccepted, false};
    }
    // RFC 9293 §3.10.7.4 (fourth check): a SYN in a synchronized state gets a challenge ACK
    // (RFC 5961 §4.2). RFC 6191 §2 says "silently drop"; we ACK, as Linux does (TCP_TW_ACK):
    // a live peer whose SYN was refused learns the old incarnation is still here.
    return {TwAction::kAck, TwReason::kReuseRefused, false};
  }

  // RFC 7323 §5.3 R1 (PAWS): SEG.TSval < TS.Recent with TS.Recent valid (§5.5: updated within
  // 24 days): not acceptable; send an ACK and drop.
  // A stamp in the future (clock stepped back) counts as fresh.
  const bool ts_valid = c.ts_ok() && static_cast<int32_t>(ms32(now) - c.ts_recent_age) <
                                         static_cast<int32_t>(kPawsIdleMs);
  if (ts_valid && s.has_ts && before32(s.tsval, c.ts_recent)) {
    return {TwAction::kAck, TwReason::kPawsDrop, false};
  }

  // RFC 9293 §3.10.7.4 (fifth check): "if the ACK bit is off, drop the segment and return".
  if (!ack) {
    return {TwAction::kDrop, TwReason::kNoAck, false};
  }

  // RFC 7323 §4.3 (2): TS.Recent takes SEG.TSval when Last.ACK.sent (= RCV.NXT in TIME_WAIT)
  // lies in [SEG.SEQ, SEG.SEQ + SEG.LEN]; PAWS above already refused older TSvals.
  const uint32_t seg_len = s.payload_len + (fin ? 1u : 0u);
  const bool update_ts =
      c.ts_ok() && s.has_ts && !after32(s.seq, c.rcv_nxt) && !after32(c.rcv_nxt, s.seq + seg_len);

  // RFC 9293 §3.10.7.4 ("check the ACK field" and "check the FIN bit", TIME-WAIT): the only
  // thing that can arrive is a retransmission of the remote FIN (it ends at RCV.NXT):
  // acknowledge it and restart the 2 MSL timeout.
  if (fin && s.seq + seg_len == c.rcv_nxt) {
    return {TwAction::kAckRestart, TwReason::kFinRetransmit, update_ts};
  }

  // A pure ACK exactly at RCV.NXT is absorbed, as Linux does (TCP_TW_SUCCESS). Answering it
  // would start an endless ACK exchange between two TIME_WAIT ends after a simultaneous close
  // (RFC 9293 §3.6, Figure 13: both sides reach TIME_WAIT), each ACK acceptable to the other.
  if (s.payload_len == 0 && !fin && s.seq == c.rcv_nxt) {
    return {TwAction::kDrop, TwReason::kBareAck, update_ts};
  }

  // RFC 9293 §3.10.7.4 (first check): an unacceptable segment is answered by an ACK; an
  // acceptable one carrying data is ACKed too, and its text ignored (TIME-WAIT, "process the
  // segment text": "This should not occur since a FIN has been received").
  return {TwAction::kAck, TwReason::kDupAck, update_ts};
}

// RFC 5961 §7 for TIME_WAIT (Linux tcp_timewait_check_oow_rate_limit): the ACKs an entry sends
// for segments without data or FIN (pure ACKs out of window or failing PAWS, refused SYNs) are
// spaced per entry and drawn from the per-core challenge-ACK budget, so that millions of
// entries are never a reflector, nor half of an ACK loop. A retransmitted FIN, or data, is
// always answered: that is the lost-final-ACK case TIME_WAIT exists for.
constexpr bool oow_rate_limited_kind(const TwSegment& s) noexcept {
  const bool syn = (s.flags & TwSegment::kSyn) != 0;
  const bool fin = (s.flags & TwSegment::kFin) != 0;
  return syn || (s.payload_len == 0 && !fin);
}

// One byte of time for TwConn::oow_ack: ms32(now) in units of 128 ms, wrapping every 32.8 s.
constexpr uint8_t oow_stamp(Ticks now) noexcept { return static_cast<uint8_t>(ms32(now) >> 7); }
// At least kOowSpacing units (384 to 512 ms) between two rate-limited ACKs of one entry: Linux
// tcp_invalid_ratelimit is 500 ms. After a wrap (32.8 s later) a stamp can look recent again:
// at worst one ACK is then held back, which the peer's retransmission repairs.
inline constexpr uint8_t kOowSpacing = 4;

// Whether an ACK for `s` may go now, by the entry's spacing alone (the caller also asks the
// per-core budget, and records oow_stamp(now) in c.oow_ack when it sends).
constexpr bool oow_ack_allowed(const TwConn& c, const TwSegment& s, Ticks now) noexcept {
  return !oow_rate_limited_kind(s) ||
         static_cast<uint8_t>(oow_stamp(now) - c.oow_ack) >= kOowSpacing;
}

template <class Tuple>
constexpr TwVerdict on_segment(const TwRecord<Tuple>& r, const TwSegment& s, Ticks now,
                               const TwPolicy& p) noexcept {
  return on_segment(r.conn, s, now, p);
}

// Active early reuse (DESIGN.md, "TIME_WAIT: the rules the stack keeps"): an active open may take
// a tuple still in TIME_WAIT when timestamps were in use, so that PAWS on the peer rejects old
// duplicates of ours, and the last segment from the peer is at least `min_age` old
// (tcp.active_reuse_min_age_ms, default 1 s), as Linux's tcp_twsk_unique() with tcp_tw_reuse.
// A stamp in the future (a clock going backwards) never allows reuse. min_age < 2^31 ms.
constexpr bool can_reuse_active(const TwConn& c, Ticks now,
                                Ticks min_age = Ticks::from_ms(1000)) noexcept {
  if (!c.ts_ok()) {
    return false;
  }
  const auto age = static_cast<int32_t>(ms32(now) - c.ts_recent_age);
  return age >= 0 && static_cast<uint64_t>(age) >= min_age.ms();
}

template <class Tuple>
constexpr bool can_reuse_active(const TwRecord<Tuple>& r, Ticks now,
                                Ticks min_age = Ticks::from_ms(1000)) noexcept {
  return can_reuse_active(r.conn, now, min_age);
}

// Lowest ISS for the connection that replaces a TIME_WAIT entry (passive reuse): beyond the
// old SND.NXT by more than a 64 KB window, so our new segments cannot fall into what the peer
// would take for the old connection. The same constant as Linux (tw_snd_nxt + 65535 + 2).
// The ISN generator's value is used when it is already after this floor.
constexpr uint32_t reuse_iss_floor(const TwConn& c) noexcept {
  const uint32_t iss = c.snd_nxt + 65535u + 2u;
  return iss == 0 ? 1u : iss;
}

}  // namespace tempo::timewait
