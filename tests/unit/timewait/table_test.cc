// TwTable against a reference model (std::map) under random operations, for IPv4 and IPv6, and
// the bound (both on_full policies), a forced cuckoo placement failure (both on_full policies),
// apply(), expiry order and the counters.
#include "timewait/table.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace tempo::timewait {
namespace {

template <class Tuple>
Tuple make_tuple(uint32_t id);

template <>
flow::Tuple4 make_tuple<flow::Tuple4>(uint32_t id) {
  flow::Tuple4 t;
  t.local = 0x020012c6;  // 198.18.0.2 as on the wire (little-endian host)
  t.remote = 0x010012c6 + ((id >> 16) << 24);
  t.local_port = 0x5000;
  t.remote_port = static_cast<uint16_t>(id);
  return t;
}

template <>
flow::Tuple6 make_tuple<flow::Tuple6>(uint32_t id) {
  flow::Tuple6 t;
  t.local = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  t.remote = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::memcpy(&t.remote[8], &id, sizeof id);
  t.local_port = 0x5000;
  t.remote_port = static_cast<uint16_t>(id * 7);
  return t;
}

uint32_t id_of(const flow::Tuple4& t) { return ((t.remote >> 24) - 0x01) << 16 | t.remote_port; }
uint32_t id_of(const flow::Tuple6& t) {
  uint32_t id;
  std::memcpy(&id, &t.remote[8], sizeof id);
  return id;
}

TwConn conn_for(uint32_t id) {
  TwConn c;
  c.snd_nxt = id * 3;
  c.rcv_nxt = id * 5;
  c.ts_recent = id;
  c.flags = TwConn::kTsOk;
  return c;
}

constexpr Ticks kDuration = Ticks::from_ms(1000);

TwTableConfig config(uint32_t max_entries, TwOnFull on_full, uint64_t seed = 0x1234567890abcdef) {
  TwTableConfig cfg;
  cfg.max_entries = max_entries;
  cfg.on_full = on_full;
  cfg.policy.duration = kDuration;
  cfg.seed = seed;
  return cfg;
}

template <class Tuple>
class TimewaitTable : public ::testing::Test {};
using Tuples = ::testing::Types<flow::Tuple4, flow::Tuple6>;
TYPED_TEST_SUITE(TimewaitTable, Tuples);

struct ModelEntry {
  uint32_t expire_ms;
  uint64_t order;  // insert/restart order: FIFO and eviction order
  uint32_t idx;
};

// The counters at the end go to *end when given.
template <class Tuple>
void run_random_ops(TwOnFull on_full, uint32_t max_entries, uint32_t pool, uint32_t seed,
                    TwCounters* end = nullptr) {
  auto created = TwTable<Tuple>::create(config(max_entries, on_full, seed));
  ASSERT_TRUE(created.ok());
  TwTable<Tuple>& table = *created;
  std::map<uint32_t, ModelEntry> model;
  std::mt19937 rng(seed);
  uint64_t order = 0;
  uint64_t evicted = 0, refused = 0, entered = 0, expired = 0, erased = 0;
  Ticks now = Ticks::from_sec(1);
  auto oldest = [&] {
    auto best = model.begin();
    for (auto it = model.begin(); it != model.end(); ++it) {
      if (it->second.order < best->second.order) {
        best = it;
      }
    }
    return best;
  };

  for (int op = 0; op < 60000; ++op) {
    const uint32_t id = rng() % pool;
    const Tuple t = make_tuple<Tuple>(id);
    const uint32_t kind = rng() % 100;
    if (kind < 40) {
      auto r = table.insert(t, conn_for(id), now);
      if (model.count(id) != 0) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error(), TwInsertError::kExists);
        continue;
      }
      if (model.size() == max_entries) {
        if (on_full == TwOnFull::kRefuse) {
          ASSERT_FALSE(r.ok());
          EXPECT_EQ(r.error(), TwInsertError::kFull);
          ++refused;
          continue;
        }
        const auto victim = oldest();
        EXPECT_EQ(table.find(make_tuple<Tuple>(victim->first)), kNoIndex);
        model.erase(victim);
        ++evicted;
      }
      ASSERT_TRUE(r.ok());
      model[id] = {ms32_ceil(now + kDuration), order++, *r};
      ++entered;
    } else if (kind < 60) {
      const uint32_t idx = table.find(t);
      const auto it = model.find(id);
      if (it == model.end()) {
        EXPECT_EQ(idx, kNoIndex);
      } else {
        ASSERT_EQ(idx, it->second.idx);
        EXPECT_TRUE(table.at(idx).tuple == t);
        EXPECT_EQ(table.at(idx).conn.rcv_nxt, conn_for(id).rcv_nxt);
        EXPECT_EQ(table.at(idx).expire_ms, it->second.expire_ms);
      }
    } else if (kind < 70) {
      const auto it = model.find(id);
      if (it != model.end()) {
        table.erase(it->second.idx);
        model.erase(it);
        ++erased;
      }
    } else if (kind < 80) {
      const auto it = model.find(id);
      if (it != model.end()) {
        table.restart(it->second.idx, now);
        it->second.expire_ms = ms32_ceil(now + kDuration);
        it->second.order = order++;
      }
    } else if (kind < 95) {
      // Mostly small steps (the bound is reached), sometimes past the whole duration.
      now += rng() % 200 == 0 ? Ticks::from_ms(1500) : Ticks::from_us(rng() % 4000);
      std::vector<uint32_t> got;
      table.expire(now, [&](const TwRecord<Tuple>& r) { got.push_back(id_of(r.tuple)); });
      std::vector<std::pair<uint64_t, uint32_t>> due;
      for (const auto& [mid, e] : model) {
        if (static_cast<int32_t>(ms32(now) - e.expire_ms) >= 0) {
          due.push_back({e.order, mid});
        }
      }
      std::sort(due.begin(), due.end());
      std::vector<uint32_t> want;
      for (const auto& d : due) {
        want.push_back(d.second);
        model.erase(d.second);
      }
      ASSERT_EQ(got, want);
      expired += want.size();
    } else {
      std::vector<Tuple> keys;
      for (int i = 0; i < 37; ++i) {
        keys.push_back(make_tuple<Tuple>(rng() % pool));
      }
      std::vector<uint32_t> out(keys.size());
      table.find_bulk(keys, out);
      for (size_t i = 0; i < keys.size(); ++i) {
        const auto it = model.find(id_of(keys[i]));
        EXPECT_EQ(out[i], it == model.end() ? kNoIndex : it->second.idx);
      }
    }
    ASSERT_EQ(table.size(), model.size());
  }
  const TwCounters& c = table.counters();
  EXPECT_EQ(c.entered, entered);
  EXPECT_EQ(c.evicted, evicted);
  EXPECT_EQ(c.refused_full, refused);
  EXPECT_EQ(c.expired, expired);
  EXPECT_EQ(c.erased, erased);
  EXPECT_EQ(c.entered - c.expired - c.evicted - c.erased, table.size());
  if (on_full == TwOnFull::kRefuse) {
    EXPECT_EQ(c.evicted, 0u);
  } else {
    EXPECT_EQ(c.refused_full, 0u);
  }
  EXPECT_GT(expired, 0u);
  if (end != nullptr) {
    *end = c;
  } else {  // the bound was really reached in these runs
    EXPECT_GT(on_full == TwOnFull::kRefuse ? refused : evicted, 0u);
  }
  for (const auto& [id, e] : model) {
    EXPECT_EQ(table.find(make_tuple<Tuple>(id)), e.idx);
  }
  if (!model.empty()) {
    const auto next = table.next_expiry(now);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(ms32(*next), oldest()->second.expire_ms);
  }
}

