// The Worker's TCP layer: demultiplexing to connections and listeners, the protocol core's Sink
// (segments to mbufs, timers to the wheel, events to the application), and the application's
// calls. The protocol itself is lib/tcp.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include <rte_ip.h>

#include "stack/cksum.h"
#include "stack/worker.h"
#include "tcp/cookie_open.h"
#include "tcp/isn.h"
#include "tcp/listen.h"
#include "tcp/ts_offset.h"
#include "timewait/demux.h"
#include "timewait/from_tcp.h"
#include "timewait/policy.h"
#include "wire/checksum.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {

using telemetry::Layer;

namespace {

crypto::IpAddress ip_of(const wire::Ipv4Addr& a) { return crypto::IpAddress::v4(a.value()); }
crypto::IpAddress ip_of(const wire::Ipv6Addr& a) {
  std::array<std::byte, 16> b;
  std::memcpy(b.data(), a.bytes().data(), 16);
  return crypto::IpAddress::v6(b);
}

timewait::TwTupleV4 tw_tuple(const flow::FlowKey4& k) {
  return {.local_addr = k.local,
          .remote_addr = k.remote,
          .local_port = k.local_port,
          .remote_port = k.remote_port};
}
timewait::TwTupleV6 tw_tuple(const flow::FlowKey6& k) {
  return {.local_addr = k.local,
          .remote_addr = k.remote,
          .local_port = k.local_port,
          .remote_port = k.remote_port};
}

CloseReason public_reason(tcp::CloseReason r) {
  static_assert(static_cast<int>(CloseReason::kAborted) ==
                static_cast<int>(tcp::CloseReason::kAborted));
  return static_cast<CloseReason>(r);
}

// The connection-table keys and the keyed-hash tuple of a packet spec (src = local).
flow::FlowKey4 key4(const wire::TcpPacketSpec& r, uint16_t lport, uint16_t rport) {
  return {.local = r.src4.value(),
          .remote = r.dst4.value(),
          .local_port = lport,
          .remote_port = rport,
          .pad = 0};
}
flow::FlowKey6 key6(const wire::TcpPacketSpec& r, uint16_t lport, uint16_t rport) {
  flow::FlowKey6 k{};
  k.local = r.src6.bytes();
  k.remote = r.dst6.bytes();
  k.local_port = lport;
  k.remote_port = rport;
  return k;
}
crypto::FlowTuple flow_tuple(const wire::TcpPacketSpec& r, uint16_t lport, uint16_t rport) {
  return r.ipv6 ? crypto::FlowTuple{ip_of(r.src6), ip_of(r.dst6), lport, rport}
                : crypto::FlowTuple{ip_of(r.src4), ip_of(r.dst4), lport, rport};
}

// A received segment's header as the protocol core takes it (the payload is the caller's).
tcp::Segment<MbufBuf> segment_of(const wire::TcpView& tcp, const wire::TcpOptions& opts) {
  tcp::Segment<MbufBuf> seg;
  seg.seq = tcp::SeqNum(tcp.seq());
  seg.ack = tcp::SeqNum(tcp.ack());
  seg.flags = tcp.flags().bits();
  seg.window = tcp.window();
  seg.opts = opts;
  return seg;
}

Remote remote_of(const Conn& c) {
  Remote r;
  r.v6 = c.v6;
  if (c.v6) {
    r.ip6 = wire::Ipv6Addr(c.key6.remote);
    r.port = c.key6.remote_port;
  } else {
    r.ip4 = wire::Ipv4Addr(c.key4.remote);
    r.port = c.key4.remote_port;
  }
  return r;
}

// Payloads up to this size are copied into the header mbuf; larger ones are attached by
// reference (an indirect mbuf per source segment), which costs an mbuf but no copy.
constexpr uint32_t kCopyBelow = 256;

// TSO frames: segments of at least this much payload merge; a frame holds at most
// kTsoMaxPayload bytes (the IPv4 total length, less headers) in at most kTsoMaxSegs mbufs.
constexpr uint32_t kTsoMinSegment = 512;
constexpr uint32_t kTsoMaxPayload = 65535 - 60 - 60;
constexpr uint32_t kTsoMaxSegs = 64;

}  // namespace

// The protocol core's Sink for one call on one Conn (tcp/sink.h).
struct ConnSink {
  Worker& w;
  Conn& c;

  void emit(const tcp::OutSegment<MbufBuf>& seg) noexcept { w.emit(c, seg); }
  void arm_timer(tcp::TimerKind k, Ticks t) noexcept {
    w.wheel_.arm(c.timers[static_cast<size_t>(k)], t);
  }
  void cancel_timer(tcp::TimerKind k) noexcept {
    w.wheel_.cancel(c.timers[static_cast<size_t>(k)]);
  }
  void on_connected() noexcept {
    w.leave_backlog(c);
    if (c.app != nullptr && c.app->on_connected != nullptr) {
      c.app->on_connected(c, c.app->ctx);
    }
  }
  void on_data(const MbufBuf& b, uint32_t off, uint32_t len) noexcept {
    if (c.app != nullptr && c.app->on_data != nullptr) {
      // The slice's reference passes to the Bytes: no extra reference counting.
      MbufBuf window = b.slice(off, len);
      const uint32_t window_off = window.offset();
      const Bytes data(window.release_ref(), window_off, len);
      c.app->on_data(c, data, c.app->ctx);
    } else {
      c.pending_consume += len;  // nobody reads: drop the bytes, keep the window open
    }
  }
  // Space in the send queue: retry the queued sends, then tell the application (finish()).
  void on_writable() noexcept {
    c.send_blocked = false;
    c.notify_writable = true;
  }
  void on_peer_fin() noexcept {
    if (c.app != nullptr && c.app->on_peer_closed != nullptr) {
      c.app->on_peer_closed(c, c.app->ctx);
    }
  }
  void on_closed(tcp::CloseReason r) noexcept {
    c.dead = true;
    if (c.app != nullptr && c.app->on_closed != nullptr) {
      c.app->on_closed(c, public_reason(r), c.app->ctx);
    }
  }
  // The control block and its buffers go; a compact record takes the tuple's place in the
  // TIME_WAIT table (DESIGN.md principle 5). At the table's bound on_full decides: the oldest
  // entry is evicted, or this one is refused (closed at once, as Linux at tcp_max_tw_buckets);
  // the table counts either.
  void on_time_wait(const tcp::TimeWaitInfo& tw) noexcept {
    w.counters_.tcp_time_wait_entered++;
    const timewait::TwConn rec = timewait::tw_conn(tw, w.now_);
    if (c.v6) {
      (void)w.tw_->insert(tw_tuple(c.key6), rec, w.now_);
    } else {
      (void)w.tw_->insert(tw_tuple(c.key4), rec, w.now_);
    }
    c.dead = true;
    if (c.app != nullptr && c.app->on_closed != nullptr) {
      c.app->on_closed(c, CloseReason::kNormal, c.app->ctx);
    }
  }
  tcp::CoreState& core() noexcept { return w.core_; }
};

