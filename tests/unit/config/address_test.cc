// Address, prefix and endpoint text as the configuration writes it.
#include "config/address.h"

#include <gtest/gtest.h>

#include <tempo/config.h>

namespace tempo::config::detail {
namespace {

TEST(AddressTest, Ipv4RoundTripsInNetworkOrder) {
  const auto a = parse_ipv4("198.18.0.2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->bytes, (std::array<std::uint8_t, 4>{198, 18, 0, 2}));
  EXPECT_EQ(to_string(*a), "198.18.0.2");
  EXPECT_FALSE(parse_ipv4("198.18.0"));
  EXPECT_FALSE(parse_ipv4("198.18.0.256"));
  EXPECT_FALSE(parse_ipv4(" 198.18.0.2"));
  EXPECT_FALSE(parse_ipv4(std::string_view("1.2.3.4\0x", 9)));
}

TEST(AddressTest, Ipv6) {
  const auto a = parse_ipv6("2001:db8::2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->bytes[0], 0x20);
  EXPECT_EQ(a->bytes[1], 0x01);
  EXPECT_EQ(a->bytes[15], 0x02);
  EXPECT_EQ(to_string(*a), "2001:db8::2");
  EXPECT_FALSE(parse_ipv6("2001:db8::zz"));
  EXPECT_FALSE(parse_ipv6("198.18.0.1"));
}

TEST(AddressTest, PrefixesAndTheirLengthBounds) {
  bool bad_len = true;
  const auto p = parse_ipv4_prefix("198.18.0.2/24", bad_len);
  ASSERT_TRUE(p);
  EXPECT_FALSE(bad_len);
  EXPECT_EQ(p->len, 24);
  EXPECT_EQ(to_string(*p), "198.18.0.2/24");
  EXPECT_EQ(to_string(network_of(*p)), "198.18.0.0/24");
  EXPECT_TRUE(parse_ipv4_prefix("0.0.0.0/0", bad_len));
  EXPECT_TRUE(parse_ipv4_prefix("1.2.3.4/32", bad_len));
  EXPECT_FALSE(parse_ipv4_prefix("1.2.3.4/33", bad_len));
  EXPECT_TRUE(bad_len);
  EXPECT_FALSE(parse_ipv4_prefix("1.2.3.4/", bad_len));
  EXPECT_TRUE(bad_len);
  EXPECT_FALSE(parse_ipv4_prefix("1.2.3/8", bad_len));
  EXPECT_FALSE(bad_len);
  const auto q = parse_ipv6_prefix("2001:db8:1:ffff::1/50", bad_len);
  ASSERT_TRUE(q);
  EXPECT_EQ(to_string(network_of(*q)), "2001:db8:1:c000::/50");
  EXPECT_TRUE(parse_ipv6_prefix("::/0", bad_len));
  EXPECT_FALSE(parse_ipv6_prefix("::1/129", bad_len));
  EXPECT_TRUE(bad_len);
}

TEST(AddressTest, Endpoints) {
  const auto e = parse_ipv4_endpoint("198.18.0.1:8000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 8000);
  EXPECT_EQ(to_string(*e), "198.18.0.1:8000");
  EXPECT_TRUE(parse_ipv4_endpoint("1.2.3.4:65535"));
  EXPECT_FALSE(parse_ipv4_endpoint("1.2.3.4:65536"));
  EXPECT_FALSE(parse_ipv4_endpoint("1.2.3.4:0"));
  EXPECT_FALSE(parse_ipv4_endpoint("1.2.3.4:"));
  EXPECT_FALSE(parse_ipv4_endpoint("1.2.3.4"));
  EXPECT_FALSE(parse_ipv4_endpoint("1.2.3:80"));
}

}  // namespace
}  // namespace tempo::config::detail
