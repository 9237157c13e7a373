// TwTables: one max_entries bound over the IPv4 and IPv6 tables together (both on_full
// policies: the core's oldest entry goes, in whichever family it is, or the insert is refused),
// and size, counters, expire and next_expiry over both.
#include "timewait/tables.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

namespace tempo::timewait {
namespace {

flow::Tuple4 v4_tuple(uint32_t id) {
  flow::Tuple4 t;
  t.local = 0x020012c6;  // 198.18.0.2 as on the wire (little-endian host)
  t.remote = 0x010012c6;
  t.local_port = 0x5000;
  t.remote_port = static_cast<uint16_t>(id);
  return t;
}

flow::Tuple6 v6_tuple(uint32_t id) {
  flow::Tuple6 t;
  t.local = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  t.remote = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::memcpy(&t.remote[8], &id, sizeof id);
  t.local_port = 0x5000;
  t.remote_port = static_cast<uint16_t>(id);
  return t;
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
constexpr Ticks kT0 = Ticks::from_sec(100);

TwTableConfig config(uint32_t max_entries, TwOnFull on_full) {
  TwTableConfig cfg;
  cfg.max_entries = max_entries;
  cfg.on_full = on_full;
  cfg.policy.duration = kDuration;
  cfg.seed = 0x1234567890abcdef;
  return cfg;
}

// Fills a 10-entry bound with 6 IPv4 entries and 4 IPv6 ones, one per ms, interleaved so that
// the oldest of all is IPv6: v6 ids 0..3 at kT0 + 0, 2, 4, 6 ms; v4 ids 0..5 at 1, 3, 5, 7, 8,
// 9 ms.
void fill(TwTables& t) {
  uint32_t ms = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(t.insert(v6_tuple(i), conn_for(i), kT0 + Ticks::from_ms(ms++)).ok());
    ASSERT_TRUE(t.insert(v4_tuple(i), conn_for(i), kT0 + Ticks::from_ms(ms++)).ok());
  }
  for (uint32_t i = 4; i < 6; ++i) {
    ASSERT_TRUE(t.insert(v4_tuple(i), conn_for(i), kT0 + Ticks::from_ms(ms++)).ok());
  }
  ASSERT_EQ(t.v4().size(), 6u);
  ASSERT_EQ(t.v6().size(), 4u);
  ASSERT_EQ(t.size(), 10u);
}

TEST(TimewaitTables, CreatesBothTablesWithTheWholeBound) {
  auto t = TwTables::create(config(10, TwOnFull::kEvictOldest));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->max_entries(), 10u);
  EXPECT_EQ(t->v4().max_entries(), 10u);
  EXPECT_EQ(t->v6().max_entries(), 10u);
  EXPECT_EQ(t->policy().duration, kDuration);
  EXPECT_EQ(&t->of<flow::Tuple4>(), &t->v4());
  EXPECT_EQ(&t->of<flow::Tuple6>(), &t->v6());
  const TwTables& c = *t;
  EXPECT_EQ(&c.of<flow::Tuple4>(), &c.v4());
  EXPECT_EQ(&c.of<flow::Tuple6>(), &c.v6());
  EXPECT_EQ(t->size(), 0u);
  EXPECT_FALSE(t->next_expiry(kT0).has_value());

