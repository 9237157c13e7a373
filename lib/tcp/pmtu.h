// What an ICMP or ICMPv6 error does to a connection, once the Worker found the connection the
// quoted segment belongs to (stack/worker.cc input_icmp_error):
//  - on_path_mtu: RFC 1191 "fragmentation needed" / RFC 8201 "packet too big" lowers the send
//    MSS to the new path MTU and resends what is in flight at the new size;
//  - on_icmp_error: RFC 1122 §4.2.3.9 hard errors abort a connection in SYN-SENT, and are soft
//    errors (counted by the caller, no abort) in every other state;
//  - apply_path_mtu: a new connection starts at a path MTU learned before (stack/path_mtu.h).
// Each first applies RFC 5927 §4.1's check: the quoted sequence number must be one we sent and
// is not yet acknowledged, so a blind attacker must guess a sequence number in the window to
// have any effect (RFC 5927 §4.1, §5.2, §7.2; Linux tcp_v4_err's "between snd_una and snd_nxt").
// The floor under the MTU (Linux's min_pmtu) and the cache are the Worker's; this file changes
// the Tcb only, and returns a verdict the caller counts (STYLE.md 3).
#pragma once

#include <algorithm>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/output.h"
#include "tcp/recovery.h"
#include "tcp/seq.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "tcp/tcb.h"
#include "tcp/transition.h"
#include "time/ticks.h"

