// tempo::time::TscClock: the Worker's clock, read once per loop iteration.
//
// rte_rdtsc() is an inline RDTSC from <rte_cycles.h> and needs no EAL. The TSC is invariant and
// synchronised across cores on the machines DPDK supports, so every Worker's Ticks share one
// time base (the TSC's, counted from reset) and a timestamp taken on one core means the same on
// another. Cycles become microseconds by one 64x64->128 multiply by a fixed-point reciprocal of
// the frequency: no division on the datapath.
#pragma once

#include <cstdint>
#include <ctime>

#include <rte_cycles.h>

#include <tempo/check.h>

#include "time/ticks.h"

namespace tempo::time {

class TscClock {
 public:
  // `tsc_hz`: rte_get_tsc_hz() after EAL start, or calibrate_tsc_hz() without it. The TSC must
  // run faster than 1 MHz (it runs at GHz), so a cycle is shorter than a tick.
  explicit TscClock(uint64_t tsc_hz) noexcept
      : tsc_hz_(tsc_hz), us_per_cycle_q64_(reciprocal_q64(tsc_hz)) {}

  Ticks now() const noexcept { return from_cycles(rte_rdtsc()); }

  // `cycles` of this TSC as Ticks: floor(cycles * 1e6 / tsc_hz), exact except that a value
  // within cycles * 2^-64 us below a whole microsecond rounds up to it.
  Ticks from_cycles(uint64_t cycles) const noexcept {
    __extension__ using U128 = unsigned __int128;
    return Ticks::from_us(static_cast<uint64_t>((U128{cycles} * us_per_cycle_q64_) >> 64));
  }

  uint64_t tsc_hz() const noexcept { return tsc_hz_; }

  // Measures the TSC frequency against CLOCK_MONOTONIC over `window_ns` (sleeping, not
  // spinning). Each end pairs a clock read with the TSC read at its midpoint, so the error is
  // about (clock_gettime duration) / window: ~1e-6 for the default 20 ms.
  // Not for the datapath: the Worker takes rte_get_tsc_hz() after EAL start.
  static uint64_t calibrate_tsc_hz(uint64_t window_ns = 20'000'000) noexcept {
    uint64_t c0 = 0;
    const uint64_t t0 = monotonic_ns_with_tsc(c0);
    const timespec pause{static_cast<time_t>(window_ns / 1'000'000'000),
                         static_cast<long>(window_ns % 1'000'000'000)};
    nanosleep(&pause, nullptr);  // EINTR only shortens the window, which is measured anyway
    uint64_t c1 = 0;
    const uint64_t t1 = monotonic_ns_with_tsc(c1);
    TEMPO_CHECK(t1 > t0 && c1 > c0);
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>(U128{c1 - c0} * 1'000'000'000 / (t1 - t0));
  }

 private:
  // ceil(2^64 * 1e6 / hz), rounded up so that whole microseconds convert exactly; fits in 64
  // bits because hz > 1e6.
  static uint64_t reciprocal_q64(uint64_t hz) noexcept {
    TEMPO_CHECK(hz > 1'000'000);
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>(((U128{1'000'000} << 64) + hz - 1) / hz);
  }

  // CLOCK_MONOTONIC and the TSC at the midpoint of the clock read, from the narrowest of
  // kPairs tries: a preemption or a hypervisor exit between the TSC reads and the clock read
  // moves the midpoint by up to the interruption (milliseconds on a loaded VM, i.e. percent of
  // a 20 ms window), and is unlikely to hit every try.
  static uint64_t monotonic_ns_with_tsc(uint64_t& cycles) noexcept {
    constexpr int kPairs = 5;
    uint64_t best_width = UINT64_MAX;
    uint64_t ns = 0;
    for (int i = 0; i < kPairs; ++i) {
      timespec ts{};
      const uint64_t before = rte_rdtsc();
      clock_gettime(CLOCK_MONOTONIC, &ts);
      const uint64_t after = rte_rdtsc();
      if (after - before < best_width) {
        best_width = after - before;
        cycles = before + (after - before) / 2;
        ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
      }
    }
    return ns;
  }

  uint64_t tsc_hz_;
  uint64_t us_per_cycle_q64_;
};

}  // namespace tempo::time
