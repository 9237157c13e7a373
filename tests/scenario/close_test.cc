// RFC 9293 §3.6 closing a connection: every order (FIN-WAIT-1/2, CLOSING, TIME-WAIT,
// CLOSE-WAIT, LAST-ACK, simultaneous close, half-close), and ABORT (§3.10.5).
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

// After the peer's FIN our window reads W - 1: the FIN took one sequence number and the
// right edge does not move for less than one MSS (RFC 9293 §3.8.6.2.2).
class Close : public Scenario {};

TEST_F(Close, Rfc9293_3_6_ActiveCloseThroughFinWait2ToTimeWait) {
  established_active();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kFin).win(W)}));
  EXPECT_EQ(tcb.state, State::kFinWait1);
  EXPECT_TRUE(timer(TimerKind::kRetransmit).has_value());
  in(S().seq(P).ack(L + 1).win(10000));
  EXPECT_EQ(tcb.state, State::kFinWait2);
  EXPECT_FALSE(timer(TimerKind::kRetransmit).has_value());
  EXPECT_EQ(timer(TimerKind::kFinWait2), now + cfg.fin_wait_2_timeout);  // orphaned
  EXPECT_EQ(out(), V{});
  at_ms(100500);
  in(S().seq(P).ack(L + 1).flags(kFin).win(10000));
  EXPECT_EQ(out(), strs({S().seq(L + 1).ack(P + 1).win(W - 1)}));
  EXPECT_EQ(events(), (V{"peer_fin", "time_wait"}));
  EXPECT_EQ(tcb.state, State::kTimeWait);
  ASSERT_TRUE(sink.tw.has_value());
  EXPECT_EQ(sink.tw->snd_nxt, SeqNum(L + 1));
  EXPECT_EQ(sink.tw->rcv_nxt, SeqNum(P + 1));
  EXPECT_FALSE(sink.tw->timestamps);
  EXPECT_TRUE(sink.timers.empty());  // the TIME-WAIT record owns the only timer left
}

TEST_F(Close, Rfc9293_3_6_FinAndAckTogetherFromFinWait1) {
  established_active();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  out();
  in(S().seq(P).ack(L + 1).flags(kFin).win(10000));
  EXPECT_EQ(out(), strs({S().seq(L + 1).ack(P + 1).win(W - 1)}));
  EXPECT_EQ(tcb.state, State::kTimeWait);
  EXPECT_EQ(events(), (V{"peer_fin", "time_wait"}));
}

TEST_F(Close, Rfc9293_3_6_SimultaneousCloseThroughClosing) {
  established_active();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  out();
  in(S().seq(P).ack(L).flags(kFin).win(10000));  // their FIN crosses ours
  EXPECT_EQ(tcb.state, State::kClosing);
  EXPECT_EQ(out(), strs({S().seq(L + 1).ack(P + 1).win(W - 1)}));
  in(S().seq(P + 1).ack(L + 1).win(10000));  // ACK of our FIN
  EXPECT_EQ(tcb.state, State::kTimeWait);
  EXPECT_EQ(events(), (V{"peer_fin", "time_wait"}));
  EXPECT_EQ(out(), V{});
}

TEST_F(Close, Rfc9293_3_6_PassiveCloseThroughCloseWaitAndLastAck) {
  established_passive();
  in(S().seq(P).ack(L).flags(kFin).win(10000));
  EXPECT_EQ(tcb.state, State::kCloseWait);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 1).win(W - 1)}));
  EXPECT_EQ(events(), V{"peer_fin"});
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  EXPECT_EQ(tcb.state, State::kLastAck);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 1).flags(kFin).win(W - 1)}));
  in(S().seq(P + 1).ack(L + 1).win(10000));
  EXPECT_EQ(tcb.state, State::kClosed);
  EXPECT_EQ(events(), V{"closed:normal"});
  EXPECT_TRUE(sink.timers.empty());
}

