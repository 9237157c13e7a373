// stack/cksum.h against a flat buffer: the one's-complement sum of a chain must not depend on
// where the chain is cut, odd cuts included (DPDK 22.11's rte_raw_cksum_mbuf gets these wrong).
#include "stack/cksum.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <rte_ip.h>

#include "common/eal_env.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

// `bytes` cut at `cuts` (ascending offsets) into a chain.
rte_mbuf* chain(const std::vector<uint8_t>& bytes, const std::vector<size_t>& cuts) {
  rte_mbuf* head = nullptr;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : bytes.size();
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    EXPECT_NE(m, nullptr);
    auto* p = rte_pktmbuf_append(m, static_cast<uint16_t>(to - from));
    EXPECT_NE(p, nullptr);
    std::copy(bytes.begin() + static_cast<long>(from), bytes.begin() + static_cast<long>(to),
              reinterpret_cast<uint8_t*>(p));
    if (head == nullptr) {
      head = m;
    } else {
      EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
    }
    from = to;
  }
  return head;
}

TEST(Cksum, ChainSumEqualsFlatSumWhereverCut) {
  std::mt19937 rng(7);
  for (int round = 0; round < 500; ++round) {
    std::vector<uint8_t> bytes(1 + rng() % 3000);
    for (auto& b : bytes) {
      b = static_cast<uint8_t>(rng());
    }
    std::vector<size_t> cuts;
    size_t at = 0;
    for (;;) {
      at += 1 + rng() % 700;  // odd and even segment lengths alike, each within an mbuf
      if (at >= bytes.size()) {
        break;
      }
      cuts.push_back(at);
    }
    rte_mbuf* m = chain(bytes, cuts);
    const uint32_t off = static_cast<uint32_t>(rng() % bytes.size());
    const uint32_t len = static_cast<uint32_t>(bytes.size()) - off;
    EXPECT_EQ(raw_cksum_chain(m, off, len), rte_raw_cksum(bytes.data() + off, len))
        << "round " << round << " size " << bytes.size() << " off " << off;
    rte_pktmbuf_free(m);
  }
}

TEST(Cksum, SumWithCarriesAcrossAnOddCut) {
  // All-0xff bytes make every partial sum carry: a truncated carry shows at once.
  std::vector<uint8_t> bytes(1461, 0xff);
  bytes[0] = 0x01;
  rte_mbuf* m = chain(bytes, {1, 730});
  EXPECT_EQ(raw_cksum_chain(m, 0, 1461), rte_raw_cksum(bytes.data(), 1461));
  rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("cksum"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("ck", 255, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
