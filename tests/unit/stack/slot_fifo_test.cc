// SlotFifo (lib/stack/slot_fifo.h): oldest first, a slot kept goes to the back and is not offered
// twice in one visit, at most `max` are offered, and the ring wraps without losing order.
#include "stack/slot_fifo.h"

#include <vector>

#include <gtest/gtest.h>

namespace tempo::stack {
namespace {

std::vector<uint32_t> drain(SlotFifo& f) {
  std::vector<uint32_t> out;
  f.visit(f.size(), [&](uint32_t s) {
    out.push_back(s);
    return false;
  });
  return out;
}

TEST(SlotFifo, OldestFirstAndAtMostMaxOffered) {
  SlotFifo f(8);
  for (uint32_t s : {5u, 3u, 7u}) {
    f.push(s);
  }
  std::vector<uint32_t> seen;
  f.visit(2, [&](uint32_t s) {
    seen.push_back(s);
    return false;
  });
  EXPECT_EQ(seen, (std::vector<uint32_t>{5, 3}));
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(drain(f), (std::vector<uint32_t>{7}));
  EXPECT_TRUE(f.empty());
}

TEST(SlotFifo, AKeptSlotGoesToTheBackAndIsNotOfferedTwiceInOneVisit) {
  SlotFifo f(4);
  for (uint32_t s : {1u, 2u, 3u}) {
    f.push(s);
  }
  std::vector<uint32_t> seen;
  f.visit(10, [&](uint32_t s) {
    seen.push_back(s);
    return s != 2;  // 2 is served; 1 and 3 still wait
  });
  EXPECT_EQ(seen, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(drain(f), (std::vector<uint32_t>{1, 3}));
}

TEST(SlotFifo, WrapsAroundItsRingInOrder) {
  // Every slot on at most once: a ring of 4 holds 4 however many times it turns over.
  SlotFifo f(4);
  uint32_t next = 0;
  std::vector<uint32_t> out;
  for (int round = 0; round < 50; ++round) {
    while (f.size() < f.capacity()) {
      f.push(next++);
    }
    f.visit(3, [&](uint32_t s) {
      out.push_back(s);
      return false;
    });
  }
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i], i);
  }
  EXPECT_EQ(out.size(), 150u);
  EXPECT_EQ(f.size(), 1u);
}

TEST(SlotFifoDeathTest, PushingPastOneEntryPerSlotIsCaught) {
  SlotFifo f(2);
  f.push(0);
  f.push(1);
  EXPECT_DEATH(f.push(0), "");
}

}  // namespace
}  // namespace tempo::stack
