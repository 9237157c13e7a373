#include "stack/neighbors.h"

#include <algorithm>
#include <cstring>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "stack/tx_encoder.h"
#include "wire/arp.h"
#include "wire/icmpv6.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {
namespace {

wire::Ipv6Addr mapped(wire::Ipv4Addr a) {
  const uint32_t v = a.value();
  return wire::Ipv6Addr({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, static_cast<uint8_t>(v >> 24),
                         static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                         static_cast<uint8_t>(v)});
}

std::span<std::byte> bytes(rte_mbuf* m) noexcept {
  return {rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
}

}  // namespace

rte_mbuf* Neighbors::alloc(uint16_t len) noexcept {
  rte_mbuf* m = alloc_frame(iface_.pool, len);
  if (m == nullptr) [[unlikely]] {
    counters_.drop_no_mbuf++;
  }
  return m;
}

// --- resolution --------------------------------------------------------------------------

std::optional<wire::MacAddr> Neighbors::resolve(wire::Ipv4Addr dst, Ticks now,
                                                bool solicit) noexcept {
  const auto hop = next_hop(iface_, dst);
  if (!hop) {
    return std::nullopt;
  }
  if (auto mac = arp_.lookup(*hop, now)) {
    return mac;
  }
  if (solicit && may_solicit(mapped(*hop), now)) {
    send_arp_request(*hop, now);
  }
  return std::nullopt;
}

std::optional<wire::MacAddr> Neighbors::resolve(const wire::Ipv6Addr& dst, Ticks now,
                                                bool solicit) noexcept {
  if (dst.is_multicast()) {
    return dst.multicast_mac();
  }
  const auto next = next_hop(iface_, dst);  // on-link, the longest route, or gateway6
  if (!next) {
    return std::nullopt;
  }
  const wire::Ipv6Addr hop = *next;
  if (auto mac = nd_.lookup(hop, now)) {
    return mac;
  }
  if (solicit && may_solicit(hop, now)) {
    send_neighbor_solicit(hop, now);
  }
  return std::nullopt;
}

bool Neighbors::may_solicit(const wire::Ipv6Addr& addr, Ticks now) noexcept {
  Pending* oldest = &pending_[0];
  for (Pending& e : pending_) {
    if (e.addr == addr) {
      if (now - e.sent < kSolicitInterval && e.sent != Ticks{}) {
        return false;
      }
      e.sent = now;
      return true;
    }
    if (e.sent < oldest->sent) {
      oldest = &e;
    }
  }
  *oldest = Pending{addr, now};
  return true;
}

void Neighbors::maintain(Ticks now) noexcept {
  if (iface_.gateway4) {
    (void)resolve(*iface_.gateway4, now);
  }
  if (iface_.gateway6) {
    (void)resolve(*iface_.gateway6, now);
  }
  if (n_parked_ > 0) {
    release(now);
  }
}

// --- parking -----------------------------------------------------------------------------

void Neighbors::park(const Remote& dst, rte_mbuf* m, Ticks now) noexcept {
  if (n_parked_ == parked_.size()) {
    // Full: the oldest goes (its connection retransmits), as a neighbour queue does.
    rte_pktmbuf_free(parked_[0].m);
    counters_.drop_no_neighbor++;
    std::move(parked_.begin() + 1, parked_.end(), parked_.begin());
    --n_parked_;
  }
  parked_[n_parked_++] = Parked{.dst = dst, .m = m, .since = now};
  counters_.tx_parked++;
}

void Neighbors::release(Ticks now) noexcept {
  uint8_t kept = 0;
  for (uint8_t k = 0; k < n_parked_; ++k) {
    Parked& e = parked_[k];
    if (auto mac = resolve(e.dst, now)) {
      // The destination MAC is the frame's first six bytes.
      std::memcpy(rte_pktmbuf_mtod(e.m, std::byte*), mac->bytes().data(), 6);
      tx_.push(e.m, now);
    } else if (now - e.since > kParkTimeout) {
      rte_pktmbuf_free(e.m);
      counters_.drop_no_neighbor++;
    } else {
      parked_[kept++] = e;
    }
  }
  n_parked_ = kept;
}

void Neighbors::drop_parked() noexcept {
  for (uint8_t k = 0; k < n_parked_; ++k) {
    rte_pktmbuf_free(parked_[k].m);
  }
  n_parked_ = 0;
}

// --- learning and sharing ----------------------------------------------------------------

void Neighbors::learned(const wire::Ipv4Addr& ip, const wire::MacAddr& mac, Ticks now) noexcept {
  if (arp_.learn(ip, mac, now)) {
    counters_.arp_learned++;
  }
  // Every time, not only when new: the other Workers' entries age too, and the answer to
  // another Worker's request may arrive here.
  NeighborMsg msg;
  msg.port = index_;
  msg.v6 = 0;
  const uint32_t v = ip.value();
  msg.ip = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
            static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  std::memcpy(msg.mac.data(), mac.bytes().data(), 6);
  share(msg);
  if (n_parked_ > 0) {
    release(now);
  }
}

void Neighbors::learned(const wire::Ipv6Addr& ip, const wire::MacAddr& mac, Ticks now) noexcept {
  if (nd_.learn(ip, mac, now)) {
    counters_.nd_learned++;
  }
  NeighborMsg msg;
  msg.port = index_;
  msg.v6 = 1;
  std::memcpy(msg.ip.data(), ip.bytes().data(), 16);
  std::memcpy(msg.mac.data(), mac.bytes().data(), 6);
  share(msg);
  if (n_parked_ > 0) {
    release(now);
  }
}

void Neighbors::share(const NeighborMsg& msg) noexcept {
  if (mesh_ == nullptr) {
    return;
  }
  for (uint16_t to = 0; to < mesh_->workers(); ++to) {
    // rte_ring_enqueue_elem takes a void*: the message is copied into the ring.
    NeighborMsg copy = msg;
    if (to != self_ &&
        rte_ring_sp_enqueue_elem(mesh_->neighbors(self_, to), &copy, sizeof(NeighborMsg)) != 0) {
      counters_.drop_neighbor_share++;
    }
  }
}

void Neighbors::learn_shared(const NeighborMsg& msg, Ticks now) noexcept {
  const wire::MacAddr mac(msg.mac);
  if (msg.v6 != 0) {
    nd_.learn(wire::Ipv6Addr(msg.ip), mac, now);
  } else {
    arp_.learn(wire::Ipv4Addr(msg.ip[0], msg.ip[1], msg.ip[2], msg.ip[3]), mac, now);
  }
  counters_.neighbor_shared_in++;
  if (n_parked_ > 0) {
    release(now);
  }
}

void Neighbors::describe(Ticks now, std::vector<std::string>& out) const {
  arp_.for_each(now, [&](const wire::Ipv4Addr& ip, const wire::MacAddr& mac) {
    out.push_back(ip.to_string() + " lladdr " + mac.to_string());
  });
  nd_.for_each(now, [&](const wire::Ipv6Addr& ip, const wire::MacAddr& mac) {
    out.push_back(ip.to_string() + " lladdr " + mac.to_string());
  });
}

// --- the wire ----------------------------------------------------------------------------

void Neighbors::input_arp(const wire::EthView& eth, Ticks now) noexcept {
  auto arp = wire::ArpView::parse(eth.payload());
  if (!arp) {
    counters_.drop(telemetry::Layer::kArp, arp.error());
    return;
  }
  const bool for_us = iface_.is_local4(arp->tpa());
  if (arp->spa().is_unspecified() || arp->sha().is_multicast()) {
    counters_.drop(telemetry::Layer::kArp, wire::WireError::kBadAddress);
    return;
  }
  // Someone claiming our address, the subnet's broadcast, a multicast or loopback address, or
  // no MAC: never learned (it would point our replies at the claimant) and never answered.
  // (A sender with our MAC is not refused: net_tap gives the kernel's side of the tap the
  // PMD's own MAC.)
  if (iface_.is_martian_src4(arp->spa()) || arp->sha() == wire::MacAddr{}) {
    counters_.drop_arp_martian++;
    return;
  }
  if (for_us || arp_.lookup(arp->spa(), now)) {
    learned(arp->spa(), arp->sha(), now);
  }
  if (!for_us) {
    counters_.drop_not_for_us++;
    return;
  }
  if (!arp->is_request()) {
    return;  // a reply to us: learned above
  }
  rte_mbuf* m = alloc(kMinFrame);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin(), out.end(), std::byte{0});
  const size_t l2 = *wire::write_eth(out, arp->sha(), iface_.mac, wire::kEtherTypeArp);
  (void)*wire::write_arp(out.subspan(l2), wire::ArpOp::kReply, iface_.mac, arp->tpa(), arp->sha(),
                         arp->spa());
  counters_.arp_replied++;
  tx_.push(m, now);
}

