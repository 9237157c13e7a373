// Runtime: the process-level frame around the Workers. Starts the EAL from a validated Config,
// starts every port, builds one Worker per lcore, runs them until stop is requested (SIGINT or
// SIGTERM), then stops the ports and reports the counters.
//
// Startup errors are returned as one line; after start() nothing allocates on the datapath.
#pragma once

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tempo/config.h>
#include <tempo/result.h>

#include "dpdk/port.h"
#include "stack/mesh.h"
#include "stack/worker.h"
#include "telemetry/counters.h"
#include "time/clock.h"

namespace tempo::stack {

class Runtime {
 public:
  // Connection slots per worker, allocated at start.
  // Buckets of the virtual redirection table of a software-steered port.
  static constexpr uint16_t kSoftwareReta = 128;

  // Starts the EAL and the ports. `program` is argv[0] for the EAL and the log prefix. First,
  // before the EAL: config::check_environment (throws config::ConfigError: the lcores are not
  // this machine's, or an app section nobody reads) and install_signal_handlers().
  static Result<std::unique_ptr<Runtime>, std::string> start(const Config& config,
                                                             const std::string& program);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Runs every Worker (one on this, the main lcore) until request_stop(). Returns when all
  // workers have left their loops, each after resetting its open connections
  // (Worker::reset_all; with tcp.stop_grace_ms, after closing them and polling on for that
  // long at most). On SIGUSR1 the main lcore prints the counters and goes on.
  void run();

  // Async-signal-safe. Installs nothing; see install_signal_handlers().
  static void request_stop() noexcept;
  static bool stop_requested() noexcept;
  // SIGINT, SIGTERM and SIGHUP call request_stop() (a second one ends tcp.stop_grace_ms at
  // once); SIGUSR1 asks run()'s main lcore for print_counters(stdout). The handlers only set
  // flags (async-signal-safe). start() installs them before the EAL starts; calling this
  // again changes nothing.
  static void install_signal_handlers();

  std::vector<std::unique_ptr<Worker>>& workers() noexcept { return workers_; }
  const std::vector<std::unique_ptr<Worker>>& worker_list() const noexcept { return workers_; }
  const std::string& program() const noexcept { return program_; }
  uint64_t tsc_hz() const noexcept { return clock_ ? clock_->tsc_hz() : 0; }
  const std::vector<dpdk::Port>& ports() const noexcept { return ports_; }

  // Sum over workers.
  telemetry::StackCounters totals() const;
  // Serves TCP `port` on every worker with `app`, which outlives the Runtime.
  void listen(uint16_t port, const AppHandler* app, const ConnOptions& opts = ConnOptions{},
              const ListenOptions& how = ListenOptions{});
  // The application's per-Worker state, made on each Worker's lcore as run() starts it and
  // destroyed there as it stops.
  void set_worker_state(const WorkerState& s) noexcept { worker_state_ = s; }
  void set_drain_options(const DrainOptions& o) noexcept { drain_options_ = o; }
  static void request_drain() noexcept;
  // tempo::Stack::add_counter.
  Result<CounterId, std::string> add_counter(std::string_view name);

  // Every counter by name, summed over workers (print_counters' lines, in its order).
  std::vector<std::pair<std::string, uint64_t>> counter_values() const;
  // One of them; 0 for a name that is not one.
  uint64_t counter(std::string_view name) const;
  // "  name: value" lines, after a "<program>: counters" heading.
  void print_counters(std::FILE* out) const;

 private:
  Runtime() = default;
  // What one lcore's loop runs: its Worker, polled at the TSC clock's time.
  struct Lcore {
    Worker* worker;
    const time::TscClock* clock;
    const Runtime* reporter;     // the main lcore's: prints the counters on SIGUSR1
    uint64_t stop_grace_cycles;  // tcp.stop_grace_ms in TSC cycles
    uint32_t idle_sleep_us;      // eal.idle_sleep_us (0: busy polling)
    uint32_t idle_polls;         // eal.idle_polls
    WorkerState state;           // the application's per-Worker state
    DrainOptions drain;          // what request_drain() does on this Worker
  };
  static int lcore_main(void* arg);
  // The steps of start(): each port's device and queues, then one Worker per lcore (and the
  // mesh between them), then one line per port.
  Result<void, std::string> start_ports(const Config& config);
  Result<void, std::string> start_workers(const Config& config);
  void print_ports(const Config& config) const;

  std::string program_;
  std::optional<time::TscClock> clock_;  // after EAL start (rte_get_tsc_hz)
  uint64_t stop_grace_cycles_ = 0;
  uint32_t idle_sleep_us_ = 0;
  uint32_t idle_polls_ = 256;
  WorkerState worker_state_;
  DrainOptions drain_options_;
  std::vector<std::string> app_counter_names_;  // the Workers point at it
  std::vector<Lcore> lcores_;
  std::vector<dpdk::Port> ports_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Mesh> mesh_;  // with more than one Worker
  std::vector<unsigned> worker_lcores_;
};

// The frame of a one-service app: starts the Runtime, serves TCP `port` with `app` on every
// worker, prints "<program>: <banner>; ready", runs until SIGINT/SIGTERM/SIGHUP (resetting the
// open connections), prints the counters.
// Returns the process exit code (0, or 1 when the stack could not start).
int serve(const Config& config, const std::string& program, uint16_t port, const AppHandler* app,
          const ConnOptions& opts, const std::string& banner);

}  // namespace tempo::stack
