// The counter exporter (stack/counter_export.h) over the real Worker on a ring port: every name of
// every registry is reported once, and tcp.rst_sent counts every reset sent, the Worker's (for a
// segment to a port nothing listens on, RFC 9293 §3.10.7.1) and the protocol core's (abort()).
#include "tcp/counters.h"

#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"
#include "stack/counter_export.h"
#include "stack/icmp_errors.h"
#include "stack/path_mtu.h"
#include "telemetry/counters.h"
#include "telemetry/registry.h"
#include "timewait/counters.h"

namespace tempo::conformance {
namespace {

using namespace flags;
using Pairs = std::vector<std::pair<std::string, uint64_t>>;
constexpr uint16_t kListen = 80;

// The value reported under `name`; a failure when it is not reported exactly once.
uint64_t value(const Pairs& all, std::string_view name) {
  uint64_t v = 0;
  int found = 0;
  for (const auto& [n, x] : all) {
    if (n == name) {
      v = x;
      ++found;
    }
  }
  EXPECT_EQ(found, 1) << name;
  return v;
}

Pairs export_one(const stack::Worker& w) {
  const stack::Worker* workers[] = {&w};
  return stack::export_counters(workers, 0);
}

TEST(Counters, RstSentCountsTheWorkersAndTheCoresResets) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  // The Worker's reset: a SYN to a port nothing listens on.
  Seg syn;
  syn.sport = 40000;
  syn.dport = kListen + 1;
  syn.seq = 1000;
  syn.flags = kS;
  syn.win = kPeerWin;
  rw.send(syn);
  std::vector<Seg> got = rw.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has(kR | kA));
  // The protocol core's: the application aborts an established connection.
  const Flow f = peer.open(St::kEstablished);
  Conn* c = Peer::conn(f.pport);
  ASSERT_NE(c, nullptr);
  rw.worker().abort(*c);
  got = rw.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has(kR));
  EXPECT_EQ(got[0].sport, kListen);

  EXPECT_EQ(rw.worker().counters().tcp_rst_sent, 1u);  // each side counted its own
  EXPECT_EQ(rw.worker().tcp_counters().rst_sent, 1u);
  EXPECT_EQ(value(export_one(rw.worker()), "tcp.rst_sent"), 2u);
}

// One Worker: every registry's names (shared ones once), the Worker values and the process
// values, each once and well formed, and nothing else; no worker<N>.* with one Worker.
TEST(Counters, OneWorkerExportsEveryRegisteredNameOnce) {
  RingWorker rw(peer_config());
  const Pairs all = export_one(rw.worker());
  std::set<std::string> want = {"cycles.tsc_hz", "conns.slot_bytes"};
  for (const auto& f : telemetry::StackCounters::kFields) {
    want.insert(f.name);
  }
  for (const auto& f : tcp::Counters::kFields) {
    want.insert(f.name);
  }
  for (const auto& f : timewait::TwCounters::kFields) {
    want.insert(f.name);
  }
  for (const auto& f : stack::IcmpCounters::kFields) {
    want.insert(f.name);
  }
  for (const auto& f : stack::PathMtuCounters::kFields) {
    want.insert(f.name);
  }
  for (const stack::WorkerValue& v : stack::worker_values()) {
    want.insert(v.name);
  }
  std::set<std::string> got;
  for (const auto& [name, v] : all) {
    EXPECT_TRUE(telemetry::well_formed_name(name)) << name;
    EXPECT_TRUE(got.insert(name).second) << name << " twice";
  }
  EXPECT_EQ(got, want);  // no fault or parse drop happened: those are left out at zero
  EXPECT_EQ(value(all, "conns.slots"), rw.worker().conn_slots());
}

// Two Workers: the sums, and worker<N>.<name> for the fields marked per_worker.
TEST(Counters, SeveralWorkersAreSummedAndReportedEach) {
  RingWorker a(peer_config());
  RingWorker b(peer_config());
  a.introduce_peer();
  a.introduce_peer();
  b.introduce_peer();
  const stack::Worker* workers[] = {&a.worker(), &b.worker()};
  const Pairs all = stack::export_counters(workers, 1234);
  EXPECT_EQ(value(all, "cycles.tsc_hz"), 1234u);
  EXPECT_EQ(value(all, "arp.replied"), 3u);
  EXPECT_EQ(value(all, "conns.slots"), a.worker().conn_slots() + b.worker().conn_slots());
  for (const stack::Worker* w : workers) {
    const std::string prefix = "worker" + std::to_string(w->index()) + ".";
    for (const auto& f : telemetry::StackCounters::kFields) {
      if (f.per_worker) {
        EXPECT_EQ(value(all, prefix + f.name), w->counters().*f.field) << prefix + f.name;
      }
    }
  }
  EXPECT_EQ(value(all, "worker" + std::to_string(a.worker().index()) + ".rx_packets"), 2u);
}

}  // namespace
}  // namespace tempo::conformance
