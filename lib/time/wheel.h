// tempo::time::Wheel: the per-core hierarchical timer wheel that holds every TCP timer
// (retransmission, delayed ACK, persist, keepalive, FIN_WAIT_2, TIME_WAIT), DESIGN.md
// principle 6.
//
// Shape. Time is counted in wheel ticks of `resolution` (default 1 ms). kLevels = 6 levels of
// 64 slots; level l slot s holds timers whose expiry tick agrees with the current tick in every
// 6-bit digit above l and has digit s at l (Varghese & Lauck's scheme 7, placement by the
// highest differing digit as in Linux before 4.8). Six levels span 2^36 ticks: 2.2 years at
// 1 ms, 19 hours at 1 us. A timer beyond the span sits in top-level slot 0 (never used
// otherwise, since a top-level digit above the current one is never 0) and is re-placed at
// each 2^36-tick boundary, with its true expiry, so it is never early, only re-filed.
//
// Cost. arm and cancel are O(1): the hook is a doubly linked list node (next, pprev), and
// placement is one xor, one clz and a push. advance() is O(slots with timers passed + timers
// expired or re-filed): each level has a 64-bit occupancy bitmap, and the next slot to process
// is the lowest level's next set bit above the current digit (one ctz per level), so an hour of
// idle time is crossed in a handful of steps, never tick by tick. An empty tick costs one
// compare against a cached lower bound of the next event. Nothing is allocated, nothing is
// locked: one wheel per core, used by its Worker only.
//
// Why not DPDK's lib/timer (rte_timer.h)? It is a skiplist: struct rte_timer is 120 bytes
// (10 skiplist pointers, a status word, period, callback, argument) against 24 here, insert is
// O(log n) pointer chasing, it reads the TSC itself inside rte_timer_manage() (tempo passes
// time as a parameter, DESIGN.md principle 3, and tests run on a virtual clock), it takes a
// per-lcore spinlock and atomics on every operation to allow cross-core arming (tempo never
// arms across cores), and it needs the EAL. Measured here (perf/micro/time/wheel_bench,
// release, 2-vCPU AMD EPYC KVM guest shared with other jobs (load 4-14), CPU time per op,
// range over three runs; 1 ms resolution, expiries uniform over 0-60 s, timers in random memory
// order as connection objects are):
//
//   operation                              1M armed       10M armed
//   arm (insert)                           15-16 ns       15-16 ns
//   cancel (random timer)                  31-39 ns       61-84 ns
//   re-arm (random armed timer)            51-102 ns      152-283 ns
//   expire, draining tick by tick          395-520 ns     804-1050 ns  (per timer, with its
//                                                                      ~2 cascades)
//   busy tick (n/60000 fire and re-arm)    7.3-9.5 us     136-171 us   (17 / 167 per tick)
//   advance one tick, none expiring        -              2.5-2.8 ns
//   bytes per timer                        24 (+3 KiB per wheel)       rte_timer: 120
//
// Every figure past arm is cache and TLB misses on timers scattered over 32-320 MB (each
// touch of a cold timer is one miss; a skiplist insert is ~log2(n) = 20-23 of them). The
// idle tick is one compare against the cached next event.
//
// Semantics.
// - A timer armed for `expiry` fires in the first advance(now) with now >= expiry rounded up
//   to a whole tick: never early, at most one resolution late (given advance is called at
//   least once per resolution). Timers fire in non-decreasing tick order within an advance.
// - Arming at an expiry <= the last `now` the wheel saw (constructor or advance) is "in the
//   past": the timer fires on the next advance, whatever its `now`. That includes arming from
//   inside a callback, so a callback that re-arms for "now" cannot loop within one advance.
// - From inside on_expire, arm and cancel are safe on any timer, including the one firing and
//   others due in the same advance (a cancelled one then does not fire).
// - `now` passed to advance should not go backwards; if it does, it is treated as the latest
//   `now` seen.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include <tempo/check.h>

#include "time/ticks.h"
#include "time/timer.h"

namespace tempo::time {

class Wheel {
 public:
  static constexpr unsigned kSlotBits = 6;
  static constexpr unsigned kSlots = 1u << kSlotBits;
  static constexpr unsigned kLevels = 6;
  static constexpr unsigned kSpanBits = kSlotBits * kLevels;