// One call into the protocol core for `c`: the Sink, the re-entry guard (application calls
// made from callbacks are queued on the Conn), then finish() runs what was queued and frees a
// Conn the core closed.
template <class F>
auto Worker::in_core(Conn& c, F&& call) noexcept {
  ConnSink sink{*this, c};
  c.in_core = true;
  if constexpr (std::is_void_v<decltype(call(sink))>) {
    call(sink);
    finish(c);
  } else {
    auto r = call(sink);
    finish(c);
    return r;
  }
}

Result<void, std::string> Worker::init_tcp(const tcp::Config& cfg, uint32_t max_conns,
                                           const timewait::TwTableConfig& tw,
                                           const WorkerTcpConfig& wcfg) {
  wcfg_ = wcfg;
  core_.challenge_acks.limit_per_sec = wcfg.challenge_ack_limit_per_sec;
  for (size_t i = 0; i < cfgs_.size(); ++i) {
    tcp::Config& k = cfgs_[i];
    k = cfg;
    if ((i & 4) != 0) {
      k.mss = static_cast<uint16_t>(cfg.mss - 20);  // the IPv6 header is 20 bytes longer
    }
    k.keepalive = (i & 2) != 0;
    k.rcv_pressure = &rcv_pressure_;
    k.cc = (i & 1) != 0 ? tcp::cc::Algorithm::kCubic : tcp::cc::Algorithm::kNewReno;
  }
  // Send-queue chunks (tcp/send_queue.h): half a chunk of 16 buffers per connection slot on
  // average, each connection holding up to tcp.snd_buf. Connections that send one buffer per
  // segment (a zero-copy relay) draw on it; the pool running dry pushes back (kQueueFull).
  using Sndq = decltype(tcp::Tcb<MbufBuf>{}.sndq);
  const size_t chunks = std::max<size_t>(64, max_conns / 2);
  sndq_storage_ = std::vector<std::byte>(chunks * Sndq::kChunkBytes);
  sndq_pool_.emplace(std::span(sndq_storage_), Sndq::kChunkBytes);
  for (tcp::Config& k : cfgs_) {
    k.sndq_pool = &*sndq_pool_;
  }
  default_keepalive_ = cfg.keepalive;
  default_cubic_ = cfg.cc == tcp::cc::Algorithm::kCubic;
  auto mgr = crypto::Mgr::create();
  if (!mgr) {
    return fail(std::string("crypto: cannot start IPsec-MB"));
  }
  crypto_.emplace(std::move(*mgr));
  auto key = crypto::random_key();
  if (!key) {
    return fail(std::string("crypto: no entropy for the ISN key"));
  }
  prf_.emplace(*crypto_, *key);
  const std::string suffix = std::to_string(index_);
  const auto seed = static_cast<uint32_t>(prf_->eval(std::as_bytes(std::span(suffix))));
  auto t4 = flow::ConnTable<flow::FlowKey4, Conn>::create("tempo_c4_" + suffix, max_conns, seed,
                                                          static_cast<int>(rte_socket_id()));
  if (!t4) {
    return fail(t4.error());
  }
  table4_.emplace(std::move(*t4));
  auto t6 = flow::ConnTable<flow::FlowKey6, Conn>::create("tempo_c6_" + suffix, max_conns, seed,
                                                          static_cast<int>(rte_socket_id()));
  if (!t6) {
    return fail(t6.error());
  }
  table6_.emplace(std::move(*t6));
  timewait::TwTableConfig twc = tw;
  const std::string tw_label = "timewait" + suffix;
  twc.seed = prf_->eval(std::as_bytes(std::span(tw_label)));
  auto tws = timewait::TwTables::create(twc);
  if (!tws) {
    return fail(std::string("timewait: cannot map the table for ") +
                std::to_string(tw.max_entries) + " entries");
  }
  tw_.emplace(std::move(*tws));
  conns_ = std::vector<Conn>(max_conns);
  for (uint32_t i = 0; i < max_conns; ++i) {
    conns_[i].next_free = i + 1 < max_conns ? i + 1 : UINT32_MAX;
  }
  free_head_ = 0;
  return {};
}

void Worker::listen(uint16_t port, const AppHandler* app, const ConnOptions& opts) {
  listeners_.push_back(Listener{port, app, opts});
}

const tcp::Config& Worker::cfg_for(bool v6, const ConnOptions& o) const noexcept {
  const bool ka = o.keepalive == ConnOptions::Choice::kDefault
                      ? default_keepalive_
                      : o.keepalive == ConnOptions::Choice::kOn;
  const bool cubic = o.congestion == ConnOptions::Cc::kDefault
                         ? default_cubic_
                         : o.congestion == ConnOptions::Cc::kCubic;
  return cfgs_[(v6 ? 4u : 0u) | (ka ? 2u : 0u) | (cubic ? 1u : 0u)];
}

Conn* Worker::find_conn(const wire::TcpPacketSpec& r, uint16_t lport, uint16_t rport) noexcept {
  return r.ipv6 ? table6_->find(key6(r, lport, rport)) : table4_->find(key4(r, lport, rport));
}

