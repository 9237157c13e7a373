// A Worker whose connection slots are all in use (tcp.max_connections), on the real Worker
// over a ring port: with SYN cookies on, a new SYN is answered statelessly, and the connection
// takes a slot only when its ACK returns and one is free; with cookies off it is dropped.
// Either way it is counted, and the established connections are untouched. And the bound on
// orphans (tcp.max_orphans), the other way a table fills with connections nobody waits for.
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;

struct Full {
  explicit Full(SynCookies cookies) : rw(config(cookies)), peer(rw, kListen) {
    rw.introduce_peer();
    for (uint32_t i = 0; i < kSlots; ++i) {
      busy.push_back(peer.open(St::kEstablished));
    }
  }
  static RingWorkerConfig config(SynCookies cookies) {
    RingWorkerConfig cfg = peer_config();
    cfg.max_conns = kSlots;
    cfg.worker.syncookies = cookies;
    return cfg;
  }
  static constexpr uint32_t kSlots = 8;  // rte_hash's smallest table
  RingWorker rw;
  Peer peer;
  std::vector<Flow> busy;
};

Seg syn(uint16_t sport) {
  Seg s;
  s.sport = sport;
  s.dport = kListen;
  s.seq = 90000;
  s.flags = kS;
  s.win = kPeerWin;
  s.opts.has_timestamps = true;
  s.opts.tsval = kPeerTs;
  return s;
}

TEST(ConnTableFull, ASynIsAnsweredByCookieAndItsAckWaitsForASlot) {
  Full f(SynCookies::kAuto);
  ASSERT_EQ(f.rw.worker().connections(), Full::kSlots);
  f.rw.send(syn(50000));
  std::vector<Seg> got = f.rw.poll();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].has(kS | kA));
  EXPECT_EQ(got[0].ack, 90001u);
  EXPECT_EQ(f.rw.worker().counters().tcp_syncookies_table_full, 1u);
  EXPECT_EQ(f.rw.worker().connections(), Full::kSlots);  // no slot taken

  // Its ACK while the table is still full: no connection yet (the peer will retransmit).
  Seg ack;
  ack.sport = 50000;
  ack.dport = kListen;
  ack.seq = 90001;
  ack.ack = got[0].seq + 1;
  ack.flags = kA;
  ack.win = kPeerWin;
  ack.opts.has_timestamps = true;
  ack.opts.tsval = kPeerTs + 1;
  ack.opts.tsecr = got[0].opts.tsval;
  f.rw.send(ack);
  (void)f.rw.poll();
  EXPECT_EQ(f.rw.worker().connections(), Full::kSlots);
  EXPECT_EQ(f.rw.worker().tuple_state(0, f.rw.peer(50000), kListen), St::kClosed);

  // A slot frees: the retransmitted ACK opens the connection from its cookie.
  f.rw.worker().abort(*Peer::conn(f.busy[0].pport));
  (void)f.rw.poll();
  const uint64_t ok = f.rw.worker().tcp_counters().syncookies_ok;
  f.rw.send(ack);
  (void)f.rw.poll();
  EXPECT_EQ(f.rw.worker().tcp_counters().syncookies_ok, ok + 1);
  EXPECT_EQ(f.rw.worker().tuple_state(0, f.rw.peer(50000), kListen), St::kEstablished);
  // The others never noticed.
  for (size_t i = 1; i < f.busy.size(); ++i) {
    EXPECT_EQ(f.peer.state(f.busy[i]), St::kEstablished);
  }
}

TEST(ConnTableFull, WithCookiesOffASynIsDroppedAndCounted) {
  Full f(SynCookies::kOff);
  f.rw.send(syn(50001));
  EXPECT_TRUE(f.rw.poll().empty());
  EXPECT_EQ(f.rw.worker().counters().drop_tcp_conn_exhausted, 1u);
  EXPECT_EQ(f.rw.worker().counters().tcp_syncookies_table_full, 0u);
  EXPECT_EQ(f.rw.worker().connections(), Full::kSlots);
}