  EXPECT_EQ(TwTables::create(config(0, TwOnFull::kRefuse)).error(), TwTableError::kBadMaxEntries);
  TwTableConfig bad = config(10, TwOnFull::kRefuse);
  bad.policy.duration = Ticks::from_us(999);
  EXPECT_EQ(TwTables::create(bad).error(), TwTableError::kBadDuration);
}

TEST(TimewaitTables, OneBoundOverBothFamiliesEvictsTheOldestInTheOtherFamily) {
  auto t = TwTables::create(config(10, TwOnFull::kEvictOldest));
  ASSERT_TRUE(t.ok());
  fill(*t);
  // The 11th is IPv4; the oldest entry of the core is IPv6 id 0.
  const Ticks t1 = kT0 + Ticks::from_ms(20);
  ASSERT_TRUE(t->insert(v4_tuple(10), conn_for(10), t1).ok());
  EXPECT_EQ(t->size(), 10u);
  EXPECT_EQ(t->v4().size(), 7u);
  EXPECT_EQ(t->v6().size(), 3u);
  EXPECT_EQ(t->v6().find(v6_tuple(0)), kNoIndex);
  EXPECT_EQ(t->v6().counters().evicted, 1u);
  EXPECT_EQ(t->v4().counters().evicted, 0u);
  // Now the oldest is IPv4 id 0 (kT0 + 1 ms): an IPv6 insert evicts it.
  ASSERT_TRUE(t->insert(v6_tuple(10), conn_for(10), t1).ok());
  EXPECT_EQ(t->v4().find(v4_tuple(0)), kNoIndex);
  EXPECT_EQ(t->v4().counters().evicted, 1u);
  EXPECT_EQ(t->v6().size(), 4u);
  EXPECT_EQ(t->v4().size(), 6u);
  // Then IPv6 id 1 (2 ms), even for an IPv6 insert.
  ASSERT_TRUE(t->insert(v6_tuple(11), conn_for(11), t1).ok());
  EXPECT_EQ(t->v6().find(v6_tuple(1)), kNoIndex);
  EXPECT_EQ(t->v6().counters().evicted, 2u);
  EXPECT_EQ(t->size(), 10u);
  EXPECT_EQ(t->counters().evicted, 3u);
  EXPECT_EQ(t->counters().entered, 13u);
  EXPECT_EQ(t->counters().refused_full, 0u);
  // Everything not evicted is still held.
  for (uint32_t i = 1; i < 6; ++i) {
    EXPECT_NE(t->v4().find(v4_tuple(i)), kNoIndex) << i;
  }
  for (uint32_t i : {2u, 3u, 10u, 11u}) {
    EXPECT_NE(t->v6().find(v6_tuple(i)), kNoIndex) << i;
  }
  EXPECT_NE(t->v4().find(v4_tuple(10)), kNoIndex);
}

TEST(TimewaitTables, EvictionFollowsRestartsAcrossFamilies) {
  auto t = TwTables::create(config(10, TwOnFull::kEvictOldest));
  ASSERT_TRUE(t.ok());
  fill(*t);
  // A retransmitted FIN restarts IPv6 id 0: IPv4 id 0 is now the oldest.
  t->v6().restart(t->v6().find(v6_tuple(0)), kT0 + Ticks::from_ms(15));
  ASSERT_TRUE(t->insert(v6_tuple(10), conn_for(10), kT0 + Ticks::from_ms(20)).ok());
  EXPECT_EQ(t->v4().find(v4_tuple(0)), kNoIndex);
  EXPECT_NE(t->v6().find(v6_tuple(0)), kNoIndex);
  EXPECT_EQ(t->v4().counters().evicted, 1u);
  EXPECT_EQ(t->v6().counters().evicted, 0u);
  EXPECT_EQ(t->size(), 10u);
}

TEST(TimewaitTables, RefuseAtTheSharedBoundCountsInTheInsertsTable) {
  auto t = TwTables::create(config(10, TwOnFull::kRefuse));
  ASSERT_TRUE(t.ok());
  fill(*t);
  const Ticks t1 = kT0 + Ticks::from_ms(20);
  // Each table is far below its own bound; the sum is at the shared one.
  auto r = t->insert(v4_tuple(10), conn_for(10), t1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TwInsertError::kFull);
  EXPECT_EQ(t->v4().counters().refused_full, 1u);
  EXPECT_EQ(t->v6().counters().refused_full, 0u);
  r = t->insert(v6_tuple(10), conn_for(10), t1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TwInsertError::kFull);
  EXPECT_EQ(t->v6().counters().refused_full, 1u);
  EXPECT_EQ(t->counters().refused_full, 2u);
  EXPECT_EQ(t->counters().evicted, 0u);
  EXPECT_EQ(t->size(), 10u);
  EXPECT_EQ(t->v4().find(v4_tuple(10)), kNoIndex);
  EXPECT_EQ(t->v6().find(v6_tuple(10)), kNoIndex);
  EXPECT_NE(t->v6().find(v6_tuple(0)), kNoIndex);
  // Room again after one leaves: the next insert, in the other family, goes in.
  t->v4().erase(t->v4().find(v4_tuple(3)));
  ASSERT_TRUE(t->insert(v6_tuple(10), conn_for(10), t1).ok());
  EXPECT_EQ(t->size(), 10u);
  EXPECT_EQ(t->counters().refused_full, 2u);
}

TEST(TimewaitTables, ExistingTupleIsRefusedBeforeTheBound) {
  for (const TwOnFull on_full : {TwOnFull::kEvictOldest, TwOnFull::kRefuse}) {
    auto t = TwTables::create(config(10, on_full));
    ASSERT_TRUE(t.ok());
    fill(*t);
    const auto r = t->insert(v4_tuple(2), conn_for(2), kT0 + Ticks::from_ms(20));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), TwInsertError::kExists);
    EXPECT_EQ(t->counters().evicted, 0u);
    EXPECT_EQ(t->counters().refused_full, 0u);
    EXPECT_EQ(t->size(), 10u);
  }
}

