// Timer wheel behaviour on a virtual clock: exact firing tick at every level boundary and
// beyond the top level, long jumps, re-arm and cancel from callbacks, arming in the past.
#include "time/wheel.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace tempo::time {
namespace {

struct Item {
  Timer timer;
  uint32_t id = 0;
};

Item& item(Timer& t) { return owner_of<&Item::timer>(t); }

Ticks us(uint64_t v) { return Ticks::from_us(v); }

// Delays, in ticks, around every digit boundary of the six levels and past the span (2^36).
std::vector<uint64_t> boundary_delays() {
  std::vector<uint64_t> d = {1, 2};
  for (unsigned bits = 6; bits <= 42; bits += 6) {
    const uint64_t b = uint64_t{1} << bits;
    d.insert(d.end(), {b - 1, b, b + 1, 3 * b - 1});
  }
  return d;
}

struct BoundaryCase {
  uint64_t res_us;
  uint64_t start_tick;
};

class WheelBoundaryTest : public ::testing::TestWithParam<BoundaryCase> {};

// For each delay: not fired 1 us before its expiry (reached in one jump, then in a second one
// from halfway), fired exactly at it.
TEST_P(WheelBoundaryTest, FiresAtExactTickAcrossLevels) {
  const auto [res, start_tick] = GetParam();
  for (const uint64_t delay : boundary_delays()) {
    SCOPED_TRACE(testing::Message() << "delay " << delay << " ticks");
    const uint64_t start = start_tick * res;
    Wheel w(us(start), us(res));
    Item it;
    const uint64_t exp = start + delay * res;
    w.arm(it.timer, us(exp));
    int fired = 0;
    auto count = [&](Timer& t) {
      EXPECT_EQ(&t, &it.timer);
      ++fired;
    };
    EXPECT_EQ(w.advance(us(start + (exp - start) / 2), count), 0u);
    EXPECT_EQ(w.advance(us(exp - 1), count), 0u);
    EXPECT_EQ(fired, 0);
    EXPECT_TRUE(Wheel::armed(it.timer));
    EXPECT_EQ(w.advance(us(exp), count), 1u);
    EXPECT_EQ(fired, 1);
    EXPECT_FALSE(Wheel::armed(it.timer));
    EXPECT_EQ(w.size(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Starts, WheelBoundaryTest,
                         ::testing::Values(BoundaryCase{1000, 0}, BoundaryCase{1000, 1},
                                           BoundaryCase{1000, 63}, BoundaryCase{1000, 4095},
                                           BoundaryCase{1000, 0x123456789},
                                           BoundaryCase{1, (uint64_t{1} << 36) - 1},
                                           BoundaryCase{1, 987654321}, BoundaryCase{7, 5}));

TEST(Wheel, ExpiryBetweenTicksFiresAtTheNextTickNotBefore) {
  Wheel w(us(0));  // 1 ms
  Item it;
  w.arm(it.timer, us(5300));
  int fired = 0;
  auto count = [&](Timer&) { ++fired; };
  w.advance(us(5299), count);
  w.advance(us(5300), count);  // due, but 5.3 ms rounds up to the 6 ms tick
  w.advance(us(5999), count);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(w.expiry(it.timer), us(6000));
  w.advance(us(6000), count);
  EXPECT_EQ(fired, 1);
}

TEST(Wheel, StepByStepFiresEachTimerOnItsOwnTick) {
  Wheel w(us(0));
  std::vector<Item> items(5000);
  std::mt19937_64 rng(1);
  for (uint32_t i = 0; i < items.size(); ++i) {
    items[i].id = i;
    w.arm(items[i].timer, Ticks::from_ms(1 + rng() % 10000));
  }
  for (uint64_t ms = 1; ms <= 10000; ++ms) {
    w.advance(Ticks::from_ms(ms), [&](Timer& t) {
      EXPECT_EQ(w.expiry(t), Ticks::from_ms(ms));
      items[item(t).id].id = UINT32_MAX;  // mark fired
    });
  }
  for (const Item& it : items) {
    EXPECT_EQ(it.id, UINT32_MAX);
  }
  EXPECT_EQ(w.size(), 0u);
}

TEST(Wheel, LongJumpFiresEverythingDueAndNothingEarly) {
  const uint64_t start = 123'456'789;
  Wheel w(us(start));
  std::vector<Item> items(20000);
  std::mt19937_64 rng(2);
  std::vector<uint64_t> exp(items.size());
  for (uint32_t i = 0; i < items.size(); ++i) {
    items[i].id = i;
    exp[i] = start + 1 + rng() % (3ull * 3600 * 1'000'000);  // up to 3 hours, any microsecond
    w.arm(items[i].timer, us(exp[i]));
  }
  uint64_t prev_now = start;
  for (const uint64_t hours : {1, 2, 3}) {
    const uint64_t now = start + hours * 3600 * 1'000'000;
    std::set<uint32_t> fired;
    w.advance(us(now), [&](Timer& t) {
      const uint32_t id = item(t).id;
      EXPECT_LE(exp[id], now);
      fired.insert(id);
    });
    std::set<uint32_t> expected;
    for (uint32_t i = 0; i < items.size(); ++i) {
      // Due: its expiry rounded up to a whole ms is at or before now rounded down to one.
      const uint64_t due_tick = (exp[i] + 999) / 1000;
      if (due_tick <= now / 1000 && due_tick > prev_now / 1000) {
        expected.insert(i);
      }
    }
    EXPECT_EQ(fired, expected) << "after " << hours << " h";
    prev_now = now;
  }
  EXPECT_EQ(w.size(), 0u);
}

TEST(Wheel, FiresInTickOrderWithinOneAdvance) {
  Wheel w(us(0));
  std::vector<Item> items(3000);
  std::mt19937_64 rng(3);
  for (Item& it : items) {
    w.arm(it.timer, Ticks::from_ms(rng() % 5'000'000));  // some at 0: in the past
  }
  Ticks last = us(0);
  size_t n = w.advance(Ticks::from_sec(5000), [&](Timer& t) {
    EXPECT_LE(last, w.expiry(t));
    last = w.expiry(t);
  });
  EXPECT_EQ(n, items.size());
}

TEST(Wheel, RearmFromCallbackMakesAPeriodicTimer) {
  Wheel w(us(0));
  Item it;
  w.arm(it.timer, Ticks::from_ms(10));
  std::vector<uint64_t> fired_at;
  for (uint64_t ms = 1; ms <= 1000; ++ms) {
    w.advance(Ticks::from_ms(ms), [&](Timer& t) {
      fired_at.push_back(ms);
      w.arm(t, Ticks::from_ms(ms + 10));
    });
  }
  ASSERT_EQ(fired_at.size(), 100u);
  for (size_t i = 0; i < fired_at.size(); ++i) {
    EXPECT_EQ(fired_at[i], 10 * (i + 1));
  }
  EXPECT_TRUE(Wheel::armed(it.timer));
  EXPECT_EQ(w.size(), 1u);
}

TEST(Wheel, RearmFromCallbackToNowFiresOnTheNextAdvanceNotThisOne) {
  Wheel w(us(0));
  Item it;
  w.arm(it.timer, Ticks::from_ms(5));
  int fired = 0;
  auto again = [&](Timer& t) {
    ++fired;
    w.arm(t, Ticks::from_ms(5));  // in the past from now on
  };
  EXPECT_EQ(w.advance(Ticks::from_ms(5), again), 1u);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(w.advance(Ticks::from_ms(5), again), 1u);
  EXPECT_EQ(fired, 2);
}

TEST(Wheel, CancelOfATimerDueInTheSameAdvanceFromAnotherCallback) {
  for (const uint64_t b_ms : {5, 6, 70, 5000}) {  // same tick as A, and later in the jump
    Wheel w(us(0));
    Item a, b;
    a.id = 1;
    b.id = 2;
    w.arm(a.timer, Ticks::from_ms(5));
    w.arm(b.timer, Ticks::from_ms(b_ms));
    std::vector<uint32_t> fired;
    w.advance(Ticks::from_sec(10), [&](Timer& t) {
      fired.push_back(item(t).id);
      w.cancel(&t == &a.timer ? b.timer : a.timer);  // whichever fires first cancels the other
    });
    ASSERT_EQ(fired.size(), 1u) << b_ms;
    if (b_ms > 5) {
      EXPECT_EQ(fired[0], 1u);
    }
    EXPECT_FALSE(Wheel::armed(a.timer));
    EXPECT_FALSE(Wheel::armed(b.timer));
    EXPECT_EQ(w.size(), 0u);
  }
}

TEST(Wheel, RearmOfAnotherDueTimerFromACallbackPostponesIt) {
  Wheel w(us(0));
  Item a, b;
  w.arm(a.timer, Ticks::from_ms(5));
  w.arm(b.timer, Ticks::from_ms(10));
  std::vector<Timer*> fired;
  auto cb = [&](Timer& t) {
    fired.push_back(&t);
    if (&t == &a.timer) {
      w.arm(b.timer, Ticks::from_ms(30));
    }
  };
  w.advance(Ticks::from_ms(20), cb);
  ASSERT_EQ(fired, std::vector<Timer*>{&a.timer});
  w.advance(Ticks::from_ms(29), cb);
  EXPECT_EQ(fired.size(), 1u);
  w.advance(Ticks::from_ms(30), cb);
  EXPECT_EQ(fired, (std::vector<Timer*>{&a.timer, &b.timer}));
}

TEST(Wheel, CancelOfAnUnarmedTimerIsANoOp) {
  Wheel w(us(0));
  Item a, b;
  w.cancel(a.timer);
  EXPECT_EQ(w.size(), 0u);
  w.arm(b.timer, Ticks::from_ms(3));
  w.arm(a.timer, Ticks::from_ms(3));
  w.cancel(a.timer);
  w.cancel(a.timer);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_FALSE(Wheel::armed(a.timer));
  std::vector<Timer*> fired;
  w.advance(Ticks::from_ms(3), [&](Timer& t) { fired.push_back(&t); });
  EXPECT_EQ(fired, std::vector<Timer*>{&b.timer});
}

TEST(Wheel, CancelKeepsTheRestOfTheSlot) {
  Wheel w(us(0));
  std::vector<Item> items(8);
  for (Item& it : items) {
    w.arm(it.timer, Ticks::from_ms(100));  // one slot, one list
  }
  for (size_t i : {0, 3, 7}) {  // the head, the middle and the tail of the list
    w.cancel(items[i].timer);
  }
  EXPECT_EQ(w.size(), 5u);
  EXPECT_EQ(w.advance(Ticks::from_ms(100), [](Timer&) {}), 5u);
  // A slot emptied by cancel must not leave a stale occupancy bit that hides nothing.
  w.arm(items[0].timer, Ticks::from_ms(200));
  w.cancel(items[0].timer);
  EXPECT_EQ(w.next_expiry_hint(), Ticks::max());
}

TEST(Wheel, ArmingInThePastFiresOnTheNextAdvance) {
  Wheel w(Ticks::from_ms(100));
  Item past, at_now, just_after;
  w.arm(past.timer, Ticks::from_ms(50));
  w.arm(at_now.timer, Ticks::from_ms(100));
  w.arm(just_after.timer, Ticks::from_ms(100) + us(1));
  EXPECT_EQ(w.next_expiry_hint(), Ticks::from_ms(100));
  std::set<Timer*> fired;
  EXPECT_EQ(w.advance(Ticks::from_ms(100), [&](Timer& t) { fired.insert(&t); }), 2u);
  EXPECT_EQ(fired, (std::set<Timer*>{&past.timer, &at_now.timer}));
  EXPECT_TRUE(Wheel::armed(just_after.timer));
  // Earlier than the wheel's now, still the next advance.
  w.arm(past.timer, Ticks::from_ms(1));
  EXPECT_EQ(w.advance(Ticks::from_ms(100), [&](Timer& t) { EXPECT_EQ(&t, &past.timer); }), 1u);
}

TEST(Wheel, RearmMovesAnArmedTimerWithoutChangingSize) {
  Wheel w(us(0));
  Item it;
  w.arm(it.timer, Ticks::from_sec(3600));
  w.arm(it.timer, Ticks::from_ms(2));
  w.arm(it.timer, Ticks::from_ms(7));
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.advance(Ticks::from_ms(6), [](Timer&) {}), 0u);
  EXPECT_EQ(w.advance(Ticks::from_ms(7), [](Timer&) {}), 1u);
  EXPECT_EQ(w.advance(Ticks::from_sec(7200), [](Timer&) {}), 0u);
}

TEST(Wheel, NextExpiryHintIsNeverLateAndReachesTheTimerInFewSteps) {
  for (const uint64_t delay_ms : {1ull, 64ull, 1000ull, 3'600'000ull, 200ull * 86'400'000}) {
    Wheel w(Ticks::from_ms(17));
    EXPECT_EQ(w.next_expiry_hint(), Ticks::max());
    Item it;
    const Ticks exp = Ticks::from_ms(17 + delay_ms);
    w.arm(it.timer, exp);
    int steps = 0;
    size_t fired = 0;
    while (fired == 0) {
      const Ticks hint = w.next_expiry_hint();
      ASSERT_LE(hint, exp);
      ASSERT_GT(hint, w.now());
      fired = w.advance(hint, [](Timer&) {});
      ++steps;
      ASSERT_LE(steps, 12);
    }
    EXPECT_EQ(w.now(), exp);
    EXPECT_EQ(w.next_expiry_hint(), Ticks::max());
  }
}

TEST(Wheel, TimersBeyondTheSpanAreRefiledNotFiredEarly) {
  // 1 us resolution: the span is 2^36 us, about 19 hours.
  Wheel w(us(0), us(1));
  std::vector<Item> items(100);
  std::vector<uint64_t> exp(items.size());
  for (uint32_t i = 0; i < items.size(); ++i) {
    items[i].id = i;
    exp[i] = (uint64_t{1} << 36) + i * 3'600'000'000ull;  // 19 h to 119 h
    w.arm(items[i].timer, us(exp[i]));
  }
  uint32_t next = 0;
  for (uint64_t now = 0; now < exp.back() + 1'000'000'000; now += 1'000'000'000) {  // 1000 s jumps
    w.advance(us(now), [&](Timer& t) {
      const uint32_t id = item(t).id;
      EXPECT_EQ(id, next);
      EXPECT_LE(exp[id], now);
      EXPECT_GT(exp[id] + 1'000'000'000, now);
      ++next;
    });
  }
  EXPECT_EQ(next, items.size());
}

TEST(Wheel, OwnerOfRecoversTheEmbeddingObject) {
  struct Record {
    uint64_t before[3];
    Timer retransmit;
    Timer keepalive;
  };
  Record r{};
  EXPECT_EQ(&owner_of<&Record::retransmit>(r.retransmit), &r);
  EXPECT_EQ(&owner_of<&Record::keepalive>(r.keepalive), &r);
}

TEST(Wheel, CopiedHookIsUnarmed) {
  Wheel w(us(0));
  Item a;
  w.arm(a.timer, Ticks::from_ms(1));
  Item b = a;
  EXPECT_FALSE(Wheel::armed(b.timer));
  EXPECT_TRUE(Wheel::armed(a.timer));
}

}  // namespace
}  // namespace tempo::time