TYPED_TEST(TimewaitTable, RandomOpsMatchModelEvictOldest) {
  run_random_ops<TypeParam>(TwOnFull::kEvictOldest, 500, 3000, 1);
}

TYPED_TEST(TimewaitTable, RandomOpsMatchModelRefuse) {
  run_random_ops<TypeParam>(TwOnFull::kRefuse, 500, 3000, 2);
}

// The same model with a bound far above what it holds: the index grows past its first 64
// buckets (576 entries) and shrinks again after the long steps of time, and slab chunks empty,
// with the model checked after every operation, during the resizes too.
TYPED_TEST(TimewaitTable, RandomOpsMatchModelAcrossResizes) {
  TwCounters end;
  run_random_ops<TypeParam>(TwOnFull::kEvictOldest, 100000, 6000, 3, &end);
  EXPECT_GE(end.index_resizes, 4u) << "grown twice and shrunk twice at least";
  EXPECT_GT(end.slab_released, 0u);
}

// Memory follows occupancy (issue 23): with the default bound (4M), the index grows with the
// entries held, a bucket at a time per insert, and after they expire it shrinks back to 64
// buckets and the slab chunks they used are given back.
TYPED_TEST(TimewaitTable, IndexAndSlabFollowOccupancy) {
  constexpr uint32_t kHeld = 300000;
  auto t = TwTable<TypeParam>::create(config(4000000, TwOnFull::kRefuse, 99));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->bucket_count(), 64u);
  EXPECT_EQ(t->bucket_count_at_bound(), 444445u);
  const size_t empty_bytes = t->backed_bytes();
  EXPECT_LE(empty_bytes, 4096u);
  const Ticks t0 = Ticks::from_sec(10);
  std::mt19937 rng(11);
  for (uint32_t id = 1; id <= kHeld; ++id) {
    const bool was_resizing = t->resizing();
    const uint32_t left = t->buckets_to_move();
    ASSERT_TRUE(t->insert(make_tuple<TypeParam>(id), conn_for(id), t0).ok()) << id;
    if (was_resizing && t->resizing()) {
      // One bucket moved per insert, never the whole old index at once.
      ASSERT_EQ(t->buckets_to_move(), left - 1) << id;
    }
    if (id % 9973 == 0) {  // every entry so far is found, during resizes too
      for (int i = 0; i < 200; ++i) {
        const uint32_t probe = 1 + rng() % id;
        const uint32_t idx = t->find(make_tuple<TypeParam>(probe));
        ASSERT_NE(idx, kNoIndex) << probe;
        EXPECT_TRUE(t->at(idx).tuple == make_tuple<TypeParam>(probe));
        EXPECT_EQ(t->find(make_tuple<TypeParam>(kHeld + probe)), kNoIndex);
      }
    }
  }
  EXPECT_GE(t->counters().index_resizes, 10u);  // 64 * 1.5^k reaches 300000 / 9 at k = 10
  // Load between 60% and 90% (90% / 1.5), the old index gone or nearly moved.
  EXPECT_GE(t->bucket_count(), kHeld / 9);
  EXPECT_LE(t->bucket_count(), kHeld * 10 / 6);
  const size_t full_bytes = t->backed_bytes();
  EXPECT_LE(full_bytes, kHeld * (sizeof(TwRecord<TypeParam>) + 64.0 / 6 + 64.0 / 9) +
                            TwTable<TypeParam>::kChunkRecords * sizeof(TwRecord<TypeParam>));
  EXPECT_EQ(t->counters().evicted, 0u);

  // All expire, at most 1000 per pass; each pass moves at most two buckets of a resize.
  const Ticks later = t0 + kDuration;
  uint32_t expired = 0;
  while (t->size() > 0) {
    const bool was_resizing = t->resizing();
    const uint32_t left = t->buckets_to_move();
    expired += t->expire(later, 1000);
    if (was_resizing && t->resizing()) {
      // Two per pass, and one per removal of the pass (a removal is not an erase: none here).
      ASSERT_GE(t->buckets_to_move() + 2, left);
    }
  }
  EXPECT_EQ(expired, kHeld);
  while (t->resizing()) {
    t->expire(later);
  }
  EXPECT_EQ(t->bucket_count(), 64u);
  EXPECT_GT(t->counters().slab_released, 0u);
  // Every chunk went back, and the index is its first 4 KB again.
  EXPECT_EQ(t->backed_bytes(), empty_bytes);
  // And it fills again.
  for (uint32_t id = 1; id <= 50000; ++id) {
    ASSERT_TRUE(t->insert(make_tuple<TypeParam>(id), conn_for(id), later).ok()) << id;
  }
  for (uint32_t id = 1; id <= 50000; id += 7) {
    EXPECT_NE(t->find(make_tuple<TypeParam>(id)), kNoIndex) << id;
  }
}

