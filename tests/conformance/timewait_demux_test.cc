// TIME_WAIT in the real demultiplexer (lib/stack/worker_tcp.cc, the verdict lib/stack/demux.h) on a
// ring port and a virtual clock: the record goes only when a listener takes the SYN (DESIGN.md,
// "TIME_WAIT: the rules the stack keeps"), and the ACKs TIME_WAIT sends for segments without data
// are rate limited (RFC 5961 §7, Linux tcp_oow_rate_limited).
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;

RingWorkerConfig base_config() {
  RingWorkerConfig cfg = peer_config();
  cfg.tw.max_entries = 10000;
  return cfg;
}

struct Bench {
  explicit Bench(const RingWorkerConfig& cfg = base_config()) : rw(cfg), peer(rw, kListen) {
    rw.introduce_peer();
  }
  RingWorker rw;
  Peer peer;
  timewait::TwCounters tw() { return rw.worker().tw_counters(); }
};

// An active open from tempo to the peer's `port`, closed by tempo first: TIME_WAIT on
// tempo's side for (tempo's ephemeral port, port). No listener serves the ephemeral port.
Flow active_time_wait(Bench& b) {
  Flow f = b.peer.open(St::kSynSent);
  b.rw.send(b.peer.seg(f, kS | kA, 0x40000000u, f.t_nxt, kPeerTs));
  f.irs = 0x40000000u;
  f.p_nxt = f.irs + 1;
  f.t_una = f.t_nxt;
  b.peer.one(f, kA);
  Conn* c = Peer::conn(f.pport);
  EXPECT_NE(c, nullptr);
  b.rw.worker().close(*c);
  b.peer.one(f, kF | kA);
  f.t_nxt += 1;
  b.rw.send(b.peer.seg(f, kF | kA, f.p_nxt, f.t_nxt, kPeerTs));
  f.p_nxt += 1;
  b.peer.one(f, kA);
  EXPECT_EQ(b.peer.state(f), St::kTimeWait);
  return f;
}

// Defect: an RFC 6191 verdict removed the record before anything replaced it. A SYN with a
// newer TSval for an actively opened tuple (no listener on tempo's ephemeral port) is now
// answered from TIME_WAIT, and the record, its ISS floor and its reuse age stay.
TEST(TimeWaitDemux, ReusingSynWithNoListenerKeepsTheRecord) {
  Bench b;
  Flow f = active_time_wait(b);
  b.rw.send(b.peer.seg(f, kS, f.p_nxt + 1000, 0, kPeerTs + 100));
  const std::vector<Seg> got = b.peer.replies(f, b.rw.now() + Ticks::from_ms(1));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kA);
  EXPECT_EQ(got[0].seq, f.t_nxt);
  EXPECT_EQ(got[0].ack, f.p_nxt);
  EXPECT_EQ(b.peer.state(f), St::kTimeWait);
  EXPECT_EQ(b.tw().passive_reuse_no_listener, 1u);
  EXPECT_EQ(b.tw().passive_reuse_accepted, 0u);
}

// The listener has no free slot and SYN cookies are off: the SYN is dropped (the peer
// retries) and the record stays; once a slot frees, the retried SYN reopens the tuple and the
// record goes. (With cookies on, a full table answers by cookie: conn_table_full_test.cc.)
TEST(TimeWaitDemux, ReusingSynWithNoFreeSlotKeepsTheRecordUntilOneFrees) {
  RingWorkerConfig cfg = base_config();
  cfg.max_conns = 8;  // rte_hash's smallest table
  cfg.worker.syncookies = SynCookies::kOff;
  Bench b(cfg);
  Flow old = b.peer.open(St::kTimeWait);  // its slot is free again
  std::vector<Flow> busy;
  for (uint32_t i = 0; i < cfg.max_conns; ++i) {
    busy.push_back(b.peer.open(St::kEstablished));
  }
  const Seg syn = b.peer.seg(old, kS, old.p_nxt + 1000, 0, kPeerTs + 100);
  b.rw.send(syn);
  EXPECT_TRUE(b.peer.replies(old, b.rw.now() + Ticks::from_ms(1)).empty());
  EXPECT_EQ(b.peer.state(old), St::kTimeWait);
  EXPECT_EQ(b.tw().passive_reuse_not_taken, 1u);
  EXPECT_EQ(b.rw.worker().counters().drop_tcp_conn_exhausted, 1u);

  b.rw.worker().abort(*Peer::conn(busy[0].pport));
  b.rw.send(syn);
  const std::vector<Seg> got = b.peer.replies(old, b.rw.now() + Ticks::from_ms(1));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kS | kA);
  EXPECT_EQ(got[0].ack, syn.seq + 1);
  // RFC 6191 §2: the new ISS lies beyond the old connection's sequence space.
  EXPECT_GT(static_cast<int32_t>(got[0].seq - (old.t_nxt + 65535)), 0);
  EXPECT_EQ(b.peer.state(old), St::kSynReceived);
  EXPECT_EQ(b.tw().passive_reuse_accepted, 1u);
}

