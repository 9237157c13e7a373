// tempo's commands on DPDK's telemetry socket (rte_telemetry: /var/run/dpdk/<file_prefix>/
// dpdk_telemetry.v2, what usertools/dpdk-telemetry.py and tempo-stat read). They run on the
// telemetry thread while the Workers run: counters are read as print_counters reads them (each
// a 64-bit word, never torn on x86-64, a turn apart at most); connections by state are counted
// by each Worker itself (stack/census.h) and waited for.
//
//   /tempo/info                   program, workers, ports, tsc_hz, version
//   /tempo/counters[,GROUP]       every counter summed over Workers; with GROUP only those
//                                 named GROUP.*; without, the groups alone when everything
//                                 would not fit one reply (256 entries)
//   /tempo/worker,N[,GROUP]       the same for Worker N
//   /tempo/port,N                 port N: rte_eth_stats (packets, bytes, misses, errors, no
//                                 mbuf), its pools' free and total buffers
//   /tempo/connections[,N]        connections by state (Worker N, or summed), TIME_WAIT
//                                 records held, the bytes their tables map and those they
//                                 may have backed
//
// Telemetry names allow [A-Za-z0-9_/] only: a counter's dots read as slashes ("tcp/rto_expired")
// and a state's dashes as underscores ("SYN_RECEIVED").
#pragma once

namespace tempo::stack {

class Runtime;

// Registers the commands (once a process) and points them at `rt` until telemetry_detach.
void telemetry_attach(const Runtime& rt);
// After it returns no command reads the Runtime; one in progress finishes first.
void telemetry_detach() noexcept;

}  // namespace tempo::stack