TYPED_TEST(TimewaitTable, FillsToTheBoundWithoutCuckooFailure) {
  constexpr uint32_t kMax = 200000;
  auto table = TwTable<TypeParam>::create(config(kMax, TwOnFull::kRefuse, 77));
  ASSERT_TRUE(table.ok());
  std::mt19937 rng(5);
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < kMax; ++i) {
    const uint32_t id = (i << 1) | 1;  // odd ids held, even ids never
    ASSERT_TRUE(table->insert(make_tuple<TypeParam>(id), conn_for(id), Ticks()).ok()) << i;
  }
  EXPECT_EQ(table->size(), kMax);
  EXPECT_EQ(table->counters().refused_full, 0u);
  EXPECT_FALSE(table->insert(make_tuple<TypeParam>(2), conn_for(2), Ticks()).ok());
  std::vector<TypeParam> keys;
  for (uint32_t i = 0; i < 65536; ++i) {  // enough for signature false positives
    keys.push_back(make_tuple<TypeParam>(rng() % (2 * kMax)));
  }
  std::vector<uint32_t> bulk(keys.size());
  table->find_bulk(keys, bulk);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint32_t idx = table->find(keys[i]);
    EXPECT_EQ(bulk[i], idx);
    if ((id_of(keys[i]) & 1) != 0) {
      ASSERT_NE(idx, kNoIndex);
      EXPECT_TRUE(table->at(idx).tuple == keys[i]);
    } else {
      EXPECT_EQ(idx, kNoIndex);
    }
  }
  EXPECT_LE(table->bytes_per_entry_at_bound(), sizeof(TwRecord<TypeParam>) + 8.0);
}

