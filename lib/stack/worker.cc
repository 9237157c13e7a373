#include "stack/worker.h"

#include <algorithm>
#include <cstring>

#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {

using telemetry::Layer;

namespace {

// IEEE 802.3: a frame is at least 60 bytes before the FCS. Many NICs pad short frames
// themselves, but not all, and a TAP device passes what it is given.
constexpr uint16_t kMinFrame = 60;
constexpr uint8_t kDefaultTtl = 64;  // RFC 1700 / Linux ip_default_ttl

// Ethernet destination of an IPv6 multicast address (RFC 2464 §7).
wire::MacAddr eth_for(const wire::Ipv6Addr& dst, const wire::MacAddr& unicast) {
  return dst.is_multicast() ? dst.multicast_mac() : unicast;
}

wire::Ipv6Addr mapped(wire::Ipv4Addr a) {
  const uint32_t v = a.value();
  return wire::Ipv6Addr({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, static_cast<uint8_t>(v >> 24),
                         static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                         static_cast<uint8_t>(v)});
}

bool same_prefix(wire::Ipv4Addr a, wire::Ipv4Addr b, uint8_t len) {
  const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  return ((a.value() ^ b.value()) & mask) == 0;
}

}  // namespace

std::optional<wire::Ipv4Addr> next_hop(const Interface& iface, wire::Ipv4Addr dst) noexcept {
  if (same_prefix(dst, iface.ipv4, iface.ipv4_prefix)) {
    return dst;
  }
  const Interface::Route4* best = nullptr;
  for (const auto& r : iface.routes4) {
    if (same_prefix(dst, r.prefix, r.len) && (best == nullptr || r.len > best->len)) {
      best = &r;
    }
  }
  if (best != nullptr) {
    return best->via;
  }
  return iface.gateway4;
}

Worker::Worker(uint16_t index, std::vector<Interface> ifaces, Ticks start,
               const FaultConfig& faults)
    : index_(index), now_(start), wheel_(start) {
  ports_.reserve(ifaces.size());
  for (const Interface& i : ifaces) {
    Port& p = ports_.emplace_back();
    p.iface = i;
    // Each worker and port draws its own sequence from the configured seed.
    const uint64_t seed = faults.seed * 0x9e3779b97f4a7c15ULL + index * 131 + ports_.size();
    if (faults.rx.any()) {
      p.rx_faults = std::make_unique<MbufFaultStage>(faults.rx, seed, &counters_.faults_rx);
    }
    if (faults.tx.any()) {
      p.tx_faults = std::make_unique<MbufFaultStage>(faults.tx, ~seed, &counters_.faults_tx);
    }
  }
}

