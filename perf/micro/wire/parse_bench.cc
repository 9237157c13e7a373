// Parse cost of the receive path per frame: Ethernet -> IPv4 (checksum verified) -> TCP ->
// options, and the TCP checksum; plus building a segment. Inputs are built outside the loop.
//
//   build-X/perf/micro/wire/wire_parse_bench --benchmark_min_time=0.5
#include <array>
#include <vector>

#include <benchmark/benchmark.h>

#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/packet_builder.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace tempo::wire {
namespace {

TcpPacketSpec spec(size_t payload_len, std::vector<std::byte>& payload) {
  payload.assign(payload_len, std::byte{0x61});
  TcpPacketSpec s;
  s.eth_dst = MacAddr(0x52, 0x54, 0, 0x12, 0x34, 0x56);
  s.eth_src = MacAddr(0x02, 0, 0, 0, 0, 1);
  s.src4 = Ipv4Addr(198, 18, 0, 1);
  s.dst4 = Ipv4Addr(198, 18, 0, 2);
  s.tcp = TcpHeaderFields{.src_port = 40000,
                          .dst_port = 80,
                          .seq = 1,
                          .ack = 2,
                          .flags = TcpFlags(TcpFlags::kAck | TcpFlags::kPsh),
                          .window = 502};
  s.options.has_timestamps = true;
  s.options.tsval = 1000;
  s.options.tsecr = 2000;
  s.payload = payload;
  return s;
}

// Full receive-side parse of a burst of identical frames; Arg = burst size.
void BM_ParseEthIpv4TcpOptions(benchmark::State& state) {
  std::vector<std::byte> payload;
  const auto frame = make_tcp_packet(spec(64, payload));
  const auto burst = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    for (size_t i = 0; i < burst; ++i) {
      const auto eth = EthView::parse(frame);
      const auto ip = Ipv4View::parse(eth->payload());
      const auto tcp = TcpView::parse(ip->payload());
      const auto opts = parse_tcp_options(tcp->options());
      benchmark::DoNotOptimize(opts->tsval);
      benchmark::DoNotOptimize(tcp->payload().data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * burst));
}
BENCHMARK(BM_ParseEthIpv4TcpOptions)->Arg(1)->Arg(32);

// The software TCP checksum (no offload), by payload size.
void BM_VerifyTcpChecksumIpv4(benchmark::State& state) {
  std::vector<std::byte> payload;
  const auto frame = make_tcp_packet(spec(static_cast<size_t>(state.range(0)), payload));
  const auto ip = Ipv4View::parse(EthView::parse(frame)->payload()).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(verify_tcp_checksum_ipv4(ip.src(), ip.dst(), ip.payload()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * ip.payload().size()));
}
BENCHMARK(BM_VerifyTcpChecksumIpv4)->Arg(0)->Arg(1448);

// Writing a pure ACK with timestamps: header and options, no checksum (offload).
void BM_WriteTcpAck(benchmark::State& state) {
  std::array<std::byte, 60> out{};
  TcpOptions o;
  o.has_timestamps = true;
  const TcpHeaderFields f{.src_port = 80, .dst_port = 40000, .flags = TcpFlags(TcpFlags::kAck)};
  for (auto _ : state) {
    o.tsval += 1;
    benchmark::DoNotOptimize(write_tcp(out, f, o));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WriteTcpAck);

}  // namespace
}  // namespace tempo::wire

BENCHMARK_MAIN();
