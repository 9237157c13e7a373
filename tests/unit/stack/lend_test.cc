// Lent memory (lib/stack/lend.h) on real mbufs from a minimal EAL: the chain covers the
// application's bytes exactly, in 60 KiB external buffers; frames the segment encoder builds
// from it carry those bytes; the release callback runs once, after the last reference of any
// kind (the application's slices, frames, a segment encoded twice as a retransmission) and not
// before; a pool short of mbufs refuses the loan and takes nothing.
#include "stack/lend.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <tempo/bytes.h>

#include "common/eal_env.h"
#include "stack/mbuf_buf.h"
#include "stack/tx_encoder.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

int g_released = 0;
void count_release(void* opaque) {
  ++g_released;
  EXPECT_EQ(opaque, &g_released);
}

std::vector<std::byte> pattern(size_t n) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = std::byte(static_cast<uint8_t>(i * 7 + i / 251));
  }
  return v;
}

std::vector<std::byte> read_all(const Bytes& b, uint32_t off, uint32_t len) {
  std::vector<std::byte> out(len);
  EXPECT_EQ(b.copy_to(off, out), len);
  return out;
}

TEST(Lend, TheChainCoversTheMemoryInChunks) {
  const std::vector<std::byte> mem = pattern(200'000);
  g_released = 0;
  auto chain = lend(g_pool, mem, count_release, &g_released);
  ASSERT_TRUE(chain);
  rte_mbuf* m = *chain;
  EXPECT_EQ(m->nb_segs, 4);  // 3 x 61,440 + 15,680
  EXPECT_EQ(rte_pktmbuf_pkt_len(m), 200'000u);
  uint32_t off = 0;
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    EXPECT_TRUE(RTE_MBUF_HAS_EXTBUF(s));
    EXPECT_EQ(rte_pktmbuf_mtod(s, const std::byte*), mem.data() + off);  // no copy
    off += s->data_len;
  }
  EXPECT_EQ(off, 200'000u);
  {
    const Bytes b(m, 0, 200'000);
    EXPECT_EQ(read_all(b, 0, 200'000), mem);
    const Bytes across = b.slice(61'000, 1'000);  // over the first chunk's end
    EXPECT_EQ(read_all(across, 0, 1'000),
              std::vector<std::byte>(mem.begin() + 61'000, mem.begin() + 62'000));
  }
  EXPECT_EQ(g_released, 1);
}

TEST(Lend, ReleaseRunsOnceAfterTheLastReferenceFramesAndRetransmissionsIncluded) {
  const unsigned before = rte_mempool_avail_count(g_pool);
  const std::vector<std::byte> mem = pattern(100'000);
  g_released = 0;
  auto chain = lend(g_pool, mem, count_release, &g_released);
  ASSERT_TRUE(chain);
  auto app = std::make_unique<Bytes>(*chain, 0, 100'000);

  // A 1,448-byte segment from offset 60,000 (across the first chunk's end), encoded twice:
  // the first transmission and a retransmission, each a frame attached by reference.
  MbufBuf::ref_chain(app->mbuf());  // the send queue's own reference, as tempo::send takes it
  auto queued = std::make_unique<MbufBuf>(app->mbuf(), 0, 100'000);
  telemetry::StackCounters n;
  TxEncoder enc(n);
  Interface i;
  i.pool = g_pool;
  TxFlow flow;
  flow.tuple = flow::Tuple::of(flow::Tuple4{
      .local = 0xc6120002, .remote = 0xc6120001, .local_port = 80, .remote_port = 40000});
  flow.dst_known = true;
  tcp::OutSegment<MbufBuf> seg;
  seg.seq = tcp::SeqNum(1);
  seg.flags = tcp::flag::kAck;
  seg.len = 1448;
  seg.refs[0] = {queued.get(), 60'000, 1448};
  seg.num_refs = 1;
  std::vector<rte_mbuf*> frames;
  for (int k = 0; k < 2; ++k) {
    const auto out = enc.encode(i, flow, seg);
    ASSERT_EQ(out.n, 1);
    frames.push_back(out.m[0]);
  }
  // The frame's payload is the memory's bytes.
  std::vector<std::byte> got(1448);
  const auto* p =
      static_cast<const std::byte*>(rte_pktmbuf_read(frames[0], 14 + 20 + 20, 1448, got.data()));
  EXPECT_EQ(std::memcmp(p, mem.data() + 60'000, 1448), 0);

  app.reset();               // the application is done with it
  queued.reset();            // acknowledged: the send queue lets go
  EXPECT_EQ(g_released, 0);  // the frames still refer to it
  rte_pktmbuf_free(frames[1]);
  EXPECT_EQ(g_released, 0);
  rte_pktmbuf_free(frames[0]);
  EXPECT_EQ(g_released, 1);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);  // the chain and the holder too
}

TEST(Lend, AShortPoolRefusesTheLoanAndTakesNothing) {
  rte_mempool* tiny = rte_pktmbuf_pool_create("lend_tiny", 3, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  ASSERT_NE(tiny, nullptr);
  const std::vector<std::byte> mem = pattern(200'000);  // 4 chunks and the holder: 5 mbufs
  g_released = 0;
  auto r = lend(tiny, mem, count_release, &g_released);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), LendError::kNoBuffers);
  EXPECT_EQ(rte_mempool_avail_count(tiny), 3u);
  EXPECT_EQ(g_released, 0);
  auto small = lend(tiny, std::span(mem).first(100'000), count_release, &g_released);  // 3 fit
  ASSERT_TRUE(small);
  rte_pktmbuf_free(*small);
  EXPECT_EQ(g_released, 1);
  EXPECT_EQ(rte_mempool_avail_count(tiny), 3u);
  EXPECT_EQ(lend(tiny, {}, count_release, &g_released).error(), LendError::kEmpty);
  rte_mempool_free(tiny);
}

// A memif zero-copy client's peer maps only the pool's DPDK memory list: there, heap memory is
// refused (nothing taken, no release) and rte_malloc's memory is lent.
TEST(Lend, PoolMemoryOnlyTakesDpdkMemoryAndRefusesTheHeap) {
  const std::vector<std::byte> heap = pattern(100'000);
  const unsigned before = rte_mempool_avail_count(g_pool);
  g_released = 0;
  auto r = lend(g_pool, heap, count_release, &g_released, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), LendError::kNotDma);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
  auto* dpdk = static_cast<std::byte*>(rte_malloc("lend_dpdk", heap.size(), 64));
  ASSERT_NE(dpdk, nullptr);
  std::memcpy(dpdk, heap.data(), heap.size());
  auto ok = lend(g_pool, std::span(dpdk, heap.size()), count_release, &g_released, true);
  ASSERT_TRUE(ok) << static_cast<int>(ok.error());
  Bytes b(*ok, 0, static_cast<uint32_t>(heap.size()));
  EXPECT_EQ(read_all(b, 0, static_cast<uint32_t>(heap.size())), heap);
  b = Bytes();
  EXPECT_EQ(g_released, 1);
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
  rte_free(dpdk);
  EXPECT_EQ(g_released, 1);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("lend_test"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("lend", 255, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
