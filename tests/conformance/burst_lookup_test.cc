// The Worker's burst lookup (Connections::lookup_burst, lib/stack/connections.h): a burst's IPv4
// connections are looked up together before any of its segments is handled, so a segment whose
// connection an earlier segment of the same burst created or freed must not take the stale answer.
// Each case puts both segments in one RX burst (RingWorker::poll reads a burst a poll).
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;

// The first SYN creates the connection; the second, looked up as a miss before the first was
// handled, must find it (a duplicate SYN in SYN-RECEIVED), not open a second one.
TEST(BurstLookup, ASecondSynInTheBurstFindsTheConnectionTheFirstMade) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  Seg syn;
  syn.sport = 31000;
  syn.dport = kListen;
  syn.seq = 7000;
  syn.flags = kS;
  syn.win = kPeerWin;
  rw.send(syn);
  rw.send(syn);
  const std::vector<Seg> got = rw.poll();
  const auto& c = rw.worker().counters();
  EXPECT_EQ(c.tcp_passive_opens, 1u);
  EXPECT_EQ(c.drop_tcp_conn_exhausted, 0u);
  EXPECT_EQ(rw.worker().connections(), 1u);
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(got[0].has(kS | kA));
  EXPECT_EQ(got[0].ack, 7001u);
  EXPECT_EQ(rw.worker().tuple_state(0, rw.peer(31000), kListen), St::kSynReceived);
}

// The RST frees the connection; the data behind it, looked up as a hit before, must not reach
// the freed slot: it finds no connection and is answered as the listener answers an ACK (a
// reset at its acknowledgment number, RFC 9293 §3.10.7.2).
TEST(BurstLookup, DataBehindAResetInTheBurstFindsNoConnection) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  Flow f = peer.open(St::kEstablished);
  ASSERT_NE(Peer::conn(f.pport), nullptr);
  const uint64_t hits = rw.worker().burst_lookup_hits();
  rw.send(peer.seg(f, kR | kA, f.p_nxt, f.t_nxt, kPeerTs + 1));
  rw.send(peer.seg(f, kA | kP, f.p_nxt, f.t_nxt, kPeerTs + 2, "late"));
  const std::vector<Seg> got = rw.poll();
  EXPECT_EQ(rw.worker().connections(), 0u);
  EXPECT_EQ(Peer::conn(f.pport), nullptr);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kR);
  EXPECT_EQ(got[0].seq, f.t_nxt);
  // The RST itself took its hint; the data's was stale and was looked up again.
  EXPECT_EQ(rw.worker().burst_lookup_hits(), hits + 1);
}

// Segments of live connections in one burst each take their own hint.
TEST(BurstLookup, EverySegmentOfABurstOfLiveConnectionsTakesItsHint) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  std::vector<Flow> flows;
  for (int i = 0; i < 8; ++i) {
    flows.push_back(peer.open(St::kEstablished));
  }
  const uint64_t hits = rw.worker().burst_lookup_hits();
  for (const Flow& f : flows) {
    rw.send(peer.seg(f, kA | kP, f.p_nxt, f.t_nxt, kPeerTs + 1, "x"));
  }
  (void)rw.poll();
  EXPECT_EQ(rw.worker().burst_lookup_hits(), hits + flows.size());
  EXPECT_EQ(rw.worker().connections(), flows.size());
}

}  // namespace
}  // namespace tempo::conformance
