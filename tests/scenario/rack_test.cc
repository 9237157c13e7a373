// RFC 8985 §6 RACK, time-based loss detection: a segment is lost once a segment sent after it
// was delivered and it is still missing RACK.rtt + reo_wnd after it was sent; until then the
// reorder timer (§6.3) waits for it. Each threshold from both sides, as packetdrill's files do.
//
// Every test has SACK negotiated and an RTT of 10 ms measured on the handshake (RACK.min_RTT
// 10 ms, so reo_wnd = min_RTT / 4 = 2.5 ms while no reordering was seen and fewer than
// DupThresh segments are SACKed), then five 1000-byte segments sent at t0, [L, L+5000),
// segment k holding 1000 copies of the letter 'a'+k-1.
#include "sack_flight.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class Rack : public SackFlight {
 protected:
  void connect() {
    SackFlight::connect();
    ASSERT_EQ(tcb.rack.min_rtt_us, 10000u);
  }
};

// §6.2: segment 2 SACKed 10 ms after it left (RACK.rtt 10 ms); segment 1, sent no later, is
// missing but only lost 10 + 2.5 ms after it left. One segment SACKed is no loss for DupThresh
// (RFC 6675), so before RACK nothing went until the RTO. The reorder timer is armed for it.
TEST_F(Rack, Rfc8985_6_2_ReorderTimerArmedForRttPlusReoWnd) {
  five_in_flight();
  now = t0 + Ticks::from_ms(10);
  in(sk(ack(0), 1000, 2000));
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_TRUE(tcb.reo_timer);
  EXPECT_EQ(rxt_timer(), t0 + Ticks::from_us(12500));
  EXPECT_EQ(tcb.rack.rtt_us, 10000u);
}

// Just before the deadline a second SACK (segment 3, still fewer than DupThresh) finds segment
// 1 not yet lost; segment 3 left after segment 2 (same time, higher sequence: RACK_sent_after),
// so RACK.rtt is now its 12.4 ms and the deadline moves with it. At the deadline the timer
// fires: segment 1 is lost, recovery starts with its retransmission.
TEST_F(Rack, Rfc8985_6_3_LostAtTheDeadlineNotBefore) {
  five_in_flight();
  now = t0 + Ticks::from_ms(10);
  in(sk(ack(0), 1000, 2000));
  now = t0 + Ticks::from_us(12400);
  in(sk(ack(0), 1000, 3000));
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(tcb.rack.rtt_us, 12400u);
  EXPECT_EQ(rxt_timer(), t0 + Ticks::from_us(14900));
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(now, t0 + Ticks::from_us(14900));
  EXPECT_EQ(out(), V{rxt(1)});
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(ctr().rack_reo_timeouts, 1u);
  EXPECT_EQ(ctr().rack_loss_detected, 1u);
  EXPECT_EQ(ctr().rto_expired, 0u);
  EXPECT_EQ(ctr().tlp_probes, 0u);
  // The retransmission arrives: recovery ends at RecoveryPoint with nothing sent twice.
  in(ack(5000));
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(ctr().retransmits, 1u);
}

// §6.2: a SACK of a segment sent later than the missing one by more than reo_wnd: the missing
// one is lost at once, on the first SACK (no timer, no DupThresh). Segment 1 left at t0,
// segments 2-3 at t0 + 5 ms; segment 3 SACKed at t0 + 15 ms (RACK.rtt 10 ms): segment 1 has
// been missing 15 ms > 12.5 ms.
TEST_F(Rack, Rfc8985_6_2_OlderSegmentLostOnTheFirstSack) {
  connect();
  t0 = now;
  send_str(payload(1));
  ASSERT_EQ(out().size(), 1u);
  now = t0 + Ticks::from_ms(5);
  send_str(payload(2) + payload(3));
  ASSERT_EQ(out().size(), 2u);
  now = t0 + Ticks::from_ms(15);
  in(sk(ack(0), 2000, 3000));
  EXPECT_EQ(out(), V{rxt(1)});
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(ctr().rack_loss_detected, 1u);
  EXPECT_EQ(ctr().fast_retransmits, 1u);
  // Segment 2, sent with segment 3, is not lost: it may still come (2.5 ms of reordering).
  EXPECT_TRUE(tcb.reo_timer);
  EXPECT_EQ(rxt_timer(), t0 + Ticks::from_us(17500));
}

