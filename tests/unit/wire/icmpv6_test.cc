#include "wire/icmpv6.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"
#include "wire/checksum.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::to_vec;

const Ipv6Addr kA = Ipv6Addr::parse("2001:db8::1").value();
const Ipv6Addr kB = Ipv6Addr::parse("2001:db8::2").value();
const MacAddr kMacA(0x02, 0, 0, 0, 0, 0x01);
const MacAddr kMacB(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

Ipv6View ip(std::span<const std::byte> frame) { return Ipv6View::parse(frame.subspan(14)).value(); }

// Re-checksums an ICMPv6 message after a test edits it, so only the edit is under test.
void refresh(std::vector<std::byte>& m, const Ipv6Addr& src, const Ipv6Addr& dst) {
  m[2] = m[3] = std::byte{0};
  const uint16_t c = l4_checksum_ipv6(src, dst, kIpProtoIcmpv6, m);
  m[2] = static_cast<std::byte>(c >> 8);
  m[3] = static_cast<std::byte>(c & 0xff);
}

TEST(Icmpv6, DeconstructEcho) {
  const auto v = Icmpv6View::parse(ip(bytes(testdata::kEthIpv6IcmpEcho)));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type(), kIcmpv6EchoRequest);
  EXPECT_TRUE(v->is_echo_request());
  EXPECT_EQ(v->echo_id(), 0x4321);
  EXPECT_EQ(v->echo_seq(), 7);
  ASSERT_EQ(v->echo_data().size(), 4u);
  EXPECT_EQ(static_cast<char>(v->echo_data()[0]), 'p');
}

TEST(Icmpv6, ChecksumCoversPseudoHeader) {
  const auto p = ip(bytes(testdata::kEthIpv6IcmpEcho));
  // Same bytes, other source address: the pseudo-header no longer matches.
  EXPECT_EQ(Icmpv6View::parse(p.payload(), kB, kB, 64).error(), WireError::kBadChecksum);
  auto m = to_vec(p.payload());
  m[9] ^= std::byte{1};
  EXPECT_EQ(Icmpv6View::parse(m, kA, kB, 64).error(), WireError::kBadChecksum);
}

TEST(Icmpv6, EchoTruncated) {
  const auto p = ip(bytes(testdata::kEthIpv6IcmpEcho));
  for (size_t n = 0; n < 8; ++n) {
    EXPECT_EQ(Icmpv6View::parse(p.payload().first(n), kA, kB, 64).error(), WireError::kTruncated)
        << n;
  }
}

TEST(Icmpv6, ConstructEcho) {
  const auto p = ip(bytes(testdata::kEthIpv6IcmpEcho));
  std::vector<std::byte> out(12);
  const auto n = write_icmpv6_echo_request(out, kA, kB, 0x4321, 7, p.payload().subspan(8));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 12u);
  EXPECT_EQ(out, to_vec(p.payload()));
  // Reply in place, addresses swapped.
  const auto m = to_vec(p.payload());
  auto r = m;
  ASSERT_TRUE(write_icmpv6_echo_reply(r, kB, kA, 0x4321, 7, std::span(r).subspan(8)).ok());
  const auto v = Icmpv6View::parse(r, kB, kA, 64);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_echo_reply());
  EXPECT_EQ(to_vec(v->echo_data()), to_vec(std::span(m).subspan(8)));
  EXPECT_EQ(write_icmpv6_echo_reply(std::span(r).first(11), kB, kA, 1, 1, std::span(m).subspan(8))
                .error(),
            WireError::kNoSpace);
}

TEST(Icmpv6, DeconstructNeighborSolicit) {
  const auto p = ip(bytes(testdata::kEthIpv6Ns));
  EXPECT_EQ(p.hop_limit(), 255);
  const auto v = Icmpv6View::parse(p);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_neighbor_solicit());
  EXPECT_EQ(v->nd_target(), kB);
  ASSERT_TRUE(v->source_ll().has_value());
  EXPECT_EQ(*v->source_ll(), kMacA);
  EXPECT_FALSE(v->target_ll().has_value());
  EXPECT_EQ(v->nd_options().size(), 8u);
}

