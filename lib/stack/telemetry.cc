#include "stack/telemetry.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_telemetry.h>

#include "stack/capture.h"
#include "stack/counter_export.h"
#include "stack/endpoints.h"
#include "stack/runtime.h"

namespace tempo::stack {
namespace {

// The Runtime the commands read, under g_mu: a command holds it for its whole reply, and
// telemetry_detach takes it to clear the pointer, so no reply outlives the Runtime.
std::mutex g_mu;
const Runtime* g_rt = nullptr;

// How long /tempo/connections waits for the Workers' counts (a census takes a turn per 4,096
// slots: milliseconds when the loops run; a loop that stopped never answers).
constexpr auto kCensusWait = std::chrono::seconds(1);

// A counter's name as telemetry allows it: [A-Za-z0-9_/], dots read as slashes.
std::string tel_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '.') {
      c = '/';
    } else if (c == '-') {
      c = '_';
    }
  }
  return out;
}

// "N" or "N,REST" -> (N, REST); nullopt when N is not a number below `limit`.
std::optional<std::pair<size_t, std::string_view>> index_param(const char* params, size_t limit) {
  const std::string_view p = params != nullptr ? params : "";
  const std::string_view head = p.substr(0, p.find(','));
  size_t n = 0;
  const auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), n);
  if (head.empty() || ec != std::errc{} || end != head.data() + head.size() || n >= limit) {
    return std::nullopt;
  }
  return std::pair{n, head.size() < p.size() ? p.substr(head.size() + 1) : std::string_view{}};
}

int error(rte_tel_data* d, const std::string& what) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "error", what.c_str());
  return 0;
}

std::vector<const Worker*> workers_of(const Runtime& rt, std::optional<size_t> one) {
  std::vector<const Worker*> out;
  for (const auto& w : rt.worker_list()) {
    if (!one || w->index() == *one) {
      out.push_back(w.get());
    }
  }
  return out;
}

// The counters of `workers` named GROUP.* (every one when `group` is empty), or the groups
// alone when they would not fit a reply.
int counters_reply(const Runtime& rt, const std::vector<const Worker*>& workers,
                   std::string_view group, rte_tel_data* d) {
  const auto pairs = export_counters(workers, rt.tsc_hz());
  std::vector<const std::pair<std::string, uint64_t>*> chosen;
  for (const auto& p : pairs) {
    if (group.empty() ||
        (p.first.size() > group.size() && p.first.compare(0, group.size(), group) == 0 &&
         p.first[group.size()] == '.')) {
      chosen.push_back(&p);
    }
  }
  rte_tel_data_start_dict(d);
  if (chosen.size() < RTE_TEL_MAX_DICT_ENTRIES) {
    for (const auto* p : chosen) {
      rte_tel_data_add_dict_u64(d, tel_name(p->first).c_str(), p->second);
    }
    return 0;
  }
  rte_tel_data* groups = rte_tel_data_alloc();
  rte_tel_data_start_array(groups, RTE_TEL_STRING_VAL);
  std::vector<std::string> seen;
  for (const auto* p : chosen) {
    std::string g = p->first.substr(0, p->first.find('.'));
    if (std::find(seen.begin(), seen.end(), g) == seen.end()) {
      rte_tel_data_add_array_string(groups, g.c_str());
      seen.push_back(std::move(g));
    }
  }
  rte_tel_data_add_dict_string(d, "error", "too many counters for one reply: ask for a group");
  rte_tel_data_add_dict_container(d, "groups", groups, 0);
  return 0;
}

// A command reading `rt`: rte_telemetry's callback around it, holding g_mu for the whole reply
// (so that no reply outlives the Runtime) and answering when no Runtime is attached.
using Command = int (*)(const Runtime& rt, const char* params, rte_tel_data* d);
template <Command C>
int attached(const char* /*cmd*/, const char* params, rte_tel_data* d) {
  std::lock_guard lock(g_mu);
  if (g_rt == nullptr) {
    return error(d, "tempo is not running");
  }
  return C(*g_rt, params, d);
}

int cmd_info(const Runtime& rt, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "program", rt.program().c_str());
#ifdef TEMPO_VERSION
  rte_tel_data_add_dict_string(d, "version", TEMPO_VERSION);
#endif
  rte_tel_data_add_dict_u64(d, "workers", rt.worker_list().size());
  rte_tel_data_add_dict_u64(d, "ports", rt.ports().size());
  rte_tel_data_add_dict_u64(d, "tsc_hz", rt.tsc_hz());
  return 0;
}

