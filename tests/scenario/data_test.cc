// In-order data and ACK processing in ESTABLISHED (RFC 9293 §3.10.7.4 fifth and seventh
// checks): delivery, SND.UNA advance, the SND.WL1/SND.WL2 window update rule, delayed ACKs
// (§3.8.6.3), Nagle (§3.7.4), receiver SWS avoidance (§3.8.6.2.2), zero-copy queues.
#include <array>
#include <cstddef>
#include <span>

#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class Data : public Scenario {};

TEST_F(Data, Rfc9293_3_10_7_4_InOrderDataDeliveredAndAckDelayed) {
  established_active();
  in(S().seq(P).ack(L).win(10000).data("hello"));
  EXPECT_EQ(events(), V{"data:hello"});
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(timer(TimerKind::kDelayedAck), now + cfg.delack_timeout);
  fire(TimerKind::kDelayedAck);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 5).win(W - 5)}));
  EXPECT_EQ(ctr().delayed_acks, 1u);
}

TEST_F(Data, Rfc9293_3_8_6_3_AckEverySecondSegment) {
  established_active();
  in(S().seq(P).ack(L).win(10000).data(std::string(1000, 'a')));
  EXPECT_EQ(out(), V{});
  in(S().seq(P + 1000).ack(L).win(10000).data(std::string(1000, 'b')));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 2000).win(W - 2000)}));
  EXPECT_FALSE(timer(TimerKind::kDelayedAck).has_value());
}

TEST_F(Data, Rfc9293_3_10_7_4_DataPiggybacksAck) {
  established_active();
  in(S().seq(P).ack(L).win(10000).data("ping"));
  send_str("pong");
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 4).flags(kPsh).win(W - 4).data("pong")}));
  EXPECT_FALSE(timer(TimerKind::kDelayedAck).has_value());
}

TEST_F(Data, Rfc9293_3_10_7_4_AckAdvancesSndUnaAndStopsTimer) {
  established_active();
  send_str("abcdef");
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kPsh).win(W).data("abcdef")}));
  EXPECT_TRUE(timer(TimerKind::kRetransmit).has_value());
  in(S().seq(P).ack(L + 2).win(10000));
  EXPECT_EQ(tcb.snd_una, SeqNum(L + 2));
  EXPECT_EQ(tcb.sndq.bytes(), 4u);
  EXPECT_TRUE(timer(TimerKind::kRetransmit).has_value());  // RFC 6298 §5.3 restart
  in(S().seq(P).ack(L + 6).win(10000));
  EXPECT_EQ(tcb.sndq.bytes(), 0u);
  EXPECT_FALSE(timer(TimerKind::kRetransmit).has_value());  // RFC 6298 §5.2
}

TEST_F(Data, Rfc9293_3_10_7_4_WindowUpdateFollowsWl1Wl2) {
  established_active();
  in(S().seq(P).ack(L).win(5000));
  EXPECT_EQ(tcb.snd_wnd, 5000u);
  // An older segment (SEG.SEQ < SND.WL1) must not update the window.
  in(S().seq(P).ack(L).win(5000).data("abc"));
  EXPECT_EQ(tcb.snd_wl1, SeqNum(P));
  in(S().seq(P + 3).ack(L).win(6000));
  EXPECT_EQ(tcb.snd_wnd, 6000u);
  in(S().seq(P).ack(L).win(1).data("abc"));  // retransmitted, older SEG.SEQ
  EXPECT_EQ(tcb.snd_wnd, 6000u);
}

TEST_F(Data, Rfc9293_3_7_4_NagleHoldsSmallSegmentWhileUnacked) {
  established_active();
  send_str("a");
  send_str("b");
  send_str("c");
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kPsh).win(W).data("a")}));
  in(S().seq(P).ack(L + 1).win(10000));
  EXPECT_EQ(out(), strs({S().seq(L + 1).ack(P).flags(kPsh).win(W).data("bc")}));
}

TEST_F(Data, Rfc9293_3_7_4_NagleOffSendsAtOnce) {
  established_active();
  tcp::set_nagle(tcb, false, now, sink);
  send_str("a");
  send_str("b");
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kPsh).win(W).data("a"),
                         S().seq(L + 1).ack(P).flags(kPsh).win(W).data("b")}));
}

TEST_F(Data, Rfc9293_3_7_1_SegmentsCutAtMss) {
  established_active();  // peer MSS 1000
  send_str(std::string(2500, 'm'));
  auto o = out();
  ASSERT_EQ(o.size(), 2u);  // the 500-byte tail waits (Nagle: data outstanding)
  EXPECT_EQ(o[0], S().seq(L).ack(P).win(W).data(std::string(1000, 'm')).str());
  EXPECT_EQ(o[1], S().seq(L + 1000).ack(P).win(W).data(std::string(1000, 'm')).str());
  in(S().seq(P).ack(L + 2000).win(10000));
  EXPECT_EQ(out(), strs({S().seq(L + 2000).ack(P).flags(kPsh).win(W).data(std::string(500, 'm'))}));
}

