// wire::parse_quoted_tcp4/6 (lib/wire/icmp_quote.h): the TCP segment an ICMP or ICMPv6 error
// quotes, read as ours (local = the quoted source): a literal quote, the 8-byte minimum of RFC 792
// (and every shorter length refused), IPv4 options, later fragments and other protocols
// refused, and the IPv6 form.
#include "wire/icmp_quote.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "wire/packet_builder.h"

namespace tempo::wire {
namespace {

// What a router quotes of a full-sized segment 198.18.0.2:80 -> 198.18.1.1:40000, seq
// 0x01020304: the IPv4 header (total length 1500, DF) and the first 8 bytes of TCP (RFC 792).
constexpr std::array<uint8_t, 28> kQuote4 = {
    0x45, 0x00, 0x05, 0xdc, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 0xc6, 0x12,
    0x00, 0x02, 0xc6, 0x12, 0x01, 0x01, 0x00, 0x50, 0x9c, 0x40, 0x01, 0x02, 0x03, 0x04};

std::span<const std::byte> bytes_of(std::span<const uint8_t> b) { return std::as_bytes(b); }

TEST(QuotedTcp4, LiteralQuoteAsOurs) {
  const auto q = parse_quoted_tcp4(bytes_of(kQuote4));
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->tuple.v6);
  EXPECT_EQ(q->tuple.t4.local, 0xc6120002u);  // the quoted source: this host
  EXPECT_EQ(q->tuple.t4.remote, 0xc6120101u);
  EXPECT_EQ(q->tuple.t4.local_port, 80);
  EXPECT_EQ(q->tuple.t4.remote_port, 40000);
  EXPECT_EQ(q->seq, 0x01020304u);
  EXPECT_EQ(q->ip_length, 1500);
  EXPECT_EQ(q->tuple.t6, flow::Tuple6{});
}

TEST(QuotedTcp4, EveryShorterQuoteIsTruncated) {
  for (size_t n = 0; n < kQuote4.size(); ++n) {
    const auto q = parse_quoted_tcp4(bytes_of(std::span(kQuote4).first(n)));
    ASSERT_FALSE(q.ok()) << n;
    EXPECT_EQ(q.error(), WireError::kTruncated) << n;
  }
}

TEST(QuotedTcp4, WholeSegmentWithOptionsFindsTheTcpHeaderAfterThem) {
  std::array<uint8_t, 32> q{};
  std::copy(kQuote4.begin(), kQuote4.begin() + 20, q.begin());
  q[0] = 0x46;                                             // IHL 6: 4 bytes of options
  q[20] = 0x01, q[21] = 0x01, q[22] = 0x01, q[23] = 0x00;  // NOP NOP NOP EOL
  std::copy(kQuote4.begin() + 20, kQuote4.end(), q.begin() + 24);
  const auto v = parse_quoted_tcp4(bytes_of(q));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->tuple.t4.local_port, 80);
  EXPECT_EQ(v->seq, 0x01020304u);
  EXPECT_EQ(parse_quoted_tcp4(bytes_of(std::span(q).first(31))).error(), WireError::kTruncated);
}

TEST(QuotedTcp4, RefusesWhatIsNotOneOfOurSegments) {
  std::array<uint8_t, 28> q = kQuote4;
  q[9] = 17;  // UDP
  EXPECT_EQ(parse_quoted_tcp4(bytes_of(q)).error(), WireError::kUnsupported);
  q = kQuote4;
  q[7] = 0xb9;  // fragment offset 185 * 8: no TCP header in it
  EXPECT_EQ(parse_quoted_tcp4(bytes_of(q)).error(), WireError::kUnsupported);
  q = kQuote4;
  q[6] = 0x20;  // MF on the first fragment: its TCP header is there
  EXPECT_TRUE(parse_quoted_tcp4(bytes_of(q)).ok());
  q = kQuote4;
  q[0] = 0x65;
  EXPECT_EQ(parse_quoted_tcp4(bytes_of(q)).error(), WireError::kBadVersion);
  q = kQuote4;
  q[0] = 0x44;
  EXPECT_EQ(parse_quoted_tcp4(bytes_of(q)).error(), WireError::kBadHeaderLength);
}

TEST(QuotedTcp6, SegmentBuiltByTheBuilder) {
  TcpPacketSpec spec;
  spec.with_ethernet = false;
  spec.ipv6 = true;
  spec.src6 = *Ipv6Addr::parse("2001:db8::2");
  spec.dst6 = *Ipv6Addr::parse("2001:db8:1::9");
  spec.tcp.src_port = 443;
  spec.tcp.dst_port = 51000;
  spec.tcp.seq = 0xfffffff0u;
  spec.tcp.flags = TcpFlags(TcpFlags::kAck);
  const std::vector<std::byte> payload(1000, std::byte{7});
  spec.payload = payload;
  const std::vector<std::byte> pkt = make_tcp_packet(spec);
  ASSERT_EQ(pkt.size(), 40u + 20u + 1000u);
  const auto q = parse_quoted_tcp6(pkt);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->tuple.v6);
  EXPECT_EQ(q->tuple.t6.local, spec.src6.bytes());
  EXPECT_EQ(q->tuple.t6.remote, spec.dst6.bytes());
  EXPECT_EQ(q->tuple.t6.local_port, 443);
  EXPECT_EQ(q->tuple.t6.remote_port, 51000);
  EXPECT_EQ(q->seq, 0xfffffff0u);
  EXPECT_EQ(q->ip_length, 1060);
  // The minimum: the header and 8 bytes of TCP; one less is truncated.
  EXPECT_TRUE(parse_quoted_tcp6(std::span(pkt).first(48)).ok());
  EXPECT_EQ(parse_quoted_tcp6(std::span(pkt).first(47)).error(), WireError::kTruncated);
  std::vector<std::byte> other(pkt.begin(), pkt.begin() + 48);
  other[6] = std::byte{44};  // a Fragment header first: tempo sends none
  EXPECT_EQ(parse_quoted_tcp6(other).error(), WireError::kUnsupported);
  other[6] = std::byte{6};
  other[0] = std::byte{0x40};
  EXPECT_EQ(parse_quoted_tcp6(other).error(), WireError::kBadVersion);
}

}  // namespace
}  // namespace tempo::wire
