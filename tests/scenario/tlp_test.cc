// RFC 8985 §7 tail loss probe (TLP), the loss it reveals (§6.2 applied to the probe, §7.4.1),
// the congestion response to a repaired loss (§7.4.2), and the D-SACK (RFC 2883) that tells a
// needless probe from a repair.
//
// Every test has SACK negotiated and an RTT sample of 10 ms (SRTT 10 ms, RTTVAR 5 ms, so the
// RTO is tcp.min_rto_ms, 200 ms), then five 1000-byte segments in flight, [L, L+5000),
// segment k holding 1000 copies of the letter 'a'+k-1. PTO = 2·SRTT + 2 ms = 22 ms.
#include "sack_flight.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class Tlp : public SackFlight {};

// §7.2: with SACK and an RTT sample, the retransmission timer runs as the PTO, 2·SRTT + 2 ms
// after the data left; without SACK (as Linux) it is the RTO.
TEST_F(Tlp, Rfc8985_7_2_PtoArmedAtTwoSrttWithSack) {
  five_in_flight();
  EXPECT_TRUE(tcb.tlp_timer);
  EXPECT_EQ(rxt_timer(), t0 + Ticks::from_ms(22));
  // An ACK restarts it from its own time, with the SRTT it updated (a sample of 5 ms: 9.375).
  now = now + Ticks::from_ms(5);
  in(ack(1000));
  EXPECT_TRUE(tcb.tlp_timer);
  EXPECT_EQ(rxt_timer(), now + tcb.rtt.srtt() + tcb.rtt.srtt() + Ticks::from_ms(2));
}

TEST_F(Tlp, Rfc8985_7_2_NoPtoWithoutSack) {
  five_in_flight(/*sack=*/false);
  EXPECT_FALSE(tcb.tlp_timer);
  EXPECT_EQ(rxt_timer(), t0 + Ticks::from_ms(200));
}

// §7.2: one segment in flight adds the peer's worst delayed ACK (tcp.min_rto_ms, as Linux), so
// the PTO would come after the RTO; "the sender schedules a TLP to be sent at that RTO time". The
// probe goes then (no RTO: cwnd kept, the timer not backed off), and only if it too is lost does
// the RTO follow, rto later. Two segments: the PTO, 2·SRTT + 2 ms.
TEST_F(Tlp, Rfc8985_7_2_OneSegmentInFlightProbesAtTheRtoTime) {
  five_in_flight();
  in(ack(4000));
  EXPECT_TRUE(tcb.tlp_timer);
  EXPECT_EQ(rxt_timer(), now + Ticks::from_ms(200));
  const uint32_t cwnd = tcb.cc.cwnd();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out(), V{rxt(5)});
  EXPECT_EQ(ctr().tlp_probes, 1u);
  EXPECT_EQ(ctr().rto_expired, 0u);
  EXPECT_EQ(tcb.cc.cwnd(), cwnd);
  EXPECT_FALSE(tcb.tlp_timer);
  EXPECT_EQ(rxt_timer(), now + Ticks::from_ms(200));
  fire(TimerKind::kRetransmit);  // the probe was lost too: now the RTO, from SND.UNA
  const V o = out();
  ASSERT_EQ(o.size(), 1u);
  EXPECT_NE(o[0].find("seq=5001 "), std::string::npos) << o[0];
  EXPECT_EQ(ctr().rto_expired, 1u);
  tcb = Tcb<TestBuf>{};
  sink = RecordingSink{};
  five_in_flight();
  in(ack(3000));
  EXPECT_TRUE(tcb.tlp_timer);
  EXPECT_LT(rxt_timer(), now + Ticks::from_ms(22));
}

// §7.3: the PTO fires with nothing new to send: the last segment goes again, the RTO is armed
// (not a second PTO), and the ACK that covers it ends the episode with no RTO at all.
TEST_F(Tlp, Rfc8985_7_3_ProbeRetransmitsTheLastSegmentThenRto) {
  five_in_flight();
  in(ack(3000));  // segments 4 and 5 lost
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out(), V{rxt(5)});
  EXPECT_EQ(ctr().tlp_probes, 1u);
  EXPECT_EQ(ctr().rto_expired, 0u);
  EXPECT_TRUE(tcb.tlp_out);
  EXPECT_FALSE(tcb.tlp_timer);
  EXPECT_EQ(rxt_timer(), now + Ticks::from_ms(200));
  // §6.2 on the probe: it arrived (SACKed) while segment 4, sent before it, did not: lost.
  in(sk(ack(3000), 4000, 5000));
  EXPECT_EQ(out(), V{rxt(4)});
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(ctr().tlp_loss_detected, 1u);
  in(ack(5000));
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_FALSE(timer(TimerKind::kRetransmit).has_value());
  EXPECT_EQ(ctr().rto_expired, 0u);
}

