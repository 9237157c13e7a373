#include "wire/icmp.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::to_vec;

std::span<const std::byte> icmp_bytes() { return bytes(testdata::kEthIpv4IcmpEcho).subspan(34); }

TEST(Icmp, Deconstruct) {
  const auto v = IcmpView::parse(icmp_bytes());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type(), kIcmpEchoRequest);
  EXPECT_EQ(v->code(), 0);
  EXPECT_TRUE(v->is_echo_request());
  EXPECT_FALSE(v->is_echo_reply());
  EXPECT_EQ(v->echo_id(), 0x1234);
  EXPECT_EQ(v->echo_seq(), 1);
  EXPECT_EQ(v->rest_of_header(), 0x12340001u);
  ASSERT_EQ(v->data().size(), 8u);
  EXPECT_EQ(static_cast<char>(v->data()[0]), 'a');
  EXPECT_EQ(static_cast<char>(v->data()[7]), 'h');
}

TEST(Icmp, Truncated) {
  for (size_t n = 0; n < 8; ++n) {
    EXPECT_EQ(IcmpView::parse(icmp_bytes().first(n)).error(), WireError::kTruncated) << n;
  }
}

TEST(Icmp, BadChecksum) {
  for (size_t i = 0; i < icmp_bytes().size(); ++i) {
    auto p = to_vec(icmp_bytes());
    p[i] ^= std::byte{0x40};
    EXPECT_EQ(IcmpView::parse(p).error(), WireError::kBadChecksum) << i;
  }
  // Dropping the last byte changes the sum too.
  EXPECT_EQ(IcmpView::parse(icmp_bytes().first(15)).error(), WireError::kBadChecksum);
}

TEST(Icmp, ConstructRequest) {
  std::vector<std::byte> out(16);
  const auto n = write_icmp_echo_request(out, 0x1234, 1, icmp_bytes().subspan(8));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 16u);
  EXPECT_EQ(out, to_vec(icmp_bytes()));
}

TEST(Icmp, ReplyInPlace) {
  // The stack turns the request into a reply in its own buffer: data overlaps the output.
  auto p = to_vec(icmp_bytes());
  const auto req = IcmpView::parse(p).value();
  const auto n = write_icmp_echo_reply(p, req.echo_id(), req.echo_seq(), req.data());
  ASSERT_TRUE(n.ok());
  const auto v = IcmpView::parse(std::span(p).first(*n));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_echo_reply());
  EXPECT_EQ(v->echo_id(), 0x1234);
  EXPECT_EQ(v->echo_seq(), 1);
  EXPECT_EQ(to_vec(v->data()), to_vec(icmp_bytes().subspan(8)));
  // RFC 1624: only the type changed (8 -> 0), so the checksum went up by 0x0800.
  EXPECT_EQ(v->checksum(),
            static_cast<uint16_t>(IcmpView::parse(icmp_bytes())->checksum() + 0x0800));
}

TEST(Icmp, ConstructGeneric) {
  std::vector<std::byte> out(8 + 28);
  std::vector<std::byte> quote(28, std::byte{0x45});
  const auto n = write_icmp(out, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1400, quote);
  ASSERT_TRUE(n.ok());
  const auto v = IcmpView::parse(out);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type(), kIcmpDestUnreachable);
  EXPECT_EQ(v->code(), kIcmpCodeFragNeeded);
  EXPECT_EQ(v->next_hop_mtu(), 1400);
  EXPECT_EQ(v->data().size(), 28u);
  EXPECT_EQ(write_icmp(std::span(out).first(35), 3, 4, 0, quote).error(), WireError::kNoSpace);
}

}  // namespace
}  // namespace tempo::wire
