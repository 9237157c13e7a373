#include "wire/ipv4.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::to_vec;

std::span<const std::byte> ip_of(std::span<const std::byte> frame) { return frame.subspan(14); }

// Rewrites the header checksum after a test mutates a header field.
void refresh_checksum(std::vector<std::byte>& p) {
  const size_t hlen = (static_cast<uint8_t>(p[0]) & 0x0f) * 4u;
  p[10] = p[11] = std::byte{0};
  const uint16_t c = internet_checksum(std::span(p).first(std::min(hlen, p.size())));
  p[10] = static_cast<std::byte>(c >> 8);
  p[11] = static_cast<std::byte>(c & 0xff);
}

TEST(Ipv4, Deconstruct) {
  const auto v = Ipv4View::parse(ip_of(bytes(testdata::kEthIpv4TcpSyn)));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->version(), 4);
  EXPECT_EQ(v->header_length(), 20u);
  EXPECT_EQ(v->dscp(), 0);
  EXPECT_EQ(v->ecn(), 0);
  EXPECT_EQ(v->total_length(), 60);
  EXPECT_EQ(v->id(), 0x1c46);
  EXPECT_TRUE(v->dont_fragment());
  EXPECT_FALSE(v->more_fragments());
  EXPECT_EQ(v->fragment_offset(), 0u);
  EXPECT_FALSE(v->is_fragment());
  EXPECT_EQ(v->ttl(), 64);
  EXPECT_EQ(v->protocol(), kIpProtoTcp);
  EXPECT_EQ(v->checksum(), 0x924e);
  EXPECT_EQ(v->src(), Ipv4Addr(198, 18, 0, 1));
  EXPECT_EQ(v->dst(), Ipv4Addr(198, 18, 0, 2));
  EXPECT_TRUE(v->options().empty());
  EXPECT_EQ(v->header().size(), 20u);
  EXPECT_EQ(v->payload().size(), 40u);
  EXPECT_EQ(static_cast<uint8_t>(v->payload()[0]), 0x9c);  // TCP source port 40000
}

TEST(Ipv4, Options) {
  const auto v = Ipv4View::parse(ip_of(bytes(testdata::kEthIpv4OptsTcpData)));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->header_length(), 24u);
  ASSERT_EQ(v->options().size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(v->options()[0]), 0x94);  // RFC 2113 Router Alert
  EXPECT_EQ(v->payload().size(), 20u + 12u + 5u);
  EXPECT_EQ(v->id(), 0);
}

TEST(Ipv4, EthernetPaddingIgnored) {
  const auto ip = ip_of(bytes(testdata::kEthIpv4TcpAckPadded));
  ASSERT_EQ(ip.size(), 46u);
  const auto v = Ipv4View::parse(ip);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->total_length(), 40);
  EXPECT_EQ(v->bytes().size(), 40u);
  EXPECT_EQ(v->payload().size(), 20u);
}

TEST(Ipv4, Fragment) {
  const auto v = Ipv4View::parse(ip_of(bytes(testdata::kEthIpv4Frag)));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->more_fragments());
  EXPECT_FALSE(v->dont_fragment());
  EXPECT_TRUE(v->is_fragment());
  // A later fragment: offset non-zero, MF clear.
  auto p = to_vec(ip_of(bytes(testdata::kEthIpv4Frag)));
  p[6] = std::byte{0x00};
  p[7] = std::byte{0xb9};  // 185 * 8 = 1480
  refresh_checksum(p);
  const auto w = Ipv4View::parse(p);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->more_fragments());
  EXPECT_EQ(w->fragment_offset(), 1480u);
  EXPECT_TRUE(w->is_fragment());
}

TEST(Ipv4, TruncatedAtEachBoundary) {
  const auto ip = ip_of(bytes(testdata::kEthIpv4OptsTcpData));
  for (size_t n = 0; n < ip.size(); ++n) {
    const auto v = Ipv4View::parse(ip.first(n));
    ASSERT_FALSE(v.ok()) << n;
    // Inside the 24-byte header the buffer is too short; past it, the total length lies.
    EXPECT_EQ(v.error(), n < 24 ? WireError::kTruncated : WireError::kBadTotalLength) << n;
  }
  EXPECT_TRUE(Ipv4View::parse(ip).ok());
}

TEST(Ipv4, BadVersion) {
  auto p = to_vec(ip_of(bytes(testdata::kEthIpv4TcpSyn)));
  p[0] = std::byte{0x65};
  EXPECT_EQ(Ipv4View::parse(p).error(), WireError::kBadVersion);
}