// The other side of §6.2: the probe SACKed with nothing missing below it but what the ACK
// covers is no loss (the ACK reached TLP.end_seq): no recovery.
TEST_F(Tlp, Rfc8985_7_4_ProbeAckedWholeStartsNoRecovery) {
  five_in_flight();
  in(ack(3000));
  fire(TimerKind::kRetransmit);
  out();
  in(ack(5000));  // the probe repaired segment 5 alone (segment 4 had arrived)
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(ctr().tlp_loss_detected, 0u);
  EXPECT_EQ(ctr().fast_retransmits, 0u);
}

// §7.3: with new data queued (here held back by cwnd), the probe sends one new segment instead;
// cwnd does not apply to it.
TEST_F(Tlp, Rfc8985_7_3_ProbeSendsNewDataWhenThereIsSome) {
  connect();
  std::string d;
  for (int k = 1; k <= 12; ++k) d += std::string(1000, 'x');
  send_str(d);
  ASSERT_EQ(out().size(), 10u);  // IW = 10 segments
  fire(TimerKind::kRetransmit);
  const V o = out();
  ASSERT_EQ(o.size(), 1u);
  EXPECT_NE(o[0].find("seq=11001 "), std::string::npos) << o[0];
  EXPECT_EQ(ctr().tlp_new_data, 1u);
  EXPECT_FALSE(tcb.tlp_retrans);
}

// §7.4.2: a retransmitted probe, answered by an ACK at TLP.end_seq and then one beyond it,
// without a D-SACK, repaired a loss: cwnd is reduced once.
TEST_F(Tlp, Rfc8985_7_4_2_RepairedLossReducesCwnd) {
  five_in_flight();
  in(ack(3000));
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out(), V{rxt(5)});
  const uint32_t cwnd = tcb.cc.cwnd();
  in(ack(5000));                        // segment 4 had arrived, the probe repaired 5
  EXPECT_EQ(ctr().tlp_recoveries, 0u);  // at TLP.end_seq: not yet known (a D-SACK may follow)
  EXPECT_TRUE(tcb.tlp_out);
  send_str(payload(6));
  out();
  in(ack(6000));
  EXPECT_EQ(ctr().tlp_recoveries, 1u);
  EXPECT_LT(tcb.cc.cwnd(), cwnd);
  EXPECT_FALSE(tcb.tlp_out);
}

// §7.4.2 with RFC 2883: the peer reports the probe as a duplicate (D-SACK): no loss, no
// reduction.
TEST_F(Tlp, Rfc8985_7_4_2_DsackedProbeIsSpurious) {
  five_in_flight();
  in(ack(3000));
  fire(TimerKind::kRetransmit);
  out();
  in(ack(5000));
  in(sk(ack(5000), 4000, 5000));  // the probe arrived after the original: D-SACK
  EXPECT_EQ(ctr().tlp_spurious, 1u);
  EXPECT_EQ(ctr().tlp_recoveries, 0u);
  EXPECT_FALSE(tcb.tlp_out);
}

// RFC 2883 §4: a segment that arrives again below RCV.NXT is reported in the first SACK block of
// the ACK that answers it, once.
TEST_F(Tlp, Rfc2883_4_DuplicateSegmentIsDsacked) {
  connect();
  in(S().seq(P).ack(L).win(kPeerWin).data("abcd"));
  out();
  in(S().seq(P).ack(L).win(kPeerWin).data("abcd"));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 4).win(W - 4).sack(P, P + 4)}));
  in(S().seq(P + 4).ack(L).win(kPeerWin).data("ef"));
  tcp::on_timer(tcb, TimerKind::kDelayedAck, now + Ticks::from_ms(40), sink);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 6).win(W - 6)}));  // no block the second time
}

}  // namespace
}  // namespace tempo::tcp::test
