#include "stack/runtime.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "dpdk/eal.h"
#include "stack/capture.h"
#include "stack/counter_export.h"
#include "stack/settings.h"
#include "stack/telemetry.h"
#include "time/clock.h"

namespace tempo::stack {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_hurry{false};   // a second stop signal: no grace (tcp.stop_grace_ms)
std::atomic<bool> g_drain{false};   // request_drain(): each Worker drains at its next turn
std::atomic<bool> g_report{false};  // SIGUSR1: print the counters, keep running
static_assert(std::atomic<bool>::is_always_lock_free, "signal handler needs a lock-free flag");

// Async-signal-safe: sets a flag the main lcore's loop reads; all printing happens there.
extern "C" void on_signal(int signo) {
  if (signo == SIGUSR1) {
    g_report.store(true, std::memory_order_relaxed);
    return;
  }
  if (Runtime::stop_requested()) {
    g_hurry.store(true, std::memory_order_relaxed);
  }
  Runtime::request_stop();
}

}  // namespace

void Runtime::request_stop() noexcept { g_stop.store(true, std::memory_order_relaxed); }
void Runtime::request_drain() noexcept { g_drain.store(true, std::memory_order_relaxed); }
bool Runtime::stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }

void Runtime::install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART: a signal during rte_eal_init must not fail one of its system calls (EINTR).
  sa.sa_flags = SA_RESTART;
  for (const int signo : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) {
    sigaction(signo, &sa, nullptr);
  }
}

namespace {

// One port as Worker `queue` sees it: the device's queue, pools and offloads, the
// configuration's addresses and routes.
Interface interface_of(const PortConfig& pc, const dpdk::Port& port, uint16_t queue) {
  Interface iface;
  iface.port_id = port.port_id;
  iface.queue = queue;
  iface.pool = port.pool;
  iface.rx_pool = port.rx_pool;
  iface.mac = wire::MacAddr(port.mac);
  iface.ipv4 = to_wire(pc.ipv4.addr);
  iface.ipv4_prefix = pc.ipv4.len;
  for (const Ipv4Prefix& b : pc.ipv4_secondary) {
    const uint32_t first = to_wire(b.addr).value();
    const uint32_t size_less_1 = b.len == 32 ? 0 : (uint32_t{1} << (32 - b.len)) - 1;
    iface.ipv4_secondary.emplace_back(first, first + size_less_1);
  }
  std::sort(iface.ipv4_secondary.begin(), iface.ipv4_secondary.end());
  if (pc.ipv6) {
    iface.has_ipv6 = true;
    iface.ipv6 = to_wire(pc.ipv6->addr);
    iface.ipv6_prefix = pc.ipv6->len;
  }
  iface.link_local = wire::Ipv6Addr::link_local_from_mac(iface.mac);
  iface.mtu = static_cast<uint16_t>(pc.mtu);
  iface.tx_tcp_cksum = port.tx_tcp_cksum;
  iface.tx_tso = port.tx_tso;
  iface.trusted_link = pc.trusted_link;
  iface.memif_zero_copy = config::memif_zero_copy_client(pc);
  iface.tx_multi_seg = port.tx_multi_seg;
  iface.tap_offloads = port.driver == "net_tap";
  if (port.rss && port.queues > 1) {
    iface.rss.emplace(flow::kSymmetricRssKey, port.reta);
  } else if (port.soft_steer) {
    // A virtual redirection table over the same symmetric Toeplitz hash: the Workers steer
    // each segment to its owner by it, and active opens pick ports by it.
    iface.rss.emplace(flow::kSymmetricRssKey,
                      flow::RssSteering::default_reta(port.queues, Runtime::kSoftwareReta));
    iface.soft_steer = true;
  }
  set_routes(pc, iface);  // gateway, gateway6, routes (IPv4 and IPv6)
  return iface;
}

}  // namespace

