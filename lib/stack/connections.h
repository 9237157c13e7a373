// Connections: a Worker's connection slots and how a segment finds what holds its tuple.
//  - Slots: one array of Conns allocated at start and never resized (timers point into it); a
//    free list recycles them, so opening a connection allocates nothing.
//  - Tables: IPv4 and IPv6 hash tables from tuple to slot (flow/conn_table.h), holding every
//    slot's key, so the slots, not the hash, decide when the Worker is full.
//  - The burst lookup: a burst's IPv4 TCP segments are looked up together (rte_hash's bulk path
//    hashes and prefetches them all before it compares), and those with no connection in the
//    TIME_WAIT table the same way (TwTable::find_bulk). Each segment then takes its answer when
//    it still holds: a connection while its slot still has that key, a miss while no
//    connection was inserted since, a TIME_WAIT answer while the TIME_WAIT table is unchanged.
//  - Listeners: a port's listener in one load, and each listener's backlog (its connections
//    in SYN-RECEIVED).
//  - Orphans: connections the application closed that are still finishing.
// It knows connections and tables, not the Worker. Tests: tests/unit/stack/connections_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include <tempo/result.h>

#include "flow/conn_table.h"
#include "stack/conn.h"
#include "time/timer.h"
#include "timewait/record.h"
#include "timewait/table.h"

namespace tempo::stack {

class Connections {
 public:
  static constexpr uint16_t kBurst = 32;
  // Bounded by construction: a burst holds at most 2 * kBurst (rx_burst's kBurst, or the
  // fault stage's output array of 2 * kBurst), of which lookup_burst keys the first kBurst.
  static constexpr size_t kMaxBurst = 2 * kBurst;

  struct Listener {
    uint16_t port;
    const AppHandler* app;
    ConnOptions opts;
    ListenOptions how;       // its local address (or every one) and its admission check
    uint32_t embryonic = 0;  // its connections in SYN-RECEIVED: the listen backlog
    uint16_t next = 0;       // 1 + the index of the port's next listener (0: none)
    bool active = true;      // false once unlisten()ed or replaced: kept for its backlog
  };

  // `max` slots; `name` makes the rte_hash names unique, `seed` keys their hash.
  Result<void, std::string> init(uint32_t max, const std::string& name, uint32_t seed);
  bool ready() const noexcept { return !slots_.empty(); }

  // --- slots -----------------------------------------------------------------------------
  size_t slots() const noexcept { return slots_.size(); }
  uint32_t used() const noexcept { return used_; }
  bool full() const noexcept { return free_head_ == UINT32_MAX; }
  std::span<Conn> all() noexcept { return slots_; }
  Conn& at(uint32_t slot) noexcept { return slots_[slot]; }
  uint32_t slot_of(const Conn& c) const noexcept {
    return static_cast<uint32_t>(&c - slots_.data());
  }
  // The Conn whose timers hold `t` (every Conn timer lives in the slots).
  Conn& owner_of(const time::Timer& t) noexcept {
    const auto offset =
        reinterpret_cast<const std::byte*>(&t) - reinterpret_cast<const std::byte*>(slots_.data());
    return slots_[static_cast<size_t>(offset) / sizeof(Conn)];
  }

  Conn* find(const flow::Tuple4& t) const noexcept { return table4_->find(flow::key_of(t)); }
  Conn* find(const flow::Tuple6& t) const noexcept { return table6_->find(flow::key_of(t)); }
  Conn* find(const flow::Tuple& t) const noexcept { return t.v6 ? find(t.t6) : find(t.t4); }
  // A free slot entered in the table under `t` (its flow.tuple set, in_use), or nullptr when
  // every slot is in use.
  Conn* take(const flow::Tuple& t) noexcept;
  // The slot leaves its table, its listener's backlog and the orphans, and goes back on the
  // free list; what it held is the caller's to have released.
  void release(Conn& c) noexcept;

