// Active open (RFC 9293 §3.10.1): the ISS (RFC 6528, raised above a reused tuple's old sequence
// space), the source port (RFC 6056 algorithm 3, steered by the RSS model so the replies reach
// this Worker, taking a tuple from TIME_WAIT only where timestamps make it safe), and the SYN.
#include <array>
#include <cstring>

#include "stack/worker.h"
#include "stack/worker_detail.h"
#include "tcp/isn.h"
#include "tcp/ts_offset.h"
#include "timewait/demux.h"
#include "timewait/policy.h"

namespace tempo::stack {

using telemetry::Layer;
using namespace detail;  // NOLINT: the Worker's own helpers

std::optional<uint16_t> Worker::pick_local_port(Port& p, const flow::Tuple& tuple,
                                                std::optional<uint32_t>* iss_floor, uint16_t lo,
                                                uint16_t hi) noexcept {
  if (lo == 0) {
    lo = wcfg_.local_port_lo;
    hi = wcfg_.local_port_hi;
  }
  const uint32_t span = uint32_t{hi} - lo + 1;
  // RFC 6056 §3.3.3: offset = F(local, remote, remote port, secret), then next_ephemeral.
  const uint32_t offset = id_.port_offset(tuple);
  uint32_t cursor = (offset + id_.next_ephemeral()) % span;
  const uint32_t start = cursor;

  const Ticks min_age = wcfg_.active_reuse_min_age;
  // Taken: a listener's port, a live connection, or a TIME_WAIT entry that may not be reused
  // yet. A reusable entry is removed here; the picker returns this very port next.
  auto taken = [&](uint16_t lport) {
    if (conns_.listener(lport) != nullptr) {
      return true;
    }
    auto try_tw = [&](auto& tw, const auto& t) {
      const uint32_t idx = tw.find(t);
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
    const flow::Tuple t = tuple.with_local_port(lport);
    if (conns_.find(t) != nullptr) {
      return true;
    }
    return t.v6 ? try_tw(tw_->v6(), t.t6) : try_tw(tw_->v4(), t.t4);
  };
  static const flow::RssSteering kOneQueue(flow::kSymmetricRssKey, {});
  const flow::RssSteering& rss = p.iface.rss ? *p.iface.rss : kOneQueue;
  const uint16_t queue = p.iface.rss ? p.iface.queue : 0;
  const uint16_t rport = tuple.remote_port();
  std::optional<uint16_t> port =
      tuple.v6
          ? rss.pick_local_port(tuple.t6.local, tuple.t6.remote, rport, queue, lo, hi, &cursor,
                                taken)
          : rss.pick_local_port(wire::Ipv4Addr(tuple.t4.local), wire::Ipv4Addr(tuple.t4.remote),
                                rport, queue, lo, hi, &cursor, taken);
  id_.next_ephemeral() += (cursor + span - start) % span;
  return port;
}

Result<Conn*, ConnectError> Worker::connect(size_t iface, const Remote& remote,
                                            const AppHandler* app, void* user,
                                            const ConnOptions& opts, wire::Ipv4Addr source,
                                            uint16_t port_lo, uint16_t port_hi) noexcept {
  if (!conns_.ready()) {
    return fail(ConnectError::kNoTcp);
  }
  if (iface >= ports_.size()) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoRoute);
  }
  Port& p = ports_[iface];
  if (remote.v6 && !p.iface.has_ipv6) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoAddress);
  }
  if (!remote.v6 && source != wire::Ipv4Addr{} && !p.iface.is_local4(source)) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoAddress);
  }
  if (!remote.v6 && !next_hop(p.iface, remote.ip4)) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoRoute);
  }
  if (conns_.full()) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoSlot);
  }
  // The tuple, its local port still to pick.
  const flow::Tuple to =
      remote.v6 ? flow::Tuple::of(flow::Tuple6{.local = p.iface.ipv6.bytes(),
                                               .remote = remote.ip6.bytes(),
                                               .local_port = 0,
                                               .remote_port = remote.port})
                : flow::Tuple::of(flow::Tuple4{
                      .local = (source == wire::Ipv4Addr{} ? p.iface.ipv4 : source).value(),
                      .remote = remote.ip4.value(),
                      .local_port = 0,
                      .remote_port = remote.port});
  std::optional<uint32_t> iss_floor;
  const std::optional<uint16_t> lport = pick_local_port(p, to, &iss_floor, port_lo, port_hi);
  if (!lport) {
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoLocalPort);
  }
  // Soliciting now overlaps address resolution with building the SYN, which waits for it.
  const std::optional<wire::MacAddr> mac =
      remote.v6 ? resolve(iface, remote.ip6) : resolve(iface, remote.ip4);
  const flow::Tuple tuple = to.with_local_port(*lport);
  Conn* c = new_conn(p, tuple, app, mac);
  if (c == nullptr) {
    counters_.drop_tcp_conn_exhausted++;
    counters_.tcp_connect_failed++;
    return fail(ConnectError::kNoSlot);
  }
  c->user = user;
  counters_.tcp_active_opens++;
  const uint32_t ts_off = id_.ts_offset(tuple);
  ConnSink sink{*this, *c};
  c->in_core = true;
  c->opts = opts;
  tcp::connect(c->tcb, id_.config(c->v6(), opts), tcp::SeqNum(id_.iss(tuple, now_, iss_floor)),
               ts_off, now_, sink);
  apply_nagle(*c);
  finish(*c);
  return c;
}

}  // namespace tempo::stack
