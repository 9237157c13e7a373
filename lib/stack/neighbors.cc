// Neighbours: the ARP and neighbour-discovery caches of each port, resolution (rate-limited
// solicitations, RFC 1122 §2.3.2.1), the packets parked until their next hop answers, and the
// sharing of what one Worker learns with the others (stack/mesh.h), since ARP and ND reach
// whichever queue the device picks.
#include <algorithm>
#include <cstring>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "stack/worker.h"
#include "stack/worker_detail.h"
#include "wire/arp.h"
#include "wire/icmpv6.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {

using telemetry::Layer;
using namespace detail;  // NOLINT: the Worker's own helpers

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

// RFC 826 "Packet Reception": merge the sender into the cache if it is there already; if we
// are the target, add it, and answer a request.
void Worker::input_arp(Port& p, const wire::EthView& eth) noexcept {
  auto arp = wire::ArpView::parse(eth.payload());
  if (!arp) {
    counters_.drop(Layer::kArp, arp.error());
    return;
  }
  const bool for_us = p.iface.is_local4(arp->tpa());
  if (arp->spa().is_unspecified() || arp->sha().is_multicast()) {
    counters_.drop(Layer::kArp, wire::WireError::kBadAddress);
    return;
  }
  // Someone claiming our address, the subnet's broadcast, a multicast or loopback address, or
  // no MAC: never learned (it would point our replies at the claimant) and never answered.
  // (A sender with our MAC is not refused: net_tap gives the kernel's side of the tap the
  // PMD's own MAC.)
  if (p.iface.is_martian_src4(arp->spa()) || arp->sha() == wire::MacAddr{}) {
    counters_.drop_arp_martian++;
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
  (void)*wire::write_arp(out.subspan(l2), wire::ArpOp::kReply, p.iface.mac, arp->tpa(), arp->sha(),
                         arp->spa());
  counters_.arp_replied++;
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
  return dst.v6 ? resolve(i, dst.ip6) : resolve(i, dst.ip4);
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
  const auto hop = next_hop(p.iface, dst);  // on-link, the longest route, or gateway6
  if (!hop) {
    return std::nullopt;
  }
  if (auto mac = p.nd.lookup(*hop, now_)) {
    return mac;
  }
  if (solicit && may_solicit(p, *hop)) {
    send_neighbor_solicit(p, *hop);
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

}  // namespace tempo::stack
