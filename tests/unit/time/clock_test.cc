// TscClock: cycles to microseconds, and calibration against CLOCK_MONOTONIC.
//
// The timing tests bracket every TSC read between two CLOCK_MONOTONIC reads, so that the true
// duration of a TSC interval is known to lie in [min_ns, max_ns] whatever the scheduler does
// between the reads: a preemption only widens the bracket, it never moves the truth outside
// it. A bracket made wide by a preemption is measured again (the tightest of a few is kept),
// so the outcome does not depend on the machine's load. The tolerance left around the bracket
// covers only the calibration; it is tight enough that a clock 10% off fails, and the tests
// check that it does.
#include "time/clock.h"

#include <cstdint>
#include <ctime>

#include <gtest/gtest.h>
#include <rte_cycles.h>

namespace tempo::time {
namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

void sleep_ns(uint64_t ns) {
  const timespec pause{static_cast<time_t>(ns / 1'000'000'000),
                       static_cast<long>(ns % 1'000'000'000)};
  nanosleep(&pause, nullptr);
}

// Two reads of some clock (`read()`, called twice, `sleep` apart), each between two
// CLOCK_MONOTONIC reads: the interval from the first read to the second lasted at least
// min_ns (from just after the first to just before the second) and at most max_ns.
template <class T>
struct Bracket {
  T first{};
  T second{};
  uint64_t min_ns = 0;
  uint64_t max_ns = 0;
};

// The tightest of up to kTries brackets, stopping at one whose slack (max - min) is within
// 0.2% of min: on an idle machine the first, since each pair of reads is well under 1 us.
template <class Read>
auto bracket(Read read, uint64_t sleep) {
  constexpr int kTries = 20;
  Bracket<decltype(read())> best;
  for (int i = 0; i < kTries; ++i) {
    Bracket<decltype(read())> b;
    const uint64_t m0 = monotonic_ns();
    b.first = read();
    const uint64_t m1 = monotonic_ns();
    sleep_ns(sleep);
    const uint64_t m2 = monotonic_ns();
    b.second = read();
    const uint64_t m3 = monotonic_ns();
    b.min_ns = m2 - m1;
    b.max_ns = m3 - m0;
    if (i == 0 || b.max_ns - b.min_ns < best.max_ns - best.min_ns) {
      best = b;
    }
    if (best.max_ns - best.min_ns <= best.min_ns / 500) {
      break;
    }
  }
  return best;
}

// `elapsed_us` (as read from a clock) fits the bracket within `tol` of relative error, plus one
// microsecond each side for the flooring of the two Ticks reads.
bool fits(uint64_t elapsed_us, uint64_t min_ns, uint64_t max_ns, double tol) {
  const double lo = static_cast<double>(min_ns) / 1000 * (1 - tol) - 1;
  const double hi = static_cast<double>(max_ns) / 1000 * (1 + tol) + 1;
  const auto e = static_cast<double>(elapsed_us);
  return e >= lo && e <= hi;
}

// The TSC frequency, bracketed: cycles counted over an interval of [min_ns, max_ns].
struct HzRange {
  double lo;
  double hi;
};
HzRange reference_hz(uint64_t sleep) {
  const auto b = bracket([] { return rte_rdtsc(); }, sleep);
  const auto cycles = static_cast<double>(b.second - b.first);
  return {cycles * 1e9 / static_cast<double>(b.max_ns),
          cycles * 1e9 / static_cast<double>(b.min_ns)};
}

// The error allowed beyond a bracket. What it has to cover is small: calibrate_tsc_hz() is off
// by about (clock read time) / window, ~1e-5, and CLOCK_MONOTONIC is slewed by NTP by at most
// 5e-4. A clock 10% off misses a bracket of 1% slack by more than 7% with these.
constexpr double kPaceTolerance = 0.02;         // TscClock::now() elapsed against a bracket
constexpr double kCalibrationTolerance = 0.01;  // calibrate_tsc_hz() against the bracketed Hz

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

TEST(TscClock, CalibrationMatchesTheBracketedFrequency) {
  const HzRange ref = reference_hz(100'000'000);
  EXPECT_GT(ref.lo, 100e6);  // no x86 TSC below 100 MHz
  EXPECT_LT(ref.hi, 10e9);
  EXPECT_LE(ref.hi - ref.lo, ref.lo * 0.01) << "no bracket tighter than 1% in 20 tries";
  for (const uint64_t window : {uint64_t{20'000'000}, uint64_t{50'000'000}}) {
    const auto hz = static_cast<double>(TscClock::calibrate_tsc_hz(window));
    EXPECT_GE(hz, ref.lo * (1 - kCalibrationTolerance)) << window << " " << ref.lo;
    EXPECT_LE(hz, ref.hi * (1 + kCalibrationTolerance)) << window << " " << ref.hi;
  }
}

TEST(TscClock, NowIsMonotonic) {
  const TscClock clock(TscClock::calibrate_tsc_hz());
  Ticks prev = clock.now();
  for (int i = 0; i < 100000; ++i) {
    const Ticks t = clock.now();
    ASSERT_GE(t, prev);
    prev = t;
  }
}

TEST(TscClock, NowKeepsPaceWithClockMonotonic) {
  const uint64_t hz = TscClock::calibrate_tsc_hz();
  const TscClock clock(hz);
  // The same intervals read through clocks with a wrong frequency: each must be caught.
  const TscClock fast(hz * 10 / 11);  // 10% too few Hz: time runs 10% fast
  const TscClock slow(hz * 11 / 10);  // 10% too many Hz
  const TscClock half(hz * 2);
  const TscClock twice(hz / 2);
  struct Reads {
    Ticks right, fast, slow, half, twice;
  };
  const auto b = bracket(
      [&] {
        return Reads{clock.now(), fast.now(), slow.now(), half.now(), twice.now()};
      },
      100'000'000);
  EXPECT_GE(b.min_ns, 100'000'000u);
  auto elapsed = [](Ticks a, Ticks z) { return (z - a).us(); };
  EXPECT_TRUE(fits(elapsed(b.first.right, b.second.right), b.min_ns, b.max_ns, kPaceTolerance))
      << elapsed(b.first.right, b.second.right) << " us in [" << b.min_ns << ", " << b.max_ns
      << "] ns";
  // The check has teeth only if the bracket is tight; it is (see bracket()), else say so.
  ASSERT_LE(b.max_ns - b.min_ns, b.min_ns / 100) << "no bracket tighter than 1% in 20 tries";
  EXPECT_FALSE(fits(elapsed(b.first.fast, b.second.fast), b.min_ns, b.max_ns, kPaceTolerance));
  EXPECT_FALSE(fits(elapsed(b.first.slow, b.second.slow), b.min_ns, b.max_ns, kPaceTolerance));
  EXPECT_FALSE(fits(elapsed(b.first.half, b.second.half), b.min_ns, b.max_ns, kPaceTolerance));
  EXPECT_FALSE(fits(elapsed(b.first.twice, b.second.twice), b.min_ns, b.max_ns, kPaceTolerance));
}

}  // namespace
}  // namespace tempo::time
