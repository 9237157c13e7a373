// TwTable: lookups (hit, miss; one at a time and bulk) with 1M and 10M held, insert and expire
// rates, the cost of an expire/advance with nothing due, all-in bytes per entry, and a mass
// expiry taken a bounded number per loop turn.
//
//   ninja -C build-tw perf/micro/timewait/timewait_bench
//   build-tw/perf/micro/timewait/timewait_bench
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <unistd.h>
#include <vector>

#include <benchmark/benchmark.h>

#include "timewait/table.h"

namespace tempo::timewait {
namespace {

constexpr Ticks kT0 = Ticks::from_sec(1000);

flow::Tuple4 tuple(uint32_t id) {
  flow::Tuple4 t;
  t.local = 0x020012c6;
  t.remote = 0x000012c6 | ((id >> 16) << 16);  // 198.18.0.0/15 spread over /16s
  t.local_port = 0x5000;
  t.remote_port = static_cast<uint16_t>(id);
  return t;
}

double rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) {
    return 0;
  }
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) : 0;
}

TwTableConfig config(uint32_t max_entries) {
  TwTableConfig cfg;
  cfg.max_entries = max_entries;
  cfg.on_full = TwOnFull::kRefuse;
  cfg.seed = 0x5eed5eed12345678ULL ^ static_cast<uint64_t>(getpid());
  return cfg;
}

// One held table at a time (10M IPv4 entries: ~510 MB), ids [0, held) held, even ids inserted
// at kT0 so that nothing is due before kT0 + 60 s.
struct Held {
  uint32_t held = 0;
  std::optional<TwTableV4> table;
  double bytes_per_entry = 0;  // RSS delta of the fill, per entry
};

Held& held_table(uint32_t held) {
  static Held h;
  if (h.held != held) {
    h.table.reset();
    const double before = rss_bytes();
    auto t = TwTableV4::create(config(held));
    if (!t.ok()) {
      std::fprintf(stderr, "create failed\n");
      std::abort();
    }
    h.table.emplace(std::move(*t));
    TwConn c;
    c.flags = TwConn::kTsOk;
    for (uint32_t id = 0; id < held; ++id) {
      if (!h.table->insert(tuple(2 * id), c, kT0).ok()) {
        std::abort();
      }
    }
    // A resize begun by the last inserts finishes in the Worker's idle turns (expiry passes,
    // two buckets each): lookups are measured once it has, on the one index the table keeps.
    while (h.table->resizing()) {
      h.table->expire(kT0);
    }
    h.bytes_per_entry = (rss_bytes() - before) / held;
    h.held = held;
  }
  return h;
}

std::vector<flow::Tuple4> sample(uint32_t held, bool hit) {
  std::mt19937 rng(42);
  std::vector<flow::Tuple4> keys(1 << 16);
  for (auto& k : keys) {
    k = tuple(2 * (rng() % held) + (hit ? 0 : 1));
  }
  return keys;
}

void lookup(benchmark::State& state, bool hit) {
  const auto held = static_cast<uint32_t>(state.range(0));
  const auto burst = static_cast<size_t>(state.range(1));
  Held& h = held_table(held);
  const std::vector<flow::Tuple4> keys = sample(held, hit);
  std::vector<uint32_t> out(burst);
  size_t i = 0;
  uint64_t found = 0;
  for (auto _ : state) {
    if (burst == 1) {
      const uint32_t idx = h.table->find(keys[i]);
      found += idx != kNoIndex;
      benchmark::DoNotOptimize(idx);
    } else {
      h.table->find_bulk(std::span(keys).subspan(i, burst), out);
      found += out[0] != kNoIndex;
      benchmark::DoNotOptimize(out.data());
    }
    i = (i + burst) & (keys.size() - 1);
  }
  if ((found != 0) != hit) {
    state.SkipWithError("lookup result does not match hit/miss");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * burst));
  state.counters["ns_per_lookup"] =
      benchmark::Counter(static_cast<double>(state.iterations() * burst),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_entry_rss"] = h.bytes_per_entry;
  state.counters["bytes_per_entry_bound"] = h.table->bytes_per_entry_at_bound();
}

void BM_LookupHit(benchmark::State& state) { lookup(state, true); }
void BM_LookupMiss(benchmark::State& state) { lookup(state, false); }