Conn* Worker::new_conn(Port& p, const wire::TcpPacketSpec& r, uint16_t lport, uint16_t rport,
                       const AppHandler* app, crypto::FlowTuple* tuple) noexcept {
  if (free_head_ == UINT32_MAX) {
    counters_.tcp_conn_exhausted++;
    return nullptr;
  }
  Conn& c = conns_[free_head_];
  c.v6 = r.ipv6;
  c.port = static_cast<uint8_t>(&p - ports_.data());
  c.app = app;
  c.worker = this;
  c.user = nullptr;
  c.peer_mac = r.eth_dst;
  c.mac_ok = true;
  c.dead = false;
  c.in_core = false;
  bool inserted;
  if (r.ipv6) {
    c.key6 = key6(r, lport, rport);
    inserted = table6_->insert(c.key6, &c).ok();
  } else {
    c.key4 = key4(r, lport, rport);
    inserted = table4_->insert(c.key4, &c).ok();
  }
  if (!inserted) {
    counters_.tcp_conn_exhausted++;
    return nullptr;
  }
  *tuple = flow_tuple(r, lport, rport);
  free_head_ = c.next_free;
  c.in_use = true;
  ++conns_used_;
  return &c;
}

uint32_t Worker::choose_iss(const crypto::FlowTuple& tuple,
                            std::optional<uint32_t> floor) noexcept {
  return timewait::iss_above_floor(tcp::isn(*prf_, tuple, now_), floor);
}

Conn* Worker::open_conn(Port& p, const wire::TcpPacketSpec& r, uint16_t lport, uint16_t rport,
                        Listener& l, std::optional<uint32_t> iss_floor) noexcept {
  crypto::FlowTuple tuple;
  Conn* c = new_conn(p, r, lport, rport, l.app, &tuple);
  if (c == nullptr) {
    return nullptr;
  }
  const uint32_t tso = tcp::ts_offset(*prf_, tuple.local, tuple.remote);
  c->opts = l.opts;
  c->listener = static_cast<uint16_t>(&l - listeners_.data());
  c->embryonic = true;
  ++listeners_[c->listener].embryonic;
  tcp::open_passive(c->tcb, cfg_for(c->v6, l.opts), tcp::SeqNum(choose_iss(tuple, iss_floor)), tso);
  counters_.tcp_passive_opens++;
  apply_nagle(*c);
  return c;
}

std::optional<uint16_t> Worker::pick_local_port(Port& p, const wire::TcpPacketSpec& spec,
                                                uint16_t rport,
                                                std::optional<uint32_t>* iss_floor) noexcept {
  const uint16_t lo = wcfg_.local_port_lo;
  const uint16_t hi = wcfg_.local_port_hi;
  const uint32_t span = uint32_t{hi} - lo + 1;
  // RFC 6056 §3.3.3: offset = F(local, remote, remote port, secret), then next_ephemeral.
  std::array<std::byte, 2 * 16 + 2 + 1> msg{};
  msg[0] = std::byte{'P'};
  if (spec.ipv6) {
    std::memcpy(&msg[1], spec.src6.bytes().data(), 16);
    std::memcpy(&msg[17], spec.dst6.bytes().data(), 16);
  } else {
    const uint32_t l = spec.src4.value();
    const uint32_t r = spec.dst4.value();
    std::memcpy(&msg[1], &l, 4);
    std::memcpy(&msg[17], &r, 4);
  }
  std::memcpy(&msg[33], &rport, 2);
  const uint32_t offset = static_cast<uint32_t>(prf_->eval(msg));
  uint32_t cursor = (offset + next_ephemeral_) % span;
  const uint32_t start = cursor;

  const Ticks min_age = wcfg_.active_reuse_min_age;
  // Taken: a listener's port, a live connection, or a TIME_WAIT entry that may not be reused
  // yet. A reusable entry is removed here; the picker returns this very port next.
  auto taken = [&](uint16_t lport) {
    for (const Listener& l : listeners_) {
      if (l.port == lport) {
        return true;
      }
    }
    auto try_tw = [&](auto& tw, const auto& tuple) {
      const uint32_t idx = tw.find(tuple);
      if (idx == timewait::kNoIndex) {
        return false;
      }
      const uint32_t floor = timewait::reuse_iss_floor(tw.at(idx).conn);
      if (!tw.take_for_active_open(idx, now_, min_age)) {
        return true;
      }
      *iss_floor = floor;
      return false;
    };
    if (find_conn(spec, lport, rport) != nullptr) {
      return true;
    }
    return spec.ipv6 ? try_tw(tw_->v6(), tw_tuple(key6(spec, lport, rport)))
                     : try_tw(tw_->v4(), tw_tuple(key4(spec, lport, rport)));
  };
  static const flow::RssSteering kOneQueue(flow::kSymmetricRssKey, {});
  const flow::RssSteering& rss = p.iface.rss ? *p.iface.rss : kOneQueue;
  const uint16_t queue = p.iface.rss ? p.iface.queue : 0;
  std::optional<uint16_t> port =
      spec.ipv6 ? rss.pick_local_port(spec.src6.bytes(), spec.dst6.bytes(), rport, queue, lo, hi,
                                      &cursor, taken)
                : rss.pick_local_port(spec.src4, spec.dst4, rport, queue, lo, hi, &cursor, taken);
  next_ephemeral_ += (cursor + span - start) % span;
  return port;
}

