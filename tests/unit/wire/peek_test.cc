// wire::peek_tcp (lib/wire/peek.h): the tuple (as the receiver sees it) of TCP over IPv4 (any IHL)
// and IPv6, nothing for fragments, extension headers, other protocols or ethertypes, and no read
// past a short frame; wire::peek_fragment: a fragment's addresses.
#include "wire/peek.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"

namespace tempo::wire {
namespace {

using namespace testdata;

TEST(PeekTcp, Ipv4TupleInHostOrder) {
  const auto p = peek_tcp(bytes(kEthIpv4TcpSyn));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->v6);
  EXPECT_EQ(p->t4.remote, 0xc6120001u);  // 198.18.0.1
  EXPECT_EQ(p->t4.local, 0xc6120002u);
  EXPECT_EQ(p->t4.remote_port, 40000);
  EXPECT_EQ(p->t4.local_port, 80);
  EXPECT_EQ(p->t6, flow::Tuple6{});  // the other family's member stays zero
}

TEST(PeekTcp, Ipv4WithOptionsFindsThePortsAfterThem) {
  const auto p = peek_tcp(bytes(kEthIpv4OptsTcpData));  // IHL 6
  ASSERT_TRUE(p);
  EXPECT_EQ(p->t4.remote_port, 80);  // not the option's bytes (0x9404) before the TCP header
  EXPECT_EQ(p->t4.local_port, 40000);
  EXPECT_EQ(p->t4.remote, 0xc6120002u);
}

TEST(PeekTcp, Ipv6Tuple) {
  const auto p = peek_tcp(bytes(kEthIpv6TcpSynAck));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->v6);
  EXPECT_EQ(p->t6.remote[0], 0x20);
  EXPECT_EQ(p->t6.remote[15], 0x02);
  EXPECT_EQ(p->t6.local[15], 0x01);
  EXPECT_EQ(p->t6.remote_port, 80);
  EXPECT_EQ(p->t6.local_port, 40000);
  EXPECT_EQ(p->t4, flow::Tuple4{});
}

TEST(PeekTcp, NothingForFragmentsExtensionHeadersOrOtherProtocols) {
  EXPECT_FALSE(peek_tcp(bytes(kEthIpv4Frag)));
  EXPECT_FALSE(peek_tcp(bytes(kEthIpv6Frag)));
  EXPECT_FALSE(peek_tcp(bytes(kEthIpv6ExtTcp)));
  EXPECT_FALSE(peek_tcp(bytes(kEthIpv4IcmpEcho)));
  EXPECT_FALSE(peek_tcp(bytes(kEthIpv6IcmpEcho)));
  EXPECT_FALSE(peek_tcp(bytes(kEthVlanArpRequest)));
}

TEST(PeekTcp, NoReadPastAShortFrame) {
  // Every prefix of a frame: the ports must lie inside what is given.
  const auto full = bytes(kEthIpv4OptsTcpData);
  for (size_t n = 0; n < full.size(); ++n) {
    const auto p = peek_tcp(full.first(n));
    EXPECT_EQ(p.has_value(), n >= 14 + 24 + 4) << n;
  }
  const auto v6 = bytes(kEthIpv6TcpSynAck);
  for (size_t n = 0; n < v6.size(); ++n) {
    EXPECT_EQ(peek_tcp(v6.first(n)).has_value(), n >= 14 + 40 + 4) << n;
  }
}

TEST(PeekFragment, TheAddressesOfAnIpv4OrIpv6Fragment) {
  const auto p4 = peek_fragment(bytes(kEthIpv4Frag));
  ASSERT_TRUE(p4);
  EXPECT_FALSE(p4->v6);
  EXPECT_EQ(p4->t4.remote, 0xc6120001u);
  EXPECT_EQ(p4->t4.local, 0xc6120002u);
  EXPECT_EQ(p4->t4.remote_port, 0);  // a first fragment's ports are not read
  EXPECT_EQ(p4->t4.local_port, 0);
  const auto p6 = peek_fragment(bytes(kEthIpv6Frag));
  ASSERT_TRUE(p6);
  EXPECT_TRUE(p6->v6);
  EXPECT_EQ(p6->t6.remote[15], 0x01);
  EXPECT_EQ(p6->t6.local[15], 0x02);
  EXPECT_EQ(p6->t6.remote_port, 0);
  // Not fragments: whole packets, an atomic fragment (RFC 6946), other ethertypes.
  EXPECT_FALSE(peek_fragment(bytes(kEthIpv4TcpSyn)));
  EXPECT_FALSE(peek_fragment(bytes(kEthIpv6TcpSynAck)));
  EXPECT_FALSE(peek_fragment(bytes(kEthIpv6ExtTcp)));
  EXPECT_FALSE(peek_fragment(bytes(kEthVlanArpRequest)));
  std::vector<std::byte> atomic(bytes(kEthIpv6Frag).begin(), bytes(kEthIpv6Frag).end());
  atomic[14 + 40 + 3] = std::byte{0};
  EXPECT_FALSE(peek_fragment(atomic));
  // No read past a short frame.
  const auto v6 = bytes(kEthIpv6Frag);
  for (size_t n = 0; n < v6.size(); ++n) {
    EXPECT_EQ(peek_fragment(v6.first(n)).has_value(), n >= 14 + 40 + 8) << n;
  }
  const auto v4 = bytes(kEthIpv4Frag);
  for (size_t n = 0; n < v4.size(); ++n) {
    EXPECT_EQ(peek_fragment(v4.first(n)).has_value(), n >= 14 + 20) << n;
  }
}

TEST(PeekTcp, AnIhlBelowFiveIsNotAHeader) {
  std::vector<std::byte> f(bytes(kEthIpv4TcpSyn).begin(), bytes(kEthIpv4TcpSyn).end());
  f[14] = std::byte{0x44};
  EXPECT_FALSE(peek_tcp(f));
}

}  // namespace
}  // namespace tempo::wire
