// The one's-complement sum (RFC 1071) that every software checksum runs: tempo's raw_sum_add
// against DPDK's rte_raw_cksum (detail::dpdk_raw_sum), which it replaced (wire/checksum.h). Both
// are compiled in lib/wire/checksum.cc with the same flags and called out of line, so the
// difference is the loop. Sizes: a TCP header (20), an IPv6 pseudo-header or IPv4 and TCP
// headers (40), 64, the IPv4 datagram every host must accept (576, RFC 791), a 1500-byte MTU's
// MSS with timestamps and without (1448, 1460), 2048, a jumbo frame (9000) and a 64 KiB TSO
// frame. One run, so they compare:
//
//   build-X/perf/micro/wire/wire_checksum_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one line)
#include <cstddef>
#include <random>
#include <span>
#include <vector>

#include <benchmark/benchmark.h>

#include "wire/checksum.h"

namespace tempo::wire {
namespace {

// Random bytes, one byte into an aligned buffer: packet payloads start anywhere.
std::vector<std::byte> input(size_t n) {
  std::vector<std::byte> v(n + 1);
  std::mt19937 rng(1071);
  for (auto& b : v) {
    b = static_cast<std::byte>(rng());
  }
  return v;
}

template <uint16_t (*Sum)(std::span<const std::byte>)>
void BM_Sum(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const auto buf = input(n);
  const auto data = std::span(buf).subspan(1, n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Sum(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

uint16_t tempo_sum(std::span<const std::byte> d) { return raw_sum_add(0, d, 0); }
uint16_t dpdk_sum(std::span<const std::byte> d) { return detail::dpdk_raw_sum(d); }

void sizes(benchmark::internal::Benchmark* b) {
  for (int n : {20, 40, 64, 576, 1448, 1460, 2048, 9000, 65536}) {
    b->Arg(n);
  }
}
BENCHMARK_TEMPLATE(BM_Sum, tempo_sum)->Name("BM_TempoSum")->Apply(sizes);
BENCHMARK_TEMPLATE(BM_Sum, dpdk_sum)->Name("BM_DpdkRawCksum")->Apply(sizes);

}  // namespace
}  // namespace tempo::wire

BENCHMARK_MAIN();
