// Counters of a TIME_WAIT table: one per outcome, so that every segment and every entry that
// enters or leaves is accounted for (DESIGN.md: "every outcome is counted"; STYLE.md §5).
#pragma once

#include <cstdint>

#include "timewait/policy.h"

namespace tempo::timewait {

struct TwCounters {
  // Entries.
  uint64_t entered = 0;       // inserted into TIME_WAIT
  uint64_t expired = 0;       // left after the full duration
  uint64_t evicted = 0;       // removed early at the bound (on_full = evict_oldest)
  uint64_t refused_full = 0;  // not inserted at the bound (on_full = refuse): closed at once
  uint64_t active_reuse = 0;  // taken over by an active open (can_reuse_active)
  uint64_t erased = 0;        // removed by TwTable::erase for any other reason
  // Segments, one per TwReason.
  uint64_t fin_reacked = 0;
  uint64_t dup_acks = 0;
  uint64_t bare_acks = 0;
  uint64_t no_ack_drops = 0;
  uint64_t rst_ignored = 0;
  uint64_t rst_closed = 0;
  uint64_t paws_drops = 0;
  uint64_t passive_reuse_accepted = 0;
  uint64_t passive_reuse_refused = 0;
  uint64_t passive_reuse_no_listener = 0;  // a reusing SYN for a port nothing listens on
  uint64_t passive_reuse_not_taken = 0;    // a reusing SYN no listener took: record kept
  uint64_t acks_rate_limited = 0;          // ACKs not sent (oow_ack_allowed, challenge budget)

  constexpr void count(TwReason r) noexcept {
    switch (r) {
      case TwReason::kFinRetransmit:
        ++fin_reacked;
        return;
      case TwReason::kDupAck:
        ++dup_acks;
        return;
      case TwReason::kBareAck:
        ++bare_acks;
        return;
      case TwReason::kNoAck:
        ++no_ack_drops;
        return;
      case TwReason::kRstIgnored:
        ++rst_ignored;
        return;
      case TwReason::kRstClosed:
        ++rst_closed;
        return;
      case TwReason::kPawsDrop:
        ++paws_drops;
        return;
      case TwReason::kReuseAccepted:
        ++passive_reuse_accepted;
        return;
      case TwReason::kReuseRefused:
        ++passive_reuse_refused;
        return;
      case TwReason::kReuseNoListener:
        ++passive_reuse_no_listener;
        return;
      case TwReason::kReuseNotTaken:
        ++passive_reuse_not_taken;
        return;
    }
  }

  TwCounters& operator+=(const TwCounters& o) noexcept {
    entered += o.entered;
    expired += o.expired;
    evicted += o.evicted;
    refused_full += o.refused_full;
    active_reuse += o.active_reuse;
    erased += o.erased;
    fin_reacked += o.fin_reacked;
    dup_acks += o.dup_acks;
    bare_acks += o.bare_acks;
    no_ack_drops += o.no_ack_drops;
    rst_ignored += o.rst_ignored;
    rst_closed += o.rst_closed;
    paws_drops += o.paws_drops;
    passive_reuse_accepted += o.passive_reuse_accepted;
    passive_reuse_refused += o.passive_reuse_refused;
    passive_reuse_no_listener += o.passive_reuse_no_listener;
    passive_reuse_not_taken += o.passive_reuse_not_taken;
    acks_rate_limited += o.acks_rate_limited;
    return *this;
  }
};

}  // namespace tempo::timewait
