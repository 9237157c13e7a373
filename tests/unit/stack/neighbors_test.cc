// Neighbors (lib/stack/neighbors.h) on a DPDK ring port, no Worker: solicitations at most one a
// second per next hop, ARP answered and learned (never from a claimant of our address), frames
// parked until their hop resolves (their MAC written then), aged out or dropped oldest first,
// neighbour solicitations answered with an advertisement, and entries shared through a Mesh.
#include "stack/neighbors.h"

#include <array>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include "common/eal_env.h"
#include "common/ring_port.h"
#include "wire/arp.h"
#include "wire/icmpv6.h"
#include "wire/ip_protocol.h"
#include "wire/ipv6.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

using wire::Ipv4Addr;
using wire::Ipv6Addr;
using wire::MacAddr;
using Frames = std::vector<std::vector<uint8_t>>;

const MacAddr kOurMac(0x02, 0, 0, 0, 0, 1);
const MacAddr kPeerMac(0x02, 0, 0, 0, 0, 2);
const Ipv4Addr kOurIp(198, 18, 0, 1);
const Ipv4Addr kPeerIp(198, 18, 0, 2);
const Ipv4Addr kGateway(198, 18, 0, 254);

Ipv6Addr v6(const char* s) { return *Ipv6Addr::parse(s); }

struct Port {
  explicit Port(bool gateway = true) : ring(1024, g_pool), tx(ring.port(), 0, counters) {
    iface.port_id = ring.port();
    iface.pool = g_pool;
    iface.mac = kOurMac;
    iface.ipv4 = kOurIp;
    iface.ipv4_prefix = 24;
    iface.has_ipv6 = true;
    iface.ipv6 = v6("2001:db8::1");
    iface.ipv6_prefix = 64;
    iface.link_local = Ipv6Addr::link_local_from_mac(kOurMac);
    if (gateway) {
      iface.gateway4 = kGateway;
    }
  }
  // What left the port since the last call.
  Frames sent(Ticks now = Ticks{}) {
    tx.send(now);
    return ring.sent();
  }
  test::RingPort ring;
  telemetry::StackCounters counters;
  TxBatch tx;
  Interface iface;
};

uint16_t ethertype(const std::vector<uint8_t>& f) {
  return static_cast<uint16_t>(f[12] << 8 | f[13]);
}
MacAddr eth_dst(const std::vector<uint8_t>& f) {
  return MacAddr(f[0], f[1], f[2], f[3], f[4], f[5]);
}
// The ARP target protocol address of an ARP frame.
Ipv4Addr arp_tpa(const std::vector<uint8_t>& f) { return Ipv4Addr(f[38], f[39], f[40], f[41]); }
uint16_t arp_op(const std::vector<uint8_t>& f) { return static_cast<uint16_t>(f[20] << 8 | f[21]); }

// An ARP frame from kPeerMac.
std::vector<std::byte> arp_frame(wire::ArpOp op, Ipv4Addr spa, Ipv4Addr tpa,
                                 MacAddr sha = kPeerMac) {
  std::vector<std::byte> f(60);
  const size_t l2 = *wire::write_eth(f, MacAddr::broadcast(), sha, wire::kEtherTypeArp);
  (void)*wire::write_arp(std::span(f).subspan(l2), op, sha, spa, MacAddr(), tpa);
  return f;
}

// A frame parked for later: 60 bytes, destination MAC zero, a tag at byte 20.
rte_mbuf* parked_frame(uint8_t tag) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));
  std::memset(d, 0, 60);
  d[20] = tag;
  return m;
}

TEST(Neighbors, AnUnresolvedNextHopIsSolicitedAtMostOnceASecond) {
  Port p;
  Neighbors n(p.iface, 0, p.tx, p.counters);
  // (Time starts at 100 ms: the Worker's clock is never 0.)
  EXPECT_FALSE(n.resolve(kPeerIp, Ticks::from_ms(100)));
  EXPECT_FALSE(n.resolve(kPeerIp, Ticks::from_ms(600)));
  Frames f = p.sent();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(ethertype(f[0]), wire::kEtherTypeArp);
  EXPECT_EQ(eth_dst(f[0]), MacAddr::broadcast());
  EXPECT_EQ(arp_tpa(f[0]), kPeerIp);
  EXPECT_FALSE(n.resolve(kPeerIp, Ticks::from_ms(1100)));
  EXPECT_EQ(p.sent().size(), 1u);
  // Off-link: the gateway is asked for, not the destination.
  EXPECT_FALSE(n.resolve(Ipv4Addr(198, 19, 5, 5), Ticks::from_ms(1200)));
  f = p.sent();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(arp_tpa(f[0]), kGateway);
  // Only the cache read: nothing sent.
  EXPECT_FALSE(n.resolve(Ipv4Addr(198, 18, 0, 77), Ticks::from_ms(1300), false));
  EXPECT_TRUE(p.sent().empty());
  EXPECT_EQ(p.counters.arp_requests_sent, 3u);
}

