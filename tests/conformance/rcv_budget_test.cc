// The receive budget's invariant on the real Worker over a ring port whose RX pool it samples
// (issue 19, the stall): the windows tempo offers never add up to more than its free RX
// buffers hold, for every connection, dormant or not. A connection that has received no data
// (dormant: its window is not charged) and sends a long response used to move its right edge
// by the budget's whole credit at every segment: 5.6 MB, then 11.2 MB, then its whole rcv_buf,
// with 4,096 RX buffers (5.2 MB) behind them.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;
constexpr uint32_t kRxMbufs = 4096;
constexpr uint8_t kPeerWscale = 7;

RingWorkerConfig budget_config() {
  RingWorkerConfig cfg;
  cfg.rx_pool_mbufs = kRxMbufs;
  cfg.tcp.rcv_buf = 15 << 20;  // far more than the pool holds: the budget must bound it
  cfg.tcp.snd_buf = 4 << 20;
  cfg.tcp.sack = false;
  return cfg;
}

// What the Worker's budget may offer in all (RxMemory::sample, lib/stack/rx_memory.cc): the free RX
// buffers above an eighth of the pool, one segment each, and the reserve (a sixteenth).
int64_t budget_bytes(rte_mempool* rx) {
  const int64_t per_buf = 1460 - 12;
  const auto free = static_cast<int64_t>(rte_mempool_avail_count(rx));
  return (free - kRxMbufs / 8) * per_buf + kRxMbufs / 16 * per_buf;
}

// A connection opened with window scaling (the Peer helper's have none), as the peer sees it.
struct Scaled {
  uint16_t pport = 0;
  uint32_t p_nxt = 0;  // the peer's next sequence number: tempo's RCV.NXT
  uint32_t t_una = 0;  // what the peer acknowledged of tempo's
  uint8_t wscale = 0;  // tempo's window shift
  uint32_t ts = 0;     // tempo's last TSval
  int64_t edge = 0;    // the right edge tempo last offered, as bytes beyond p_nxt
  int64_t syn_window = 0;
};

Seg from_peer(const Scaled& c, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t tsval) {
  Seg s;
  s.sport = c.pport;
  s.dport = kListen;
  s.seq = seq;
  s.ack = ack;
  s.flags = flags;
  s.win = 65535;  // << kPeerWscale: the peer takes whatever tempo sends
  s.opts.has_timestamps = true;
  s.opts.tsval = tsval;
  s.opts.tsecr = c.ts;
  return s;
}

Scaled open_scaled(RingWorker& rw, uint16_t pport) {
  Scaled c;
  c.pport = pport;
  Seg syn = from_peer(c, kS, 7000, 0, kPeerTs);
  syn.opts.has_mss = true;
  syn.opts.mss = 1460;
  syn.opts.has_wscale = true;
  syn.opts.wscale = kPeerWscale;
  rw.send(syn);
  const std::vector<Seg> got = rw.poll();
  EXPECT_EQ(got.size(), 1u);
  if (got.empty()) {
    return c;
  }
  const Seg& sa = got[0];
  EXPECT_TRUE(sa.has(kS | kA));
  EXPECT_TRUE(sa.opts.has_wscale);
  c.wscale = sa.opts.wscale;
  c.p_nxt = 7001;
  c.t_una = sa.seq + 1;
  c.ts = sa.opts.tsval;
  c.syn_window = sa.win;  // RFC 7323 §2.2: never scaled in a SYN
  c.edge = c.syn_window;
  rw.send(from_peer(c, kA, c.p_nxt, c.t_una, kPeerTs + 1));
  for (const Seg& s : rw.poll()) {
    ADD_FAILURE() << "unexpected " << flag_string(s.flags);
  }
  return c;
}

// The peer acknowledges what tempo sent it, flight by flight; each segment's window is
// checked against the budget as it was offered. Returns the largest window seen.
int64_t exchange(RingWorker& rw, std::vector<Scaled>& conns, int rounds) {
  int64_t widest = 0;
  uint32_t tsval = kPeerTs + 2;
  for (int r = 0; r < rounds; ++r) {
    const std::vector<Seg> got = rw.poll(rw.now() + Ticks::from_ms(1));
    if (got.empty()) {
      break;
    }
    for (const Seg& s : got) {
      auto it = std::find_if(conns.begin(), conns.end(),
                             [&](const Scaled& c) { return c.pport == s.dport; });
      if (it == conns.end() || s.has(kS)) {
        continue;
      }
      Scaled& c = *it;
      c.ts = s.opts.tsval;
      c.t_una = std::max(c.t_una, static_cast<uint32_t>(s.seq + s.data.size()));
      const int64_t window = int64_t{s.win} << c.wscale;
      c.edge = std::max(c.edge, int64_t{static_cast<int32_t>(s.ack - c.p_nxt)} + window);
      widest = std::max(widest, window);
    }
    int64_t offered = 0;
    for (const Scaled& c : conns) {
      offered += c.edge;
    }
    // Every window offered, dormant or not: the budget, plus the windows SYNs offered (not
    // charged while a connection is dormant, each at most 64 KiB).
    int64_t syn_windows = 0;
    for (const Scaled& c : conns) {
      syn_windows += c.syn_window;
    }
    EXPECT_LE(offered, budget_bytes(rw.rx_pool()) + syn_windows) << "round " << r;
    for (Scaled& c : conns) {
      rw.send(from_peer(c, kA, c.p_nxt, c.t_una, tsval++));
    }
  }
  return widest;
}

TEST(RcvBudget, ADormantConnectionSendingALongResponseOffersNoMoreThanItsSynWindow) {
  RingWorker rw(budget_config());
  rw.introduce_peer();
  rw.worker().listen(kListen, Peer::handler());
  std::vector<Scaled> conns{open_scaled(rw, 20000)};
  Conn* c = Peer::conn(20000);
  ASSERT_NE(c, nullptr);
  // 2 MB of response before the peer ever sends a byte: the connection stays dormant.
  ASSERT_EQ(rw.worker().send_copy(*c, std::vector<std::byte>(2 << 20, std::byte{'r'})), 2u << 20);
  const int64_t widest = exchange(rw, conns, 200);
  EXPECT_LE(widest, conns[0].syn_window);
  EXPECT_EQ(conns[0].t_una - (c->tcb.iss.raw() + 1), 2u << 20) << "the response got through";
}

// Sixteen connections that did receive data (charged) and one that did not, all sending:
// together they never offer more than the budget and the SYN windows.
TEST(RcvBudget, WindowsInUseAndDormantTogetherStayWithinTheBudget) {
  RingWorker rw(budget_config());
  rw.introduce_peer();
  rw.worker().listen(kListen, Peer::handler());
  std::vector<Scaled> conns;
  for (uint16_t i = 0; i < 17; ++i) {
    conns.push_back(open_scaled(rw, static_cast<uint16_t>(21000 + i)));
  }
  uint32_t tsval = kPeerTs + 2;
  for (size_t i = 0; i < 16; ++i) {
    Seg req = from_peer(conns[i], kA | kP, conns[i].p_nxt, conns[i].t_una, tsval++);
    req.data = std::string(1000, 'q');
    rw.send(req);
    conns[i].p_nxt += 1000;
    conns[i].edge -= 1000;
  }
  for (Scaled& k : conns) {
    Conn* c = Peer::conn(k.pport);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(rw.worker().send_copy(*c, std::vector<std::byte>(256 << 10, std::byte{'r'})),
              256u << 10);
  }
  (void)exchange(rw, conns, 200);
}

}  // namespace
}  // namespace tempo::conformance
