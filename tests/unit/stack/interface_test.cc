// next_hop() (stack/interface.cc), the routing decision over one port: on-link (the port's
// prefix, and for IPv6 link-local) first, then the route with the longest prefix holding the
// destination, then the gateway as the default route; no route at all is nullopt.
#include "stack/interface.h"

#include <optional>

#include <gtest/gtest.h>

namespace tempo::stack {
namespace {

wire::Ipv6Addr v6(const char* s) { return *wire::Ipv6Addr::parse(s); }

// 2001:db8::2/64, no gateway and no routes unless a test adds them.
Interface port6() {
  Interface i;
  i.has_ipv6 = true;
  i.ipv6 = v6("2001:db8::2");
  i.ipv6_prefix = 64;
  i.link_local = v6("fe80::2");
  return i;
}

std::optional<wire::Ipv6Addr> hop(const Interface& i, const char* dst) {
  return next_hop(i, v6(dst));
}

TEST(NextHop6, OnLinkDestinationIsItsOwnHop) {
  Interface i = port6();
  i.gateway6 = v6("2001:db8::1");
  EXPECT_EQ(hop(i, "2001:db8::99"), v6("2001:db8::99"));
  EXPECT_EQ(hop(i, "2001:db8::ffff:ffff:ffff:ffff"), v6("2001:db8::ffff:ffff:ffff:ffff"));
}

TEST(NextHop6, LinkLocalIsOnLinkWithoutAnAddressOrRoute) {
  Interface i = port6();
  i.has_ipv6 = false;
  EXPECT_EQ(hop(i, "fe80::1234"), v6("fe80::1234"));
  EXPECT_EQ(hop(i, "febf::1"), v6("febf::1"));      // the top of fe80::/10
  EXPECT_EQ(hop(i, "fec0::1"), std::nullopt);       // just past it: no route
  EXPECT_EQ(hop(i, "2001:db8::99"), std::nullopt);  // no address: nothing is on-link
}

TEST(NextHop6, OnLinkComesBeforeAnyRoute) {
  Interface i = port6();
  i.routes6.push_back({v6("2001:db8::"), 96, v6("fe80::fe")});  // inside the port's /64
  EXPECT_EQ(hop(i, "2001:db8::99"), v6("2001:db8::99"));
}

TEST(NextHop6, LongestPrefixAmongRoutesWins) {
  Interface i = port6();
  i.gateway6 = v6("2001:db8::1");
  i.routes6.push_back({v6("2001:db8:100::"), 40, v6("2001:db8::a")});
  i.routes6.push_back({v6("2001:db8:100:4000::"), 50, v6("2001:db8::b")});  // inside the /40
  i.routes6.push_back({v6("2001:db8:100::"), 48, v6("2001:db8::c")});       // inside the /40
  EXPECT_EQ(hop(i, "2001:db8:100:4000::5"), v6("2001:db8::b"));             // /50 over /48 and /40
  EXPECT_EQ(hop(i, "2001:db8:100:3fff::5"), v6("2001:db8::c"));  // one bit outside the /50
  EXPECT_EQ(hop(i, "2001:db8:101::5"), v6("2001:db8::a"));       // the /40 alone
  EXPECT_EQ(hop(i, "2001:db8:200::5"), v6("2001:db8::1"));       // outside the /40: gateway
}

TEST(NextHop6, OrderOfRoutesDoesNotMatter) {
  Interface i = port6();
  i.routes6.push_back({v6("2001:db8:100::"), 48, v6("2001:db8::c")});
  i.routes6.push_back({v6("2001:db8:100::"), 40, v6("2001:db8::a")});
  EXPECT_EQ(hop(i, "2001:db8:100::5"), v6("2001:db8::c"));
}

// Prefix lengths that end inside a byte: both sides of each boundary.
TEST(NextHop6, PrefixLengthsOffByteBoundaries) {
  Interface i = port6();
  i.routes6.push_back({v6("2001:d80::"), 25, v6("2001:db8::25")});       // 2001:d80-dff
  i.routes6.push_back({v6("2001:db8:aa80::"), 41, v6("2001:db8::41")});  // 2001:db8:aa80-aaff
  EXPECT_EQ(hop(i, "2001:db8:aa80::1"), v6("2001:db8::41"));
  EXPECT_EQ(hop(i, "2001:db8:aaff::1"), v6("2001:db8::41"));
  EXPECT_EQ(hop(i, "2001:db8:aa7f::1"), v6("2001:db8::25"));  // just below the /41
  EXPECT_EQ(hop(i, "2001:db8:ab00::1"), v6("2001:db8::25"));  // just above it
  EXPECT_EQ(hop(i, "2001:d80::1"), v6("2001:db8::25"));
  EXPECT_EQ(hop(i, "2001:dff::1"), v6("2001:db8::25"));
  EXPECT_EQ(hop(i, "2001:d7f::1"), std::nullopt);  // just below the /25
  EXPECT_EQ(hop(i, "2001:e00::1"), std::nullopt);  // just above it
}

TEST(NextHop6, HostRouteAndDefaultRoute) {
  Interface i = port6();
  i.gateway6 = v6("2001:db8::1");
  i.routes6.push_back({v6("::"), 0, v6("2001:db8::d")});  // a default route of its own
  i.routes6.push_back({v6("2001:db8:9::7"), 128, v6("2001:db8::7")});
  EXPECT_EQ(hop(i, "2001:db8:9::7"), v6("2001:db8::7"));
  EXPECT_EQ(hop(i, "2001:db8:9::8"), v6("2001:db8::d"));  // a route, even ::/0, beats gateway6
}

TEST(NextHop6, GatewayIsTheDefaultRoute) {
  Interface i = port6();
  i.gateway6 = v6("fe80::1");
  EXPECT_EQ(hop(i, "2001:db8:1::5"), v6("fe80::1"));
  EXPECT_EQ(hop(i, "2606:4700::1"), v6("fe80::1"));
}

TEST(NextHop6, NoRouteIsNullopt) {
  Interface i = port6();
  i.routes6.push_back({v6("2001:db8:100::"), 48, v6("2001:db8::c")});
  EXPECT_EQ(hop(i, "2001:db8:1::5"), std::nullopt);
  EXPECT_EQ(hop(i, "::"), std::nullopt);  // never a destination (RFC 4291 §2.5.2)
  i.gateway6 = v6("2001:db8::1");
  EXPECT_EQ(hop(i, "::"), std::nullopt);
}

// IPv4, the same decision (it moved here from worker.cc).
TEST(NextHop4, OnLinkThenLongestRouteThenGateway) {
  Interface i;
  i.ipv4 = wire::Ipv4Addr(198, 18, 0, 2);
  i.ipv4_prefix = 24;
  EXPECT_EQ(next_hop(i, wire::Ipv4Addr(198, 18, 0, 9)), wire::Ipv4Addr(198, 18, 0, 9));
  EXPECT_EQ(next_hop(i, wire::Ipv4Addr(198, 19, 0, 9)), std::nullopt);
  i.gateway4 = wire::Ipv4Addr(198, 18, 0, 1);
  i.routes4.push_back({wire::Ipv4Addr(198, 19, 0, 0), 16, wire::Ipv4Addr(198, 18, 0, 16)});
  i.routes4.push_back({wire::Ipv4Addr(198, 19, 4, 0), 22, wire::Ipv4Addr(198, 18, 0, 22)});
  EXPECT_EQ(next_hop(i, wire::Ipv4Addr(198, 19, 7, 1)), wire::Ipv4Addr(198, 18, 0, 22));
  EXPECT_EQ(next_hop(i, wire::Ipv4Addr(198, 19, 8, 1)), wire::Ipv4Addr(198, 18, 0, 16));
  EXPECT_EQ(next_hop(i, wire::Ipv4Addr(10, 0, 0, 1)), wire::Ipv4Addr(198, 18, 0, 1));
}

}  // namespace
}  // namespace tempo::stack
