// Steering (lib/stack/steering.h) through a real Mesh, no Worker: a segment's owner is the RSS
// model's queue for its tuple, the same for both directions; anything but TCP stays; batches
// arrive whole and in order; a destination with no Worker, or a ring that is full, drops and
// counts.
#include "stack/steering.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include "common/eal_env.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

// An Ethernet + IPv4 + TCP header (no options) from src:sport to dst:dport; byte 60 = tag.
rte_mbuf* tcp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t tag = 0) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  auto* b = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 64));
  std::memset(b, 0, 64);
  b[12] = 0x08;
  b[14] = 0x45;
  b[23] = 6;
  auto put32 = [&](size_t off, uint32_t v) {
    b[off] = static_cast<uint8_t>(v >> 24);
    b[off + 1] = static_cast<uint8_t>(v >> 16);
    b[off + 2] = static_cast<uint8_t>(v >> 8);
    b[off + 3] = static_cast<uint8_t>(v);
  };
  put32(26, src);
  put32(30, dst);
  b[34] = static_cast<uint8_t>(sport >> 8);
  b[35] = static_cast<uint8_t>(sport);
  b[36] = static_cast<uint8_t>(dport >> 8);
  b[37] = static_cast<uint8_t>(dport);
  b[60] = tag;
  return m;
}

const flow::RssSteering kRss(flow::kSymmetricRssKey, flow::RssSteering::default_reta(4, 128));

TEST(Steering, TheOwnerIsTheRssQueueOfTheTupleInBothDirections) {
  telemetry::StackCounters c;
  Steering s(1, c);
  int spread[4] = {};
  for (uint16_t port = 1000; port < 1200; ++port) {
    rte_mbuf* out = tcp4(0xc6120001, 0xc6120002, port, 80);
    rte_mbuf* back = tcp4(0xc6120002, 0xc6120001, 80, port);
    const uint16_t owner = s.owner_of(kRss, out);
    EXPECT_EQ(owner, kRss.queue(wire::Ipv4Addr(0xc6120001), wire::Ipv4Addr(0xc6120002), port, 80));
    EXPECT_EQ(s.owner_of(kRss, back), owner);
    ASSERT_LT(owner, 4);
    ++spread[owner];
    rte_pktmbuf_free(out);
    rte_pktmbuf_free(back);
  }
  for (int n : spread) {
    EXPECT_GT(n, 20);  // 200 tuples over 4 queues: every queue owns some
  }
}

TEST(Steering, AnythingButTcpOrAFragmentStaysHere) {
  telemetry::StackCounters c;
  Steering s(3, c);
  rte_mbuf* m = tcp4(0xc6120001, 0xc6120002, 1000, 80);
  rte_pktmbuf_mtod(m, uint8_t*)[23] = 17;  // UDP
  EXPECT_EQ(s.owner_of(kRss, m), 3);
  rte_pktmbuf_mtod(m, uint8_t*)[12] = 0x09;  // not IPv4
  EXPECT_EQ(s.owner_of(kRss, m), 3);
  rte_pktmbuf_free(m);
}

// Every fragment of a datagram goes to one Worker, by its addresses alone, whatever its offset,
// whatever bytes lie where a first fragment's ports would be (Worker::input_fragment then sends
// the reassembled datagram to its tuple's owner).
TEST(Steering, FragmentsGoByTheirAddressesAlone) {
  telemetry::StackCounters c;
  Steering s(3, c);
  int spread[4] = {};
  for (uint32_t src = 0xc6120001; src < 0xc6120001 + 200; ++src) {
    const uint16_t owner = kRss.queue(wire::Ipv4Addr(src), wire::Ipv4Addr(0xc6120002), 0, 0);
    ++spread[owner];
    for (uint16_t port = 1000; port < 1004; ++port) {
      rte_mbuf* first = tcp4(src, 0xc6120002, port, 80);
      rte_pktmbuf_mtod(first, uint8_t*)[20] = 0x20;  // MF, offset 0
      rte_mbuf* later = tcp4(src, 0xc6120002, port, 80);
      rte_pktmbuf_mtod(later, uint8_t*)[21] = 0xb9;  // offset 185 units, no MF
      EXPECT_EQ(s.owner_of(kRss, first), owner);
      EXPECT_EQ(s.owner_of(kRss, later), owner);
      rte_pktmbuf_free(first);
      rte_pktmbuf_free(later);
    }
  }
  for (int n : spread) {
    EXPECT_GT(n, 20);  // they spread over the Workers like tuples do
  }
}

TEST(Steering, BatchesArriveInOrderAndFullRingsAndUnknownWorkersDrop) {
  auto mesh = Mesh::create(2, "steertest");
  ASSERT_TRUE(mesh);
  telemetry::StackCounters c0;
  telemetry::StackCounters c1;
  Steering s0(0, c0);
  Steering s1(1, c1);
  s0.join(mesh->get());
  s1.join(mesh->get());
  ASSERT_TRUE(s0.joined());
  for (uint8_t i = 0; i < 40; ++i) {
    s0.steer(1, tcp4(1, 2, 3, 4, i));  // the first 32 leave when the batch fills
  }
  EXPECT_EQ(c0.steer_out, Steering::kBurst);
  s0.flush();
  EXPECT_EQ(c0.steer_out, 40u);
  std::vector<int> tags;
  // At most a burst per source per call.
  EXPECT_EQ(s1.receive([&](rte_mbuf* m) { tags.push_back(rte_pktmbuf_mtod(m, uint8_t*)[60]); }),
            Steering::kBurst);
  s1.receive([&](rte_mbuf* m) { tags.push_back(rte_pktmbuf_mtod(m, uint8_t*)[60]); });
  ASSERT_EQ(tags.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(tags[i], i);
  }
  EXPECT_EQ(c1.steer_in, 40u);

  s0.steer(7, tcp4(1, 2, 3, 4));  // no such Worker
  EXPECT_EQ(c0.drop_steer, 1u);

  const unsigned before = rte_mempool_avail_count(g_pool);
  for (unsigned i = 0; i < Mesh::kPacketRing + 100; ++i) {
    s0.steer(1, tcp4(1, 2, 3, 4));
  }
  s0.flush();
  EXPECT_EQ(c0.steer_out + c0.drop_steer, 40u + 1u + Mesh::kPacketRing + 100u);
  EXPECT_GE(c0.drop_steer, 1u + 100u);
  unsigned got = 0;
  s1.receive([&](rte_mbuf*) { ++got; });
  while (s1.receive([&](rte_mbuf*) { ++got; }) > 0) {
  }
  EXPECT_EQ(got, c0.steer_out - 40u);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);  // nothing leaked, dropped or delivered
}

TEST(Steering, AloneWhenTheMeshHasOneWorker) {
  auto mesh = Mesh::create(1, "steerone");
  ASSERT_TRUE(mesh);
  telemetry::StackCounters c;
  Steering s(0, c);
  s.join(mesh->get());
  EXPECT_FALSE(s.joined());
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("steering_test"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("steer", 4095, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
