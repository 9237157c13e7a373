// Fault injection on one direction (RX or TX) of a Worker: drop, duplicate, reorder and delay
// packets by configured probability, each outcome counted. A test feature: this kernel has no
// netem, so tests make loss, reordering, duplication and delay with this stage (DESIGN.md
// "Running on this kind of machine"). Production configs leave `faults:` out and the Worker
// then never calls into it.
//
// Deterministic for a seed (xorshift64*), so a failing test replays. Generic over the packet
// handle: `Ops` provides `free(P)` and `ref(P)` (take one more reference, for a duplicate), so
// unit tests use plain integers and the Worker uses rte_mbuf*.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <tempo/config.h>

#include "telemetry/counters.h"
#include "time/ticks.h"

namespace tempo::stack {

using telemetry::FaultCounters;

template <class P, class Ops, size_t kDelayCapacity = 1024>
class FaultStage {
 public:
  // Outcomes are counted into `*counters`, which outlives the stage.
  FaultStage(const FaultDirection& cfg, uint64_t seed, FaultCounters* counters,
             Ops ops = Ops{}) noexcept
      : counters_(*counters),
        drop_(threshold(cfg.drop)),
        duplicate_(threshold(cfg.duplicate)),
        reorder_(threshold(cfg.reorder)),
        delay_(Ticks::from_ms(static_cast<uint64_t>(cfg.delay_ms))),
        state_(seed == 0 ? 0x9e3779b97f4a7c15ULL : seed),
        ops_(ops) {}

  // Filters `in` into `out` (a different array) and returns how many packets of `out` to pass
  // on now. Dropped
  // packets are freed; delayed ones come out of a later call once `now` passes their time; a
  // reordered packet is held and released after the next packet that passes. Packets that do
  // not fit in `out` stay queued for the next call.
  size_t apply(std::span<P> in, std::span<P> out, Ticks now) noexcept {
    size_t n = 0;
    // The last stage, on every packet that leaves (delayed or not): reordering. A packet
    // picked for it is held and leaves right after the next one.
    auto emit = [&](P p) {
      if (!has_reordered_ && roll(reorder_)) {
        counters_.reordered++;
        reordered_ = p;
        has_reordered_ = true;
        return;
      }
      for (P q : {p, reordered_}) {
        if (n < out.size()) {
          out[n++] = q;
        } else {
          hold(q, now);  // no room now: next call
        }
        if (!has_reordered_) {
          break;
        }
      }
      has_reordered_ = false;
    };
    // Delayed packets whose time has come go first: they were received first.
    while (delay_len_ > 0 && delayed_[delay_head_].at <= now && n + 2 <= out.size()) {
      const P p = delayed_[delay_head_].p;
      delay_head_ = (delay_head_ + 1) % kDelayCapacity;
      --delay_len_;
      emit(p);
    }
    for (P p : in) {
      if (roll(drop_)) {
        counters_.dropped++;
        ops_.free(p);
        continue;
      }
      const bool dup = roll(duplicate_);
      if (dup) {
        ops_.ref(p);
        counters_.duplicated++;
      }
      for (int copy = 0; copy < (dup ? 2 : 1); ++copy) {
        if (delay_ > Ticks{}) {
          counters_.delayed++;
          hold(p, now + delay_);
        } else {
          emit(p);
        }
      }
    }
    return n;
  }

  // Frees everything held (at shutdown).
  void drain() noexcept {
    while (delay_len_ > 0) {
      ops_.free(delayed_[delay_head_].p);
      delay_head_ = (delay_head_ + 1) % kDelayCapacity;
      --delay_len_;
    }
    if (has_reordered_) {
      ops_.free(reordered_);
      has_reordered_ = false;
    }
  }

  size_t held() const noexcept { return delay_len_ + (has_reordered_ ? 1 : 0); }
  const FaultCounters& counters() const noexcept { return counters_; }

 private:
  struct Delayed {
    P p;
    Ticks at;
  };

  // Probability p in [0, 1] as a threshold on a uniform 64-bit draw.
  static uint64_t threshold(double p) noexcept {
    if (p <= 0) {
      return 0;
    }
    if (p >= 1) {
      return UINT64_MAX;
    }
    return static_cast<uint64_t>(p * 18446744073709551616.0);
  }

  bool roll(uint64_t threshold) noexcept {
    if (threshold == 0) {
      return false;
    }
    // xorshift64* (Vigna 2016): enough for test traffic, one multiply per draw.
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dULL <= threshold;
  }

  // A full delay queue releases nothing early and drops the newest: bounded memory.
  void hold(P p, Ticks at) noexcept {
    if (delay_len_ == kDelayCapacity) {
      counters_.dropped++;
      ops_.free(p);
      return;
    }
    delayed_[(delay_head_ + delay_len_) % kDelayCapacity] = Delayed{p, at};
    ++delay_len_;
  }

  FaultCounters& counters_;
  uint64_t drop_;
  uint64_t duplicate_;
  uint64_t reorder_;
  Ticks delay_;
  uint64_t state_;
  Ops ops_;
  std::array<Delayed, kDelayCapacity> delayed_{};
  size_t delay_head_ = 0;
  size_t delay_len_ = 0;
  P reordered_{};
  bool has_reordered_ = false;
};

}  // namespace tempo::stack
