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

}  // namespace
}  // namespace tempo::tcp::test
