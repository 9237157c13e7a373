// The one counter exporter: every counter registry (telemetry/registry.h: StackCounters,
// tcp::Counters, timewait::TwCounters, FaultCounters and the parse-error drops) and the levels a
// Worker holds (kWorkerValues), summed over Workers, as (name, value) pairs. Runtime prints them
// (Runtime::counter_values, print_counters); rte_telemetry is to serve the same.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "stack/worker.h"
#include "telemetry/registry.h"

namespace tempo::stack {

// A value a Worker holds outside its counter structs: connection slots, orphans, TIME_WAIT
// entries. Combined over Workers by its kind (telemetry::CounterKind).
struct WorkerValue {
  const char* name;
  uint64_t (*get)(const Worker&) noexcept;
  const char* help;
  telemetry::CounterKind kind;
};

// In a stable order: StackCounters' names (with faults.* and drop.<layer>.<reason> only when not
// zero), worker<N>.<name> for the fields marked per_worker when there are several Workers,
// cycles.tsc_hz (`tsc_hz`, the clock's: 0 without one) and conns.slot_bytes, the Worker values,
// icmp.* and icmp6.* (stack/icmp_errors.h), pmtu.* (stack/path_mtu.h), timewait.*, tcp.*, then
// the application's (Stack::add_counter). A
// name that more than one struct exports (CounterField::shared) appears once, at its first place,
// with the values added.
std::vector<std::pair<std::string, uint64_t>> export_counters(
    std::span<const Worker* const> workers, uint64_t tsc_hz);

// The Worker values export_counters reports (for tests).
std::span<const WorkerValue> worker_values() noexcept;

}  // namespace tempo::stack