bool Neighbors::input_nd(const wire::EthView& eth, const wire::Ipv6View& ip,
                         const wire::Icmpv6View& icmp, Ticks now) noexcept {
  if (icmp.is_neighbor_advert()) {
    // RFC 4861 §7.2.5: update the entry for the target from the target link-layer option.
    if (auto ll = icmp.target_ll(); ll) {
      learned(icmp.nd_target(), *ll, now);
    } else if (n_parked_ > 0) {
      release(now);
    }
    return true;
  }
  if (!icmp.is_neighbor_solicit()) {
    return false;
  }
  const wire::Ipv6Addr target = icmp.nd_target();
  if (!((iface_.has_ipv6 && target == iface_.ipv6) || target == iface_.link_local)) {
    counters_.drop_not_for_us++;
    return true;
  }
  // RFC 4861 §7.2.3: learn the solicitor's link-layer address (not from DAD probes, whose
  // source is unspecified), then answer with a solicited advertisement; a DAD probe is
  // answered to all-nodes, unsolicited.
  if (auto ll = icmp.source_ll(); ll && !ip.src().is_unspecified()) {
    learned(ip.src(), *ll, now);
  }
  send_neighbor_advert(eth, ip, icmp, now);
  return true;
}

void Neighbors::send_neighbor_advert(const wire::EthView& eth, const wire::Ipv6View& ip,
                                     const wire::Icmpv6View& icmp, Ticks now) noexcept {
  const wire::Ipv6Addr src = ip.src();
  const wire::Ipv6Addr reply_src = icmp.nd_target();
  const wire::Ipv6Addr reply_dst = src.is_unspecified() ? wire::Ipv6Addr::all_nodes() : src;
  constexpr size_t kBody = wire::Icmpv6View::kNdMinLen + 8;  // + target link-layer option
  constexpr size_t kLen = wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + kBody;
  static_assert(kLen >= kMinFrame);
  rte_mbuf* m = alloc(kLen);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  const wire::MacAddr l2 = icmp.source_ll() ? *icmp.source_ll() : eth.src();
  const wire::MacAddr l2_dst = reply_dst.is_multicast() ? reply_dst.multicast_mac() : l2;
  size_t off = *wire::write_eth(out, l2_dst, iface_.mac, wire::kEtherTypeIpv6);
  off += *wire::write_ipv6(out.subspan(off),
                           wire::Ipv6HeaderFields{.src = reply_src,
                                                  .dst = reply_dst,
                                                  .next_header = wire::kIpProtoIcmpv6,
                                                  .payload_len = kBody,
                                                  .hop_limit = wire::kNdHopLimit,
                                                  .traffic_class = 0,
                                                  .flow_label = 0});
  const wire::NaFlags flags{.router = false, .solicited = !src.is_unspecified(), .override = true};
  (void)*wire::write_icmpv6_na(out.subspan(off), reply_src, reply_dst, icmp.nd_target(), flags,
                               iface_.mac);
  counters_.nd_advert_sent++;
  tx_.push(m, now);
}

