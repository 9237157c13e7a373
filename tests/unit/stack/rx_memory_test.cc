// RxMemory (lib/stack/rx_memory.h) on real mempools, no port and no Worker: the pools' flags
// and the budget's limit as buffers are taken, how a payload is held at each level of
// pressure, and the two connection lists (charged windows turning dormant, starved windows
// reopened oldest first as far as the budget has room).
#include "stack/rx_memory.h"

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include "common/eal_env.h"

namespace tempo::stack {
namespace {

constexpr unsigned kPool = 256;

// A pool of kPool buffers (no per-lcore cache: the free count is exact) and what is taken.
struct Pool {
  Pool() {
    static int n = 0;
    pool = rte_pktmbuf_pool_create(("rxm" + std::to_string(n++)).c_str(), kPool, 0, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    EXPECT_NE(pool, nullptr);
  }
  ~Pool() {
    give_back();
    rte_mempool_free(pool);
  }
  void take(unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      taken.push_back(rte_pktmbuf_alloc(pool));
      ASSERT_NE(taken.back(), nullptr);
    }
  }
  void give_back() {
    for (rte_mbuf* m : taken) {
      rte_pktmbuf_free(m);
    }
    taken.clear();
  }
  rte_mempool* pool = nullptr;
  std::vector<rte_mbuf*> taken;
};

struct Fixture : ::testing::Test {
  Fixture() {
    iface.pool = tx.pool;
    iface.rx_pool = rx.pool;
  }
  Pool rx;
  Pool tx;
  Interface iface;
  telemetry::StackCounters counters;
};

using RxMemoryPools = Fixture;

TEST_F(RxMemoryPools, FlagsAndTheBudgetFollowTheRxPool) {
  RxMemory mem(1, counters);
  mem.init(16, 64 * 1024, 1460);
  EXPECT_EQ(mem.buffer_bytes(), 1448);  // a full segment with timestamps
  mem.sample(0, iface);
  EXPECT_FALSE(mem.pool(0).rx_tight);
  EXPECT_FALSE(mem.pool(0).rx_low);
  EXPECT_EQ(mem.budget().limit, int64_t{kPool - kPool / 8} * 1448);
  EXPECT_EQ(mem.budget().reserve, int64_t{kPool / 16} * 1448);

  rx.take(kPool / 2 + 1);  // below half free: tight
  mem.sample(0, iface);
  EXPECT_TRUE(mem.pool(0).rx_tight);
  EXPECT_FALSE(mem.pool(0).rx_low);
  rx.take(kPool / 2 - kPool / 16);  // below a sixteenth: low, and the budget below zero
  mem.sample(0, iface);
  EXPECT_TRUE(mem.pool(0).rx_low);
  EXPECT_LT(mem.budget().limit, 0);
  EXPECT_EQ(counters.rx_pressure_changes, 1u);
  rx.give_back();
  mem.sample(0, iface);
  EXPECT_FALSE(mem.pool(0).rx_low);
  EXPECT_EQ(counters.rx_pressure_changes, 2u);
}

TEST_F(RxMemoryPools, TheBudgetIsTheScarcestPorts) {
  Pool rx2;
  Interface other = iface;
  other.rx_pool = rx2.pool;
  RxMemory mem(2, counters);
  mem.init(16, 64 * 1024, 1460);
  rx2.take(100);
  mem.sample(0, iface);
  mem.sample(1, other);
  EXPECT_EQ(mem.budget().limit, int64_t{kPool - 100 - kPool / 8} * 1448);
  mem.sample(0, iface);  // sampling the fuller port again does not lift it
  EXPECT_EQ(mem.budget().limit, int64_t{kPool - 100 - kPool / 8} * 1448);
}

TEST_F(RxMemoryPools, TxFlagsFollowTheTxPool) {
  RxMemory mem(1, counters);
  tx.take(kPool - kPool / 4 + 1);
  mem.sample(0, iface);
  EXPECT_TRUE(mem.pool(0).tx_low);
  EXPECT_EQ(mem.pool(0).tx_free, kPool / 4 - 1);
}

// A frame whose bytes [14, 14 + len) are the payload.
rte_mbuf* segment(rte_mempool* pool, uint16_t len, std::byte fill) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  auto* d = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, static_cast<uint16_t>(14 + len)));
  std::memset(d + 14, static_cast<int>(fill), len);
  return m;
}
std::span<const std::byte> payload_of(rte_mbuf* m, uint16_t len) {
  return {rte_pktmbuf_mtod(m, const std::byte*) + 14, len};
}

