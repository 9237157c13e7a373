#include "wire/arp.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"
#include "wire/ethernet.h"

namespace tempo::wire {
namespace {

using testdata::bytes;

std::span<const std::byte> arp_bytes() { return bytes(testdata::kEthVlanArpRequest).subspan(18); }

TEST(Arp, Deconstruct) {
  const auto v = ArpView::parse(arp_bytes());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->op(), 1);
  EXPECT_TRUE(v->is_request());
  EXPECT_FALSE(v->is_reply());
  EXPECT_EQ(v->sha(), MacAddr(0x02, 0, 0, 0, 0, 0x01));
  EXPECT_EQ(v->spa(), Ipv4Addr(198, 18, 0, 1));
  EXPECT_TRUE(v->tha().is_zero());
  EXPECT_EQ(v->tpa(), Ipv4Addr(198, 18, 0, 2));
  // The Ethernet padding after the 28 bytes is not part of the view.
  EXPECT_EQ(v->bytes().size(), 28u);
}

TEST(Arp, Construct) {
  std::vector<std::byte> out(28);
  const auto n = write_arp(out, ArpOp::kRequest, MacAddr(0x02, 0, 0, 0, 0, 0x01),
                           Ipv4Addr(198, 18, 0, 1), MacAddr(), Ipv4Addr(198, 18, 0, 2));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 28u);
  EXPECT_EQ(out, testing::to_vec(arp_bytes().first(28)));
}

TEST(Arp, ReplyRoundTrip) {
  std::vector<std::byte> out(28);
  ASSERT_TRUE(write_arp(out, ArpOp::kReply, MacAddr(0x52, 0x54, 0, 0x12, 0x34, 0x56),
                        Ipv4Addr(198, 18, 0, 2), MacAddr(0x02, 0, 0, 0, 0, 0x01),
                        Ipv4Addr(198, 18, 0, 1))
                  .ok());
  const auto v = ArpView::parse(out);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_reply());
  EXPECT_EQ(v->sha(), MacAddr(0x52, 0x54, 0, 0x12, 0x34, 0x56));
  EXPECT_EQ(v->tha(), MacAddr(0x02, 0, 0, 0, 0, 0x01));
  EXPECT_EQ(v->spa(), Ipv4Addr(198, 18, 0, 2));
  EXPECT_EQ(v->tpa(), Ipv4Addr(198, 18, 0, 1));
  EXPECT_EQ(write_arp(std::span(out).first(27), ArpOp::kReply, MacAddr(), Ipv4Addr(), MacAddr(),
                      Ipv4Addr())
                .error(),
            WireError::kNoSpace);
}

TEST(Arp, Truncated) {
  for (size_t n = 0; n < 28; ++n) {
    EXPECT_EQ(ArpView::parse(arp_bytes().first(n)).error(), WireError::kTruncated) << n;
  }
}

TEST(Arp, UnsupportedTypes) {
  // Each of hrd, pro, hln, pln changed in turn.
  for (size_t at : {1u, 2u, 4u, 5u}) {
    auto b = testing::to_vec(arp_bytes());
    b[at] = static_cast<std::byte>(static_cast<uint8_t>(b[at]) ^ 0x10);
    EXPECT_EQ(ArpView::parse(b).error(), WireError::kUnsupported) << at;
  }
}

}  // namespace
}  // namespace tempo::wire
