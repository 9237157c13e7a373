// The Worker's loop and its L2/L3: poll() (clock, timers, RX burst, steering, TX flush),
// Ethernet, IPv4 and IPv6 input, ICMP and ICMPv6 (echo, neighbour discovery answers), the reset
// for a segment nothing takes, and the TX batch (frames from the port's TxEncoder, a class of
// its own: stack/tx_encoder.h). The other rooms of the same class: neighbors.cc, steer.cc,
// worker_tcp.cc (TCP demultiplexing, connections, application calls), active_open.cc; what
// they share is stack/worker_detail.h.
#include "stack/worker.h"

#include <algorithm>
#include <cstring>

#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "stack/worker_detail.h"
#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {

using telemetry::Layer;
using namespace detail;  // NOLINT: the Worker's own helpers

Worker::Worker(uint16_t index, std::vector<Interface> ifaces, Ticks start,
               const FaultConfig& faults)
    : index_(index), now_(start), wheel_(start) {
  ports_.reserve(ifaces.size());
  for (const Interface& i : ifaces) {
    Port& p = ports_.emplace_back(i, counters_);
    // Each worker and port draws its own sequence from the configured seed.
    const uint64_t seed = faults.seed * 0x9e3779b97f4a7c15ULL + index * 131 + ports_.size();
    if (faults.rx.any()) {
      p.rx_faults = std::make_unique<MbufFaultStage>(faults.rx, seed, &counters_.faults_rx);
    }
    if (faults.tx.any()) {
      p.tx.set_faults(std::make_unique<MbufFaultStage>(faults.tx, ~seed, &counters_.faults_tx));
    }
  }
}
Worker::~Worker() {
  for (Port& p : ports_) {
    p.enc.discard();
    release_pack(p);
    for (uint8_t k = 0; k < p.n_parked; ++k) {
      rte_pktmbuf_free(p.parked[k].m);
    }
    p.n_parked = 0;
    if (p.rx_faults) {
      p.rx_faults->drain();
    }
  }
}
bool Worker::link_up(size_t port) const noexcept {
  if (port >= ports_.size()) {
    return false;
  }
  rte_eth_link link{};
  return rte_eth_link_get_nowait(ports_[port].iface.port_id, &link) == 0 &&
         link.link_status == RTE_ETH_LINK_UP;
}

