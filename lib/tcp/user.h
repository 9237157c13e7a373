// The user calls of RFC 9293 §3.10.1-§3.10.5 (OPEN, SEND, RECEIVE, CLOSE, ABORT), as the
// Worker calls them on behalf of the application.
#pragma once

#include <cstdint>

#include <tempo/result.h>

#include "tcp/buffer.h"
#include "tcp/config.h"
#include "tcp/output.h"
#include "tcp/seq.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "tcp/tcb.h"
#include "tcp/transition.h"
#include "time/ticks.h"

namespace tempo::tcp {

enum class SendError : uint8_t {
  kNotConnected,  // CLOSED or LISTEN (RFC 9293 §3.10.2 "connection does not exist")
  kClosing,       // the user already closed (FIN-WAIT-*, CLOSING, LAST-ACK, TIME-WAIT)
  kQueueFull,     // snd_buf or the queue's entries are used up; on_writable follows
};

enum class CloseError : uint8_t {
  kClosing,  // RFC 9293 §3.10.4 "connection closing": close() already called
};

namespace detail {
template <Buffer Buf>
void init(Tcb<Buf>& t, const Config& cfg, SeqNum iss, uint32_t ts_offset) noexcept {
  t = Tcb<Buf>{};
  t.cfg = &cfg;
  t.iss = iss;
  t.snd_una = iss;
  t.snd_nxt = iss;
  t.snd_max = iss;
  t.recover = iss;
  t.rcv_mss = cfg.mss;
  t.snd_mss = cfg.default_snd_mss;
  t.nagle = cfg.nagle;
  t.ts_offset = ts_offset;
  // Our offer; negotiate() keeps what the peer's SYN matches.
  t.ws_ok = cfg.window_scaling;
  t.rcv_wscale = cfg.window_scaling ? wscale_for(cfg.rcv_buf) : 0;
  t.sack_ok = cfg.sack;
  t.ts_ok = cfg.timestamps;
  t.rtt = detail::Rtt(RttConfig{cfg.rto_initial, cfg.rto_min, cfg.rto_max, Ticks::from_ms(1)});
  t.cc.select(cfg.cc);
  t.cc.init(t.snd_mss);
}
}  // namespace detail

// Passive OPEN (RFC 9293 §3.10.1) for one arriving SYN: the Worker's listener makes a Tcb per
// SYN, puts it in LISTEN with the ISS for this tuple (RFC 6528, lib/tcp/isn.h) and passes the
// SYN to tcp::input, which answers SYN,ACK.
template <Buffer Buf>
void open_passive(Tcb<Buf>& t, const Config& cfg, SeqNum iss, uint32_t ts_offset = 0) noexcept {
  detail::init(t, cfg, iss, ts_offset);
  t.state = State::kListen;
}

// Active OPEN (RFC 9293 §3.10.1): send <SEQ=ISS><CTL=SYN>, enter SYN-SENT.
template <Buffer Buf, class S>
requires Sink<S, Buf>
void connect(Tcb<Buf>& t, const Config& cfg, SeqNum iss, uint32_t ts_offset, Ticks now,
             S& s) noexcept {
  detail::init(t, cfg, iss, ts_offset);
  t.state = State::kSynSent;
  t.rtt_start = now;
  detail::send_syn(t, now, s);
}

// SEND (RFC 9293 §3.10.2): queue b (a reference, not a copy) and send what the windows allow.
template <Buffer Buf, class S>
requires Sink<S, Buf> Result<void, SendError> send(Tcb<Buf>& t, const Buf& b, Ticks now, S& s)
noexcept {
  switch (t.state) {
    case State::kClosed:
    case State::kListen:
      return fail(SendError::kNotConnected);
    case State::kFinWait1:
    case State::kFinWait2:
    case State::kClosing:
    case State::kLastAck:
    case State::kTimeWait:
      return fail(SendError::kClosing);
    case State::kSynSent:
    case State::kSynReceived:
    case State::kEstablished:
    case State::kCloseWait:
      break;
  }
  if (t.fin_queued) {
    return fail(SendError::kClosing);
  }
  // Chunks beyond the queue's first come from the Worker's pool (CoreState::sndq_pool). An
  // empty queue holds none, so it may take the pool now.
  if (t.sndq.entries() == 0) {
    t.sndq.attach(s.core().sndq_pool);
  }
  if (!t.sndq.push(b, t.cfg->snd_buf)) {
    t.want_writable = true;
    return fail(SendError::kQueueFull);
  }
  detail::output(t, now, s);
  return {};
}

// RECEIVE, zero-copy (RFC 9293 §3.10.3): the application is done with `bytes` delivered by
// on_data. The window reopens; a window update goes out when it moved enough (RFC 9293
// §3.8.6.2.2).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void consume(Tcb<Buf>& t, uint32_t bytes, Ticks now, S& s) noexcept {
  t.rcv_held = bytes > t.rcv_held ? 0 : t.rcv_held - bytes;
  if (!is_synchronized(t.state) || t.state == State::kTimeWait) {
    return;
  }
  if (detail::rcv_right_edge(t, s.core()) > t.rcv_adv) {
    t.ack_now = true;
    detail::output(t, now, s);
  }
}