TEST(TimewaitTables, SizeAndCountersSumBothTables) {
  auto t = TwTables::create(config(100, TwOnFull::kEvictOldest));
  ASSERT_TRUE(t.ok());
  for (uint32_t i = 0; i < 7; ++i) {
    ASSERT_TRUE(t->insert(v4_tuple(i), conn_for(i), kT0).ok());
  }
  for (uint32_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(t->insert(v6_tuple(i), conn_for(i), kT0).ok());
  }
  t->v4().erase(t->v4().find(v4_tuple(0)));
  TwSegment syn;
  syn.flags = TwSegment::kSyn;
  syn.has_ts = true;
  syn.tsval = conn_for(1).ts_recent + 1;
  const uint32_t idx = t->v6().find(v6_tuple(1));
  const TwVerdict v = on_segment(t->v6().at(idx), syn, kT0, t->policy());
  ASSERT_EQ(v.action, TwAction::kReuse);
  t->v6().apply(idx, v, syn, kT0);

  EXPECT_EQ(t->size(), 10u);
  EXPECT_EQ(t->size(), t->v4().size() + t->v6().size());
  const TwCounters c = t->counters();
  EXPECT_EQ(c.entered, 12u);
  EXPECT_EQ(c.erased, 1u);
  EXPECT_EQ(c.passive_reuse_accepted, 1u);
  EXPECT_EQ(c.entered, t->v4().counters().entered + t->v6().counters().entered);
}