Result<Conn*, ConnectError> Worker::connect(size_t port, const Remote& remote,
                                            const AppHandler* app, void* user,
                                            const ConnOptions& opts) noexcept {
  if (conns_.empty()) {
    return fail(ConnectError::kNoTcp);
  }
  if (port >= ports_.size()) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoRoute);
  }
  Port& p = ports_[port];
  if (remote.v6 && !p.iface.has_ipv6) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoAddress);
  }
  if (!remote.v6 && !next_hop(p.iface, remote.ip4)) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoRoute);
  }
  if (free_head_ == UINT32_MAX) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoSlot);
  }
  wire::TcpPacketSpec spec{};
  spec.ipv6 = remote.v6;
  if (remote.v6) {
    spec.src6 = p.iface.ipv6;
    spec.dst6 = remote.ip6;
  } else {
    spec.src4 = p.iface.ipv4;
    spec.dst4 = remote.ip4;
  }
  std::optional<uint32_t> iss_floor;
  const std::optional<uint16_t> lport = pick_local_port(p, spec, remote.port, &iss_floor);
  if (!lport) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoLocalPort);
  }
  // Soliciting now overlaps address resolution with building the SYN, which waits for it.
  const std::optional<wire::MacAddr> mac =
      remote.v6 ? resolve(port, remote.ip6) : resolve(port, remote.ip4);
  crypto::FlowTuple tuple;
  Conn* c = new_conn(p, spec, *lport, remote.port, app, &tuple);
  if (c == nullptr) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoSlot);
  }
  c->user = user;
  c->mac_ok = mac.has_value();
  if (mac) {
    c->peer_mac = *mac;
  }
  counters_.tcp_active_opens++;
  const uint32_t tso = tcp::ts_offset(*prf_, tuple.local, tuple.remote);
  ConnSink sink{*this, *c};
  c->in_core = true;
  c->opts = opts;
  tcp::connect(c->tcb, cfg_for(c->v6, opts), tcp::SeqNum(choose_iss(tuple, iss_floor)), tso, now_,
               sink);
  apply_nagle(*c);
  finish(*c);
  return c;
}

tcp::State Worker::tuple_state(size_t port, const Remote& remote, uint16_t local_port) noexcept {
  if (conns_.empty() || port >= ports_.size()) {
    return tcp::State::kClosed;
  }
  const Interface& i = ports_[port].iface;
  wire::TcpPacketSpec spec{};
  spec.ipv6 = remote.v6;
  spec.src4 = i.ipv4;
  spec.dst4 = remote.ip4;
  spec.src6 = i.ipv6;
  spec.dst6 = remote.ip6;
  if (const Conn* c = find_conn(spec, local_port, remote.port); c != nullptr) {
    return c->tcb.state;
  }
  const bool tw =
      remote.v6
          ? tw_->v6().find(tw_tuple(key6(spec, local_port, remote.port))) != timewait::kNoIndex
          : tw_->v4().find(tw_tuple(key4(spec, local_port, remote.port))) != timewait::kNoIndex;
  return tw ? tcp::State::kTimeWait : tcp::State::kClosed;
}

void Worker::leave_backlog(Conn& c) noexcept {
  if (c.embryonic) {
    c.embryonic = false;
    --listeners_[c.listener].embryonic;
  }
}

void Worker::free_conn(Conn& c) noexcept {
  leave_backlog(c);
  for (time::Timer& t : c.timers) {
    wheel_.cancel(t);
  }
  if (c.v6) {
    table6_->erase(c.key6);
  } else {
    table4_->erase(c.key4);
  }
  c.tcb = tcp::Tcb<MbufBuf>{};  // releases every queued buffer
  for (MbufBuf& b : c.pending) {
    b = MbufBuf();
  }
  c.pending_sends = 0;
  c.pending_consume = 0;
  c.pending_close = c.pending_shutdown = c.pending_abort = false;
  c.send_blocked = c.notify_writable = false;
  c.in_use = false;
  c.next_free = free_head_;
  free_head_ = static_cast<uint32_t>(&c - conns_.data());
  --conns_used_;
}

void Worker::finish(Conn& c) noexcept {
  // Application calls queued during the callbacks, in order: sends first (a FIN must follow
  // the data), then the window, then shutdown/close. A send the core refuses stays queued
  // until the core reports on_writable.
  while (!c.dead) {
    ConnSink sink{*this, c};
    c.in_core = true;
    if (c.pending_abort) {
      c.pending_abort = false;
      tcp::abort(c.tcb, sink);
    } else if (c.pending_sends > 0 && !c.send_blocked) {
      uint8_t sent = 0;
      while (sent < c.pending_sends && tcp::send(c.tcb, c.pending[sent], now_, sink)) {
        c.pending[sent++] = MbufBuf();
      }
      note_sndq(c);
      c.send_blocked = sent < c.pending_sends;
      std::move(c.pending.begin() + sent, c.pending.begin() + c.pending_sends, c.pending.begin());
      c.pending_sends = static_cast<uint8_t>(c.pending_sends - sent);
    } else if (c.pending_consume > 0) {
      const uint32_t n = c.pending_consume;
      c.pending_consume = 0;
      tcp::consume(c.tcb, n, now_, sink);
    } else if (c.pending_sends == 0 && c.pending_shutdown) {
      c.pending_shutdown = false;
      (void)tcp::shutdown(c.tcb, now_, sink);
    } else if (c.pending_sends == 0 && c.pending_close) {
      c.pending_close = false;
      (void)tcp::close(c.tcb, now_, sink);
    } else {
      break;
    }
  }
  c.in_core = false;
  tso_flush(ports_[c.port]);
  if (c.dead) {
    free_conn(c);
    return;
  }
  if (c.notify_writable && c.pending_sends == 0) {
    c.notify_writable = false;
    if (c.app != nullptr && c.app->on_writable != nullptr) {
      c.app->on_writable(c, c.app->ctx);  // not in the core: its calls run at once
    }
  }
}

