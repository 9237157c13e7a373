#include "wire/ethernet.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::to_vec;

TEST(Ethernet, Deconstruct) {
  const auto v = EthView::parse(bytes(testdata::kEthIpv4TcpSyn));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->dst(), MacAddr(0x52, 0x54, 0x00, 0x12, 0x34, 0x56));
  EXPECT_EQ(v->src(), MacAddr(0x02, 0, 0, 0, 0, 0x01));
  EXPECT_EQ(v->ethertype(), kEtherTypeIpv4);
  EXPECT_FALSE(v->has_vlan());
  EXPECT_EQ(v->vlan_count(), 0u);
  EXPECT_EQ(v->vlan_tci(), 0);
  EXPECT_EQ(v->header_length(), 14u);
  EXPECT_EQ(v->payload().size(), testdata::kEthIpv4TcpSyn.size() - 14);
  EXPECT_EQ(static_cast<int>(v->payload()[0]), 0x45);
}

TEST(Ethernet, DeconstructVlan) {
  const auto v = EthView::parse(bytes(testdata::kEthVlanArpRequest));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->dst().is_broadcast());
  EXPECT_TRUE(v->has_vlan());
  EXPECT_EQ(v->vlan_count(), 1u);
  EXPECT_EQ(v->vlan_tci(), 0x2064);
  EXPECT_EQ(v->vlan_id(), 100);
  EXPECT_EQ(v->outer_vlan_tci(), 0x2064);
  EXPECT_EQ(v->ethertype(), kEtherTypeArp);
  EXPECT_EQ(v->header_length(), 18u);
  EXPECT_EQ(v->payload().size(), testdata::kEthVlanArpRequest.size() - 18);
}

TEST(Ethernet, QinQ) {
  auto f = testing::bytes_of({1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,  12,
                              0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x86, 0xdd, 0xaa});
  const auto v = EthView::parse(f);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->vlan_count(), 2u);
  EXPECT_EQ(v->outer_vlan_tci(), 0x000a);
  EXPECT_EQ(v->vlan_tci(), 0x0014);
  EXPECT_EQ(v->ethertype(), kEtherTypeIpv6);
  ASSERT_EQ(v->payload().size(), 1u);
  // A third tag is more than tempo strips.
  auto f3 = testing::bytes_of({1,    2,    3,    4,    5,    6,    7,    8,    9,
                               10,   11,   12,   0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00,
                               0x00, 0x14, 0x81, 0x00, 0x00, 0x1e, 0x08, 0x00});
  EXPECT_EQ(EthView::parse(f3).error(), WireError::kUnsupported);
}

TEST(Ethernet, TruncatedAtEachBoundary) {
  const auto full = bytes(testdata::kEthVlanArpRequest);
  for (size_t n = 0; n < 18; ++n) {
    const auto v = EthView::parse(full.first(n));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), WireError::kTruncated) << n;
  }
  EXPECT_TRUE(EthView::parse(full.first(18)).ok());
  EXPECT_TRUE(EthView::parse(full.first(18))->payload().empty());
  EXPECT_TRUE(EthView::parse(bytes(testdata::kEthIpv4TcpSyn).first(14)).ok());
}

TEST(Ethernet, Construct) {
  std::vector<std::byte> out(14);
  const auto n = write_eth(out, MacAddr(0x52, 0x54, 0x00, 0x12, 0x34, 0x56),
                           MacAddr(0x02, 0, 0, 0, 0, 0x01), kEtherTypeIpv4);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 14u);
  EXPECT_EQ(out, to_vec(bytes(testdata::kEthIpv4TcpSyn).first(14)));
}

TEST(Ethernet, ConstructVlan) {
  std::vector<std::byte> out(18);
  const auto n = write_eth_vlan(out, MacAddr::broadcast(), MacAddr(0x02, 0, 0, 0, 0, 0x01), 0x2064,
                                kEtherTypeArp);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 18u);
  EXPECT_EQ(out, to_vec(bytes(testdata::kEthVlanArpRequest).first(18)));
}

TEST(Ethernet, ConstructNoSpace) {
  std::vector<std::byte> out(17);
  EXPECT_EQ(write_eth(std::span(out).first(13), MacAddr(), MacAddr(), 0).error(),
            WireError::kNoSpace);
  EXPECT_EQ(write_eth_vlan(out, MacAddr(), MacAddr(), 0, 0).error(), WireError::kNoSpace);
}

}  // namespace
}  // namespace tempo::wire