Result<std::unique_ptr<Runtime>, std::string> Runtime::start(const Config& config,
                                                             const std::string& program) {
  // What only the running process can check (its CPUs, the app sections it read) fails as a
  // configuration error, before anything starts.
  config::check_environment(config);
  // Before the EAL, which takes a while (and a signal in it would take the default action:
  // killed without counters, the runtime directory left behind).
  install_signal_handlers();
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->program_ = program;
  if (auto r = dpdk::eal_init(config::eal_args(config, program)); !r) {
    return fail(r.error());
  }
  // Workers: one per lcore the EAL gave us, the main lcore first.
  unsigned lcore = 0;
  RTE_LCORE_FOREACH(lcore) { rt->worker_lcores_.push_back(lcore); }
  if (auto r = rt->start_ports(config); !r) {
    return fail(r.error());
  }
  rt->clock_.emplace(rte_get_tsc_hz());
  rt->stop_grace_cycles_ =
      static_cast<uint64_t>(config.tcp.stop_grace_ms) * (rte_get_tsc_hz() / 1000);
  rt->idle_sleep_us_ = static_cast<uint32_t>(config.eal.idle_sleep_us);
  rt->idle_polls_ = static_cast<uint32_t>(config.eal.idle_polls);
  if (auto r = rt->start_workers(config); !r) {
    return fail(r.error());
  }
  rt->print_ports(config);
  if (config.capture) {
    const CaptureConfig& c = *config.capture;
    CaptureSpec spec{.file = c.file,
                     .port = c.port < 0 ? -1 : rt->ports_[static_cast<size_t>(c.port)].port_id,
                     .rx = c.rx,
                     .tx = c.tx,
                     .count = static_cast<uint64_t>(c.count),
                     .bytes = static_cast<uint64_t>(c.bytes),
                     .snaplen = static_cast<uint32_t>(c.snaplen)};
    if (auto r = Capture::instance().start(spec); !r) {
      return fail(r.error());
    }
  }
  telemetry_attach(*rt);
  return rt;
}

Result<void, std::string> Runtime::start_ports(const Config& config) {
  const auto n_workers = static_cast<uint16_t>(worker_lcores_.size());
  for (size_t i = 0; i < config.ports.size(); ++i) {
    const PortConfig& pc = config.ports[i];
    if (pc.queues != n_workers) {
      std::fprintf(stderr,
                   "%s: warning: ports[%zu] has %d queues for %u workers; workers past %d idle\n",
                   program_.c_str(), i, pc.queues, n_workers, pc.queues);
    }
    dpdk::PortSpec spec;
    spec.device = pc.device;
    spec.queues = static_cast<uint16_t>(pc.queues);
    spec.mtu = static_cast<uint16_t>(pc.mtu);
    spec.mbufs_per_queue = static_cast<uint32_t>(pc.mbufs);
    spec.tso = pc.tso;
    spec.promiscuous = pc.promiscuous;
    // Descriptors are filled from the pool: keep them to a quarter of it.
    while (spec.rx_desc > 64 && spec.rx_desc > spec.mbufs_per_queue / 4) {
      spec.rx_desc /= 2;
      spec.tx_desc /= 2;
    }
    auto port = dpdk::port_start(spec, static_cast<int>(i));
    if (!port) {
      return fail(port.error());
    }
    ports_.push_back(*port);
  }
  return {};
}

Result<void, std::string> Runtime::start_workers(const Config& config) {
  const auto n_workers = static_cast<uint16_t>(worker_lcores_.size());
  for (uint16_t w = 0; w < n_workers; ++w) {
    std::vector<Interface> ifaces;
    for (size_t i = 0; i < config.ports.size(); ++i) {
      if (w < ports_[i].queues) {
        ifaces.push_back(interface_of(config.ports[i], ports_[i], w));
      }
    }
    auto worker = std::make_unique<Worker>(w, std::move(ifaces), clock_->now(), config.faults);
    if (auto r = worker->init_tcp(tcp_config(config.tcp),
                                  static_cast<uint32_t>(config.tcp.max_connections),
                                  tw_config(config.tcp.time_wait), worker_tcp_config(config.tcp));
        !r) {
      return fail(r.error());
    }
    worker->init_reassembly(reassembly_config(config.ip.reassembly));
    workers_.push_back(std::move(worker));
  }
  if (n_workers > 1) {
    auto mesh = Mesh::create(n_workers, std::to_string(getpid()));
    if (!mesh) {
      return fail(mesh.error());
    }
    mesh_ = std::move(*mesh);
    for (auto& w : workers_) {
      w->join(mesh_.get());
    }
  }
  return {};
}

