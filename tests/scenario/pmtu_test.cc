// ICMP errors in the protocol core (tcp/pmtu.h): RFC 1191 §6.5 / RFC 8201 §5.4 path MTU
// reduction (the send MSS lowered, what is in flight sent again at the new size at once, not as
// congestion), RFC 5927 §4.1's check of the quoted sequence number, and RFC 1122 §4.2.3.9 hard
// and soft errors (an abort in SYN-SENT only).
#include "tcp/pmtu.h"

#include <string>

#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

// 3,000 bytes a..z repeated: every slice is told apart by its offset.
std::string pattern(size_t n) {
  std::string s(n, 'a');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + i % 26);
  }
  return s;
}

class Pmtu : public Scenario {
 protected:
  // ESTABLISHED (peer MSS 1000), 3,000 bytes sent in three full segments, none acknowledged.
  void three_in_flight() {
    established_active();
    send_str(data);
    ASSERT_EQ(out().size(), 3u);
    ASSERT_EQ(tcb.flight(), 3000u);
  }
  PmtuVerdict ptb(uint32_t mtu, uint32_t quoted_seq, bool v6 = false) {
    return on_path_mtu(tcb, mtu, v6, SeqNum(quoted_seq), now, sink);
  }
  // The retransmissions expected from `off` on, `mss` each (a retransmission carries no PSH).
  std::vector<std::string> resent(uint32_t mss, uint32_t off = 0) const {
    std::vector<std::string> v;
    for (uint32_t o = off; o < data.size(); o += mss) {
      const uint32_t len = std::min<uint32_t>(mss, static_cast<uint32_t>(data.size()) - o);
      v.push_back(S().seq(L + o).ack(P).win(W).data(data.substr(o, len)).str());
    }
    return v;
  }
  const std::string data = pattern(3000);
};

TEST_F(Pmtu, Rfc1191_6_5_LowerMtuResendsWhatIsInFlightAtTheNewSize) {
  three_in_flight();
  const uint32_t cwnd = tcb.cc.cwnd();
  const uint32_t ssthresh = tcb.cc.ssthresh();
  at_ms(100'010);
  EXPECT_EQ(ptb(576, L + 1000), PmtuVerdict::kLowered);  // 576 - 20 - 20 = 536
  EXPECT_EQ(tcb.snd_mss, 536u);
  EXPECT_EQ(out(), resent(536));  // all 3,000 bytes from SND.UNA, in 536-byte segments
  EXPECT_EQ(tcb.snd_nxt, SeqNum(L + 3000));
  EXPECT_EQ(ctr().retransmits, 6u);
  // Not congestion (RFC 1191 §6.5, RFC 8201 §5.4): the window and threshold stay; the timer
  // restarts from now, not backed off.
  EXPECT_EQ(tcb.cc.cwnd(), cwnd);
  EXPECT_EQ(tcb.cc.ssthresh(), ssthresh);
  EXPECT_EQ(timer(TimerKind::kRetransmit), now + detail::rto(tcb));
  EXPECT_EQ(ctr().rto_expired, 0u);
  // The rest of the burst's messages (one per dropped segment) resend nothing again.
  EXPECT_EQ(ptb(576, L + 2000), PmtuVerdict::kNotLower);
  EXPECT_EQ(out(), V{});
  // New data goes out at the new size; the ACK of all is taken as usual.
  in(S().seq(P).ack(L + 3000).win(10000));
  EXPECT_EQ(tcb.flight(), 0u);
  send_str(std::string(600, 'z'));  // the short rest waits for the ACK (Nagle)
  EXPECT_EQ(out(), strs({S().seq(L + 3000).ack(P).win(W).data(std::string(536, 'z'))}));
}

TEST_F(Pmtu, Rfc5927_4_1_QuotedSequenceOutsideTheFlightIsIgnored) {
  three_in_flight();
  in(S().seq(P).ack(L + 1000).win(10000));  // SND.UNA = L + 1000
  for (const uint32_t seq : {L, L + 999, L + 3000, L + 100000, L - 5000}) {
    EXPECT_EQ(ptb(576, seq), PmtuVerdict::kBadSeq) << seq;
  }
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(tcb.snd_mss, 1000u);
  EXPECT_EQ(ptb(576, L + 2999), PmtuVerdict::kLowered);  // the last octet in flight
  EXPECT_EQ(out(), resent(536, 1000));
}

TEST_F(Pmtu, Rfc1191_6_3_MtuNotLowerThanTheConnectionsIsIgnored) {
  three_in_flight();
  // The peer's MSS (1000) is below what 1500 or 1040 allows.
  EXPECT_EQ(ptb(1500, L), PmtuVerdict::kNotLower);
  EXPECT_EQ(ptb(1040, L), PmtuVerdict::kNotLower);
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(tcb.snd_mss, 1000u);
  EXPECT_EQ(ptb(1039, L), PmtuVerdict::kLowered);
  EXPECT_EQ(tcb.snd_mss, 999u);
}

TEST_F(Pmtu, Rfc8201_Ipv6HeadersAndTimestampsComeOffTheMtu) {
  cfg.timestamps = true;
  cfg.mss = 1440;
  syn_sent();
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(10000).mss(1440).ts(1, 0));
  out();
  ASSERT_TRUE(tcb.ts_ok);
  ASSERT_EQ(tcb.snd_mss, 1428u);
  send_str("x");
  out();
  EXPECT_EQ(ptb(1280, L, true), PmtuVerdict::kLowered);
  EXPECT_EQ(tcb.snd_mss, 1280u - 40 - 20 - 12);
}

