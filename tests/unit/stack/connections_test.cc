// Connections (lib/stack/connections.h) on real rte_hash tables and TIME_WAIT tables, no
// Worker: slots taken and given back through the free list, keys found until released, the
// burst lookup's answers used only while they still hold (a slot still keyed so, no insert
// since a miss, a TIME_WAIT table unchanged), listeners, backlogs and orphans.
#include "stack/connections.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include "common/eal_env.h"
#include "stack/endpoints.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

using TwV4 = timewait::TwTable<flow::Tuple4>;

flow::Tuple4 key(uint16_t rport) {
  return flow::Tuple4{
      .local = 0xc6120001, .remote = 0xc6120002, .local_port = 80, .remote_port = rport};
}
flow::Tuple tuple(uint16_t rport) { return flow::Tuple::of(key(rport)); }

// A frame from 198.18.0.2:rport to 198.18.0.1:80 (the peer's segment for key(rport)).
rte_mbuf* segment(uint16_t rport) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  auto* b = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 64));
  std::memset(b, 0, 64);
  b[12] = 0x08;
  b[14] = 0x45;
  b[23] = 6;
  const uint8_t src[] = {198, 18, 0, 2};
  const uint8_t dst[] = {198, 18, 0, 1};
  std::memcpy(b + 26, src, 4);
  std::memcpy(b + 30, dst, 4);
  b[34] = static_cast<uint8_t>(rport >> 8);
  b[35] = static_cast<uint8_t>(rport);
  b[37] = 80;
  return m;
}

TwV4 tw_table() {
  timewait::TwTableConfig cfg;
  cfg.max_entries = 1024;
  auto t = TwV4::create(cfg);
  EXPECT_TRUE(t);
  return std::move(*t);
}

int g_instance = 0;
Connections make(uint32_t slots) {
  Connections c;
  EXPECT_TRUE(c.init(slots, "ct" + std::to_string(g_instance++), 7).ok());
  return c;
}

TEST(Connections, SlotsAreTakenFoundAndGivenBack) {
  Connections conns = make(8);  // rte_hash's least: one bucket
  EXPECT_TRUE(conns.ready());
  std::vector<Conn*> taken;
  for (uint16_t i = 0; i < 8; ++i) {
    taken.push_back(conns.take(tuple(1000 + i)));
    ASSERT_NE(taken.back(), nullptr);
  }
  EXPECT_TRUE(conns.full());
  EXPECT_EQ(conns.take(tuple(2000)), nullptr);  // every slot in use
  EXPECT_EQ(conns.used(), 8u);
  Conn* a = taken[0];
  Conn* b = taken[1];
  EXPECT_EQ(conns.find(key(1001)), b);
  EXPECT_EQ(&conns.at(conns.slot_of(*b)), b);
  EXPECT_EQ(&conns.owner_of(b->timers[1]), b);
  conns.release(*a);
  EXPECT_EQ(conns.find(key(1000)), nullptr);
  EXPECT_FALSE(a->in_use);
  EXPECT_FALSE(conns.full());
  Conn* c = conns.take(tuple(2001));
  EXPECT_EQ(c, a);  // the freed slot is the next taken
  EXPECT_EQ(conns.find(key(2001)), a);
  EXPECT_EQ(conns.used(), 8u);
}

TEST(Connections, EachFamilyHasItsTableAndTheSlotKeepsItsTuple) {
  Connections conns = make(8);
  flow::Tuple6 t6{.local = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                  .remote = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
                  .local_port = 80,
                  .remote_port = 1000};
  Conn* v6 = conns.take(flow::Tuple::of(t6));
  Conn* v4 = conns.take(tuple(1000));  // the same ports, the other family
  ASSERT_NE(v6, nullptr);
  ASSERT_NE(v4, nullptr);
  EXPECT_TRUE(v6->v6());
  EXPECT_EQ(v6->tuple().t6, t6);
  EXPECT_EQ(v4->tuple().t4, key(1000));
  EXPECT_EQ(conns.find(t6), v6);
  EXPECT_EQ(conns.find(flow::Tuple::of(t6)), v6);
  EXPECT_EQ(conns.find(key(1000)), v4);
  conns.release(*v6);
  EXPECT_EQ(conns.find(t6), nullptr);
  EXPECT_EQ(conns.find(key(1000)), v4);
}

TEST(Connections, BurstHitsHoldWhileTheSlotKeepsItsKey) {
  Connections conns = make(8);
  TwV4 tw = tw_table();
  Conn* a = conns.take(tuple(1000));
  rte_mbuf* burst[] = {segment(1000), segment(1001)};
  conns.lookup_burst(burst, 2, tw);
  conns.handling(0);
  EXPECT_EQ(conns.find_hinted(key(1000)), a);
  EXPECT_EQ(conns.burst_hits(), 1u);
  conns.handling(1);
  EXPECT_EQ(conns.find_hinted(key(1001)), nullptr);  // the miss holds: nothing inserted
  EXPECT_EQ(conns.burst_hits(), 2u);
  // A key other than the one looked up: no hint.
  conns.handling(0);
  EXPECT_EQ(conns.find_hinted(key(1001)), nullptr);
  EXPECT_EQ(conns.burst_hits(), 2u);
  // The slot released and taken again for another tuple: the hit no longer holds.
  conns.release(*a);
  Conn* b = conns.take(tuple(1001));
  EXPECT_EQ(b, a);
  conns.handling(0);
  EXPECT_EQ(conns.find_hinted(key(1000)), nullptr);
  // An insert since the lookup: the miss no longer holds, the table answers.
  conns.handling(1);
  EXPECT_EQ(conns.find_hinted(key(1001)), b);
  EXPECT_EQ(conns.burst_hits(), 2u);
  conns.handling(std::nullopt);
  EXPECT_EQ(conns.find_hinted(key(1001)), b);  // outside a burst: the table
  rte_pktmbuf_free_bulk(burst, 2);
}

