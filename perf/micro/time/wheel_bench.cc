// Timer wheel micro benchmarks: ns per arm, cancel, re-arm and expire with 1M and 10M timers
// armed (expiries uniform over 0-60 s at 1 ms resolution, as RTO/delayed-ACK/keepalive/
// TIME_WAIT timers spread), the cost of one idle tick with 10M armed, and bytes per timer.
//
//   ninja -C build-time perf/micro/time/wheel_bench
//   build-time/perf/micro/time/wheel_bench
#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <rte_timer.h>

#include "time/wheel.h"

namespace tempo::time {
namespace {

struct Item {
  Timer timer;
  uint32_t id = 0;
};

constexpr uint64_t kSpreadUs = 60'000'000;  // 60 s
constexpr size_t kBatch = size_t{1} << 20;  // ops between untimed restorations

// A wheel holding `n` armed timers, built once per n and shared by the benchmarks, each of which
// leaves it as it found it: n armed, expiries uniform over the next 60 s.
struct Bed {
  explicit Bed(size_t n)
      : wheel(Ticks::from_us(0)), items(n), delay(n), order(n), spare(kBatch), new_exp(kBatch) {
    std::mt19937_64 rng(n);
    for (size_t i = 0; i < n; ++i) {
      items[i].id = static_cast<uint32_t>(i);
      delay[i] = 1 + rng() % kSpreadUs;
    }
    std::iota(order.begin(), order.end(), uint32_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    for (uint64_t& e : new_exp) {
      e = 1 + rng() % kSpreadUs;
    }
    rearm_all(0);
  }
  void rearm_all(uint64_t offset_us) {
    const uint64_t now = wheel.now().us() + offset_us;
    for (size_t i = 0; i < items.size(); ++i) {
      wheel.arm(items[i].timer, Ticks::from_us(now + delay[i]));
    }
  }
  double bytes_per_timer() const {
    return sizeof(Timer) + static_cast<double>(sizeof(Wheel)) / static_cast<double>(items.size());
  }

  Wheel wheel;
  std::vector<Item> items;
  std::vector<uint64_t> delay;    // each item's delay from "now" when (re)armed
  std::vector<uint32_t> order;    // a random permutation of the items
  std::vector<Item> spare;        // timers not in the wheel, for arm
  std::vector<uint64_t> new_exp;  // random delays for arm and re-arm
};

Bed& bed(size_t n) {
  static std::unique_ptr<Bed> beds[2];
  std::unique_ptr<Bed>& b = beds[n > 1'000'000];
  if (!b || b->items.size() != n) {
    b.reset();
    b = std::make_unique<Bed>(n);
  }
  return *b;
}

void set_counters(benchmark::State& state, const Bed& b) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["bytes_per_timer"] = b.bytes_per_timer();
  state.counters["armed"] = static_cast<double>(b.items.size());
}

void BM_Arm(benchmark::State& state) {
  Bed& b = bed(static_cast<size_t>(state.range(0)));
  const uint64_t now = b.wheel.now().us();
  size_t i = 0;
  for (auto _ : state) {
    b.wheel.arm(b.spare[i].timer, Ticks::from_us(now + b.new_exp[i]));
    benchmark::DoNotOptimize(b.spare[i]);
    if (++i == kBatch) [[unlikely]] {
      state.PauseTiming();
      for (Item& s : b.spare) {
        b.wheel.cancel(s.timer);
      }
      i = 0;
      state.ResumeTiming();
    }
  }
  set_counters(state, b);
  for (Item& s : b.spare) {
    b.wheel.cancel(s.timer);
  }
}

void BM_Cancel(benchmark::State& state) {
  Bed& b = bed(static_cast<size_t>(state.range(0)));
  const size_t batch = std::min(kBatch, b.items.size());
  size_t i = 0;
  for (auto _ : state) {
    Item& it = b.items[b.order[i]];
    b.wheel.cancel(it.timer);
    benchmark::DoNotOptimize(it);
    if (++i == batch) [[unlikely]] {
      state.PauseTiming();
      const uint64_t now = b.wheel.now().us();
      for (size_t k = 0; k < batch; ++k) {
        const uint32_t id = b.order[k];
        b.wheel.arm(b.items[id].timer, Ticks::from_us(now + b.delay[id]));
      }
      i = 0;
      state.ResumeTiming();
    }
  }
  const uint64_t now = b.wheel.now().us();
  for (size_t k = 0; k < i; ++k) {
    const uint32_t id = b.order[k];
    b.wheel.arm(b.items[id].timer, Ticks::from_us(now + b.delay[id]));
  }
  set_counters(state, b);
}

void BM_Rearm(benchmark::State& state) {
  Bed& b = bed(static_cast<size_t>(state.range(0)));
  const uint64_t now = b.wheel.now().us();
  const size_t n = b.items.size();
  size_t i = 0;
  for (auto _ : state) {
    Item& it = b.items[b.order[i]];
    b.wheel.arm(it.timer, Ticks::from_us(now + b.new_exp[i & (kBatch - 1)]));
    benchmark::DoNotOptimize(it);
    if (++i == n) [[unlikely]] {
      i = 0;
    }
  }
  set_counters(state, b);
}

// Drains the wheel one 1 ms tick at a time until all n timers have fired (cascades included).
void BM_Expire(benchmark::State& state) {
  Bed& b = bed(static_cast<size_t>(state.range(0)));
  uint64_t fired = 0;
  for (auto _ : state) {
    uint64_t now = b.wheel.now().us();
    while (b.wheel.size() != 0) {
      now += 1000;
      fired += b.wheel.advance(Ticks::from_us(now), [](Timer& t) { benchmark::DoNotOptimize(t); });
    }
    state.PauseTiming();
    b.rearm_all(0);
    state.ResumeTiming();
  }
  set_counters(state, b);
  state.SetItemsProcessed(static_cast<int64_t>(fired));
}

// Steady state: advance by one tick; each timer that fires re-arms itself 60 s ahead, so the
// wheel keeps n armed and ~n/60000 fire per tick (the realistic busy tick).
void BM_AdvanceBusyTick(benchmark::State& state) {
  Bed& b = bed(static_cast<size_t>(state.range(0)));
  uint64_t now = b.wheel.now().us();
  uint64_t fired = 0;
  for (auto _ : state) {
    now += 1000;
    fired += b.wheel.advance(Ticks::from_us(now),
                             [&](Timer& t) { b.wheel.arm(t, Ticks::from_us(now + kSpreadUs)); });
  }
  state.SetItemsProcessed(static_cast<int64_t>(fired));  // items: timers fired and re-armed
  state.counters["fired_per_tick"] =
      static_cast<double>(fired) / static_cast<double>(state.iterations());
  state.counters["armed"] = static_cast<double>(b.wheel.size());
  b.rearm_all(0);  // back to the uniform spread
}

// One tick with n armed and none due: all 30-60 days out, beyond any number of iterations here.
void BM_AdvanceIdleTick(benchmark::State& state) {
  Bed& b = bed(static_cast<size_t>(state.range(0)));
  b.rearm_all(30ull * 86'400'000'000);
  uint64_t now = b.wheel.now().us();
  size_t fired = 0;
  for (auto _ : state) {
    now += 1000;
    fired += b.wheel.advance(Ticks::from_us(now), [](Timer&) {});
  }
  benchmark::DoNotOptimize(fired);
  set_counters(state, b);
  state.counters["fired"] = static_cast<double>(fired);
  b.rearm_all(0);
}

void BM_Sizes(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(state.iterations());
  }
  state.counters["tempo_timer_bytes"] = sizeof(Timer);
  state.counters["rte_timer_bytes"] = sizeof(struct rte_timer);
  state.counters["wheel_bytes"] = sizeof(Wheel);
}

constexpr int64_t k1M = 1'000'000;
constexpr int64_t k10M = 10'000'000;

BENCHMARK(BM_Sizes)->Iterations(1);
BENCHMARK(BM_Arm)->Arg(k1M);
BENCHMARK(BM_Cancel)->Arg(k1M);
BENCHMARK(BM_Rearm)->Arg(k1M);
BENCHMARK(BM_AdvanceBusyTick)->Arg(k1M);
BENCHMARK(BM_Expire)->Arg(k1M)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Arm)->Arg(k10M);
BENCHMARK(BM_Cancel)->Arg(k10M);
BENCHMARK(BM_Rearm)->Arg(k10M);
BENCHMARK(BM_AdvanceIdleTick)->Arg(k10M);
BENCHMARK(BM_AdvanceBusyTick)->Arg(k10M);
BENCHMARK(BM_Expire)->Arg(k10M)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tempo::time

BENCHMARK_MAIN();
