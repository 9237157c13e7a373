// cc::Controller: the std::variant dispatch reaches the chosen algorithm, by value.
#include <cstdint>

#include <gtest/gtest.h>

#include "tcp/cc/cc.h"

namespace tempo::tcp::cc {
namespace {

constexpr uint32_t kMss = 1460;

TEST(Controller, MakeSelectsAlgorithm) {
  EXPECT_EQ(algorithm(make(Algorithm::kNewReno)), Algorithm::kNewReno);
  EXPECT_EQ(algorithm(make(Algorithm::kCubic)), Algorithm::kCubic);
}

TEST(Controller, DispatchMatchesDirectCalls) {
  Controller reno = make(Algorithm::kNewReno);
  Controller cubic = make(Algorithm::kCubic);
  NewReno r;
  Cubic c;
  init(reno, kMss);
  init(cubic, kMss);
  r.init(kMss);
  c.init(kMss);
  const Ticks now = Ticks::from_sec(1);
  const Ticks rtt = Ticks::from_ms(20);
  for (int i = 0; i < 30; ++i) {
    on_ack(reno, kMss, kMss, cwnd(reno), now, rtt);
    on_ack(cubic, kMss, kMss, cwnd(cubic), now, rtt);
    r.on_ack(kMss, kMss, r.cwnd(), now, rtt);
    c.on_ack(kMss, kMss, c.cwnd(), now, rtt);
  }
  EXPECT_EQ(cwnd(reno), r.cwnd());
  EXPECT_EQ(cwnd(cubic), c.cwnd());
  const uint32_t flight = 40 * kMss;
  on_enter_recovery(reno, flight, kMss, now);
  on_enter_recovery(cubic, flight, kMss, now);
  // The two algorithms differ exactly by their multiplicative decrease.
  EXPECT_EQ(ssthresh(reno), 20 * kMss);   // RFC 5681 eq. (4)
  EXPECT_EQ(ssthresh(cubic), 28 * kMss);  // RFC 9438 §4.6, beta 0.7
  EXPECT_EQ(cwnd(reno), 23 * kMss);       // RFC 6582 step 3
  on_dupack(reno, kMss);
  EXPECT_EQ(cwnd(reno), 24 * kMss);
  on_partial_ack(reno, 2 * kMss, kMss);
  EXPECT_EQ(cwnd(reno), 23 * kMss);
  on_exit_recovery(reno, kMss);
  on_exit_recovery(cubic, kMss, /*flight=*/10 * kMss);
  EXPECT_EQ(cwnd(reno), 20 * kMss);
  EXPECT_EQ(cwnd(cubic), 11 * kMss);
  EXPECT_FALSE(in_slow_start(reno));
  on_rto(reno, flight, kMss, now);
  on_rto(cubic, flight, kMss, now);
  EXPECT_EQ(cwnd(reno), kMss);
  EXPECT_EQ(cwnd(cubic), kMss);
  EXPECT_TRUE(in_slow_start(cubic));
  on_idle_restart(reno, Ticks::from_sec(2), Ticks::from_sec(1), kMss);
  EXPECT_EQ(cwnd(reno), kMss);
}

TEST(Controller, HeldByValue) { EXPECT_LE(sizeof(Controller), 56u); }

}  // namespace
}  // namespace tempo::tcp::cc
