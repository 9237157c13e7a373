// SYN cookies in the protocol core: the stateless SYN,ACK a listener sends when its backlog is
// full, and the connection that an ACK returning a valid cookie opens (RFC 4987 §3.6; Linux
// tcp_conn_request() with want_cookie, and cookie_v4_check()). The cookie itself, its layout
// and its checks are tcp/syncookie.h.
//
// The Worker's part:
//   SYN (no ACK, no RST) for a listener whose backlog is full
//       -> cookie_syn_ack(), put on the wire; no Tcb is made.
//   ACK (SYN and RST clear) matching no connection, on a listening port
//       -> open_from_cookie() into a fresh Tcb. On error nothing was sent and the Tcb is as it
//          was: answer as LISTEN does (RFC 9293 §3.10.7.2 <SEQ=SEG.ACK><CTL=RST>,
//          tcp::reply_closed) and free the Tcb.
//
// What a cookie restores: the MSS (an index into Linux's table, at or below the peer's), and,
// only when the SYN had timestamps, window scale and SACK-permitted, which ride in the low bits
// of our TSval. Without timestamps the connection opens with neither (as Linux, which clears
// them in tcp_conn_request()), so the SYN,ACK does not offer them: an offer we could not honour
// would have the peer scale its window by a shift we no longer know.
//
// Our TSval clock: cookie_encode() builds the SYN,ACK's TSval on ts_offset(prf, local, remote),
// the Worker's offset for every connection; the open uses the same, so later TSvals are not
// below the SYN,ACK's (RFC 7323 §5.4). That is why neither call takes an offset.
#pragma once

#include <algorithm>
#include <cstdint>

#include <tempo/result.h>

#include "crypto/prf.h"
#include "crypto/tuple.h"
#include "tcp/buffer.h"
#include "tcp/config.h"
#include "tcp/core_state.h"
#include "tcp/input.h"
#include "tcp/output.h"
#include "tcp/segment.h"
#include "tcp/seq.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "tcp/syncookie.h"
#include "tcp/tcb.h"
#include "tcp/ts_offset.h"
#include "tcp/user.h"
#include "time/ticks.h"