TEST(TimewaitTables, ExpireAndNextExpiryCoverBothTables) {
  auto t = TwTables::create(config(100, TwOnFull::kEvictOldest));
  ASSERT_TRUE(t.ok());
  // v6 first (at kT0), then v4 (kT0 + 10 ms), then v6 again (kT0 + 20 ms).
  ASSERT_TRUE(t->insert(v6_tuple(1), conn_for(1), kT0).ok());
  ASSERT_TRUE(t->insert(v4_tuple(1), conn_for(1), kT0 + Ticks::from_ms(10)).ok());
  ASSERT_TRUE(t->insert(v6_tuple(2), conn_for(2), kT0 + Ticks::from_ms(20)).ok());
  EXPECT_EQ(t->next_expiry(kT0), kT0 + kDuration);  // the IPv6 head

  EXPECT_EQ(t->expire(kT0 + kDuration - Ticks::from_ms(1)), 0u);
  EXPECT_EQ(t->expire(kT0 + kDuration), 1u);
  EXPECT_EQ(t->next_expiry(kT0 + kDuration), kT0 + Ticks::from_ms(10) + kDuration);  // IPv4

  std::vector<uint32_t> v4_ids;
  std::vector<uint32_t> v6_ids;
  auto collect = [&](const auto& rec) {
    if constexpr (std::is_same_v<std::decay_t<decltype(rec)>, TwRecordV4>) {
      v4_ids.push_back(rec.tuple.remote_port);
    } else {
      v6_ids.push_back(rec.tuple.remote_port);
    }
  };
  EXPECT_EQ(t->expire(kT0 + Ticks::from_ms(10) + kDuration, collect), 1u);
  EXPECT_EQ(v4_ids, std::vector<uint32_t>{1});
  EXPECT_TRUE(v6_ids.empty());
  EXPECT_EQ(t->next_expiry(kT0 + kDuration), kT0 + Ticks::from_ms(20) + kDuration);  // IPv6
  // Past due: next_expiry is `now`.
  const Ticks late = kT0 + Ticks::from_ms(500) + kDuration;
  EXPECT_EQ(t->next_expiry(late), late);
  EXPECT_EQ(t->expire(late, collect), 1u);
  EXPECT_EQ(v6_ids, std::vector<uint32_t>{2});
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(t->counters().expired, 3u);
  EXPECT_FALSE(t->next_expiry(late).has_value());
}

TEST(TimewaitTables, ExpireOnBothTablesAtOnce) {
  auto t = TwTables::create(config(100, TwOnFull::kEvictOldest));
  ASSERT_TRUE(t.ok());
  for (uint32_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(t->insert(v4_tuple(i), conn_for(i), kT0).ok());
    ASSERT_TRUE(t->insert(v6_tuple(i), conn_for(i), kT0).ok());
  }
  EXPECT_EQ(t->expire(kT0 + kDuration), 6u);
  EXPECT_EQ(t->v4().counters().expired, 3u);
  EXPECT_EQ(t->v6().counters().expired, 3u);
  EXPECT_EQ(t->size(), 0u);
}

// Issue 23: a mass expiry is spread over calls. One budget covers both tables, IPv4 first;
// what is left due waits for the next call (the Worker's next turn), and each call that leaves
// some is counted.
TEST(TimewaitTables, ExpiryIsBoundedPerCall) {
  auto t = TwTables::create(config(100, TwOnFull::kEvictOldest));
  ASSERT_TRUE(t.ok());
  for (uint32_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(t->insert(v4_tuple(i), conn_for(i), kT0).ok());
    ASSERT_TRUE(t->insert(v6_tuple(i), conn_for(i), kT0).ok());
  }
  const Ticks due = kT0 + kDuration;
  EXPECT_FALSE(t->due(due - Ticks::from_ms(1)));
  EXPECT_TRUE(t->due(due));
  EXPECT_EQ(t->expire(due, 4u), 4u);  // IPv4 only
  EXPECT_EQ(t->v6().size(), 5u);
  EXPECT_EQ(t->expire(due, 4u), 4u);  // the last IPv4, three IPv6
  EXPECT_EQ(t->v4().size(), 0u);
  EXPECT_EQ(t->v6().size(), 2u);
  EXPECT_EQ(t->expire(due, 4u), 2u);
  EXPECT_FALSE(t->due(due));
  EXPECT_EQ(t->expire(due, 4u), 0u);
  EXPECT_EQ(t->counters().expired, 10u);
  EXPECT_EQ(t->counters().expiry_deferred, 2u);
}

