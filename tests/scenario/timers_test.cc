// Timers: RFC 6298 retransmission (Karn, backoff, give-up), RFC 9293 §3.8.6.1 zero-window
// probing (persist), RFC 1122 4.2.3.6 keepalive.
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

class Timers : public Scenario {};

TEST_F(Timers, Rfc6298_5_4_RtoRetransmitsFirstSegmentAndBacksOff) {
  established_active();
  const Ticks rto0 = detail::rto(tcb);
  send_str("abc");
  out();
  const Ticks sent = now;
  EXPECT_EQ(timer(TimerKind::kRetransmit), sent + rto0);
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kPsh).win(W).data("abc")}));
  EXPECT_EQ(timer(TimerKind::kRetransmit), now + rto0 * 2);  // RFC 6298 §5.5
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(timer(TimerKind::kRetransmit), now + rto0 * 4);
  EXPECT_EQ(ctr().rto_expired, 2u);
  EXPECT_EQ(ctr().retransmits, 2u);
}

TEST_F(Timers, Rfc6298_3_KarnNoSampleFromRetransmittedSegment) {
  established_active();  // SYN,ACK at t=100 s with no delay: first sample 0
  const Ticks srtt0 = tcb.rtt.srtt();
  send_str("abc");
  fire(TimerKind::kRetransmit);
  now = now + Ticks::from_ms(300);
  in(S().seq(P).ack(L + 3).win(10000));
  EXPECT_EQ(tcb.rtt.srtt(), srtt0);  // ambiguous: not sampled
  // A segment sent once is sampled.
  send_str("def");
  now = now + Ticks::from_ms(80);
  in(S().seq(P).ack(L + 6).win(10000));
  EXPECT_NE(tcb.rtt.srtt(), srtt0);
}

TEST_F(Timers, Rfc6298_2_RttSampleFromHandshakeSetsRto) {
  syn_sent();
  now = now + Ticks::from_ms(50);
  in(S().seq(kPeerIss).ack(kIss + 1).flags(kSyn).win(8000));
  EXPECT_EQ(tcb.rtt.srtt(), Ticks::from_ms(50));
  // SRTT + 4 * RTTVAR = 50 + 4 * 25 = 150 ms, floored at rto_min 200 ms.
  EXPECT_EQ(detail::rto(tcb), Ticks::from_ms(200));
}

TEST_F(Timers, Rfc1122_4_2_3_5_GiveUpAfterMaxRetries) {
  cfg.max_retries = 2;
  established_active();
  send_str("abc");
  fire(TimerKind::kRetransmit);
  fire(TimerKind::kRetransmit);
  events();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(events(), V{"closed:timeout"});
  EXPECT_TRUE(sink.timers.empty());
}

// An orphan (close(), not shutdown()) gives up after orphan_retries, not max_retries (Linux
// tcp_orphan_retries); a half-closed connection whose application still waits keeps going.
TEST_F(Timers, OrphanGivesUpAfterOrphanRetries) {
  cfg.max_retries = 15;
  cfg.orphan_retries = 2;
  established_active();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());  // FIN-WAIT-1, the peer gone
  out();
  fire(TimerKind::kRetransmit);
  fire(TimerKind::kRetransmit);
  events();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(events(), V{"closed:timeout"});
  EXPECT_EQ(ctr().orphan_timeouts, 1u);
}

TEST_F(Timers, HalfClosedConnectionIsNoOrphan) {
  cfg.max_retries = 4;
  cfg.orphan_retries = 2;
  established_active();
  ASSERT_TRUE(tcp::shutdown(tcb, now, sink).ok());
  for (int i = 0; i < 4; ++i) {
    fire(TimerKind::kRetransmit);
  }
  EXPECT_EQ(tcb.state, State::kFinWait1);  // past orphan_retries, still trying
  events();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(events(), V{"closed:timeout"});
  EXPECT_EQ(ctr().orphan_timeouts, 0u);
}

// A peer that holds its window shut keeps an orphan's data (and its slot) forever unless the
// probes are bounded too.
TEST_F(Timers, OrphanBehindAZeroWindowGivesUpAfterOrphanRetriesProbes) {
  cfg.orphan_retries = 3;
  established_active(/*peer_win=*/0);
  send_str("data");
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  out();
  for (int i = 0; i < 3; ++i) {
    fire(TimerKind::kPersist);
  }
  EXPECT_EQ(ctr().persist_probes, 3u);
  events();
  fire(TimerKind::kPersist);
  EXPECT_EQ(events(), V{"closed:timeout"});
  EXPECT_EQ(ctr().orphan_timeouts, 1u);
}

