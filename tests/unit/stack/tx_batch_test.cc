// TxBatch (lib/stack/tx_batch.h) on a DPDK ring port alone (rte_eth_from_rings), no Worker:
// the batch never holds more than its capacity whoever pushes (a full batch is sent first),
// frames keep their order, what the TX queue refuses is freed and counted, and a fault stage
// that duplicates every frame doubles what leaves without writing past anything.
#include "stack/tx_batch.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "common/eal_env.h"
#include "common/ring_port.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

// A ring port whose TX ring holds `tx_size - 1` frames; sent() gives each frame's first byte.
struct RingPort : test::RingPort {
  explicit RingPort(unsigned tx_size)
      : test::RingPort(tx_size, g_pool), port(test::RingPort::port()) {}
  std::vector<int> sent() {
    std::vector<int> out;
    for (const auto& f : test::RingPort::sent()) {
      out.push_back(f[0]);
    }
    return out;
  }
  uint16_t port;
};

rte_mbuf* frame(uint8_t tag) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  EXPECT_NE(m, nullptr);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));
  p[0] = tag;
  return m;
}

TEST(TxBatch, APushOnAFullBatchSendsItFirst) {
  RingPort port(1024);
  telemetry::StackCounters c;
  TxBatch b(port.port, 0, c);
  const unsigned before = rte_mempool_avail_count(g_pool);
  for (int i = 0; i < 100; ++i) {
    b.push(frame(static_cast<uint8_t>(i)), Ticks{});
    ASSERT_LE(b.size(), TxBatch::kCapacity);
  }
  // Three full batches left as the fourth began; the rest waits for send().
  EXPECT_EQ(c.tx_packets, 3u * TxBatch::kCapacity);
  EXPECT_EQ(b.size(), 100 - 3 * TxBatch::kCapacity);
  b.send(Ticks{});
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(c.tx_packets, 100u);
  EXPECT_EQ(c.tx_bytes, 100u * 60);
  std::vector<int> want(100);
  for (int i = 0; i < 100; ++i) {
    want[static_cast<size_t>(i)] = i;
  }
  EXPECT_EQ(port.sent(), want);  // in push order
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
}

TEST(TxBatch, WhatTheQueueRefusesIsFreedAndCounted) {
  RingPort port(64);  // holds 63
  telemetry::StackCounters c;
  const unsigned before = rte_mempool_avail_count(g_pool);
  {
    TxBatch b(port.port, 0, c);
    for (int i = 0; i < 80; ++i) {
      b.push(frame(static_cast<uint8_t>(i)), Ticks{});
    }
    b.send(Ticks{});
  }
  EXPECT_EQ(c.tx_packets, 63u);
  EXPECT_EQ(c.tx_full, 80u - 63);
  EXPECT_EQ(port.sent().size(), 63u);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);  // nothing leaked, nothing freed twice
}

TEST(TxBatch, DestroyedWithFramesQueuedFreesThem) {
  RingPort port(64);
  telemetry::StackCounters c;
  const unsigned before = rte_mempool_avail_count(g_pool);
  {
    TxBatch b(port.port, 0, c);
    for (int i = 0; i < 10; ++i) {
      b.push(frame(static_cast<uint8_t>(i)), Ticks{});
    }
  }
  EXPECT_EQ(c.tx_packets, 0u);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
}

TEST(TxBatch, AFaultStageDuplicatingEveryFrameDoublesAFullBatch) {
  RingPort port(1024);
  telemetry::StackCounters c;
  TxBatch b(port.port, 0, c);
  FaultDirection dup;
  dup.duplicate = 1.0;
  b.set_faults(std::make_unique<MbufFaultStage>(dup, 7, &c.faults_tx));
  for (int i = 0; i < 2 * TxBatch::kCapacity; ++i) {
    b.push(frame(static_cast<uint8_t>(i)), Ticks{});
  }
  b.send(Ticks{});
  EXPECT_EQ(c.faults_tx.duplicated, 2u * TxBatch::kCapacity);
  EXPECT_EQ(c.tx_packets, 4u * TxBatch::kCapacity);
  const std::vector<int> got = port.sent();
  ASSERT_EQ(got.size(), 4u * TxBatch::kCapacity);
  EXPECT_EQ(got[0], 0);
  EXPECT_EQ(got[1], 0);
  EXPECT_EQ(got.back(), 2 * TxBatch::kCapacity - 1);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("tx_batch_test"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("txb", 1023, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
