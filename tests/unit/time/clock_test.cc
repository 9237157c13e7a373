// TscClock: cycles to microseconds, and calibration against CLOCK_MONOTONIC.
#include "time/clock.h"

#include <cstdint>
#include <ctime>

#include <gtest/gtest.h>

namespace tempo::time {
namespace {

uint64_t monotonic_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

TEST(TscClock, ConvertsCyclesToMicrosecondsExactly) {
  const TscClock clock(2'450'000'000);
  EXPECT_EQ(clock.from_cycles(0), Ticks::from_us(0));
  EXPECT_EQ(clock.from_cycles(2'449), Ticks::from_us(0));  // 0.9996 us rounds down
  EXPECT_EQ(clock.from_cycles(2'450), Ticks::from_us(1));
  EXPECT_EQ(clock.from_cycles(4'899), Ticks::from_us(1));
  EXPECT_EQ(clock.from_cycles(2'450'000'000), Ticks::from_sec(1));
  // A year of cycles: the fixed-point reciprocal stays within 1 us.
  const uint64_t year = 365ull * 86'400;
  EXPECT_EQ(clock.from_cycles(2'450'000'000 * year), Ticks::from_sec(year));
  const TscClock odd(3'000'000'007);
  EXPECT_EQ(odd.from_cycles(3'000'000'007ull * 1000), Ticks::from_sec(1000));
  EXPECT_EQ(odd.tsc_hz(), 3'000'000'007u);
}

TEST(TscClock, CalibrationIsStableAndPlausible) {
  const uint64_t a = TscClock::calibrate_tsc_hz();
  const uint64_t b = TscClock::calibrate_tsc_hz(50'000'000);
  EXPECT_GT(a, 100'000'000u);  // no x86 TSC below 100 MHz
  EXPECT_LT(a, 10'000'000'000u);
  // Two measurements agree to 1% even on a busy, virtualised machine.
  EXPECT_LT(a > b ? a - b : b - a, b / 100);
}

TEST(TscClock, NowIsMonotonicAndKeepsPaceWithClockMonotonic) {
  const TscClock clock(TscClock::calibrate_tsc_hz());
  const Ticks t0 = clock.now();
  const uint64_t m0 = monotonic_us();
  Ticks prev = t0;
  for (int i = 0; i < 100000; ++i) {
    const Ticks t = clock.now();
    ASSERT_GE(t, prev);
    prev = t;
  }
  const timespec pause{0, 100'000'000};
  nanosleep(&pause, nullptr);
  const Ticks t1 = clock.now();
  const uint64_t m1 = monotonic_us();
  const uint64_t tsc_elapsed = (t1 - t0).us();
  const uint64_t mono_elapsed = m1 - m0;
  EXPECT_GE(mono_elapsed, 100'000u);
  // Within 1% (plus the few us between the paired reads).
  const uint64_t diff =
      tsc_elapsed > mono_elapsed ? tsc_elapsed - mono_elapsed : mono_elapsed - tsc_elapsed;
  EXPECT_LT(diff, mono_elapsed / 100 + 50);
}

}  // namespace
}  // namespace tempo::time
