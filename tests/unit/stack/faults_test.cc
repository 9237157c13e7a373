#include "stack/faults.h"

#include <map>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

namespace tempo::stack {
namespace {

// Packets are ints; the ops track references so the test sees every free and every copy.
struct Refs {
  std::map<int, int>* refs;
  void free(int p) const { --(*refs)[p]; }
  void ref(int p) const { ++(*refs)[p]; }
};

struct Harness {
  std::map<int, int> refs;
  std::vector<int> passed;
  int next = 0;

  template <class Stage>
  void send(Stage& s, int count, Ticks now) {
    std::vector<int> in(count);
    for (int& p : in) {
      p = next++;
      refs[p] = 1;
    }
    std::vector<int> out(2 * in.size() + 8);
    const size_t n = s.apply(std::span<int>(in), std::span<int>(out), now);
    passed.insert(passed.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(n));
  }
};

using Stage = FaultStage<int, Refs, 64>;

TEST(FaultStage, NoFaultsPassesEverythingInOrder) {
  Harness h;
  FaultCounters sc;
  Stage s(FaultDirection{}, 1, &sc, Refs{&h.refs});
  h.send(s, 20, Ticks::from_ms(1));
  std::vector<int> want(20);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(h.passed, want);
  EXPECT_EQ(sc.dropped, 0u);
}

TEST(FaultStage, DropProbabilityIsHonouredAndDropsAreFreed) {
  Harness h;
  FaultCounters sc;
  Stage s(FaultDirection{.drop = 0.25}, 7, &sc, Refs{&h.refs});
  for (int i = 0; i < 100; ++i) {
    h.send(s, 32, Ticks::from_ms(i));
  }
  const uint64_t dropped = sc.dropped;
  EXPECT_GT(dropped, 3200 * 0.20);
  EXPECT_LT(dropped, 3200 * 0.30);
  EXPECT_EQ(h.passed.size() + dropped, 3200u);
  int freed = 0;
  for (auto& [p, r] : h.refs) {
    freed += r == 0 ? 1 : 0;
  }
  EXPECT_EQ(static_cast<uint64_t>(freed), dropped);
}

TEST(FaultStage, DuplicatesTakeAReferenceAndPassTwice) {
  Harness h;
  FaultCounters sc;
  Stage s(FaultDirection{.duplicate = 1.0}, 3, &sc, Refs{&h.refs});
  h.send(s, 5, Ticks::from_ms(1));
  EXPECT_EQ(h.passed, (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}));
  EXPECT_EQ(h.refs[2], 2);
  EXPECT_EQ(sc.duplicated, 5u);
}

TEST(FaultStage, ReorderSwapsWithTheNextPacket) {
  Harness h;
  FaultCounters sc;
  Stage s(FaultDirection{.reorder = 1.0}, 3, &sc, Refs{&h.refs});
  h.send(s, 4, Ticks::from_ms(1));
  // 0 held, 1 passes then 0; 2 held, 3 passes then 2.
  EXPECT_EQ(h.passed, (std::vector<int>{1, 0, 3, 2}));
  EXPECT_EQ(s.held(), 0u);
}

TEST(FaultStage, DelayHoldsUntilDueAndKeepsOrder) {
  Harness h;
  FaultCounters sc;
  Stage s(FaultDirection{.delay_ms = 10}, 3, &sc, Refs{&h.refs});
  h.send(s, 3, Ticks::from_ms(0));
  EXPECT_TRUE(h.passed.empty());
  h.send(s, 2, Ticks::from_ms(9));
  EXPECT_TRUE(h.passed.empty());
  h.send(s, 0, Ticks::from_ms(10));
  EXPECT_EQ(h.passed, (std::vector<int>{0, 1, 2}));
  h.send(s, 0, Ticks::from_ms(19));
  EXPECT_EQ(h.passed, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(sc.delayed, 5u);
}

TEST(FaultStage, ReorderAppliesToDelayedPacketsToo) {
  Harness h;
  FaultCounters sc;
  Stage s(FaultDirection{.reorder = 1.0, .delay_ms = 10}, 3, &sc, Refs{&h.refs});
  h.send(s, 4, Ticks::from_ms(0));
  EXPECT_TRUE(h.passed.empty());
  h.send(s, 0, Ticks::from_ms(10));
  EXPECT_EQ(h.passed, (std::vector<int>{1, 0, 3, 2}));
  EXPECT_EQ(sc.reordered, 2u);
  EXPECT_EQ(sc.delayed, 4u);
}

TEST(FaultStage, FullDelayQueueDropsNewestAndDrainFreesHeld) {
  Harness h;
  FaultCounters sc;
  Stage s(FaultDirection{.delay_ms = 1000}, 3, &sc, Refs{&h.refs});
  h.send(s, 70, Ticks::from_ms(0));  // capacity 64
  EXPECT_EQ(s.held(), 64u);
  EXPECT_EQ(sc.dropped, 6u);
  s.drain();
  EXPECT_EQ(s.held(), 0u);
  for (auto& [p, r] : h.refs) {
    EXPECT_EQ(r, 0) << p;
  }
}

TEST(FaultStage, SameSeedSameOutcome) {
  Harness a, b;
  FaultCounters sac;
  Stage sa(FaultDirection{.drop = 0.3, .duplicate = 0.1, .reorder = 0.1}, 42, &sac, Refs{&a.refs});
  FaultCounters sbc;
  Stage sb(FaultDirection{.drop = 0.3, .duplicate = 0.1, .reorder = 0.1}, 42, &sbc, Refs{&b.refs});
  for (int i = 0; i < 10; ++i) {
    a.send(sa, 32, Ticks::from_ms(i));
    b.send(sb, 32, Ticks::from_ms(i));
  }
  EXPECT_EQ(a.passed, b.passed);
}

}  // namespace
}  // namespace tempo::stack