void Runtime::print_ports(const Config& config) const {
  for (size_t i = 0; i < ports_.size(); ++i) {
    const dpdk::Port& p = ports_[i];
    const PortConfig& pc = config.ports[i];
    std::printf("%s: port %s (%s, driver %s) mac %s, %s%s%s, %u queue%s%s%s%s%s\n",
                program_.c_str(), pc.name.c_str(), p.name.c_str(), p.driver.c_str(),
                wire::MacAddr(p.mac).to_string().c_str(), config::to_string(pc.ipv4).c_str(),
                pc.ipv6 ? ", " : "", pc.ipv6 ? config::to_string(*pc.ipv6).c_str() : "", p.queues,
                p.queues == 1 ? "" : "s",
                p.rss ? ", RSS" : (p.soft_steer ? ", software steering" : ""),
                p.tx_tso ? ", TSO" : (p.tx_tcp_cksum ? ", TX checksum offload" : ""),
                pc.trusted_link ? ", trusted link (no checksums)" : "",
                p.promiscuous ? "" : ", not promiscuous");
  }
  std::fflush(stdout);
}

int Runtime::lcore_main(void* arg) {
  const auto* lc = static_cast<const Lcore*>(arg);
  Worker& w = *lc->worker;
  if (lc->state.make != nullptr) {
    w.set_app_state(lc->state.make(w, lc->state.ctx));
  }
  // One TSC read a turn: the end of one turn is the clock of the next.
  uint64_t t = rte_rdtsc();
  const auto turn = [&] {
    const uint64_t sent = w.counters().tx_packets;
    const uint32_t got = w.poll(lc->clock->from_cycles(t));
    const uint64_t end = rte_rdtsc();
    const bool busy = got > 0 || w.counters().tx_packets != sent;
    w.account_turn(busy, end - t);
    w.census_step();  // a slice of a count telemetry asked for, if any (stack/census.h)
    t = end;
    if (lc->reporter != nullptr && g_report.load(std::memory_order_relaxed)) [[unlikely]] {
      g_report.store(false, std::memory_order_relaxed);
      // The other Workers' counters are read as they run: each a 64-bit word, never torn on
      // x86-64 (telemetry/counters.h), a snapshot a turn apart at most.
      lc->reporter->print_counters(stdout);
      t = rte_rdtsc();  // the printing is not the next turn's work (cycles.turn_max)
    }
    return busy;
  };
  uint32_t empty = 0;  // turns in a row that found nothing
  bool drain_seen = false;
  while (!stop_requested()) {
    if (!drain_seen && g_drain.load(std::memory_order_relaxed)) [[unlikely]] {
      drain_seen = true;
      w.drain(lc->drain);
    }
    if (turn()) {
      empty = 0;
    } else if (lc->idle_sleep_us > 0 && ++empty >= lc->idle_polls) [[unlikely]] {
      rte_delay_us_sleep(lc->idle_sleep_us);
      const uint64_t end = rte_rdtsc();
      w.account_sleep(end - t);
      t = end;
    }
  }
  // tcp.stop_grace_ms: FIN first, and the peers get the grace to answer theirs.
  if (lc->stop_grace_cycles > 0 && w.close_all() > 0) {
    const uint64_t until = t + lc->stop_grace_cycles;
    while (w.connections() > 0 && t < until && !g_hurry.load(std::memory_order_relaxed)) {
      turn();
    }
  }
  w.reset_all();
  if (lc->state.make != nullptr) {
    if (lc->state.destroy != nullptr) {
      lc->state.destroy(w, w.app_state(), lc->state.ctx);
    }
    w.set_app_state(nullptr);
  }
  return 0;
}

void Runtime::run() {
  lcores_.clear();
  for (auto& w : workers_) {
    lcores_.push_back(Lcore{w.get(), &*clock_, lcores_.empty() ? this : nullptr, stop_grace_cycles_,
                            idle_sleep_us_, idle_polls_, worker_state_, drain_options_});
  }
  for (size_t w = 1; w < workers_.size(); ++w) {
    rte_eal_remote_launch(&Runtime::lcore_main, &lcores_[w], worker_lcores_[w]);
  }
  if (!workers_.empty()) {
    lcore_main(&lcores_[0]);
  }
  rte_eal_mp_wait_lcore();
}

