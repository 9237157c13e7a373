// RFC 9293 §3.5 three-way handshake, both sides, simultaneous open, option negotiation.
#include <tuple>

#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;

class Handshake : public Scenario {};

TEST_F(Handshake, Rfc9293_3_5_ActiveOpenSendsSynAndArmsRto) {
  syn_sent();
  EXPECT_EQ(out(), strs({S().seq(kIss).flags(kSyn).win(W).mss(1460)}));
  EXPECT_EQ(tcb.state, State::kSynSent);
  EXPECT_EQ(timer(TimerKind::kRetransmit), now + Ticks::from_sec(1));  // RFC 6298 §2.1
}

TEST_F(Handshake, Rfc9293_3_10_7_3_SynAckEstablishes) {
  syn_sent();
  out();
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(8000).mss(1000));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W)}));
  EXPECT_EQ(events(), std::vector<std::string>{"connected"});
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(tcb.snd_wnd, 8000u);
  EXPECT_EQ(tcb.snd_mss, 1000);
  EXPECT_FALSE(timer(TimerKind::kRetransmit).has_value());
}

// RFC 9293 §3.7.1 / RFC 6691: the send MSS is the peer's, at most ours; one below the floor
// (tcp.min_snd_mss, 48 as Linux's tcp_min_snd_mss) is raised to it and counted. An MSS option
// of 0 used to wrap to 65,524-byte segments once the timestamp option's 12 bytes were taken off
// (the Worker fuzzer found it).
TEST_F(Handshake, Rfc9293_3_7_1_PeerMssIsClampedToASaneRange) {
  for (const auto& [peer, want, clamped] : {std::tuple<uint16_t, uint16_t, bool>{0, 48, true},
                                            {1, 48, true},
                                            {8, 48, true},
                                            {47, 48, true},
                                            {48, 48, false},
                                            {88, 88, false},
                                            {536, 536, false},
                                            {65535, 1460, false}}) {
    tcb = Tcb<TestBuf>{};
    const uint64_t before = ctr().mss_clamped;
    syn_sent();
    in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(8000).mss(peer));
    EXPECT_EQ(tcb.state, State::kEstablished);
    EXPECT_EQ(tcb.snd_mss, want) << "peer MSS " << peer;
    EXPECT_EQ(ctr().mss_clamped - before, clamped ? 1u : 0u) << "peer MSS " << peer;
    out();
    events();
  }
}

// RFC 6298 §5.7 with RFC 7323 §4.1: after a retransmitted SYN the SYN,ACK's timestamp echo
// still measures the RTT (it names the transmission answered), so the RTO once data flows is
// the estimate's (here the 200 ms floor), not 3 s; without timestamps, 3 s.
TEST_F(Handshake, Rfc6298_5_7_RetransmittedSynTimedByTheTimestampEcho) {
  for (const bool ts : {true, false}) {
    tcb = Tcb<TestBuf>{};
    sink = RecordingSink{};
    cfg.timestamps = ts;
    syn_sent();
    fire(TimerKind::kRetransmit);  // the SYN again, 1 s later
    out();
    const uint32_t echo = detail::ts_now(tcb, now);
    now = now + Ticks::from_ms(5);
    S synack = S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(8000).mss(1000);
    in(ts ? synack.ts(1, echo) : synack);
    ASSERT_EQ(tcb.state, State::kEstablished);
    send_str("x");
    EXPECT_EQ(timer(TimerKind::kRetransmit), now + (ts ? Ticks::from_ms(200) : Ticks::from_sec(3)))
        << "timestamps " << ts;
  }
}

// The floor is configurable, on both opens; a passive open counts the clamp too.
TEST_F(Handshake, MinSndMssIsConfigurable) {
  cfg.min_snd_mss = 536;
  tcp::open_passive(tcb, cfg, SeqNum(kIss));
  in(S().seq(kPeerIss).flags(kSyn).win(10000).mss(100));
  EXPECT_EQ(tcb.snd_mss, 536);
  EXPECT_EQ(ctr().mss_clamped, 1u);
  tcb = Tcb<TestBuf>{};
  syn_sent();
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(8000).mss(600));
  EXPECT_EQ(tcb.snd_mss, 600);
  EXPECT_EQ(ctr().mss_clamped, 1u);
}