TEST_F(Pmtu, NeverBelowTheSmallestMss) {
  three_in_flight();
  EXPECT_EQ(ptb(68, L), PmtuVerdict::kLowered);
  EXPECT_EQ(tcb.snd_mss, cfg.min_snd_mss);  // the Worker's floor (552) is above this anyway
}

TEST_F(Pmtu, NothingInFlightLowersOnly) {
  established_active();
  send_str("abc");
  in(S().seq(P).ack(L + 3).win(10000));
  EXPECT_EQ(ptb(576, L + 2), PmtuVerdict::kBadSeq);  // acknowledged already
  out();
  send_str("d");
  out();
  EXPECT_EQ(ptb(576, L + 3), PmtuVerdict::kLowered);
  EXPECT_EQ(out(), strs({S().seq(L + 3).ack(P).win(W).data("d")}));  // resent
}

TEST_F(Pmtu, HandshakeLeavesTheMssToNegotiation) {
  syn_sent();
  out();
  EXPECT_EQ(ptb(576, kIss + 1), PmtuVerdict::kBadSeq);
  EXPECT_EQ(ptb(576, kIss), PmtuVerdict::kHandshake);
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(tcb.state, State::kSynSent);
  // Once negotiated, what the Worker learned is applied (apply_path_mtu).
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(10000).mss(1460));
  EXPECT_EQ(tcb.snd_mss, 1460u);
  EXPECT_TRUE(apply_path_mtu(tcb, 576, false));
  EXPECT_EQ(tcb.snd_mss, 536u);
  EXPECT_FALSE(apply_path_mtu(tcb, 1500, false));
  EXPECT_EQ(tcb.snd_mss, 536u);
}

TEST_F(Pmtu, Rfc1122_4_2_3_9_HardErrorAbortsSynSent) {
  syn_sent();
  out();
  EXPECT_EQ(on_icmp_error(tcb, true, CloseReason::kRefused, SeqNum(kIss + 1), sink),
            IcmpErrorVerdict::kBadSeq);
  EXPECT_EQ(on_icmp_error(tcb, false, CloseReason::kRefused, SeqNum(kIss), sink),
            IcmpErrorVerdict::kSoft);  // a soft error: the SYN is retried
  EXPECT_EQ(tcb.state, State::kSynSent);
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(on_icmp_error(tcb, true, CloseReason::kRefused, SeqNum(kIss), sink),
            IcmpErrorVerdict::kAborted);
  EXPECT_EQ(tcb.state, State::kClosed);
  EXPECT_EQ(events(), V{"closed:refused"});
  EXPECT_EQ(out(), V{});  // no RST: the peer never had our SYN
  EXPECT_FALSE(timer(TimerKind::kRetransmit).has_value());
}

TEST_F(Pmtu, Rfc1122_4_2_3_9_HardErrorIsSoftOnceSynchronized) {
  three_in_flight();
  EXPECT_EQ(on_icmp_error(tcb, true, CloseReason::kUnreachable, SeqNum(L), sink),
            IcmpErrorVerdict::kSoft);
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(on_icmp_error(tcb, true, CloseReason::kUnreachable, SeqNum(L + 3000), sink),
            IcmpErrorVerdict::kBadSeq);
}

TEST_F(Pmtu, Rfc1122_4_2_3_9_HardErrorIsSoftInSynReceived) {
  syn_received();
  out();
  EXPECT_EQ(on_icmp_error(tcb, true, CloseReason::kRefused, SeqNum(kIss), sink),
            IcmpErrorVerdict::kSoft);
  EXPECT_EQ(tcb.state, State::kSynReceived);
}

}  // namespace
}  // namespace tempo::tcp::test