void lookup_args(benchmark::internal::Benchmark* b) {
  for (int64_t held : {1000000, 10000000}) {
    for (int64_t burst : {1, 32}) {
      b->Args({held, burst});
    }
  }
}
BENCHMARK(BM_LookupHit)->Apply(lookup_args)->ArgNames({"held", "burst"});
BENCHMARK(BM_LookupMiss)->Apply(lookup_args)->ArgNames({"held", "burst"});

// Advance with nothing due, 10M held: what the Worker's wheel pays per tick for TIME_WAIT.
void BM_ExpireNothingDue(benchmark::State& state) {
  Held& h = held_table(static_cast<uint32_t>(state.range(0)));
  uint32_t i = 0;
  for (auto _ : state) {
    const Ticks now = kT0 + Ticks::from_us(++i & 0xfffff);  // < 1.1 s: nothing is due
    benchmark::DoNotOptimize(h.table->expire(now));
    benchmark::DoNotOptimize(h.table->next_expiry(now));
  }
  if (h.table->size() != h.held) {
    state.SkipWithError("something expired");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ExpireNothingDue)->Arg(1000000)->Arg(10000000)->ArgName("held");

// Fill an empty table to `n` (insert rate), then expire all of it (expire rate). Manual time:
// the table's creation is not counted.
void fill_then_expire(benchmark::State& state, bool time_expire) {
  const auto n = static_cast<uint32_t>(state.range(0));
  std::mt19937 rng(7);
  std::vector<uint32_t> ids(n);
  for (auto& id : ids) {
    id = rng();
  }
  double bytes = 0;
  for (auto _ : state) {
    const double before = rss_bytes();
    auto t = TwTableV4::create(config(n));
    TwConn c;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < n; ++i) {
      // Spread over 60 s of entry time so that the expire pass crosses many milliseconds.
      benchmark::DoNotOptimize(t->insert(tuple(ids[i]), c, kT0 + Ticks::from_us(i * 6)).ok());
    }
    const auto filled = std::chrono::steady_clock::now();
    bytes = (rss_bytes() - before) / t->size();
    const uint32_t expired = t->expire(kT0 + Ticks::from_sec(200));
    const auto done = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(expired);
    const auto span = time_expire ? done - filled : filled - start;
    state.SetIterationTime(std::chrono::duration<double>(span).count());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["bytes_per_entry_rss"] = bytes;
}
void BM_Insert(benchmark::State& state) { fill_then_expire(state, false); }
void BM_Expire(benchmark::State& state) { fill_then_expire(state, true); }
BENCHMARK(BM_Insert)
    ->Arg(1000000)
    ->Arg(10000000)
    ->ArgName("n")
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Expire)
    ->Arg(1000000)
    ->Arg(10000000)
    ->ArgName("n")
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Issue 23, a mass expiry: `n` entries (a burst that entered within one millisecond) fall due at
// once, and the Worker's loop takes them `per_turn` at a time (Worker::kTwExpiryPerTurn; 0: all
// in one call, as before the bound). Reported: the longest expiry pass a loop turn made
// (turn_max_us), how many turns the batch took, and the cost per entry. Manual time: the passes.
void BM_MassExpiry(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  const auto per_turn = static_cast<uint32_t>(state.range(1));
  std::mt19937 rng(11);
  double turn_max = 0;
  uint64_t turns = 0;
  for (auto _ : state) {
    auto t = TwTableV4::create(config(n));
    TwConn c;
    for (uint32_t i = 0; i < n; ++i) {
      benchmark::DoNotOptimize(t->insert(tuple(rng()), c, kT0 + Ticks::from_us(i / 1000)).ok());
    }
    const Ticks due = kT0 + t->policy().duration + Ticks::from_ms(1);
    double total = 0;
    while (t->due(due)) {
      const auto start = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(t->expire(due, per_turn == 0 ? UINT32_MAX : per_turn));
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      total += s;
      turn_max = std::max(turn_max, s);
      ++turns;
    }
    state.SetIterationTime(total);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["turn_max_us"] = turn_max * 1e6;
  state.counters["turns"] = static_cast<double>(turns) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_MassExpiry)
    ->Args({300000, 0})
    ->Args({300000, 64})
    ->ArgNames({"n", "per_turn"})
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tempo::timewait

BENCHMARK_MAIN();
