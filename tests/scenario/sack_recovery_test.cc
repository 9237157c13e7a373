// SACK processing (RFC 2018 §4-5, §8; RFC 2883 §4) and SACK-based loss recovery (RFC 6675 §4-5),
// with the NewReno controller from lib/tcp/cc in RecoveryMode::kSack.
//
// Every test starts from ten 1000-byte segments in flight, [L, L+10000), segment k holding
// 1000 copies of the letter 'a'+k-1, cwnd = IW = 10 * SMSS (RFC 6928), SACK negotiated.
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class SackRecovery : public Scenario {
 protected:
  // The expected ssthresh, cwnd and pipe are NewReno's (RFC 5681, RFC 6675); the default
  // controller is CUBIC (tcp.congestion), whose multiplicative decrease is 0.7, not 0.5.
  // RACK (RFC 8985, tcp.rack) is off: these are RFC 6675's thresholds, met at one instant, where
  // RACK would see an RTT of zero and call every hole lost at once. rack_test.cc has RACK.
  SackRecovery() {
    cfg.cc = cc::Algorithm::kNewReno;
    cfg.rack = false;
  }

  static constexpr uint16_t kPeerWin = 60000;

  void ten_in_flight() {
    cfg.sack = true;
    syn_sent();
    in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(kPeerWin).mss(1000).sack_perm());
    out();
    events();
    ASSERT_TRUE(tcb.sack_ok);
    std::string d;
    for (int k = 1; k <= 10; ++k) d += payload(k);
    send_str(d);
    ASSERT_EQ(out().size(), 10u);
  }
  static std::string payload(int k) { return std::string(1000, static_cast<char>('a' + k - 1)); }
  // The peer's ACK of [L, L+a), SACK blocks added by the caller (offsets from L via sk()).
  static S ack(uint32_t a) { return S().seq(P).ack(L + a).win(kPeerWin); }
  static S sk(S s, uint32_t l, uint32_t r) { return s.sack(L + l, L + r); }
  // Segment k retransmitted: ACK only (no PSH), as retransmit_range sends it.
  static S rxt(int k) {
    return S().seq(L + static_cast<uint32_t>(k - 1) * 1000).ack(P).win(W).data(payload(k));
  }
  uint32_t pipe() const {
    return sack_pipe(tcb.sacked, tcb.snd_una, tcb.snd_max, tcb.snd_mss,
                     max(tcb.high_rxt, tcb.snd_una));
  }
  std::vector<std::pair<uint32_t, uint32_t>> board() const {
    std::vector<std::pair<uint32_t, uint32_t>> v;
    for (uint8_t i = 0; i < tcb.sacked.size(); ++i) {
      v.emplace_back(tcb.sacked[i].left.raw() - L, tcb.sacked[i].right.raw() - L);
    }
    return v;
  }
  using Board = std::vector<std::pair<uint32_t, uint32_t>>;
};