// Switches Nagle (RFC 9293 §3.7.4) for this connection (TCP_NODELAY = !on).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void set_nagle(Tcb<Buf>& t, bool on, Ticks now, S& s) noexcept {
  t.nagle = on;
  if (!on) {
    detail::output(t, now, s);
  }
}

namespace detail {
template <Buffer Buf, class S>
requires Sink<S, Buf> Result<void, CloseError> close_send(Tcb<Buf>& t, bool orphan, Ticks now, S& s)
noexcept {
  switch (t.state) {
    case State::kSynSent:
      // RFC 9293 §3.10.4 deletes the TCB, but data queued by SEND in SYN-SENT (§3.10.2: "queue
      // the data for transmission after entering ESTABLISHED") and a half-close must not be
      // lost: like SYN-RECEIVED, the FIN waits for ESTABLISHED. Only a bare close() deletes.
      if (!orphan || t.sndq.bytes() > 0) {
        if (t.fin_queued) {
          return fail(CloseError::kClosing);
        }
        t.fin_queued = true;
        t.orphan = orphan;
        return {};
      }
      become_closed(t, CloseReason::kNormal, s);
      return {};
    case State::kClosed:
    case State::kListen:
      // RFC 9293 §3.10.4: nothing sent yet; delete the TCB.
      become_closed(t, CloseReason::kNormal, s);
      return {};
    case State::kSynReceived:
      // Queue the FIN; it goes out once ESTABLISHED (establish() enters FIN-WAIT-1).
      if (t.fin_queued) {
        return fail(CloseError::kClosing);
      }
      t.fin_queued = true;
      t.orphan = orphan;
      return {};
    case State::kEstablished:
      t.fin_queued = true;
      t.orphan = orphan;
      t.state = State::kFinWait1;
      output(t, now, s);
      return {};
    case State::kCloseWait:
      t.fin_queued = true;
      t.orphan = orphan;
      t.state = State::kLastAck;
      output(t, now, s);
      return {};
    case State::kFinWait2:
      // After shutdown(), close() makes the connection an orphan: bound FIN-WAIT-2.
      if (orphan && !t.orphan) {
        t.orphan = true;
        arm(t, TimerKind::kFinWait2, now + t.cfg->fin_wait_2_timeout, s);
        return {};
      }
      return fail(CloseError::kClosing);
    case State::kFinWait1:
    case State::kClosing:
    case State::kLastAck:
    case State::kTimeWait:
      if (orphan && !t.orphan) {
        t.orphan = true;
        return {};
      }
      return fail(CloseError::kClosing);
  }
  return {};
}
}  // namespace detail

// ABORT (RFC 9293 §3.10.5): <SEQ=SND.NXT><CTL=RST> in the states that have a peer, then CLOSED
// (reason kAborted).
template <Buffer Buf, class S>
requires Sink<S, Buf>
void abort(Tcb<Buf>& t, S& s) noexcept {
  switch (t.state) {
    case State::kSynReceived:
    case State::kEstablished:
    case State::kFinWait1:
    case State::kFinWait2:
    case State::kCloseWait:
      detail::send_rst_raw<Buf>(t.snd_nxt, SeqNum(0), false, s);
      break;
    case State::kClosed:
    case State::kListen:
    case State::kSynSent:
    case State::kClosing:
    case State::kLastAck:
    case State::kTimeWait:
      break;
  }
  detail::become_closed(t, CloseReason::kAborted, s);
}

// Half close (shutdown(SHUT_WR)): our FIN after the queued data; we keep receiving.
template <Buffer Buf, class S>
requires Sink<S, Buf> Result<void, CloseError> shutdown(Tcb<Buf>& t, Ticks now, S& s)
noexcept { return detail::close_send(t, false, now, s); }

// CLOSE (RFC 9293 §3.10.4): as shutdown, and the application is gone, so an orphaned
// FIN-WAIT-2 is bounded by fin_wait_2_timeout. RFC 1122 §4.2.2.13: a CLOSE while received data
// is still pending (delivered by on_data and not consumed) SHOULD send an RST to show that data
// was lost, as Linux does (TCPAbortOnClose): the peer learns at once, rather than from a FIN,
// that what it sent was not taken.
template <Buffer Buf, class S>
requires Sink<S, Buf> Result<void, CloseError> close(Tcb<Buf>& t, Ticks now, S& s)
noexcept {
  if (t.rcv_held > 0 && !t.orphan &&
      (t.state == State::kEstablished || t.state == State::kCloseWait ||
       t.state == State::kFinWait1 || t.state == State::kFinWait2)) {
    ++s.core().counters.abort_on_close;
    abort(t, s);
    return {};
  }
  return detail::close_send(t, true, now, s);
}

}  // namespace tempo::tcp