int cmd_counters(const Runtime& rt, const char* params, rte_tel_data* d) {
  return counters_reply(rt, workers_of(rt, std::nullopt), params != nullptr ? params : "", d);
}

int cmd_worker(const Runtime& rt, const char* params, rte_tel_data* d) {
  const auto p = index_param(params, rt.worker_list().size());
  if (!p) {
    return error(d, "usage: /tempo/worker,N[,GROUP] with N below " +
                        std::to_string(rt.worker_list().size()));
  }
  return counters_reply(rt, workers_of(rt, p->first), p->second, d);
}

int cmd_port(const Runtime& rt, const char* params, rte_tel_data* d) {
  const auto p = index_param(params, rt.ports().size());
  if (!p) {
    return error(d, "usage: /tempo/port,N with N below " + std::to_string(rt.ports().size()));
  }
  const dpdk::Port& port = rt.ports()[p->first];
  rte_eth_stats st{};
  (void)rte_eth_stats_get(port.port_id, &st);
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "name", port.name.c_str());
  rte_tel_data_add_dict_string(d, "driver", port.driver.c_str());
  rte_tel_data_add_dict_u64(d, "ipackets", st.ipackets);
  rte_tel_data_add_dict_u64(d, "opackets", st.opackets);
  rte_tel_data_add_dict_u64(d, "ibytes", st.ibytes);
  rte_tel_data_add_dict_u64(d, "obytes", st.obytes);
  rte_tel_data_add_dict_u64(d, "imissed", st.imissed);
  rte_tel_data_add_dict_u64(d, "ierrors", st.ierrors);
  rte_tel_data_add_dict_u64(d, "oerrors", st.oerrors);
  rte_tel_data_add_dict_u64(d, "rx_nombuf", st.rx_nombuf);
  for (auto [pool, kind] : {std::pair{port.rx_pool, "rx"}, std::pair{port.pool, "tx"}}) {
    const std::string k = kind;
    rte_tel_data_add_dict_u64(d, (k + "_pool_free").c_str(), rte_mempool_avail_count(pool));
    rte_tel_data_add_dict_u64(d, (k + "_pool_size").c_str(), pool->size);
  }
  return 0;
}

