// Fast retransmit (RFC 5681 §3.2) and NewReno fast recovery (RFC 6582), with the NewReno
// controller from lib/tcp/cc.
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class Recovery : public Scenario {
 protected:
  // The expected ssthresh and cwnd are NewReno's (RFC 5681, RFC 6582); the default controller
  // is CUBIC (tcp.congestion), whose multiplicative decrease is 0.7, not 0.5.
  Recovery() { cfg.cc = cc::Algorithm::kNewReno; }

  // Five 1000-byte segments in flight: [L, L+5000).
  void five_in_flight() {
    established_active(/*peer_win=*/60000);
    send_str(std::string(5000, 'd'));
    ASSERT_EQ(out().size(), 5u);
  }
  void dupack() { in(S().seq(P).ack(L).win(60000)); }
};

TEST_F(Recovery, Rfc5681_3_2_ThirdDupAckRetransmits) {
  five_in_flight();
  dupack();
  dupack();
  EXPECT_EQ(out(), V{});
  dupack();
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W).data(std::string(1000, 'd'))}));
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(tcb.recover, SeqNum(L + 5000));
  EXPECT_EQ(ctr().fast_retransmits, 1u);
  EXPECT_EQ(ctr().dup_acks, 3u);
  EXPECT_EQ(tcb.cc.ssthresh(), 2500u);  // RFC 5681 (4): FlightSize / 2
}

TEST_F(Recovery, Rfc5681_2_AckWithDataOrWindowChangeIsNotDuplicate) {
  five_in_flight();
  in(S().seq(P).ack(L).win(60000).data("x"));
  in(S().seq(P + 1).ack(L).win(50000));
  in(S().seq(P + 1).ack(L).win(40000));
  EXPECT_EQ(ctr().dup_acks, 0u);
}

TEST_F(Recovery, Rfc6582_3_2_PartialAckRetransmitsNextHole) {
  five_in_flight();
  dupack();
  dupack();
  dupack();
  out();
  in(S().seq(P).ack(L + 2000).win(60000));  // partial: below recover
  auto o = out();
  ASSERT_GE(o.size(), 1u);
  EXPECT_EQ(o[0], S().seq(L + 2000).ack(P).win(W).data(std::string(1000, 'd')).str());
  EXPECT_TRUE(tcb.in_recovery);
  in(S().seq(P).ack(L + 5000).win(60000));  // full
  EXPECT_FALSE(tcb.in_recovery);
}

TEST_F(Recovery, Rfc6582_4_NoSecondRecoveryForTheSameWindow) {
  five_in_flight();
  fire(TimerKind::kRetransmit);  // RTO: recover = snd_max
  out();
  dupack();
  dupack();
  dupack();
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(ctr().fast_retransmits, 0u);
}

// RFC 3042 Limited Transmit, with 5,000 bytes queued behind a full cwnd of ten 1000-byte
// segments and the peer's window open: the first and the second duplicate ACK each send one
// segment of new data beyond cwnd; the third retransmits, and ssthresh is half the FlightSize
// before Limited Transmit (RFC 5681 §3.2 step 2), not of what it added.
class LimitedTransmit : public Recovery {
 protected:
  void cwnd_full(uint16_t peer_win = 60000) {
    established_active(peer_win);
    send_str(std::string(15000, 'd'));
    ASSERT_EQ(out().size(), 10u);
    ASSERT_EQ(tcb.cc.cwnd(), 10000u);
  }
  std::string seg_at(uint32_t off) {
    return S().seq(L + off).ack(P).win(W).data(std::string(1000, 'd')).str();
  }
};

TEST_F(LimitedTransmit, Rfc3042_2_FirstAndSecondDupAckSendNewData) {
  cwnd_full();
  dupack();
  EXPECT_EQ(out(), V{seg_at(10000)});
  dupack();
  EXPECT_EQ(out(), V{seg_at(11000)});
  EXPECT_EQ(tcb.cc.cwnd(), 10000u);  // cwnd is not changed
  EXPECT_EQ(ctr().limited_transmits, 2u);
  dupack();
  EXPECT_EQ(out(), V{seg_at(0)});  // fast retransmit, nothing new
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(tcb.cc.ssthresh(), 5000u);  // 10,000 / 2: the two new segments left out
  EXPECT_EQ(ctr().limited_transmits, 2u);
}

// Without it (the threshold's other side): no duplicate ACK, nothing beyond cwnd; and a new
// ACK ends it (the count starts over).
TEST_F(LimitedTransmit, Rfc3042_2_NothingBeyondCwndWithoutDupAcks) {
  cwnd_full();
  in(S().seq(P).ack(L).win(50000));  // the window moved: not a duplicate (RFC 5681 §2)
  EXPECT_EQ(out(), V{});
  in(S().seq(P).ack(L).win(50000));
  EXPECT_EQ(out(), V{seg_at(10000)});
  in(S().seq(P).ack(L + 1000).win(50000));  // new data acknowledged: dupacks 0
  const V o = out();
  // The ACK's slow-start growth sends; Limited Transmit adds nothing more.
  EXPECT_EQ(ctr().limited_transmits, 1u);
  EXPECT_EQ(tcb.lt_bytes, 0u);
  EXPECT_FALSE(o.empty());
}

// The peer's window still applies: with it full, the duplicate ACKs send nothing.
TEST_F(LimitedTransmit, Rfc3042_2_ReceiverWindowStillLimits) {
  cwnd_full(/*peer_win=*/10000);
  in(S().seq(P).ack(L).win(10000));
  in(S().seq(P).ack(L).win(10000));
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(ctr().dup_acks, 2u);
  EXPECT_EQ(ctr().limited_transmits, 0u);
}

// With SACK (RFC 6675 §5 step (1)): the duplicate ACKs that SACK new data send new data too.
TEST_F(LimitedTransmit, Rfc6675_5_1_SackDupAcksSendNewData) {
  cfg.sack = true;
  cfg.rack = false;  // at one instant RACK sees an RTT of zero (rack_test.cc)
  syn_sent();
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(60000).mss(1000).sack_perm());
  out();
  events();
  send_str(std::string(15000, 'd'));
  ASSERT_EQ(out().size(), 10u);
  in(S().seq(P).ack(L).win(60000).sack(L + 1000, L + 2000));
  EXPECT_EQ(out(), V{seg_at(10000)});
  in(S().seq(P).ack(L).win(60000).sack(L + 1000, L + 3000));
  EXPECT_EQ(out(), V{seg_at(11000)});
  EXPECT_EQ(ctr().limited_transmits, 2u);
  EXPECT_FALSE(tcb.in_recovery);
}

}  // namespace
}  // namespace tempo::tcp::test