// A SYN cookie answer is the one case where the record goes with no connection yet: the
// cookie's returning ACK must find no record, and it opens the connection.
TEST(TimeWaitDemux, ReusingSynAnsweredByCookieRemovesTheRecord) {
  RingWorkerConfig cfg = base_config();
  cfg.worker.syncookies = SynCookies::kAlways;
  Bench b(cfg);
  Flow old = b.peer.open(St::kTimeWait);  // opened by a cookie too
  EXPECT_EQ(b.tw().passive_reuse_accepted, 0u);
  const uint64_t cookies_before = b.rw.worker().tcp_counters().syncookies_ok;
  const Seg syn = b.peer.seg(old, kS, old.p_nxt + 1000, 0, kPeerTs + 100);
  b.rw.send(syn);
  const std::vector<Seg> got = b.peer.replies(old, b.rw.now() + Ticks::from_ms(1));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kS | kA);
  EXPECT_EQ(b.peer.state(old), St::kClosed);
  EXPECT_EQ(b.tw().passive_reuse_accepted, 1u);
  Flow f = old;
  f.p_nxt = syn.seq + 1;
  f.t_nxt = got[0].seq + 1;
  f.tempo_ts = got[0].opts.tsval;
  b.rw.send(b.peer.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs + 100));
  EXPECT_TRUE(b.peer.replies(f, b.rw.now() + Ticks::from_ms(1)).empty());
  EXPECT_EQ(b.peer.state(f), St::kEstablished);
  EXPECT_EQ(b.rw.worker().tcp_counters().syncookies_ok - cookies_before, 1u);
}

// Defect: 3000 out-of-window pure ACKs to one tuple in TIME_WAIT drew 3000 ACKs (Linux: 1).
TEST(TimeWaitDemux, AcksForSegmentsWithoutDataAreRateLimitedPerEntry) {
  Bench b;
  Flow f = b.peer.open(St::kTimeWait);
  size_t answered = 0;
  for (int burst = 0; burst < 3; ++burst) {
    for (int i = 0; i < 1000; ++i) {
      b.rw.send(b.peer.seg(f, kA, f.p_nxt + 5000 + static_cast<uint32_t>(i), f.t_nxt, kPeerTs));
    }
    answered += b.peer.replies(f, b.rw.now() + Ticks::from_ms(1)).size();
  }
  EXPECT_EQ(answered, 1u);
  EXPECT_EQ(b.tw().acks_rate_limited, 2999u);
  EXPECT_EQ(b.tw().dup_acked, 3000u);
  // Spaced by at least 384 ms (Linux: 500 ms): one more ACK after 600 ms, none after 100 ms.
  b.rw.run_until(b.rw.now() + Ticks::from_ms(100));
  b.rw.send(b.peer.seg(f, kA, f.p_nxt + 9000, f.t_nxt, kPeerTs));
  EXPECT_TRUE(b.peer.replies(f, b.rw.now() + Ticks::from_ms(1)).empty());
  b.rw.run_until(b.rw.now() + Ticks::from_ms(600));
  b.rw.send(b.peer.seg(f, kA, f.p_nxt + 9000, f.t_nxt, kPeerTs));
  EXPECT_EQ(b.peer.replies(f, b.rw.now() + Ticks::from_ms(1)).size(), 1u);
  // A refused SYN and a PAWS failure are limited the same way.
  b.rw.send(b.peer.seg(f, kS, f.p_nxt - 10, 0, kPeerTs - 1));
  b.rw.send(b.peer.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs - 1));
  EXPECT_TRUE(b.peer.replies(f, b.rw.now() + Ticks::from_ms(1)).empty());
  EXPECT_EQ(b.tw().acks_rate_limited, 3002u);
}

// A retransmitted FIN (the peer lost our last ACK: the LAST-ACK hazard) is always answered.
TEST(TimeWaitDemux, RetransmittedFinIsNeverRateLimited) {
  Bench b;
  Flow f = b.peer.open(St::kTimeWait);
  for (int i = 0; i < 5; ++i) {
    b.rw.send(b.peer.seg(f, kF | kA, f.p_nxt - 1, f.t_nxt, kPeerTs));
  }
  const std::vector<Seg> got = b.peer.replies(f, b.rw.now() + Ticks::from_ms(1));
  ASSERT_EQ(got.size(), 5u);
  for (const Seg& s : got) {
    EXPECT_EQ(s.flags, kA);
    EXPECT_EQ(s.ack, f.p_nxt);
  }
  EXPECT_EQ(b.tw().fin_reacked, 5u);
  EXPECT_EQ(b.tw().acks_rate_limited, 0u);
}

// The per-core RFC 5961 §7 budget bounds what all TIME_WAIT entries together send.
TEST(TimeWaitDemux, AllEntriesShareThePerCoreBudget) {
  RingWorkerConfig cfg = base_config();
  cfg.worker.challenge_ack_limit_per_sec = 10;
  Bench b(cfg);
  std::vector<Flow> flows;
  for (int i = 0; i < 30; ++i) {
    flows.push_back(b.peer.open(St::kTimeWait));
  }
  b.rw.run_until(b.rw.now() + Ticks::from_sec(1));  // a fresh budget
  for (const Flow& f : flows) {
    b.rw.send(b.peer.seg(f, kA, f.p_nxt + 5000, f.t_nxt, kPeerTs));
  }
  const size_t answered = b.rw.run_until(b.rw.now() + Ticks::from_ms(1)).size();
  EXPECT_EQ(answered, 10u);
  EXPECT_EQ(b.tw().acks_rate_limited, 20u);
}

}  // namespace
}  // namespace tempo::conformance