// The other side: the later burst left only 1 ms after segment 1, and its SACK 10 ms later
// (RACK.rtt 10 ms) finds segment 1 missing 11 ms, less than 12.5: the timer waits 1.5 ms more.
TEST_F(Rack, Rfc8985_6_2_SegmentSentJustBeforeIsNotYetLost) {
  connect();
  t0 = now;
  send_str(payload(1));
  ASSERT_EQ(out().size(), 1u);
  now = t0 + Ticks::from_ms(1);
  send_str(payload(2) + payload(3));
  ASSERT_EQ(out().size(), 2u);
  now = t0 + Ticks::from_ms(11);
  in(sk(ack(0), 2000, 3000));
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(rxt_timer(), t0 + Ticks::from_us(12500));
}

// §6.2 step 3: segment 1 arrives after segment 2 was SACKed: reordering, no loss. The timer
// runs as the retransmission timer again, and from now on reo_wnd applies even where DupThresh
// segments are SACKed (RACK_reo_wnd(): RACK.reord).
TEST_F(Rack, Rfc8985_6_2_ReorderingIsNoLossAndIsRemembered) {
  five_in_flight();
  now = t0 + Ticks::from_ms(10);
  in(sk(ack(0), 1000, 2000));
  ASSERT_TRUE(tcb.reo_timer);
  now = t0 + Ticks::from_ms(11);
  in(ack(2000));
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_FALSE(tcb.reo_timer);
  EXPECT_TRUE(tcb.rack.reord);
  EXPECT_EQ(ctr().rack_reordering, 1u);
  EXPECT_EQ(tcb.rack.reo_wnd_us(/*in_recovery=*/true, 3, 10000), 2500u);
  EXPECT_EQ(ctr().retransmits, 0u);
}

// §6.2 step 2: a retransmitted segment's delivery dates nothing (which copy arrived is
// ambiguous): after the tail loss probe retransmitted segment 5, its SACK does not make RACK
// call segments 1-4 lost (the probe's own rule does, tlp_test.cc); RACK.xmit_ts is unset.
TEST_F(Rack, Rfc8985_6_2_RetransmittedSegmentDatesNothing) {
  five_in_flight();
  fire(TimerKind::kRetransmit);  // the PTO: segment 5 again
  ASSERT_EQ(out(), V{rxt(5)});
  now = now + Ticks::from_ms(10);
  in(sk(ack(0), 4000, 5000));
  EXPECT_FALSE(tcb.rack.valid);
}

// Without SACK there is no RACK (it reads losses from SACK): the RTO as before.
TEST_F(Rack, Rfc8985_NoRackWithoutSack) {
  cfg.sack = false;
  syn_sent();
  now = now + Ticks::from_ms(10);
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(kPeerWin).mss(1000));
  out();
  send_str(payload(1) + payload(2));
  ASSERT_EQ(out().size(), 2u);
  now = now + Ticks::from_ms(20);
  in(ack(0));
  EXPECT_FALSE(tcb.reo_timer);
  EXPECT_EQ(out(), V{});
}

// tcp.rack: false leaves DupThresh and the RTO (Linux net.ipv4.tcp_recovery = 0).
TEST_F(Rack, ConfigOffLeavesDupThresh) {
  cfg.rack = false;
  five_in_flight();
  now = t0 + Ticks::from_ms(10);
  in(sk(ack(0), 1000, 2000));
  EXPECT_FALSE(tcb.reo_timer);
  now = t0 + Ticks::from_ms(50);
  in(sk(ack(0), 1000, 3000));
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
}

}  // namespace
}  // namespace tempo::tcp::test