TEST_F(Close, Rfc9293_3_6_HalfCloseKeepsReceiving) {
  established_active();
  ASSERT_TRUE(tcp::shutdown(tcb, now, sink).ok());
  out();
  in(S().seq(P).ack(L + 1).win(10000));
  EXPECT_EQ(tcb.state, State::kFinWait2);
  EXPECT_FALSE(timer(TimerKind::kFinWait2).has_value());  // not orphaned: no bound
  in(S().seq(P).ack(L + 1).win(10000).data("more"));
  EXPECT_EQ(events(), V{"data:more"});
  EXPECT_EQ(tcp::send(tcb, TestBuf("x"), now, sink).error(), SendError::kClosing);
  tcp::consume(tcb, 4, now, sink);
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());  // now orphaned
  EXPECT_TRUE(timer(TimerKind::kFinWait2).has_value());
  EXPECT_EQ(tcb.state, State::kFinWait2);
}

// RFC 1122 §4.2.2.13: a CLOSE while received data is pending (delivered, not consumed) sends an
// RST to show the data was lost, as Linux (TCPAbortOnClose); consumed, it sends a FIN.
TEST_F(Close, Rfc1122_4_2_2_13_CloseWithUnconsumedDataResets) {
  established_active();
  send_str("abc");
  out();
  in(S().seq(P).ack(L).win(10000).data("req"));
  EXPECT_EQ(events(), V{"data:req"});
  out();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  EXPECT_EQ(out(), strs({S().seq(L + 3).flags(kRst)}));
  EXPECT_EQ(events(), V{"closed:aborted"});
  EXPECT_EQ(tcb.state, State::kClosed);
  EXPECT_EQ(ctr().abort_on_close, 1u);
}

TEST_F(Close, Rfc1122_4_2_2_13_CloseAfterConsumingSendsFin) {
  established_active();
  in(S().seq(P).ack(L).win(10000).data("req"));
  events();
  tcp::consume(tcb, 3, now, sink);
  out();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 3).flags(kFin).win(W - 3)}));
  EXPECT_EQ(tcb.state, State::kFinWait1);
  EXPECT_EQ(ctr().abort_on_close, 0u);
}

// In CLOSE-WAIT too: the request was never read, the peer's FIN came after it.
TEST_F(Close, Rfc1122_4_2_2_13_CloseInCloseWaitWithUnconsumedDataResets) {
  established_active();
  in(S().seq(P).ack(L).win(10000).data("req").flags(kFin));
  EXPECT_EQ(tcb.state, State::kCloseWait);
  out();
  events();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  EXPECT_EQ(out(), strs({S().seq(L).flags(kRst)}));
  EXPECT_EQ(events(), V{"closed:aborted"});
  EXPECT_EQ(ctr().abort_on_close, 1u);
}

// RFC 1122 §4.2.2.13, RFC 9293 §3.6.1: new data after close() has nobody to go to: an RST
// <SEQ=SEG.ACK>, as Linux (TCPAbortOnData), in FIN-WAIT-1 and FIN-WAIT-2 alike.
TEST_F(Close, Rfc1122_4_2_2_13_DataAfterCloseIsAnsweredByRst) {
  for (const bool fin_acked : {false, true}) {
    tcb = Tcb<TestBuf>{};
    sink = RecordingSink{};
    established_active();
    ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
    out();
    if (fin_acked) {
      in(S().seq(P).ack(L + 1).win(10000));
      ASSERT_EQ(tcb.state, State::kFinWait2);
    }
    // In FIN-WAIT-1 the data crosses our FIN: its ACK is still L.
    const uint32_t ack = fin_acked ? L + 1 : L;
    in(S().seq(P).ack(ack).win(10000).data("late"));
    EXPECT_EQ(out(), strs({S().seq(ack).flags(kRst)})) << "FIN acked: " << fin_acked;
    EXPECT_EQ(events(), V{"closed:aborted"});
    EXPECT_EQ(tcb.state, State::kClosed);
    EXPECT_EQ(ctr().abort_on_data, 1u);
  }
}

// Old data (a retransmission wholly below RCV.NXT) after close is not new: the first check
// drops it with an ACK, no RST.
TEST_F(Close, Rfc1122_4_2_2_13_OldDataAfterCloseIsOnlyAcked) {
  established_active();
  in(S().seq(P).ack(L).win(10000).data("abc"));
  tcp::consume(tcb, 3, now, sink);
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  out();
  events();
  in(S().seq(P).ack(L + 1).win(10000).data("abc"));
  EXPECT_EQ(out(), strs({S().seq(L + 1).ack(P + 3).win(W - 3)}));
  EXPECT_EQ(tcb.state, State::kFinWait1);
  EXPECT_EQ(ctr().abort_on_data, 0u);
}