// A peer announcing an MSS of 8 (the resource-amplification class of CVE-2019-11478) gets
// segments at the floor, never 8 bytes each: 48 less the timestamp option's 12 with
// timestamps, and with SACK blocks in the segment too, 8 bytes of payload remain.
TEST_F(Handshake, TinyPeerMssSendsSegmentsAtTheFloor) {
  cfg.timestamps = true;
  syn_sent();
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(8000).mss(8).ts(1, 0));
  ASSERT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(tcb.snd_mss, 36);
  out();
  send_str(std::string(100, 'x'));
  const auto segs = out();
  ASSERT_FALSE(segs.empty());
  EXPECT_NE(segs[0].find(std::string(36, 'x') + "'"), std::string::npos) << segs[0];
  EXPECT_EQ(segs[0].find(std::string(37, 'x')), std::string::npos) << segs[0];
}

// The window a SYN offers holds once the peer's ISN is known (RFC 9293 §3.8.6: never shrink),
// even when the receive budget has nothing more to give: the handshake's ACK offers what the
// SYN did (4 segments, RcvBudget's floor), not a zero window.
TEST_F(Handshake, Rfc9293_3_8_6_SynWindowHoldsUnderASpentReceiveBudget) {
  RcvBudget budget;
  budget.limit = 0;
  sink.core().rcv_budget = &budget;
  syn_sent();
  EXPECT_EQ(out(), strs({S().seq(kIss).flags(kSyn).win(4 * 1460).mss(1460)}));
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(8000).mss(1000));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(4 * 1460)}));
  EXPECT_FALSE(tcb.rcv_starved);  // four segments open: the peer's data brings the next look
}

TEST_F(Handshake, Rfc9293_3_10_7_2_PassiveOpenAnswersSynAck) {
  syn_received();
  EXPECT_EQ(out(), strs({S().seq(kIss).ack(P).flags(kSyn).win(W).mss(1460)}));
  EXPECT_EQ(tcb.state, State::kSynReceived);
  in(S().seq(P).ack(L).win(9000));
  EXPECT_EQ(out(), std::vector<std::string>{});
  EXPECT_EQ(events(), std::vector<std::string>{"connected"});
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(tcb.snd_wnd, 9000u);
}

TEST_F(Handshake, Rfc9293_3_5_SimultaneousOpen) {
  syn_sent();
  out();
  in(S().seq(kPeerIss).flags(kSyn).win(8000).mss(1000));
  EXPECT_EQ(out(), strs({S().seq(kIss).ack(P).flags(kSyn).win(W).mss(1460)}));
  EXPECT_EQ(tcb.state, State::kSynReceived);
  in(S().seq(kPeerIss).ack(L).flags(kSyn).win(8000).mss(1000));
  EXPECT_EQ(out(), std::vector<std::string>{});
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(events(), std::vector<std::string>{"connected"});
}

TEST_F(Handshake, Rfc9293_3_10_7_3_BadAckInSynSentDrawsRst) {
  syn_sent();
  out();
  in(S().seq(kPeerIss).ack(kIss + 77).win(100));
  EXPECT_EQ(out(), strs({S().seq(kIss + 77).flags(kRst)}));
  EXPECT_EQ(tcb.state, State::kSynSent);
  EXPECT_EQ(ctr().drop_syn_sent_bad_ack, 1u);
}

TEST_F(Handshake, Rfc9293_3_10_7_3_RstWithAcceptableAckRefuses) {
  syn_sent();
  out();
  in(S().seq(0).ack(kIss + 1).flags(kRst));
  EXPECT_EQ(out(), std::vector<std::string>{});
  EXPECT_EQ(events(), std::vector<std::string>{"closed:refused"});
  EXPECT_EQ(tcb.state, State::kClosed);
}

TEST_F(Handshake, Rfc9293_3_10_7_3_RstWithoutAckIgnored) {
  syn_sent();
  out();
  in(S().seq(kPeerIss).flags(kRst));
  EXPECT_EQ(tcb.state, State::kSynSent);
  EXPECT_EQ(events(), std::vector<std::string>{});
}

TEST_F(Handshake, Rfc9293_3_10_7_2_ListenRepliesRstToAck) {
  tcp::open_passive(tcb, cfg, SeqNum(kIss));
  in(S().seq(7).ack(9).win(100));
  EXPECT_EQ(out(), strs({S().seq(9).flags(kRst)}));
  in(S().seq(7).flags(kRst));
  EXPECT_EQ(out(), std::vector<std::string>{});
  EXPECT_EQ(tcb.state, State::kListen);
}