TEST_F(Data, Rfc9293_3_8_6_SendWindowLimits) {
  established_active(/*peer_win=*/1500);
  send_str(std::string(3000, 'w'));
  // One MSS fits; the 500-byte rest of the window is a runt below max window / 2, which
  // RFC 9293 §3.8.6.2.1 (sender SWS avoidance) holds back.
  EXPECT_EQ(out().size(), 1u);
  EXPECT_EQ(tcb.flight(), 1000u);
  in(S().seq(P).ack(L + 1000).win(1500));
  EXPECT_EQ(out(), strs({S().seq(L + 1000).ack(P).win(W).data(std::string(1000, 'w'))}));
  in(S().seq(P).ack(L + 2000).win(3000));
  EXPECT_EQ(out(),
            strs({S().seq(L + 2000).ack(P).flags(kPsh).win(W).data(std::string(1000, 'w'))}));
}

TEST_F(Data, ZeroCopyRetransmissionReferencesTheSameBuffer) {
  established_active();
  TestBuf b("payload");
  ASSERT_TRUE(tcp::send(tcb, b, now, sink).ok());
  EXPECT_EQ(b.refs(), 2);  // ours and the send queue's: no copy
  in(S().seq(P).ack(L + 7).win(10000));
  EXPECT_EQ(b.refs(), 1);  // released on ACK
}

TEST_F(Data, Rfc9293_3_8_6_2_2_WindowUpdateAfterConsume) {
  cfg.rcv_buf = 4000;
  established_active();
  in(S().seq(P).ack(L).win(10000).data(std::string(1000, 'a')));
  in(S().seq(P + 1000).ack(L).win(10000).data(std::string(1000, 'b')));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 2000).win(2000)}));
  tcp::consume(tcb, 500, now, sink);  // < min(buf/2, mss): no update (SWS avoidance)
  EXPECT_EQ(out(), V{});
  tcp::consume(tcb, 1500, now, sink);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 2000).win(4000)}));
}

// Under the receive budget (RcvBudget) the window stops opening but never shrinks (RFC 9293
// §3.8.6): consuming sends no update and marks the connection starved, later ACKs keep the old
// right edge; when memory recovers the next consume opens it as far as the budget allows.
TEST_F(Data, Rfc9293_3_8_6_ReceiveBudgetHoldsTheWindowWithoutShrinking) {
  RcvBudget budget;
  cfg.rcv_buf = 4000;
  sink.core().rcv_budget = &budget;
  established_active();
  EXPECT_EQ(budget.committed, 0);  // no data yet: the window is not charged (rcv_dormant)
  in(S().seq(P).ack(L).win(10000).data(std::string(1000, 'a')));
  in(S().seq(P + 1000).ack(L).win(10000).data(std::string(1000, 'b')));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 2000).win(2000)}));
  EXPECT_EQ(budget.committed, 2000);  // what arrived is no longer owed
  budget.limit = 2000;                // nothing more may be offered
  tcp::consume(tcb, 2000, now, sink);
  EXPECT_EQ(out(), V{});  // no window update while memory is short
  EXPECT_TRUE(tcb.rcv_starved);
  in(S().seq(P + 2000).ack(L).win(10000).data(std::string(1000, 'c')));
  in(S().seq(P + 3000).ack(L).win(10000).data(std::string(1000, 'd')));
  // The edge stays at P + 4000 (advertised before): the window closes, it is not shrunk.
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 4000).win(0)}));
  EXPECT_EQ(budget.committed, 0);
  budget.limit = 3000;  // memory freed, but not all of it
  tcp::consume(tcb, 2000, now, sink);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 4000).win(3000)}));
  EXPECT_FALSE(tcb.rcv_starved);
  EXPECT_EQ(budget.committed, 3000);
}

// A connection holding little (below RcvBudget::small) may take the reserve the busy ones
// cannot: here the budget is spent, yet it reopens.
TEST_F(Data, ReceiveBudgetReserveForConnectionsHoldingLittle) {
  RcvBudget budget;
  cfg.rcv_buf = 4000;
  sink.core().rcv_budget = &budget;
  established_active();
  in(S().seq(P).ack(L).win(10000).data(std::string(1000, 'a')));
  in(S().seq(P + 1000).ack(L).win(10000).data(std::string(1000, 'b')));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 2000).win(2000)}));
  budget.limit = budget.committed;  // spent
  budget.reserve = 2000;
  budget.small = 1000;  // 2000 held: too much for the reserve
  tcp::consume(tcb, 0, now, sink);
  EXPECT_EQ(out(), V{});
  tcp::consume(tcb, 1500, now, sink);  // 500 held now
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 2000).win(3500)}));
}

