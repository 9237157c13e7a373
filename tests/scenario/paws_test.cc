// RFC 7323 timestamps: TSval/TSecr on every segment (§3.2), TS.Recent update rule (§4.3) and
// PAWS (§5.3), tested on both sides of each threshold, across the 2^32 wrap.
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class Paws : public Scenario {
 protected:
  // Established with timestamps: our clock (ms) = now.ms() + 0; the peer's TSval starts at t0.
  void established_ts(uint32_t t0) {
    cfg.timestamps = true;
    tcp::connect(tcb, cfg, SeqNum(kIss), 0, now, sink);
    in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(10000).mss(1000).ts(t0, 100000));
    out();
    events();
  }
  uint32_t our_ts() const { return static_cast<uint32_t>(now.ms()); }
};

TEST_F(Paws, Rfc7323_3_2_EverySegmentCarriesTimestamps) {
  established_ts(500);
  at_ms(100010);
  send_str("hi");
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kPsh).win(W).ts(100010, 500).data("hi")}));
}

TEST_F(Paws, Rfc7323_5_3_OlderTsvalDroppedWithAck) {
  established_ts(500);
  in(S().seq(P).ack(L).win(100).ts(499, 100000).data("old"));
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(ctr().paws_drops, 1u);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W).ts(our_ts(), 500)}));
}

TEST_F(Paws, Rfc7323_5_3_EqualTsvalAccepted) {
  established_ts(500);
  in(S().seq(P).ack(L).win(100).ts(500, 100000).data("same"));
  EXPECT_EQ(events(), V{"data:same"});
  EXPECT_EQ(ctr().paws_drops, 0u);
}

TEST_F(Paws, Rfc7323_5_2_ComparisonIsModular) {
  established_ts(0xFFFFFFF0u);
  in(S().seq(P).ack(L).win(100).ts(0x00000010u, 100000).data("wrapped"));
  EXPECT_EQ(events(), V{"data:wrapped"});
  EXPECT_EQ(tcb.ts_recent, TsVal(0x10u));
  in(S().seq(P + 7).ack(L).win(100).ts(0xFFFFFFF8u, 100000).data("older"));
  EXPECT_EQ(ctr().paws_drops, 1u);
}

TEST_F(Paws, Rfc7323_5_3_RstIsNotSubjectToPaws) {
  established_ts(500);
  in(S().seq(P).flags(kRst).ts(1, 0));
  EXPECT_EQ(events(), V{"closed:reset"});
}

TEST_F(Paws, Rfc7323_5_5_IdleOver24DaysInvalidatesTsRecent) {
  established_ts(500);
  now = now + Ticks::from_sec(24ull * 24 * 3600) - Ticks::from_ms(1);
  in(S().seq(P).ack(L).win(100).ts(400, 100000).data("a"));
  EXPECT_EQ(ctr().paws_drops, 1u);  // one ms short of 24 days: still PAWS
  now = now + Ticks::from_ms(2);
  in(S().seq(P).ack(L).win(100).ts(400, 100000).data("b"));
  EXPECT_EQ(ctr().paws_drops, 1u);
  EXPECT_EQ(events(), V{"data:b"});
  EXPECT_EQ(tcb.ts_recent, TsVal(400));
}

TEST_F(Paws, Rfc7323_4_3_TsRecentOnlyFromSegmentCoveringLastAckSent) {
  established_ts(500);
  // Out of order (SEG.SEQ > Last.ACK.sent): its TSval must not advance TS.Recent.
  in(S().seq(P + 10).ack(L).win(100).ts(900, 100000).data("later"));
  EXPECT_EQ(tcb.ts_recent, TsVal(500));
  in(S().seq(P).ack(L).win(100).ts(600, 100000).data("0123456789"));
  EXPECT_EQ(tcb.ts_recent, TsVal(600));
}

// A segment whose ACK is for data never sent (SEG.ACK > SND.NXT, RFC 5961 §5.2) is dropped with
// an ACK; its TSval must not become TS.Recent (Linux: FLAG_UPDATE_TS_RECENT). Before the fix
// the ACK echoed 9000 and the peer's next segment, TSval 700, was dropped by PAWS: a stall.
TEST_F(Paws, Rfc7323_4_3_NoTsRecentFromSegmentWithUnsentAck) {
  established_ts(500);
  in(S().seq(P).ack(L + 1000).win(100).ts(9000, 100000));
  EXPECT_EQ(ctr().drop_ack_unsent, 1u);
  EXPECT_EQ(tcb.ts_recent, TsVal(500));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W).ts(our_ts(), 500)}));
  in(S().seq(P).ack(L).win(100).ts(700, 100000).data("next"));
  EXPECT_EQ(ctr().paws_drops, 0u);
  EXPECT_EQ(events(), V{"data:next"});
  EXPECT_EQ(tcb.ts_recent, TsVal(700));
}

// RFC 5961 §5.2: an ACK older than SND.UNA - MAX.SND.WND is dropped; TS.Recent stays.
TEST_F(Paws, Rfc7323_4_3_NoTsRecentFromSegmentWithTooOldAck) {
  established_ts(500);
  in(S().seq(P).ack(L - 0x40000000u).win(100).ts(9000, 100000));
  EXPECT_EQ(ctr().drop_ack_too_old, 1u);
  EXPECT_EQ(tcb.ts_recent, TsVal(500));
}

TEST_F(Paws, Rfc7323_TimeWaitHandOffCarriesTimestampState) {
  cfg.timestamps = true;
  tcb.ts_offset = 0;
  tcp::connect(tcb, cfg, SeqNum(kIss), 4242, now, sink);
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(10000).ts(777, 100000 + 4242));
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  at_ms(100300);
  in(S().seq(P).ack(L + 1).flags(kFin).win(100).ts(800, 100000 + 4242));
  ASSERT_TRUE(sink.tw.has_value());
  EXPECT_TRUE(sink.tw->timestamps);
  EXPECT_EQ(sink.tw->ts_recent, 800u);
  EXPECT_EQ(sink.tw->ts_recent_age, Ticks::from_ms(100300));
  EXPECT_EQ(sink.tw->ts_offset, 4242u);
}

}  // namespace
}  // namespace tempo::tcp::test
