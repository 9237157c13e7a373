// ns per segment on the ESTABLISHED fast path: in-order data in, and send + pure ACK.
//   ninja -C build-tcp perf/micro/tcp/tcp_bench && build-tcp/perf/micro/tcp/tcp_bench
#include <cstddef>
#include <cstdint>

#include <benchmark/benchmark.h>

#include "tcp/tcp.h"

namespace tempo::tcp {
namespace {

// A Sink that does what a real one must at minimum: look at each segment and event.
struct NullSink {
  void emit(const OutSegment<SpanBuf>& o) { bytes += o.len + o.window; }
  void arm_timer(TimerKind, Ticks t) { last = t; }
  void cancel_timer(TimerKind) {}
  void on_connected() {}
  void on_data(const SpanBuf&, uint32_t, uint32_t len) { bytes += len; }
  void on_writable() {}
  void on_peer_fin() {}
  void on_closed(CloseReason) {}
  void on_time_wait(const TimeWaitInfo&) {}
  CoreState& core() { return core_; }
  CoreState core_;
  uint64_t bytes = 0;
  Ticks last{};
};

const std::byte kPayload[2048] = {};

void establish(Tcb<SpanBuf>& t, const Config& cfg, NullSink& s, Ticks now) {
  tcp::connect(t, cfg, SeqNum(1000), 0, now, s);
  Segment<SpanBuf> synack;
  synack.seq = SeqNum(5000);
  synack.ack = SeqNum(1001);
  synack.flags = flag::kSyn | flag::kAck;
  synack.window = 65535;
  synack.opts.has_mss = true;
  synack.opts.mss = 1460;
  synack.opts.has_timestamps = cfg.timestamps;
  synack.opts.tsval = 1;
  tcp::input(t, synack, now, s);
}

void BM_InOrderData(benchmark::State& state) {
  Config cfg;
  NullSink s;
  Tcb<SpanBuf> t;
  Ticks now = Ticks::from_sec(10);
  establish(t, cfg, s, now);
  Segment<SpanBuf> seg;
  seg.flags = flag::kAck;
  seg.ack = t.snd_nxt;
  seg.window = 65535;
  seg.len = 1448;
  seg.payload = SpanBuf{kPayload, 1448};
  seg.opts.has_timestamps = true;
  const auto burst = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    for (uint32_t i = 0; i < burst; ++i) {
      seg.seq = t.rcv_nxt;
      ++seg.opts.tsval;
      tcp::input(t, seg, now, s);
    }
    tcp::consume(t, 1448 * burst, now, s);
    now += Ticks::from_us(10);
  }
  benchmark::DoNotOptimize(s.bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
}
BENCHMARK(BM_InOrderData)->Arg(1)->Arg(32);

void BM_SendAndPureAck(benchmark::State& state) {
  Config cfg;
  NullSink s;
  Tcb<SpanBuf> t;
  Ticks now = Ticks::from_sec(10);
  establish(t, cfg, s, now);
  Segment<SpanBuf> ack;
  ack.flags = flag::kAck;
  ack.seq = t.rcv_nxt;
  ack.window = 65535;
  ack.opts.has_timestamps = true;
  const auto burst = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    for (uint32_t i = 0; i < burst; ++i) {
      (void)tcp::send(t, SpanBuf{kPayload, 1448}, now, s);
    }
    for (uint32_t i = 0; i < burst; ++i) {  // one pure ACK per segment
      ack.ack = t.snd_una + 1448;
      ++ack.opts.tsval;
      tcp::input(t, ack, now, s);
    }
    now += Ticks::from_us(10);
  }
  benchmark::DoNotOptimize(s.bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
}
BENCHMARK(BM_SendAndPureAck)->Arg(1)->Arg(8);

void BM_SizeofTcb(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(sizeof(Tcb<SpanBuf>));
  }
  state.counters["sizeof_Tcb_SpanBuf"] = static_cast<double>(sizeof(Tcb<SpanBuf>));
}
BENCHMARK(BM_SizeofTcb);

}  // namespace
}  // namespace tempo::tcp

BENCHMARK_MAIN();
