// Counters of a TIME_WAIT table: one per outcome, so that every segment and every entry that
// enters or leaves is accounted for (DESIGN.md: "every outcome is counted"; STYLE.md §5).
#pragma once

#include <array>
#include <cstdint>

#include "telemetry/registry.h"
#include "timewait/policy.h"

namespace tempo::timewait {

// What each field counts, and its name (timewait.<field>), is in kFields below.
struct TwCounters {
  // Entries.
  uint64_t entered = 0;
  uint64_t expired = 0;
  uint64_t expiry_deferred = 0;
  uint64_t evicted = 0;
  uint64_t refused_full = 0;
  uint64_t active_reuse = 0;
  uint64_t erased = 0;
  // Memory (table.h: the index and the slab follow occupancy).
  uint64_t index_resizes = 0;
  uint64_t slab_released = 0;
  // Segments, one per TwReason.
  uint64_t fin_reacked = 0;
  uint64_t dup_acked = 0;
  uint64_t bare_acks = 0;
  uint64_t no_ack_drops = 0;
  uint64_t rst_ignored = 0;
  uint64_t rst_closed = 0;
  uint64_t paws_drops = 0;
  uint64_t passive_reuse_accepted = 0;
  uint64_t passive_reuse_refused = 0;
  uint64_t passive_reuse_no_listener = 0;
  uint64_t passive_reuse_not_taken = 0;
  uint64_t acks_rate_limited = 0;

  using Field = telemetry::CounterField<TwCounters>;
  static constexpr auto kFields = std::to_array<Field>({
      {"timewait.entered", &TwCounters::entered, "entries inserted into TIME_WAIT"},
      {"timewait.expired", &TwCounters::expired, "entries that left after the full duration"},
      {"timewait.expiry_deferred", &TwCounters::expiry_deferred,
       "expiry passes (a table's, each loop turn) that left due entries to the next turn: the "
       "per-turn bound held back a mass expiry"},
      {"timewait.evicted", &TwCounters::evicted,
       "entries removed early at the bound (on_full: evict_oldest)"},
      {"timewait.refused_full", &TwCounters::refused_full,
       "connections not inserted at the bound (on_full: refuse): closed at once"},
      {"timewait.active_reuse", &TwCounters::active_reuse,
       "entries taken over by an active open (can_reuse_active)"},
      {"timewait.erased", &TwCounters::erased,
       "entries removed by TwTable::erase for any other reason"},
      {"timewait.index_resizes", &TwCounters::index_resizes,
       "index resizes begun, grown or shrunk with the entries held (each migrated a bucket at "
       "a time)"},
      {"timewait.slab_released", &TwCounters::slab_released,
       "slab chunks of 32,768 records given back to the kernel once empty"},
      {"timewait.fin_reacked", &TwCounters::fin_reacked,
       "retransmitted FINs ACKed again, the timer restarted"},
      {"timewait.dup_acked", &TwCounters::dup_acked,
       "segments (data, or out of the window) answered by a duplicate ACK, unless rate "
       "limited (timewait.acks_rate_limited)"},
      {"timewait.bare_acks", &TwCounters::bare_acks,
       "pure ACKs at RCV.NXT received and absorbed, not answered"},
      {"timewait.no_ack_drops", &TwCounters::no_ack_drops,
       "segments with neither SYN, RST nor ACK, dropped"},
      {"timewait.rst_ignored", &TwCounters::rst_ignored,
       "RSTs ignored (RFC 1337, or not at RCV.NXT)"},
      {"timewait.rst_closed", &TwCounters::rst_closed,
       "RSTs at RCV.NXT that ended the entry (rfc1337 off)"},
      {"timewait.paws_drops", &TwCounters::paws_drops,
       "segments failing PAWS (RFC 7323 §5.3 R1): ACKed and dropped"},
      {"timewait.passive_reuse_accepted", &TwCounters::passive_reuse_accepted,
       "SYNs allowed to reopen the tuple (RFC 6191)"},
      {"timewait.passive_reuse_refused", &TwCounters::passive_reuse_refused,
       "SYNs that could be old duplicates: answered by an ACK"},
      {"timewait.passive_reuse_no_listener", &TwCounters::passive_reuse_no_listener,
       "reusing SYNs for a port nothing listens on: answered as a refused SYN"},
      {"timewait.passive_reuse_not_taken", &TwCounters::passive_reuse_not_taken,
       "reusing SYNs no listener took (no slot, backlog full, SYN+FIN): the entry kept"},
      {"timewait.acks_rate_limited", &TwCounters::acks_rate_limited,
       "ACKs not sent: the entry's interval or the challenge-ACK budget (RFC 5961 §7)"},
  });

  constexpr void count(TwReason r) noexcept {
    switch (r) {
      case TwReason::kFinRetransmit:
        ++fin_reacked;
        return;
      case TwReason::kDupAck:
        ++dup_acked;
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
    telemetry::add(*this, o);
    return *this;
  }
};
static_assert(telemetry::check_registry(TwCounters::kFields, "timewait."));
static_assert(sizeof(TwCounters) == sizeof(uint64_t) * TwCounters::kFields.size(),
              "a field of TwCounters is missing from TwCounters::kFields");

}  // namespace tempo::timewait