// Segments 2, 4 and 6 of 10 are lost. The third duplicate ACK starts recovery (cwnd = ssthresh
// = FlightSize/2 = 4500) and retransmits segment 2; segments 4 and 6 go out, in order, once
// IsLost() holds for them and pipe leaves room; each hole is sent once; the ACK of
// RecoveryPoint ends recovery with the cwnd the controller sets (RFC 6582 §3.2 step 6 (1):
// min(ssthresh, max(FlightSize, SMSS) + SMSS) = 2000).
TEST_F(SackRecovery, Rfc6675_5_ThreeHolesEachRetransmittedOnceInOrder) {
  ten_in_flight();
  in(ack(1000));  // segment 1
  EXPECT_EQ(out(), V{});
  in(sk(ack(1000), 2000, 3000));                  // segment 3: duplicate ACK 1
  in(sk(sk(ack(1000), 4000, 5000), 2000, 3000));  // segment 5: 2
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
  in(sk(sk(sk(ack(1000), 6000, 7000), 4000, 5000), 2000, 3000));  // segment 7: 3
  EXPECT_EQ(out(), strs({rxt(2)}));
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(tcb.recover, SeqNum(L + 10000));  // (4.1) RecoveryPoint = HighData
  EXPECT_EQ(tcb.cc.ssthresh(), 4500u);        // (4.2) FlightSize / 2
  EXPECT_EQ(tcb.cc.cwnd(), 4500u);            // kSack: no 3*SMSS inflation
  EXPECT_EQ(tcb.high_rxt, SeqNum(L + 2000));  // (4.3)
  // Hole 2 lost and retransmitted (1000), holes 4 and 6 not yet lost (1000 each), 3000 above.
  EXPECT_EQ(pipe(), 6000u);

  // Segment 8: hole 4 is now lost (3000 SACKed above it), but cwnd - pipe = 500 < SMSS.
  in(sk(sk(sk(ack(1000), 6000, 8000), 2000, 3000), 4000, 5000));
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(pipe(), 4000u);
  // Segment 9: hole 6 lost too; pipe 2000 leaves room for both, lowest first.
  in(sk(sk(sk(ack(1000), 6000, 9000), 2000, 3000), 4000, 5000));
  EXPECT_EQ(out(), strs({rxt(4), rxt(6)}));
  EXPECT_EQ(tcb.high_rxt, SeqNum(L + 6000));
  EXPECT_EQ(pipe(), 4000u);
  // Segment 10: everything above the holes is SACKed; nothing is sent twice.
  in(sk(sk(sk(ack(1000), 6000, 10000), 2000, 3000), 4000, 5000));
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(board(), (Board{{2000, 3000}, {4000, 5000}, {6000, 10000}}));

  // The retransmissions arrive: partial ACKs, then the ACK of RecoveryPoint.
  in(sk(sk(ack(3000), 4000, 5000), 6000, 10000));
  EXPECT_EQ(out(), V{});
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(board(), (Board{{4000, 5000}, {6000, 10000}}));
  in(sk(ack(5000), 6000, 10000));
  EXPECT_EQ(out(), V{});
  EXPECT_TRUE(tcb.in_recovery);
  in(ack(10000));
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_TRUE(tcb.sacked.empty());
  EXPECT_EQ(tcb.cc.cwnd(), 2000u);
  EXPECT_EQ(ctr().retransmits, 3u);
  EXPECT_EQ(ctr().fast_retransmits, 1u);
  EXPECT_EQ(ctr().sack_recoveries, 1u);
  EXPECT_EQ(ctr().dup_acks, 6u);
  EXPECT_FALSE(timer(TimerKind::kRetransmit).has_value());
}

// RFC 6675 §5 (B)-(C): a partial ACK only updates the scoreboard and pipe; the holes NextSeg
// finds lost go out (here two on one ACK), and SND.UNA is not retransmitted again as RFC 6582
// §3.2 step 5 would (compare recovery_test.cc Rfc6582_3_2_PartialAckRetransmitsNextHole).
TEST_F(SackRecovery, Rfc6675_5_PartialAckSendsLostHolesNotSndUna) {
  ten_in_flight();
  in(ack(1000));
  in(sk(ack(1000), 2000, 3000));
  in(sk(sk(ack(1000), 4000, 5000), 2000, 3000));
  in(sk(sk(sk(ack(1000), 6000, 7000), 4000, 5000), 2000, 3000));
  EXPECT_EQ(out(), strs({rxt(2)}));
  // The ACKs of segments 8-10 are lost; the retransmitted segment 2 is acknowledged with the
  // full picture: holes 4 and 6 are lost, pipe is 0.
  in(sk(sk(ack(3000), 6000, 10000), 4000, 5000));
  EXPECT_EQ(out(), strs({rxt(4), rxt(6)}));
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(pipe(), 2000u);
  in(sk(ack(5000), 6000, 10000));  // partial: segment 4 arrived
  EXPECT_EQ(out(), V{});
  in(ack(10000));
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(ctr().retransmits, 3u);
}