TEST(Neighbors, NoRouteNoSolicitation) {
  Port p(/*gateway=*/false);
  Neighbors n(p.iface, 0, p.tx, p.counters);
  EXPECT_FALSE(n.resolve(Ipv4Addr(198, 19, 5, 5), Ticks{}));
  EXPECT_TRUE(p.sent().empty());
}

TEST(Neighbors, AnArpRequestForUsIsAnsweredLearnedAndReleasesWhatWaited) {
  Port p;
  Neighbors n(p.iface, 0, p.tx, p.counters);
  const Remote peer{.v6 = false, .ip4 = kPeerIp, .ip6 = {}, .port = 80};
  n.park(peer, parked_frame(7), Ticks{});
  EXPECT_EQ(n.parked(), 1u);
  const std::vector<std::byte> req = arp_frame(wire::ArpOp::kRequest, kPeerIp, kOurIp);
  n.input_arp(*wire::EthView::parse(req), Ticks::from_ms(10));
  EXPECT_EQ(n.parked(), 0u);
  const Frames f = p.sent();
  ASSERT_EQ(f.size(), 2u);
  // The parked frame, its destination MAC now the peer's.
  EXPECT_EQ(f[0][20], 7);
  EXPECT_EQ(eth_dst(f[0]), kPeerMac);
  // The reply.
  EXPECT_EQ(ethertype(f[1]), wire::kEtherTypeArp);
  EXPECT_EQ(arp_op(f[1]), 2);
  EXPECT_EQ(eth_dst(f[1]), kPeerMac);
  EXPECT_EQ(n.resolve(kPeerIp, Ticks::from_ms(20)), kPeerMac);
  EXPECT_EQ(p.counters.arp_replied, 1u);
  EXPECT_EQ(p.counters.arp_learned, 1u);
}

TEST(Neighbors, ArpFromAClaimantOfOurAddressIsNeitherLearnedNorAnswered) {
  Port p;
  Neighbors n(p.iface, 0, p.tx, p.counters);
  const std::vector<std::byte> req = arp_frame(wire::ArpOp::kRequest, kOurIp, kOurIp);
  n.input_arp(*wire::EthView::parse(req), Ticks{});
  EXPECT_TRUE(p.sent().empty());
  EXPECT_EQ(p.counters.drop_arp_martian, 1u);
  // Not for us, sender unknown: not learned either.
  const std::vector<std::byte> other =
      arp_frame(wire::ArpOp::kRequest, kPeerIp, Ipv4Addr(198, 18, 0, 9));
  n.input_arp(*wire::EthView::parse(other), Ticks{});
  EXPECT_FALSE(n.resolve(kPeerIp, Ticks{}, false));
  EXPECT_EQ(p.counters.drop_not_for_us, 1u);
}

TEST(Neighbors, ParkedFramesAgeOutAndTheOldestGoesWhenAllAreInUse) {
  Port p;
  Neighbors n(p.iface, 0, p.tx, p.counters);
  const Remote peer{.v6 = false, .ip4 = kPeerIp, .ip6 = {}, .port = 80};
  for (uint8_t i = 0; i <= Neighbors::kMaxParked; ++i) {
    n.park(peer, parked_frame(i), Ticks{});
  }
  EXPECT_EQ(n.parked(), Neighbors::kMaxParked);
  EXPECT_EQ(p.counters.drop_no_neighbor, 1u);
  (void)p.sent();  // the ARP requests of release() below are not what this test looks at
  n.release(Ticks::from_ms(2000));  // not yet
  EXPECT_EQ(n.parked(), Neighbors::kMaxParked);
  n.release(Neighbors::kParkTimeout + Ticks::from_ms(1));
  EXPECT_EQ(n.parked(), 0u);
  EXPECT_EQ(p.counters.drop_no_neighbor, 1u + Neighbors::kMaxParked);
  for (const auto& f : p.sent()) {
    EXPECT_EQ(ethertype(f), wire::kEtherTypeArp);  // solicitations only: no parked frame left
  }
}

// A neighbour solicitation from fe80::2 (kPeerMac) for `target`, as a full Ethernet frame.
std::vector<std::byte> ns_frame(const Ipv6Addr& target, const Ipv6Addr& src) {
  // DAD (from ::) carries no source link-layer option (RFC 4861 §7.1.1): 8 bytes shorter.
  const uint16_t body = src.is_unspecified() ? 24 : 32;
  std::vector<std::byte> f(14 + 40 + body);
  size_t off =
      *wire::write_eth(f, target.solicited_node().multicast_mac(), kPeerMac, wire::kEtherTypeIpv6);
  off += *wire::write_ipv6(std::span(f).subspan(off),
                           wire::Ipv6HeaderFields{.src = src,
                                                  .dst = target.solicited_node(),
                                                  .next_header = wire::kIpProtoIcmpv6,
                                                  .payload_len = body,
                                                  .hop_limit = wire::kNdHopLimit,
                                                  .traffic_class = 0,
                                                  .flow_label = 0});
  (void)*wire::write_icmpv6_ns(std::span(f).subspan(off), src, target.solicited_node(), target,
                               src.is_unspecified() ? std::nullopt : std::optional(kPeerMac));
  return f;
}

