// RTT measurement (RFC 6298 §2-3) with and without timestamps (RFC 7323 §4.1-4.2).
//
// The handshake takes 10 ms (SRTT 10 ms, RTTVAR 5 ms, RTO = the 200 ms floor). 500 bytes go out
// at t0 = 100.010 s; the RTO retransmits them at t0 + 200 ms; the ACK comes 50 ms later.
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class RttTimestamps : public Scenario {
 protected:
  static constexpr uint32_t kT0 = 100010;  // ms: when the data goes out (our TSval)
  static constexpr uint32_t kPeerTs = 7000;

  // Established after a 10 ms handshake; then 500 bytes sent and retransmitted by the RTO.
  void retransmitted(bool timestamps) {
    cfg.timestamps = timestamps;
    at_ms(100000);
    syn_sent();
    at_ms(kT0);
    S synack = S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(60000).mss(1000);
    if (timestamps) {
      synack.ts(kPeerTs, 100000);
    }
    in(synack);
    out();
    ASSERT_EQ(tcb.ts_ok, timestamps);
    ASSERT_EQ(tcb.rtt.srtt(), Ticks::from_ms(10));
    send_str(std::string(500, 'x'));
    S first = S().seq(L).ack(P).flags(kPsh).win(W).data(std::string(500, 'x'));
    if (timestamps) {
      first.ts(kT0, kPeerTs);
    }
    EXPECT_EQ(out(), strs({first}));
    fire(TimerKind::kRetransmit);
    ASSERT_EQ(now, Ticks::from_ms(kT0 + 200));
    S again = S().seq(L).ack(P).flags(kPsh).win(W).data(std::string(500, 'x'));
    if (timestamps) {
      again.ts(kT0 + 200, kPeerTs);
    }
    EXPECT_EQ(out(), strs({again}));
    EXPECT_EQ(tcb.rtt.srtt(), Ticks::from_ms(10));
  }
};

// RFC 7323 §4.1 (RTTM): the ACK of the retransmission echoes its TSval, so the RTT is exactly
// 50 ms even though the segment was sent twice (no Karn ambiguity, RFC 6298 §3):
// SRTT = 7/8 * 10 + 1/8 * 50 = 15 ms, RTTVAR = 3/4 * 5 + 1/4 * |10 - 50| = 13.75 ms.
TEST_F(RttTimestamps, Rfc7323_4_1_RetransmittedSegmentSampledFromTsecr) {
  retransmitted(true);
  at_ms(kT0 + 250);
  in(S().seq(P).ack(L + 500).win(60000).ts(kPeerTs + 1, kT0 + 200));
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(tcb.rtt.srtt(), Ticks::from_ms(15));
  EXPECT_EQ(tcb.rtt.rttvar(), Ticks::from_us(13750));
}

// The sample is now - TSecr: an ACK echoing the first transmission's TSval (the original was
// late, not lost) measures 250 ms, not the 50 ms since the retransmission.
TEST_F(RttTimestamps, Rfc7323_4_1_SampleIsNowMinusTsecr) {
  retransmitted(true);
  at_ms(kT0 + 250);
  in(S().seq(P).ack(L + 500).win(60000).ts(kPeerTs + 1, kT0));
  // SRTT = 7/8 * 10 + 1/8 * 250 = 40 ms.
  EXPECT_EQ(tcb.rtt.srtt(), Ticks::from_ms(40));
}

// RFC 7323 §4.1: only an ACK that advances SND.UNA gives a sample; a duplicate ACK does not.
TEST_F(RttTimestamps, Rfc7323_4_1_NoSampleWithoutNewData) {
  retransmitted(true);
  at_ms(kT0 + 250);
  in(S().seq(P).ack(L).win(60000).ts(kPeerTs + 1, kT0 + 200));
  EXPECT_EQ(tcb.rtt.srtt(), Ticks::from_ms(10));
}

// RFC 6298 §3 (Karn): without timestamps an ACK of a retransmitted segment is ambiguous and
// gives no sample; SRTT stays 10 ms.
TEST_F(RttTimestamps, Rfc6298_3_KarnWithoutTimestampsNoSampleFromRetransmission) {
  retransmitted(false);
  at_ms(kT0 + 250);
  in(S().seq(P).ack(L + 500).win(60000));
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(tcb.rtt.srtt(), Ticks::from_ms(10));
}

// The other side: without timestamps, a segment sent once is timed (RFC 6298 §3): 50 ms gives
// SRTT 15 ms.
TEST_F(RttTimestamps, Rfc6298_3_KarnWithoutTimestampsTimesFreshSegment) {
  cfg.timestamps = false;
  at_ms(100000);
  syn_sent();
  at_ms(kT0);
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(60000).mss(1000));
  out();
  send_str(std::string(500, 'x'));
  out();
  at_ms(kT0 + 50);
  in(S().seq(P).ack(L + 500).win(60000));
  EXPECT_EQ(tcb.rtt.srtt(), Ticks::from_ms(15));
}

}  // namespace
}  // namespace tempo::tcp::test
