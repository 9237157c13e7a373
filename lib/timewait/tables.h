// TwTables: a core's two TIME_WAIT tables, IPv4 and IPv6, under ONE bound.
//
// tcp.time_wait.max_entries bounds the TIME_WAIT entries of a core, whatever their address
// family (DESIGN.md principle 5: the memory a core may spend on TIME_WAIT). A TwTable is keyed by
// one tuple type, so a core needs two, and two separately bounded tables would let it hold twice
// the configured number. TwTables owns both and applies the bound, and on_full, to their sum:
//  - kEvictOldest: at the bound the core's oldest entry goes, i.e. the FIFO head of whichever
//    table's head expires first (both tables share one duration, so expiry order is age order
//    across them too), counted in that table's `evicted`.
//  - kRefuse: at the bound the insert is refused, counted in refused_full of the table the
//    insert was for.
//
// Each inner table is created with the whole bound (same cfg, same seed: the tuple types differ,
// so one seed keys two unrelated hashes). That costs address space, not memory: the slabs are
// mapped with MAP_NORESERVE and backed as records are first used (region.h), so RSS follows the
// entries actually held; a table's index is backed as its buckets are touched (up to
// 7.1 bytes x max_entries per table when its entries spread over all of it). The inner bound is
// never the one that acts: an inner table never holds more than the sum.
//
// Everything else (find, at, apply, restart, erase, take_for_active_open) goes to the table of
// the tuple's family through v4(), v6() or of<Tuple>(): none of it adds entries.
//
// A cuckoo placement failure inside TwTable::insert (table.h: essentially never reached) is
// handled by that table alone, evicting its own FIFO head under kEvictOldest: the sum only
// shrinks.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include <tempo/result.h>

#include "time/ticks.h"
#include "timewait/counters.h"
#include "timewait/policy.h"
#include "timewait/record.h"
#include "timewait/table.h"
#include "timewait/wrap32.h"

namespace tempo::timewait {

class TwTables {
 public:
  // Creates both tables with `cfg`. Startup only.
  // Errors: kBadMaxEntries, kBadDuration, kNoMemory (see TwTableError; the first table's error
  // when both fail).
  static Result<TwTables, TwTableError> create(const TwTableConfig& cfg) noexcept {
    auto v4 = TwTableV4::create(cfg);
    if (!v4) {
      return fail(v4.error());
    }
    auto v6 = TwTableV6::create(cfg);
    if (!v6) {
      return fail(v6.error());
    }
    return TwTables(std::move(*v4), std::move(*v6), cfg.on_full);
  }

  TwTables(TwTables&&) noexcept = default;
  TwTables& operator=(TwTables&&) noexcept = default;
  TwTables(const TwTables&) = delete;
  TwTables& operator=(const TwTables&) = delete;
  ~TwTables() = default;

  TwTableV4& v4() noexcept { return v4_; }
  const TwTableV4& v4() const noexcept { return v4_; }
  TwTableV6& v6() noexcept { return v6_; }
  const TwTableV6& v6() const noexcept { return v6_; }

  // The table for `Tuple`: of<flow::Tuple4>() is v4(), of<flow::Tuple6>() is v6().
  template <class Tuple>
  TwTable<Tuple>& of() noexcept {
    static_assert(std::is_same_v<Tuple, flow::Tuple4> || std::is_same_v<Tuple, flow::Tuple6>);
    if constexpr (std::is_same_v<Tuple, flow::Tuple4>) {
      return v4_;
    } else {
      return v6_;
    }
  }
  template <class Tuple>
  const TwTable<Tuple>& of() const noexcept {
    static_assert(std::is_same_v<Tuple, flow::Tuple4> || std::is_same_v<Tuple, flow::Tuple6>);
    if constexpr (std::is_same_v<Tuple, flow::Tuple4>) {
      return v4_;
    } else {
      return v6_;
    }
  }

  // TwTable::insert into the tuple's table, with the bound taken over both tables: at the
  // bound, on_full = kEvictOldest evicts the core's oldest entry (in either table) first, and
  // kRefuse refuses (counted in refused_full of the tuple's table). Returns the record's index
  // in the tuple's table.
  // Errors: kFull (on_full = kRefuse, at the bound), kExists (tuple already held; nothing
  // evicted or counted).
  Result<uint32_t, TwInsertError> insert(const flow::Tuple4& tuple, const TwConn& conn,
                                         Ticks now) noexcept {
    return insert_into(v4_, tuple, conn, now);
  }
  Result<uint32_t, TwInsertError> insert(const flow::Tuple6& tuple, const TwConn& conn,
                                         Ticks now) noexcept {
    return insert_into(v6_, tuple, conn, now);
  }