  // `resolution` must be at least 1 us.
  explicit Wheel(Ticks now, Ticks resolution = Ticks::from_ms(1)) noexcept
      : res_us_(checked_resolution(resolution)), now_us_(now.us()), cur_(now.us() / res_us_) {}
  // Timers point at the list heads inside the wheel.
  Wheel(const Wheel&) = delete;
  Wheel& operator=(const Wheel&) = delete;

  // Arms `t` to fire at `expiry`, moving it if already armed. O(1).
  void arm(Timer& t, Ticks expiry) noexcept {
    if (t.pprev_ != nullptr) {
      unlink(t);
    } else {
      ++size_;
    }
    const uint64_t us = expiry.us();
    if (us <= now_us_) {
      t.expiry_tick_ = cur_;
      push(&pending_, t);
      return;
    }
    t.expiry_tick_ = us / res_us_ + (us % res_us_ != 0);
    place(t);
  }

  // Disarms `t`; a no-op if it is not armed. O(1).
  void cancel(Timer& t) noexcept {
    if (t.pprev_ == nullptr) {
      return;
    }
    unlink(t);
    --size_;
  }

  static bool armed(const Timer& t) noexcept { return t.pprev_ != nullptr; }

  // The expiry `t` was armed with, rounded up to a tick; for a timer armed in the past, the
  // wheel's tick at that moment. Meaningful only while armed.
  Ticks expiry(const Timer& t) const noexcept { return Ticks::from_us(t.expiry_tick_ * res_us_); }

  // Moves the wheel to `now` and calls on_expire(Timer&) for each timer due, the timer already
  // disarmed (so the callback may re-arm it). Returns how many fired.
  template <class F>
  size_t advance(Ticks now, F&& on_expire) {
    if (now.us() > now_us_) {
      now_us_ = now.us();
    }
    size_t fired = 0;
    if (pending_ != nullptr) {
      splice_pending_into_firing();
      fired += fire(on_expire);
    }
    const uint64_t target = now_us_ / res_us_;
    while (cur_ < target) {
      if (target < next_event_) [[likely]] {
        cur_ = target;
        break;
      }
      unsigned idx = 0;
      const uint64_t t = find_next_event(idx);
      next_event_ = t;
      if (t > target) {
        cur_ = target;
        break;
      }
      cur_ = t;
      refile_slot(idx);
      next_event_ = 0;  // recomputed on the next pass, after callbacks may have armed timers
      fired += fire(on_expire);
    }
    return fired;
  }

  // The earliest time at which advance() may have something to do (a timer to fire or to
  // re-file): an idle loop may sleep until then. Ticks::max() if nothing is armed.
  Ticks next_expiry_hint() const noexcept {
    if (pending_ != nullptr) {
      return Ticks::from_us(now_us_);
    }
    unsigned idx = 0;
    const uint64_t t = find_next_event(idx);
    return t == kNever ? Ticks::max() : Ticks::from_us(t * res_us_);
  }

  size_t size() const noexcept { return size_; }
  Ticks now() const noexcept { return Ticks::from_us(now_us_); }
  Ticks resolution() const noexcept { return Ticks::from_us(res_us_); }

 private:
  static constexpr uint64_t kNever = UINT64_MAX;
  static constexpr uint64_t kDigitMask = kSlots - 1;

  static uint64_t checked_resolution(Ticks resolution) noexcept {
    TEMPO_CHECK(resolution.us() >= 1);
    return resolution.us();
  }

  static void push(Timer** head, Timer& t) noexcept {
    t.next_ = *head;
    if (t.next_ != nullptr) {
      t.next_->pprev_ = &t.next_;
    }
    t.pprev_ = head;
    *head = &t;
  }

  // Index of the slot list whose head `pprev` points at, or >= kLevels * kSlots if `pprev`
  // points elsewhere (another timer's next_, or the pending and firing lists).
  size_t slot_of_head(Timer** pprev) const noexcept {
    return (reinterpret_cast<uintptr_t>(pprev) - reinterpret_cast<uintptr_t>(&heads_[0])) /
           sizeof(Timer*);
  }

