// RST processing (RFC 9293 §3.10.7.4 second check) with RFC 5961 §3 (blind reset), SYN in
// synchronized states (RFC 5961 §4), the ACK range check (RFC 5961 §5) and the per-core
// challenge-ACK budget (RFC 5961 §7).
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class Rfc5961 : public Scenario {};

TEST_F(Rfc5961, Rfc5961_3_2_RstAtRcvNxtResets) {
  established_active();
  in(S().seq(P).flags(kRst));
  EXPECT_EQ(events(), V{"closed:reset"});
  EXPECT_EQ(tcb.state, State::kClosed);
  EXPECT_EQ(out(), V{});
}

TEST_F(Rfc5961, Rfc5961_3_2_RstInWindowDrawsChallengeAck) {
  established_active();
  in(S().seq(P + 100).flags(kRst));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W)}));
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(ctr().drop_rst_in_window, 1u);
  EXPECT_EQ(ctr().challenge_acks, 1u);
}

TEST_F(Rfc5961, Rfc5961_3_2_RstOutOfWindowSilentlyDropped) {
  established_active();
  in(S().seq(P + W).flags(kRst));
  in(S().seq(P - 1).flags(kRst));
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(ctr().drop_rst_out_of_window, 2u);
}

TEST_F(Rfc5961, Rfc9293_3_10_7_4_RstInSynReceivedPassiveDropsTcb) {
  syn_received();
  out();
  in(S().seq(P).flags(kRst));
  EXPECT_EQ(events(), V{"closed:reset"});
}

TEST_F(Rfc5961, Rfc9293_3_10_7_4_RstInSimultaneousOpenRefuses) {
  syn_sent();
  in(S().seq(kPeerIss).flags(kSyn).win(8000));
  out();
  in(S().seq(P).flags(kRst));
  EXPECT_EQ(events(), V{"closed:refused"});
}

TEST_F(Rfc5961, Rfc9293_3_10_7_4_RstInEveryClosingState) {
  for (State target :
       {State::kFinWait1, State::kFinWait2, State::kCloseWait, State::kClosing, State::kLastAck}) {
    sink = RecordingSink{};
    established_active();
    switch (target) {
      case State::kFinWait1:
        ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
        break;
      case State::kFinWait2:
        ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
        in(S().seq(P).ack(L + 1).win(100));
        break;
      case State::kCloseWait:
        in(S().seq(P).ack(L).flags(kFin).win(100));
        break;
      case State::kClosing:
        ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
        in(S().seq(P).ack(L).flags(kFin).win(100));
        break;
      case State::kLastAck:
        in(S().seq(P).ack(L).flags(kFin).win(100));
        ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
        break;
      default:
        break;
    }
    ASSERT_EQ(tcb.state, target) << to_string(target);
    events();
    in(S().seq(tcb.rcv_nxt.raw()).flags(kRst));
    EXPECT_EQ(events(), V{"closed:reset"}) << to_string(target);
    EXPECT_TRUE(sink.timers.empty()) << to_string(target);
  }
}

TEST_F(Rfc5961, Rfc5961_4_2_SynInEstablishedDrawsChallengeAck) {
  established_active();
  // In window, and far outside it: RFC 5961 §4.2, "whatever its sequence number" (issue 19
  // finding 4: the far one used to fail the sequence check and draw an ACK outside the budget).
  // 600 ms apart: each is answered (the per-connection throttle is 500 ms).
  uint64_t ms = 100000;
  for (uint32_t seq : {P, P + 500, P + 1000000}) {
    in(S().seq(seq).flags(kSyn).win(100));
    EXPECT_EQ(tcb.state, State::kEstablished);
    at_ms(ms += 600);
  }
  EXPECT_EQ(out(),
            strs({S().seq(L).ack(P).win(W), S().seq(L).ack(P).win(W), S().seq(L).ack(P).win(W)}));
  EXPECT_EQ(ctr().drop_syn_synchronized, 2u);
  EXPECT_EQ(ctr().drop_unacceptable, 1u);
  EXPECT_EQ(ctr().challenge_acks, 3u);
}