TEST(Connections, BurstMissesCarryTheirTimeWaitAnswerWhileTheTableIsUnchanged) {
  Connections conns = make(8);
  TwV4 tw = tw_table();
  const auto idx = tw.insert(key(2000), timewait::TwConn{}, Ticks{});
  ASSERT_TRUE(idx);
  rte_mbuf* burst[] = {segment(2000), segment(2001)};
  conns.lookup_burst(burst, 2, tw);
  conns.handling(0);
  EXPECT_EQ(conns.tw_hint(key(2000), tw), *idx);
  conns.handling(1);
  EXPECT_EQ(conns.tw_hint(key(2001), tw), timewait::kNoIndex);
  // The table changed: look it up again.
  ASSERT_TRUE(tw.insert(key(2001), timewait::TwConn{}, Ticks{}));
  EXPECT_EQ(conns.tw_hint(key(2001), tw), std::nullopt);
  conns.handling(0);
  EXPECT_EQ(conns.tw_hint(key(2000), tw), std::nullopt);
  rte_pktmbuf_free_bulk(burst, 2);
}

TEST(Connections, OnlyIpv4TcpIsKeyed) {
  Connections conns = make(8);
  TwV4 tw = tw_table();
  rte_mbuf* m = segment(1000);
  rte_pktmbuf_mtod(m, uint8_t*)[23] = 17;  // UDP
  conns.lookup_burst(&m, 1, tw);
  conns.handling(0);
  EXPECT_EQ(conns.tw_hint(key(1000), tw), std::nullopt);
  EXPECT_EQ(conns.find_hinted(key(1000)), nullptr);
  EXPECT_EQ(conns.burst_hits(), 0u);
  rte_pktmbuf_free(m);
}

TEST(Connections, ListenersBacklogsAndOrphans) {
  Connections conns = make(8);
  EXPECT_EQ(conns.listener(80), nullptr);
  conns.listen(80, nullptr, ConnOptions{});
  conns.listen(443, nullptr, ConnOptions{});
  Connections::Listener* l = conns.listener(80);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->port, 80);
  EXPECT_EQ(conns.listener(443)->port, 443);
  EXPECT_EQ(conns.listener(8080), nullptr);
  Conn* a = conns.take(tuple(1));
  Conn* b = conns.take(tuple(2));
  conns.enter_backlog(*a, *l);
  conns.enter_backlog(*b, *l);
  EXPECT_EQ(l->embryonic, 2u);
  conns.leave_backlog(*a);
  conns.leave_backlog(*a);  // once only
  EXPECT_EQ(l->embryonic, 1u);
  conns.orphan(*b);
  conns.orphan(*b);
  EXPECT_EQ(conns.orphans(), 1u);
  conns.release(*b);  // leaves the backlog and the orphans with its slot
  EXPECT_EQ(l->embryonic, 0u);
  EXPECT_EQ(conns.orphans(), 0u);
}

// Listeners on one port: one on an address takes precedence over the one on every address;
// a later listen() on the same port and address replaces the earlier one; unlisten() removes
// one (the other stays) and keeps its entry for the backlog it still counts.
TEST(Connections, ListenersOnAnAddressAndUnlisten) {
  Connections conns = make(8);
  const flow::Tuple t = tuple(1);
  Endpoint here = local_endpoint(t);
  Endpoint other = here;
  other.ip4.bytes[3] ^= 0x40;
  const AppHandler any_app{}, here_app{}, other_app{}, again_app{};
  EXPECT_EQ(conns.listener_for(t), nullptr);
  ASSERT_TRUE(conns.listen(t.local_port(), &any_app, ConnOptions{}));
  ASSERT_TRUE(
      conns.listen(t.local_port(), &other_app, ConnOptions{}, ListenOptions{.local = other}));
  EXPECT_EQ(conns.listener_for(t)->app, &any_app);  // `other` is not t's address
  ASSERT_TRUE(conns.listen(t.local_port(), &here_app, ConnOptions{}, ListenOptions{.local = here}));
  Connections::Listener* l = conns.listener_for(t);
  EXPECT_EQ(l->app, &here_app);
  ASSERT_TRUE(
      conns.listen(t.local_port(), &again_app, ConnOptions{}, ListenOptions{.local = here}));
  EXPECT_EQ(conns.listener_for(t), l);  // replaced in place
  EXPECT_EQ(l->app, &again_app);
  Conn* a = conns.take(t);
  conns.enter_backlog(*a, *l);
  EXPECT_TRUE(conns.unlisten(t.local_port(), here));
  EXPECT_FALSE(conns.unlisten(t.local_port(), here));  // once
  EXPECT_EQ(conns.listener_for(t)->app, &any_app);
  EXPECT_EQ(l->embryonic, 1u);  // still counted against the removed listener
  conns.leave_backlog(*a);
  EXPECT_EQ(l->embryonic, 0u);
  EXPECT_TRUE(conns.unlisten(t.local_port(), std::nullopt));
  EXPECT_EQ(conns.listener_for(t), nullptr);
  EXPECT_NE(conns.listener(t.local_port()), nullptr);  // `other` still holds the port
  EXPECT_TRUE(conns.unlisten(t.local_port(), other));
  EXPECT_EQ(conns.listener(t.local_port()), nullptr);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("connections_test"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("conns", 255, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