void Neighbors::send_arp_request(wire::Ipv4Addr target, Ticks now) noexcept {
  rte_mbuf* m = alloc(kMinFrame);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin(), out.end(), std::byte{0});
  const size_t l2 =
      *wire::write_eth(out, wire::MacAddr::broadcast(), iface_.mac, wire::kEtherTypeArp);
  (void)*wire::write_arp(out.subspan(l2), wire::ArpOp::kRequest, iface_.mac, iface_.ipv4,
                         wire::MacAddr(), target);
  counters_.arp_requests_sent++;
  tx_.push(m, now);
}

// RFC 4861 §7.2.2: a multicast solicitation to the target's solicited-node address, with our
// link-layer address in a source option, hop limit 255.
void Neighbors::send_neighbor_solicit(const wire::Ipv6Addr& target, Ticks now) noexcept {
  const wire::Ipv6Addr src =
      target.is_link_local() || !iface_.has_ipv6 ? iface_.link_local : iface_.ipv6;
  const wire::Ipv6Addr dst = target.solicited_node();
  constexpr size_t kBody = wire::Icmpv6View::kNdMinLen + 8;
  constexpr size_t kLen = wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + kBody;
  rte_mbuf* m = alloc(kLen);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  size_t off = *wire::write_eth(out, dst.multicast_mac(), iface_.mac, wire::kEtherTypeIpv6);
  off += *wire::write_ipv6(out.subspan(off),
                           wire::Ipv6HeaderFields{.src = src,
                                                  .dst = dst,
                                                  .next_header = wire::kIpProtoIcmpv6,
                                                  .payload_len = kBody,
                                                  .hop_limit = wire::kNdHopLimit,
                                                  .traffic_class = 0,
                                                  .flow_label = 0});
  (void)*wire::write_icmpv6_ns(out.subspan(off), src, dst, target, iface_.mac);
  counters_.nd_solicit_sent++;
  tx_.push(m, now);
}

}  // namespace tempo::stack
