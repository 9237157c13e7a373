#include "flow/conn_table.h"

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/eal_env.h"

namespace tempo::flow {
namespace {

struct Conn {
  int id;
};

FlowKey4 key(uint32_t i) {
  return key_of(Tuple4{.local = 0xc6120002,
                       .remote = 0xc6120001,
                       .local_port = 80,
                       .remote_port = static_cast<uint16_t>(i)});
}

TEST(ConnTable, InsertFindEraseAgainstAModel) {
  auto t = ConnTable<FlowKey4, Conn>::create("ct_model", 4096, 0x1234, 0);
  ASSERT_TRUE(t.ok()) << t.error();
  std::vector<Conn> conns(2000);
  std::map<uint32_t, Conn*> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t i = rng() % 2000;
    conns[i].id = static_cast<int>(i);
    switch (rng() % 3) {
      case 0: {
        auto r = t->insert(key(i), &conns[i]);
        EXPECT_EQ(r.ok(), model.count(i) == 0);
        if (!r.ok()) {
          EXPECT_EQ(r.error(), TableError::kExists);
        }
        model[i] = &conns[i];
        break;
      }
      case 1:
        EXPECT_EQ(t->erase(key(i)), model.erase(i) == 1);
        break;
      default:
        EXPECT_EQ(t->find(key(i)), model.count(i) ? model[i] : nullptr);
        break;
    }
  }
  EXPECT_EQ(t->size(), model.size());
}

TEST(ConnTable, BulkLookupMatchesSingle) {
  auto t = ConnTable<FlowKey4, Conn>::create("ct_bulk", 1024, 99, 0);
  ASSERT_TRUE(t.ok());
  std::vector<Conn> conns(64);
  for (uint32_t i = 0; i < 64; i += 2) {
    ASSERT_TRUE(t->insert(key(i), &conns[i]).ok());
  }
  std::vector<FlowKey4> keys(32);
  std::vector<const FlowKey4*> ptrs(32);
  for (uint32_t i = 0; i < 32; ++i) {
    keys[i] = key(i);
    ptrs[i] = &keys[i];
  }
  std::vector<Conn*> out(32);
  t->find_bulk(ptrs.data(), 32, out.data());
  for (uint32_t i = 0; i < 32; ++i) {
    EXPECT_EQ(out[i], i % 2 == 0 ? &conns[i] : nullptr) << i;
  }
}

TEST(ConnTable, FullTableRefusesWithoutDisturbingOthers) {
  auto t = ConnTable<FlowKey4, Conn>::create("ct_full", 64, 5, 0);
  ASSERT_TRUE(t.ok());
  std::vector<Conn> conns(1000);
  uint32_t inserted = 0;
  uint32_t refused = 0;
  for (uint32_t i = 0; i < 1000; ++i) {
    auto r = t->insert(key(i), &conns[i]);
    if (r.ok()) {
      ++inserted;
    } else {
      EXPECT_EQ(r.error(), TableError::kFull);
      ++refused;
    }
  }
  EXPECT_GE(inserted, 64u);
  EXPECT_GT(refused, 0u);
  uint32_t found = 0;
  for (uint32_t i = 0; i < 1000; ++i) {
    if (Conn* c = t->find(key(i))) {
      EXPECT_EQ(c, &conns[i]);
      ++found;
    }
  }
  EXPECT_EQ(found, inserted);
}

// Issue 19 finding 2: the table holds exactly as many keys as it was made for, whatever they
// are (a plain cuckoo table refuses some inserts before it is full), and refuses the next.
class CapacityTest : public ::testing::TestWithParam<uint32_t> {};
TEST_P(CapacityTest, HoldsItsCapacityOfRandomKeys) {
  const uint32_t cap = GetParam();
  auto t = ConnTable<FlowKey4, Conn>::create("ct_cap" + std::to_string(cap), cap, 0x5eed, 0);
  ASSERT_TRUE(t.ok()) << t.error();
  std::vector<Conn> conns(cap + 1);
  std::mt19937 rng(cap);
  std::set<std::pair<uint32_t, uint32_t>> seen;
  std::vector<FlowKey4> keys;
  while (keys.size() < cap + 1) {
    const FlowKey4 k = key_of(Tuple4{.local = 0xc6120002,
                                     .remote = 0xc6120000U | static_cast<uint32_t>(rng() & 0xffff),
                                     .local_port = 80,
                                     .remote_port = static_cast<uint16_t>(rng())});
    if (seen.insert({k.remote, k.remote_port}).second) {
      keys.push_back(k);
    }
  }
  for (uint32_t i = 0; i < cap; ++i) {
    auto r = t->insert(keys[i], &conns[i]);
    ASSERT_TRUE(r.ok()) << "insert " << i << " of " << cap << " refused";
  }
  EXPECT_EQ(t->size(), cap);
  auto over = t->insert(keys[cap], &conns[cap]);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error(), TableError::kFull);
  for (uint32_t i = 0; i < cap; ++i) {
    ASSERT_EQ(t->find(keys[i]), &conns[i]);
  }
  // Slots free and fill again (churn), still to the full capacity.
  for (uint32_t i = 0; i < cap; i += 2) {
    ASSERT_TRUE(t->erase(keys[i]));
  }
  for (uint32_t i = 0; i < cap; i += 2) {
    ASSERT_TRUE(t->insert(keys[i], &conns[i]).ok()) << "re-insert " << i;
  }
  EXPECT_EQ(t->size(), cap);
}
INSTANTIATE_TEST_SUITE_P(Slots, CapacityTest, ::testing::Values(64u, 1024u, 4096u, 65536u));

TEST(ConnTable, Ipv6Keys) {
  auto t = ConnTable<FlowKey6, Conn>::create("ct_v6", 256, 1, 0);
  ASSERT_TRUE(t.ok());
  Conn a{1}, b{2};
  FlowKey6 ka{}, kb{};
  ka.local[15] = 2;
  ka.remote[15] = 1;
  ka.local_port = 80;
  ka.remote_port = 40000;
  kb = ka;
  kb.remote[0] = 0x20;
  ASSERT_TRUE(t->insert(ka, &a).ok());
  ASSERT_TRUE(t->insert(kb, &b).ok());
  EXPECT_EQ(t->find(ka), &a);
  EXPECT_EQ(t->find(kb), &b);
}

}  // namespace
}  // namespace tempo::flow

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("conn_table_test"));
  return RUN_ALL_TESTS();
}