TEST_F(Close, FinWait2TimeoutClosesOrphan) {
  established_active();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  in(S().seq(P).ack(L + 1).win(10000));
  events();
  fire(TimerKind::kFinWait2);
  EXPECT_EQ(events(), V{"closed:finwait2_timeout"});
  EXPECT_EQ(tcb.state, State::kClosed);
}

TEST_F(Close, Rfc9293_3_6_FinAfterQueuedData) {
  established_active();
  send_str("abc");
  out();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  // The FIN follows the queued data at once (Nagle holds back small data, not a FIN).
  EXPECT_EQ(out(), strs({S().seq(L + 3).ack(P).flags(kFin).win(W)}));
  in(S().seq(P).ack(L + 3).win(10000));
  EXPECT_EQ(tcb.state, State::kFinWait1);
  in(S().seq(P).ack(L + 4).win(10000));
  EXPECT_EQ(tcb.state, State::kFinWait2);
}

TEST_F(Close, Rfc9293_3_10_4_CloseTwiceIsAnError) {
  established_active();
  ASSERT_TRUE(tcp::shutdown(tcb, now, sink).ok());
  EXPECT_EQ(tcp::shutdown(tcb, now, sink).error(), CloseError::kClosing);
}

TEST_F(Close, Rfc9293_3_10_4_CloseInSynSentDeletes) {
  syn_sent();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  EXPECT_EQ(tcb.state, State::kClosed);
  EXPECT_EQ(events(), V{"closed:normal"});
  EXPECT_TRUE(sink.timers.empty());
}

// A half-close (or a close with data queued by SEND in SYN-SENT) waits for ESTABLISHED: the
// data and then the FIN go out after the handshake, as a relay that forwards a client's
// request and FIN before its backend connection is up needs.
TEST_F(Close, Rfc9293_3_10_4_ShutdownInSynSentQueuesFinAfterHandshake) {
  syn_sent();
  out();
  send_str("abc");
  ASSERT_TRUE(tcp::shutdown(tcb, now, sink).ok());
  EXPECT_EQ(tcb.state, State::kSynSent);
  EXPECT_EQ(out(), std::vector<std::string>{});
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(8000).mss(1000));
  EXPECT_EQ(tcb.state, State::kFinWait1);
  // The handshake's ACK carries the data and the FIN.
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kFin | kPsh).win(W).data("abc")}));
  EXPECT_EQ(tcb.snd_nxt, tcb.iss + 5);  // SYN, "abc", FIN
}

TEST_F(Close, Rfc9293_3_10_5_AbortSendsRst) {
  established_active();
  send_str("abc");
  out();
  tcp::abort(tcb, sink);
  EXPECT_EQ(out(), strs({S().seq(L + 3).flags(kRst)}));
  EXPECT_EQ(events(), V{"closed:aborted"});
  EXPECT_TRUE(sink.timers.empty());
  EXPECT_EQ(tcb.sndq.bytes(), 0u);
}

TEST_F(Close, Rfc9293_3_10_7_4_RetransmittedFinInTimeWaitReAcked) {
  established_active();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  in(S().seq(P).ack(L + 1).flags(kFin).win(10000));
  out();
  in(S().seq(P).ack(L + 1).flags(kFin).win(10000));  // our ACK was lost
  EXPECT_EQ(out(), strs({S().seq(L + 1).ack(P + 1).win(W - 1)}));
}

TEST_F(Close, Rfc9293_3_10_7_4_DataAfterPeerFinIgnored) {
  established_passive();
  in(S().seq(P).ack(L).flags(kFin).win(10000));
  out();
  events();
  in(S().seq(P + 1).ack(L).win(10000).data("late"));
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(ctr().drop_data_after_close, 1u);
}

TEST_F(Close, Rfc9293_3_10_7_4_FinWithDataDeliversThenCloseWait) {
  established_passive();
  in(S().seq(P).ack(L).flags(kFin | kPsh).win(10000).data("bye"));
  EXPECT_EQ(events(), (V{"data:bye", "peer_fin"}));
  // RFC 9293 §3.8.6.2.2: the right edge stays put (3 bytes held < one MSS of new space).
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 4).win(W - 4)}));
  EXPECT_EQ(tcb.state, State::kCloseWait);
}

}  // namespace
}  // namespace tempo::tcp::test