TEST(Icmpv6, DeconstructNeighborAdvert) {
  const auto v = Icmpv6View::parse(ip(bytes(testdata::kEthIpv6Na)));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_neighbor_advert());
  EXPECT_EQ(v->nd_target(), kB);
  EXPECT_FALSE(v->na_flags().router);
  EXPECT_TRUE(v->na_flags().solicited);
  EXPECT_TRUE(v->na_flags().override);
  ASSERT_TRUE(v->target_ll().has_value());
  EXPECT_EQ(*v->target_ll(), kMacB);
  EXPECT_FALSE(v->source_ll().has_value());
}

TEST(Icmpv6, ConstructNeighborSolicit) {
  const auto p = ip(bytes(testdata::kEthIpv6Ns));
  std::vector<std::byte> out(32);
  const auto n = write_icmpv6_ns(out, kA, kB.solicited_node(), kB, kMacA);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 32u);
  EXPECT_EQ(out, to_vec(p.payload()));
  EXPECT_EQ(p.dst(), kB.solicited_node());
  // DAD form: no option.
  const auto dad = write_icmpv6_ns(out, Ipv6Addr(), kB.solicited_node(), kB, std::nullopt);
  ASSERT_TRUE(dad.ok());
  EXPECT_EQ(*dad, 24u);
  const auto v = Icmpv6View::parse(std::span(out).first(24), Ipv6Addr(), kB.solicited_node(), 255);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->source_ll().has_value());
  EXPECT_EQ(write_icmpv6_ns(std::span(out).first(31), kA, kB, kB, kMacA).error(),
            WireError::kNoSpace);
}

TEST(Icmpv6, ConstructNeighborAdvert) {
  const auto p = ip(bytes(testdata::kEthIpv6Na));
  std::vector<std::byte> out(32);
  const auto n =
      write_icmpv6_na(out, kB, kA, kB, NaFlags{.solicited = true, .override = true}, kMacB);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(out, to_vec(p.payload()));
  ASSERT_TRUE(write_icmpv6_na(out, kB, kA, kB, NaFlags{.router = true}, std::nullopt).ok());
  const auto v = Icmpv6View::parse(std::span(out).first(24), kB, kA, 255);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->na_flags().router);
  EXPECT_FALSE(v->na_flags().solicited);
  EXPECT_FALSE(v->na_flags().override);
  EXPECT_FALSE(v->target_ll().has_value());
}

TEST(Icmpv6, NeighborDiscoveryTruncated) {
  const auto p = ip(bytes(testdata::kEthIpv6Ns));
  for (size_t n = 8; n < 24; ++n) {
    EXPECT_EQ(Icmpv6View::parse(p.payload().first(n), p.src(), p.dst(), 255).error(),
              WireError::kTruncated)
        << n;
  }
}

