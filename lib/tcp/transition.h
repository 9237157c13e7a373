// State transitions with side effects shared by input, timers and user calls: option
// negotiation from a SYN, reaching ESTABLISHED, TIME-WAIT hand-off and CLOSED.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/output.h"
#include "tcp/segment.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "tcp/tcb.h"
#include "time/ticks.h"

namespace tempo::tcp::detail {

// RFC 9293 §3.7.1, RFC 7323 §2.2/§3.2, RFC 2018 §2: what the peer's SYN (or SYN,ACK) settles.
// Our offer is in ws_ok/sack_ok/ts_ok; the result is the intersection.
template <Buffer Buf>
void negotiate(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, Counters& c) noexcept {
  const wire::TcpOptions& o = seg.opts;
  t.ws_ok = t.ws_ok && o.has_wscale;
  if (t.ws_ok) {
    // RFC 7323 §2.3: a shift above 14 is used as 14.
    t.snd_wscale = std::min<uint8_t>(o.wscale, kMaxWscale);
  } else {
    t.snd_wscale = 0;
    t.rcv_wscale = 0;
  }
  t.sack_ok = t.sack_ok && o.sack_permitted;
  t.ts_ok = t.ts_ok && o.has_timestamps;
  if (t.ts_ok) {
    t.ts_recent = TsVal(o.tsval);
    t.ts_recent_age = now;
  }
  // RFC 9293 §3.7.1: without the option the send MSS is 536 (IPv4 default). The effective
  // MSS leaves room for the timestamp option every segment carries (RFC 7323 §3.2).
  // A peer's MSS below the floor (tcp.min_snd_mss, at least 48 as Linux's tcp_min_snd_mss) is
  // raised to it and counted: a peer announcing an MSS of 8 would otherwise have every byte
  // sent in its own packet, 40 bytes of headers each (CVE-2019-11478's class), and an MSS of 0
  // used to wrap the subtraction below to 65,524-byte segments (the Worker fuzzer found it).
  // With every option a segment carries (timestamps 12, SACK blocks 28) 8 bytes of payload
  // remain at the floor of 48 (payload_room, output.h).
  uint32_t mss = o.has_mss ? o.mss : t.cfg->default_snd_mss;
  if (mss < t.cfg->min_snd_mss) {
    mss = t.cfg->min_snd_mss;
    ++c.mss_clamped;
  }
  mss = std::min<uint32_t>(mss, std::max(t.cfg->mss, t.cfg->min_snd_mss));
  if (t.ts_ok) {
    mss -= kTsOptionLen;
  }
  t.snd_mss = static_cast<uint16_t>(mss);
  t.cc.init(t.snd_mss);
}

template <Buffer Buf, class S>
requires Sink<S, Buf>
void become_closed(Tcb<Buf>& t, CloseReason why, S& s) noexcept {
  cancel_all(t, s);
  t.sndq.clear();
  t.ooo.clear();
  t.state = State::kClosed;
  s.on_closed(why);
}

// The ACK of the peer's FIN must be out before the record takes over: flush it, then hand off.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void enter_time_wait(Tcb<Buf>& t, Ticks now, S& s) noexcept {
  if (t.ack_now) {
    send_ack(t, now, s);
  }
  cancel_all(t, s);
  t.state = State::kTimeWait;
  TimeWaitInfo tw;
  tw.snd_nxt = t.snd_nxt;
  tw.rcv_nxt = t.rcv_nxt;
  tw.ts_recent = t.ts_recent.raw();
  tw.ts_recent_age = t.ts_recent_age;
  tw.ts_offset = t.ts_offset;
  tw.timestamps = t.ts_ok;
  tw.rcv_wnd = static_cast<uint16_t>(
      std::min<uint32_t>(distance(t.rcv_nxt, t.rcv_adv) >> t.rcv_wscale, kMaxWindow));
  tw.rcv_wscale = t.rcv_wscale;
  t.sndq.clear();
  t.ooo.clear();
  s.on_time_wait(tw);
}

// SYN-SENT or SYN-RECEIVED -> ESTABLISHED (RFC 9293 §3.10.7.3, §3.10.7.4 fifth check).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void establish(Tcb<Buf>& t, const Segment<Buf>& seg, Ticks now, S& s) noexcept {
  t.snd_una = seg.ack;
  if (t.snd_nxt < t.snd_una) {
    t.snd_nxt = t.snd_una;
  }
  t.rack.reset(t.snd_una);
  // RFC 6298 §3 (Karn): the SYN gives a sample only when it was not retransmitted. With
  // timestamps the echo names the transmission it answers (RFC 7323 §4.1), a retransmitted SYN
  // included: a sample all the same, as Linux. Only with no sample at all does RFC 6298 §5.7's
  // RTO of 3 s apply once data flows (it would make the first lost segment of the connection
  // wait 3 s).
  const int32_t echo = t.ts_ok && seg.opts.has_timestamps && seg.opts.tsecr != 0
                           ? static_cast<int32_t>(ts_now(t, now) - seg.opts.tsecr)
                           : -1;
  if (t.retries == 0) {
    t.rtt.on_sample(now - t.rtt_start);
  } else if (echo >= 0 && Ticks::from_ms(static_cast<uint64_t>(echo)) <= t.cfg->rto_max) {
    t.rtt.on_sample(Ticks::from_ms(echo > 0 ? static_cast<uint64_t>(echo) : 1));
  } else {
    t.rtt.on_syn_timeout_established();  // RFC 6298 §5.7: RTO 3 s once data flows
  }
  if (t.rtt.has_sample()) {
    t.rack.on_rtt_sample(t.rtt.srtt().us());  // the handshake's: RACK.min_RTT from the start
  }
  t.retries = 0;
  t.rtt.reset_backoff();
  cancel(t, TimerKind::kRetransmit, s);
  // RFC 7323 §2.2: a SYN's window is unscaled; later ones are shifted by snd_wscale.
  const bool syn = seg.has(flag::kSyn);
  t.snd_wnd = syn ? seg.window : (static_cast<uint32_t>(seg.window) << t.snd_wscale);
  t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
  t.snd_wl1 = seg.seq;
  t.snd_wl2 = seg.ack;
  t.last_rcv = now;
  t.state = t.fin_queued ? State::kFinWait1 : State::kEstablished;
  if (t.cfg->keepalive) {
    arm(t, TimerKind::kKeepalive, now + t.cfg->keepalive_idle, s);
  }
  s.on_connected();
}

}  // namespace tempo::tcp::detail
