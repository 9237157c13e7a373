// IP reassembly: tempo's stack::Reassembly (copy each fragment into a bounded arena, free the
// RX mbuf at once, copy the whole datagram into one mbuf) against DPDK's rte_ip_frag (hold
// the RX mbufs, chain them, then copy the chain into one mbuf, as TCP input needs one
// contiguous segment). The reasons tempo does not use rte_ip_frag are in stack/reassembly.h;
// this says what it costs.
//
// Each iteration receives one 1,500-byte IPv4 datagram cut for a 576-byte MTU (3 fragments:
// 552 + 552 + 376 bytes), in order (Arg 0) or last first (Arg 1): three RX mbufs are allocated
// and filled (what a NIC does; the same on every side, and measured alone as RxOnly), then each
// path takes them and delivers one contiguous mbuf, which is freed. Items are fragments.
//
//   ninja -C build-release perf/micro/stack/reassembly_bench
//   build-release/perf/micro/stack/reassembly_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include "stack/reassembly.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"

namespace tempo::stack {
namespace {

constexpr size_t kEth = 14;
constexpr size_t kIp = 20;
constexpr uint32_t kDatagram = 1480;  // IP payload of a 1,500-byte datagram
constexpr std::array<std::pair<uint32_t, uint32_t>, 3> kPieces = {
    {{0, 552}, {552, 1104}, {1104, kDatagram}}};

rte_mempool* g_pool = nullptr;

bool eal_up() {
  if (g_pool != nullptr) {
    return true;
  }
  std::vector<std::string> args = {"reassembly_bench",
                                   "--no-huge",
                                   "-m",
                                   "256",
                                   "--no-pci",
                                   "--no-shconf",
                                   "-l",
                                   "0",
                                   "--log-level",
                                   "3",
                                   "--file-prefix",
                                   "reasm-bench-" + std::to_string(getpid())};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    return false;
  }
  g_pool = rte_pktmbuf_pool_create("reasm_bench", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   static_cast<int>(rte_socket_id()));
  return g_pool != nullptr;
}

// The three fragments' frames (Ethernet + IPv4 + data); the id is patched per datagram.
std::array<std::vector<std::byte>, 3> templates() {
  std::array<std::vector<std::byte>, 3> out;
  for (size_t i = 0; i < kPieces.size(); ++i) {
    const auto [a, b] = kPieces[i];
    std::vector<std::byte>& f = out[i];
    f.resize(kEth + kIp + (b - a));
    (void)*wire::write_eth(f, wire::MacAddr{2, 0, 0, 0, 0, 2}, wire::MacAddr{2, 0, 0, 0, 0, 1},
                           wire::kEtherTypeIpv4);
    (void)*wire::write_ipv4(std::span(f).subspan(kEth),
                            wire::Ipv4HeaderFields{.src = wire::Ipv4Addr{198, 18, 0, 1},
                                                   .dst = wire::Ipv4Addr{198, 18, 0, 2},
                                                   .protocol = wire::kIpProtoTcp,
                                                   .payload_len = static_cast<uint16_t>(b - a),
                                                   .ttl = 64,
                                                   .id = 0,
                                                   .dont_fragment = false,
                                                   .tos = 0});
    wire::detail::store_be16(&f[kEth + 6],
                             static_cast<uint16_t>((b < kDatagram ? 0x2000 : 0) | a / 8));
    for (size_t k = kEth + kIp; k < f.size(); ++k) {
      f[k] = std::byte{static_cast<uint8_t>(k)};
    }
  }
  return out;
}

// What the NIC does: three RX mbufs holding the fragments of datagram `id`, in `order`.
void receive(const std::array<std::vector<std::byte>, 3>& t, uint16_t id, bool last_first,
             std::array<rte_mbuf*, 3>& rx) {
  static constexpr std::array<size_t, 3> kInOrder = {0, 1, 2};
  static constexpr std::array<size_t, 3> kLastFirst = {2, 0, 1};
  const auto& order = last_first ? kLastFirst : kInOrder;
  (void)rte_pktmbuf_alloc_bulk(g_pool, rx.data(), 3);
  for (size_t i = 0; i < 3; ++i) {
    const std::vector<std::byte>& f = t[order[i]];
    auto* d =
        reinterpret_cast<std::byte*>(rte_pktmbuf_append(rx[i], static_cast<uint16_t>(f.size())));
    std::memcpy(d, f.data(), f.size());
    wire::detail::store_be16(d + kEth + 4, id);
    wire::detail::store_be16(d + kEth + 10, 0);
    wire::detail::store_be16(d + kEth + 10,
                             wire::internet_checksum(std::span<const std::byte>(d + kEth, kIp)));
  }
}

void RxOnly(benchmark::State& state) {
  if (!eal_up()) {
    state.SkipWithError("EAL");
    return;
  }
  const auto t = templates();
  std::array<rte_mbuf*, 3> rx{};
  uint16_t id = 0;
  for (auto _ : state) {
    receive(t, ++id, state.range(0) != 0, rx);
    rte_pktmbuf_free_bulk(rx.data(), 3);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 3);
}

void Tempo(benchmark::State& state) {
  if (!eal_up()) {
    state.SkipWithError("EAL");
    return;
  }
  const auto t = templates();
  telemetry::StackCounters counters;
  Reassembly reasm(counters);
  reasm.init(ReassemblyConfig{}, RTE_MBUF_DEFAULT_DATAROOM - kEth);
  std::array<rte_mbuf*, 3> rx{};
  uint16_t id = 0;
  const Ticks now = Ticks::from_sec(1);
  for (auto _ : state) {
    receive(t, ++id, state.range(0) != 0, rx);
    for (rte_mbuf* m : rx) {
      // As Worker::input_ipv4 and input_fragment do.
      const auto frame = std::span<const std::byte>(rte_pktmbuf_mtod(m, const std::byte*),
                                                    rte_pktmbuf_data_len(m));
      const auto ip = wire::Ipv4View::parse(frame.subspan(kEth));
      const Fragment f = ipv4_fragment(*ip);
      const Reassembly::Outcome out = reasm.add(f, now);
      if (out.verdict == Reassembly::Verdict::kComplete) {
        rte_mbuf* whole = rte_pktmbuf_alloc(g_pool);
        const size_t len = kEth + out.header.size() + out.payload.size();
        auto* d =
            reinterpret_cast<std::byte*>(rte_pktmbuf_append(whole, static_cast<uint16_t>(len)));
        std::memcpy(d, frame.data(), kEth);
        std::memcpy(d + kEth, out.header.data(), out.header.size());
        std::memcpy(d + kEth + out.header.size(), out.payload.data(), out.payload.size());
        benchmark::DoNotOptimize(d);
        rte_pktmbuf_free(whole);
      }
      rte_pktmbuf_free(m);  // the RX buffer goes back at once
    }
  }
  if (counters.reasm_datagrams != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("not every datagram was reassembled");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 3);
}

void RteIpFrag(benchmark::State& state) {
  if (!eal_up()) {
    state.SkipWithError("EAL");
    return;
  }
  const auto t = templates();
  const uint64_t hz = rte_get_tsc_hz();
  // 64 datagrams, as tempo's default ip.reassembly.max_datagrams.
  rte_ip_frag_tbl* tbl = rte_ip_frag_table_create(32, 4, 64, hz * 5, SOCKET_ID_ANY);
  if (tbl == nullptr) {
    state.SkipWithError("rte_ip_frag_table_create");
    return;
  }
  rte_ip_frag_death_row dr{};
  std::array<rte_mbuf*, 3> rx{};
  uint16_t id = 0;
  uint64_t done = 0;
  for (auto _ : state) {
    receive(t, ++id, state.range(0) != 0, rx);
    const uint64_t tsc = rte_rdtsc();
    for (rte_mbuf* m : rx) {
      // The same IPv4 checks first (Worker::input_ipv4 parses before it reassembles).
      const auto view = wire::Ipv4View::parse(std::span<const std::byte>(
          rte_pktmbuf_mtod_offset(m, const std::byte*, kEth), rte_pktmbuf_data_len(m) - kEth));
      benchmark::DoNotOptimize(view.ok());
      m->l2_len = kEth;
      m->l3_len = kIp;
      auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEth);
      rte_mbuf* chain = rte_ipv4_frag_reassemble_packet(tbl, &dr, m, tsc, ip);
      if (chain != nullptr) {
        // One contiguous mbuf for TCP input: the chain copied, then freed.
        rte_mbuf* whole = rte_pktmbuf_alloc(g_pool);
        const uint32_t len = rte_pktmbuf_pkt_len(chain);
        auto* d = rte_pktmbuf_append(whole, static_cast<uint16_t>(len));
        const void* p = rte_pktmbuf_read(chain, 0, len, d);
        if (p != d) {
          std::memcpy(d, p, len);
        }
        benchmark::DoNotOptimize(d);
        rte_pktmbuf_free(whole);
        rte_pktmbuf_free(chain);
        ++done;
      }
    }
    rte_ip_frag_free_death_row(&dr, 3);
  }
  rte_ip_frag_free_death_row(&dr, 0);
  rte_ip_frag_table_destroy(tbl);
  if (done != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("not every datagram was reassembled");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 3);
}

