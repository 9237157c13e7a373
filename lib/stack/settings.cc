#include "stack/settings.h"

#include <cstdint>

#include "time/ticks.h"

namespace tempo::stack {
namespace {

Ticks ms(std::int64_t v) noexcept { return Ticks::from_ms(static_cast<uint64_t>(v)); }

}  // namespace

wire::Ipv4Addr to_wire(const Ipv4Addr& a) noexcept {
  return wire::Ipv4Addr(a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]);
}
wire::Ipv6Addr to_wire(const Ipv6Addr& a) noexcept { return wire::Ipv6Addr(a.bytes); }

// The loader has checked every range (lib/config/load.cc): each value fits its field.
tcp::Config tcp_config(const TcpConfig& c) noexcept {
  tcp::Config t;
  t.mss = static_cast<uint16_t>(c.mss);
  t.min_snd_mss = static_cast<uint16_t>(c.min_snd_mss);
  t.rcv_buf = static_cast<uint32_t>(c.rcv_buf_bytes);
  t.snd_buf = static_cast<uint32_t>(c.snd_buf_bytes);
  t.window_scaling = c.window_scale;
  t.timestamps = c.timestamps;
  t.sack = c.sack;
  t.rack = c.rack;
  t.nagle = c.nagle;
  t.delack_timeout = ms(c.delayed_ack_ms);
  t.rto_initial = ms(c.initial_rto_ms);
  t.rto_min = ms(c.min_rto_ms);
  t.rto_max = ms(c.max_rto_ms);
  t.syn_retries = static_cast<uint8_t>(c.syn_retries);
  t.orphan_retries = static_cast<uint8_t>(c.orphan_retries);
  t.synack_retries = static_cast<uint8_t>(c.synack_retries);
  t.keepalive = c.keepalive.enabled;
  t.keepalive_idle = ms(c.keepalive.idle_ms);
  t.keepalive_interval = ms(c.keepalive.interval_ms);
  t.keepalive_probes = static_cast<uint8_t>(c.keepalive.probes);
  t.fin_wait_2_timeout = ms(c.fin_wait2_timeout_ms);
  t.cc = c.congestion == Congestion::kCubic ? tcp::cc::Algorithm::kCubic
                                            : tcp::cc::Algorithm::kNewReno;
  return t;
}

timewait::TwTableConfig tw_config(const TimeWaitConfig& c) noexcept {
  timewait::TwTableConfig t;
  t.max_entries = static_cast<uint32_t>(c.max_entries);
  t.on_full = c.on_full == TwOnFull::kRefuse ? timewait::TwOnFull::kRefuse
                                             : timewait::TwOnFull::kEvictOldest;
  t.policy.reuse = c.reuse == TwReuse::kOff ? timewait::TwReuse::kOff : timewait::TwReuse::kRfc6191;
  t.policy.rfc1337 = c.rfc1337;
  t.policy.duration = ms(c.duration_ms);
  t.expiry_per_turn = static_cast<uint32_t>(c.expiry_per_turn);
  return t;
}

WorkerTcpConfig worker_tcp_config(const TcpConfig& c) noexcept {
  WorkerTcpConfig w;
  w.local_port_lo = c.local_port_lo;
  w.local_port_hi = c.local_port_hi;
  w.active_reuse_min_age = ms(c.active_reuse_min_age_ms);
  w.listen_backlog = static_cast<uint32_t>(c.listen_backlog);
  w.syncookies = c.syncookies;
  w.challenge_ack_limit_per_sec = static_cast<uint32_t>(c.challenge_ack_limit_per_sec);
  w.max_orphans = static_cast<uint32_t>(c.max_orphans);
  w.pmtu_min_ipv4 = static_cast<uint16_t>(c.pmtu.min_ipv4);
  w.pmtu_min_ipv6 = static_cast<uint16_t>(c.pmtu.min_ipv6);
  w.pmtu_expires = ms(c.pmtu.expires_ms);
  w.pmtu_max_entries = static_cast<uint32_t>(c.pmtu.max_entries);
  return w;
}

ReassemblyConfig reassembly_config(const IpReassemblyConfig& c) noexcept {
  ReassemblyConfig r;
  r.max_datagrams = static_cast<uint32_t>(c.max_datagrams);
  r.max_bytes = static_cast<uint32_t>(c.max_bytes);
  r.max_fragments = static_cast<uint32_t>(c.max_fragments);
  r.timeout = ms(c.timeout_ms);
  r.on_full =
      c.on_full == ::tempo::ReasmOnFull::kRefuse ? ReasmOnFull::kRefuse : ReasmOnFull::kEvictOldest;
  return r;
}

void set_routes(const PortConfig& pc, Interface& iface) {
  iface.gateway4.reset();
  iface.gateway6.reset();
  if (pc.gateway) {
    iface.gateway4 = to_wire(*pc.gateway);
  }
  if (pc.gateway6) {
    iface.gateway6 = to_wire(*pc.gateway6);
  }
  iface.routes4.clear();
  for (const Route4& r : pc.routes) {
    iface.routes4.push_back({to_wire(r.prefix.addr), r.prefix.len, to_wire(r.via)});
  }
  iface.routes6.clear();
  for (const Route6& r : pc.routes6) {
    iface.routes6.push_back({to_wire(r.prefix.addr), r.prefix.len, to_wire(r.via)});
  }
}

}  // namespace tempo::stack