void Worker::input_tcp(Port& p, rte_mbuf* m, std::span<const std::byte> segment,
                       wire::TcpPacketSpec& reply) noexcept {
  auto tcp = wire::TcpView::parse(segment);
  if (!tcp) {
    counters_.drop(Layer::kTcp, tcp.error());
    return;
  }
  auto opts = wire::parse_tcp_options(tcp->options());
  if (!opts) {
    counters_.drop(Layer::kTcp, opts.error());
    return;
  }
  if (conns_.empty()) {
    counters_.drop_tcp_no_endpoint++;
    reply_reset(p, *tcp, reply);
    return;
  }
  const uint16_t lport = tcp->dst_port();
  const uint16_t rport = tcp->src_port();
  Conn* c = find_conn(reply, lport, rport);
  bool cookie_ack = false;  // an ACK that may return one of our SYN cookies
  crypto::FlowTuple tuple;  // set when cookie_ack
  if (c == nullptr) {
    Listener* listener = nullptr;
    for (Listener& l : listeners_) {
      if (l.port == lport) {
        listener = &l;
      }
    }
    // TIME_WAIT is looked up before the listeners: its entry answers for the old connection.
    const timewait::TwDemux tw =
        reply.ipv6 ? input_time_wait(p, tw_->v6(), tw_tuple(key6(reply, lport, rport)), *tcp, *opts,
                                     reply, listener != nullptr)
                   : input_time_wait(p, tw_->v4(), tw_tuple(key4(reply, lport, rport)), *tcp, *opts,
                                     reply, listener != nullptr);
    if (tw.kind == timewait::TwDemux::Kind::kHandled) {
      return;
    }
    const bool reusing = tw.kind == timewait::TwDemux::Kind::kReuse;
    auto settle = [&](bool taken) {
      if (reusing) {
        reply.ipv6 ? timewait::settle_reuse(tw_->v6(), tw, taken, now_)
                   : timewait::settle_reuse(tw_->v4(), tw, taken, now_);
      }
    };
    if (listener == nullptr) {
      // RFC 9293 §3.10.7.1, CLOSED: anything but a RST draws a RST.
      counters_.drop_tcp_no_endpoint++;
      reply_reset(p, *tcp, reply);
      return;
    }
    const bool cookies = wcfg_.syncookies != SynCookies::kOff;
    switch (tcp::listen_action(tcp->flags().bits(), cookies)) {
      case tcp::ListenAction::kIgnore:
      case tcp::ListenAction::kDrop:
        counters_.drop_tcp_listen++;
        settle(false);
        return;
      case tcp::ListenAction::kReset:
        counters_.drop_tcp_listen++;
        reply_reset(p, *tcp, reply);
        return;
      case tcp::ListenAction::kCookie:
        cookie_ack = true;
        c = new_conn(p, reply, lport, rport, listener->app, &tuple);
        if (c == nullptr) {
          return;  // counted: no slot; the peer retransmits
        }
        c->opts = listener->opts;
        break;
      case tcp::ListenAction::kOpen:
        if (wcfg_.syncookies == SynCookies::kAlways ||
            listener->embryonic >= wcfg_.listen_backlog) {
          // The backlog is full (SYN flood, or a burst of opens): answer statelessly, or, with
          // cookies off, drop the SYN (the peer retries), as Linux does. A cookie answer takes
          // a reused tuple out of TIME_WAIT: its returning ACK must find no entry.
          if (cookies) {
            send_cookie_syn_ack(p, *tcp, *opts, reply, *listener);
          } else {
            counters_.tcp_listen_overflow++;
          }
          settle(cookies);
          return;
        }
        c = open_conn(p, reply, lport, rport, *listener,
                      reusing ? std::optional<uint32_t>(tw.iss_floor) : std::nullopt);
        settle(c != nullptr);
        if (c == nullptr) {
          return;  // counted: no room; the peer's SYN retry may find some
        }
        break;
    }
  }
  c->peer_mac = reply.eth_dst;
  c->mac_ok = true;

  tcp::Segment<MbufBuf> seg = segment_of(*tcp, *opts);
  seg.len = static_cast<uint32_t>(tcp->payload().size());
  if (seg.len > 0) {
    const auto off = static_cast<uint32_t>(tcp->payload().data() - rte_pktmbuf_mtod(m, std::byte*));
    if (!p.rx_low) [[likely]] {
      // The payload stays in this mbuf: one more reference, released by the core's queues.
      rte_mbuf_refcnt_update(m, 1);
      seg.payload = MbufBuf(m, off, seg.len);
    } else if (rte_mbuf* copy = p.tx_low ? nullptr : rte_pktmbuf_alloc(p.iface.pool);
               copy != nullptr && rte_pktmbuf_tailroom(copy) >= seg.len) {
      // Receive memory is short: copy, so the RX mbuf goes straight back (dpdk/port.h).
      std::memcpy(rte_pktmbuf_append(copy, static_cast<uint16_t>(seg.len)), tcp->payload().data(),
                  seg.len);
      seg.payload = MbufBuf(copy);
      counters_.tcp_rx_copied++;
    } else {
      // No memory for the data at all: drop the data (and a FIN after it, which would sit at
      // the wrong sequence number), keep the ACK and window. The peer retransmits the data.
      if (copy != nullptr) {
        rte_pktmbuf_free(copy);
      }
      seg.len = 0;
      seg.flags = static_cast<uint8_t>(seg.flags & ~tcp::flag::kFin);
      counters_.tcp_rx_data_dropped++;
    }
  }
  ConnSink sink{*this, *c};
  c->in_core = true;
  if (cookie_ack) [[unlikely]] {
    if (!tcp::open_from_cookie(c->tcb, cfg_for(c->v6, c->opts), *prf_, tuple, seg, now_, sink)) {
      // Not one of our cookies (or too old): answer as LISTEN does, keep nothing.
      c->in_core = false;
      free_conn(*c);
      counters_.drop_tcp_no_endpoint++;
      reply_reset(p, *tcp, reply);
      return;
    }
    counters_.tcp_passive_opens++;
    apply_nagle(*c);
  } else {
    tcp::input(c->tcb, seg, now_, sink);
  }
  finish(*c);
}

void Worker::send_cookie_syn_ack(Port& p, const wire::TcpView& tcp, const wire::TcpOptions& opts,
                                 wire::TcpPacketSpec& reply, const Listener& l) noexcept {
  const tcp::OutSegment<MbufBuf> o = tcp::cookie_syn_ack(
      cfg_for(reply.ipv6, l.opts), *prf_, flow_tuple(reply, tcp.dst_port(), tcp.src_port()),
      segment_of(tcp, opts), now_, core_);
  reply.tcp = wire::TcpHeaderFields{.src_port = tcp.dst_port(),
                                    .dst_port = tcp.src_port(),
                                    .seq = o.seq.raw(),
                                    .ack = o.ack.raw(),
                                    .flags = wire::TcpFlags(o.flags),
                                    .window = o.window,
                                    .urgent = 0};
  reply.options = o.opts;
  send_built(p, reply);
}