namespace tempo::tcp {

enum class PmtuVerdict : uint8_t {
  kLowered,    // the send MSS went down; what was in flight was sent again at the new size
  kNotLower,   // the MTU is not below the one the connection sends at: nothing to do
  kHandshake,  // SYN-SENT / SYN-RECEIVED: the MSS is settled later (the caller keeps the MTU)
  kBadSeq,     // the quoted sequence number is not in flight: ignored (RFC 5927 §4.1)
};

enum class IcmpErrorVerdict : uint8_t {
  kAborted,  // a hard error in SYN-SENT: the connection is closed (on_closed reported it)
  kSoft,     // everything else: a soft error, no change
  kBadSeq,   // the quoted sequence number is not in flight: ignored (RFC 5927 §4.1)
};

namespace detail {

inline constexpr uint32_t kTcpHeaderLen = 20;
inline uint32_t ip_header_len(bool v6) noexcept { return v6 ? 40 : 20; }

// RFC 9293 §3.7.1: the MSS option is the MTU less the fixed IP and TCP headers (RFC 1191 §6.4,
// RFC 8201 §5.2 "the MSS ... derived from the PMTU"), never below tcp.min_snd_mss; the
// effective send MSS is 12 less when every segment carries timestamps, as negotiate() does.
template <Buffer Buf>
uint32_t mss_for_mtu(const Tcb<Buf>& t, uint32_t mtu, bool v6) noexcept {
  const uint32_t headers = ip_header_len(v6) + kTcpHeaderLen;
  uint32_t mss = mtu > headers ? mtu - headers : 0;
  mss = std::max<uint32_t>(mss, t.cfg->min_snd_mss);
  return t.ts_ok ? mss - kTsOptionLen : mss;
}

}  // namespace detail

// RFC 5927 §4.1 (and §5.2, §7.2): the quoted segment is one of ours still in flight. SYN-SENT:
// the quote must be our SYN (SEG.SEQ = ISS). Otherwise SND.UNA <= SEG.SEQ < SND.MAX: SND.MAX,
// not SND.NXT, since tempo rewinds SND.NXT on a timeout while what went out is still in the
// network (Linux's snd_nxt is our snd_max). A connection with nothing in flight takes no ICMP.
template <Buffer Buf>
bool quoted_seq_in_flight(const Tcb<Buf>& t, SeqNum seq) noexcept {
  switch (t.state) {
    case State::kClosed:
    case State::kListen:
    case State::kTimeWait:
      return false;
    case State::kSynSent:
      return seq == t.iss;
    case State::kSynReceived:
    case State::kEstablished:
    case State::kFinWait1:
    case State::kFinWait2:
    case State::kCloseWait:
    case State::kClosing:
    case State::kLastAck:
      return t.snd_una <= seq && seq < t.snd_max;
  }
  return false;
}

// A new connection to a destination whose path MTU was learned before (stack/path_mtu.h), once
// its MSS is settled (ESTABLISHED, before anything is sent): the send MSS goes down to what
// `mtu` allows. Returns whether it did.
template <Buffer Buf>
bool apply_path_mtu(Tcb<Buf>& t, uint32_t mtu, bool v6) noexcept {
  const uint32_t mss = detail::mss_for_mtu(t, mtu, v6);
  if (mss >= t.snd_mss) {
    return false;
  }
  t.snd_mss = static_cast<uint16_t>(mss);
  return true;
}

// RFC 1191 §6.5 / RFC 8201 §5.4: the path MTU toward the peer is `mtu` (the caller has applied
// its floor), reported for the quoted segment `quoted_seq`. Past the RFC 5927 check, a lower MTU
// lowers the send MSS, and what is in flight (the oversized segments a router dropped) is sent
// again at once at the new size, as Linux's tcp_simple_retransmit: RFC 1191 §6.5 lets the
// retransmission follow the message directly, for the connection it names only, and a PMTU
// change is not congestion (cwnd and ssthresh stay; the RTO is not backed off). Only a message
// that lowers the MSS resends, so the burst of messages a window of oversized segments draws
// resends once.
template <Buffer Buf, class S>
requires Sink<S, Buf> PmtuVerdict on_path_mtu(Tcb<Buf>& t, uint32_t mtu, bool v6, SeqNum quoted_seq,
                                              Ticks now, S& s)
noexcept {
  if (!quoted_seq_in_flight(t, quoted_seq)) {
    return PmtuVerdict::kBadSeq;
  }
  if (!is_synchronized(t.state)) {
    return PmtuVerdict::kHandshake;  // the SYN or SYN,ACK was quoted: negotiate() decides yet
  }
  if (!apply_path_mtu(t, mtu, v6)) {
    return PmtuVerdict::kNotLower;
  }
  if (!detail::can_send_data(t.state) || t.flight() == 0) {
    return PmtuVerdict::kLowered;
  }
  // Everything in flight, SND.UNA to SND.MAX, is taken as lost and sent again now in segments
  // of the new size (SND.NXT does not move: what was sent stays sent, as Linux's marking of
  // lost segments; Nagle does not hold a retransmission's short tail). It was within the windows
  // when it first went out. What the peer SACKed goes again too: tempo keeps no segment
  // boundaries to tell which of the old segments fit the new MTU. Recovery in progress ends.
  if (t.in_recovery) {
    detail::leave_recovery(t);
    t.cc.on_exit_recovery(t.snd_mss, t.flight());
  }
  t.dupacks = 0;
  // RFC 6582 §3.2 step 2 / RFC 6675 §5.1: duplicate ACKs for what was sent before this point
  // start no fast retransmit.
  t.recover = t.snd_max;
  t.high_rxt = t.snd_max;
  detail::cancel(t, TimerKind::kRetransmit, s);
  SeqNum seq = t.snd_una;
  // Each pass covers at least one octet, so the loop ends; the bound guards a bug only.
  for (uint32_t guard = 0; seq < t.snd_max && guard < 65536; ++guard) {
    const uint32_t sent = detail::retransmit_range(t, seq, t.snd_mss, now, s);
    if (sent == 0) {
      break;
    }
    seq = seq + sent;
  }
  // RFC 6298 §5.1 (retransmit_range armed it when it sent): from now, not backed off.
  if (!t.armed(TimerKind::kRetransmit)) {
    detail::arm(t, TimerKind::kRetransmit, now + detail::rto(t), s);
  }
  return PmtuVerdict::kLowered;
}

// RFC 1122 §4.2.3.9 for an error of kind `hard` about the quoted segment `quoted_seq`: a hard
// error (protocol or port unreachable, the prohibitions) aborts a connection in SYN-SENT, with
// `why` (RFC 5461 §4: only there, as Linux and FreeBSD; RFC 1122 says SHOULD abort in any
// state, which lets a forged message kill a connection). In every other state, and for soft
// errors, nothing changes: the caller counts it. No RST is sent (the peer never got our SYN).
template <Buffer Buf, class S>
requires Sink<S, Buf> IcmpErrorVerdict on_icmp_error(Tcb<Buf>& t, bool hard, CloseReason why,
                                                     SeqNum quoted_seq, S& s)
noexcept {
  if (!quoted_seq_in_flight(t, quoted_seq)) {
    return IcmpErrorVerdict::kBadSeq;
  }
  if (hard && t.state == State::kSynSent) {
    detail::become_closed(t, why, s);
    return IcmpErrorVerdict::kAborted;
  }
  return IcmpErrorVerdict::kSoft;
}

}  // namespace tempo::tcp