TEST(Icmpv6, NeighborDiscoveryValidity) {
  const auto p = ip(bytes(testdata::kEthIpv6Ns));
  // RFC 4861 §7.1.1: hop limit 255 only.
  EXPECT_EQ(Icmpv6View::parse(p.payload(), p.src(), p.dst(), 254).error(),
            WireError::kBadNeighborDiscovery);
  // Code not 0.
  auto m = to_vec(p.payload());
  m[1] = std::byte{1};
  refresh(m, p.src(), p.dst());
  EXPECT_EQ(Icmpv6View::parse(m, p.src(), p.dst(), 255).error(), WireError::kBadNeighborDiscovery);
  // Multicast target.
  m = to_vec(p.payload());
  m[8] = std::byte{0xff};
  refresh(m, p.src(), p.dst());
  EXPECT_EQ(Icmpv6View::parse(m, p.src(), p.dst(), 255).error(), WireError::kBadNeighborDiscovery);
  // From :: with a source link-layer option.
  m = to_vec(p.payload());
  refresh(m, Ipv6Addr(), p.dst());
  EXPECT_EQ(Icmpv6View::parse(m, Ipv6Addr(), p.dst(), 255).error(),
            WireError::kBadNeighborDiscovery);
  // From :: to other than the target's solicited-node address.
  m = to_vec(p.payload().first(24));
  refresh(m, Ipv6Addr(), Ipv6Addr::all_nodes());
  EXPECT_EQ(Icmpv6View::parse(m, Ipv6Addr(), Ipv6Addr::all_nodes(), 255).error(),
            WireError::kBadNeighborDiscovery);
  // §7.1.2: a solicited advertisement to a multicast address.
  const auto na = ip(bytes(testdata::kEthIpv6Na));
  m = to_vec(na.payload());
  refresh(m, na.src(), Ipv6Addr::all_nodes());
  EXPECT_EQ(Icmpv6View::parse(m, na.src(), Ipv6Addr::all_nodes(), 255).error(),
            WireError::kBadNeighborDiscovery);
  m[4] = std::byte{0x20};  // override only: fine
  refresh(m, na.src(), Ipv6Addr::all_nodes());
  EXPECT_TRUE(Icmpv6View::parse(m, na.src(), Ipv6Addr::all_nodes(), 255).ok());
}

TEST(Icmpv6, NeighborDiscoveryOptionLengths) {
  const auto p = ip(bytes(testdata::kEthIpv6Ns));
  auto base = to_vec(p.payload());
  // Length 0.
  auto m = base;
  m[25] = std::byte{0};
  refresh(m, p.src(), p.dst());
  EXPECT_EQ(Icmpv6View::parse(m, p.src(), p.dst(), 255).error(), WireError::kBadOptionLength);
  // Length 2 (16 bytes) past the end of an 8-byte option area.
  m = base;
  m[25] = std::byte{2};
  refresh(m, p.src(), p.dst());
  EXPECT_EQ(Icmpv6View::parse(m, p.src(), p.dst(), 255).error(), WireError::kBadOptionLength);
  // A link-layer option of 16 bytes is not Ethernet's.
  m = base;
  m[25] = std::byte{2};
  m.resize(40);
  refresh(m, p.src(), p.dst());
  EXPECT_EQ(Icmpv6View::parse(m, p.src(), p.dst(), 255).error(), WireError::kBadOptionLength);
  // A lone option type byte with no length.
  m = base;
  m.push_back(std::byte{14});
  refresh(m, p.src(), p.dst());
  EXPECT_EQ(Icmpv6View::parse(m, p.src(), p.dst(), 255).error(), WireError::kBadOptionLength);
  // An unknown option (nonce, type 14) is skipped.
  m = base;
  for (uint8_t b : {14, 1, 1, 2, 3, 4, 5, 6}) {
    m.push_back(static_cast<std::byte>(b));
  }
  refresh(m, p.src(), p.dst());
  const auto v = Icmpv6View::parse(m, p.src(), p.dst(), 255);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v->source_ll(), kMacA);
}

TEST(Icmpv6, OtherTypesParse) {
  // Router Advertisement-like type 134 with 4 bytes: only length and checksum are checked.
  auto m = testing::bytes_of({134, 0, 0, 0});
  refresh(m, kA, kB);
  const auto v = Icmpv6View::parse(m, kA, kB, 64);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type(), kIcmpv6RouterAdvert);
  EXPECT_TRUE(v->body().empty());
  // Error messages need their 4-byte field.
  auto e = testing::bytes_of({kIcmpv6PacketTooBig, 0, 0, 0, 0, 0});
  refresh(e, kA, kB);
  EXPECT_EQ(Icmpv6View::parse(e, kA, kB, 64).error(), WireError::kTruncated);
}

}  // namespace
}  // namespace tempo::wire
