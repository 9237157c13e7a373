// RFC 6298 RTT estimation: the expected values are computed here, in double precision, from the
// RFC's formulas, and compared with the estimator's fixed-point arithmetic.
#include "tcp/rtt.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace tempo::tcp {
namespace {

// RFC 6298 §2, straight from the text, in seconds-as-double (here: microseconds).
struct Rfc6298 {
  double srtt = 0;
  double rttvar = 0;
  bool first = true;

  void sample(double r) {
    if (first) {
      srtt = r;  // (2.2)
      rttvar = r / 2;
      first = false;
      return;
    }
    rttvar = (1 - 0.25) * rttvar + 0.25 * std::fabs(srtt - r);  // (2.3), beta = 1/4
    srtt = (1 - 0.125) * srtt + 0.125 * r;                      // alpha = 1/8
  }
  double rto(double g, double lo, double hi) const {
    return std::clamp(srtt + std::max(g, 4 * rttvar), lo, hi);  // (2.2)-(2.5), K = 4
  }
};

constexpr double kMs = 1000.0;

TEST(RttEstimator, InitialRtoIsOneSecond) {
  RttEstimator e;
  EXPECT_FALSE(e.has_sample());
  EXPECT_EQ(e.rto(), Ticks::from_sec(1));  // RFC 6298 (2.1)
  EXPECT_EQ(e.srtt(), Ticks{});
}

TEST(RttEstimator, FirstSample) {
  RttEstimator e;
  e.on_sample(Ticks::from_ms(100));
  // (2.2): SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + max(G, 4 * 50) = 300 ms.
  EXPECT_EQ(e.srtt(), Ticks::from_ms(100));
  EXPECT_EQ(e.rttvar(), Ticks::from_ms(50));
  EXPECT_EQ(e.rto(), Ticks::from_ms(300));
}

TEST(RttEstimator, SecondSampleByHand) {
  RttEstimator e;
  e.on_sample(Ticks::from_ms(100));
  e.on_sample(Ticks::from_ms(120));
  // (2.3): RTTVAR = 3/4 * 50 + 1/4 * |100 - 120| = 42.5 ms (old SRTT);
  //        SRTT = 7/8 * 100 + 1/8 * 120 = 102.5 ms; RTO = 102.5 + 4 * 42.5 = 272.5 ms.
  EXPECT_EQ(e.srtt(), Ticks::from_us(102500));
  EXPECT_EQ(e.rttvar(), Ticks::from_us(42500));
  EXPECT_EQ(e.rto(), Ticks::from_us(272500));
}

TEST(RttEstimator, SequenceFollowsRfcFormulas) {
  const std::vector<double> samples_ms = {100, 120, 80, 300, 90, 110, 100, 100, 95, 2500,
                                          40,  41,  42, 43,  44, 45,  46,  47,  48, 49};
  RttEstimator e;
  Rfc6298 ref;
  for (double ms : samples_ms) {
    e.on_sample(Ticks::from_us(static_cast<uint64_t>(ms * kMs)));
    ref.sample(ms * kMs);
    SCOPED_TRACE(ms);
    EXPECT_NEAR(static_cast<double>(e.srtt().us()), ref.srtt, 1.0);
    EXPECT_NEAR(static_cast<double>(e.rttvar().us()), ref.rttvar, 1.0);
    // RTO is rounded up to the microsecond (< 1 us) and carries 4x RTTVAR's truncation error
    // (4 x < 1/4 us): within 2 us of the exact value, and never below it by a microsecond.
    const double rto = ref.rto(1 * kMs, 200 * kMs, 120000 * kMs);
    EXPECT_NEAR(static_cast<double>(e.rto().us()), rto, 2.0);
    EXPECT_GT(static_cast<double>(e.rto().us()), rto - 1.0);
  }
}

TEST(RttEstimator, LongPseudoRandomSequenceStaysWithinAMicrosecond) {
  RttEstimator e;
  Rfc6298 ref;
  uint64_t x = 88172645463325252ull;  // xorshift64
  for (int i = 0; i < 10000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const uint64_t us = 1 + x % 400000;  // 1 us .. 400 ms
    e.on_sample(Ticks::from_us(us));
    ref.sample(static_cast<double>(us));
    ASSERT_NEAR(static_cast<double>(e.srtt().us()), ref.srtt, 1.0) << i;
    ASSERT_NEAR(static_cast<double>(e.rttvar().us()), ref.rttvar, 1.0) << i;
  }
}

TEST(RttEstimator, ClampedToMinRto) {
  RttEstimator e;  // min 200 ms, the documented deviation from (2.4)'s 1 s
  e.on_sample(Ticks::from_ms(1));
  EXPECT_EQ(e.rto(), Ticks::from_ms(200));
  RttEstimator rfc(RttConfig{.min_rto = Ticks::from_sec(1)});  // (2.4) as written
  rfc.on_sample(Ticks::from_ms(1));
  EXPECT_EQ(rfc.rto(), Ticks::from_sec(1));
}

TEST(RttEstimator, ClampedToMaxRto) {
  RttEstimator e;
  e.on_sample(Ticks::from_sec(100));  // 100 + 4 * 50 = 300 s > 120 s (2.5)
  EXPECT_EQ(e.rto(), Ticks::from_sec(120));
  RttEstimator e60(RttConfig{.max_rto = Ticks::from_sec(60)});
  e60.on_sample(Ticks::from_sec(100));
  EXPECT_EQ(e60.rto(), Ticks::from_sec(60));
}

TEST(RttEstimator, GranularityBoundsVarianceTerm) {
  // Constant samples drive RTTVAR to 0, so RTO = SRTT + G (2.3).
  RttEstimator e(RttConfig{.min_rto = Ticks::from_us(1), .granularity = Ticks::from_ms(1)});
  for (int i = 0; i < 200; ++i) {
    e.on_sample(Ticks::from_ms(10));
  }
  EXPECT_EQ(e.srtt(), Ticks::from_ms(10));
  EXPECT_EQ(e.rttvar(), Ticks{});
  EXPECT_EQ(e.rto(), Ticks::from_ms(11));
}

TEST(RttEstimator, BackoffDoublesUpToMax) {
  RttEstimator e;
  // (5.5) from the 1 s initial RTO: 2, 4, ..., 64, then the 120 s cap (2.5).
  uint64_t expect_ms = 1000;
  for (int i = 0; i < 6; ++i) {
    e.backoff();
    expect_ms *= 2;
    EXPECT_EQ(e.rto(), Ticks::from_ms(expect_ms));
  }
  EXPECT_EQ(e.backoffs(), 6u);
  e.backoff();
  EXPECT_EQ(e.rto(), Ticks::from_sec(120));
  for (int i = 0; i < 100; ++i) {
    e.backoff();
  }
  EXPECT_EQ(e.rto(), Ticks::from_sec(120));
  EXPECT_EQ(e.backoffs(), 7u);  // stops counting once capped
  e.reset_backoff();
  EXPECT_EQ(e.rto(), Ticks::from_sec(1));
}

TEST(RttEstimator, BackoffAppliesToComputedRto) {
  RttEstimator e;
  e.on_sample(Ticks::from_ms(100));  // RTO 300 ms
  e.backoff();
  EXPECT_EQ(e.rto(), Ticks::from_ms(600));
  e.backoff();
  EXPECT_EQ(e.rto(), Ticks::from_ms(1200));
  // A valid sample (Karn: of a segment sent once) recomputes RTO from (2.3).
  e.on_sample(Ticks::from_ms(100));
  EXPECT_EQ(e.backoffs(), 0u);
  // SRTT 100, RTTVAR 3/4 * 50 = 37.5: RTO 250 ms.
  EXPECT_EQ(e.rto(), Ticks::from_ms(250));
}

TEST(RttEstimator, SynTimeoutReinitializesToThreeSeconds) {
  RttEstimator e;
  e.backoff();  // the SYN timed out
  e.on_syn_timeout_established();
  EXPECT_EQ(e.rto(), Ticks::from_sec(3));  // RFC 6298 (5.7)
  e.on_sample(Ticks::from_ms(100));        // then (2.2) as a first measurement
  EXPECT_EQ(e.rto(), Ticks::from_ms(300));
}

}  // namespace
}  // namespace tempo::tcp
