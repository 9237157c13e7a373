// CUBIC (RFC 9438): the expected windows are computed here from the RFC's equations in
// segments and seconds (W_cubic(t) = C*(t-K)^3 + W_max, K = cbrt((W_max - cwnd_epoch)/C),
// W_est += alpha * segments_acked / cwnd), not captured from the implementation.
#include "tcp/cc/cubic.h"

#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

namespace tempo::tcp::cc {
namespace {

constexpr uint32_t kMss = 1460;
constexpr double kC = 0.4;                                // RFC 9438 §5.1
constexpr double kBeta = 0.7;                             // RFC 9438 §4.6
constexpr double kAlpha = 3 * (1 - kBeta) / (1 + kBeta);  // RFC 9438 §4.3

double segs(uint32_t bytes) { return static_cast<double>(bytes) / kMss; }
double seconds(Ticks t) { return static_cast<double>(t.us()) * 1e-6; }

// RFC 9438 §4.2 eq. (2), in seconds.
double rfc_k(double w_max_segs, double cwnd_epoch_segs) {
  return std::cbrt((w_max_segs - cwnd_epoch_segs) / kC);
}
// RFC 9438 §4.2 eq. (1), in segments.
double rfc_w_cubic(double t, double k, double w_max_segs) {
  return kC * (t - k) * (t - k) * (t - k) + w_max_segs;
}

// Slow start from IW to at least `bytes`, cwnd-limited, ACKs of 2 segments.
Cubic grown_to(uint32_t bytes, Ticks now, Ticks rtt) {
  Cubic c;
  c.init(kMss);
  while (c.cwnd() < bytes) {
    c.on_ack(2 * kMss, kMss, c.cwnd(), now, rtt);
  }
  return c;
}

// A loss at flight = cwnd and the end of its recovery: the start of a CUBIC epoch.
Cubic after_loss(uint32_t bytes, Ticks now, Ticks rtt) {
  Cubic c = grown_to(bytes, now, rtt);
  c.on_enter_recovery(c.cwnd(), kMss, now);
  c.on_exit_recovery(kMss);
  return c;
}

TEST(Cubic, InitialWindowAndSlowStart) {
  Cubic c;
  c.init(kMss);
  EXPECT_EQ(c.cwnd(), 14600u);  // RFC 6928
  EXPECT_EQ(c.ssthresh(), UINT32_MAX);
  EXPECT_TRUE(c.in_slow_start());
  c.on_ack(3 * kMss, kMss, c.cwnd(), Ticks{}, Ticks::from_ms(10));  // ABC, L = 2*SMSS
  EXPECT_EQ(c.cwnd(), 14600u + 2 * kMss);
}

TEST(Cubic, MultiplicativeDecreaseBeta) {
  const Ticks now = Ticks::from_sec(1);
  Cubic c = grown_to(100 * kMss, now, Ticks::from_ms(10));
  const uint32_t cwnd = c.cwnd();
  const uint32_t flight = 90 * kMss;  // less than cwnd: RFC 9438 §4.6 uses flight_size
  c.on_enter_recovery(flight, kMss, now, RecoveryMode::kSack);
  EXPECT_EQ(c.ssthresh(), static_cast<uint32_t>(flight * kBeta));  // 0.7 * 131400 = 91980
  EXPECT_EQ(c.ssthresh(), 91980u);
  EXPECT_EQ(c.cwnd(), c.ssthresh());  // cwnd = max(ssthresh, 2)
  EXPECT_EQ(c.w_max(), cwnd);         // first loss: W_max = cwnd
  EXPECT_EQ(c.cwnd_prior(), cwnd);
  Cubic floor = grown_to(1, now, Ticks::from_ms(10));
  floor.on_enter_recovery(2 * kMss, kMss, now, RecoveryMode::kSack);  // 0.7 * 2 < 2 segments
  EXPECT_EQ(floor.ssthresh(), 2 * kMss);
  Cubic reno = grown_to(1, now, Ticks::from_ms(10));
  reno.on_enter_recovery(20 * kMss, kMss, now);  // RFC 6582 inflation by 3 SMSS
  EXPECT_EQ(reno.cwnd(), 14 * kMss + 3 * kMss);
}

TEST(Cubic, KPerRfc9438) {
  const Ticks now = Ticks::from_sec(5);
  Cubic c = after_loss(1000 * kMss, now, Ticks::from_ms(100));
  const double w_max = segs(c.w_max());
  const double cwnd_epoch = segs(c.cwnd());
  EXPECT_NEAR(cwnd_epoch, kBeta * w_max, 1.0 / kMss);
  EXPECT_FALSE(c.in_epoch());
  c.on_ack(kMss, kMss, c.cwnd(), now, Ticks::from_ms(100));  // congestion avoidance starts
  ASSERT_TRUE(c.in_epoch());
  // K = cbrt(W_max * (1 - beta) / C): about 9.09 s for W_max = 1000 segments.
  EXPECT_NEAR(seconds(c.k()), rfc_k(w_max, cwnd_epoch), 1e-6);
  EXPECT_NEAR(seconds(c.k()), std::cbrt(w_max * 0.3 / 0.4), 1e-3);
}

TEST(Cubic, WindowFollowsCubicFunction) {
  const Ticks rtt = Ticks::from_ms(100);
  Ticks now = Ticks::from_sec(5);
  Cubic c = after_loss(1000 * kMss, now, rtt);
  const double w_max = segs(c.w_max());
  const double k = rfc_k(w_max, segs(c.cwnd()));
  const Ticks epoch = now;
  // Each round trip ACKs the whole window, one segment per ACK, spread evenly over the RTT.
  int checked = 0;
  for (int round = 0; round < 160; ++round) {
    const double t = 0.1 * round;
    if (round % 20 == 0 || round == 91) {  // 0, 2, 4 ... 14 s and t ~ K
      // cwnd chases W_cubic(t + RTT) one RTT ahead, so it sits on W_cubic(t); allow one
      // segment for the discrete per-ACK steps.
      EXPECT_NEAR(segs(c.cwnd()), rfc_w_cubic(t, k, w_max), 1.0) << "t=" << t;
      ++checked;
    }
    const uint32_t n = c.cwnd() / kMss;
    for (uint32_t i = 0; i < n; ++i) {
      now = epoch + Ticks::from_us(static_cast<uint64_t>(round) * rtt.us() + i * rtt.us() / n);
      c.on_ack(kMss, kMss, c.cwnd(), now, rtt);
    }
  }
  EXPECT_EQ(checked, 9);
  // Concave below W_max, plateau at K, convex beyond: 16 s is well past K ~ 9.09 s.
  EXPECT_GT(segs(c.cwnd()), w_max);
}

TEST(Cubic, RenoFriendlyRegionDominatesAtShortRtt) {
  // Small window, 1 ms RTT: in the K ~ 1.96 s it takes the cubic curve to get back to W_max,
  // Reno would add ~1000 segments, so cwnd follows W_est (RFC 9438 §4.3).
  const Ticks rtt = Ticks::from_ms(1);
  Ticks now = Ticks::from_sec(1);
  Cubic c = after_loss(10 * kMss, now, rtt);
  const double w_max = segs(c.w_max());
  const double cwnd_prior = segs(c.cwnd_prior());
  const double k = rfc_k(w_max, segs(c.cwnd()));
  double w_est = segs(c.cwnd());  // W_est = cwnd_epoch
  const Ticks epoch = now;
  for (int round = 1; round <= 200; ++round) {
    // One cumulative ACK of the whole window per RTT: segments_acked / cwnd = 1.
    c.on_ack(c.cwnd(), kMss, c.cwnd(), now, rtt);
    w_est += (w_est >= cwnd_prior ? 1.0 : kAlpha);  // alpha becomes 1 once W_est >= cwnd_prior
    const double t = seconds(now - epoch);
    if (round == 1 || round == 4 || round == 10 || round == 50 || round == 200) {
      SCOPED_TRACE(round);
      EXPECT_NEAR(segs(c.w_est()), w_est, 0.01);
      EXPECT_NEAR(segs(c.cwnd()), w_est, 0.01);
      EXPECT_GT(segs(c.cwnd()), rfc_w_cubic(t, k, w_max));
    }
    now += rtt;
  }
  // 7 + 3 rounds at 9/17 (to reach 10 segments), then 1 per round: about 197 + 7 segments.
  EXPECT_GT(segs(c.cwnd()), 190.0);
}

TEST(Cubic, CubicRegionAtLongRtt) {
  // Same loss, 200 ms RTT: after 1 s, W_cubic(1 s) > W_est (5 RTTs of 9/17 segment), so cwnd
  // is above the Reno estimate.
  const Ticks rtt = Ticks::from_ms(200);
  Ticks now = Ticks::from_sec(1);
  Cubic c = after_loss(100 * kMss, now, rtt);
  for (int round = 0; round < 5; ++round) {
    const uint32_t n = c.cwnd() / kMss;
    for (uint32_t i = 0; i < n; ++i) {
      c.on_ack(kMss, kMss, c.cwnd(), now + Ticks::from_us(i * rtt.us() / n), rtt);
    }
    now += rtt;
  }
  EXPECT_GT(c.cwnd(), c.w_est());
  EXPECT_LT(segs(c.w_est()), 70.0 + 5 * kAlpha + 0.5);
}

TEST(Cubic, FastConvergenceLowersWmax) {
  const Ticks now = Ticks::from_sec(1);
  Cubic c = after_loss(200 * kMss, now, Ticks::from_ms(10));
  const uint32_t w_max1 = c.w_max();
  const uint32_t cwnd2 = c.cwnd();  // 0.7 * W_max: below W_max, so the flow is losing share
  ASSERT_LT(cwnd2, w_max1);
  c.on_enter_recovery(cwnd2, kMss, now);
  // RFC 9438 §4.7: W_max = cwnd * (1 + beta) / 2.
  EXPECT_NEAR(static_cast<double>(c.w_max()), cwnd2 * (1 + kBeta) / 2, 1.0);
  EXPECT_LT(c.w_max(), cwnd2);
  EXPECT_EQ(c.cwnd_prior(), cwnd2);
}

TEST(Cubic, NoFastConvergenceAboveWmax) {
  const Ticks now = Ticks::from_sec(1);
  Cubic c = after_loss(100 * kMss, now, Ticks::from_ms(10));
  c.on_exit_recovery(kMss);
  // Grow past the old W_max before the next loss.
  for (int i = 0; i < 100000 && c.cwnd() <= c.w_max(); ++i) {
    c.on_ack(kMss, kMss, c.cwnd(), now + Ticks::from_ms(i), Ticks::from_ms(10));
  }
  const uint32_t cwnd = c.cwnd();
  ASSERT_GT(cwnd, c.w_max());
  c.on_enter_recovery(cwnd, kMss, now + Ticks::from_sec(100));
  EXPECT_EQ(c.w_max(), cwnd);
}

TEST(Cubic, TimeoutUsesBetaAndRestartsEpochWithKZero) {
  const Ticks rtt = Ticks::from_ms(10);
  Ticks now = Ticks::from_sec(1);
  Cubic c = after_loss(100 * kMss, now, rtt);  // W_max from that loss: ~100 segments
  const uint32_t flight = c.cwnd();
  c.on_rto(flight, kMss, now);
  EXPECT_EQ(c.cwnd(), kMss);                                       // RFC 5681 loss window
  EXPECT_EQ(c.ssthresh(), static_cast<uint32_t>(flight * kBeta));  // RFC 9438 §4.8
  c.on_rto(kMss, kMss, now);  // again for the same data: ssthresh held (RFC 5681 §3.1)
  EXPECT_EQ(c.ssthresh(), static_cast<uint32_t>(flight * kBeta));
  while (c.in_slow_start()) {
    c.on_ack(kMss, kMss, c.cwnd(), now, rtt);
    now += Ticks::from_ms(1);
  }
  const uint32_t cwnd_epoch = c.cwnd();
  c.on_ack(kMss, kMss, c.cwnd(), now, rtt);
  // First congestion avoidance after a timeout: K = 0, W_max = cwnd at its start.
  EXPECT_EQ(c.k(), Ticks{});
  EXPECT_EQ(c.w_max(), cwnd_epoch);
}

TEST(Cubic, TargetClampedToOneAndAHalfWindows) {
  // RFC 9438 §4.4/§4.5: target <= 1.5 * cwnd, so one ACK of one segment adds at most
  // (1.5 * cwnd - cwnd) / cwnd = half a segment, however far ahead W_cubic(t + RTT) is.
  Ticks now = Ticks::from_sec(1);
  Cubic c = after_loss(100 * kMss, now, Ticks::from_ms(10));
  c.on_ack(kMss, kMss, c.cwnd(), now, Ticks::from_ms(10));  // epoch starts
  const uint32_t w = c.cwnd();
  now += Ticks::from_sec(100);  // W_cubic(100 s) is ~ 0.4 * 97^3 segments above W_max
  c.on_ack(kMss, kMss, c.cwnd(), now, Ticks::from_ms(10));
  // Within a byte: the clamp floors 1.5 * cwnd to whole bytes.
  EXPECT_NEAR(c.cwnd(), w + kMss / 2, 1);
}

TEST(Cubic, NoGrowthWhenApplicationLimited) {
  Ticks now = Ticks::from_sec(1);
  Cubic c = after_loss(100 * kMss, now, Ticks::from_ms(10));
  const uint32_t w = c.cwnd();
  for (int i = 0; i < 1000; ++i) {
    now += Ticks::from_ms(1);
    c.on_ack(kMss, kMss, /*flight_before=*/w / 2, now, Ticks::from_ms(10));
  }
  EXPECT_EQ(c.cwnd(), w);  // RFC 9438 §5.8
}

TEST(Cubic, IdleTimeExcludedFromEpoch) {
  const Ticks now = Ticks::from_sec(1);
  Cubic c = after_loss(100 * kMss, now, Ticks::from_ms(10));
  c.on_ack(kMss, kMss, c.cwnd(), now, Ticks::from_ms(10));
  ASSERT_TRUE(c.in_epoch());
  c.on_idle_restart(Ticks::from_ms(150), Ticks::from_ms(200), kMss);
  EXPECT_EQ(c.epoch_start(), now + Ticks::from_ms(150));  // RFC 9438 §5.8
  const uint32_t w = c.cwnd();
  c.on_idle_restart(Ticks::from_ms(250), Ticks::from_ms(200), kMss);  // RFC 5681 §4.1
  EXPECT_EQ(c.cwnd(), std::min(w, 14600u));
  EXPECT_FALSE(c.in_epoch());
}

TEST(Cubic, Size) { EXPECT_LE(sizeof(Cubic), 48u); }

}  // namespace
}  // namespace tempo::tcp::cc