Worker::~Worker() {
  for (Port& p : ports_) {
    if (p.tso.m != nullptr) {
      rte_pktmbuf_free(std::exchange(p.tso.m, nullptr));
    }
    for (uint8_t k = 0; k < p.n_parked; ++k) {
      rte_pktmbuf_free(p.parked[k].m);
    }
    p.n_parked = 0;
    rte_pktmbuf_free_bulk(p.tx.data(), p.tx_len);
    p.tx_len = 0;
    if (p.rx_faults) {
      p.rx_faults->drain();
    }
    if (p.tx_faults) {
      p.tx_faults->drain();
    }
  }
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
  uint32_t received = 0;
  std::array<rte_mbuf*, kBurst> burst;
  std::array<rte_mbuf*, 2 * kBurst> faulted;
  for (Port& p : ports_) {
    size_t n = rte_eth_rx_burst(p.iface.port_id, p.iface.queue, burst.data(), kBurst);
    if (n > 0 && p.iface.rx_pool != nullptr) {
      // rte_mempool_avail_count walks the per-lcore caches: once per burst, not per packet.
      p.rx_low = rte_mempool_avail_count(p.iface.rx_pool) < p.iface.rx_pool->size / 4;
      p.tx_low = rte_mempool_avail_count(p.iface.pool) < p.iface.pool->size / 4;
      if (p.rx_low != rcv_pressure_) {
        rcv_pressure_ = p.rx_low;
        counters_.rx_pressure_changes++;
      }
    }
    rte_mbuf** rx = burst.data();
    if (p.rx_faults) [[unlikely]] {
      n = p.rx_faults->apply(std::span(burst.data(), n), faulted, now_);
      rx = faulted.data();
    }
    for (size_t i = 0; i < n; ++i) {
      rte_prefetch0(rte_pktmbuf_mtod(rx[i], void*));
    }
    for (size_t i = 0; i < n; ++i) {
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

void Worker::join(const Mesh* mesh) noexcept {
  mesh_ = mesh != nullptr && mesh->workers() > 1 ? mesh : nullptr;
  steer_out_.assign(mesh_ != nullptr ? mesh_->workers() : 0, SteerBatch{});
}

uint16_t Worker::owner_of(const Port& p, const rte_mbuf* m) const noexcept {
  // Only the fields the Toeplitz hash reads; input() validates the packet properly.
  const auto* b = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  constexpr uint32_t kEth = wire::EthView::kHeaderLen;
  if (len < kEth + wire::Ipv4View::kMinHeaderLen + 4) {
    return index_;
  }
  const uint16_t type = static_cast<uint16_t>(b[12] << 8 | b[13]);
  auto be16 = [&](uint32_t off) { return static_cast<uint16_t>(b[off] << 8 | b[off + 1]); };
  if (type == wire::kEtherTypeIpv4) {
    const uint32_t ihl = (b[kEth] & 0x0fu) * 4u;
    const bool fragment = (be16(kEth + 6) & 0x3fffu) != 0;  // MF or an offset
    if ((b[kEth] >> 4) != 4 || ihl < 20 || b[kEth + 9] != wire::kIpProtoTcp || fragment ||
        len < kEth + ihl + 4) {
      return index_;
    }
    auto be32 = [&](uint32_t off) {
      return uint32_t{b[off]} << 24 | uint32_t{b[off + 1]} << 16 | uint32_t{b[off + 2]} << 8 |
             b[off + 3];
    };
    return p.iface.rss->queue(wire::Ipv4Addr(be32(kEth + 12)), wire::Ipv4Addr(be32(kEth + 16)),
                              be16(kEth + ihl), be16(kEth + ihl + 2));
  }
  if (type == wire::kEtherTypeIpv6) {
    constexpr uint32_t kIp6 = wire::Ipv6View::kHeaderLen;
    if (len < kEth + kIp6 + 4 || b[kEth + 6] != wire::kIpProtoTcp) {
      return index_;
    }
    std::array<uint8_t, 16> src;
    std::array<uint8_t, 16> dst;
    std::memcpy(src.data(), b + kEth + 8, 16);
    std::memcpy(dst.data(), b + kEth + 24, 16);
    return p.iface.rss->queue_of_hash(
        p.iface.rss->hash(src, dst, be16(kEth + kIp6), be16(kEth + kIp6 + 2)));
  }
  return index_;
}

void Worker::steer(uint16_t to, rte_mbuf* m) noexcept {
  if (to >= steer_out_.size()) {  // a queue with no Worker: nobody owns the tuple here
    rte_pktmbuf_free(m);
    counters_.steer_dropped++;
    return;
  }
  SteerBatch& b = steer_out_[to];
  b.m[b.n++] = m;
  if (b.n == b.m.size()) {
    flush_steered();
  }
}

void Worker::flush_steered() noexcept {
  for (uint16_t to = 0; to < steer_out_.size(); ++to) {
    SteerBatch& b = steer_out_[to];
    if (b.n == 0) {
      continue;
    }
    const unsigned sent = rte_ring_sp_enqueue_burst(
        mesh_->packets(index_, to), reinterpret_cast<void**>(b.m.data()), b.n, nullptr);
    counters_.steered_out += sent;
    if (sent < b.n) {  // the owner is behind: drop, as a full RX queue would
      rte_pktmbuf_free_bulk(b.m.data() + sent, b.n - sent);
      counters_.steer_dropped += b.n - sent;
    }
    b.n = 0;
  }
}

void Worker::receive_steered() noexcept {
  std::array<rte_mbuf*, kBurst> in;
  for (uint16_t from = 0; from < mesh_->workers(); ++from) {
    if (from == index_) {
      continue;
    }
    const unsigned n = rte_ring_sc_dequeue_burst(
        mesh_->packets(from, index_), reinterpret_cast<void**>(in.data()), kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      counters_.steered_in++;
      Port* p = nullptr;
      for (Port& q : ports_) {
        if (q.iface.port_id == in[i]->port) {
          p = &q;
        }
      }
      if (p != nullptr) {
        input(*p, in[i]);
      } else {
        counters_.steer_dropped++;
      }
      rte_pktmbuf_free(in[i]);
    }
  }
  for (Port& p : ports_) {
    flush(p);
  }
}

void Worker::share(NeighborMsg msg) noexcept {
  if (mesh_ == nullptr) {
    return;
  }
  for (uint16_t to = 0; to < mesh_->workers(); ++to) {
    if (to != index_ &&
        rte_ring_sp_enqueue_elem(mesh_->neighbors(index_, to), &msg, sizeof(NeighborMsg)) != 0) {
      counters_.neighbor_share_dropped++;
    }
  }
}

void Worker::share_neighbor(const Port& p, const wire::Ipv4Addr& ip,
                            const wire::MacAddr& mac) noexcept {
  NeighborMsg msg;
  msg.port = static_cast<uint8_t>(&p - ports_.data());
  msg.v6 = 0;
  const uint32_t v = ip.value();
  msg.ip = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
            static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  std::memcpy(msg.mac.data(), mac.bytes().data(), 6);
  share(msg);
}

void Worker::share_neighbor(const Port& p, const wire::Ipv6Addr& ip,
                            const wire::MacAddr& mac) noexcept {
  NeighborMsg msg;
  msg.port = static_cast<uint8_t>(&p - ports_.data());
  msg.v6 = 1;
  std::memcpy(msg.ip.data(), ip.bytes().data(), 16);
  std::memcpy(msg.mac.data(), mac.bytes().data(), 6);
  share(msg);
}

void Worker::receive_neighbors() noexcept {
  std::array<NeighborMsg, 16> in;
  for (uint16_t from = 0; from < mesh_->workers(); ++from) {
    if (from == index_) {
      continue;
    }
    const unsigned n = rte_ring_sc_dequeue_burst_elem(mesh_->neighbors(from, index_), in.data(),
                                                      sizeof(NeighborMsg), in.size(), nullptr);
    for (unsigned i = 0; i < n; ++i) {
      const NeighborMsg& msg = in[i];
      if (msg.port >= ports_.size()) {
        continue;
      }
      Port& p = ports_[msg.port];
      const wire::MacAddr mac(msg.mac);
      if (msg.v6 != 0) {
        p.nd.learn(wire::Ipv6Addr(msg.ip), mac, now_);
      } else {
        p.arp.learn(wire::Ipv4Addr(msg.ip[0], msg.ip[1], msg.ip[2], msg.ip[3]), mac, now_);
      }
      counters_.neighbor_shared_in++;
      if (p.n_parked > 0) {
        release_parked(p);
      }
    }
  }
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

// RFC 826 "Packet Reception": merge the sender into the cache if it is there already; if we
// are the target, add it, and answer a request.
void Worker::input_arp(Port& p, const wire::EthView& eth) noexcept {
  auto arp = wire::ArpView::parse(eth.payload());
  if (!arp) {
    counters_.drop(Layer::kArp, arp.error());
    return;
  }
  const bool for_us = arp->tpa() == p.iface.ipv4;
  if (arp->spa().is_unspecified() || arp->sha().is_multicast()) {
    counters_.drop(Layer::kArp, wire::WireError::kBadAddress);
    return;
  }
  if (for_us || p.arp.lookup(arp->spa(), now_)) {
    if (p.arp.learn(arp->spa(), arp->sha(), now_)) {
      counters_.arp_learned++;
    }
    // Every time, not only when new: the other Workers' entries age too, and the answer to
    // another Worker's request may arrive here.
    share_neighbor(p, arp->spa(), arp->sha());
    if (p.n_parked > 0) {
      release_parked(p);
    }
  }
  if (!for_us) {
    counters_.drop_not_for_us++;
    return;
  }
  if (!arp->is_request()) {
    return;  // a reply to us: learned above
  }
  rte_mbuf* m = alloc(p, kMinFrame);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin(), out.end(), std::byte{0});
  const size_t l2 = *wire::write_eth(out, arp->sha(), p.iface.mac, wire::kEtherTypeArp);
  (void)*wire::write_arp(out.subspan(l2), wire::ArpOp::kReply, p.iface.mac, p.iface.ipv4,
                         arp->sha(), arp->spa());
  counters_.arp_replied++;
  transmit(p, m);
}

void Worker::input_ipv4(Port& p, rte_mbuf* m, const wire::EthView& eth) noexcept {
  auto ip = wire::Ipv4View::parse(eth.payload());
  if (!ip) {
    counters_.drop(Layer::kIpv4, ip.error());
    return;
  }
  if (ip->dst() != p.iface.ipv4) {
    counters_.drop_not_for_us++;
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
      reply.src4 = p.iface.ipv4;
      reply.dst4 = ip->src();
      if (!wire::verify_tcp_checksum_ipv4(ip->src(), ip->dst(), ip->payload())) {
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
                           wire::Ipv4HeaderFields{.src = p.iface.ipv4,
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
      if (!wire::verify_tcp_checksum_ipv6(ip->src(), dst, ip->payload())) {
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

std::vector<std::string> Worker::neighbors() const {
  std::vector<std::string> out;
  const Ticks now = now_;  // the last poll's time
  for (const Port& p : ports_) {
    p.arp.for_each(now, [&](const wire::Ipv4Addr& ip, const wire::MacAddr& mac) {
      out.push_back(ip.to_string() + " lladdr " + mac.to_string());
    });
    p.nd.for_each(now, [&](const wire::Ipv6Addr& ip, const wire::MacAddr& mac) {
      out.push_back(ip.to_string() + " lladdr " + mac.to_string());
    });
  }
  return out;
}

void Worker::maintain() noexcept {
  for (size_t i = 0; i < ports_.size(); ++i) {
    const Interface& iface = ports_[i].iface;
    if (iface.gateway4) {
      (void)resolve(i, *iface.gateway4);
    }
    if (iface.gateway6) {
      (void)resolve(i, *iface.gateway6);
    }
  }
  for (Port& p : ports_) {
    if (p.n_parked > 0) {
      release_parked(p);
    }
    flush(p);
  }
}

std::optional<wire::MacAddr> Worker::lookup(Port& p, const Remote& dst) noexcept {
  const auto i = static_cast<size_t>(&p - ports_.data());
  return dst.v6 ? resolve(i, dst.ip6, false) : resolve(i, dst.ip4, false);
}

void Worker::park(Port& p, const Remote& dst, rte_mbuf* m) noexcept {
  if (p.n_parked == p.parked.size()) {
    // Full: the oldest goes (its connection retransmits), as a neighbour queue does.
    rte_pktmbuf_free(p.parked[0].m);
    counters_.drop_no_neighbor++;
    std::move(p.parked.begin() + 1, p.parked.end(), p.parked.begin());
    --p.n_parked;
  }
  p.parked[p.n_parked++] = Port::Parked{.dst = dst, .m = m, .since = now_};
  counters_.tx_parked++;
}

void Worker::release_parked(Port& p) noexcept {
  uint8_t kept = 0;
  for (uint8_t k = 0; k < p.n_parked; ++k) {
    Port::Parked& e = p.parked[k];
    if (auto mac = lookup(p, e.dst)) {
      // The destination MAC is the frame's first six bytes.
      std::memcpy(rte_pktmbuf_mtod(e.m, std::byte*), mac->bytes().data(), 6);
      transmit(p, e.m);
    } else if (now_ - e.since > kParkTimeout) {
      rte_pktmbuf_free(e.m);
      counters_.drop_no_neighbor++;
    } else {
      p.parked[kept++] = e;
    }
  }
  p.n_parked = kept;
}

std::optional<wire::MacAddr> Worker::resolve(size_t port, wire::Ipv4Addr dst,
                                             bool solicit) noexcept {
  Port& p = ports_[port];
  const auto hop = next_hop(p.iface, dst);
  if (!hop) {
    return std::nullopt;
  }
  if (auto mac = p.arp.lookup(*hop, now_)) {
    return mac;
  }
  if (solicit && may_solicit(p, mapped(*hop))) {
    send_arp_request(p, *hop);
  }
  return std::nullopt;
}

std::optional<wire::MacAddr> Worker::resolve(size_t port, const wire::Ipv6Addr& dst,
                                             bool solicit) noexcept {
  Port& p = ports_[port];
  if (dst.is_multicast()) {
    return dst.multicast_mac();
  }
  // IPv6 next hop: on-link when the /64 (or configured prefix) matches or link-local, else the
  // gateway.
  const Interface& i = p.iface;
  bool on_link = dst.is_link_local();
  if (!on_link && i.has_ipv6) {
    on_link = true;
    for (uint8_t bit = 0; bit < i.ipv6_prefix; ++bit) {
      const uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
      if ((dst.bytes()[bit / 8] & m) != (i.ipv6.bytes()[bit / 8] & m)) {
        on_link = false;
        break;
      }
    }
  }
  const wire::Ipv6Addr hop = on_link ? dst : i.gateway6.value_or(wire::Ipv6Addr());
  if (hop.is_unspecified()) {
    return std::nullopt;
  }
  if (auto mac = p.nd.lookup(hop, now_)) {
    return mac;
  }
  if (solicit && may_solicit(p, hop)) {
    send_neighbor_solicit(p, hop);
  }
  return std::nullopt;
}

bool Worker::may_solicit(Port& p, const wire::Ipv6Addr& addr) noexcept {
  Port::Pending* oldest = &p.pending[0];
  for (Port::Pending& e : p.pending) {
    if (e.addr == addr) {
      if (now_ - e.sent < kSolicitInterval && e.sent != Ticks{}) {
        return false;
      }
      e.sent = now_;
      return true;
    }
    if (e.sent < oldest->sent) {
      oldest = &e;
    }
  }
  *oldest = Port::Pending{addr, now_};
  return true;
}

void Worker::send_arp_request(Port& p, wire::Ipv4Addr target) noexcept {
  rte_mbuf* m = alloc(p, kMinFrame);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin(), out.end(), std::byte{0});
  const size_t l2 =
      *wire::write_eth(out, wire::MacAddr::broadcast(), p.iface.mac, wire::kEtherTypeArp);
  (void)*wire::write_arp(out.subspan(l2), wire::ArpOp::kRequest, p.iface.mac, p.iface.ipv4,
                         wire::MacAddr(), target);
  counters_.arp_requests_sent++;
  transmit(p, m);
}

// RFC 4861 §7.2.2: a multicast solicitation to the target's solicited-node address, with our
// link-layer address in a source option, hop limit 255.
void Worker::send_neighbor_solicit(Port& p, const wire::Ipv6Addr& target) noexcept {
  const Interface& i = p.iface;
  const wire::Ipv6Addr src = target.is_link_local() || !i.has_ipv6 ? i.link_local : i.ipv6;
  const wire::Ipv6Addr dst = target.solicited_node();
  constexpr size_t kBody = wire::Icmpv6View::kNdMinLen + 8;
  constexpr size_t kLen = wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + kBody;
  rte_mbuf* m = alloc(p, kLen);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  size_t off = *wire::write_eth(out, dst.multicast_mac(), i.mac, wire::kEtherTypeIpv6);
  off += *wire::write_ipv6(out.subspan(off),
                           wire::Ipv6HeaderFields{.src = src,
                                                  .dst = dst,
                                                  .next_header = wire::kIpProtoIcmpv6,
                                                  .payload_len = kBody,
                                                  .hop_limit = wire::kNdHopLimit,
                                                  .traffic_class = 0,
                                                  .flow_label = 0});
  (void)*wire::write_icmpv6_ns(out.subspan(off), src, dst, target, i.mac);
  counters_.nd_solicit_sent++;
  transmit(p, m);
}

rte_mbuf* Worker::alloc(Port& p, uint16_t len) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(p.iface.pool);
  if (m == nullptr) [[unlikely]] {
    counters_.drop_no_mbuf++;
    return nullptr;
  }
  if (rte_pktmbuf_append(m, len) == nullptr) [[unlikely]] {
    rte_pktmbuf_free(m);
    counters_.drop_no_mbuf++;
    return nullptr;
  }
  return m;
}

void Worker::transmit(Port& p, rte_mbuf* m) noexcept {
  p.tx[p.tx_len++] = m;
  if (p.tx_len == p.tx.size()) {
    flush(p);
  }
}

void Worker::flush(Port& p) noexcept {
  tso_flush(p);
  rte_mbuf** tx = p.tx.data();
  size_t len = p.tx_len;
  std::array<rte_mbuf*, 2 * kBurst> faulted;
  if (p.tx_faults) [[unlikely]] {
    // Called every poll, so delayed packets leave on time even when nothing new is sent.
    len = p.tx_faults->apply(std::span(p.tx.data(), p.tx_len), faulted, now_);
    tx = faulted.data();
  }
  p.tx_len = 0;
  if (len == 0) {
    return;
  }
  uint64_t bytes_out = 0;
  const uint16_t sent =
      rte_eth_tx_burst(p.iface.port_id, p.iface.queue, tx, static_cast<uint16_t>(len));
  for (uint16_t k = 0; k < sent; ++k) {
    bytes_out += rte_pktmbuf_pkt_len(tx[k]);
  }
  counters_.tx_packets += sent;
  counters_.tx_bytes += bytes_out;
  if (sent < len) {
    counters_.tx_full += len - sent;
    rte_pktmbuf_free_bulk(&tx[sent], static_cast<unsigned>(len - sent));
  }
}

}  // namespace tempo::stack
