#include "stack/counter_export.h"

#include <algorithm>
#include <array>

#include "tcp/counters.h"
#include "telemetry/counters.h"
#include "timewait/counters.h"

namespace tempo::stack {
namespace {

using telemetry::CounterKind;

constexpr std::array<WorkerValue, 9> kWorkerValues = {{
    {"tcp.orphans", [](const Worker& w) noexcept -> uint64_t { return w.orphans(); },
     "connections the application closed that are not yet gone", CounterKind::kGauge},
    {"tcp.burst_lookup_hits",
     [](const Worker& w) noexcept -> uint64_t { return w.burst_lookup_hits(); },
     "IPv4 segments whose connection the burst lookup had already found (RxHint)",
     CounterKind::kCounter},
    {"tcp.conn_options_ignored",
     [](const Worker& w) noexcept -> uint64_t { return w.conn_options_ignored(); },
     "connections whose buffer or MSS options (ConnOptions) got the defaults: the Worker's 64 "
     "combinations were taken",
     CounterKind::kCounter},
    {"conns.slots", [](const Worker& w) noexcept -> uint64_t { return w.conn_slots(); },
     "connection slots, allocated and touched at start", CounterKind::kGauge},
    {"timewait.entries", [](const Worker& w) noexcept -> uint64_t { return w.tw_entries(); },
     "TIME_WAIT entries held now", CounterKind::kGauge},
    {"timewait.entries_peak", [](const Worker& w) noexcept -> uint64_t { return w.tw_peak(); },
     "the most entries each Worker held at once, summed: exact with one Worker, a bound with "
     "more",
     CounterKind::kGauge},
    {"pmtu.entries", [](const Worker& w) noexcept -> uint64_t { return w.pmtu_entries(); },
     "destinations with a learned path MTU held now (tcp.pmtu.max_entries per Worker)",
     CounterKind::kGauge},
    {"rcv_budget.limit",
     [](const Worker& w) noexcept -> uint64_t {
       return static_cast<uint64_t>(std::max<int64_t>(w.rcv_budget().limit, 0));
     },
     "bytes the windows offered may still bring in: the free RX buffers' bytes, less a "
     "reserve (stack/rx_memory.h)",
     CounterKind::kGauge},
    {"rcv_budget.committed",
     [](const Worker& w) noexcept -> uint64_t {
       return static_cast<uint64_t>(std::max<int64_t>(w.rcv_budget().committed, 0));
     },
     "bytes of window offered and not yet filled, charged to the budget", CounterKind::kGauge},
}};

using Pairs = std::vector<std::pair<std::string, uint64_t>>;

// Every field of `c` by its registry name; a shared name adds to its earlier place.
template <telemetry::Registered S>
void append(Pairs& out, const S& c) {
  telemetry::for_each_field(c, [&](const telemetry::CounterField<S>& f, uint64_t value) {
    if (f.shared) {
      const auto it = std::find_if(out.begin(), out.end(),
                                   [&](const auto& pair) { return pair.first == f.name; });
      if (it != out.end()) {
        it->second += value;
        return;
      }
    }
    out.emplace_back(f.name, value);
  });
}

}  // namespace

std::span<const WorkerValue> worker_values() noexcept { return kWorkerValues; }

Pairs export_counters(std::span<const Worker* const> workers, uint64_t tsc_hz) {
  telemetry::StackCounters stack;
  tcp::Counters core;
  timewait::TwCounters tw;
  IcmpCounters icmp;
  PathMtuCounters pmtu;
  for (const Worker* w : workers) {
    stack += w->counters();
    core += w->tcp_counters();
    tw += w->tw_counters();
    telemetry::add(icmp, w->icmp_counters());
    telemetry::add(pmtu, w->pmtu_counters());
  }
  Pairs out = stack.items();
  if (workers.size() > 1) {  // how the work spread
    for (const Worker* w : workers) {
      const std::string prefix = "worker" + std::to_string(w->index()) + ".";
      telemetry::for_each_field(w->counters(),
                                [&](const telemetry::StackCounters::Field& f, uint64_t value) {
                                  if (f.per_worker) {
                                    out.emplace_back(prefix + f.name, value);
                                  }
                                });
    }
  }
  out.emplace_back("cycles.tsc_hz", tsc_hz);
  // What a connection costs before it exists: every slot is allocated (and touched) at start.
  out.emplace_back("conns.slot_bytes", sizeof(Conn));
  for (const WorkerValue& v : kWorkerValues) {
    uint64_t total = 0;
    for (const Worker* w : workers) {
      total = v.kind == CounterKind::kPeak ? std::max(total, v.get(*w)) : total + v.get(*w);
    }
    out.emplace_back(v.name, total);
  }
  append(out, icmp);
  append(out, pmtu);
  append(out, tw);
  append(out, core);
  if (!workers.empty()) {  // the application's (Stack::add_counter), last
    const std::vector<std::string>& names = workers.front()->app_counter_names();
    for (size_t i = 0; i < names.size(); ++i) {
      uint64_t total = 0;
      for (const Worker* w : workers) {
        total += w->app_counter(i);
      }
      out.emplace_back(names[i], total);
    }
  }
  return out;
}

}  // namespace tempo::stack
