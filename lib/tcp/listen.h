// RFC 9293 §3.10.7.2, LISTEN: what a listener does with a segment for a tuple that has no
// connection (and no TIME_WAIT entry that answered it). A pure function of the flags, called by
// the Worker (lib/stack/worker_tcp.cc) and by the hazard bench (tests/hazard).
#pragma once

#include <cstdint>

#include "tcp/segment.h"

namespace tempo::tcp {

enum class ListenAction : uint8_t {
  kIgnore,  // first check: an RST is ignored
  kReset,   // second check: any ACK draws <SEQ=SEG.ACK><CTL=RST>
  kCookie,  // an ACK without SYN may return one of our SYN cookies (RFC 4987 §3.6): check it
  kOpen,    // third check: a SYN opens a connection
  kDrop,    // fourth: "any other control or text-bearing segment (not containing SYN) must have
            // an ACK and thus would have been discarded by the ACK processing"; and SYN+FIN,
            // which Linux and FreeBSD (drop_synfin) drop: no opener sends one, scanners do
};

constexpr ListenAction listen_action(uint8_t flags, bool syncookies) noexcept {
  if ((flags & flag::kRst) != 0) {
    return ListenAction::kIgnore;
  }
  if ((flags & flag::kAck) != 0) {
    return (flags & flag::kSyn) == 0 && syncookies ? ListenAction::kCookie : ListenAction::kReset;
  }
  if ((flags & flag::kSyn) == 0 || (flags & flag::kFin) != 0) {
    return ListenAction::kDrop;
  }
  return ListenAction::kOpen;
}

}  // namespace tempo::tcp