namespace tempo::tcp {

namespace detail {

// What the cookie encodes for this SYN: its ISN, its MSS, and the options the connection will
// use (ours intersected with the peer's, RFC 7323 §2.2/§3.2, RFC 2018 §2), of which window
// scale and SACK only with timestamps.
template <Buffer Buf>
CookieSyn cookie_syn(const Config& cfg, const Segment<Buf>& syn) noexcept {
  const wire::TcpOptions& o = syn.opts;
  CookieSyn cs;
  cs.peer_isn = syn.seq.raw();
  // RFC 9293 §3.7.1: no MSS option means the default send MSS.
  cs.mss = o.has_mss ? o.mss : cfg.default_snd_mss;
  cs.ts_ok = cfg.timestamps && o.has_timestamps;
  if (cs.ts_ok) {
    if (cfg.window_scaling && o.has_wscale) {
      cs.wscale = o.wscale;  // clamped to 14 by the codec (RFC 7323 §2.3)
    }
    cs.sack_ok = cfg.sack && o.sack_permitted;
  }
  return cs;
}

}  // namespace detail

// The SYN,ACK for `syn` (SYN set, ACK and RST clear: the Worker's LISTEN filter) with no state
// kept: <SEQ=cookie><ACK=SEG.SEQ+1><CTL=SYN,ACK>, the window unscaled (RFC 7323 §2.2), and the
// options the cookie can restore (top of this file): MSS = cfg.mss; with timestamps,
// TSval = the cookie's, TSecr = SEG.TSval, and window scale (our shift, as detail::init
// computes it) and SACK-permitted when the SYN offered them and cfg allows. The SYN's data and
// FIN are not taken (LISTEN does the same; the peer sends them again).
// Counts syncookies_sent and segs_out in `core`; never fails.
template <Buffer Buf>
OutSegment<Buf> cookie_syn_ack(const Config& cfg, const crypto::Prf& prf, const flow::Tuple& t,
                               const Segment<Buf>& syn, Ticks now, CoreState& core) noexcept {
  const CookieSyn cs = detail::cookie_syn(cfg, syn);
  const CookieSynAck sa = cookie_encode(prf, t, cs, now);
  OutSegment<Buf> o;
  o.seq = SeqNum(sa.isn);
  o.ack = syn.seq + 1;
  o.flags = static_cast<uint8_t>(flag::kSyn | flag::kAck);
  // As detail::finish_segment on a SYN from a fresh Tcb: the whole buffer, unscaled.
  o.window = static_cast<uint16_t>(std::min(cfg.rcv_buf, detail::kMaxWindow));
  o.opts.has_mss = true;  // RFC 9293 §3.7.1
  o.opts.mss = cfg.mss;
  if (cs.wscale) {
    o.opts.has_wscale = true;
    o.opts.wscale = detail::wscale_for(cfg.rcv_buf);
  }
  o.opts.sack_permitted = cs.sack_ok;
  if (cs.ts_ok) {
    o.opts.has_timestamps = true;
    o.opts.tsval = sa.tsval;
    o.opts.tsecr = syn.opts.tsval;  // RFC 7323 §3.2: TSecr echoes the SYN's TSval
  }
  ++core.counters.syncookies_sent;
  ++core.counters.segs_out;
  return o;
}

// Opens `t` from an ACK that returns our cookie (SEG.ACK - 1 = cookie, SEG.SEQ - 1 = the
// peer's ISN, SEG.TSecr = the cookie SYN,ACK's TSval when timestamps are on).
//
// On success `t` is rebuilt as the passive open would have left it after our SYN,ACK
// (detail::init, accept_syn on the SYN the cookie describes, syn_segment): ISS = cookie,
// IRS = peer ISN, SND.UNA = ISS, SND.NXT = ISS+1, RCV.NXT = IRS+1, our window scale as offered,
// the peer's MSS, window scale and SACK from the cookie, TS.Recent = SEG.TSval. Then the ACK
// goes through tcp::input like any third ACK (RFC 9293 §3.10.7.4): ESTABLISHED, SND.WND =
// SEG.WND << the restored shift, on_connected, and its data and FIN delivered. RFC 6298: with
// timestamps the SYN,ACK's RTT is sampled from SEG.TSecr (as Linux tcp_synack_rtt_meas(); the
// cookie bits make it up to 64 ms long); without, no sample is taken (RTO stays at
// rto_initial, §2.1), since nothing timed the SYN,ACK.
//
// Errors (counted in syncookies_failed; nothing sent, `t` untouched):
//   kExpired  the cookie's minute counter is too old or ahead (syncookie.h)
//   kForged   the MAC does not match: a guessed or stale cookie, an ACK whose timestamps do
//             not match the SYN,ACK's, or a segment that is no cookie ACK (ACK clear, or SYN
//             or RST set)
// On success counts syncookies_ok; `t` is ESTABLISHED or, when the ACK carried a FIN,
// CLOSE-WAIT.
template <Buffer Buf, class S>
requires Sink<S, Buf> Result<void, CookieError> open_from_cookie(Tcb<Buf>& t, const Config& cfg,
                                                                 const crypto::Prf& prf,
                                                                 const flow::Tuple& tuple,
                                                                 const Segment<Buf>& ack, Ticks now,
                                                                 S& s)
noexcept {
  Counters& c = s.core().counters;
  if (!ack.has(flag::kAck) || ack.has(flag::kSyn) || ack.has(flag::kRst)) {
    ++c.syncookies_failed;
    return fail(CookieError::kForged);
  }
  CookieAck ca;
  ca.peer_isn = (ack.seq - 1).raw();
  ca.cookie = (ack.ack - 1).raw();
  // RFC 7323 §3.2: timestamps not negotiated are ignored; with cfg.timestamps off our SYN,ACK
  // had none, so the cookie was made without them.
  if (cfg.timestamps && ack.opts.has_timestamps) {
    ca.tsecr = ack.opts.tsecr;
  }
  const auto conn = cookie_decode(prf, tuple, ca, now);
  if (!conn.ok()) {
    ++c.syncookies_failed;
    return fail(conn.error());
  }
  ++c.syncookies_ok;

  // The SYN the cookie stands for, as LISTEN would have taken it.
  Segment<Buf> syn;
  syn.seq = SeqNum(ca.peer_isn);
  syn.flags = flag::kSyn;
  syn.opts.has_mss = true;
  syn.opts.mss = conn->mss;
  syn.opts.has_wscale = conn->wscale.has_value();
  syn.opts.wscale = conn->wscale.value_or(0);
  syn.opts.sack_permitted = conn->sack_ok;
  syn.opts.has_timestamps = conn->ts_ok;
  syn.opts.tsval = ack.opts.tsval;  // TS.Recent (RFC 7323 §4.3): the ACK's is the latest

  const SeqNum iss(ca.cookie);
  detail::init(t, cfg, iss, ts_offset(prf, tuple));
  detail::accept_syn(t, syn, now, c);  // SND.WND 0: the ACK sets it (the SYN's is not kept)
  // Record the SYN,ACK cookie_syn_ack() sent: SND.NXT = ISS+1, the window it advertised.
  (void)detail::syn_segment(t, now, s.core());

  const detail::Rtt unsampled = t.rtt;
  bool sampled = false;
  if (t.ts_ok) {
    const int32_t d = static_cast<int32_t>(detail::ts_now(t, now) - ack.opts.tsecr);
    if (d >= 0 && Ticks::from_ms(static_cast<uint64_t>(d)) <= cfg.rto_max) {
      t.rtt_start = now - Ticks::from_ms(d > 0 ? static_cast<uint64_t>(d) : 1);
      sampled = true;
    }
  }
  // SEG.ACK = ISS+1 and SEG.SEQ = RCV.NXT by construction, and TS.Recent = SEG.TSval: the
  // ACK is acceptable, so input() establishes (only a zero receive buffer refuses its data).
  input(t, ack, now, s);
  if (!sampled) {
    t.rtt = unsampled;  // establish() timed the SYN,ACK from now: undo that zero sample
  }
  return {};
}

}  // namespace tempo::tcp
