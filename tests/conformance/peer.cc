#include "peer.h"

namespace tempo::conformance {

using namespace flags;

namespace {

std::map<uint16_t, Conn*> g_conns;  // by peer port

void on_connected(Conn& c, void*) { g_conns[c.tuple().t4.remote_port] = &c; }
void on_data(Conn& c, const Bytes& d, void*) { c.worker->consume(c, d.size()); }
void on_closed(Conn& c, CloseReason, void*) { g_conns.erase(c.tuple().t4.remote_port); }
const Handler kHandler{.ctx = nullptr,
                       .on_connected = on_connected,
                       .on_data = on_data,
                       .on_writable = nullptr,
                       .on_peer_closed = nullptr,
                       .on_closed = on_closed};

}  // namespace

Peer::Peer(RingWorker& bench, uint16_t listen_port, uint16_t first_port)
    : b_(bench), listen_port_(listen_port), next_port_(first_port) {
  b_.worker().listen(listen_port_, &kHandler);
}

const Handler* Peer::handler() { return &kHandler; }

Conn* Peer::conn(uint16_t pport) {
  auto it = g_conns.find(pport);
  return it == g_conns.end() ? nullptr : it->second;
}

Seg Peer::seg(const Flow& f, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t tsval,
              std::string data) const {
  Seg s;
  s.sport = f.pport;
  s.dport = f.tport;
  s.seq = seq;
  s.ack = (flags & kA) != 0 ? ack : 0;
  s.flags = flags;
  s.win = kPeerWin;
  s.opts.has_timestamps = true;
  s.opts.tsval = tsval;
  s.opts.tsecr = (flags & kA) != 0 ? f.tempo_ts : 0;
  s.data = std::move(data);
  return s;
}
std::vector<Seg> Peer::replies(const Flow& f, Ticks until) {
  std::vector<Seg> mine;
  for (Seg& s : b_.run_until(until, Ticks::from_ms(5))) {
    if (s.dport == f.pport) {
      mine.push_back(std::move(s));
    }
  }
  return mine;
}
void Peer::note(Flow& f, const std::vector<Seg>& got) {
  for (const Seg& s : got) {
    f.tempo_ts = s.opts.tsval;
    f.wnd = s.win;
  }
}
Seg Peer::one(Flow& f, uint8_t flags) {
  std::vector<Seg> got = replies(f, b_.now() + Ticks::from_ms(1));
  EXPECT_EQ(got.size(), 1u) << "set-up: expected one " << flag_string(flags);
  if (got.empty()) {
    return Seg{};
  }
  EXPECT_EQ(got[0].flags, flags) << flag_string(got[0].flags);
  note(f, got);
  return got[0];
}
void Peer::none(Flow& f) {
  std::vector<Seg> got = replies(f, b_.now() + Ticks::from_ms(1));
  EXPECT_TRUE(got.empty()) << "set-up: unexpected " << flag_string(got[0].flags);
  note(f, got);
}
St Peer::state(const Flow& f) { return b_.worker().tuple_state(0, b_.peer(f.pport), f.tport); }

Flow Peer::open(St st) {
  Flow f;
  f.pport = next_port_++;
  if (st == St::kListen) {
    f.tport = listen_port_;
    f.irs = 0x10000000u + f.pport * 0x1000u;
    f.p_nxt = f.irs;
    return f;
  }
  if (st == St::kSynSent) {
    stack::Remote r = b_.peer(f.pport);
    auto c = b_.worker().connect(0, r, handler());
    EXPECT_TRUE(c.ok());
    f.tport = (*c)->tuple().t4.local_port;
    const Seg syn = one(f, kS);
    f.iss = syn.seq;
    f.t_nxt = syn.seq + 1;
    f.t_una = syn.seq;
    return f;
  }
  f.tport = listen_port_;
  f.irs = 0x20000000u + f.pport * 0x1000u;
  Seg syn = seg(f, kS, f.irs, 0, kPeerTs);
  syn.opts.has_mss = true;
  syn.opts.mss = 1460;
  b_.send(syn);
  const Seg sa = one(f, kS | kA);
  f.iss = sa.seq;
  f.t_nxt = sa.seq + 1;
  f.t_una = sa.seq;
  f.p_nxt = f.irs + 1;
  if (st == St::kSynReceived) {
    return f;
  }
  b_.send(seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs));
  none(f);
  f.t_una = f.t_nxt;
  if (st == St::kEstablished) {
    return f;
  }
  Conn* c = conn(f.pport);
  EXPECT_NE(c, nullptr);
  if (c == nullptr) {
    return f;
  }
  if (st == St::kCloseWait || st == St::kLastAck) {
    b_.send(seg(f, kF | kA, f.p_nxt, f.t_nxt, kPeerTs));
    f.p_nxt += 1;
    one(f, kA);
    if (st == St::kLastAck) {
      b_.worker().close(*c);
      one(f, kF | kA);
      f.t_nxt += 1;
    }
    return f;
  }
  b_.worker().close(*c);  // FIN-WAIT-1
  one(f, kF | kA);
  f.t_nxt += 1;
  if (st == St::kFinWait1) {
    return f;
  }
  if (st == St::kClosing) {  // the peer's FIN crosses ours
    b_.send(seg(f, kF | kA, f.p_nxt, f.t_una, kPeerTs));
    f.p_nxt += 1;
    one(f, kA);
    return f;
  }
  b_.send(seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs));  // FIN-WAIT-2
  none(f);
  f.t_una = f.t_nxt;
  if (st == St::kFinWait2) {
    return f;
  }
  b_.send(seg(f, kF | kA, f.p_nxt, f.t_nxt, kPeerTs));  // TIME-WAIT
  f.p_nxt += 1;
  one(f, kA);
  return f;
}

}  // namespace tempo::conformance