  void unlink(Timer& t) noexcept {
    *t.pprev_ = t.next_;
    if (t.next_ != nullptr) {
      t.next_->pprev_ = t.pprev_;
    } else if (const size_t idx = slot_of_head(t.pprev_); idx < kLevels * kSlots) {
      occupied_[idx / kSlots] &= ~(uint64_t{1} << (idx % kSlots));  // the slot is now empty
    }
    t.pprev_ = nullptr;
  }

  // Files `t` (expiry_tick_ > cur_) in the slot of the highest digit where it differs from cur_.
  void place(Timer& t) noexcept {
    const uint64_t exp = t.expiry_tick_;
    const uint64_t diff = exp ^ cur_;
    size_t idx;
    uint64_t event;  // the tick at which this slot is processed
    if (diff >> kSpanBits) [[unlikely]] {
      idx = (kLevels - 1) * kSlots;
      event = ((cur_ >> kSpanBits) + 1) << kSpanBits;
    } else {
      const unsigned level = (63 - std::countl_zero(diff)) / kSlotBits;
      const unsigned shift = level * kSlotBits;
      idx = level * kSlots + ((exp >> shift) & kDigitMask);
      event = (exp >> shift) << shift;
    }
    push(&heads_[idx], t);
    occupied_[idx / kSlots] |= uint64_t{1} << (idx % kSlots);
    if (event < next_event_) {
      next_event_ = event;
    }
  }

  // The next tick > cur_ at which a slot is processed, and that slot; kNever if none. The
  // lowest level with a slot above its current digit wins: every slot of a higher level starts
  // after the current slot of the level below ends.
  uint64_t find_next_event(unsigned& idx) const noexcept {
    for (unsigned level = 0; level < kLevels; ++level) {
      const unsigned shift = level * kSlotBits;
      const unsigned digit = (cur_ >> shift) & kDigitMask;
      const uint64_t above = occupied_[level] & ((~uint64_t{0} << digit) << 1);
      if (above != 0) {
        const unsigned slot = std::countr_zero(above);
        idx = level * kSlots + slot;
        const unsigned up = shift + kSlotBits;
        return ((cur_ >> up) << up) | (uint64_t{slot} << shift);
      }
    }
    if (occupied_[kLevels - 1] & 1) {  // beyond the span: re-filed at the next boundary
      idx = (kLevels - 1) * kSlots;
      return ((cur_ >> kSpanBits) + 1) << kSpanBits;
    }
    return kNever;
  }

  // cur_ has reached slot idx's start: fire what is due at cur_, re-file the rest lower down.
  void refile_slot(size_t idx) noexcept {
    Timer* t = heads_[idx];
    heads_[idx] = nullptr;
    occupied_[idx / kSlots] &= ~(uint64_t{1} << (idx % kSlots));
    while (t != nullptr) {
      Timer* const next = t->next_;
      if (t->expiry_tick_ <= cur_) {
        push(&firing_, *t);
      } else {
        place(*t);
      }
      t = next;
    }
  }

  void splice_pending_into_firing() noexcept {
    // firing_ is empty outside fire().
    firing_ = pending_;
    firing_->pprev_ = &firing_;
    pending_ = nullptr;
  }

  // Pops and fires firing_ one timer at a time, so a callback may cancel or re-arm any timer
  // still on it (they are unlinked like any other).
  template <class F>
  size_t fire(F& on_expire) {
    size_t n = 0;
    while (firing_ != nullptr) {
      Timer& t = *firing_;
      unlink(t);
      --size_;
      ++n;
      on_expire(t);
    }
    return n;
  }

  Timer* heads_[kLevels * kSlots] = {};
  uint64_t occupied_[kLevels] = {};
  Timer* pending_ = nullptr;  // armed at or before now_us_: fire on the next advance
  Timer* firing_ = nullptr;   // due in the current step of advance
  uint64_t res_us_;
  uint64_t now_us_;          // the latest now seen
  uint64_t cur_;             // the tick up to which every due timer has been taken off
  uint64_t next_event_ = 0;  // a lower bound on find_next_event(); 0 means "look"
  size_t size_ = 0;
};

}  // namespace tempo::time