// Asks each of `workers` for a census (stack/census.h) and waits for them all: the results in
// order, or nullopt after writing the error reply (a Worker that does not poll never answers).
std::optional<std::vector<const Census::Result*>> census(const std::vector<const Worker*>& workers,
                                                         const Census::Query& q, rte_tel_data* d) {
  // const_cast: the census is the one thing a reader asks of a Worker (stack/census.h).
  std::vector<std::pair<Worker*, uint32_t>> asked;
  for (const Worker* w : workers) {
    auto* mut = const_cast<Worker*>(w);
    asked.emplace_back(mut, mut->census().request(q));
  }
  std::vector<const Census::Result*> out;
  const auto deadline = std::chrono::steady_clock::now() + kCensusWait;
  for (auto [w, ticket] : asked) {
    const Census::Result* r = nullptr;
    while ((r = w->census().result(ticket)) == nullptr) {
      if (std::chrono::steady_clock::now() > deadline) {
        error(d, "worker " + std::to_string(w->index()) + " did not answer (not polling)");
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    out.push_back(r);
  }
  return out;
}

int cmd_connections(const Runtime& rt, const char* params, rte_tel_data* d) {
  std::optional<size_t> one;
  if (params != nullptr && *params != '\0') {
    const auto p = index_param(params, rt.worker_list().size());
    if (!p) {
      return error(d, "usage: /tempo/connections[,N] with N below " +
                          std::to_string(rt.worker_list().size()));
    }
    one = p->first;
  }
  const auto workers = workers_of(rt, one);
  const auto results = census(workers, Census::Query{}, d);
  if (!results) {
    return 0;
  }
  Census::Counts total{};
  uint64_t tw = 0;
  uint64_t tw_mapped = 0;
  uint64_t tw_backed = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    const Census::Result& r = *(*results)[i];
    for (size_t s = 0; s < total.size(); ++s) {
      total[s] += r.counts[s];
    }
    tw += r.tw_records;
    tw_mapped += r.tw_mapped_bytes;
    tw_backed += r.tw_backed_bytes;
  }
  rte_tel_data_start_dict(d);
  for (size_t s = 0; s < total.size(); ++s) {
    if (static_cast<tcp::State>(s) == tcp::State::kClosed) {
      continue;  // a slot between its last segment and its release
    }
    rte_tel_data_add_dict_u64(d, tel_name(tcp::to_string(static_cast<tcp::State>(s))).c_str(),
                              total[s]);
  }
  rte_tel_data_add_dict_u64(d, "time_wait_records", tw);
  rte_tel_data_add_dict_u64(d, "time_wait_mapped_bytes", tw_mapped);
  rte_tel_data_add_dict_u64(d, "time_wait_backed_bytes", tw_backed);
  return 0;
}

// The state named `name` as telemetry writes it ("SYN_RECEIVED", "any": -1), or nullopt.
std::optional<int> state_param(std::string_view name) {
  if (name.empty() || name == "any") {
    return -1;
  }
  for (int s = 0; s < static_cast<int>(Census::kStates); ++s) {
    if (tel_name(tcp::to_string(static_cast<tcp::State>(s))) == name) {
      return s;
    }
  }
  return std::nullopt;
}

std::string text(uint64_t v) { return std::to_string(v); }

// The fields of one listed connection, in kConnFields' order.
constexpr const char* kConnFields =
    "state local remote srtt_us rttvar_us rto_us cwnd ssthresh snd_mss snd_wnd rcv_wnd "
    "in_flight snd_queue rcv_held retransmits bytes_acked bytes_received options";
rte_tel_data* conn_fields(const ConnInfo& c) {
  rte_tel_data* a = rte_tel_data_alloc();
  rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
  std::string opts;
  if (c.window_scale) {
    opts = "ws" + text(c.snd_wscale) + "/" + text(c.rcv_wscale);
  }
  opts += c.sack ? (opts.empty() ? "sack" : ",sack") : "";
  opts += c.timestamps ? (opts.empty() ? "ts" : ",ts") : "";
  for (const std::string& f :
       {std::string(c.state), c.local.to_string(), c.remote.to_string(), text(c.srtt_us),
        text(c.rttvar_us), text(c.rto_us), text(c.cwnd), text(c.ssthresh), text(c.snd_mss),
        text(c.snd_wnd), text(c.rcv_wnd), text(c.in_flight), text(c.snd_queue), text(c.rcv_held),
        text(c.retransmits), text(c.bytes_acked), text(c.bytes_received), opts}) {
    rte_tel_data_add_array_string(a, f.c_str());
  }
  return a;
}

// /tempo/conns,N[,STATE[,SKIP[,LIMIT]]]: Worker N's connections in STATE (any but TIME-WAIT
// by default), from the SKIP-th that matches, at most LIMIT (and Census::kMaxList); with
// STATE TIME_WAIT its TIME_WAIT entries closest to expiry, LIMIT of them.
int cmd_conns(const Runtime& rt, const char* params, rte_tel_data* d) {
  const std::string usage = "usage: /tempo/conns,N[,STATE[,SKIP[,LIMIT]]] with N below " +
                            std::to_string(rt.worker_list().size()) +
                            ", STATE any or as /tempo/connections names it";
  const auto p = index_param(params, rt.worker_list().size());
  if (!p) {
    return error(d, usage);
  }
  std::vector<std::string_view> rest;
  for (std::string_view r = p->second; !r.empty();) {
    const size_t comma = r.find(',');
    rest.push_back(r.substr(0, comma));
    r = comma == std::string_view::npos ? std::string_view{} : r.substr(comma + 1);
  }
  const auto number = [&](size_t i, uint32_t fallback) -> std::optional<uint32_t> {
    if (rest.size() <= i) {
      return fallback;
    }
    uint32_t v = 0;
    const auto [end, ec] = std::from_chars(rest[i].data(), rest[i].data() + rest[i].size(), v);
    return ec == std::errc{} && end == rest[i].data() + rest[i].size() ? std::optional(v)
                                                                       : std::nullopt;
  };
  const auto state = state_param(rest.empty() ? "" : rest[0]);
  const auto skip = number(1, 0);
  const auto limit = number(2, Census::kMaxList);
  if (!state || !skip || !limit) {
    return error(d, usage);
  }
  const bool tw = *state == static_cast<int>(tcp::State::kTimeWait);
  Census::Query q{.state = *state, .skip = *skip, .limit = tw ? 0 : *limit, .tw = tw ? *limit : 0};
  const auto results = census(workers_of(rt, p->first), q, d);
  if (!results) {
    return 0;
  }
  const Census::Result& r = *results->front();
  rte_tel_data_start_dict(d);
  rte_tel_data* fields = rte_tel_data_alloc();  // their names, as an array (each < 128 bytes)
  rte_tel_data_start_array(fields, RTE_TEL_STRING_VAL);
  std::istringstream names(tw ? "state local remote left_ms options" : kConnFields);
  for (std::string f; names >> f;) {
    rte_tel_data_add_array_string(fields, f.c_str());
  }
  rte_tel_data_add_dict_container(d, "fields", fields, 0);
  rte_tel_data_add_dict_u64(d, "matched", tw ? r.tw_records : r.matched);
  for (uint32_t i = 0; i < (tw ? r.n_tw : r.n_conns); ++i) {
    rte_tel_data* a = nullptr;
    if (tw) {
      const Census::TwEntry& e = r.tw[i];
      a = rte_tel_data_alloc();
      rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
      for (const std::string& f : {std::string("TIME-WAIT"), local_endpoint(e.tuple).to_string(),
                                   remote_endpoint(e.tuple).to_string(), text(e.left_ms),
                                   std::string(e.timestamps ? "ts" : "")}) {
        rte_tel_data_add_array_string(a, f.c_str());
      }
    } else {
      a = conn_fields(r.conns[i]);
    }
    rte_tel_data_add_dict_container(d, std::to_string(i).c_str(), a, 0);
  }
  return 0;
}

// /tempo/capture: the capture's state; /tempo/capture,start,FILE[,COUNT] starts one (every
// port, both directions, COUNT frames: 10,000 by default); /tempo/capture,stop ends it.
int cmd_capture(const Runtime& /*rt*/, const char* params, rte_tel_data* d) {
  const std::string p = params != nullptr ? params : "";
  const std::string usage = "usage: /tempo/capture[,start,FILE[,COUNT] | ,stop]";
  if (p.rfind("start,", 0) == 0) {
    std::string file = p.substr(6);
    CaptureSpec spec;
    if (const size_t comma = file.find(','); comma != std::string::npos) {
      const std::string count = file.substr(comma + 1);
      file.resize(comma);
      const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), spec.count);
      if (ec != std::errc{} || end != count.data() + count.size()) {
        return error(d, usage);
      }
    }
    if (file.empty()) {
      return error(d, usage);
    }
    spec.file = file;
    if (auto r = Capture::instance().start(spec); !r) {
      return error(d, r.error());
    }
  } else if (p == "stop") {
    Capture::instance().stop();
  } else if (!p.empty()) {
    return error(d, usage);
  }
  const CaptureStatus s = Capture::instance().status();
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "active", s.active ? 1 : 0);
  rte_tel_data_add_dict_string(d, "file", s.file.c_str());
  rte_tel_data_add_dict_u64(d, "captured", s.captured);
  rte_tel_data_add_dict_u64(d, "bytes", s.bytes);
  rte_tel_data_add_dict_u64(d, "dropped", s.dropped);
  return 0;
}

}  // namespace

