// ports[].routes6 in the real Worker on a ring port: IPv6 traffic to an off-link destination
// follows the route with the longest prefix holding it (stack::next_hop), gateway6 being only
// the default route. The Worker solicits the route's `via` (RFC 4861 §7.2.2: to its
// solicited-node address), and the SYN of an active open waits for the answer, then leaves
// with the MAC that router advertised; a destination no route holds goes to the gateway.
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

namespace tempo::conformance {
namespace {

using namespace flags;

wire::Ipv6Addr v6(const char* s) { return *wire::Ipv6Addr::parse(s); }

const wire::Ipv6Addr kTempo6 = v6("2001:db8::2");  // 2001:db8::/64
const wire::Ipv6Addr kGateway6 = v6("2001:db8::1");
const wire::MacAddr kGatewayMac{0x02, 0x00, 0x00, 0x00, 0x00, 0xa1};
const wire::Ipv6Addr kRouter6 = v6("2001:db8::fe");  // via of 2001:db8:99::/48
const wire::MacAddr kRouterMac{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
const wire::Ipv6Addr kBehindRouter = v6("2001:db8:99::5");
const wire::Ipv6Addr kElsewhere = v6("2001:db8:7::5");  // in no route: the gateway's
constexpr uint16_t kPort = 80;

RingWorkerConfig with_routes6() {
  RingWorkerConfig cfg = peer_config();
  cfg.ipv6 = {kTempo6, 64};
  cfg.gateway6 = kGateway6;
  cfg.routes6 = {{v6("2001:db8:99::"), 48, kRouter6}};
  return cfg;
}

// A solicited Neighbor Advertisement (RFC 4861 §4.4) from `addr` for itself, with its MAC in
// the target link-layer address option, to tempo.
std::vector<std::byte> neighbor_advert(const wire::MacAddr& mac, const wire::Ipv6Addr& addr) {
  constexpr size_t kBody = wire::Icmpv6View::kNdMinLen + 8;
  std::vector<std::byte> f(wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + kBody);
  size_t off = *wire::write_eth(f, kTempoMac, mac, wire::kEtherTypeIpv6);
  off += *wire::write_ipv6(std::span(f).subspan(off),
                           wire::Ipv6HeaderFields{.src = addr,
                                                  .dst = kTempo6,
                                                  .next_header = wire::kIpProtoIcmpv6,
                                                  .payload_len = kBody,
                                                  .hop_limit = wire::kNdHopLimit,
                                                  .traffic_class = 0,
                                                  .flow_label = 0});
  (void)*wire::write_icmpv6_na(std::span(f).subspan(off), addr, kTempo6, addr,
                               wire::NaFlags{.router = true, .solicited = true, .override = true},
                               mac);
  return f;
}

// What an IPv6 frame tempo sent is, as far as these tests look.
struct Sent6 {
  wire::MacAddr eth_dst;
  wire::Ipv6Addr dst;
  std::optional<wire::Ipv6Addr> ns_target;  // a Neighbor Solicitation for this address
  std::optional<uint8_t> tcp_flags;         // a TCP segment (checksum verified)
  uint16_t tcp_dport = 0;
};

std::vector<Sent6> parse(const std::vector<std::vector<std::byte>>& frames) {
  std::vector<Sent6> out;
  for (const auto& f : frames) {
    auto eth = wire::EthView::parse(f);
    EXPECT_TRUE(eth.ok());
    auto ip = wire::Ipv6View::parse(eth->payload());
    EXPECT_TRUE(ip.ok());
    if (!eth.ok() || !ip.ok()) {
      continue;
    }
    Sent6 s;
    s.eth_dst = eth->dst();
    s.dst = ip->dst();
    if (ip->protocol() == wire::kIpProtoIcmpv6) {
      auto icmp = wire::Icmpv6View::parse(*ip);
      EXPECT_TRUE(icmp.ok());
      if (icmp.ok() && icmp->is_neighbor_solicit()) {
        s.ns_target = icmp->nd_target();
      }
    } else if (ip->protocol() == wire::kIpProtoTcp) {
      EXPECT_TRUE(wire::verify_tcp_checksum_ipv6(ip->src(), ip->dst(), ip->payload()));
      auto tcp = wire::TcpView::parse(ip->payload());
      EXPECT_TRUE(tcp.ok());
      if (tcp.ok()) {
        s.tcp_flags = tcp->flags().bits();
        s.tcp_dport = tcp->dst_port();
      }
    }
    out.push_back(s);
  }
  return out;
}

stack::Remote remote6(const wire::Ipv6Addr& a) {
  stack::Remote r;
  r.v6 = true;
  r.ip6 = a;
  r.port = kPort;
  return r;
}

// A Worker on 2001:db8::2/64 whose gateway's MAC is known already: a SYN that took the
// default route would leave at once, with no solicitation.
class Routes6 : public ::testing::Test {
 protected:
  Routes6() : rw_(with_routes6()) {
    rw_.send_frame(neighbor_advert(kGatewayMac, kGateway6));
    (void)rw_.poll();  // the first poll also solicits the gateway (Worker::maintain)
    (void)rw_.take_ipv6_frames();
  }
  RingWorker rw_;
};

TEST_F(Routes6, SynToARoutedPrefixWaitsForTheViaRouterAndLeavesWithItsMac) {
  auto c = rw_.worker().connect(0, remote6(kBehindRouter), Peer::handler(), nullptr, {});
  ASSERT_TRUE(c.ok());
  (void)rw_.poll();
  std::vector<Sent6> sent = parse(rw_.take_ipv6_frames());
  // One solicitation, for the route's via (not the gateway), to its solicited-node address;
  // no SYN yet: it waits for the answer.
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].ns_target.has_value()) << "expected a neighbour solicitation";
  EXPECT_EQ(*sent[0].ns_target, kRouter6);
  EXPECT_EQ(sent[0].dst, kRouter6.solicited_node());
  EXPECT_EQ(sent[0].eth_dst, kRouter6.solicited_node().multicast_mac());
  EXPECT_EQ(rw_.worker().counters().nd_solicit_sent, 2u);  // the gateway's at start, this one