TEST_F(Handshake, Rfc9293_3_10_7_1_ClosedAnswersRst) {
  // No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; with ACK: <SEQ=SEG.ACK><CTL=RST>.
  reply_closed(S().seq(10).flags(kSyn).to_segment(), sink);
  reply_closed(S().seq(10).ack(20).data("xyz").to_segment(), sink);
  reply_closed(S().seq(10).flags(kRst).to_segment(), sink);
  EXPECT_EQ(out(), strs({S().seq(0).ack(11).flags(kRst), S().seq(20).flags(kRst)}));
  EXPECT_EQ(ctr().drop_closed, 3u);
}

TEST_F(Handshake, Rfc9293_3_10_7_4_SynAckRetransmittedOnDuplicateSyn) {
  syn_received();
  out();
  in(S().seq(kPeerIss).flags(kSyn).win(10000).mss(1000));
  EXPECT_EQ(out(), strs({S().seq(kIss).ack(P).flags(kSyn).win(W).mss(1460)}));
}

TEST_F(Handshake, Rfc9293_3_10_7_4_UnacceptableAckInSynReceivedDrawsRst) {
  syn_received();
  out();
  in(S().seq(P).ack(kIss).win(10000));  // acknowledges nothing
  EXPECT_EQ(out(), strs({S().seq(kIss).flags(kRst)}));
  EXPECT_EQ(tcb.state, State::kSynReceived);
}

TEST_F(Handshake, Rfc7323_Rfc2018_OptionsNegotiated) {
  cfg.window_scaling = true;
  cfg.timestamps = true;
  cfg.sack = true;
  cfg.rcv_buf = 1 << 20;  // needs shift 5
  tcp::connect(tcb, cfg, SeqNum(kIss), 7, now, sink);
  const uint32_t tsv = 100000 + 7;
  EXPECT_EQ(
      out(),
      strs({S().seq(kIss).flags(kSyn).win(65535).mss(1460).wscale(5).sack_perm().ts(tsv, 0)}));
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(30000).mss(1400).wscale(15).sack_perm().ts(
      555, tsv));
  EXPECT_TRUE(tcb.ws_ok && tcb.ts_ok && tcb.sack_ok);
  EXPECT_EQ(tcb.snd_wscale, 14);  // RFC 7323 §2.3: clamp 15 to 14
  EXPECT_EQ(tcb.rcv_wscale, 5);
  EXPECT_EQ(tcb.snd_mss, 1400 - 12);  // room for the timestamp option
  EXPECT_EQ(tcb.snd_wnd, 30000u);     // SYN window is not scaled
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win((1 << 20) >> 5).ts(tsv, 555)}));
}

TEST_F(Handshake, Rfc7323_2_2_NoScalingUnlessBothOffer) {
  cfg.window_scaling = true;
  cfg.timestamps = true;
  cfg.sack = true;
  cfg.rcv_buf = 1 << 20;
  tcp::open_passive(tcb, cfg, SeqNum(kIss));
  in(S().seq(kPeerIss).flags(kSyn).win(10000));  // no options at all
  // SYN,ACK carries only MSS; no scale, no SACK, no timestamps.
  EXPECT_EQ(out(), strs({S().seq(kIss).ack(P).flags(kSyn).win(65535).mss(1460)}));
  EXPECT_FALSE(tcb.ws_ok || tcb.ts_ok || tcb.sack_ok);
  EXPECT_EQ(tcb.rcv_wscale, 0);
  EXPECT_EQ(tcb.snd_mss, 536);  // RFC 9293 §3.7.1 default
}

TEST_F(Handshake, Rfc6298_5_SynRetransmittedWithBackoffThenTimeout) {
  cfg.syn_retries = 2;
  syn_sent();
  out();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out(), strs({S().seq(kIss).flags(kSyn).win(W).mss(1460)}));
  EXPECT_EQ(timer(TimerKind::kRetransmit), now + Ticks::from_sec(2));
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(timer(TimerKind::kRetransmit), now + Ticks::from_sec(4));
  out();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out(), std::vector<std::string>{});
  EXPECT_EQ(events(), std::vector<std::string>{"closed:timeout"});
  EXPECT_TRUE(sink.timers.empty());
}

TEST_F(Handshake, Rfc9293_3_10_7_4_DataOnThirdAckDelivered) {
  syn_received();
  out();
  in(S().seq(P).ack(L).win(9000).data("hi"));
  EXPECT_EQ(events(), (std::vector<std::string>{"connected", "data:hi"}));
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P + 2));
}

}  // namespace
}  // namespace tempo::tcp::test
