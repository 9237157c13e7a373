// Census: a Worker's connections counted by state, by the Worker itself, on request from
// another thread (telemetry: stack/telemetry.h). The slots belong to the Worker's lcore and are
// reused as connections come and go, so no other thread may walk them; the Worker counts a
// slice of them a turn, so that a count never stops its loop for long, and publishes the whole.
//
// One requester at a time (rte_telemetry's thread runs one command at a time): a count is
// published only for a request, and a request waits for its own.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "stack/conn.h"
#include "tcp/state.h"

namespace tempo::stack {

class Census {
 public:
  static constexpr size_t kStates = static_cast<size_t>(tcp::State::kTimeWait) + 1;
  static constexpr size_t kSlice = 4096;  // slots counted a turn (about 2 us)
  using Counts = std::array<uint32_t, kStates>;

  // Any thread: asks for a count; the ticket to wait for.
  uint32_t request() noexcept { return wanted_.fetch_add(1, std::memory_order_acq_rel) + 1; }

  // Any thread: the count for `ticket` once the Worker has published it.
  std::optional<Counts> result(uint32_t ticket) const noexcept {
    if (static_cast<int32_t>(done_.load(std::memory_order_acquire) - ticket) < 0) {
      return std::nullopt;
    }
    return out_;
  }

  // The Worker's lcore, every turn: when a count is wanted, counts the next kSlice of `slots`;
  // after the last, publishes it.
  void step(std::span<const Conn> slots) noexcept {
    const uint32_t wanted = wanted_.load(std::memory_order_acquire);
    if (wanted == done_.load(std::memory_order_relaxed)) [[likely]] {
      return;
    }
    if (!counting_) {
      counting_ = true;
      ticket_ = wanted;
      cursor_ = 0;
      acc_ = {};
    }
    const size_t end = std::min(slots.size(), cursor_ + kSlice);
    for (; cursor_ < end; ++cursor_) {
      const Conn& c = slots[cursor_];
      if (c.in_use && !c.dead) {
        ++acc_[static_cast<size_t>(c.tcb.state)];
      }
    }
    if (cursor_ == slots.size()) {
      out_ = acc_;
      counting_ = false;
      done_.store(ticket_, std::memory_order_release);
    }
  }

 private:
  std::atomic<uint32_t> wanted_{0};
  std::atomic<uint32_t> done_{0};
  Counts out_{};  // written before done_ (release), read after it (acquire)
  // The Worker's own.
  bool counting_ = false;
  uint32_t ticket_ = 0;
  size_t cursor_ = 0;
  Counts acc_{};
};

}  // namespace tempo::stack