// A flood of datagrams that never complete (their first two fragments only): the cost per
// fragment, and the RX mbufs each side still holds afterwards (held_mbufs), with the table of
// 64 datagrams full. tempo holds none (it copied); rte_ip_frag holds each fragment it keeps.
void FloodTempo(benchmark::State& state) {
  if (!eal_up()) {
    state.SkipWithError("EAL");
    return;
  }
  const auto t = templates();
  telemetry::StackCounters counters;
  Reassembly reasm(counters);
  reasm.init(ReassemblyConfig{}, RTE_MBUF_DEFAULT_DATAROOM - kEth);
  const unsigned before = rte_mempool_in_use_count(g_pool);
  std::array<rte_mbuf*, 3> rx{};
  uint16_t id = 0;
  for (auto _ : state) {
    receive(t, ++id, false, rx);
    for (size_t i = 0; i < 2; ++i) {
      const auto frame = std::span<const std::byte>(rte_pktmbuf_mtod(rx[i], const std::byte*),
                                                    rte_pktmbuf_data_len(rx[i]));
      const auto ip = wire::Ipv4View::parse(frame.subspan(kEth));
      benchmark::DoNotOptimize(reasm.add(ipv4_fragment(*ip), Ticks::from_sec(1)));
    }
    rte_pktmbuf_free_bulk(rx.data(), 3);
  }
  state.counters["held_mbufs"] = rte_mempool_in_use_count(g_pool) - before;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2);
}