Result<CounterId, std::string> Runtime::add_counter(std::string_view name) {
  const bool valid =
      !name.empty() && name.size() <= 48 && name[0] >= 'a' && name[0] <= 'z' &&
      std::all_of(name.begin(), name.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.';
      });
  if (!valid) {
    return fail("counter \"" + std::string(name) +
                "\": expected 1 to 48 of [a-z0-9_.], starting with a letter");
  }
  for (const auto& [taken, value] : counter_values()) {  // the stack's, and earlier ones
    if (taken == name) {
      return fail("counter \"" + std::string(name) + "\": a counter of that name exists");
    }
  }
  if (app_counter_names_.size() >= kMaxAppCounters) {
    return fail("counter \"" + std::string(name) + "\": more than " +
                std::to_string(kMaxAppCounters) + " application counters");
  }
  app_counter_names_.emplace_back(name);
  for (auto& w : workers_) {
    w->set_app_counter_names(&app_counter_names_);
  }
  return CounterId{static_cast<uint16_t>(app_counter_names_.size() - 1)};
}

void Runtime::listen(uint16_t port, const AppHandler* app, const ConnOptions& opts,
                     const ListenOptions& how) {
  for (auto& w : workers_) {
    w->listen(port, app, opts, how);
  }
}

telemetry::StackCounters Runtime::totals() const {
  telemetry::StackCounters sum;
  for (const auto& w : workers_) {
    sum += w->counters();
  }
  return sum;
}

std::vector<std::pair<std::string, uint64_t>> Runtime::counter_values() const {
  std::vector<const Worker*> workers;
  for (const auto& w : workers_) {
    workers.push_back(w.get());
  }
  return export_counters(workers, tsc_hz());
}

uint64_t Runtime::counter(std::string_view name) const {
  for (const auto& [n, value] : counter_values()) {
    if (n == name) {
      return value;
    }
  }
  return 0;
}

void Runtime::print_counters(std::FILE* out) const {
  std::fprintf(out, "%s: counters\n", program_.c_str());
  for (const auto& [name, value] : counter_values()) {
    std::fprintf(out, "  %s: %llu\n", name.c_str(), static_cast<unsigned long long>(value));
  }
  for (size_t i = 0; i < ports_.size(); ++i) {
    for (auto [pool, kind] :
         {std::pair{ports_[i].rx_pool, "rx"}, std::pair{ports_[i].pool, "tx"}}) {
      std::fprintf(out, "  port%zu.%s_pool_free: %u of %u\n", i, kind,
                   rte_mempool_avail_count(pool), pool->size);
    }
  }
  std::fprintf(out, "%s: neighbours\n", program_.c_str());
  for (const auto& w : workers_) {
    for (const std::string& n : w->neighbors()) {
      std::fprintf(out, "  worker %u: %s\n", w->index(), n.c_str());
    }
  }
  std::fflush(out);
}

int serve(const Config& config, const std::string& program, uint16_t port, const AppHandler* app,
          const ConnOptions& opts, const std::string& banner) {
  auto rt = Runtime::start(config, program);
  if (!rt) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), rt.error().c_str());
    return 1;
  }
  (*rt)->listen(port, app, opts);
  Runtime::install_signal_handlers();
  std::printf("%s: %s; ready\n", program.c_str(), banner.c_str());
  std::fflush(stdout);
  (*rt)->run();
  std::printf("%s: stopping\n", program.c_str());
  (*rt)->print_counters(stdout);
  return 0;
}

Runtime::~Runtime() {
  telemetry_detach();
  Capture::instance().stop();  // what the Workers queued is written; the file is closed
  workers_.clear();
  mesh_.reset();  // frees what is still in flight between Workers
  for (const dpdk::Port& p : ports_) {
    dpdk::port_stop(p);
  }
  dpdk::eal_cleanup();
}

}  // namespace tempo::stack
