// MbufBuf against real mbufs from a minimal EAL (common/eal_env.h).
#include "stack/mbuf_buf.h"

#include <array>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "common/eal_env.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

rte_mbuf* packet(const std::string& text) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(text.size()));
  text.copy(p, text.size());
  return m;
}

TEST(MbufBuf, CopiesShareOneMbufAndTheLastReleaseFreesIt) {
  const unsigned before = rte_mempool_avail_count(g_pool);
  {
    MbufBuf a(packet("hello"));
    EXPECT_EQ(rte_mempool_avail_count(g_pool), before - 1);
    MbufBuf b = a;
    MbufBuf c;
    c = b;
    EXPECT_EQ(rte_mbuf_refcnt_read(a.mbuf()), 3);
    EXPECT_EQ(a.mbuf(), c.mbuf());
    EXPECT_EQ(c.size(), 5u);
    MbufBuf d = std::move(b);
    EXPECT_EQ(b.size(), 0u);  // NOLINT: moved-from is empty by contract
    EXPECT_EQ(rte_mbuf_refcnt_read(a.mbuf()), 3);
  }
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
}

TEST(MbufBuf, ChainsAreReferencedSegmentBySegment) {
  const unsigned before = rte_mempool_avail_count(g_pool);
  {
    rte_mbuf* head = packet("abc");
    ASSERT_EQ(rte_pktmbuf_chain(head, packet("defg")), 0);
    MbufBuf a(head);
    EXPECT_EQ(a.size(), 7u);
    {
      MbufBuf b = a;
      EXPECT_EQ(rte_mbuf_refcnt_read(head->next), 2);
    }
    EXPECT_EQ(rte_mbuf_refcnt_read(head->next), 1);
    std::array<std::byte, 5> out{};
    a.copy_out(1, 5, out.data());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.data()), out.size()), "bcdef");
  }
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
}

TEST(MbufBuf, SlicesAreWindowsOnTheSameMbufs) {
  const unsigned before = rte_mempool_avail_count(g_pool);
  {
    rte_mbuf* head = packet("0123");
    ASSERT_EQ(rte_pktmbuf_chain(head, packet("456789")), 0);
    MbufBuf whole(head);
    MbufBuf mid = whole.slice(2, 6);  // "234567", across the segment boundary
    EXPECT_EQ(mid.size(), 6u);
    EXPECT_EQ(mid.mbuf(), head);
    EXPECT_EQ(rte_mempool_avail_count(g_pool), before - 2);  // nothing allocated
    MbufBuf inner = mid.slice(1, 3);                         // "345"
    std::array<std::byte, 3> out{};
    inner.copy_out(0, 3, out.data());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.data()), out.size()), "345");
    whole = MbufBuf();  // the slices keep the mbufs alive
    std::array<std::byte, 6> all{};
    mid.copy_out(0, 6, all.data());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(all.data()), all.size()), "234567");
  }
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("mbuf_buf_test"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("ut", 63, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