template <class Tuple>
timewait::TwDemux Worker::input_time_wait(Port& p, timewait::TwTable<Tuple>& table,
                                          const Tuple& tuple, const wire::TcpView& tcp,
                                          const wire::TcpOptions& opts, wire::TcpPacketSpec& reply,
                                          bool listener) noexcept {
  const timewait::TwSegment seg{.flags = tcp.flags().bits(),
                                .has_ts = opts.has_timestamps,
                                .seq = tcp.seq(),
                                .ack = tcp.ack(),
                                .payload_len = static_cast<uint32_t>(tcp.payload().size()),
                                .tsval = opts.tsval,
                                .tsecr = opts.tsecr};
  timewait::TwDemux d = timewait::demux_time_wait(
      table, tuple, seg, now_, listener, [this] { return core_.challenge_acks.allow(now_); },
      tw_acks_limited_);
  if (d.ack) {
    reply.tcp = wire::TcpHeaderFields{.src_port = tcp.dst_port(),
                                      .dst_port = tcp.src_port(),
                                      .seq = d.ack->seq,
                                      .ack = d.ack->ack,
                                      .flags = wire::TcpFlags(wire::TcpFlags::kAck),
                                      .window = d.ack->window,
                                      .urgent = 0};
    reply.options = wire::TcpOptions{};
    if (d.ack->has_ts) {
      // The keyed per-address-pair offset, re-derived: the record does not store it.
      const auto local = reply.ipv6 ? ip_of(reply.src6) : ip_of(reply.src4);
      const auto remote = reply.ipv6 ? ip_of(reply.dst6) : ip_of(reply.dst4);
      reply.options.has_timestamps = true;
      reply.options.tsval = tcp::ts_value(now_, tcp::ts_offset(*prf_, local, remote));
      reply.options.tsecr = d.ack->tsecr;
    }
    send_built(p, reply);
  }
  return d;
}

timewait::TwCounters Worker::tw_counters() const noexcept {
  timewait::TwCounters sum = tw_->counters();
  sum.acks_rate_limited += tw_acks_limited_;
  return sum;
}

size_t Worker::tw_entries() const noexcept { return tw_ ? tw_->size() : 0; }

void Worker::on_wheel_timer(time::Timer& t) noexcept {
  const auto offset =
      reinterpret_cast<const std::byte*>(&t) - reinterpret_cast<const std::byte*>(conns_.data());
  Conn& c = conns_[static_cast<size_t>(offset) / sizeof(Conn)];
  const auto kind = static_cast<tcp::TimerKind>(&t - c.timers.data());
  in_core(c, [&](ConnSink& sink) { tcp::on_timer(c.tcb, kind, now_, sink); });
}

// Attaches the payload of `seg` to `m` by reference: an indirect mbuf per source segment
// (DESIGN.md principle 4). False when the pool ran out (counted; `m` is left as it was, minus
// nothing: the caller frees it).
bool Worker::attach_payload(Port& p, rte_mbuf* m, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  for (const auto& ref : seg.payload()) {
    uint32_t want_off = ref.buf->offset() + ref.off;
    uint32_t want_len = ref.len;
    for (rte_mbuf* s = ref.buf->mbuf(); s != nullptr && want_len > 0; s = s->next) {
      if (want_off >= s->data_len) {
        want_off -= s->data_len;
        continue;
      }
      const uint32_t n = std::min<uint32_t>(want_len, s->data_len - want_off);
      rte_mbuf* mi = rte_pktmbuf_alloc(p.iface.pool);
      if (mi == nullptr) {
        counters_.drop_no_mbuf++;
        return false;
      }
      rte_pktmbuf_attach(mi, s);
      mi->data_off = static_cast<uint16_t>(mi->data_off + want_off);
      mi->data_len = static_cast<uint16_t>(n);
      mi->pkt_len = n;
      if (rte_pktmbuf_chain(m, mi) != 0) {
        rte_pktmbuf_free(mi);
        counters_.drop_no_mbuf++;
        return false;
      }
      want_off = 0;
      want_len -= n;
    }
  }
  return true;
}

// May `seg` ride in a TSO frame on this port? Data only (ACK, maybe PSH), full-sized enough
// to be worth it; on net_tap IPv4 only and with even-length pieces (its software GSO sums each
// piece on its own, like the DPDK checksum bug in stack/cksum.h).
bool Worker::tso_fits(const Port& p, const Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  const Interface& i = p.iface;
  if (!i.tx_tso || seg.len < kTsoMinSegment || !c.mac_ok ||
      (seg.flags & ~(tcp::flag::kAck | tcp::flag::kPsh)) != 0 || (c.v6 && i.tap_offloads)) {
    return false;
  }
  if (i.tap_offloads) {
    for (const auto& ref : seg.payload()) {
      if ((ref.len & 1) != 0) {
        return false;
      }
    }
  }
  return true;
}