uint32_t Worker::poll(Ticks now) noexcept {
  now_ = now;
  if (now_ >= next_maintenance_) [[unlikely]] {
    next_maintenance_ = now_ + kMaintenanceInterval;
    maintain();
  }
  if (!conns_.empty()) {
    wheel_.advance(now_, [this](time::Timer& t) { on_wheel_timer(t); });
    // One comparison when nothing is due (lib/timewait/table.h).
    tw_->expire(now_);
  }
  if (mesh_ != nullptr) {
    receive_neighbors();
  }
  if (poll_hook_ != nullptr) {
    poll_hook_(*this, poll_hook_ctx_);
  }
  if (charged_head_ < charged_.size()) {
    release_dormant();
  }
  if (starved_head_ < starved_.size() && now_ >= next_reopen_) [[unlikely]] {
    // Windows wait for memory: see whether it freed (nothing may arrive to tell).
    next_reopen_ = now_ + kReopenInterval;
    for (Port& p : ports_) {
      if (p.iface.rx_pool != nullptr) {
        sample_pools(p);
      }
    }
    reopen_windows();
  }
  if (tx_waiters_head_ < tx_waiters_.size() && now_ >= next_tx_wake_) [[unlikely]] {
    // Copies wait for TX buffers: see whether acknowledgments freed some.
    next_tx_wake_ = now_ + kReopenInterval;
    wake_tx_waiters();
  }
  uint32_t received = 0;
  std::array<rte_mbuf*, kBurst> burst;
  std::array<rte_mbuf*, 2 * kBurst> faulted;
  for (Port& p : ports_) {
    size_t n = rte_eth_rx_burst(p.iface.port_id, p.iface.queue, burst.data(), kBurst);
    if (n > 0) {
      sample_pools(p);
    }
    rte_mbuf** rx = burst.data();
    if (p.rx_faults) [[unlikely]] {
      n = p.rx_faults->apply(std::span(burst.data(), n), faulted, now_);
      rx = faulted.data();
    }
    for (size_t i = 0; i < n; ++i) {
      rte_prefetch0(rte_pktmbuf_mtod(rx[i], void*));
    }
    lookup_burst(rx, n);
    for (size_t i = 0; i < n; ++i) {
      rx_hint_ = &burst_hints_[i];
      counters_.rx_packets++;
      counters_.rx_bytes += rte_pktmbuf_pkt_len(rx[i]);
      if (p.iface.soft_steer) {
        if (const uint16_t owner = owner_of(p, rx[i]); owner != index_) {
          steer(owner, rx[i]);
          continue;
        }
      }
      input(p, rx[i]);
      rte_pktmbuf_free(rx[i]);
    }
    rx_hint_ = nullptr;
    received += static_cast<uint32_t>(n);
    if (mesh_ != nullptr) {
      flush_steered();
    }
    flush(p);
  }
  if (mesh_ != nullptr) {
    receive_steered();
  }
  return received;
}
std::span<std::byte> Worker::bytes(rte_mbuf* m) noexcept {
  return {rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
}
void Worker::input(Port& p, rte_mbuf* m) noexcept {
  if (m->nb_segs != 1) [[unlikely]] {
    // Multi-segment frames arrive only with jumbo MTUs on scattered RX, which tempo does not
    // configure; count rather than linearize.
    counters_.drop(Layer::kEth, wire::WireError::kUnsupported);
    return;
  }
  auto eth = wire::EthView::parse(bytes(m));
  if (!eth) {
    counters_.drop(Layer::kEth, eth.error());
    return;
  }
  const wire::MacAddr dst = eth->dst();
  if (dst != p.iface.mac && !dst.is_broadcast() && !dst.is_multicast()) {
    counters_.drop_not_for_us++;
    return;
  }
  switch (eth->ethertype()) {
    case wire::kEtherTypeIpv4:
      input_ipv4(p, m, *eth);
      return;
    case wire::kEtherTypeIpv6:
      input_ipv6(p, m, *eth);
      return;
    case wire::kEtherTypeArp:
      input_arp(p, *eth);
      return;
    default:
      counters_.drop_ethertype++;
      return;
  }
}
void Worker::input_ipv4(Port& p, rte_mbuf* m, const wire::EthView& eth) noexcept {
  auto ip = wire::Ipv4View::parse(eth.payload());
  if (!ip) {
    counters_.drop(Layer::kIpv4, ip.error());
    return;
  }
  if (!p.iface.is_local4(ip->dst())) {
    counters_.drop_not_for_us++;
    return;
  }
  if (p.iface.is_martian_src4(ip->src())) {
    counters_.drop_martian4++;  // RFC 1122 §3.2.1.3, §4.2.3.10: silently discarded
    return;
  }
  if (ip->is_fragment()) {
    counters_.drop_ipv4_fragment++;
    return;
  }
  switch (ip->protocol()) {
    case wire::kIpProtoIcmp:
      input_icmp(p, eth, *ip);
      return;
    case wire::kIpProtoTcp: {
      wire::TcpPacketSpec reply{};
      reply.eth_src = p.iface.mac;
      reply.eth_dst = eth.src();
      reply.src4 = ip->dst();
      reply.dst4 = ip->src();
      if (!tcp_checksum_ok(m, [&] {
            return wire::verify_tcp_checksum_ipv4(ip->src(), ip->dst(), ip->payload());
          })) {
        counters_.drop(Layer::kTcp, wire::WireError::kBadChecksum);
        return;
      }
      input_tcp(p, m, ip->payload(), reply);
      return;
    }
    default:
      counters_.drop_ip_protocol++;
      return;
  }
}
// RFC 9293 §3.10.7.1, CLOSED: an incoming RST is discarded; any other segment gets a reset:
// without ACK, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; with ACK, <SEQ=SEG.ACK><CTL=RST>.
// So a kernel client's connect() to a port nobody serves fails at once ("connection refused")
// instead of retrying its SYN for two minutes.
void Worker::reply_reset(Port& p, const wire::TcpView& tcp, wire::TcpPacketSpec& reply) noexcept {
  if (tcp.flags().rst()) {
    return;
  }
  reply.tcp.src_port = tcp.dst_port();
  reply.tcp.dst_port = tcp.src_port();
  if (tcp.flags().ack()) {
    reply.tcp.seq = tcp.ack();
    reply.tcp.flags = wire::TcpFlags(wire::TcpFlags::kRst);
  } else {
    reply.tcp.seq = 0;
    reply.tcp.ack = tcp.seq() + tcp.segment_length();
    reply.tcp.flags = wire::TcpFlags(wire::TcpFlags::kRst | wire::TcpFlags::kAck);
  }
  counters_.tcp_rst_sent++;
  send_built(p, reply);
}
void Worker::send_built(Port& p, const wire::TcpPacketSpec& spec) noexcept {
  // Headers and options only: at most 14 + 40 + 60 bytes.
  rte_mbuf* m = alloc(
      p, wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + wire::TcpView::kMaxHeaderLen);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin(), out.end(), std::byte{0});
  auto len = wire::build_tcp_packet(out, spec);
  if (!len) [[unlikely]] {
    rte_pktmbuf_free(m);
    return;
  }
  rte_pktmbuf_trim(m, static_cast<uint16_t>(out.size() - std::max<size_t>(*len, kMinFrame)));
  transmit(p, m);
}
// RFC 1122 §3.2.2.6: every host MUST implement an ICMP Echo server; the reply carries the
// request's identifier, sequence number and data.
void Worker::input_icmp(Port& p, const wire::EthView& eth, const wire::Ipv4View& ip) noexcept {
  auto icmp = wire::IcmpView::parse(ip.payload());
  if (!icmp) {
    counters_.drop(Layer::kIcmp, icmp.error());
    return;
  }
  if (!icmp->is_echo_request()) {
    counters_.drop_icmp_type++;
    return;
  }
  const size_t icmp_len = icmp->bytes().size();
  const size_t len = wire::EthView::kHeaderLen + wire::Ipv4View::kMinHeaderLen + icmp_len;
  rte_mbuf* m = alloc(p, static_cast<uint16_t>(std::max<size_t>(len, kMinFrame)));
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin() + static_cast<ptrdiff_t>(len), out.end(), std::byte{0});
  size_t off = *wire::write_eth(out, eth.src(), p.iface.mac, wire::kEtherTypeIpv4);
  off += *wire::write_ipv4(out.subspan(off),
                           wire::Ipv4HeaderFields{.src = ip.dst(),
                                                  .dst = ip.src(),
                                                  .protocol = wire::kIpProtoIcmp,
                                                  .payload_len = static_cast<uint16_t>(icmp_len),
                                                  .ttl = kDefaultTtl,
                                                  .id = 0,
                                                  .dont_fragment = false,
                                                  .tos = 0});
  (void)*wire::write_icmp_echo_reply(out.subspan(off), icmp->echo_id(), icmp->echo_seq(),
                                     icmp->data());
  counters_.icmp_echo_replied++;
  transmit(p, m);
}
void Worker::input_ipv6(Port& p, rte_mbuf* m, const wire::EthView& eth) noexcept {
  auto ip = wire::Ipv6View::parse(eth.payload());
  if (!ip) {
    counters_.drop(Layer::kIpv6, ip.error());
    return;
  }
  const wire::Ipv6Addr dst = ip->dst();
  const Interface& i = p.iface;
  const bool for_us = (i.has_ipv6 && (dst == i.ipv6 || dst == i.ipv6.solicited_node())) ||
                      dst == i.link_local || dst == i.link_local.solicited_node() ||
                      dst == wire::Ipv6Addr::all_nodes();
  if (!for_us) {
    counters_.drop_not_for_us++;
    return;
  }
  if (i.is_martian_src6(ip->src()) ||
      (ip->src().is_unspecified() && ip->protocol() != wire::kIpProtoIcmpv6)) {
    counters_.drop_martian6++;  // only neighbour discovery may come from :: (RFC 4862 DAD)
    return;
  }
  switch (ip->protocol()) {
    case wire::kIpProtoIcmpv6:
      input_icmpv6(p, eth, *ip);
      return;
    case wire::kIpProtoTcp: {
      wire::TcpPacketSpec reply{};
      reply.eth_src = p.iface.mac;
      reply.eth_dst = eth.src();
      reply.ipv6 = true;
      reply.src6 = dst;
      reply.dst6 = ip->src();
      if (dst.is_multicast()) {
        counters_.drop_not_for_us++;  // RFC 9293 §3.9.2.1: no TCP to multicast
        return;
      }
      if (!tcp_checksum_ok(
              m, [&] { return wire::verify_tcp_checksum_ipv6(ip->src(), dst, ip->payload()); })) {
        counters_.drop(Layer::kTcp, wire::WireError::kBadChecksum);
        return;
      }
      input_tcp(p, m, ip->payload(), reply);
      return;
    }
    default:
      counters_.drop_ip_protocol++;
      return;
  }
}
void Worker::input_icmpv6(Port& p, const wire::EthView& eth, const wire::Ipv6View& ip) noexcept {
  auto icmp = wire::Icmpv6View::parse(ip);
  if (!icmp) {
    counters_.drop(Layer::kIcmp6, icmp.error());
    return;
  }
  const Interface& i = p.iface;
  const wire::Ipv6Addr src = ip.src();
  // Our unicast address the packet names: the solicited target, or the echo's destination.
  auto ours = [&](const wire::Ipv6Addr& a) {
    return (i.has_ipv6 && a == i.ipv6) || a == i.link_local;
  };

  if (icmp->is_neighbor_advert()) {
    // RFC 4861 §7.2.5: update the entry for the target from the target link-layer option.
    if (auto ll = icmp->target_ll(); ll) {
      if (p.nd.learn(icmp->nd_target(), *ll, now_)) {
        counters_.nd_learned++;
      }
      share_neighbor(p, icmp->nd_target(), *ll);
    }
    if (p.n_parked > 0) {
      release_parked(p);
    }
    return;
  }

  wire::Ipv6Addr reply_src;
  wire::Ipv6Addr reply_dst = src;
  size_t body = 0;
  if (icmp->is_neighbor_solicit()) {
    const wire::Ipv6Addr target = icmp->nd_target();
    if (!ours(target)) {
      counters_.drop_not_for_us++;
      return;
    }
    // RFC 4861 §7.2.3: learn the solicitor's link-layer address (not from DAD probes, whose
    // source is unspecified), then answer with a solicited advertisement; a DAD probe is
    // answered to all-nodes, unsolicited.
    if (auto ll = icmp->source_ll(); ll && !src.is_unspecified()) {
      if (p.nd.learn(src, *ll, now_)) {
        counters_.nd_learned++;
      }
      share_neighbor(p, src, *ll);
      if (p.n_parked > 0) {
        release_parked(p);
      }
    }
    reply_src = target;
    if (src.is_unspecified()) {
      reply_dst = wire::Ipv6Addr::all_nodes();
    }
    body = wire::Icmpv6View::kNdMinLen + 8;  // + target link-layer address option
  } else if (icmp->is_echo_request()) {
    // RFC 4443 §4.2: reply from the address the request was sent to, or, for a multicast
    // request, from one of ours.
    reply_src = ours(ip.dst()) ? ip.dst() : (i.has_ipv6 ? i.ipv6 : i.link_local);
    body = icmp->bytes().size();
  } else {
    counters_.drop_icmp_type++;
    return;
  }

  const size_t len = wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + body;
  rte_mbuf* m = alloc(p, static_cast<uint16_t>(std::max<size_t>(len, kMinFrame)));
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin() + static_cast<ptrdiff_t>(len), out.end(), std::byte{0});
  const wire::MacAddr l2_dst =
      icmp->is_neighbor_solicit() && icmp->source_ll() ? *icmp->source_ll() : eth.src();
  size_t off = *wire::write_eth(out, eth_for(reply_dst, l2_dst), i.mac, wire::kEtherTypeIpv6);
  const bool nd = icmp->is_neighbor_solicit();
  off += *wire::write_ipv6(out.subspan(off),
                           wire::Ipv6HeaderFields{.src = reply_src,
                                                  .dst = reply_dst,
                                                  .next_header = wire::kIpProtoIcmpv6,
                                                  .payload_len = static_cast<uint16_t>(body),
                                                  .hop_limit = nd ? wire::kNdHopLimit : kDefaultTtl,
                                                  .traffic_class = 0,
                                                  .flow_label = 0});
  if (nd) {
    const wire::NaFlags flags{
        .router = false, .solicited = !src.is_unspecified(), .override = true};
    (void)*wire::write_icmpv6_na(out.subspan(off), reply_src, reply_dst, icmp->nd_target(), flags,
                                 i.mac);
    counters_.nd_advert_sent++;
  } else {
    (void)*wire::write_icmpv6_echo_reply(out.subspan(off), reply_src, reply_dst, icmp->echo_id(),
                                         icmp->echo_seq(), icmp->echo_data());
    counters_.icmp6_echo_replied++;
  }
  transmit(p, m);
}
rte_mbuf* Worker::alloc(Port& p, uint16_t len) noexcept {
  rte_mbuf* m = alloc_frame(p.iface.pool, len);
  if (m == nullptr) [[unlikely]] {
    counters_.drop_no_mbuf++;
  }
  return m;
}
void Worker::emit(Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  Port& p = ports_[c.port];
  if (!c.mac_ok) [[unlikely]] {
    if (auto mac = lookup(p, remote_of(c))) {
      c.peer_mac = *mac;
      c.mac_ok = true;
    }
  }
  TxFlow f;
  f.id = &c;
  f.v6 = c.v6;
  if (c.v6) {
    f.local6 = wire::Ipv6Addr(c.key6.local);
    f.remote6 = wire::Ipv6Addr(c.key6.remote);
    f.local_port = c.key6.local_port;
    f.remote_port = c.key6.remote_port;
  } else {
    f.local4 = wire::Ipv4Addr(c.key4.local);
    f.remote4 = wire::Ipv4Addr(c.key4.remote);
    f.local_port = c.key4.local_port;
    f.remote_port = c.key4.remote_port;
  }
  f.dst_mac = c.peer_mac;
  f.dst_known = c.mac_ok;
  const TxEncoder::Frames out = p.enc.encode(p.iface, f, seg);
  for (uint8_t k = 0; k < out.n; ++k) {
    if (k + 1 == out.n && !f.dst_known) [[unlikely]] {
      park(p, remote_of(c), out.m[k]);  // the SYN of an active open, while ARP/ND runs
    } else {
      transmit(p, out.m[k]);
    }
  }
}
void Worker::tso_flush(Port& p) noexcept {
  if (rte_mbuf* m = p.enc.flush(p.iface)) {
    transmit(p, m);
  }
}
void Worker::flush(Port& p) noexcept {
  tso_flush(p);
  p.tx.send(now_);
}
}  // namespace tempo::stack