TEST_F(RxMemoryPools, PayloadStaysInItsBufferWhenMemoryIsPlenty) {
  RxMemory mem(1, counters);
  mem.sample(0, iface);
  rte_mbuf* m = segment(rx.pool, 1000, std::byte{7});
  MbufBuf out;
  EXPECT_EQ(mem.hold(0, iface, m, payload_of(m, 1000), false, out), RxMemory::Held::kRef);
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 2);
  EXPECT_EQ(out.size(), 1000u);
  rte_pktmbuf_free(m);
  out = MbufBuf();
}

TEST_F(RxMemoryPools, SmallPayloadThatWaitsIsPackedIntoOneBuffer) {
  RxMemory mem(1, counters);
  mem.sample(0, iface);
  const unsigned before = rte_mempool_avail_count(rx.pool);
  std::array<MbufBuf, 3> out;
  for (size_t i = 0; i < out.size(); ++i) {
    rte_mbuf* m = segment(rx.pool, 100, std::byte{static_cast<unsigned char>(i + 1)});
    EXPECT_EQ(mem.hold(0, iface, m, payload_of(m, 100), true, out[i]), RxMemory::Held::kPacked);
    rte_pktmbuf_free(m);  // the RX buffer goes back at once
  }
  EXPECT_EQ(rte_mempool_avail_count(rx.pool), before - 1);  // all three in one buffer
  EXPECT_EQ(counters.tcp_rx_packed, 3u);
  std::array<std::byte, 100> b{};
  out[1].copy_out(0, 100, b.data());
  EXPECT_EQ(b[0], std::byte{2});
  // Larger than kPackMax: never packed.
  rte_mbuf* big = segment(rx.pool, RxMemory::kPackMax + 1, std::byte{9});
  MbufBuf held;
  EXPECT_EQ(mem.hold(0, iface, big, payload_of(big, RxMemory::kPackMax + 1), true, held),
            RxMemory::Held::kRef);
  rte_pktmbuf_free(big);
}

TEST_F(RxMemoryPools, UnderPressurePayloadIsCopiedOutOrDropped) {
  RxMemory mem(1, counters);
  rx.take(kPool - kPool / 16 + 1);
  mem.sample(0, iface);
  ASSERT_TRUE(mem.pool(0).rx_low);
  rte_mbuf* m = segment(tx.pool, 1000, std::byte{3});  // as received; any pool will do
  MbufBuf out;
  EXPECT_EQ(mem.hold(0, iface, m, payload_of(m, 1000), false, out), RxMemory::Held::kCopied);
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);  // not held: the RX buffer goes back
  EXPECT_EQ(out.size(), 1000u);
  out = MbufBuf();
  tx.take(kPool - kPool / 4);  // and the TX pool kept for headers: nothing to copy into
  mem.sample(0, iface);
  ASSERT_TRUE(mem.pool(0).tx_low);
  EXPECT_EQ(mem.hold(0, iface, m, payload_of(m, 1000), false, out), RxMemory::Held::kDropped);
  EXPECT_EQ(out.size(), 0u);
  EXPECT_EQ(counters.tcp_rx_copied, 1u);
  EXPECT_EQ(counters.drop_tcp_data_no_mbuf, 1u);
  rte_pktmbuf_free(m);
}

