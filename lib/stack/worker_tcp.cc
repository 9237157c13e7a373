// The Worker's TCP layer: setting it up (init_tcp, listen), demultiplexing a segment to its
// connection (Connections) or, with none, to TIME_WAIT's, a listener's or CLOSED's answer (the
// verdict of stack/demux.h, SYN cookies), and opening passive connections. The protocol itself
// is lib/tcp; open connections are worker_conn.cc, active opens active_open.cc.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include <rte_ip.h>

#include "stack/demux.h"
#include "stack/endpoints.h"
#include "stack/worker.h"
#include "stack/worker_detail.h"
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
#include "wire/peek.h"

namespace tempo::stack {

using telemetry::Layer;
using namespace detail;  // NOLINT: the Worker's own helpers

Result<void, std::string> Worker::init_tcp(const tcp::Config& cfg, uint32_t max_conns,
                                           const timewait::TwTableConfig& tw,
                                           const WorkerTcpConfig& wcfg) {
  wcfg_ = wcfg;
  core_.challenge_acks.limit_per_sec = wcfg.challenge_ack_limit_per_sec;
  if (auto r = id_.init(cfg); !r) {
    return r;
  }
  // Send-queue chunks (tcp/send_queue.h): half a chunk of 16 buffers per connection slot on
  // average, each connection holding up to tcp.snd_buf. Connections that send one buffer per
  // segment (a zero-copy relay) draw on it; the pool running dry pushes back (kQueueFull).
  using Sndq = decltype(tcp::Tcb<MbufBuf>{}.sndq);
  const size_t chunks = std::max<size_t>(64, max_conns / 2);
  sndq_storage_ = std::vector<std::byte>(chunks * Sndq::kChunkBytes);
  sndq_pool_.emplace(std::span(sndq_storage_), Sndq::kChunkBytes);
  core_.sndq_pool = &*sndq_pool_;
  // Out-of-order arrays of 256 pieces (tcp/reassembly.h, 6 KB each): one per 256 connection
  // slots, at least 64. A connection holds one only while data waits out of order; with none to
  // be had it holds 8 pieces, and what does not fit is dropped (tcp.drop_ooo_full).
  using Ooo = decltype(tcp::Tcb<MbufBuf>{}.ooo);
  const size_t bigs = std::max<size_t>(64, max_conns / 256);
  ooo_storage_ = std::vector<std::byte>(bigs * Ooo::kBigBytes);
  ooo_pool_.emplace(std::span(ooo_storage_), Ooo::kBigBytes);
  core_.ooo_pool = &*ooo_pool_;
  core_.rcv_budget = &rx_mem_.budget();
  rx_mem_.init(max_conns, cfg.rcv_buf / 4, cfg.mss);
  tx_waiters_ = SlotFifo(max_conns);
  const std::string suffix = std::to_string(index_);
  const auto seed = static_cast<uint32_t>(id_.seed(suffix));
  if (auto r = conns_.init(max_conns, suffix, seed); !r) {
    return r;
  }
  timewait::TwTableConfig twc = tw;
  twc.seed = id_.seed("timewait" + suffix);
  auto tws = timewait::TwTables::create(twc);
  if (!tws) {
    return fail(std::string("timewait: cannot map the table for ") +
                std::to_string(tw.max_entries) + " entries");
  }
  tw_.emplace(std::move(*tws));
  pmtu_.init(PathMtuCache::Config{.max_entries = wcfg.pmtu_max_entries,
                                  .expires = wcfg.pmtu_expires,
                                  .seed = id_.seed("pmtu" + suffix)});
  return {};
}
bool Worker::listen(uint16_t port, const AppHandler* app, const ConnOptions& opts,
                    const ListenOptions& how) {
  return conns_.listen(port, app, opts, how);
}
Conn* Worker::new_conn(Port& p, const flow::Tuple& t, const AppHandler* app,
                       std::optional<wire::MacAddr> dst) noexcept {
  Conn* c = conns_.take(t);  // sets c->flow.tuple
  if (c == nullptr) {
    return nullptr;
  }
  c->iface = p.index;
  c->app = app;
  c->worker = this;
  c->user = nullptr;
  c->flow.id = c;
  c->flow.dst_mac = dst.value_or(wire::MacAddr{});
  c->flow.dst_known = dst.has_value();
  c->dead = false;
  c->in_core = false;
  return c;
}
Conn* Worker::open_conn(Port& p, const flow::Tuple& t, const wire::MacAddr& dst,
                        Connections::Listener& l, std::optional<uint32_t> iss_floor) noexcept {
  Conn* c = new_conn(p, t, l.app, dst);
  if (c == nullptr) {
    return nullptr;
  }
  const uint32_t ts_off = id_.ts_offset(t);
  c->opts = l.opts;
  conns_.enter_backlog(*c, l);
  tcp::open_passive(c->tcb, id_.config(c->v6(), l.opts), tcp::SeqNum(id_.iss(t, now_, iss_floor)),
                    ts_off);
  counters_.tcp_passive_opens++;
  apply_nagle(*c);
  return c;
}
tcp::State Worker::tuple_state(size_t iface, const Remote& remote, uint16_t local_port) noexcept {
  if (!conns_.ready() || iface >= ports_.size()) {
    return tcp::State::kClosed;
  }
  const Interface& i = ports_[iface].iface;
  const flow::Tuple4 t4{.local = i.ipv4.value(),
                        .remote = remote.ip4.value(),
                        .local_port = local_port,
                        .remote_port = remote.port};
  const flow::Tuple6 t6{.local = i.ipv6.bytes(),
                        .remote = remote.ip6.bytes(),
                        .local_port = local_port,
                        .remote_port = remote.port};
  const flow::Tuple t = remote.v6 ? flow::Tuple::of(t6) : flow::Tuple::of(t4);
  if (const Conn* c = conns_.find(t); c != nullptr) {
    return c->tcb.state;
  }
  const bool tw = remote.v6 ? tw_->v6().find(t6) != timewait::kNoIndex
                            : tw_->v4().find(t4) != timewait::kNoIndex;
  return tw ? tcp::State::kTimeWait : tcp::State::kClosed;
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
  if (!conns_.ready()) {
    counters_.drop_tcp_no_endpoint++;
    reply_reset(p, *tcp, reply);
    return;
  }
  const flow::Tuple tuple = tuple_of(reply, tcp->dst_port(), tcp->src_port());
  Conn* c = tuple.v6 ? conns_.find(tuple.t6) : conns_.find_hinted(tuple.t4);
  bool cookie_ack = false;  // an ACK that may return one of our SYN cookies
  if (c == nullptr) {
    c = accept(p, tuple, *tcp, *opts, reply, &cookie_ack);
    if (c == nullptr) {
      return;
    }
  }
  c->flow.dst_mac = reply.eth_dst;  // the next hop toward the peer, as last seen
  c->flow.dst_known = true;

  tcp::Segment<MbufBuf> seg = segment_of(*tcp, *opts);
  seg.len = static_cast<uint32_t>(tcp->payload().size());
  if (seg.len > 0) {
    const bool waits = c->tcb.rcv_held > 0 || !c->tcb.ooo.empty();
    if (rx_mem_.hold(c->iface, p.iface, m, tcp->payload(), waits, seg.payload) ==
        RxMemory::Held::kDropped) [[unlikely]] {
      // No memory for the data at all: drop the data (and a FIN after it, which would sit at
      // the wrong sequence number), keep the ACK and window. The peer retransmits the data.
      seg.len = 0;
      seg.flags = static_cast<uint8_t>(seg.flags & ~tcp::flag::kFin);
    }
  }
  ConnSink sink{*this, *c};
  c->in_core = true;
  if (cookie_ack) [[unlikely]] {
    if (!tcp::open_from_cookie(c->tcb, id_.config(c->v6(), c->opts), id_.prf(), tuple, seg, now_,
                               sink)) {
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
Conn* Worker::accept(Port& p, const flow::Tuple& t, const wire::TcpView& tcp,
                     const wire::TcpOptions& opts, wire::TcpPacketSpec& reply,
                     bool* cookie_ack) noexcept {
  Connections::Listener* listener = conns_.listener_for(t);
  // TIME_WAIT is looked up before the listeners: its entry answers for the old connection.
  timewait::TwDemux tw;
  if (t.v6) {
    auto& table = tw_->v6();
    tw = input_time_wait(p, t, table, table.find(t.t6), tcp, opts, reply, listener != nullptr);
  } else {
    auto& table = tw_->v4();
    const std::optional<uint32_t> hint = conns_.tw_hint(t.t4, table);
    const uint32_t idx = hint ? *hint : table.find(t.t4);
    tw = input_time_wait(p, t, table, idx, tcp, opts, reply, listener != nullptr);
  }
  const NoConn first = no_conn(NoConnInput{
      .tw = tw.kind,
      .listener = listener != nullptr,
      .flags = tcp.flags().bits(),
      .cookies = wcfg_.syncookies,
      .backlog_full = listener != nullptr && listener->embryonic >= wcfg_.listen_backlog});
  // Admission before allocation (ListenOptions::admit): a SYN the listener would answer, with
  // a connection or a cookie, is put to the application first.
  if ((first == NoConn::kOpen || first == NoConn::kCookieSynAck) && listener->how.admit != nullptr)
      [[unlikely]] {
    const Admit a =
        listener->how.admit(remote_endpoint(t), local_endpoint(t), listener->how.admit_ctx);
    if (a != Admit::kAccept) {
      counters_.tcp_admission_refused++;
      if (a == Admit::kReset) {
        reply_reset(p, tcp, reply);
      }
      if (tw.kind == timewait::TwDemux::Kind::kReuse) {  // the TIME_WAIT entry stays
        t.v6 ? timewait::settle_reuse(tw_->v6(), tw, false, now_)
             : timewait::settle_reuse(tw_->v4(), tw, false, now_);
      }
      return nullptr;
    }
  }
  NoConn v = first;
  Conn* c = nullptr;
  switch (first) {
    case NoConn::kTimeWait:
      return nullptr;
    case NoConn::kReset:  // RFC 9293 §3.10.7.1, CLOSED: anything but a RST draws a RST
      counters_.drop_tcp_no_endpoint++;
      reply_reset(p, tcp, reply);
      return nullptr;
    case NoConn::kListenDrop:
      counters_.drop_tcp_listen++;
      break;
    case NoConn::kListenReset:
      counters_.drop_tcp_listen++;
      reply_reset(p, tcp, reply);
      break;
    case NoConn::kCookieAck:
      c = new_conn(p, t, listener->app, reply.eth_dst);
      if (c == nullptr) {
        counters_.drop_tcp_conn_exhausted++;  // no slot for the cookie's connection yet
        return nullptr;                       // the peer retransmits
      }
      c->opts = listener->opts;
      *cookie_ack = true;
      return c;
    case NoConn::kOpen: {
      const bool reusing = tw.kind == timewait::TwDemux::Kind::kReuse;
      c = open_conn(p, t, reply.eth_dst, *listener,
                    reusing ? std::optional<uint32_t>(tw.iss_floor) : std::nullopt);
      if (c == nullptr) {
        v = no_slot(wcfg_.syncookies);  // no free slot: answered as a full backlog is
      }
      break;
    }
    case NoConn::kCookieSynAck:
    case NoConn::kRefuse:
      break;
  }
  if (v == NoConn::kCookieSynAck) {
    send_cookie_syn_ack(p, t, tcp, opts, reply, *listener);
    counters_.tcp_syncookies_table_full += first == NoConn::kOpen ? 1 : 0;
  } else if (v == NoConn::kRefuse) {
    first == NoConn::kOpen ? counters_.drop_tcp_conn_exhausted++
                           : counters_.drop_tcp_listen_overflow++;
  }
  if (tw.kind == timewait::TwDemux::Kind::kReuse) {
    // A cookie answer takes the tuple too: its returning ACK must find no entry.
    t.v6 ? timewait::settle_reuse(tw_->v6(), tw, takes_tuple(v), now_)
         : timewait::settle_reuse(tw_->v4(), tw, takes_tuple(v), now_);
  }
  return c;
}
void Worker::send_cookie_syn_ack(Port& p, const flow::Tuple& t, const wire::TcpView& tcp,
                                 const wire::TcpOptions& opts, wire::TcpPacketSpec& reply,
                                 const Connections::Listener& l) noexcept {
  const tcp::OutSegment<MbufBuf> o = tcp::cookie_syn_ack(id_.config(t.v6, l.opts), id_.prf(), t,
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
timewait::TwDemux Worker::input_time_wait(Port& p, const flow::Tuple& t,
                                          timewait::TwTable<Tuple>& table, uint32_t idx,
                                          const wire::TcpView& tcp, const wire::TcpOptions& opts,
                                          wire::TcpPacketSpec& reply, bool listener) noexcept {
  const timewait::TwSegment seg{.flags = tcp.flags().bits(),
                                .has_ts = opts.has_timestamps,
                                .seq = tcp.seq(),
                                .ack = tcp.ack(),
                                .payload_len = static_cast<uint32_t>(tcp.payload().size()),
                                .tsval = opts.tsval,
                                .tsecr = opts.tsecr};
  timewait::TwDemux d = timewait::demux_time_wait_at(
      table, idx, seg, now_, listener, [this] { return core_.challenge_acks.allow(now_); },
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
      reply.options.has_timestamps = true;
      reply.options.tsval = tcp::ts_value(now_, id_.ts_offset(t));
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
size_t Worker::tw_peak() const noexcept { return tw_ ? tw_->peak() : 0; }

}  // namespace tempo::stack