void telemetry_attach(const Runtime& rt) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    rte_telemetry_register_cmd("/tempo/info", attached<cmd_info>,
                               "tempo: program, version, workers, ports, tsc_hz. No parameters");
    rte_telemetry_register_cmd("/tempo/counters", attached<cmd_counters>,
                               "tempo: counters summed over Workers. Parameter: GROUP (optional)");
    rte_telemetry_register_cmd("/tempo/worker", attached<cmd_worker>,
                               "tempo: one Worker's counters. Parameters: N[,GROUP]");
    rte_telemetry_register_cmd("/tempo/port", attached<cmd_port>,
                               "tempo: a port's packets, bytes, drops, pools. Parameter: N");
    rte_telemetry_register_cmd("/tempo/conns", attached<cmd_conns>,
                               "tempo: a Worker's connections, as ss -tin. Parameters: "
                               "N[,STATE[,SKIP[,LIMIT]]]");
    rte_telemetry_register_cmd("/tempo/capture", attached<cmd_capture>,
                               "tempo: packet capture to pcapng. Parameters: none, "
                               "start,FILE[,COUNT] or stop");
    rte_telemetry_register_cmd("/tempo/connections", attached<cmd_connections>,
                               "tempo: connections by state, TIME_WAIT records. Parameter: N "
                               "(optional, a Worker)");
  });
  std::lock_guard lock(g_mu);
  g_rt = &rt;
}

void telemetry_detach() noexcept {
  std::lock_guard lock(g_mu);
  g_rt = nullptr;
}

}  // namespace tempo::stack