// Appends `seg` to the port's open TSO frame when it continues it: same connection, next
// sequence number, no longer than the frame's segment size, the same options, room left.
bool Worker::tso_extend(Port& p, Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  TsoFrame& f = p.tso;
  if (f.m == nullptr || f.c != &c || f.last || seg.seq.raw() != f.next_seq ||
      seg.len > f.seg_size || f.payload + seg.len > kTsoMaxPayload ||
      f.m->nb_segs + seg.payload().size() > kTsoMaxSegs || !tso_fits(p, c, seg)) {
    return false;
  }
  std::array<std::byte, 40> opts{};
  const size_t n = wire::tcp_options_length(seg.opts);
  if (n != f.l4 - wire::TcpView::kMinHeaderLen || !wire::write_tcp_options(opts, seg.opts) ||
      std::memcmp(opts.data(), rte_pktmbuf_mtod_offset(f.m, const std::byte*, f.tcp_off + 20), n) !=
          0) {
    return false;
  }
  if (!attach_payload(p, f.m, seg)) {
    // The pool ran dry part way: the pieces attached are this segment's first bytes, at the
    // right sequence numbers. The frame ends with them; TCP retransmits the rest.
    f.payload = rte_pktmbuf_pkt_len(f.m) - (wire::EthView::kHeaderLen + f.l3 + f.l4);
    f.last = true;
    return true;
  }
  // The newest ACK, window and PSH ride in the frame's header (one call of the core: the
  // same values as the segments it replaces, or newer).
  std::byte* th = rte_pktmbuf_mtod_offset(f.m, std::byte*, f.tcp_off);
  const uint32_t ack = rte_cpu_to_be_32(seg.ack.raw());
  const uint16_t win = rte_cpu_to_be_16(seg.window);
  std::memcpy(th + 8, &ack, 4);
  std::memcpy(th + 14, &win, 2);
  th[13] |= static_cast<std::byte>(seg.flags & tcp::flag::kPsh);
  f.payload += seg.len;
  f.next_seq += seg.len;
  f.last = seg.len < f.seg_size;  // a short segment ends the frame
  counters_.tcp_segments_sent++;
  counters_.tx_tso_merged++;
  return true;
}

// Finishes the open TSO frame (lengths, checksum offsets) and queues it.
void Worker::tso_flush(Port& p) noexcept {
  TsoFrame& f = p.tso;
  if (f.m == nullptr) {
    return;
  }
  rte_mbuf* m = std::exchange(f.m, nullptr);
  const bool v6 = f.c->v6;
  if (f.payload == f.seg_size) {  // nothing joined it: an ordinary segment
    finish_frame(p, v6, m, f.tcp_off, f.l3, f.l4);
    transmit(p, m);
    return;
  }
  const size_t ip_off = wire::EthView::kHeaderLen;
  m->l2_len = wire::EthView::kHeaderLen;
  m->l3_len = f.l3;
  m->l4_len = f.l4;
  m->tso_segsz = f.seg_size;
  if (p.iface.tap_offloads) {
    // Even, so that the cut pieces stay even (tso_fits).
    const int room = p.iface.mtu - wire::EthView::kHeaderLen - f.l3 - f.l4;
    m->tso_segsz = static_cast<uint16_t>(std::min<int>(f.seg_size, room) & ~1);
  }
  uint16_t phdr;
  if (v6) {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, ip_off);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(f.l4 + f.payload));
    m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
    phdr = rte_ipv6_phdr_cksum(ip, m->ol_flags);
  } else {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, ip_off);
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(f.l3 + f.l4 + f.payload));
    ip->hdr_checksum = 0;
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG |
                   RTE_MBUF_F_TX_TCP_CKSUM;
    phdr = rte_ipv4_phdr_cksum(ip, m->ol_flags);  // without the length, as TSO wants
  }
  std::memcpy(rte_pktmbuf_mtod_offset(m, std::byte*, f.tcp_off + 16), &phdr, sizeof phdr);
  counters_.tx_tso_frames++;
  transmit(p, m);
}

// The TCP checksum of a built frame: left to the NIC where it can, else summed here.
void Worker::finish_frame(Port& p, bool v6, rte_mbuf* m, uint16_t tcp_off, uint16_t l3,
                          uint16_t l4) noexcept {
  const Interface& i = p.iface;
  const size_t ip_off = wire::EthView::kHeaderLen;
  if (i.tx_tcp_cksum && (m->nb_segs == 1 || !i.tap_offloads)) {
    // The NIC sums the segment; it wants the pseudo-header sum in the checksum field.
    m->l2_len = wire::EthView::kHeaderLen;
    m->l3_len = l3;
    m->l4_len = l4;
    uint16_t phdr;
    if (v6) {
      m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
      phdr =
          rte_ipv6_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, ip_off), m->ol_flags);
    } else {
      m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
      phdr =
          rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, ip_off), m->ol_flags);
    }
    std::memcpy(rte_pktmbuf_mtod_offset(m, std::byte*, tcp_off + 16), &phdr, sizeof phdr);
    counters_.tx_cksum_offloaded++;
    return;
  }
  // Our own chain sum: DPDK 22.11's rte_ipv*_udptcp_cksum_mbuf is wrong for chains
  // (stack/cksum.h).
  const uint16_t phdr =
      v6 ? rte_ipv6_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, ip_off), 0)
         : rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, ip_off), 0);
  std::memcpy(rte_pktmbuf_mtod_offset(m, std::byte*, tcp_off + 16), "\0\0", 2);
  const uint16_t cksum = tcp_cksum_chain(m, tcp_off, phdr);
  std::memcpy(rte_pktmbuf_mtod_offset(m, std::byte*, tcp_off + 16), &cksum, sizeof cksum);
}

