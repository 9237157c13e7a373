// settings: the public configuration (tempo::Config, <tempo/config.h>) as the settings of the
// parts the Runtime starts: the protocol core's (tcp::Config), the TIME_WAIT table's
// (timewait::TwTableConfig), the Worker's own (WorkerTcpConfig, ReassemblyConfig), and addresses in
// the wire's form. Pure functions, run once at start (stack/runtime.cc).
//
// Every public default maps to the internal default of the same setting: tcp::Config{} and the
// others are what tests, benchmarks and fuzzers run, so a default of one side that the other
// does not share makes them test another stack than the one users run.
// tests/unit/stack/settings_test.cc holds the two sides equal, and checks that each public
// field lands in its internal one.
//
// What is not here: tcp.max_connections (an argument of Worker::init_tcp), tcp.stop_grace_ms
// (the Runtime's own), the per-connection choices of ConnOptions, and everything of a port
// but its routing (stack/runtime.cc builds the Interface with the device).
#pragma once

#include <tempo/config.h>

#include "stack/interface.h"
#include "stack/reassembly.h"
#include "stack/worker.h"
#include "tcp/config.h"
#include "timewait/table.h"
#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"

namespace tempo::stack {

// Addresses are kept in network byte order on both sides.
wire::Ipv4Addr to_wire(const Ipv4Addr& a) noexcept;
wire::Ipv6Addr to_wire(const Ipv6Addr& a) noexcept;

// The protocol core's settings from `tcp:` (the Worker derives its IPv6 and per-connection
// variants from them: Worker::init_tcp).
tcp::Config tcp_config(const TcpConfig& c) noexcept;

// The TIME_WAIT table's settings from `tcp.time_wait:` (the Worker draws its hash seed).
timewait::TwTableConfig tw_config(const TimeWaitConfig& c) noexcept;

// The Worker's TCP settings beyond the protocol core's, from `tcp:`.
WorkerTcpConfig worker_tcp_config(const TcpConfig& c) noexcept;

// The Worker's IP reassembly settings from `ip.reassembly:`.
ReassemblyConfig reassembly_config(const IpReassemblyConfig& c) noexcept;

// A port's routing from `ports[i]`: gateway, gateway6 and `routes:` (IPv4 and IPv6 entries),
// into the Interface that next_hop() reads (stack/interface.h). Replaces what `iface` held.
void set_routes(const PortConfig& pc, Interface& iface);

}  // namespace tempo::stack