// Cuckoo placement failure (no path within kMaxKicks), forced with tuples that all share one
// bucket pair under a fixed seed: 20 of them fill the pair's 20 slots, and every cuckoo move
// from those buckets leads back into them, so the 21st has no path. The table's bound (1000) is
// far away, so what acts is the placement failure path, not the bound.
struct Collisions {
  std::vector<uint32_t> pair_ids;   // buckets_of() == the pair, in id order
  std::vector<uint32_t> other_ids;  // neither bucket in the pair
};

template <class Tuple>
Collisions find_collisions(const TwTable<Tuple>& t, size_t want_pair, size_t want_other) {
  Collisions c;
  const auto pair = t.buckets_of(make_tuple<Tuple>(0));
  for (uint32_t id = 0; id < (1u << 24) && c.pair_ids.size() < want_pair; ++id) {
    const auto b = t.buckets_of(make_tuple<Tuple>(id));
    if (b == pair) {
      c.pair_ids.push_back(id);
    } else if (c.other_ids.size() < want_other && b.first != pair.first && b.first != pair.second &&
               b.second != pair.first && b.second != pair.second) {
      c.other_ids.push_back(id);
    }
  }
  return c;
}

constexpr uint32_t kCollideMax = 1000;  // 112 buckets at the bound, 64 until 576 are held
constexpr uint64_t kCollideSeed = 0x5eed5eed5eed5eedULL;

TYPED_TEST(TimewaitTable, BucketsOfNamesTheTwoBucketsInRange) {
  auto t = TwTable<TypeParam>::create(config(kCollideMax, TwOnFull::kRefuse, kCollideSeed));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->bucket_count_at_bound(), (kCollideMax + 8) / 9);
  EXPECT_EQ(t->bucket_count(), 64u);  // sized for what it holds: nothing yet
  for (uint32_t id = 0; id < 1000; ++id) {
    const auto [b1, b2] = t->buckets_of(make_tuple<TypeParam>(id));
    EXPECT_LT(b1, t->bucket_count());
    EXPECT_LT(b2, t->bucket_count());
    EXPECT_NE(b1, b2);
  }
}