  // The router answers: the SYN leaves to its MAC, addressed to the host behind it.
  rw_.send_frame(neighbor_advert(kRouterMac, kRouter6));
  (void)rw_.poll();
  sent = parse(rw_.take_ipv6_frames());
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].tcp_flags.has_value()) << "expected the SYN";
  EXPECT_EQ(*sent[0].tcp_flags, kS);
  EXPECT_EQ(sent[0].tcp_dport, kPort);
  EXPECT_EQ(sent[0].dst, kBehindRouter);
  EXPECT_EQ(sent[0].eth_dst, kRouterMac);
}

// port_toward (an embedder's choice of port for connect): on-link, in a route, to the gateway
// all reach through the port; an IPv4 destination off the port's subnet with no gateway4 has
// no port.
TEST_F(Routes6, PortTowardIsThePortThatRoutesThereAndNoneWhereNothingDoes) {
  EXPECT_EQ(rw_.worker().port_toward(remote6(v6("2001:db8::77"))), std::optional<size_t>{0});
  EXPECT_EQ(rw_.worker().port_toward(remote6(kBehindRouter)), std::optional<size_t>{0});
  EXPECT_EQ(rw_.worker().port_toward(remote6(kElsewhere)), std::optional<size_t>{0});
  stack::Remote v4;
  v4.port = kPort;
  v4.ip4 = kPeerIp;
  EXPECT_EQ(rw_.worker().port_toward(v4), std::optional<size_t>{0});
  v4.ip4 = wire::Ipv4Addr{198, 19, 5, 9};
  EXPECT_EQ(rw_.worker().port_toward(v4), std::nullopt);
}

TEST_F(Routes6, SynOutsideEveryRouteLeavesAtOnceToTheGateway) {
  auto c = rw_.worker().connect(0, remote6(kElsewhere), Peer::handler(), nullptr, {});
  ASSERT_TRUE(c.ok());
  (void)rw_.poll();
  const std::vector<Sent6> sent = parse(rw_.take_ipv6_frames());
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].tcp_flags.has_value()) << "expected the SYN, not a solicitation";
  EXPECT_EQ(*sent[0].tcp_flags, kS);
  EXPECT_EQ(sent[0].dst, kElsewhere);
  EXPECT_EQ(sent[0].eth_dst, kGatewayMac);
}

}  // namespace
}  // namespace tempo::conformance