// Random inserts (both families), erases, restarts and expiry against a model: the sum never
// exceeds the bound, and each eviction takes the FIFO head that expires first (IPv4 on a tie,
// as documented), whichever family the insert was for.
void run_random_ops(TwOnFull on_full, uint32_t seed) {
  constexpr uint32_t kMax = 300;
  constexpr uint32_t kPool = 1000;
  auto t = TwTables::create(config(kMax, on_full));
  ASSERT_TRUE(t.ok());
  struct Entry {
    uint32_t expire_ms;
    uint64_t order;
  };
  std::map<uint32_t, Entry> model[2];  // [0]: IPv4, [1]: IPv6; by id
  std::mt19937 rng(seed);
  uint64_t order = 0;
  uint64_t evicted = 0, refused = 0;
  Ticks now = kT0;
  auto head = [&](int fam) {
    auto best = model[fam].end();
    for (auto it = model[fam].begin(); it != model[fam].end(); ++it) {
      if (best == model[fam].end() || it->second.order < best->second.order) {
        best = it;
      }
    }
    return best;
  };
  auto find = [&](int fam, uint32_t id) {
    return fam == 0 ? t->v4().find(v4_tuple(id)) : t->v6().find(v6_tuple(id));
  };
  for (int op = 0; op < 20000; ++op) {
    const int fam = static_cast<int>(rng() % 2);
    const uint32_t id = rng() % kPool;
    const uint32_t kind = rng() % 100;
    if (kind < 50) {
      const auto r = fam == 0 ? t->insert(v4_tuple(id), conn_for(id), now)
                              : t->insert(v6_tuple(id), conn_for(id), now);
      if (model[fam].count(id) != 0) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error(), TwInsertError::kExists);
        continue;
      }
      if (model[0].size() + model[1].size() == kMax) {
        if (on_full == TwOnFull::kRefuse) {
          ASSERT_FALSE(r.ok());
          EXPECT_EQ(r.error(), TwInsertError::kFull);
          ++refused;
          continue;
        }
        const auto h4 = head(0);
        const auto h6 = head(1);
        const bool take4 =
            h6 == model[1].end() ||
            (h4 != model[0].end() && !before32(h6->second.expire_ms, h4->second.expire_ms));
        const int vf = take4 ? 0 : 1;
        const auto victim = take4 ? h4 : h6;
        EXPECT_EQ(find(vf, victim->first), kNoIndex);
        model[vf].erase(victim);
        ++evicted;
      }
      ASSERT_TRUE(r.ok());
      model[fam][id] = {ms32_ceil(now + kDuration), order++};
    } else if (kind < 60) {
      const auto it = model[fam].find(id);
      if (it != model[fam].end()) {
        const uint32_t idx = find(fam, id);
        fam == 0 ? t->v4().erase(idx) : t->v6().erase(idx);
        model[fam].erase(it);
      }
    } else if (kind < 70) {
      const auto it = model[fam].find(id);
      if (it != model[fam].end()) {
        const uint32_t idx = find(fam, id);
        fam == 0 ? t->v4().restart(idx, now) : t->v6().restart(idx, now);
        it->second = {ms32_ceil(now + kDuration), order++};
      }
    } else {
      now += rng() % 300 == 0 ? Ticks::from_ms(1200) : Ticks::from_us(rng() % 3000);
      t->expire(now);
      for (auto& m : model) {
        for (auto it = m.begin(); it != m.end();) {
          it = static_cast<int32_t>(ms32(now) - it->second.expire_ms) >= 0 ? m.erase(it)
                                                                           : std::next(it);
        }
      }
    }
    ASSERT_EQ(t->v4().size(), model[0].size());
    ASSERT_EQ(t->v6().size(), model[1].size());
    ASSERT_LE(t->size(), kMax);
  }
  EXPECT_EQ(t->counters().evicted, evicted);
  EXPECT_EQ(t->counters().refused_full, refused);
  EXPECT_GT(on_full == TwOnFull::kRefuse ? refused : evicted, 0u);  // the bound was reached
  for (int fam = 0; fam < 2; ++fam) {
    for (const auto& [id, e] : model[fam]) {
      EXPECT_NE(find(fam, id), kNoIndex);
    }
  }
}

TEST(TimewaitTables, RandomOpsMatchModelEvictOldest) { run_random_ops(TwOnFull::kEvictOldest, 7); }

TEST(TimewaitTables, RandomOpsMatchModelRefuse) { run_random_ops(TwOnFull::kRefuse, 8); }

}  // namespace
}  // namespace tempo::timewait
