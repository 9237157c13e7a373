// Census: a Worker's connections counted by state, and some of them listed (tempo::info, as
// `ss -tin`) with the TIME_WAIT entries closest to expiry (as `ss -tan state time-wait`), by
// the Worker itself on request from another thread (telemetry: stack/telemetry.h). The slots
// and tables belong to the Worker's lcore and change as connections come and go, so no other
// thread may walk them; the Worker walks a slice of the slots a turn, so that a census never
// stops its loop for long, and publishes the whole. Like ss, it shows each connection as it
// was when its slot was read.
//
// One requester at a time (rte_telemetry's thread runs one command at a time): a census is
// published only for a request, and a request waits for its own.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/stack.h>

#include "flow/tuple.h"
#include "stack/conn.h"
#include "tcp/state.h"
#include "time/ticks.h"
#include "timewait/tables.h"
#include "timewait/wrap32.h"

namespace tempo::stack {

class Census {
 public:
  static constexpr size_t kStates = static_cast<size_t>(tcp::State::kTimeWait) + 1;
  static constexpr size_t kSlice = 4096;  // slots a turn (about 2 us)
  static constexpr size_t kMaxList = 32;  // connections, and TIME_WAIT entries, a census lists
  using Counts = std::array<uint32_t, kStates>;

  struct Query {
    int state = -1;      // list connections in this tcp::State only (-1: any but TIME_WAIT)
    uint32_t skip = 0;   // ... after the first `skip` that match, in slot order
    uint32_t limit = 0;  // at most this many (and kMaxList); 0: count only
    uint32_t tw = 0;     // and this many TIME_WAIT entries, closest to expiry first
  };
  struct TwEntry {
    flow::Tuple tuple;
    uint32_t left_ms = 0;  // until it leaves TIME_WAIT
    bool timestamps = false;
  };
  struct Result {
    Counts counts{};
    uint32_t matched = 0;  // connections that matched the query's state
    uint32_t n_conns = 0;
    std::array<ConnInfo, kMaxList> conns{};
    uint32_t n_tw = 0;
    std::array<TwEntry, kMaxList> tw{};
    // The TIME_WAIT tables (IPv4 and IPv6): records held, and the bytes they map and may have
    // backed (TwTable::mapped_bytes, backed_bytes), read here because a resize changes them.
    uint32_t tw_records = 0;
    uint64_t tw_mapped_bytes = 0;
    uint64_t tw_backed_bytes = 0;
  };

  // Any thread: asks for a census; the ticket to wait for.
  uint32_t request(const Query& q) noexcept {
    query_ = q;  // published by the release below; the Worker reads it after its acquire
    return wanted_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }

  // Any thread: the census for `ticket` once the Worker has published it (nullptr before).
  const Result* result(uint32_t ticket) const noexcept {
    if (static_cast<int32_t>(done_.load(std::memory_order_acquire) - ticket) < 0) {
      return nullptr;
    }
    return &out_;
  }

  // The Worker's lcore, every turn: when a census is wanted, walks the next kSlice of `slots`;
  // after the last, lists TIME_WAIT entries from `tw` and publishes.
  void step(std::span<const Conn> slots, const timewait::TwTables* tw, Ticks now) noexcept {
    const uint32_t wanted = wanted_.load(std::memory_order_acquire);
    if (wanted == done_.load(std::memory_order_relaxed)) [[likely]] {
      return;
    }
    if (!counting_) {
      counting_ = true;
      ticket_ = wanted;
      q_ = query_;
      q_.limit = std::min<uint32_t>(q_.limit, kMaxList);
      q_.tw = std::min<uint32_t>(q_.tw, kMaxList);
      cursor_ = 0;
      acc_.counts = {};
      acc_.matched = 0;
      acc_.n_conns = 0;
    }
    const size_t end = std::min(slots.size(), cursor_ + kSlice);
    for (; cursor_ < end; ++cursor_) {
      const Conn& c = slots[cursor_];
      if (!c.in_use || c.dead) {
        continue;
      }
      const auto state = static_cast<size_t>(c.tcb.state);
      ++acc_.counts[state];
      const bool match = q_.state < 0 ? c.tcb.state != tcp::State::kTimeWait
                                      : state == static_cast<size_t>(q_.state);
      if (match && acc_.matched++ >= q_.skip && acc_.n_conns < q_.limit) {
        acc_.conns[acc_.n_conns++] = info(c);
      }
    }
    if (cursor_ < slots.size()) {
      return;
    }
    acc_.n_tw = 0;
    acc_.tw_records = 0;
    acc_.tw_mapped_bytes = 0;
    acc_.tw_backed_bytes = 0;
    if (tw != nullptr) {
      list_tw(tw->v4(), now);
      list_tw(tw->v6(), now);
      acc_.tw_records = tw->size();
      acc_.tw_mapped_bytes = tw->v4().mapped_bytes() + tw->v6().mapped_bytes();
      acc_.tw_backed_bytes = tw->v4().backed_bytes() + tw->v6().backed_bytes();
    }
    out_ = acc_;
    counting_ = false;
    done_.store(ticket_, std::memory_order_release);
  }

 private:
  template <class Table>
  void list_tw(const Table& t, Ticks now) noexcept {
    const uint32_t now_ms = timewait::ms32(now);
    for (uint32_t i = t.oldest(); i != timewait::kNoIndex && acc_.n_tw < q_.tw; i = t.at(i).next) {
      const auto& r = t.at(i);
      const auto left = static_cast<int32_t>(r.expire_ms - now_ms);
      acc_.tw[acc_.n_tw++] = TwEntry{.tuple = flow::Tuple::of(r.tuple),
                                     .left_ms = left > 0 ? static_cast<uint32_t>(left) : 0,
                                     .timestamps = r.conn.ts_ok()};
    }
  }

  std::atomic<uint32_t> wanted_{0};
  std::atomic<uint32_t> done_{0};
  Query query_{};  // written before wanted_ (release), read after it (acquire)
  Result out_{};   // written before done_ (release), read after it (acquire)
  // The Worker's own.
  bool counting_ = false;
  uint32_t ticket_ = 0;
  Query q_{};
  size_t cursor_ = 0;
  Result acc_{};
};

}  // namespace tempo::stack