// Two unrelated entries first (U0, U1: older than all, elsewhere in the index), then C0..C19
// filling the pair, then C0 restarted (it becomes the newest). The FIFO is U0, U1, C1..C19, C0.
template <class Tuple>
void fill_pair(TwTable<Tuple>& t, const Collisions& c, Ticks t0, std::vector<uint32_t>& idx) {
  ASSERT_GE(c.pair_ids.size(), 21u);
  ASSERT_EQ(c.other_ids.size(), 2u);
  uint32_t ms = 0;
  for (const uint32_t id : c.other_ids) {
    const auto r = t.insert(make_tuple<Tuple>(id), conn_for(id), t0 + Ticks::from_ms(ms++));
    ASSERT_TRUE(r.ok());
    idx.push_back(*r);
  }
  for (size_t i = 0; i < 20; ++i) {
    const uint32_t id = c.pair_ids[i];
    const auto r = t.insert(make_tuple<Tuple>(id), conn_for(id), t0 + Ticks::from_ms(ms++));
    ASSERT_TRUE(r.ok()) << i;
    idx.push_back(*r);
  }
  t.restart(idx[2], t0 + Ticks::from_ms(30));
  ASSERT_EQ(t.size(), 22u);
  ASSERT_LT(t.size(), t.max_entries());
  ASSERT_EQ(t.counters().evicted, 0u);
}

TYPED_TEST(TimewaitTable, CuckooFailureEvictsFifoHeadsUntilPlaced) {
  auto t = TwTable<TypeParam>::create(config(kCollideMax, TwOnFull::kEvictOldest, kCollideSeed));
  ASSERT_TRUE(t.ok());
  const Collisions c = find_collisions(*t, 21, 2);
  const Ticks t0 = Ticks::from_sec(100);
  std::vector<uint32_t> idx;
  fill_pair(*t, c, t0, idx);
  if (::testing::Test::HasFatalFailure()) {
    return;
  }

  // C20: both buckets full, no cuckoo path. The FIFO heads go, oldest first, until a slot of
  // the pair is free: U0 and U1 (which free nothing in the pair), then C1 (the oldest of the
  // pair; not C0, restarted).
  const uint32_t id20 = c.pair_ids[20];
  const auto r = t->insert(make_tuple<TypeParam>(id20), conn_for(id20), t0 + Ticks::from_ms(40));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(t->counters().evicted, 3u);
  EXPECT_EQ(t->counters().refused_full, 0u);
  EXPECT_EQ(t->counters().entered, 23u);
  EXPECT_EQ(t->size(), 20u);
  EXPECT_EQ(t->find(make_tuple<TypeParam>(c.other_ids[0])), kNoIndex);
  EXPECT_EQ(t->find(make_tuple<TypeParam>(c.other_ids[1])), kNoIndex);
  EXPECT_EQ(t->find(make_tuple<TypeParam>(c.pair_ids[1])), kNoIndex);
  // Every remaining entry is still found, at its index, by find and find_bulk.
  std::vector<TypeParam> keys;
  std::vector<uint32_t> want;
  for (size_t i = 0; i <= 20; ++i) {
    if (i == 1) {
      continue;
    }
    keys.push_back(make_tuple<TypeParam>(c.pair_ids[i]));
    want.push_back(i == 20 ? *r : idx[2 + i]);
  }
  std::vector<uint32_t> bulk(keys.size());
  t->find_bulk(keys, bulk);
  EXPECT_EQ(bulk, want);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(t->find(keys[i]), want[i]) << i;
    EXPECT_TRUE(t->at(want[i]).tuple == keys[i]);
    EXPECT_EQ(t->at(want[i]).conn.rcv_nxt, conn_for(id_of(keys[i])).rcv_nxt);
  }
  // The FIFO order is intact: C2..C19, then C0 (restarted), then C20.
  std::vector<uint32_t> got;
  t->expire(t0 + Ticks::from_sec(10),
            [&](const TwRecord<TypeParam>& rec) { got.push_back(id_of(rec.tuple)); });
  std::vector<uint32_t> order(c.pair_ids.begin() + 2, c.pair_ids.begin() + 20);
  order.push_back(c.pair_ids[0]);
  order.push_back(id20);
  EXPECT_EQ(got, order);
  EXPECT_EQ(t->size(), 0u);
}