  // Entries held in both tables; never above max_entries().
  uint32_t size() const noexcept { return v4_.size() + v6_.size(); }
  uint32_t max_entries() const noexcept { return v4_.max_entries(); }
  // The most entries held at once so far (a gauge: timewait.entries_peak).
  uint32_t peak() const noexcept { return peak_; }
  // Both tables' counters, summed.
  TwCounters counters() const noexcept {
    TwCounters sum = v4_.counters();
    sum += v6_.counters();
    return sum;
  }
  // TwTable::expire on both tables (IPv4 first), at most `max` entries in all: the number that
  // left.
  uint32_t expire(Ticks now, uint32_t max = UINT32_MAX) noexcept {
    const uint32_t n = v4_.expire(now, max);
    return n + v6_.expire(now, max - n);
  }
  // TwTable::expire(now, on_expired, max) on both tables, IPv4 first (so not oldest first
  // across them): on_expired is called with a const TwRecordV4& or a const TwRecordV6&.
  template <class F>
  requires std::invocable<F&, const TwRecordV4&> && std::invocable<F&, const TwRecordV6&> uint32_t
  expire(Ticks now, F&& on_expired, uint32_t max = UINT32_MAX)
  noexcept {
    const uint32_t n = v4_.expire(now, on_expired, max);
    return n + v6_.expire(now, on_expired, max - n);
  }
  // The Worker's expiry, once a loop turn: at most cfg.expiry_per_turn entries (issue 23: a
  // mass expiry spread over turns, never one long turn).
  uint32_t expire_turn(Ticks now) noexcept {
    const uint32_t per_turn = v4_.config().expiry_per_turn;
    return expire(now, per_turn == 0 ? UINT32_MAX : per_turn);
  }
  // Whether either table has an entry due at `now`.
  bool due(Ticks now) const noexcept { return v4_.due(now) || v6_.due(now); }
  // The earlier of the two tables' next_expiry(now), for the Worker's one wheel timer; nullopt
  // when both are empty.
  std::optional<Ticks> next_expiry(Ticks now) const noexcept {
    const std::optional<Ticks> a = v4_.next_expiry(now);
    const std::optional<Ticks> b = v6_.next_expiry(now);
    if (!a || !b) {
      return a ? a : b;
    }
    return *a < *b ? a : b;
  }
  // One policy for both (the same cfg made both tables).
  const TwPolicy& policy() const noexcept { return v4_.policy(); }

 private:
  TwTables(TwTableV4&& v4, TwTableV6&& v6, TwOnFull on_full) noexcept
      : v4_(std::move(v4)), v6_(std::move(v6)), on_full_(on_full) {}

  template <class Tuple>
  Result<uint32_t, TwInsertError> insert_into(TwTable<Tuple>& table, const Tuple& tuple,
                                              const TwConn& conn, Ticks now) noexcept {
    // A held tuple is refused before the bound, as TwTable::insert does: nothing evicted.
    if (table.find(tuple) != kNoIndex) {
      return fail(TwInsertError::kExists);
    }
    if (size() >= max_entries()) {
      if (on_full_ == TwOnFull::kRefuse) {
        table.count_refused_full();
        return fail(TwInsertError::kFull);
      }
      evict_oldest();
    }
    // Below the shared bound, hence below the table's own: TwTable::insert evicts nothing for
    // the bound (it may for a cuckoo placement failure, see the top of this file).
    auto r = table.insert(tuple, conn, now);
    peak_ = std::max(peak_, size());
    return r;
  }

  // The core's oldest entry: the FIFO head that expires first. Both heads expire within one
  // duration (< 2^31 ms) of each other, so the wrapping comparison orders them; on a tie the
  // IPv4 head goes. size() > 0.
  void evict_oldest() noexcept {
    const uint32_t h4 = v4_.oldest();
    const uint32_t h6 = v6_.oldest();
    if (h6 == kNoIndex ||
        (h4 != kNoIndex && !before32(v6_.at(h6).expire_ms, v4_.at(h4).expire_ms))) {
      v4_.evict_oldest();
    } else {
      v6_.evict_oldest();
    }
  }

  TwTableV4 v4_;
  TwTableV6 v6_;
  TwOnFull on_full_;
  uint32_t peak_ = 0;
};

}  // namespace tempo::timewait