void Worker::emit(Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  Port& p = ports_[c.port];
  const Interface& i = p.iface;
  if (!c.mac_ok) [[unlikely]] {
    if (auto mac = lookup(p, remote_of(c))) {
      c.peer_mac = *mac;
      c.mac_ok = true;
    }
  }
  // Segments the core sends back to back in one call merge into one TSO frame.
  if (p.tso.m != nullptr) {
    if (tso_extend(p, c, seg)) {
      return;
    }
    tso_flush(p);
  }
  const size_t l3 = c.v6 ? wire::Ipv6View::kHeaderLen : wire::Ipv4View::kMinHeaderLen;
  const size_t l4 = wire::TcpView::kMinHeaderLen + wire::tcp_options_length(seg.opts);
  const size_t hdr = wire::EthView::kHeaderLen + l3 + l4;
  const bool copy = seg.len <= kCopyBelow;
  rte_mbuf* m = alloc(p, static_cast<uint16_t>(hdr + (copy ? seg.len : 0)));
  if (m == nullptr) {
    return;  // counted; the retransmission timer sends it again
  }
  std::span<std::byte> out = bytes(m);
  size_t off =
      *wire::write_eth(out, c.peer_mac, i.mac, c.v6 ? wire::kEtherTypeIpv6 : wire::kEtherTypeIpv4);
  const auto l4_len = static_cast<uint16_t>(l4 + seg.len);
  if (c.v6) {
    wire::Ipv6Addr src(c.key6.local);
    wire::Ipv6Addr dst(c.key6.remote);
    off +=
        *wire::write_ipv6(out.subspan(off), wire::Ipv6HeaderFields{.src = src,
                                                                   .dst = dst,
                                                                   .next_header = wire::kIpProtoTcp,
                                                                   .payload_len = l4_len,
                                                                   .hop_limit = 64,
                                                                   .traffic_class = 0,
                                                                   .flow_label = 0});
  } else {
    off += *wire::write_ipv4(out.subspan(off),
                             wire::Ipv4HeaderFields{.src = wire::Ipv4Addr(c.key4.local),
                                                    .dst = wire::Ipv4Addr(c.key4.remote),
                                                    .protocol = wire::kIpProtoTcp,
                                                    .payload_len = l4_len,
                                                    .ttl = 64,
                                                    .id = 0,
                                                    .dont_fragment = true,
                                                    .tos = 0});
  }
  const uint16_t lport = c.v6 ? c.key6.local_port : c.key4.local_port;
  const uint16_t rport = c.v6 ? c.key6.remote_port : c.key4.remote_port;
  const auto tcp_off = static_cast<uint16_t>(off);
  off += *wire::write_tcp(out.subspan(off),
                          wire::TcpHeaderFields{.src_port = lport,
                                                .dst_port = rport,
                                                .seq = seg.seq.raw(),
                                                .ack = seg.ack.raw(),
                                                .flags = wire::TcpFlags(seg.flags),
                                                .window = seg.window,
                                                .urgent = 0},
                          seg.opts);
  if (copy) {
    for (const auto& ref : seg.payload()) {
      ref.buf->copy_out(ref.off, ref.len, out.data() + off);
      off += ref.len;
    }
  } else if (!attach_payload(p, m, seg)) {
    rte_pktmbuf_free(m);
    return;  // counted; the retransmission timer sends it again
  }
  counters_.tcp_segments_sent++;
  if (!copy && tso_fits(p, c, seg)) {
    // Held open for the segments that follow in this call (tso_flush sends it).
    p.tso = TsoFrame{.m = m,
                     .c = &c,
                     .next_seq = seg.seq.raw() + seg.len,
                     .payload = seg.len,
                     .seg_size = static_cast<uint16_t>(seg.len),
                     .tcp_off = tcp_off,
                     .l3 = static_cast<uint16_t>(l3),
                     .l4 = static_cast<uint16_t>(l4),
                     .last = false};
    return;
  }
  finish_frame(p, c.v6, m, tcp_off, static_cast<uint16_t>(l3), static_cast<uint16_t>(l4));
  if (!c.mac_ok) [[unlikely]] {
    park(p, remote_of(c), m);  // the SYN of an active open, while ARP/ND runs
    return;
  }
  transmit(p, m);
}

// --- application calls ---------------------------------------------------------------

Result<void, tcp::SendError> Worker::send(Conn& c, const MbufBuf& data) noexcept {
  // Queued sends go first, in order: while any wait, this one waits behind them.
  if (c.in_core || c.pending_sends > 0) {
    if (c.pending_sends == Conn::kMaxPendingSends) {
      c.notify_writable = true;
      return fail(tcp::SendError::kQueueFull);
    }
    c.pending[c.pending_sends++] = data;
    if (!c.in_core) {
      finish(c);
    }
    return {};
  }
  return in_core(c, [&](ConnSink& sink) {
    auto r = tcp::send(c.tcb, data, now_, sink);
    note_sndq(c);
    return r;
  });
}

uint32_t Worker::send_copy(Conn& c, std::span<const std::byte> bytes_in) noexcept {
  Port& p = ports_[c.port];
  uint32_t taken = 0;
  while (taken < bytes_in.size()) {
    // Data may not take the headers' reserve (Port::tx_low): the caller sees a short count.
    rte_mbuf* m = p.tx_low ? nullptr : rte_pktmbuf_alloc(p.iface.pool);
    if (m == nullptr) {
      counters_.drop_no_mbuf++;
      break;
    }
    const auto n =
        static_cast<uint16_t>(std::min<size_t>(bytes_in.size() - taken, rte_pktmbuf_tailroom(m)));
    std::memcpy(rte_pktmbuf_append(m, n), bytes_in.data() + taken, n);
    if (!send(c, MbufBuf(m))) {
      break;
    }
    taken += n;
  }
  return taken;
}

void Worker::consume(Conn& c, uint32_t n) noexcept {
  if (c.in_core) {
    c.pending_consume += n;
    return;
  }
  in_core(c, [&](ConnSink& sink) { tcp::consume(c.tcb, n, now_, sink); });
}

void Worker::apply_nagle(Conn& c) noexcept {
  if (c.opts.nagle != ConnOptions::Choice::kDefault) {
    c.tcb.nagle = c.opts.nagle == ConnOptions::Choice::kOn;
  }
}

void Worker::set_nagle(Conn& c, bool on) noexcept {
  if (c.in_core || c.dead) {
    c.tcb.nagle = on;  // takes effect at the next send decision
    return;
  }
  in_core(c, [&](ConnSink& sink) { tcp::set_nagle(c.tcb, on, now_, sink); });
}

void Worker::shutdown(Conn& c) noexcept {
  c.pending_shutdown = true;
  if (!c.in_core) {
    finish(c);
  }
}

void Worker::close(Conn& c) noexcept {
  c.pending_close = true;
  if (!c.in_core) {
    finish(c);
  }
}

void Worker::abort(Conn& c) noexcept {
  c.pending_abort = true;
  if (!c.in_core) {
    finish(c);
  }
}

}  // namespace tempo::stack
