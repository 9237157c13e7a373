#include "wire/checksum.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::bytes_of;
using testing::to_vec;

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement sum).
  const auto d = bytes_of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
  EXPECT_EQ(internet_checksum(d), static_cast<uint16_t>(~0xddf2));
  // Odd length: the last byte is padded with zero on the right.
  const auto odd = bytes_of({0x00, 0x01, 0xf2});
  EXPECT_EQ(internet_checksum(odd), static_cast<uint16_t>(~(0x0001 + 0xf200)));
}

TEST(Checksum, VerifyWithFieldInPlace) {
  auto d = bytes_of({0x45, 0x00, 0x00, 0x14, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2});
  const uint16_t c = internet_checksum(d);
  d[10] = static_cast<std::byte>(c >> 8);
  d[11] = static_cast<std::byte>(c);
  EXPECT_TRUE(verify_internet_checksum(d));
  d[19] ^= std::byte{1};
  EXPECT_FALSE(verify_internet_checksum(d));
}

TEST(Checksum, TcpIpv4Literal) {
  const auto ip = Ipv4View::parse(bytes(testdata::kEthIpv4TcpSyn).subspan(14)).value();
  EXPECT_TRUE(verify_tcp_checksum_ipv4(ip.src(), ip.dst(), ip.payload()));
  // Swapped addresses still sum the same (addition commutes), but another address does not.
  EXPECT_FALSE(verify_tcp_checksum_ipv4(ip.src(), Ipv4Addr(198, 18, 0, 3), ip.payload()));
  auto seg = to_vec(ip.payload());
  const uint16_t wire_value = TcpView::parse(seg)->checksum();
  seg[16] = seg[17] = std::byte{0};
  EXPECT_EQ(tcp_checksum_ipv4(ip.src(), ip.dst(), seg), wire_value);
  seg[30] ^= std::byte{0x80};
  EXPECT_NE(tcp_checksum_ipv4(ip.src(), ip.dst(), seg), wire_value);
}

TEST(Checksum, TcpIpv4OddPayload) {
  const auto ip = Ipv4View::parse(bytes(testdata::kEthIpv4OptsTcpData).subspan(14)).value();
  ASSERT_EQ(ip.payload().size() % 2, 1u);
  EXPECT_TRUE(verify_tcp_checksum_ipv4(ip.src(), ip.dst(), ip.payload()));
  EXPECT_FALSE(verify_tcp_checksum_ipv4(ip.src(), ip.dst(), ip.payload().first(36)));
}

TEST(Checksum, TcpIpv6Literal) {
  const auto ip = Ipv6View::parse(bytes(testdata::kEthIpv6TcpSynAck).subspan(14)).value();
  EXPECT_TRUE(verify_tcp_checksum_ipv6(ip.src(), ip.dst(), ip.payload()));
  auto seg = to_vec(ip.payload());
  const uint16_t wire_value = TcpView::parse(seg)->checksum();
  ASSERT_TRUE(fill_tcp_checksum_ipv6(seg, ip.src(), ip.dst()));
  EXPECT_EQ(TcpView::parse(seg)->checksum(), wire_value);
  EXPECT_FALSE(verify_tcp_checksum_ipv6(ip.dst(), ip.dst(), seg));
  // Through extension headers the pseudo-header length is the upper-layer length.
  const auto ext = Ipv6View::parse(bytes(testdata::kEthIpv6ExtTcp).subspan(14)).value();
  EXPECT_TRUE(verify_tcp_checksum_ipv6(ext.src(), ext.dst(), ext.payload()));
}

TEST(Checksum, FillIpv4) {
  auto seg = to_vec(bytes(testdata::kEthIpv4TcpSyn).subspan(34));
  const auto want = to_vec(seg);
  seg[16] = std::byte{0x12};  // garbage in the field is overwritten
  ASSERT_TRUE(fill_tcp_checksum_ipv4(seg, Ipv4Addr(198, 18, 0, 1), Ipv4Addr(198, 18, 0, 2)));
  EXPECT_EQ(seg, want);
  EXPECT_FALSE(fill_tcp_checksum_ipv4(std::span(seg).first(19), Ipv4Addr(), Ipv4Addr()));
}

TEST(Checksum, PseudoHeaderForOffload) {
  // With the pseudo-header sum in the field, the NIC's sum over the segment finishes the job:
  // emulate it and compare with the full software checksum.
  const Ipv4Addr s(198, 18, 0, 1), d(198, 18, 0, 2);
  auto seg = to_vec(bytes(testdata::kEthIpv4TcpSyn).subspan(34));
  const uint16_t want = TcpView::parse(seg)->checksum();
  const uint16_t ph = tcp_pseudo_header_checksum_ipv4(s, d, static_cast<uint16_t>(seg.size()));
  seg[16] = static_cast<std::byte>(ph >> 8);
  seg[17] = static_cast<std::byte>(ph);
  EXPECT_EQ(internet_checksum(seg), want);
  // The pseudo-header by hand: RFC 9293 §3.1 words c612 0001 c612 0002 0006 0028.
  uint32_t sum = 0xc612 + 0x0001 + 0xc612 + 0x0002 + 0x0006 + 40;
  sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(ph, sum);
  // IPv6 likewise.
  const auto ip6 = Ipv6View::parse(bytes(testdata::kEthIpv6TcpSynAck).subspan(14)).value();
  auto seg6 = to_vec(ip6.payload());
  const uint16_t want6 = TcpView::parse(seg6)->checksum();
  const uint16_t ph6 = tcp_pseudo_header_checksum_ipv6(ip6.src(), ip6.dst(), 40);
  seg6[16] = static_cast<std::byte>(ph6 >> 8);
  seg6[17] = static_cast<std::byte>(ph6);
  EXPECT_EQ(internet_checksum(seg6), want6);
}

}  // namespace
}  // namespace tempo::wire
