// tempo::time::Timer, the intrusive hook of the timer wheel (lib/time/timer.h, wheel.h). It is
// here, among the public headers, only because the application's tempo::Timer (stack.h) embeds
// one; its members are the wheel's alone.
#pragma once

#include <cstdint>

namespace tempo::time {

class Wheel;

struct Timer {
 public:
  constexpr Timer() noexcept = default;
  // Copying an owner yields an unarmed hook (as boost::intrusive hooks do): the list links
  // belong to the original's position in the wheel, never to a copy.
  constexpr Timer(const Timer&) noexcept {}
  constexpr Timer& operator=(const Timer&) noexcept { return *this; }
  // The owner must cancel an armed timer before it is destroyed (the wheel points at it).
  ~Timer() = default;

 private:
  friend class Wheel;
  Timer* next_ = nullptr;
  Timer** pprev_ = nullptr;  // &previous->next_, or the list head; nullptr when unarmed
  uint64_t expiry_tick_ = 0;
};

// Two pointers and the expiry, in wheel ticks: 24 bytes per timer, all-in (the wheel itself is
// a fixed 3 KiB of list heads per core). DPDK's struct rte_timer is 120 bytes.
static_assert(sizeof(Timer) == 24);

}  // namespace tempo::time