TYPED_TEST(TimewaitTable, CuckooFailureRefusesAndLeavesTheTableUnchanged) {
  auto t = TwTable<TypeParam>::create(config(kCollideMax, TwOnFull::kRefuse, kCollideSeed));
  ASSERT_TRUE(t.ok());
  const Collisions c = find_collisions(*t, 21, 2);
  const Ticks t0 = Ticks::from_sec(100);
  std::vector<uint32_t> idx;
  fill_pair(*t, c, t0, idx);
  if (::testing::Test::HasFatalFailure()) {
    return;
  }
  const auto next = t->next_expiry(t0);

  const uint32_t id20 = c.pair_ids[20];
  const auto r = t->insert(make_tuple<TypeParam>(id20), conn_for(id20), t0 + Ticks::from_ms(40));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TwInsertError::kFull);
  EXPECT_EQ(t->counters().refused_full, 1u);
  EXPECT_EQ(t->counters().evicted, 0u);
  EXPECT_EQ(t->counters().entered, 22u);
  EXPECT_EQ(t->size(), 22u);
  EXPECT_EQ(t->find(make_tuple<TypeParam>(id20)), kNoIndex);
  EXPECT_EQ(t->next_expiry(t0), next);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(t->find(make_tuple<TypeParam>(c.other_ids[i])), idx[i]) << i;
  }
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(t->find(make_tuple<TypeParam>(c.pair_ids[i])), idx[2 + i]) << i;
  }
}

TEST(TimewaitTableBound, RefuseCountsAndKeepsOldEntries) {
  auto t = TwTableV4::create(config(4, TwOnFull::kRefuse));
  ASSERT_TRUE(t.ok());
  for (uint32_t id = 0; id < 4; ++id) {
    ASSERT_TRUE(t->insert(make_tuple<flow::Tuple4>(id), conn_for(id), Ticks::from_ms(id)).ok());
  }
  const auto r = t->insert(make_tuple<flow::Tuple4>(9), conn_for(9), Ticks::from_ms(9));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TwInsertError::kFull);
  EXPECT_EQ(t->counters().refused_full, 1u);
  EXPECT_EQ(t->counters().evicted, 0u);
  EXPECT_EQ(t->counters().entered, 4u);
  EXPECT_EQ(t->find(make_tuple<flow::Tuple4>(9)), kNoIndex);
  EXPECT_NE(t->find(make_tuple<flow::Tuple4>(0)), kNoIndex);
}

TEST(TimewaitTableBound, EvictOldestTakesTheEntryClosestToExpiry) {
  auto t = TwTableV4::create(config(4, TwOnFull::kEvictOldest));
  ASSERT_TRUE(t.ok());
  uint32_t idx0 = kNoIndex;
  for (uint32_t id = 0; id < 4; ++id) {
    const auto r = t->insert(make_tuple<flow::Tuple4>(id), conn_for(id), Ticks::from_ms(id));
    ASSERT_TRUE(r.ok());
    if (id == 0) {
      idx0 = *r;
    }
  }
  t->restart(idx0, Ticks::from_ms(5));  // 0 is now the newest; 1 is the oldest
  ASSERT_TRUE(t->insert(make_tuple<flow::Tuple4>(9), conn_for(9), Ticks::from_ms(9)).ok());
  EXPECT_EQ(t->counters().evicted, 1u);
  EXPECT_EQ(t->counters().refused_full, 0u);
  EXPECT_EQ(t->find(make_tuple<flow::Tuple4>(1)), kNoIndex);
  EXPECT_NE(t->find(make_tuple<flow::Tuple4>(0)), kNoIndex);
  EXPECT_NE(t->find(make_tuple<flow::Tuple4>(9)), kNoIndex);
  EXPECT_EQ(t->size(), 4u);
}

