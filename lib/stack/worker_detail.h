// What the files of the Worker share (lib/stack/worker*.cc, active_open.cc): the protocol
// core's Sink, the call-into-the-core sequence, and the tuple of a reply's packet spec.
// Internal to lib/stack.
#pragma once

#include <type_traits>

#include "stack/worker.h"
#include "timewait/from_tcp.h"

namespace tempo::stack {
namespace detail {

// Ethernet destination of an IPv6 multicast address (RFC 2464 §7).
inline wire::MacAddr eth_for(const wire::Ipv6Addr& dst, const wire::MacAddr& unicast) {
  return dst.is_multicast() ? dst.multicast_mac() : unicast;
}

inline CloseReason public_reason(tcp::CloseReason r) {
  static_assert(static_cast<int>(CloseReason::kAborted) ==
                static_cast<int>(tcp::CloseReason::kAborted));
  static_assert(static_cast<int>(CloseReason::kUnreachable) ==
                static_cast<int>(tcp::CloseReason::kUnreachable));
  return static_cast<CloseReason>(r);
}

// The tuple of a reply's packet spec (its source is this host).
inline flow::Tuple tuple_of(const wire::TcpPacketSpec& r, uint16_t lport, uint16_t rport) {
  if (r.ipv6) {
    return flow::Tuple::of(flow::Tuple6{.local = r.src6.bytes(),
                                        .remote = r.dst6.bytes(),
                                        .local_port = lport,
                                        .remote_port = rport});
  }
  return flow::Tuple::of(flow::Tuple4{.local = r.src4.value(),
                                      .remote = r.dst4.value(),
                                      .local_port = lport,
                                      .remote_port = rport});
}

// A received segment's header as the protocol core takes it (the payload is the caller's).
inline tcp::Segment<MbufBuf> segment_of(const wire::TcpView& tcp, const wire::TcpOptions& opts) {
  tcp::Segment<MbufBuf> seg;
  seg.seq = tcp::SeqNum(tcp.seq());
  seg.ack = tcp::SeqNum(tcp.ack());
  seg.flags = tcp.flags().bits();
  seg.window = tcp.window();
  seg.opts = opts;
  return seg;
}

inline Remote remote_of(const Conn& c) {
  const flow::Tuple& t = c.tuple();
  return Remote{.v6 = t.v6,
                .ip4 = wire::Ipv4Addr(t.t4.remote),
                .ip6 = wire::Ipv6Addr(t.t6.remote),
                .port = t.remote_port()};
}

}  // namespace detail

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
    w.conns_.leave_backlog(c);
    // The MSS is settled (negotiate()) and nothing is sent yet: a path MTU learned toward the
    // peer lowers it now (Linux: the route's cached PMTU sets a new connection's MSS).
    w.apply_learned_pmtu(c);
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
    // A passive connection that never completed its handshake (still in its listener's
    // backlog) was never shown to the application: no on_closed for it either, as Linux never
    // shows a socket of its SYN queue. tempo-proxy crashed on one reset at stop (user() null).
    if (c.app != nullptr && c.app->on_closed != nullptr && !c.embryonic) {
      c.app->on_closed(c, detail::public_reason(r), c.app->ctx);
    }
  }
  // The control block and its buffers go; a compact record takes the tuple's place in the
  // TIME_WAIT table (DESIGN.md principle 5). At the table's bound on_full decides: the oldest
  // entry is evicted, or this one is refused (closed at once, as Linux at tcp_max_tw_buckets);
  // the table counts either.
  void on_time_wait(const tcp::TimeWaitInfo& tw) noexcept {
    w.counters_.tcp_time_wait_entered++;
    const timewait::TwConn rec = timewait::tw_conn(tw, w.now_);
    if (c.v6()) {
      (void)w.tw_->insert(c.tuple().t6, rec, w.now_);
    } else {
      (void)w.tw_->insert(c.tuple().t4, rec, w.now_);
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
}  // namespace tempo::stack