// RFC 9293 §3.8.6.2.2: the window's right edge moves by at least min(RCV.BUFF / 2,
// Eff.snd.MSS), and with timestamps a full segment of the peer's carries 1,448 bytes, not
// 1,460. A budget with room for exactly one more buffer (one full segment) reopens a shut
// window by it; with the step one MSS (1,460) it never did, and a Worker whose RX pool sat at
// that edge starved its clients for good (found by the ReceiveMemory interop test).
TEST_F(Data, Rfc9293_3_8_6_2_2_ReceiveBudgetReopensByOneFullTimestampedSegment) {
  RcvBudget budget;
  cfg.timestamps = true;
  cfg.rcv_buf = 4 * 1448;
  sink.core().rcv_budget = &budget;
  syn_sent();
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(10000).mss(1460).ts(100, 0));
  ASSERT_TRUE(tcb.ts_ok);
  out();
  for (uint32_t k = 0; k < 4; ++k) {
    in(S().seq(P + k * 1448).ack(L).win(10000).ts(101 + k, 0).data(std::string(1448, 'a')));
  }
  out();
  ASSERT_EQ(tcb.rcv_adv, tcb.rcv_nxt);  // shut: the buffer is full and unread
  budget.small = 0;                     // no reserve: the budget alone decides
  budget.limit = budget.committed + 1448;
  tcp::consume(tcb, 4 * 1448, now, sink);
  EXPECT_EQ(out().size(), 1u);  // the window update
  EXPECT_EQ(distance(tcb.rcv_nxt, tcb.rcv_adv), 1448u);
  EXPECT_FALSE(tcb.rcv_starved);
}

TEST_F(Data, SendQueueFullThenWritable) {
  cfg.snd_buf = 10;
  established_active(/*peer_win=*/0);
  send_str("0123456789");
  EXPECT_EQ(tcp::send(tcb, TestBuf("x"), now, sink).error(), SendError::kQueueFull);
  EXPECT_EQ(out(), V{});  // zero window
  EXPECT_TRUE(timer(TimerKind::kPersist).has_value());
  in(S().seq(P).ack(L).win(100));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kPsh).win(W).data("0123456789")}));
  in(S().seq(P).ack(L + 10).win(100));
  EXPECT_EQ(events(), V{"writable"});
}

// A refused send hears on_writable once the queue is down to two thirds of the buffer (free
// space at least half of what is queued, as Linux's sk_stream_wspace), not at the first ACK
// that frees a byte: a sender retrying a large buffer is not refused once per ACK.
TEST_F(Data, WritableWhenTheQueueIsDownToTwoThirds) {
  cfg.snd_buf = 30;
  established_active(/*peer_win=*/100);
  send_str("012345678901234567890123456789");  // full
  EXPECT_EQ(tcp::send(tcb, TestBuf("x"), now, sink).error(), SendError::kQueueFull);
  out();
  in(S().seq(P).ack(L + 5).win(100));  // 25 queued: more than 20
  EXPECT_EQ(events(), V{});
  in(S().seq(P).ack(L + 10).win(100));  // 20 queued: two thirds
  EXPECT_EQ(events(), V{"writable"});
}

// The send queue holds 16 buffers itself; more take chunks from the Worker's pool, which the
// core reaches through its sink (CoreState::sndq_pool), and go back to it as they are
// acknowledged. Without a pool the 17th buffer is refused, however few bytes are queued.
class SendQueuePool : public Data {
 protected:
  using Queue = decltype(Tcb<TestBuf>{}.sndq);
  static constexpr uint32_t kInline = 16;

  // Queues `n` one-byte buffers behind a zero window (nothing leaves, all stay queued).
  void queue_bytes(uint32_t n) {
    cfg.nagle = false;  // when the window opens, every byte leaves at once
    established_active(/*peer_win=*/0);
    for (uint32_t k = 0; k < n; ++k) {
      send_str("x");
    }
  }

  alignas(ChunkPool::kAlign) std::array<std::byte, 2 * Queue::kChunkBytes> storage_{};
  ChunkPool pool_{std::span(storage_), Queue::kChunkBytes};
};

TEST_F(SendQueuePool, BeyondSixteenBuffersTheQueueTakesAChunkFromTheCorePool) {
  sink.core().sndq_pool = &pool_;
  queue_bytes(kInline);
  EXPECT_EQ(pool_.available(), 2u);
  send_str("y");  // the 17th
  EXPECT_EQ(tcb.sndq.entries(), kInline + 1);
  EXPECT_EQ(pool_.available(), 1u);
  in(S().seq(P).ack(L).win(1000));  // the window opens: the 17 bytes leave
  EXPECT_EQ(tcb.snd_nxt, SeqNum(L + 17));
  in(S().seq(P).ack(L + 17).win(1000));  // acknowledged: the chunk goes back
  EXPECT_EQ(tcb.sndq.entries(), 0u);
  EXPECT_EQ(pool_.available(), 2u);
}

TEST_F(SendQueuePool, WithoutAPoolTheSeventeenthBufferIsRefused) {
  queue_bytes(kInline);
  EXPECT_EQ(tcp::send(tcb, TestBuf("y"), now, sink).error(), SendError::kQueueFull);
  EXPECT_EQ(tcb.sndq.entries(), kInline);
  EXPECT_EQ(pool_.available(), 2u);  // not the core's: untouched
}

}  // namespace
}  // namespace tempo::tcp::test
