// tempo::ByteQueue (tempo/byte_queue.h) on real mbufs from a minimal EAL: bytes come out in the
// order they went in, consume() drops whole Bytes and slices the one it ends inside, the ring
// grows past 8 without losing order, every reference is dropped by consume(), clear() and the
// destructor (the lent memory's release runs once, when the last Bytes went), and a move leaves
// the source empty. send_to() needs a connection: tests/interop/test_api.py runs it.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <tempo/byte_queue.h>

#include "common/eal_env.h"
#include "stack/lend.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

int g_released = 0;
void count_release(void*) { ++g_released; }

std::vector<std::byte> pattern(size_t n) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = std::byte(static_cast<uint8_t>(i * 7 + i / 251));
  }
  return v;
}

// `mem` lent as one Bytes; its release counts in g_released.
Bytes lent(const std::vector<std::byte>& mem) {
  auto chain = lend(g_pool, mem, count_release, nullptr);
  EXPECT_TRUE(chain.ok());
  return Bytes(*chain, 0, static_cast<uint32_t>(mem.size()));
}

std::vector<std::byte> drain(ByteQueue& q) {
  std::vector<std::byte> out;
  while (!q.empty()) {
    const Bytes& f = q.front();
    const size_t at = out.size();
    out.resize(at + f.size());
    EXPECT_EQ(f.copy_to(0, std::span(out).subspan(at)), f.size());
    q.consume(f.size());
  }
  return out;
}

TEST(ByteQueue, KeepsOrderAcrossGrowthAndSlicesWhatConsumeEndsInside) {
  const std::vector<std::byte> mem = pattern(100'000);
  g_released = 0;
  {
    const Bytes all = lent(mem);
    ByteQueue q;
    // 25 slices of 4,000 bytes: the ring grows 8 -> 16 -> 32.
    for (uint32_t off = 0; off < mem.size(); off += 4000) {
      q.push(all.slice(off, 4000));
    }
    q.push(Bytes());  // ignored
    EXPECT_EQ(q.buffers(), 25u);
    EXPECT_EQ(q.size(), 100'000u);
    q.consume(6'500);  // one whole slice and 2,500 of the next
    EXPECT_EQ(q.buffers(), 24u);
    EXPECT_EQ(q.size(), 93'500u);
    EXPECT_EQ(q.front().size(), 1'500u);
    const std::vector<std::byte> rest = drain(q);
    ASSERT_EQ(rest.size(), 93'500u);
    EXPECT_EQ(std::memcmp(rest.data(), mem.data() + 6'500, rest.size()), 0);
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(g_released, 0);  // `all` still refers to it
  }
  EXPECT_EQ(g_released, 1);
}

TEST(ByteQueue, ClearDestructorAndMoveDropEveryReference) {
  const std::vector<std::byte> a = pattern(10'000), b = pattern(20'000);
  g_released = 0;
  {
    ByteQueue q;
    q.push(lent(a));
    q.consume(3);  // a slice of it stays
    q.clear();
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(g_released, 1);
    q.push(lent(b));
    ByteQueue moved(std::move(q));
    EXPECT_TRUE(q.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is empty
    EXPECT_EQ(moved.size(), 20'000u);
    q.push(lent(a));  // the moved-from queue works again
    EXPECT_EQ(q.size(), 10'000u);
    EXPECT_EQ(g_released, 1);
  }
  EXPECT_EQ(g_released, 3);  // both destructors let go
}

TEST(ByteQueue, ConsumeOfMoreThanHeldEmptiesIt) {
  const std::vector<std::byte> mem = pattern(5'000);
  g_released = 0;
  ByteQueue q;
  q.push(lent(mem));
  q.consume(1'000'000);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(g_released, 1);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("byte_queue_test"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("bq", 255, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