// RFC 6675 §5 step (2): one duplicate ACK SACKing three segments above SND.UNA makes IsLost(
// HighACK+1) true ("DupThresh discontiguous SACKed sequences"): recovery starts before the third
// duplicate ACK.
TEST_F(SackRecovery, Rfc6675_5_EntersWhenThreeSegmentsSackedAboveHole) {
  ten_in_flight();
  in(ack(1000));
  in(sk(ack(1000), 2000, 5000));
  EXPECT_EQ(out(), strs({rxt(2)}));
  EXPECT_TRUE(tcb.in_recovery);
  EXPECT_EQ(tcb.dupacks, 1u);
  EXPECT_EQ(ctr().sack_recoveries, 1u);
}

// The other side of the threshold: 2 * SMSS SACKed (not more than (DupThresh-1) * SMSS, two
// segments) is not a loss; the next duplicate ACK still counts towards three.
TEST_F(SackRecovery, Rfc6675_5_TwoSegmentsSackedAreNotALoss) {
  ten_in_flight();
  in(ack(1000));
  in(sk(ack(1000), 2000, 4000));
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(tcb.dupacks, 1u);
}

// RFC 2018 §4: blocks report data we sent and did not see acknowledged. A block beyond SND.MAX
// (whole or in part), one below SND.UNA and an empty or inverted one are ignored; they do not
// make an ACK a duplicate (RFC 6675 §2) nor move the scoreboard.
TEST_F(SackRecovery, Rfc2018_4_BlocksOutsideSndUnaSndMaxIgnored) {
  ten_in_flight();
  in(ack(1000));
  in(sk(ack(1000), 10000, 11000));  // above SND.MAX
  in(sk(ack(1000), 9000, 10001));   // reaches one past SND.MAX
  in(sk(ack(1000), 5000, 4000));    // inverted
  EXPECT_EQ(out(), V{});
  EXPECT_TRUE(tcb.sacked.empty());
  EXPECT_EQ(ctr().dup_acks, 0u);
  EXPECT_EQ(ctr().sack_blocks_invalid, 3u);
  // A valid block beside one below SND.UNA (not first, so not a D-SACK): only the valid one.
  in(sk(sk(ack(1000), 2000, 3000), 0, 500));
  EXPECT_EQ(board(), (Board{{2000, 3000}}));
  EXPECT_EQ(ctr().sack_blocks_invalid, 4u);
  EXPECT_EQ(ctr().dup_acks, 1u);
  // A block straddling SND.UNA keeps its part above (SND.UNA moved past its left edge).
  in(sk(ack(2500), 2000, 4000));
  EXPECT_EQ(board(), (Board{{2500, 4000}}));
  EXPECT_FALSE(tcb.in_recovery);
}

// RFC 2883 §4: a first block below SEG.ACK, or inside the second block, reports a duplicate
// segment (D-SACK). It is counted and ignored: three ACKs carrying only D-SACKs are not
// duplicate ACKs (no recovery), and a D-SACK beside a real block adds only the real block.
TEST_F(SackRecovery, Rfc2883_4_DsackIgnored) {
  ten_in_flight();
  in(ack(1000));
  in(sk(ack(1000), 0, 1000));
  in(sk(ack(1000), 0, 1000));
  in(sk(ack(1000), 500, 1000));
  EXPECT_EQ(out(), V{});
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_TRUE(tcb.sacked.empty());
  EXPECT_EQ(ctr().dsacks, 3u);
  EXPECT_EQ(ctr().dup_acks, 0u);
  in(sk(sk(ack(1000), 2000, 3000), 2000, 4000));
  EXPECT_EQ(ctr().dsacks, 4u);
  EXPECT_EQ(board(), (Board{{2000, 4000}}));
  EXPECT_EQ(ctr().sack_blocks_invalid, 0u);
}