// Issue 23: a thousand entries due in the same millisecond leave at most `max` a call, oldest
// first, and an entry left due is still held (and found) until a later call takes it.
TEST(TimewaitTableExpire, AtMostMaxPerCallOldestFirst) {
  auto t = TwTableV4::create(config(2000, TwOnFull::kRefuse));
  ASSERT_TRUE(t.ok());
  for (uint32_t id = 0; id < 1000; ++id) {
    ASSERT_TRUE(t->insert(make_tuple<flow::Tuple4>(id), conn_for(id), Ticks::from_us(id)).ok());
  }
  const Ticks due = Ticks::from_ms(1) + kDuration;
  std::vector<uint32_t> order;
  uint32_t calls = 0;
  while (t->due(due)) {
    const uint32_t n = t->expire(
        due, [&](const TwRecordV4& r) { order.push_back(id_of(r.tuple)); }, 64u);
    ASSERT_LE(n, 64u);
    ASSERT_GT(n, 0u);
    ++calls;
    if (calls == 1) {
      EXPECT_NE(t->find(make_tuple<flow::Tuple4>(999)), kNoIndex);  // due, still held
    }
  }
  EXPECT_EQ(calls, 16u);  // 15 of 64, then 40
  ASSERT_EQ(order.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(t->counters().expired, 1000u);
  EXPECT_EQ(t->counters().expiry_deferred, 15u);
}

TEST(TimewaitTableApply, FinRetransmitRestartsAndMovesToTail) {
  auto t = TwTableV4::create(config(16, TwOnFull::kRefuse));
  ASSERT_TRUE(t.ok());
  const Ticks t0 = Ticks::from_sec(100);
  const uint32_t a = *t->insert(make_tuple<flow::Tuple4>(1), conn_for(1), t0);
  ASSERT_TRUE(t->insert(make_tuple<flow::Tuple4>(2), conn_for(2), t0 + Ticks::from_ms(10)).ok());
  EXPECT_EQ(t->next_expiry(t0), t0 + kDuration);

  TwSegment fin;
  fin.flags = TwSegment::kFin | TwSegment::kAck;
  fin.seq = conn_for(1).rcv_nxt - 1;
  fin.has_ts = true;
  fin.tsval = 1234;
  const Ticks t1 = t0 + Ticks::from_ms(20);
  const TwVerdict v = on_segment(t->at(a), fin, t1, t->policy());
  ASSERT_EQ(v.action, TwAction::kAckRestart);
  t->apply(a, v, fin, t1);
  EXPECT_EQ(t->counters().fin_reacked, 1u);
  EXPECT_EQ(t->at(a).conn.ts_recent, 1234u);
  EXPECT_EQ(t->at(a).conn.ts_recent_age, ms32(t1));
  EXPECT_EQ(t->next_expiry(t1), t0 + Ticks::from_ms(10) + kDuration);  // 2 is the head now

  std::vector<uint32_t> got;
  auto collect = [&](const TwRecordV4& r) { got.push_back(id_of(r.tuple)); };
  EXPECT_EQ(t->expire(t0 + kDuration + Ticks::from_ms(15), collect), 1u);
  EXPECT_EQ(got, std::vector<uint32_t>{2});
  EXPECT_EQ(t->expire(t1 + kDuration - Ticks::from_ms(1), collect), 0u);  // 1 ms early
  EXPECT_EQ(t->expire(t1 + kDuration, collect), 1u);
  EXPECT_EQ(got, (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(t->counters().expired, 2u);
  EXPECT_FALSE(t->next_expiry(t1).has_value());
}

TEST(TimewaitTableApply, CloseReuseAndActiveReuseRemove) {
  auto t = TwTableV4::create(config(16, TwOnFull::kRefuse));
  ASSERT_TRUE(t.ok());
  const Ticks t0 = Ticks::from_sec(100);
  TwPolicy no1337 = t->policy();
  no1337.rfc1337 = false;

  const uint32_t a = *t->insert(make_tuple<flow::Tuple4>(1), conn_for(1), t0);
  TwSegment rst;
  rst.flags = TwSegment::kRst;
  rst.seq = conn_for(1).rcv_nxt;
  TwVerdict v = on_segment(t->at(a), rst, t0, t->policy());
  t->apply(a, v, rst, t0);  // rfc1337: ignored, still held
  EXPECT_EQ(t->find(make_tuple<flow::Tuple4>(1)), a);
  v = on_segment(t->at(a), rst, t0, no1337);
  ASSERT_EQ(v.action, TwAction::kClose);
  t->apply(a, v, rst, t0);
  EXPECT_EQ(t->find(make_tuple<flow::Tuple4>(1)), kNoIndex);
  EXPECT_EQ(t->counters().rst_ignored, 1u);
  EXPECT_EQ(t->counters().rst_closed, 1u);

  const uint32_t b = *t->insert(make_tuple<flow::Tuple4>(2), conn_for(2), t0);
  TwSegment syn;
  syn.flags = TwSegment::kSyn;
  syn.has_ts = true;
  syn.tsval = conn_for(2).ts_recent + 1;
  v = on_segment(t->at(b), syn, t0, t->policy());
  ASSERT_EQ(v.action, TwAction::kReuse);
  t->apply(b, v, syn, t0);
  EXPECT_EQ(t->find(make_tuple<flow::Tuple4>(2)), kNoIndex);
  EXPECT_EQ(t->counters().passive_reuse_accepted, 1u);

  TwConn c3 = conn_for(3);
  c3.ts_recent_age = ms32(t0);
  const uint32_t d = *t->insert(make_tuple<flow::Tuple4>(3), c3, t0);
  EXPECT_FALSE(t->take_for_active_open(d, t0 + Ticks::from_ms(999), Ticks::from_ms(1000)));
  EXPECT_EQ(t->find(make_tuple<flow::Tuple4>(3)), d);
  EXPECT_TRUE(t->take_for_active_open(d, t0 + Ticks::from_ms(1000), Ticks::from_ms(1000)));
  EXPECT_EQ(t->find(make_tuple<flow::Tuple4>(3)), kNoIndex);
  EXPECT_EQ(t->counters().active_reuse, 1u);
  EXPECT_EQ(t->size(), 0u);
}

TEST(TimewaitTableCreate, RejectsBadConfig) {
  TwTableConfig cfg = config(0, TwOnFull::kRefuse);
  EXPECT_EQ(TwTableV4::create(cfg).error(), TwTableError::kBadMaxEntries);
  cfg = config(TwTableV4::kMaxEntries + 1, TwOnFull::kRefuse);
  EXPECT_EQ(TwTableV4::create(cfg).error(), TwTableError::kBadMaxEntries);
  cfg = config(10, TwOnFull::kRefuse);
  cfg.policy.duration = Ticks::from_us(999);
  EXPECT_EQ(TwTableV4::create(cfg).error(), TwTableError::kBadDuration);
  cfg.policy.duration = Ticks::from_ms(uint64_t{1} << 31);
  EXPECT_EQ(TwTableV6::create(cfg).error(), TwTableError::kBadDuration);
  cfg.policy.duration = Ticks::from_ms((uint64_t{1} << 31) - 1);
  EXPECT_TRUE(TwTableV6::create(cfg).ok());
}

TEST(TimewaitHash, SeedChangesBucketsAndFieldsMatter) {
  const flow::Tuple4 a = make_tuple<flow::Tuple4>(1);
  flow::Tuple4 b = a;
  b.local_port ^= 1;
  EXPECT_NE(tw_hash(a, 1), tw_hash(a, 2));
  EXPECT_NE(tw_hash(a, 1), tw_hash(b, 1));
  flow::Tuple6 c = make_tuple<flow::Tuple6>(1);
  const uint64_t hc = tw_hash(c, 1);
  for (size_t i = 0; i < 16; ++i) {
    flow::Tuple6 d = c;
    d.local[i] ^= 0x80;
    EXPECT_NE(tw_hash(d, 1), hc) << i;
  }
  EXPECT_NE(tw_hash(c, 2), hc);
}

}  // namespace
}  // namespace tempo::timewait