// RFC 5961 §7, per connection (Linux tcp_oow_rate_limited): a flood of invalid segments at one
// connection (SYNs anywhere, RSTs in the window, pure ACKs out of the window) draws one ACK
// per 500 ms, not one each; segments with data are still answered every time.
TEST_F(Rfc5961, Rfc5961_7_InvalidSegmentsAtOneConnectionAreThrottled) {
  established_active();
  for (int i = 0; i < 5; ++i) {
    in(S().seq(P + 1000000 + i).flags(kSyn).win(100));
    in(S().seq(P + 10).flags(kRst));
    in(S().seq(P - 2000).ack(L).win(100));
  }
  EXPECT_EQ(out().size(), 1u);
  EXPECT_EQ(ctr().challenge_acks, 1u);
  EXPECT_EQ(ctr().acks_oow_limited, 14u);
  // Data below RCV.NXT (a retransmission whose ACK was lost) is always answered.
  in(S().seq(P - 2000).ack(L).win(100).data("old"));
  in(S().seq(P - 2000).ack(L).win(100).data("old"));
  EXPECT_EQ(out().size(), 2u);
  // 500 ms later: answered again.
  at_ms(100499);
  in(S().seq(P - 2000).ack(L).win(100));
  EXPECT_EQ(out().size(), 0u);
  at_ms(100500);
  in(S().seq(P - 2000).ack(L).win(100));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W)}));
}

TEST_F(Rfc5961, Rfc5961_4_2_SynInLastAckDrawsChallengeAck) {
  established_active();
  in(S().seq(P).ack(L).flags(kFin).win(100));
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  out();
  in(S().seq(P + 1).flags(kSyn).win(100));
  EXPECT_EQ(out(), strs({S().seq(L + 1).ack(P + 1).win(W - 1)}));
  EXPECT_EQ(tcb.state, State::kLastAck);
}

TEST_F(Rfc5961, Rfc5961_7_ChallengeAckBudgetPerCore) {
  cfg.oow_ack_interval = Ticks{};  // one connection stands for many: no per-connection throttle
  established_active();
  sink.core_.challenge_acks.limit_per_sec = 2;
  for (int i = 0; i < 5; ++i) {
    in(S().seq(P + 10).flags(kRst));
  }
  EXPECT_EQ(out().size(), 2u);
  EXPECT_EQ(ctr().challenge_acks_limited, 3u);
  at_ms(101000);  // the next second: budget renewed
  in(S().seq(P + 10).flags(kRst));
  EXPECT_EQ(out().size(), 1u);
}

TEST_F(Rfc5961, Rfc5961_5_2_AckOfUnsentDataDrawsAckAndIsDropped) {
  established_active();
  in(S().seq(P).ack(L + 10).win(100).data("ab"));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W)}));
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(ctr().drop_ack_unsent, 1u);
}

TEST_F(Rfc5961, Rfc5961_5_2_AckTooOldDrawsAckAndIsDropped) {
  established_active(/*peer_win=*/1000);
  send_str(std::string(500, 'a'));
  in(S().seq(P).ack(L + 500).win(1000));
  out();
  // SND.UNA - MAX.SND.WND = L + 500 - 1000; one below that is too old.
  in(S().seq(P).ack(L + 500 - 1000 - 1).win(1000).data("x"));
  EXPECT_EQ(ctr().drop_ack_too_old, 1u);
  EXPECT_EQ(events(), V{});
  // At the limit it is accepted (an old duplicate ACK with new data).
  in(S().seq(P).ack(L + 500 - 1000).win(1000).data("y"));
  EXPECT_EQ(events(), V{"data:y"});
}

TEST_F(Rfc5961, Rfc9293_3_10_7_4_SegmentWithoutAckDropped) {
  established_active();
  in(S().seq(P).win(100).data("x"));
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(ctr().drop_no_ack, 1u);
}

}  // namespace
}  // namespace tempo::tcp::test