TEST(Neighbors, ASolicitationForOurAddressIsAnsweredAndItsSenderLearned) {
  Port p;
  Neighbors n(p.iface, 0, p.tx, p.counters);
  const Ipv6Addr peer = v6("fe80::2");
  const std::vector<std::byte> f = ns_frame(p.iface.ipv6, peer);
  auto eth = wire::EthView::parse(f);
  auto ip = wire::Ipv6View::parse(eth->payload());
  auto icmp = wire::Icmpv6View::parse(*ip);
  ASSERT_TRUE(icmp);
  EXPECT_TRUE(n.input_nd(*eth, *ip, *icmp, Ticks{}));
  const Frames out = p.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(eth_dst(out[0]), kPeerMac);
  EXPECT_EQ(out[0][14 + 40], wire::kIcmpv6NeighborAdvert);
  EXPECT_EQ(out[0][14 + 40 + 4] & 0x40, 0x40);  // solicited
  EXPECT_EQ(n.resolve(peer, Ticks{}, false), kPeerMac);
  // A DAD probe (from ::): answered to all-nodes, unsolicited, nothing learned.
  const std::vector<std::byte> dad = ns_frame(p.iface.ipv6, Ipv6Addr());
  eth = wire::EthView::parse(dad);
  ip = wire::Ipv6View::parse(eth->payload());
  icmp = wire::Icmpv6View::parse(*ip);
  ASSERT_TRUE(icmp);
  EXPECT_TRUE(n.input_nd(*eth, *ip, *icmp, Ticks{}));
  const Frames dad_out = p.sent();
  ASSERT_EQ(dad_out.size(), 1u);
  EXPECT_EQ(eth_dst(dad_out[0]), Ipv6Addr::all_nodes().multicast_mac());
  EXPECT_EQ(dad_out[0][14 + 40 + 4] & 0x40, 0);
  EXPECT_EQ(p.counters.nd_advert_sent, 2u);
  EXPECT_EQ(p.counters.nd_learned, 1u);
  // Not ours: not answered.
  const std::vector<std::byte> other = ns_frame(v6("2001:db8::77"), peer);
  eth = wire::EthView::parse(other);
  ip = wire::Ipv6View::parse(eth->payload());
  icmp = wire::Icmpv6View::parse(*ip);
  EXPECT_TRUE(n.input_nd(*eth, *ip, *icmp, Ticks{}));
  EXPECT_TRUE(p.sent().empty());
}

TEST(Neighbors, IPv6ResolutionAsksTheGatewayForOffLinkAndNobodyForMulticast) {
  Port p;
  p.iface.gateway6 = v6("2001:db8::fe");
  Neighbors n(p.iface, 0, p.tx, p.counters);
  EXPECT_EQ(n.resolve(v6("ff02::1"), Ticks{}), Ipv6Addr::all_nodes().multicast_mac());
  EXPECT_TRUE(p.sent().empty());
  EXPECT_FALSE(n.resolve(v6("2001:db9::5"), Ticks{}));
  const Frames f = p.sent();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(eth_dst(f[0]), v6("2001:db8::fe").solicited_node().multicast_mac());
  EXPECT_EQ(p.counters.nd_solicit_sent, 1u);
}

TEST(Neighbors, WhatOneLearnsFromTheWireTheOthersLearnThroughTheMesh) {
  auto mesh = Mesh::create(2, "nbrtest");
  ASSERT_TRUE(mesh);
  Port p0;
  Port p1;
  Neighbors n0(p0.iface, 0, p0.tx, p0.counters);
  Neighbors n1(p1.iface, 0, p1.tx, p1.counters);
  n0.join(mesh->get(), 0);
  n1.join(mesh->get(), 1);
  const std::vector<std::byte> reply = arp_frame(wire::ArpOp::kReply, kPeerIp, kOurIp);
  n0.input_arp(*wire::EthView::parse(reply), Ticks{});
  std::array<NeighborMsg, 4> in;
  const unsigned got = rte_ring_sc_dequeue_burst_elem((*mesh)->neighbors(0, 1), in.data(),
                                                      sizeof(NeighborMsg), in.size(), nullptr);
  ASSERT_EQ(got, 1u);
  EXPECT_FALSE(n1.resolve(kPeerIp, Ticks{}, false));
  n1.learn_shared(in[0], Ticks{});
  EXPECT_EQ(n1.resolve(kPeerIp, Ticks{}, false), kPeerMac);
  EXPECT_EQ(p1.counters.neighbor_shared_in, 1u);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("neighbors_test"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("nbr", 2047, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