TEST(Ipv4, BadHeaderLength) {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    auto p = to_vec(ip_of(bytes(testdata::kEthIpv4TcpSyn)));
    p[0] = static_cast<std::byte>(0x40 | ihl);
    EXPECT_EQ(Ipv4View::parse(p).error(), WireError::kBadHeaderLength) << int{ihl};
  }
}

TEST(Ipv4, HeaderLengthBeyondBuffer) {
  auto p = to_vec(ip_of(bytes(testdata::kEthIpv4TcpSyn)));
  p.resize(40);
  p[0] = std::byte{0x4f};  // 60-byte header in a 40-byte buffer
  EXPECT_EQ(Ipv4View::parse(p).error(), WireError::kTruncated);
}

TEST(Ipv4, BadTotalLength) {
  auto p = to_vec(ip_of(bytes(testdata::kEthIpv4TcpSyn)));
  // Below the header length.
  p[2] = std::byte{0};
  p[3] = std::byte{19};
  refresh_checksum(p);
  EXPECT_EQ(Ipv4View::parse(p).error(), WireError::kBadTotalLength);
  // One past the buffer.
  p[3] = std::byte{61};
  refresh_checksum(p);
  EXPECT_EQ(Ipv4View::parse(p).error(), WireError::kBadTotalLength);
  // Exactly the header: no payload.
  p[3] = std::byte{20};
  refresh_checksum(p);
  ASSERT_TRUE(Ipv4View::parse(p).ok());
  EXPECT_TRUE(Ipv4View::parse(p)->payload().empty());
}

TEST(Ipv4, BadChecksum) {
  for (size_t i = 0; i < 24; ++i) {
    auto p = to_vec(ip_of(bytes(testdata::kEthIpv4OptsTcpData)));
    if (i == 0 || i == 2 || i == 3) {
      continue;  // version/IHL and total length have their own errors
    }
    p[i] ^= std::byte{0x01};
    const auto v = Ipv4View::parse(p);
    ASSERT_FALSE(v.ok()) << i;
    EXPECT_EQ(v.error(), WireError::kBadChecksum) << i;
    // The NIC verified it: parse anyway.
    EXPECT_TRUE(Ipv4View::parse(p, ChecksumMode::kSkip).ok()) << i;
  }
}

TEST(Ipv4, Construct) {
  std::vector<std::byte> out(20);
  const auto n = write_ipv4(out, Ipv4Addr(198, 18, 0, 1), Ipv4Addr(198, 18, 0, 2), kIpProtoTcp, 40,
                            64, 0x1c46);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 20u);
  EXPECT_EQ(out, to_vec(ip_of(bytes(testdata::kEthIpv4TcpSyn)).first(20)));
}

TEST(Ipv4, ConstructFields) {
  std::vector<std::byte> out(100);
  const auto n = write_ipv4(out, Ipv4HeaderFields{.src = Ipv4Addr(10, 0, 0, 1),
                                                  .dst = Ipv4Addr(10, 0, 0, 2),
                                                  .protocol = kIpProtoIcmp,
                                                  .payload_len = 80,
                                                  .ttl = 1,
                                                  .id = 7,
                                                  .dont_fragment = false,
                                                  .tos = 0xb9});
  ASSERT_TRUE(n.ok());
  const auto v = Ipv4View::parse(out);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->total_length(), 100);
  EXPECT_EQ(v->dscp(), 0x2e);
  EXPECT_EQ(v->ecn(), 1);
  EXPECT_FALSE(v->dont_fragment());
  EXPECT_EQ(v->ttl(), 1);
  EXPECT_EQ(v->id(), 7);
  EXPECT_EQ(v->protocol(), kIpProtoIcmp);
}

TEST(Ipv4, ConstructErrors) {
  std::vector<std::byte> out(20);
  EXPECT_EQ(write_ipv4(std::span(out).first(19), Ipv4Addr(), Ipv4Addr(), 6, 0, 64, 0).error(),
            WireError::kNoSpace);
  EXPECT_EQ(write_ipv4(out, Ipv4Addr(), Ipv4Addr(), 6, 65516, 64, 0).error(), WireError::kTooLong);
  EXPECT_TRUE(write_ipv4(out, Ipv4Addr(), Ipv4Addr(), 6, 65515, 64, 0).ok());
}

}  // namespace
}  // namespace tempo::wire
