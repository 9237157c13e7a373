// The Worker's TCP layer: demultiplexing a segment to its connection, TIME_WAIT
// (timewait::demux_time_wait) or a listener (tcp::listen_action, SYN cookies), the connection
// slots and their tables, timers, and the application's calls. The protocol itself is lib/tcp;
// active opens are active_open.cc, the segment encoder stack/tx_encoder.h.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include <rte_ip.h>

#include "stack/cksum.h"
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

namespace tempo::stack {

using telemetry::Layer;
using namespace detail;  // NOLINT: the Worker's own helpers

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
    k.cc = (i & 1) != 0 ? tcp::cc::Algorithm::kCubic : tcp::cc::Algorithm::kNewReno;
  }
  // Send-queue chunks (tcp/send_queue.h): half a chunk of 16 buffers per connection slot on
  // average, each connection holding up to tcp.snd_buf. Connections that send one buffer per
  // segment (a zero-copy relay) draw on it; the pool running dry pushes back (kQueueFull).
  using Sndq = decltype(tcp::Tcb<MbufBuf>{}.sndq);
  const size_t chunks = std::max<size_t>(64, max_conns / 2);
  sndq_storage_ = std::vector<std::byte>(chunks * Sndq::kChunkBytes);
  sndq_pool_.emplace(std::span(sndq_storage_), Sndq::kChunkBytes);
  core_.sndq_pool = &*sndq_pool_;
  core_.rcv_budget = &rcv_budget_;
  rcv_budget_.small = cfg.rcv_buf / 4;
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
  if (listener_at_.empty()) {
    listener_at_.assign(size_t{UINT16_MAX} + 1, 0);
  }
  listener_at_[port] = static_cast<uint16_t>(listeners_.size());  // a later listen() wins
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
void Worker::lookup_burst(rte_mbuf* const* rx, size_t n) noexcept {
  std::array<const flow::FlowKey4*, kBurst> keys;
  std::array<Conn*, kBurst> found;
  std::array<uint8_t, kBurst> at;  // burst position of each key
  uint32_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    burst_hints_[i] = RxHint{};
    if (k == kBurst || conns_.empty()) {
      continue;
    }
    // Only what input_tcp will key the same way: one-segment IPv4 (no options needed, no
    // fragment) carrying TCP, its headers in the first segment. Anything else gets no hint.
    const rte_mbuf* m = rx[i];
    const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
    if (m->nb_segs != 1 || m->data_len < 14 + 20 + 20 || d[12] != 0x08 || d[13] != 0x00) {
      continue;
    }
    const uint8_t* ip = d + 14;
    const size_t ihl = size_t{ip[0] & 0x0fU} * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || (ip[6] & 0x3fU) != 0 || ip[7] != 0 ||
        m->data_len < 14 + ihl + 20) {
      continue;
    }
    const uint8_t* tcp = ip + ihl;
    auto be32 = [](const uint8_t* b) {
      return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
    };
    burst_keys_[k] = flow::FlowKey4{.local = be32(ip + 16),
                                    .remote = be32(ip + 12),
                                    .local_port = static_cast<uint16_t>(tcp[2] << 8 | tcp[3]),
                                    .remote_port = static_cast<uint16_t>(tcp[0] << 8 | tcp[1]),
                                    .pad = 0};
    keys[k] = &burst_keys_[k];
    at[k] = static_cast<uint8_t>(i);
    ++k;
  }
  if (k == 0) {
    return;
  }
  table4_->find_bulk(keys.data(), k, found.data());
  for (uint32_t j = 0; j < k; ++j) {
    burst_hints_[at[j]] = RxHint{keys[j], found[j], inserts4_};
  }
}
Conn* Worker::find_conn_hinted(const wire::TcpPacketSpec& r, uint16_t lport,
                               uint16_t rport) noexcept {
  if (rx_hint_ != nullptr && rx_hint_->key != nullptr && !r.ipv6) {
    const flow::FlowKey4 key = key4(r, lport, rport);
    if (*rx_hint_->key == key) {
      Conn* c = rx_hint_->conn;
      if (c != nullptr ? c->in_use && !c->v6 && c->key4 == key : inserts4_ == rx_hint_->inserts) {
        ++burst_hits_;
        return c;
      }
    }
  }
  return find_conn(r, lport, rport);
}
Conn* Worker::new_conn(Port& p, const wire::TcpPacketSpec& r, uint16_t lport, uint16_t rport,
                       const AppHandler* app, crypto::FlowTuple* tuple) noexcept {
  if (free_head_ == UINT32_MAX) {
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
    ++inserts4_;  // a miss looked up before now may be stale
  }
  if (!inserted) {
    return nullptr;  // the table holds every slot's key (flow/conn_table.h): not reached
  }
  *tuple = flow_tuple(r, lport, rport);
  free_head_ = c.next_free;
  c.in_use = true;
  ++conns_used_;
  return &c;
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
  tcp::detail::settle_rcv_commit(c.tcb, core_, /*gone=*/true);
  if (c.orphan) {
    c.orphan = false;
    --orphans_;
  }
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
  c.tx_wait_window = false;  // tx_wait_listed stays with the slot's place on tx_waiters_
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
      if (orphans_ >= wcfg_.max_orphans) {
        // Too many connections nobody waits for (Linux "too many orphaned sockets"): this one
        // is reset rather than left to finish.
        counters_.tcp_orphans_reset++;
        tcp::abort(c.tcb, sink);
      } else {
        (void)tcp::close(c.tcb, now_, sink);
        if (!c.dead && c.tcb.orphan && !c.orphan) {
          c.orphan = true;
          ++orphans_;
        }
      }
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
  tcp::detail::settle_rcv_commit(c.tcb, core_);
  if (c.tcb.rcv_commit > 0 && !c.charged_listed) {
    c.charged_listed = true;
    charged_.push_back(static_cast<uint32_t>(&c - conns_.data()));
  }
  if (c.tcb.rcv_starved && !c.starved_listed) [[unlikely]] {
    c.starved_listed = true;
    starved_.push_back(static_cast<uint32_t>(&c - conns_.data()));
    counters_.tcp_rcv_starved++;
  }
  if (c.tx_wait_window && TxBudget::window_allows(queued_bytes(c), c.tcb.snd_wnd, c.tcb.snd_mss))
      [[unlikely]] {
    c.tx_wait_window = false;  // the peer's window opened (or the queue drained): go on
    counters_.tcp_tx_woken++;
    c.notify_writable = true;
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
  Conn* c = find_conn_hinted(reply, lport, rport);
  bool cookie_ack = false;  // an ACK that may return one of our SYN cookies
  crypto::FlowTuple tuple;  // set when cookie_ack
  if (c == nullptr) {
    Listener* listener = find_listener(lport);
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
          counters_.tcp_conn_exhausted++;  // no slot for the cookie's connection yet
          return;                          // the peer retransmits
        }
        c->opts = listener->opts;
        break;
      case tcp::ListenAction::kOpen: {
        // The backlog or the connection table is full (SYN flood, a burst of opens, or every
        // slot in use): the SYN is answered statelessly, or, with cookies off, dropped (the
        // peer retries), as Linux does. Whatever refuses the connection (the backlog, no free
        // slot, the table), the answer is the same. A cookie answer takes a reused tuple out
        // of TIME_WAIT: its returning ACK must find no entry. A cookie's connection needs a
        // slot only when its ACK returns.
        const bool backlog_full = listener->embryonic >= wcfg_.listen_backlog;
        if (!backlog_full && wcfg_.syncookies != SynCookies::kAlways) {
          c = open_conn(p, reply, lport, rport, *listener,
                        reusing ? std::optional<uint32_t>(tw.iss_floor) : std::nullopt);
        }
        if (c == nullptr) {
          const bool table_full = !backlog_full && wcfg_.syncookies != SynCookies::kAlways;
          if (cookies) {
            send_cookie_syn_ack(p, *tcp, *opts, reply, *listener);
            counters_.tcp_syncookies_table_full += table_full ? 1 : 0;
          } else if (table_full) {
            counters_.tcp_conn_exhausted++;
          } else {
            counters_.tcp_listen_overflow++;
          }
          settle(cookies);
          return;
        }
        settle(true);
        break;
      }
    }
  }
  c->peer_mac = reply.eth_dst;
  c->mac_ok = true;

  tcp::Segment<MbufBuf> seg = segment_of(*tcp, *opts);
  seg.len = static_cast<uint32_t>(tcp->payload().size());
  if (seg.len > 0) {
    const auto off = static_cast<uint32_t>(tcp->payload().data() - rte_pktmbuf_mtod(m, std::byte*));
    const bool small = seg.len <= kPackMax;
    if (small && (p.rx_tight || c->tcb.rcv_held > 0 || !c->tcb.ooo.empty()) &&
        pack_payload(p, tcp->payload(), seg.payload)) [[unlikely]] {
      // Memory is tight or the data waits (unread or out of order): small segments packed.
      counters_.tcp_rx_packed++;
    } else if (!p.rx_low) [[likely]] {
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
size_t Worker::tw_peak() const noexcept { return tw_ ? tw_->peak() : 0; }

// The receive budget (tcp::RcvBudget) in RX buffers of one MSS each: windows may bring in
// what is free down to an eighth of the pool; a connection holding little may go on to a
// sixteenth (the reserve); below that, payload is copied out (rx_low). The RX descriptors'
// own buffers are not free, so they are already outside it.
void Worker::sample_pools(Port& p) noexcept {
  p.tx_free = rte_mempool_avail_count(p.iface.pool);
  p.tx_low = p.tx_free < p.iface.pool->size / 4;
  if (p.iface.rx_pool == nullptr) {
    return;
  }
  const auto rx_free = static_cast<int64_t>(rte_mempool_avail_count(p.iface.rx_pool));
  const auto rx_size = static_cast<int64_t>(p.iface.rx_pool->size);
  p.rx_low = rx_free < rx_size / 16;
  p.rx_tight = rx_free < rx_size / 2;
  const int64_t per_buf = rx_buffer_bytes();
  p.rcv_limit = (rx_free - rx_size / 8) * per_buf;
  rcv_budget_.reserve = rx_size / 16 * per_buf;
  int64_t limit = p.rcv_limit;
  for (const Port& q : ports_) {
    limit = std::min(limit, q.rcv_limit);
  }
  rcv_budget_.limit = limit;
  if (p.rx_low != rcv_pressure_) {
    rcv_pressure_ = p.rx_low;
    counters_.rx_pressure_changes++;
  }
}
// Window updates for the connections the budget held shut, oldest first, as far as the budget
// has room for each (RFC 9293 §3.8.6.2.2: the update the peer would otherwise learn from a
// zero-window probe, after its persist timer backed off). At most kBurst a turn; a connection
// still short goes back on at the end.
void Worker::reopen_windows() noexcept {
  const int64_t step = rx_buffer_bytes();  // one buffer: what the budget counts in
  if (rcv_budget_.credit(true) < step) {
    return;  // no room even for a connection holding little
  }
  for (size_t end = std::min(starved_.size(), starved_head_ + kBurst); starved_head_ < end;) {
    const uint32_t slot = starved_[starved_head_++];
    Conn& c = conns_[slot];
    c.starved_listed = false;
    if (!c.in_use || c.dead || c.in_core || !c.tcb.rcv_starved) {
      continue;
    }
    if (rcv_budget_.credit(c.tcb.holds_little(rcv_budget_.small)) < step) {
      c.starved_listed = true;  // still no room for this one: to the back
      starved_.push_back(slot);
      continue;
    }
    const tcp::SeqNum before = c.tcb.rcv_adv;
    in_core(c, [&](ConnSink& sink) { tcp::consume(c.tcb, 0, now_, sink); });
    if (c.in_use && c.tcb.rcv_adv > before) {
      counters_.tcp_rcv_reopened++;
    }
  }
  compact_fifo(starved_, starved_head_);
}
// Gives back the popped front of a slot FIFO (starved_, charged_) once it is most of it.
void Worker::compact_fifo(std::vector<uint32_t>& fifo, size_t& head) noexcept {
  if (head == fifo.size()) {
    fifo.clear();
    head = 0;
  } else if (head > 4096 && head * 2 > fifo.size()) {
    fifo.erase(fifo.begin(), fifo.begin() + static_cast<ptrdiff_t>(head));
    head = 0;
  }
}
void Worker::release_dormant() noexcept {
  for (int i = 0; i < 4 && charged_head_ < charged_.size(); ++i) {
    const uint32_t slot = charged_[charged_head_++];
    Conn& c = conns_[slot];
    if (c.in_use && !c.dead && c.tcb.rcv_commit > 0) {
      if (now_ - c.tcb.rcv_data_at < kDormantAfter) {
        charged_.push_back(slot);  // still in use: look again later
        continue;
      }
      c.tcb.rcv_dormant = true;
      tcp::detail::settle_rcv_commit(c.tcb, core_);
    }
    c.charged_listed = false;
  }
  compact_fifo(charged_, charged_head_);
}
bool Worker::pack_payload(Port& p, std::span<const std::byte> payload, MbufBuf& out) noexcept {
  const auto len = static_cast<uint16_t>(payload.size());
  if (p.rx_pack == nullptr || rte_pktmbuf_tailroom(p.rx_pack) < len) {
    release_pack(p);
    // Receive memory, from the RX pool (a port with one pool for both: that one).
    p.rx_pack = rte_pktmbuf_alloc(p.iface.rx_pool != nullptr ? p.iface.rx_pool : p.iface.pool);
    if (p.rx_pack == nullptr) {
      return false;
    }
  }
  // Only the tail grows: bytes already handed out (and in flight to a NIC) stay as they are.
  const uint32_t off = rte_pktmbuf_data_len(p.rx_pack);
  std::memcpy(rte_pktmbuf_append(p.rx_pack, len), payload.data(), len);
  rte_mbuf_refcnt_update(p.rx_pack, 1);
  out = MbufBuf(p.rx_pack, off, len);
  return true;
}
void Worker::release_pack(Port& p) noexcept {
  if (p.rx_pack != nullptr) {
    rte_pktmbuf_free(std::exchange(p.rx_pack, nullptr));
  }
}

void Worker::on_wheel_timer(time::Timer& t) noexcept {
  const auto offset =
      reinterpret_cast<const std::byte*>(&t) - reinterpret_cast<const std::byte*>(conns_.data());
  Conn& c = conns_[static_cast<size_t>(offset) / sizeof(Conn)];
  const auto kind = static_cast<tcp::TimerKind>(&t - c.timers.data());
  in_core(c, [&](ConnSink& sink) { tcp::on_timer(c.tcb, kind, now_, sink); });
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
uint32_t Worker::queued_bytes(const Conn& c) noexcept {
  uint32_t n = c.tcb.sndq.bytes();
  for (uint8_t k = 0; k < c.pending_sends; ++k) {
    n += c.pending[k].size();
  }
  return n;
}
uint32_t Worker::send_copy(Conn& c, std::span<const std::byte> bytes_in) noexcept {
  Port& p = ports_[c.port];
  uint32_t taken = 0;
  uint32_t queued = queued_bytes(c);
  while (taken < bytes_in.size()) {
    // One buffer at a time, each asked of the send budget (stack/tx_budget.h); what it
    // refuses waits, and on_writable follows when it may go on.
    const TxBudget::Verdict v =
        TxBudget::may_copy(p.tx_free, p.iface.pool->size, queued, c.tcb.snd_wnd, c.tcb.snd_mss);
    if (v == TxBudget::Verdict::kWaitWindow) {
      c.tx_wait_window = true;
      counters_.tcp_tx_wait_window++;
      break;
    }
    rte_mbuf* m = v == TxBudget::Verdict::kTake ? rte_pktmbuf_alloc(p.iface.pool) : nullptr;
    if (m == nullptr) {
      counters_.tcp_tx_wait_pool++;
      wait_for_tx_buffers(c);
      break;
    }
    --p.tx_free;
    const auto n =
        static_cast<uint16_t>(std::min<size_t>(bytes_in.size() - taken, rte_pktmbuf_tailroom(m)));
    std::memcpy(rte_pktmbuf_append(m, n), bytes_in.data() + taken, n);
    if (!send(c, MbufBuf(m))) {
      break;  // the send queue is full: the core reports on_writable when it drains
    }
    taken += n;
    queued += n;
  }
  return taken;
}
void Worker::wait_for_tx_buffers(Conn& c) noexcept {
  if (!c.tx_wait_listed) {
    c.tx_wait_listed = true;
    tx_waiters_.push_back(static_cast<uint32_t>(&c - conns_.data()));
  }
}
// The connections whose copies waited for TX buffers, oldest first, as far as the pool now
// has room for each (TxBudget::pool_allows): on_writable, and the application tries again. At
// most kBurst a turn; one the pool still has no room for goes to the back.
void Worker::wake_tx_waiters() noexcept {
  for (Port& p : ports_) {
    sample_pools(p);
  }
  for (size_t end = std::min(tx_waiters_.size(), tx_waiters_head_ + kBurst);
       tx_waiters_head_ < end;) {
    const uint32_t slot = tx_waiters_[tx_waiters_head_++];
    Conn& c = conns_[slot];
    c.tx_wait_listed = false;
    if (!c.in_use || c.dead || c.in_core) {
      continue;
    }
    const Port& p = ports_[c.port];
    if (!TxBudget::pool_allows(p.tx_free, p.iface.pool->size, queued_bytes(c))) {
      c.tx_wait_listed = true;
      tx_waiters_.push_back(slot);
      continue;
    }
    counters_.tcp_tx_woken++;
    c.notify_writable = true;
    finish(c);  // runs on_writable
  }
  compact_fifo(tx_waiters_, tx_waiters_head_);
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
