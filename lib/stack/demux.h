// The demultiplexing verdict for a segment whose tuple has no connection: TIME_WAIT before the
// listeners (DESIGN.md, "TIME_WAIT: the rules the stack keeps"), then RFC 9293 §3.10.7.1
// (CLOSED) or §3.10.7.2 (LISTEN), with SYN cookies (RFC 4987 §3.6) where the backlog or the
// configuration says so. A pure function of what was found, called by the Worker
// (stack/worker_tcp.cc) and by the hazard bench (tests/hazard), so that the hazard proofs run
// the stack's own decision (STYLE.md §11). Tests: tests/unit/stack/demux_test.cc.
#pragma once

#include <cstdint>

#include <tempo/config.h>

#include "tcp/listen.h"
#include "timewait/demux.h"

namespace tempo::stack {

enum class NoConn : uint8_t {
  kTimeWait,      // TIME_WAIT answered it (the TwDemux's ACK, when it has one)
  kReset,         // no listener: CLOSED, a RST for anything but a RST
  kListenDrop,    // LISTEN drops it: an RST, SYN+FIN, neither SYN nor ACK
  kListenReset,   // LISTEN: an ACK (no cookie to check) draws <SEQ=SEG.ACK><CTL=RST>
  kCookieAck,     // an ACK that may return one of our SYN cookies: check it
  kOpen,          // a SYN that opens a connection (when no slot is free: no_slot())
  kCookieSynAck,  // a SYN answered statelessly: the backlog is full, or cookies always
  kRefuse,        // a SYN dropped: the backlog is full and cookies are off (the peer retries)
};

struct NoConnInput {
  timewait::TwDemux::Kind tw = timewait::TwDemux::Kind::kNoEntry;
  bool listener = false;  // a listener serves the segment's port
  uint8_t flags = 0;      // the segment's control bits (tcp::flag)
  SynCookies cookies = SynCookies::kAuto;
  bool backlog_full = false;  // the listener's connections in SYN-RECEIVED reached its backlog
};

constexpr NoConn no_conn(const NoConnInput& in) noexcept {
  if (in.tw == timewait::TwDemux::Kind::kHandled) {
    return NoConn::kTimeWait;
  }
  if (!in.listener) {
    return NoConn::kReset;
  }
  switch (tcp::listen_action(in.flags, in.cookies != SynCookies::kOff)) {
    case tcp::ListenAction::kIgnore:
    case tcp::ListenAction::kDrop:
      return NoConn::kListenDrop;
    case tcp::ListenAction::kReset:
      return NoConn::kListenReset;
    case tcp::ListenAction::kCookie:
      return NoConn::kCookieAck;
    case tcp::ListenAction::kOpen:
      break;
  }
  // The backlog full (a SYN flood, a burst of opens) or cookies always: answered statelessly,
  // or, with cookies off, dropped, as Linux does.
  if (in.backlog_full || in.cookies == SynCookies::kAlways) {
    return in.cookies != SynCookies::kOff ? NoConn::kCookieSynAck : NoConn::kRefuse;
  }
  return NoConn::kOpen;
}

// kOpen, and no slot is free (or the table refused): whatever refuses the connection, the
// answer is the same as for a full backlog.
constexpr NoConn no_slot(SynCookies cookies) noexcept {
  return cookies != SynCookies::kOff ? NoConn::kCookieSynAck : NoConn::kRefuse;
}

// A SYN that may reopen a tuple in TIME_WAIT (TwDemux kReuse) ends with the entry taken when
// the verdict answers the SYN (a connection, or a cookie whose returning ACK must find no
// entry: timewait::settle_reuse), left when it does not.
constexpr bool takes_tuple(NoConn v) noexcept {
  return v == NoConn::kOpen || v == NoConn::kCookieSynAck;
}

}  // namespace tempo::stack