// Issue 19 finding 2: at the full size of the table, every slot takes a connection (the hash
// never refuses before the slots are used), and every SYN beyond is answered by a SYN cookie,
// counted as tcp.syncookies_table_full, never dropped; a cookie's ACK opens its connection
// once a slot frees.
class FullAtScale : public ::testing::TestWithParam<uint32_t> {};
TEST_P(FullAtScale, EverySlotTakesAConnectionAndTheRestGetCookies) {
  const uint32_t slots = GetParam();
  constexpr uint32_t kExtra = 50;
  RingWorkerConfig cfg = peer_config();
  cfg.max_conns = slots;
  cfg.worker.listen_backlog = slots + kExtra;  // the table, not the backlog, is what fills
  RingWorker rw(cfg);
  rw.introduce_peer();
  rw.worker().listen(kListen, Peer::handler());
  // Distinct tuples from a few peer addresses (each gets a SYN,ACK sent to its own MAC).
  auto syn_from = [](uint32_t i) {
    Seg s = syn(static_cast<uint16_t>(1024 + i % 60000));
    s.src = wire::Ipv4Addr(kPeerIp.value() + 16 + i / 60000);
    s.seq = 1000 + i;
    return s;
  };
  uint32_t real = 0;
  uint32_t cookies = 0;
  std::vector<Seg> cookie_answers;
  for (uint32_t i = 0; i < slots + kExtra;) {
    for (uint32_t n = 0; n < 2000 && i < slots + kExtra; ++n, ++i) {
      rw.send(syn_from(i));
    }
    for (Seg& s : rw.poll()) {
      ASSERT_TRUE(s.has(kS | kA)) << flag_string(s.flags);
      // A cookie SYN,ACK comes from no connection: tuple_state says so.
      if (rw.worker().connections() == slots &&
          rw.worker().tuple_state(
              0, stack::Remote{.v6 = false, .ip4 = s.dst, .ip6 = {}, .port = s.dport}, kListen) ==
              St::kClosed) {
        ++cookies;
        cookie_answers.push_back(s);
      } else {
        ++real;
      }
    }
  }
  EXPECT_EQ(real, slots);
  EXPECT_EQ(cookies, kExtra);
  EXPECT_EQ(rw.worker().connections(), slots);
  EXPECT_EQ(rw.worker().counters().tcp_syncookies_table_full, kExtra);
  EXPECT_EQ(rw.worker().counters().drop_tcp_conn_exhausted, 0u);

  // One embryonic connection goes (the peer resets it): the first cookie's ACK takes its slot.
  Seg rst = syn_from(0);
  rst.flags = kR;
  rst.seq = 1001;
  rw.send(rst);
  (void)rw.poll();
  ASSERT_EQ(rw.worker().connections(), slots - 1);
  const Seg& c = cookie_answers.front();
  Seg ack;
  ack.src = c.dst;
  ack.sport = c.dport;
  ack.dport = kListen;
  ack.seq = c.ack;
  ack.ack = c.seq + 1;
  ack.flags = kA;
  ack.win = kPeerWin;
  ack.opts.has_timestamps = true;
  ack.opts.tsval = kPeerTs + 1;
  ack.opts.tsecr = c.opts.tsval;
  rw.send(ack);
  (void)rw.poll();
  EXPECT_EQ(rw.worker().tcp_counters().syncookies_ok, 1u);
  EXPECT_EQ(rw.worker().connections(), slots);
  EXPECT_EQ(rw.worker().tuple_state(
                0, stack::Remote{.v6 = false, .ip4 = c.dst, .ip6 = {}, .port = c.dport}, kListen),
            St::kEstablished);
}
INSTANTIATE_TEST_SUITE_P(Slots, FullAtScale, ::testing::Values(1024u, 65536u));

// tcp.max_orphans: past it, a connection the application closes is reset instead of being
// left to finish (Linux tcp_max_orphans), so peers that vanish cannot pin every slot.
TEST(Orphans, ACloseBeyondMaxOrphansResets) {
  RingWorkerConfig cfg = peer_config();
  cfg.worker.max_orphans = 2;
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer peer(rw, kListen);
  std::vector<Flow> flows;
  for (int i = 0; i < 3; ++i) {
    flows.push_back(peer.open(St::kEstablished));
  }
  std::vector<uint8_t> flags;
  for (const Flow& f : flows) {
    rw.worker().close(*Peer::conn(f.pport));
    for (const Seg& s : rw.poll()) {
      flags.push_back(s.flags);
    }
  }
  EXPECT_EQ(flags, (std::vector<uint8_t>{kF | kA, kF | kA, kR}));
  EXPECT_EQ(rw.worker().orphans(), 2u);
  EXPECT_EQ(rw.worker().counters().tcp_orphans_reset, 1u);
  EXPECT_EQ(peer.state(flows[0]), St::kFinWait1);
  EXPECT_EQ(peer.state(flows[2]), St::kClosed);
  // The peer acknowledges one FIN and sends its own: TIME_WAIT frees the slot and the count.
  Flow& f = flows[0];
  rw.send(peer.seg(f, kF | kA, f.p_nxt, f.t_nxt + 1, kPeerTs + 1));
  (void)rw.poll();
  EXPECT_EQ(peer.state(f), St::kTimeWait);
  EXPECT_EQ(rw.worker().orphans(), 1u);
}

}  // namespace
}  // namespace tempo::conformance
