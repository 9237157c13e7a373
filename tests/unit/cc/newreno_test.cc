// NewReno (RFC 5681, RFC 6582, RFC 3465, RFC 6928): every expected window below is worked out
// from the RFC formula named next to it.
#include "tcp/cc/newreno.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace tempo::tcp::cc {
namespace {

constexpr uint32_t kMss = 1460;
const Ticks kNow = Ticks::from_sec(10);
const Ticks kRtt = Ticks::from_ms(50);

NewReno fresh(uint32_t mss = kMss) {
  NewReno r;
  r.init(mss);
  return r;
}

// A connection in congestion avoidance at cwnd = ssthresh = `w` (loss at flight 2w, RFC 5681
// eq. 4, then RFC 6582 step 6 option 2).
NewReno in_congestion_avoidance(uint32_t w) {
  NewReno r = fresh();
  r.on_enter_recovery(2 * w, kMss, kNow);
  r.on_exit_recovery(kMss);
  EXPECT_EQ(r.cwnd(), w);
  EXPECT_EQ(r.ssthresh(), w);
  EXPECT_FALSE(r.in_slow_start());
  return r;
}

// One RTT's worth of ACKs of a full window, `per_ack` bytes each; the sender is cwnd-limited.
void ack_one_window(NewReno& r, uint32_t per_ack) {
  const uint32_t window = r.cwnd();
  for (uint32_t acked = 0; acked < window; acked += per_ack) {
    r.on_ack(per_ack, kMss, r.cwnd(), kNow, kRtt);
  }
}

TEST(NewReno, InitialWindowRfc6928) {
  // IW = min(10*MSS, max(2*MSS, 14600)).
  EXPECT_EQ(fresh(536).cwnd(), 5360u);        // 10*536 = 5360 < 14600
  EXPECT_EQ(fresh(1460).cwnd(), 14600u);      // 10*1460 = 14600
  EXPECT_EQ(fresh(9000).cwnd(), 18000u);      // max(18000, 14600) = 18000 < 90000
  EXPECT_EQ(fresh().ssthresh(), UINT32_MAX);  // RFC 5681 §3.1 "arbitrarily high"
  EXPECT_TRUE(fresh().in_slow_start());
}

TEST(NewReno, SlowStartByteCounting) {
  NewReno r = fresh();
  r.on_ack(kMss, kMss, r.cwnd(), kNow, kRtt);  // +min(N, L) = +1460
  EXPECT_EQ(r.cwnd(), 14600u + 1460);
  r.on_ack(2 * kMss, kMss, r.cwnd(), kNow, kRtt);  // delayed ACK: +2920
  EXPECT_EQ(r.cwnd(), 14600u + 1460 + 2920);
  r.on_ack(5 * kMss, kMss, r.cwnd(), kNow, kRtt);  // stretch ACK: capped at L = 2*SMSS
  EXPECT_EQ(r.cwnd(), 14600u + 1460 + 2920 + 2920);
  r.on_ack(100, kMss, r.cwnd(), kNow, kRtt);  // ABC counts bytes, not ACKs: +100
  EXPECT_EQ(r.cwnd(), 14600u + 1460 + 2920 + 2920 + 100);
}

TEST(NewReno, SlowStartDoublesPerRttWithDelayedAcks) {
  NewReno r = fresh();
  uint32_t expect = 14600;
  for (int rtt = 0; rtt < 5; ++rtt) {
    ack_one_window(r, 2 * kMss);
    expect *= 2;
    EXPECT_EQ(r.cwnd(), expect);
  }
}

TEST(NewReno, SlowStartStopsAtSsthresh) {
  NewReno r = fresh();
  r.on_enter_recovery(40000, kMss, kNow);  // ssthresh 20000
  r.on_rto(40000, kMss, kNow);             // cwnd 1460, ssthresh 20000
  for (int i = 0; i < 40; ++i) {
    r.on_ack(kMss, kMss, r.cwnd(), kNow, kRtt);
  }
  // ACK 13 would take cwnd to 14 * 1460 = 20440 > ssthresh: slow start stops at 20000. The
  // other 27 ACKs (39420 bytes) are congestion avoidance: one SMSS per 20000 bytes ACKed
  // (RFC 3465 §2.1), so exactly one increase.
  EXPECT_EQ(r.cwnd(), 20000u + kMss);
}

TEST(NewReno, NoGrowthWhenApplicationLimited) {
  NewReno r = fresh();
  r.on_ack(kMss, kMss, /*flight_before=*/2 * kMss, kNow, kRtt);  // 2*2920 < cwnd
  EXPECT_EQ(r.cwnd(), 14600u);
  NewReno ca = in_congestion_avoidance(20 * kMss);
  for (int i = 0; i < 100; ++i) {
    ca.on_ack(kMss, kMss, /*flight_before=*/10 * kMss, kNow, kRtt);
  }
  EXPECT_EQ(ca.cwnd(), 20 * kMss);
}

TEST(NewReno, CongestionAvoidanceOneMssPerRtt) {
  // RFC 5681 §3.1: cwnd grows by about one SMSS per RTT; with byte counting exactly one.
  NewReno r = in_congestion_avoidance(20 * kMss);
  for (uint32_t rtt = 1; rtt <= 10; ++rtt) {
    ack_one_window(r, kMss);
    EXPECT_EQ(r.cwnd(), (20 + rtt) * kMss) << rtt;
  }
}

TEST(NewReno, CongestionAvoidanceOneMssPerRttWithDelayedAcks) {
  // Eq. (3) per ACK would give only half an SMSS per RTT here; byte counting gives one.
  NewReno r = in_congestion_avoidance(40 * kMss);
  for (uint32_t rtt = 1; rtt <= 10; ++rtt) {
    ack_one_window(r, 2 * kMss);
    EXPECT_EQ(r.cwnd(), (40 + rtt) * kMss) << rtt;
  }
}

TEST(NewReno, CongestionAvoidanceCarriesRemainder) {
  // RFC 3465 §2.1: "bytes_acked is reduced by the value of cwnd", not cleared. ACKs of 1000
  // bytes never land on a window boundary; ACKing exactly the sum of ten successive windows,
  // 1460 * (20 + 21 + ... + 29) = 357700 bytes, must give exactly ten increases.
  NewReno r = in_congestion_avoidance(20 * kMss);
  for (int i = 0; i < 357; ++i) {
    r.on_ack(1000, kMss, r.cwnd(), kNow, kRtt);
  }
  EXPECT_EQ(r.cwnd(), 29 * kMss);
  r.on_ack(700, kMss, r.cwnd(), kNow, kRtt);
  EXPECT_EQ(r.cwnd(), 30 * kMss);
}

TEST(NewReno, EnterRecoveryHalvesFlight) {
  NewReno r = fresh();
  r.on_enter_recovery(100 * kMss, kMss, kNow);
  EXPECT_EQ(r.ssthresh(), 50 * kMss);         // eq. (4): FlightSize / 2
  EXPECT_EQ(r.cwnd(), 50 * kMss + 3 * kMss);  // RFC 6582 §3.2 step 3
  r.on_dupack(kMss);                          // step 4
  EXPECT_EQ(r.cwnd(), 54 * kMss);
  r.on_partial_ack(2 * kMss, kMss);  // step 5: -2920 + 1460
  EXPECT_EQ(r.cwnd(), 53 * kMss);
  r.on_partial_ack(1000, kMss);  // less than SMSS: no add-back
  EXPECT_EQ(r.cwnd(), 53 * kMss - 1000);
  r.on_exit_recovery(kMss);  // step 6 option (2)
  EXPECT_EQ(r.cwnd(), 50 * kMss);
}

TEST(NewReno, EnterRecoveryFloorIsTwoMss) {
  NewReno r = fresh();
  r.on_enter_recovery(3 * kMss, kMss, kNow);  // 3*1460/2 = 2190 < 2*SMSS
  EXPECT_EQ(r.ssthresh(), 2 * kMss);
  EXPECT_EQ(r.cwnd(), 5 * kMss);
}

TEST(NewReno, SackRecoveryDoesNotInflate) {
  NewReno r = fresh();
  r.on_enter_recovery(60 * kMss, kMss, kNow, RecoveryMode::kSack);
  EXPECT_EQ(r.ssthresh(), 30 * kMss);
  EXPECT_EQ(r.cwnd(), 30 * kMss);  // RFC 6675 §5 (4.2)
}

TEST(NewReno, ExitRecoveryOptionOneLimitsBurst) {
  NewReno r = fresh();
  r.on_enter_recovery(60 * kMss, kMss, kNow);
  r.on_exit_recovery(kMss, /*flight=*/4 * kMss);  // min(30 MSS, 4 MSS + 1 MSS)
  EXPECT_EQ(r.cwnd(), 5 * kMss);
  NewReno q = fresh();
  q.on_enter_recovery(60 * kMss, kMss, kNow);
  q.on_exit_recovery(kMss, /*flight=*/50 * kMss);  // min(30 MSS, 51 MSS)
  EXPECT_EQ(q.cwnd(), 30 * kMss);
}

TEST(NewReno, RtoCollapsesToOneMss) {
  NewReno r = fresh();
  r.on_rto(80 * kMss, kMss, kNow);
  EXPECT_EQ(r.cwnd(), kMss);           // RFC 5681 §3.1 loss window
  EXPECT_EQ(r.ssthresh(), 40 * kMss);  // eq. (4)
  EXPECT_TRUE(r.in_slow_start());
  // Timer fires again for the same data: ssthresh held constant, not max(1460/2, 2*SMSS).
  r.on_rto(kMss, kMss, kNow);
  EXPECT_EQ(r.ssthresh(), 40 * kMss);
  // RFC 3465 §2.3: slow start after an RTO counts at most 1 SMSS per ACK.
  r.on_ack(2 * kMss, kMss, r.cwnd(), kNow, kRtt);
  EXPECT_EQ(r.cwnd(), 2 * kMss);
  // New data was ACKed: a later RTO is a new loss event with a new ssthresh.
  r.on_rto(2 * kMss, kMss, kNow);
  EXPECT_EQ(r.ssthresh(), 2 * kMss);
}

TEST(NewReno, RtoFloorIsTwoMss) {
  NewReno r = fresh();
  r.on_rto(kMss, kMss, kNow);
  EXPECT_EQ(r.ssthresh(), 2 * kMss);
  EXPECT_EQ(r.cwnd(), kMss);
}

TEST(NewReno, IdleRestartWindow) {
  NewReno r = in_congestion_avoidance(40 * kMss);
  const Ticks rto = Ticks::from_ms(300);
  r.on_idle_restart(Ticks::from_ms(300), rto, kMss);  // not more than one RTO: unchanged
  EXPECT_EQ(r.cwnd(), 40 * kMss);
  r.on_idle_restart(Ticks::from_ms(301), rto, kMss);  // RFC 5681 §4.1: min(IW, cwnd)
  EXPECT_EQ(r.cwnd(), 14600u);
  NewReno small = fresh();
  small.on_rto(4 * kMss, kMss, kNow);  // cwnd 1 MSS < IW stays
  small.on_idle_restart(Ticks::from_sec(5), rto, kMss);
  EXPECT_EQ(small.cwnd(), kMss);
}

TEST(NewReno, Size) { EXPECT_LE(sizeof(NewReno), 16u); }

}  // namespace
}  // namespace tempo::tcp::cc