void FloodRteIpFrag(benchmark::State& state) {
  if (!eal_up()) {
    state.SkipWithError("EAL");
    return;
  }
  const auto t = templates();
  rte_ip_frag_tbl* tbl = rte_ip_frag_table_create(32, 4, 64, rte_get_tsc_hz() * 5, SOCKET_ID_ANY);
  rte_ip_frag_death_row dr{};
  const unsigned before = rte_mempool_in_use_count(g_pool);
  std::array<rte_mbuf*, 3> rx{};
  uint16_t id = 0;
  for (auto _ : state) {
    receive(t, ++id, false, rx);
    const uint64_t tsc = rte_rdtsc();
    for (size_t i = 0; i < 2; ++i) {
      rx[i]->l2_len = kEth;
      rx[i]->l3_len = kIp;
      benchmark::DoNotOptimize(rte_ipv4_frag_reassemble_packet(
          tbl, &dr, rx[i], tsc, rte_pktmbuf_mtod_offset(rx[i], rte_ipv4_hdr*, kEth)));
    }
    rte_pktmbuf_free(rx[2]);
    rte_ip_frag_free_death_row(&dr, 3);
  }
  state.counters["held_mbufs"] = rte_mempool_in_use_count(g_pool) - before;
  rte_ip_frag_free_death_row(&dr, 0);
  rte_ip_frag_table_destroy(tbl);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2);
}

BENCHMARK(RxOnly)->Arg(0)->Arg(1);
BENCHMARK(Tempo)->Arg(0)->Arg(1);
BENCHMARK(RteIpFrag)->Arg(0)->Arg(1);
BENCHMARK(FloodTempo);
BENCHMARK(FloodRteIpFrag);

}  // namespace
}  // namespace tempo::stack

BENCHMARK_MAIN();