// RFC 2018 §8 and RFC 6675 §5.1: an RTO during SACK recovery ends it, clears the scoreboard
// (the peer may have reneged), keeps RecoveryPoint at HighData, and retransmits from SND.UNA
// with cwnd = 1 SMSS. Further duplicate ACKs below RecoveryPoint start no new recovery.
TEST_F(SackRecovery, Rfc6675_5_1_RtoDuringRecoveryClearsScoreboard) {
  ten_in_flight();
  in(ack(1000));
  in(sk(ack(1000), 2000, 3000));
  in(sk(sk(ack(1000), 4000, 5000), 2000, 3000));
  in(sk(sk(sk(ack(1000), 6000, 7000), 4000, 5000), 2000, 3000));
  EXPECT_EQ(out(), strs({rxt(2)}));
  ASSERT_EQ(tcb.sacked.size(), 3u);
  fire(TimerKind::kRetransmit);
  // Go back to SND.UNA (RFC 6298 §5.4): segment 2 again, in slow start, not a SACK retransmit.
  EXPECT_EQ(out(), strs({S().seq(L + 1000).ack(P).win(W).data(payload(2))}));
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_TRUE(tcb.sacked.empty());
  EXPECT_EQ(tcb.recover, SeqNum(L + 10000));
  EXPECT_EQ(tcb.cc.cwnd(), 1000u);
  in(sk(ack(1000), 2000, 3000));
  in(sk(ack(1000), 2000, 4000));
  in(sk(ack(1000), 2000, 5000));
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(board(), (Board{{2000, 5000}}));  // rebuilt from the new ACKs
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(ctr().fast_retransmits, 1u);
}

// RFC 6675 §4 NextSeg (4): with rules (1)-(3) exhausted and room in pipe, one rescue
// retransmission of the highest unSACKed segment (here the lost tail, segment 10), once per
// recovery; HighRxt does not move.
TEST_F(SackRecovery, Rfc6675_4_NextSegRule4RescuesTailOnce) {
  ten_in_flight();
  in(ack(1000));
  in(sk(ack(1000), 2000, 3000));
  in(sk(ack(1000), 2000, 4000));
  in(sk(ack(1000), 2000, 5000));  // third duplicate ACK
  EXPECT_EQ(out(), strs({rxt(2)}));
  in(sk(ack(1000), 2000, 6000));  // pipe 5000 > cwnd 4500
  in(sk(ack(1000), 2000, 7000));  // pipe 4000: 500 free
  EXPECT_EQ(out(), V{});
  in(sk(ack(1000), 2000, 8000));  // pipe 3000: rules (1)-(3) find nothing, (4) rescues
  EXPECT_EQ(out(), strs({rxt(10)}));
  EXPECT_EQ(tcb.high_rxt, SeqNum(L + 2000));
  EXPECT_EQ(ctr().sack_rescue_rxts, 1u);
  in(sk(ack(1000), 2000, 9000));
  EXPECT_EQ(out(), V{});  // not twice
  in(ack(9000));
  in(ack(10000));
  EXPECT_FALSE(tcb.in_recovery);
  EXPECT_EQ(ctr().retransmits, 2u);
}

// Without SACK negotiated, the same losses take the RFC 6582 NewReno path: one retransmission
// per partial ACK, cwnd inflated by 3 * SMSS on entry.
TEST_F(SackRecovery, Rfc6582_3_2_WithoutSackNewRenoStaysThePath) {
  cfg.sack = true;
  syn_sent();
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(kPeerWin).mss(1000));  // no SACK-perm
  out();
  ASSERT_FALSE(tcb.sack_ok);
  std::string d;
  for (int k = 1; k <= 10; ++k) d += payload(k);
  send_str(d);
  ASSERT_EQ(out().size(), 10u);
  in(ack(1000));
  in(sk(ack(1000), 2000, 3000));  // blocks are ignored without SACK
  in(ack(1000));
  in(ack(1000));
  EXPECT_EQ(out(), strs({rxt(2)}));
  EXPECT_TRUE(tcb.sacked.empty());
  EXPECT_EQ(tcb.cc.cwnd(), 4500u + 3000u);
  in(ack(3000));  // partial: SND.UNA (segment 4) goes out at once
  EXPECT_EQ(out(), strs({rxt(4)}));
  EXPECT_EQ(ctr().sack_recoveries, 0u);
}

}  // namespace
}  // namespace tempo::tcp::test
