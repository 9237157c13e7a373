// RACK's state (lib/tcp/rack.h): the send-time marks and their bound, dating deliveries (never
// a retransmission), the reordering window's rules and its D-SACK widening, and loss detection
// over the scoreboard's holes; and the holes below RACK's marking counting as lost in
// for_each_hole / SetPipe (lib/tcp/sack.h). Sequence numbers cross the 2^32 wrap, and so do
// the microsecond times.
#include "tcp/rack.h"

#include <tuple>
#include <vector>

#include <gtest/gtest.h>

namespace tempo::tcp {
namespace {

constexpr uint32_t kBase = 0xfffff000u;
constexpr uint32_t kT0 = 0xfffffc00u;  // microseconds, 1 ms before the wrap
SeqNum at(uint32_t off) { return SeqNum(kBase + off); }
uint32_t us(uint32_t off) { return kT0 + off; }

TEST(SendTimes, OneMarkPerBurstAndTheClosestNeighboursMergeWhenFull) {
  SendTimes st;
  st.on_send(at(0), us(0));
  st.on_send(at(1000), us(0));  // the same burst
  ASSERT_EQ(st.size(), 1u);
  for (uint32_t k = 1; k < SendTimes::kMaxMarks; ++k) {
    st.on_send(at(1000 * (k + 1)), us(k * 100));
  }
  ASSERT_EQ(st.size(), SendTimes::kMaxMarks);
  // Marks at 0, 100, ..., 700 us, full; one more at 750: every neighbouring pair spans 100 us,
  // and the first such pair merges.
  st.on_send(at(9000), us(750));
  ASSERT_EQ(st.size(), SendTimes::kMaxMarks);
  EXPECT_EQ(st[0].start, at(0));
  EXPECT_EQ(st[0].first_us, us(0));
  EXPECT_EQ(st[0].last_us, us(100));  // merged: dated from its first to its last send
  EXPECT_EQ(st[1].start, at(3000));
  EXPECT_EQ(st[SendTimes::kMaxMarks - 1].start, at(9000));
  EXPECT_EQ(st.find(at(2999)), 0u);
  EXPECT_EQ(st.find(at(3000)), 1u);
  EXPECT_EQ(st.find(at(0) - 1), SendTimes::kMaxMarks);  // before every mark
  EXPECT_EQ(st.end(0, at(20000)), at(3000));
  EXPECT_EQ(st.end(SendTimes::kMaxMarks - 1, at(20000)), at(20000));
}

TEST(SendTimes, TrimKeepsTheMarkHoldingSndUna) {
  SendTimes st;
  st.on_send(at(0), us(0));
  st.on_send(at(1000), us(10));
  st.on_send(at(2000), us(20));
  st.trim(at(1500));
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].start, at(1000));
  st.trim(at(5000));
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].start, at(2000));
}

Rack fresh() {
  Rack r;
  r.reset(at(0));
  r.on_rtt_sample(8000);
  return r;
}

// Step 2: the newest delivery sets RACK.xmit_ts and RACK.rtt (a merged mark is dated from its
// first send); a delivery sent earlier does not move them; a retransmitted one is never dated.
TEST(Rack, DeliveriesDateTheNewestSegmentOnly) {
  Rack r = fresh();
  r.sent.on_send(at(0), us(0));
  r.sent.on_send(at(2000), us(500));
  EXPECT_FALSE(r.on_delivered(at(2000), at(3000), at(4000), us(9500)));
  EXPECT_TRUE(r.valid);
  EXPECT_EQ(r.xmit_us, us(500));
  EXPECT_EQ(r.end, at(3000));
  EXPECT_EQ(r.rtt_us, 9000u);
  // An older segment delivered later: RACK stays, but it is reordering (step 3).
  EXPECT_TRUE(r.on_delivered(at(0), at(1000), at(4000), us(9600)));
  EXPECT_EQ(r.xmit_us, us(500));
  EXPECT_TRUE(r.reord);
  EXPECT_FALSE(r.on_delivered(at(1000), at(2000), at(4000), us(9700)));  // reported once
  // Retransmitted octets (below rxt_high) date nothing and show no reordering.
  Rack q = fresh();
  q.sent.on_send(at(0), us(0));
  q.rxt_high = at(2000);
  EXPECT_FALSE(q.on_delivered(at(1000), at(2000), at(4000), us(9000)));
  EXPECT_FALSE(q.valid);
  // A piece straddling rxt_high is dated by its part above.
  EXPECT_FALSE(q.on_delivered(at(1000), at(3000), at(4000), us(9000)));
  EXPECT_TRUE(q.valid);
  EXPECT_EQ(q.end, at(3000));
}

