// Out-of-order data (RFC 9293 §3.10.7.4 seventh step), immediate ACKs for holes (RFC 5681
// §4.2) and SACK generation (RFC 2018 §4).
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class OutOfOrder : public Scenario {
 protected:
  void established_sack() {
    cfg.sack = true;
    tcp::connect(tcb, cfg, SeqNum(kIss), 0, now, sink);
    in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(10000).mss(1000).sack_perm());
    out();
    events();
  }
};

TEST_F(OutOfOrder, Rfc2018_4_OutOfOrderSegmentDrawsDupAckWithSack) {
  established_sack();
  ASSERT_TRUE(tcb.sack_ok);
  in(S().seq(P + 10).ack(L).win(10000).data("klm"));
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W).sack(P + 10, P + 13)}));
  EXPECT_EQ(ctr().ooo_queued, 1u);
}

// RFC 2018 §3 / RFC 9293 §3.7.1: a data segment that carries SACK blocks carries that much
// less payload, so it still fits the peer's MSS (Linux tcp_current_mss). Before, full segments
// went out 12 bytes past it (the Worker fuzzer found 1,512-byte IP packets).
TEST_F(OutOfOrder, Rfc2018_3_SackBlocksTakeTheirRoomFromThePayload) {
  established_sack();  // the peer's MSS: 1000
  in(S().seq(P + 10).ack(L).win(10000).data("klm"));
  out();
  send_str(std::string(2964, 'x'));
  const std::string full(1000 - 12, 'x');  // one SACK block: 12 option bytes
  EXPECT_EQ(out(),
            strs({S().seq(L).ack(P).win(W).sack(P + 10, P + 13).data(full),
                  S().seq(L + 988).ack(P).win(W).sack(P + 10, P + 13).data(full),
                  S().seq(L + 1976).ack(P).flags(kPsh).win(W).sack(P + 10, P + 13).data(full)}));
  // The hole fills: no blocks, full segments again.
  in(S().seq(P).ack(L + 2964).win(10000).data("0123456789"));
  out();
  send_str(std::string(2000, 'y'));
  const std::string y(1000, 'y');
  const uint16_t w = W - 13;  // the 13 bytes delivered are not consumed yet
  EXPECT_EQ(out(), strs({S().seq(L + 2964).ack(P + 13).win(w).data(y),
                         S().seq(L + 3964).ack(P + 13).flags(kPsh).win(w).data(y)}));
}

TEST_F(OutOfOrder, Rfc2018_4_FirstBlockIsMostRecent) {
  established_sack();
  in(S().seq(P + 10).ack(L).win(10000).data("a"));
  in(S().seq(P + 20).ack(L).win(10000).data("b"));
  in(S().seq(P + 30).ack(L).win(10000).data("c"));
  auto o = out();
  ASSERT_EQ(o.size(), 3u);
  EXPECT_EQ(o[2], S().seq(L)
                      .ack(P)
                      .win(W)
                      .sack(P + 30, P + 31)
                      .sack(P + 20, P + 21)
                      .sack(P + 10, P + 11)
                      .str());
}

TEST_F(OutOfOrder, Rfc5681_4_2_FillingTheHoleDeliversAllAndAcksAtOnce) {
  established_sack();
  in(S().seq(P + 3).ack(L).win(10000).data("def"));
  in(S().seq(P + 6).ack(L).win(10000).data("ghi"));
  out();
  in(S().seq(P).ack(L).win(10000).data("abc"));
  EXPECT_EQ(events(), (V{"data:abc", "data:def", "data:ghi"}));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P + 9).win(W - 9)}));  // no SACK: no hole left
  EXPECT_TRUE(tcb.ooo.empty());
}

TEST_F(OutOfOrder, Rfc9293_3_10_7_4_OverlappingRetransmissionTrimmed) {
  established_active();
  in(S().seq(P).ack(L).win(10000).data("abc"));
  in(S().seq(P + 5).ack(L).win(10000).data("fg"));
  events();
  in(S().seq(P + 1).ack(L).win(10000).data("bcdefgh"));  // overlaps both sides
  // The in-order part goes straight up; the queued copy of "fg" it covers is discarded.
  EXPECT_EQ(events(), V{"data:defgh"});
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P + 8));
  EXPECT_TRUE(tcb.ooo.empty());
}

TEST_F(OutOfOrder, OutOfOrderFinDroppedUntilInOrder) {
  established_active();
  in(S().seq(P + 3).ack(L).flags(kFin).win(10000).data("def"));
  EXPECT_EQ(tcb.state, State::kEstablished);
  in(S().seq(P).ack(L).win(10000).data("abc"));
  EXPECT_EQ(tcb.state, State::kEstablished);  // the FIN comes again
  in(S().seq(P + 3).ack(L).flags(kFin).win(10000).data("def"));
  EXPECT_EQ(tcb.state, State::kCloseWait);
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P + 7));
}

// Found by the fuzzer: bytes held beyond the peer's FIN must go when the FIN is taken.
TEST_F(OutOfOrder, Rfc9293_3_10_7_4_DataHeldBeyondFinDiscarded) {
  established_active();
  in(S().seq(P + 5).ack(L).win(10000).data("zz"));
  in(S().seq(P).ack(L).flags(kFin).win(10000));
  EXPECT_EQ(tcb.state, State::kCloseWait);
  EXPECT_TRUE(tcb.ooo.empty());
  EXPECT_EQ(events(), V{"peer_fin"});
}

TEST_F(OutOfOrder, QueueBoundCounted) {
  established_active();
  for (uint32_t i = 0; i < tcp::Reassembly<TestBuf>::kEntries + 2; ++i) {
    in(S().seq(P + 10 + 10 * i).ack(L).win(10000).data("x"));
  }
  EXPECT_EQ(tcb.ooo.entries(), tcp::Reassembly<TestBuf>::kEntries);
  EXPECT_EQ(ctr().drop_ooo_full, 2u);
}

TEST_F(OutOfOrder, BytesBoundCounted) {
  cfg.ooo_max_bytes = 5;
  established_active();
  in(S().seq(P + 10).ack(L).win(10000).data("12345"));
  in(S().seq(P + 20).ack(L).win(10000).data("6"));
  EXPECT_EQ(tcb.ooo.bytes(), 5u);
  EXPECT_EQ(ctr().drop_ooo_full, 1u);
}

TEST_F(OutOfOrder, Rfc9293_3_10_7_4_DataBeyondWindowTrimmed) {
  cfg.rcv_buf = 1000;
  established_active();
  in(S().seq(P + 990).ack(L).win(10000).data(std::string(20, 'z')));
  EXPECT_EQ(tcb.ooo.bytes(), 10u);
}

}  // namespace
}  // namespace tempo::tcp::test
