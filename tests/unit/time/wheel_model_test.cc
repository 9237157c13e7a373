// 100k random timers against a reference model (std::multimap by due tick): random arms,
// re-arms, cancels and advances of every length, plus re-arm and cancel from callbacks. At
// every advance the wheel must fire exactly the set the model says is due.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "time/wheel.h"

namespace tempo::time {
namespace {

struct Item {
  Timer timer;
  uint32_t id = 0;
};

class Model {
 public:
  explicit Model(size_t n, uint64_t res_us) : where_(n), res_(res_us) {}

  // Mirrors Wheel::arm: at or before `now_us` fires on the next advance (tick 0), else on the
  // tick that holds expiry rounded up.
  void arm(uint32_t id, uint64_t expiry_us, uint64_t now_us) {
    cancel(id);
    const uint64_t tick = expiry_us <= now_us ? 0 : (expiry_us + res_ - 1) / res_;
    where_[id] = due_.emplace(tick, id);
  }
  void cancel(uint32_t id) {
    if (where_[id]) {
      due_.erase(*where_[id]);
      where_[id].reset();
    }
  }
  bool armed(uint32_t id) const { return where_[id].has_value(); }
  size_t size() const { return due_.size(); }

  // Removes and returns every timer due at an advance to `now_us`.
  std::vector<uint32_t> take_due(uint64_t now_us) {
    std::vector<uint32_t> ids;
    const auto end = due_.upper_bound(now_us / res_);
    for (auto it = due_.begin(); it != end; ++it) {
      ids.push_back(it->second);
      where_[it->second].reset();
    }
    due_.erase(due_.begin(), end);
    return ids;
  }

 private:
  std::multimap<uint64_t, uint32_t> due_;
  std::vector<std::optional<std::multimap<uint64_t, uint32_t>::iterator>> where_;
  uint64_t res_;
};

constexpr uint64_t kSec = 1'000'000;

// A delay mix like a TCP stack's: mostly short (delayed ACK, RTO), some long (keepalive,
// TIME_WAIT), a few beyond the span of a 1 us wheel (19 h), a few zero.
uint64_t random_delay(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
      return rng() % 2;
    case 1:
    case 2:
      return rng() % (200'000);
    case 3:
    case 4:
      return rng() % (60 * kSec);
    case 5:
      return rng() % (2 * 3600 * kSec);
    case 6:
      return rng() % (48 * 3600 * kSec);
    default:
      return rng() % 5000;
  }
}

uint64_t random_step(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0:
      return 0;
    case 1:
      return rng() % (3 * 3600 * kSec);  // idle for up to hours
    case 2:
      return rng() % (100 * kSec);
    default:
      return rng() % 20'000;
  }
}

class WheelModelTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(WheelModelTest, SameTimersFireAsTheReferenceModel) {
  const uint64_t res = GetParam();
  constexpr uint32_t kTimers = 100'000;
  constexpr int kSteps = 1500;
  std::mt19937_64 rng(res * 7919 + 1);
  uint64_t now = 1'000'000'007;
  Wheel wheel(Ticks::from_us(now), Ticks::from_us(res));
  Model model(kTimers, res);
  std::vector<Item> items(kTimers);
  for (uint32_t i = 0; i < kTimers; ++i) {
    items[i].id = i;
    const uint64_t exp = now - 3 + random_delay(rng);  // a few in the past
    wheel.arm(items[i].timer, Ticks::from_us(exp));
    model.arm(i, exp, now);
  }
  ASSERT_EQ(wheel.size(), model.size());

  std::vector<uint8_t> expected(kTimers, 0);
  size_t total_fired = 0;
  for (int step = 0; step < kSteps; ++step) {
    // Random arms, re-arms and cancels between advances.
    const int ops = static_cast<int>(rng() % 200);
    for (int k = 0; k < ops; ++k) {
      const auto id = static_cast<uint32_t>(rng() % kTimers);
      if (rng() % 4 == 0) {
        wheel.cancel(items[id].timer);
        model.cancel(id);
      } else {
        const uint64_t exp = now - 2 + random_delay(rng);
        wheel.arm(items[id].timer, Ticks::from_us(exp));
        model.arm(id, exp, now);
      }
    }
    now += random_step(rng);

    size_t pending = 0;
    for (const uint32_t id : model.take_due(now)) {
      expected[id] = 1;
      ++pending;
    }
    const size_t fired = wheel.advance(Ticks::from_us(now), [&](Timer& t) {
      const uint32_t id = owner_of<&Item::timer>(t).id;
      ASSERT_EQ(expected[id], 1) << "timer " << id << " fired but is not due";
      expected[id] = 0;
      --pending;
      const uint64_t r = rng() % 16;
      if (r == 0) {  // re-arm itself, later than now
        const uint64_t exp = now + 1 + random_delay(rng);
        wheel.arm(t, Ticks::from_us(exp));
        model.arm(id, exp, now);
      } else if (r == 1) {  // re-arm itself into the past: due on the next advance
        wheel.arm(t, Ticks::from_us(now - rng() % 1000));
        model.arm(id, 0, now);
      } else if (r <= 3) {  // cancel another timer, maybe one due in this very advance
        const auto other = static_cast<uint32_t>(rng() % kTimers);
        if (Wheel::armed(items[other].timer)) {
          wheel.cancel(items[other].timer);
          if (expected[other]) {
            expected[other] = 0;
            --pending;
          } else {
            model.cancel(other);
          }
        }
      } else if (r == 4) {  // re-arm another timer, maybe one due in this very advance
        const auto other = static_cast<uint32_t>(rng() % kTimers);
        const uint64_t exp = now + 1 + random_delay(rng);
        wheel.arm(items[other].timer, Ticks::from_us(exp));
        if (expected[other]) {
          expected[other] = 0;
          --pending;
        }
        model.arm(other, exp, now);
      }
    });
    ASSERT_EQ(pending, 0u) << "step " << step << ": due timers did not fire";
    ASSERT_EQ(wheel.size(), model.size()) << "step " << step;
    total_fired += fired;
    if (step % 250 == 0) {
      for (uint32_t i = 0; i < kTimers; ++i) {
        ASSERT_EQ(Wheel::armed(items[i].timer), model.armed(i)) << "timer " << i;
      }
    }
  }
  // The mix must really have exercised firing and long idle jumps.
  EXPECT_GT(total_fired, size_t{kTimers} / 2);
}

INSTANTIATE_TEST_SUITE_P(Resolutions, WheelModelTest, ::testing::Values(1, 1000, 333));

}  // namespace
}  // namespace tempo::time