// Step 4: no window while loss is evident and no reordering was seen; else min_RTT / 4 per
// multiple, at most SRTT; a D-SACK widens it once per round trip, for 16 recoveries.
TEST(Rack, ReorderingWindow) {
  Rack r = fresh();
  EXPECT_EQ(r.reo_wnd_us(false, 2, 20000), 2000u);
  EXPECT_EQ(r.reo_wnd_us(false, 3, 20000), 0u);    // DupThresh SACKed
  EXPECT_EQ(r.reo_wnd_us(true, 1, 20000), 0u);     // in recovery
  EXPECT_EQ(r.reo_wnd_us(false, 2, 1500), 1500u);  // at most SRTT
  r.reord = true;
  EXPECT_EQ(r.reo_wnd_us(true, 5, 20000), 2000u);
  r.on_ack_dsack(true, at(0), at(10000));
  EXPECT_EQ(r.reo_wnd_mult, 2u);
  r.on_ack_dsack(true, at(5000), at(12000));  // the same round trip: once
  EXPECT_EQ(r.reo_wnd_mult, 2u);
  r.on_ack_dsack(true, at(10000), at(12000));  // SND.UNA passed the round's end
  EXPECT_EQ(r.reo_wnd_mult, 3u);
  EXPECT_EQ(r.reo_wnd_us(false, 0, 20000), 6000u);
  for (int i = 0; i < 15; ++i) {
    r.on_recovery_end();
  }
  EXPECT_EQ(r.reo_wnd_mult, 3u);
  r.on_recovery_end();
  EXPECT_EQ(r.reo_wnd_mult, 1u);
  Rack none;  // no RTT sample yet: no window to give
  EXPECT_EQ(none.reo_wnd_us(false, 0, 20000), 0u);
}

// Step 5 over holes: lost from the lowest, in time order, only below the newest delivery, and
// only once RACK.rtt + reo_wnd passed; the wait for the first that is not yet lost.
TEST(Rack, DetectLossMarksTheOldestAndWaitsForTheRest) {
  Rack r = fresh();
  r.sent.on_send(at(0), us(0));       // [0, 2000) at 0
  r.sent.on_send(at(2000), us(300));  // [2000, 4000) at 300
  r.sent.on_send(at(4000), us(900));  // [4000, 6000) at 900
  SackScoreboard sb;
  sb.add(at(3000), at(4000));  // delivered: sent at 300
  ASSERT_FALSE(r.on_delivered(at(3000), at(4000), at(6000), us(8300)));
  ASSERT_EQ(r.rtt_us, 8000u);
  // At 8300 with reo_wnd 2000: [0, 2000) missing 8300 us < 10000: wait 1700.
  EXPECT_EQ(r.detect_loss(sb, at(0), at(6000), 1000, 2000, us(8300)), 1700u);
  EXPECT_EQ(r.lost_below(at(0)), at(0));
  // At 10000: [0, 2000) lost; [2000, 3000) (sent at 300, with the delivery) waits 300 more.
  EXPECT_EQ(r.detect_loss(sb, at(0), at(6000), 1000, 2000, us(10000)), 300u);
  EXPECT_EQ(r.lost_below(at(0)), at(2000));
  // At 10300 it is lost too; [4000, 6000), sent after the delivery, never by this delivery.
  EXPECT_EQ(r.detect_loss(sb, at(0), at(6000), 1000, 2000, us(10300)), 0u);
  EXPECT_EQ(r.lost_below(at(0)), at(3000));
  // The marking counts in SetPipe: [0, 3000) lost, [4000, 6000) in flight; HighRxt = 1000.
  EXPECT_EQ(sack_pipe(sb, at(0), at(6000), 1000, at(1000), r.lost_below(at(0))), 3000u);
  // SND.UNA passes the marking: it ends.
  r.follow(at(4000));
  EXPECT_EQ(r.lost_below(at(4000)), at(4000));
  EXPECT_FALSE(r.marked);
}

// A tie in time goes by sequence (RACK_sent_after): octets of the delivery's burst above its
// end are sent after it.
TEST(Rack, SameBurstAboveTheDeliveryIsNotLost) {
  Rack r = fresh();
  r.sent.on_send(at(0), us(0));
  SackScoreboard sb;
  sb.add(at(1000), at(2000));
  sb.add(at(3000), at(4000));
  r.on_delivered(at(1000), at(2000), at(5000), us(8000));
  EXPECT_EQ(r.detect_loss(sb, at(0), at(5000), 1000, 0, us(8000)), 0u);
  EXPECT_EQ(r.lost_below(at(0)), at(1000));  // [2000, 3000) is above RACK.end_seq
}

TEST(ForEachHole, AHoleStraddlingTheMarkingIsTwoTheLowerLost) {
  SackScoreboard sb;
  sb.add(at(4000), at(5000));
  std::vector<std::tuple<uint32_t, uint32_t, bool>> got;
  for_each_hole(sb, at(0), at(6000), 1000, at(2500), [&](const SackHole& h) {
    got.emplace_back(h.start.raw() - kBase, h.end.raw() - kBase, h.lost);
    return true;
  });
  const std::vector<std::tuple<uint32_t, uint32_t, bool>> want{
      {0, 2500, true}, {2500, 4000, false}, {5000, 6000, false}};
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace tempo::tcp