  // --- the burst lookup --------------------------------------------------------------------
  // Looks up the connections (and, for misses, the `tw` entries) of a burst's segments.
  void lookup_burst(rte_mbuf* const* rx, size_t n,
                    const timewait::TwTable<flow::Tuple4>& tw) noexcept;
  // Segment `i` of the burst is the one being handled now; nullopt: none (steered in, or
  // outside a burst).
  void handling(std::optional<size_t> i) noexcept {
    current_ = i && *i < kMaxBurst ? &hints_[*i] : nullptr;
  }
  // find(t), answered from the burst lookup when its answer still holds.
  Conn* find_hinted(const flow::Tuple4& t) noexcept;
  // The TIME_WAIT index of `t` as the burst lookup found it, while `tw` is unchanged since;
  // else nullopt (look it up).
  std::optional<uint32_t> tw_hint(const flow::Tuple4& t,
                                  const timewait::TwTable<flow::Tuple4>& tw) const noexcept;
  uint64_t burst_hits() const noexcept { return burst_hits_; }

  // --- listeners ---------------------------------------------------------------------------
  // A listener on `port` (every address, or `how.local`'s), replacing one on the same port and
  // address; false when 65,535 listeners exist.
  bool listen(uint16_t port, const AppHandler* app, const ConnOptions& opts,
              const ListenOptions& how = ListenOptions{});
  // Removes the listener on `port` and `local`'s address (nullopt: every address); false when
  // there is none. Its embryonic connections finish as they would.
  bool unlisten(uint16_t port, const std::optional<Endpoint>& local) noexcept;
  // Removes every listener (Worker::drain).
  void unlisten_all() noexcept {
    for (Listener& l : listeners_) {
      l.active = false;
      l.next = 0;
    }
    std::fill(listener_at_.begin(), listener_at_.end(), 0);
  }
  // A listener on `port`, any address: the port is in use.
  Listener* listener(uint16_t port) noexcept {
    if (listener_at_.empty() || listener_at_[port] == 0) {
      return nullptr;
    }
    return &listeners_[listener_at_[port] - 1U];
  }
  // The listener that serves `t` (its local address and port): one on that very address,
  // else one on every address.
  Listener* listener_for(const flow::Tuple& t) noexcept {
    Listener* any = nullptr;
    const uint16_t port = t.local_port();
    for (uint16_t i = listener_at_.empty() ? 0 : listener_at_[port]; i != 0;) {
      Listener& l = listeners_[i - 1U];
      if (!l.how.local) {
        any = &l;
      } else if (is_local_address(*l.how.local, t)) {
        return &l;
      }
      i = l.next;
    }
    return any;
  }
  // `c` (passive, from `l`) joins its listener's backlog.
  void enter_backlog(Conn& c, Listener& l) noexcept {
    c.listener = static_cast<uint16_t>(&l - listeners_.data());
    c.embryonic = true;
    ++l.embryonic;
  }
  // A connection leaves its listener's backlog (established, or gone).
  void leave_backlog(Conn& c) noexcept {
    if (c.embryonic) {
      c.embryonic = false;
      --listeners_[c.listener].embryonic;
    }
  }

  // --- orphans -----------------------------------------------------------------------------
  uint32_t orphans() const noexcept { return orphans_; }
  void orphan(Conn& c) noexcept {
    if (!c.orphan) {
      c.orphan = true;
      ++orphans_;
    }
  }

 private:
  struct Hint {
    bool keyed = false;  // false: no hint for this segment
    flow::FlowKey4 key;
    Conn* conn = nullptr;
    uint64_t inserts = 0;     // inserts4_ at the lookup
    uint32_t tw_idx = 0;      // the TIME_WAIT answer (conn == nullptr only)
    uint64_t tw_changes = 0;  // the TIME_WAIT table's changes() at the lookup
  };

  std::vector<Conn> slots_;
  uint32_t free_head_ = UINT32_MAX;
  uint32_t used_ = 0;
  std::optional<flow::ConnTable<flow::FlowKey4, Conn>> table4_;
  std::optional<flow::ConnTable<flow::FlowKey6, Conn>> table6_;
  uint64_t inserts4_ = 0;  // a miss looked up before an insert may be stale
  std::array<Hint, kMaxBurst> hints_{};
  const Hint* current_ = nullptr;
  uint64_t burst_hits_ = 0;
  std::vector<Listener> listeners_;
  // Port -> 1 + its first listener's index (0: none), 64K entries made by the first listen(): one
  // load per segment that finds no connection, where a scan would cost one per listener; the
  // port's other listeners (on other addresses) follow through Listener::next.
  static bool is_local_address(const Endpoint& e, const flow::Tuple& t) noexcept;
  Listener* find_listener(uint16_t port, const std::optional<Endpoint>& local) noexcept;
  std::vector<uint16_t> listener_at_;
  uint32_t orphans_ = 0;
};

}  // namespace tempo::stack