TEST(RxMemoryLists, AChargedWindowIdleForTheDormantIntervalStopsBeingCharged) {
  telemetry::StackCounters counters;
  RxMemory mem(1, counters);
  mem.init(4, 64 * 1024, 1460);
  std::vector<Conn> conns(4);
  tcp::CoreState core;  // no budget attached: settle_rcv_commit leaves rcv_commit as it is
  for (Conn& c : conns) {
    c.in_use = true;
    c.tcb.rcv_dormant = false;  // it received data
    c.tcb.rcv_commit = 1000;
  }
  conns[1].tcb.rcv_data_at = Ticks::from_ms(150);  // data later than the others
  for (uint32_t s = 0; s < 4; ++s) {
    mem.note(conns[s], s, core);
  }
  EXPECT_TRUE(mem.charged_waiting());
  mem.release_dormant(conns, Ticks::from_ms(199), core);  // none idle long enough yet
  for (const Conn& c : conns) {
    EXPECT_FALSE(c.tcb.rcv_dormant);
  }
  mem.release_dormant(conns, Ticks::from_ms(300), core);
  EXPECT_TRUE(conns[0].tcb.rcv_dormant);
  EXPECT_FALSE(conns[1].tcb.rcv_dormant);  // 150 ms idle: still charged, still listed
  EXPECT_TRUE(conns[2].tcb.rcv_dormant);
  EXPECT_TRUE(conns[3].tcb.rcv_dormant);
  EXPECT_TRUE(conns[1].charged_listed);
  EXPECT_FALSE(conns[0].charged_listed);
  mem.release_dormant(conns, Ticks::from_ms(400), core);
  EXPECT_TRUE(conns[1].tcb.rcv_dormant);
  EXPECT_FALSE(mem.charged_waiting());
}

// The Worker asks dormant_due() every turn: yes at most once per kDormantInterval, and never
// while no connection is charged.
TEST(RxMemoryLists, DormancyIsCheckedAtMostOncePerInterval) {
  telemetry::StackCounters counters;
  RxMemory mem(1, counters);
  mem.init(8, 4096, 1460);
  tcp::CoreState core;
  std::vector<Conn> conns(1);
  EXPECT_FALSE(mem.dormant_due(Ticks::from_ms(5)));  // nothing charged
  conns[0].in_use = true;
  conns[0].tcb.rcv_dormant = false;
  conns[0].tcb.rcv_commit = 4096;
  mem.note(conns[0], 0, core);
  ASSERT_TRUE(mem.charged_waiting());
  EXPECT_TRUE(mem.dormant_due(Ticks::from_ms(5)));
  EXPECT_FALSE(mem.dormant_due(Ticks::from_ms(5) + Ticks::from_us(999)));
  EXPECT_TRUE(mem.dormant_due(Ticks::from_ms(6)));
}

TEST(RxMemoryLists, StarvedWindowsReopenOldestFirstAsFarAsTheBudgetHasRoom) {
  telemetry::StackCounters counters;
  RxMemory mem(1, counters);
  mem.init(8, 64 * 1024, 1460);
  std::vector<Conn> conns(8);
  tcp::CoreState core;
  const std::array<uint32_t, 4> order = {5, 2, 7, 0};
  for (uint32_t s : order) {
    conns[s].in_use = true;
    conns[s].tcb.rcv_starved = true;
    mem.note(conns[s], s, core);
    mem.note(conns[s], s, core);  // listed once however often noted
  }
  EXPECT_EQ(counters.tcp_rcv_starved, 4u);
  ASSERT_TRUE(mem.reopen_due(Ticks::from_ms(1)));
  EXPECT_FALSE(mem.reopen_due(Ticks::from_ms(1)));  // not again within kReopenInterval

  std::vector<uint32_t> opened;
  auto open = [&](Conn& c) {
    opened.push_back(static_cast<uint32_t>(&c - conns.data()));
    c.tcb.rcv_starved = false;
    return true;
  };
  mem.budget().limit = mem.buffer_bytes() - 1;  // not room for one buffer: nobody is asked
  mem.reopen(conns, 32, open);
  EXPECT_TRUE(opened.empty());

  mem.budget().limit = 10 * mem.buffer_bytes();
  conns[2].dead = true;  // gone meanwhile: leaves the list unasked
  mem.reopen(conns, 2, open);
  EXPECT_EQ(opened, (std::vector<uint32_t>{5}));
  mem.reopen(conns, 32, open);
  EXPECT_EQ(opened, (std::vector<uint32_t>{5, 7, 0}));
  EXPECT_EQ(counters.tcp_rcv_reopened, 3u);
  EXPECT_TRUE(mem.reopen_due(Ticks::from_ms(2)) == false);  // nothing starved any more
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("rx_memory_test"));
  return RUN_ALL_TESTS();
}