TEST_F(Timers, Rfc1122_4_2_3_5_SynRetriesThenTimeout) {
  cfg.syn_retries = 2;
  cfg.synack_retries = 9;  // the SYN-SENT limit is syn_retries
  syn_sent();
  out();
  fire(TimerKind::kRetransmit);
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out().size(), 2u);  // two SYN retransmissions
  events();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(events(), V{"closed:timeout"});
}

TEST_F(Timers, Rfc1122_4_2_3_5_SynAckRetriesThenTimeout) {
  cfg.syn_retries = 9;
  cfg.synack_retries = 1;  // the SYN-RECEIVED limit is synack_retries
  syn_received();
  out();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out(), strs({S().seq(kIss).ack(P).flags(kSyn | kAck).win(W).mss(1460)}));
  events();
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(events(), V{"closed:timeout"});
  EXPECT_EQ(tcb.state, State::kClosed);
}

TEST_F(Timers, Rfc6298_5_RtoGoesBackNThenAcksClockTheRest) {
  established_active();
  send_str(std::string(3000, 'r'));
  EXPECT_EQ(out().size(), 3u);
  fire(TimerKind::kRetransmit);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W).data(std::string(1000, 'r'))}));
  in(S().seq(P).ack(L + 1000).win(10000));
  // cwnd after RTO is one segment (RFC 5681 §3.1), grown by the ACK: two go out.
  EXPECT_EQ(out().size(), 2u);
}

TEST_F(Timers, Rfc9293_3_8_6_1_PersistProbesZeroWindow) {
  established_active(/*peer_win=*/0);
  send_str("data");
  EXPECT_EQ(out(), V{});
  const Ticks first = *timer(TimerKind::kPersist);
  fire(TimerKind::kPersist);
  EXPECT_EQ(out(), strs({S().seq(L - 1).ack(P).win(W)}));
  EXPECT_EQ(ctr().persist_probes, 1u);
  const Ticks gap1 = *timer(TimerKind::kPersist) - now;
  EXPECT_GT(gap1, first - Ticks::from_sec(100));  // backed off
  in(S().seq(P).ack(L).win(0));                   // still closed
  fire(TimerKind::kPersist);
  EXPECT_EQ(out().size(), 1u);
  EXPECT_EQ(tcb.state, State::kEstablished);  // RFC 1122 4.2.2.17: never give up
  in(S().seq(P).ack(L).win(100));
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).flags(kPsh).win(W).data("data")}));
  EXPECT_FALSE(timer(TimerKind::kPersist).has_value());
}

TEST_F(Timers, Rfc1122_4_2_3_6_KeepaliveProbesThenCloses) {
  cfg.keepalive = true;
  cfg.keepalive_idle = Ticks::from_sec(10);
  cfg.keepalive_interval = Ticks::from_sec(1);
  cfg.keepalive_probes = 2;
  established_active();
  const Ticks est = now;
  EXPECT_EQ(timer(TimerKind::kKeepalive), est + Ticks::from_sec(10));
  // Traffic at +5 s pushes the first probe to +15 s.
  at_ms(105000);
  in(S().seq(P).ack(L).win(10000).data("x"));
  fire(TimerKind::kDelayedAck);
  out();
  fire(TimerKind::kKeepalive);
  EXPECT_EQ(now, est + Ticks::from_sec(10));
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(timer(TimerKind::kKeepalive), Ticks::from_sec(115));
  fire(TimerKind::kKeepalive);
  EXPECT_EQ(out(), strs({S().seq(L - 1).ack(P + 1).win(W - 1)}));  // <SEQ=SND.NXT-1>
  fire(TimerKind::kKeepalive);
  EXPECT_EQ(out().size(), 1u);
  events();
  fire(TimerKind::kKeepalive);
  EXPECT_EQ(events(), V{"closed:keepalive_timeout"});
}

TEST_F(Timers, Rfc1122_4_2_3_6_AnsweredKeepaliveResetsProbes) {
  cfg.keepalive = true;
  cfg.keepalive_idle = Ticks::from_sec(10);
  cfg.keepalive_interval = Ticks::from_sec(1);
  cfg.keepalive_probes = 1;
  established_active();
  fire(TimerKind::kKeepalive);
  EXPECT_EQ(out().size(), 1u);
  in(S().seq(P).ack(L).win(10000));  // the answer
  fire(TimerKind::kKeepalive);       // at probe interval: idle again, no close
  EXPECT_EQ(tcb.state, State::kEstablished);
}

TEST_F(Timers, StaleTimerIgnored) {
  established_active();
  on_timer(tcb, TimerKind::kRetransmit, now, sink);  // never armed
  on_timer(tcb, TimerKind::kPersist, now, sink);
  EXPECT_EQ(out(), V{});
}

}  // namespace
}  // namespace tempo::tcp::test
