#include <gtest/gtest.h>

#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"
#include "wire/mac_addr.h"

namespace tempo::wire {
namespace {

TEST(MacAddr, ParseAndFormat) {
  const auto m = MacAddr::parse("52:54:00:AB:cd:0f");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, MacAddr(0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f));
  EXPECT_EQ(m->to_string(), "52:54:00:ab:cd:0f");
  EXPECT_EQ(MacAddr::parse("52-54-00-ab-cd-0f").value(), *m);
}

TEST(MacAddr, ParseRejects) {
  for (const char* s : {"", "52:54:00:ab:cd", "52:54:00:ab:cd:0f:", "52:54:00:ab:cd:0g",
                        "52:54-00:ab:cd:0f", "5254.00ab.cd0f.00", "52:54:00:ab:cd:0f0"}) {
    const auto m = MacAddr::parse(s);
    ASSERT_FALSE(m.ok()) << s;
    EXPECT_EQ(m.error(), WireError::kBadAddress);
  }
}

TEST(MacAddr, Kinds) {
  EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddr::broadcast().is_multicast());
  EXPECT_TRUE(MacAddr(0x33, 0x33, 0, 0, 0, 1).is_multicast());
  EXPECT_FALSE(MacAddr(0x33, 0x33, 0, 0, 0, 1).is_broadcast());
  EXPECT_TRUE(MacAddr(0x02, 0, 0, 0, 0, 1).is_unicast());
  EXPECT_TRUE(MacAddr().is_zero());
  EXPECT_FALSE(MacAddr(0, 0, 0, 0, 0, 1).is_zero());
}

TEST(MacAddr, LoadStore) {
  std::byte buf[6];
  MacAddr(1, 2, 3, 4, 5, 6).store(buf);
  EXPECT_EQ(static_cast<int>(buf[0]), 1);
  EXPECT_EQ(static_cast<int>(buf[5]), 6);
  EXPECT_EQ(MacAddr::load(buf), MacAddr(1, 2, 3, 4, 5, 6));
}

TEST(Ipv4Addr, ParseAndFormat) {
  const auto a = Ipv4Addr::parse("198.18.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value(), 0xc6120001u);
  EXPECT_EQ(*a, Ipv4Addr(198, 18, 0, 1));
  EXPECT_EQ(a->to_string(), "198.18.0.1");
  EXPECT_EQ(Ipv4Addr::parse("255.255.255.255")->value(), 0xffffffffu);
  EXPECT_EQ(Ipv4Addr::parse("0.0.0.0")->value(), 0u);
}

TEST(Ipv4Addr, ParseRejects) {
  for (const char* s : {"", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1..3.4",
                        "a.b.c.d", "1.2.3.4 ", " 1.2.3.4", "1.2.3.1000", "-1.2.3.4"}) {
    const auto a = Ipv4Addr::parse(s);
    ASSERT_FALSE(a.ok()) << s;
    EXPECT_EQ(a.error(), WireError::kBadAddress);
  }
}

TEST(Ipv4Addr, KindsAndWireOrder) {
  EXPECT_TRUE(Ipv4Addr(224, 0, 0, 1).is_multicast());
  EXPECT_TRUE(Ipv4Addr(239, 255, 255, 255).is_multicast());
  EXPECT_FALSE(Ipv4Addr(240, 0, 0, 1).is_multicast());
  EXPECT_TRUE(Ipv4Addr(127, 0, 0, 1).is_loopback());
  EXPECT_TRUE(Ipv4Addr(255, 255, 255, 255).is_broadcast());
  EXPECT_TRUE(Ipv4Addr().is_unspecified());
  std::byte buf[4];
  Ipv4Addr(198, 18, 0, 2).store(buf);
  EXPECT_EQ(static_cast<int>(buf[0]), 198);
  EXPECT_EQ(static_cast<int>(buf[3]), 2);
  EXPECT_EQ(Ipv4Addr::load(buf), Ipv4Addr(198, 18, 0, 2));
  EXPECT_LT(Ipv4Addr(10, 0, 0, 1), Ipv4Addr(10, 0, 0, 2));
}

TEST(Ipv6Addr, ParseAndFormat) {
  const auto a = Ipv6Addr::parse("2001:db8::2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bytes()[0], 0x20);
  EXPECT_EQ(a->bytes()[1], 0x01);
  EXPECT_EQ(a->bytes()[2], 0x0d);
  EXPECT_EQ(a->bytes()[15], 0x02);
  EXPECT_EQ(a->to_string(), "2001:db8::2");
  // RFC 5952 canonical form: lower case, longest zero run compressed.
  EXPECT_EQ(Ipv6Addr::parse("2001:0DB8:0:0:1:0:0:1")->to_string(), "2001:db8::1:0:0:1");
  EXPECT_EQ(Ipv6Addr::parse("::ffff:198.18.0.1")->bytes()[12], 198);
  EXPECT_TRUE(Ipv6Addr::parse("::")->is_unspecified());
  EXPECT_TRUE(Ipv6Addr::parse("::1")->is_loopback());
}

TEST(Ipv6Addr, ParseRejects) {
  for (const char* s :
       {"", ":", "2001:db8::1::2", "2001:db8:::1", "12345::", "g::1", "1:2:3:4:5:6:7:8:9",
        "fe80::1%eth0", "0000:0000:0000:0000:0000:0000:0000:0000:0000"}) {
    const auto a = Ipv6Addr::parse(s);
    ASSERT_FALSE(a.ok()) << s;
    EXPECT_EQ(a.error(), WireError::kBadAddress);
  }
}

TEST(Ipv6Addr, SolicitedNodeAndMulticastMac) {
  // RFC 4291 §2.7.1 example shape: ff02::1:ffXX:XXXX from the low 24 bits.
  const auto a = Ipv6Addr::parse("2001:db8::aabb:ccdd").value();
  EXPECT_EQ(a.solicited_node(), Ipv6Addr::parse("ff02::1:ffbb:ccdd").value());
  EXPECT_TRUE(a.solicited_node().is_multicast());
  // RFC 2464 §7: 33:33 + the last four bytes.
  EXPECT_EQ(a.solicited_node().multicast_mac(), MacAddr(0x33, 0x33, 0xff, 0xbb, 0xcc, 0xdd));
  EXPECT_EQ(Ipv6Addr::all_nodes().multicast_mac(), MacAddr(0x33, 0x33, 0, 0, 0, 1));
}

TEST(Ipv6Addr, LinkLocalFromMac) {
  const auto ll = Ipv6Addr::link_local_from_mac(MacAddr(0x52, 0x54, 0x00, 0x12, 0x34, 0x56));
  EXPECT_EQ(ll, Ipv6Addr::parse("fe80::5054:ff:fe12:3456").value());
  EXPECT_TRUE(ll.is_link_local());
  EXPECT_FALSE(Ipv6Addr::parse("fec0::1")->is_link_local());
}

}  // namespace
}  // namespace tempo::wire
