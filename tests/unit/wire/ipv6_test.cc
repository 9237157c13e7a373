#include "wire/ipv6.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::to_vec;

std::span<const std::byte> ip_of(std::span<const std::byte> frame) { return frame.subspan(14); }

const Ipv6Addr kA = Ipv6Addr::parse("2001:db8::1").value();
const Ipv6Addr kB = Ipv6Addr::parse("2001:db8::2").value();

// A packet with the given extension-header bytes (next header in `first`) in front of 4 bytes
// of "upper layer" of protocol 6.
std::vector<std::byte> with_ext(uint8_t first, std::vector<std::byte> ext) {
  std::vector<std::byte> out(40);
  const auto payload_len = static_cast<uint16_t>(ext.size() + 4);
  (void)write_ipv6(out, kA, kB, first, payload_len, 64);
  out.insert(out.end(), ext.begin(), ext.end());
  for (int i = 0; i < 4; ++i) {
    out.push_back(std::byte{0xee});
  }
  return out;
}

TEST(Ipv6, Deconstruct) {
  const auto v = Ipv6View::parse(ip_of(bytes(testdata::kEthIpv6TcpSynAck)));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->version(), 6);
  EXPECT_EQ(v->traffic_class(), 0);
  EXPECT_EQ(v->flow_label(), 0u);
  EXPECT_EQ(v->payload_length(), 40);
  EXPECT_EQ(v->next_header(), kIpProtoTcp);
  EXPECT_EQ(v->protocol(), kIpProtoTcp);
  EXPECT_EQ(v->hop_limit(), 64);
  EXPECT_EQ(v->src(), kB);
  EXPECT_EQ(v->dst(), kA);
  EXPECT_EQ(v->extension_headers_length(), 0u);
  EXPECT_EQ(v->payload().size(), 40u);
  EXPECT_EQ(v->ip_payload().size(), 40u);
}

TEST(Ipv6, ExtensionHeadersSkipped) {
  const auto v = Ipv6View::parse(ip_of(bytes(testdata::kEthIpv6ExtTcp)));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->next_header(), kIpProtoHopByHop);
  EXPECT_EQ(v->protocol(), kIpProtoTcp);
  EXPECT_EQ(v->extension_headers_length(), 16u);
  EXPECT_EQ(v->payload().size(), 20u);
  EXPECT_EQ(v->ip_payload().size(), 36u);
  EXPECT_EQ(static_cast<uint8_t>(v->payload()[0]), 0x9c);  // TCP source port 40000
}

TEST(Ipv6, FragmentParsesForReassembly) {
  // RFC 8200 §4.5: a first fragment (offset 0, M set): the walk stops at its Fragment header.
  const auto first = Ipv6View::parse(ip_of(bytes(testdata::kEthIpv6Frag)));
  ASSERT_TRUE(first.ok()) << static_cast<int>(first.error());
  EXPECT_TRUE(first->is_fragment());
  EXPECT_EQ(first->protocol(), kIpProtoFragment);
  EXPECT_EQ(first->fragment_offset(), 0u);
  EXPECT_TRUE(first->more_fragments());
  EXPECT_EQ(first->fragment_id(), 0xdeadbeefu);
  EXPECT_EQ(first->fragment_next_header(), kIpProtoTcp);
  EXPECT_EQ(first->unfragmentable().size(), 40u);  // the fixed header alone
  EXPECT_EQ(first->fragment_next_header_at(), 6u);
  ASSERT_EQ(first->payload().size(), 20u);  // the fragment's data, after the Fragment header
  EXPECT_EQ(static_cast<uint8_t>(first->payload()[0]), 0x9c);  // TCP source port 40000
  // A later one: offset 1 (8 octets), M clear; the reserved bits are ignored.
  auto later = testdata::kEthIpv6Frag;
  later[14 + 40 + 1] = 0xff;  // Reserved
  later[14 + 40 + 3] = 0x0e;  // offset 1, Res 11, M clear
  const auto last = Ipv6View::parse(ip_of(bytes(later)));
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->is_fragment());
  EXPECT_EQ(last->fragment_offset(), 8u);
  EXPECT_FALSE(last->more_fragments());
  // The largest offset: 8191 units.
  later[14 + 40 + 2] = 0xff;
  later[14 + 40 + 3] = 0xf8;
  EXPECT_EQ(Ipv6View::parse(ip_of(bytes(later)))->fragment_offset(), 65528u);
  // Not a fragment: no Fragment header.
  EXPECT_FALSE(Ipv6View::parse(ip_of(bytes(testdata::kEthIpv6TcpSynAck)))->is_fragment());
}

TEST(Ipv6, FragmentAfterDestinationOptions) {
  // A Destination Options header (8 bytes of PadN), then a Fragment header (offset 16, M set,
  // id 7, next TCP): the unfragmentable part is both fixed header and options, and the Next
  // Header field that names the Fragment header is the options header's first byte.
  auto p = with_ext(kIpProtoDstOpts, testing::bytes_of({kIpProtoFragment, 0, 1, 4, 0, 0, 0, 0,  //
                                                        kIpProtoTcp, 0, 0, 0x11, 0, 0, 0, 7}));
  const auto v = Ipv6View::parse(p);
  ASSERT_TRUE(v.ok()) << static_cast<int>(v.error());
  EXPECT_TRUE(v->is_fragment());
  EXPECT_EQ(v->fragment_offset(), 16u);
  EXPECT_TRUE(v->more_fragments());
  EXPECT_EQ(v->fragment_id(), 7u);
  EXPECT_EQ(v->unfragmentable().size(), 48u);
  EXPECT_EQ(v->fragment_next_header_at(), 40u);
  EXPECT_EQ(v->payload().size(), 4u);
  // Hop-by-Hop, then the Fragment header.
  auto h = with_ext(kIpProtoHopByHop, testing::bytes_of({kIpProtoFragment, 0, 1, 4, 0, 0, 0, 0,  //
                                                         kIpProtoTcp, 0, 0, 0x09, 0, 0, 0, 8}));
  const auto w = Ipv6View::parse(h);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->fragment_offset(), 8u);
  EXPECT_EQ(w->fragment_next_header_at(), 40u);
  // A fragment's own data is not walked: a bad "header" after the Fragment header is data.
  auto d =
      with_ext(kIpProtoFragment, testing::bytes_of({kIpProtoHopByHop, 0, 0, 0x09, 0, 0, 0, 1}));
  EXPECT_TRUE(Ipv6View::parse(d).ok());
  // Truncated inside the Fragment header (4 of its 8 bytes follow the options).
  auto cut = with_ext(kIpProtoDstOpts, testing::bytes_of({kIpProtoFragment, 0, 1, 4, 0, 0, 0, 0}));
  EXPECT_EQ(Ipv6View::parse(cut).error(), WireError::kTruncated);
}

TEST(Ipv6, AtomicFragmentIsProcessedAsUnfragmented) {
  // RFC 6946 §4: offset 0 and M clear: the Fragment header is skipped.
  auto atomic = testdata::kEthIpv6Frag;
  atomic[14 + 40 + 3] = 0x00;
  const auto v = Ipv6View::parse(ip_of(bytes(atomic)));
  ASSERT_TRUE(v.ok()) << static_cast<int>(v.error());
  EXPECT_EQ(v->protocol(), kIpProtoTcp);
  EXPECT_EQ(v->payload().size(), 20u);
  EXPECT_EQ(static_cast<uint8_t>(v->payload()[0]), 0x9c);  // TCP source port 40000
  // Truncated inside the Fragment header.
  auto cut = atomic;
  cut[14 + 5] = 4;  // payload length 4: half a Fragment header
  EXPECT_EQ(Ipv6View::parse(ip_of(bytes(cut))).error(), WireError::kTruncated);
}

TEST(Ipv6, RoutingHeader) {
  // Type 4 (SRH-like) header, 8 bytes: segments left 0 is skipped, non-zero is not for us.
  auto ok = with_ext(kIpProtoRouting, testing::bytes_of({6, 0, 4, 0, 0, 0, 0, 0}));
  const auto v = Ipv6View::parse(ok);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->protocol(), kIpProtoTcp);
  EXPECT_EQ(v->payload().size(), 4u);
  auto left = with_ext(kIpProtoRouting, testing::bytes_of({6, 0, 4, 1, 0, 0, 0, 0}));
  EXPECT_EQ(Ipv6View::parse(left).error(), WireError::kUnsupported);
}

TEST(Ipv6, HopByHopMustBeFirst) {
  auto p = with_ext(kIpProtoDstOpts,
                    testing::bytes_of({0, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0}));
  EXPECT_EQ(Ipv6View::parse(p).error(), WireError::kBadExtensionHeader);
}

// `count` Destination Options headers, each 8 bytes of PadN, the last pointing at TCP.
std::vector<std::byte> dst_opts_chain(size_t count) {
  std::vector<std::byte> ext;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t next = i + 1 == count ? kIpProtoTcp : kIpProtoDstOpts;
    for (uint8_t b : {next, uint8_t{0}, uint8_t{1}, uint8_t{4}, uint8_t{0}, uint8_t{0}, uint8_t{0},
                      uint8_t{0}}) {
      ext.push_back(static_cast<std::byte>(b));
    }
  }
  return ext;
}

TEST(Ipv6, TooManyExtensionHeaders) {
  const auto too_many =
      with_ext(kIpProtoDstOpts, dst_opts_chain(Ipv6View::kMaxExtensionHeaders + 1));
  EXPECT_EQ(Ipv6View::parse(too_many).error(), WireError::kBadExtensionHeader);
  const auto at_limit = with_ext(kIpProtoDstOpts, dst_opts_chain(Ipv6View::kMaxExtensionHeaders));
  const auto v = Ipv6View::parse(at_limit);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->extension_headers_length(), 8 * Ipv6View::kMaxExtensionHeaders);
  EXPECT_EQ(v->protocol(), kIpProtoTcp);
}

TEST(Ipv6, UnknownOptionActions) {
  // RFC 8200 §4.2: type 0x1e (high bits 00) skipped; 0x5e (01), 0x9e (10), 0xde (11) discard.
  for (uint8_t type : {0x1e, 0x5e, 0x9e, 0xde}) {
    auto p = with_ext(kIpProtoDstOpts, testing::bytes_of({6, 0, type, 4, 0, 0, 0, 0}));
    const auto v = Ipv6View::parse(p);
    if (type == 0x1e) {
      EXPECT_TRUE(v.ok());
    } else {
      ASSERT_FALSE(v.ok()) << int{type};
      EXPECT_EQ(v.error(), WireError::kUnsupported) << int{type};
    }
  }
}

TEST(Ipv6, BadOptionLengths) {
  // An option whose length runs past its header.
  auto over = with_ext(kIpProtoDstOpts, testing::bytes_of({6, 0, 1, 5, 0, 0, 0, 0}));
  EXPECT_EQ(Ipv6View::parse(over).error(), WireError::kBadOptionLength);
  // An option type in the last byte without its length byte.
  auto cut = with_ext(kIpProtoDstOpts, testing::bytes_of({6, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(Ipv6View::parse(cut).error(), WireError::kBadOptionLength);
  // The header's own length runs past the payload: Hdr Ext Len 1 is 16 bytes, 12 remain.
  auto hdr = with_ext(kIpProtoDstOpts, testing::bytes_of({6, 1, 1, 4, 0, 0, 0, 0}));
  EXPECT_EQ(Ipv6View::parse(hdr).error(), WireError::kBadOptionLength);
  // Fewer than 8 bytes left for the header at all.
  auto tiny = with_ext(kIpProtoDstOpts, {});
  EXPECT_EQ(Ipv6View::parse(tiny).error(), WireError::kTruncated);
}

TEST(Ipv6, NoNextHeader) {
  auto p = with_ext(kIpProtoDstOpts, testing::bytes_of({59, 0, 1, 4, 0, 0, 0, 0}));
  const auto v = Ipv6View::parse(p);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->protocol(), kIpProtoNoNext);
}

TEST(Ipv6, TruncatedAtEachBoundary) {
  const auto ip = ip_of(bytes(testdata::kEthIpv6TcpSynAck));
  for (size_t n = 0; n < ip.size(); ++n) {
    const auto v = Ipv6View::parse(ip.first(n));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), n < 40 ? WireError::kTruncated : WireError::kBadTotalLength) << n;
  }
}

TEST(Ipv6, TrailingBytesIgnored) {
  auto p = to_vec(ip_of(bytes(testdata::kEthIpv6TcpSynAck)));
  p.resize(p.size() + 6);
  const auto v = Ipv6View::parse(p);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->bytes().size(), 80u);
  EXPECT_EQ(v->payload().size(), 40u);
}

TEST(Ipv6, BadVersion) {
  auto p = to_vec(ip_of(bytes(testdata::kEthIpv6TcpSynAck)));
  p[0] = std::byte{0x40};
  EXPECT_EQ(Ipv6View::parse(p).error(), WireError::kBadVersion);
}

TEST(Ipv6, Construct) {
  std::vector<std::byte> out(40);
  const auto n = write_ipv6(out, kB, kA, kIpProtoTcp, 40, 64);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 40u);
  EXPECT_EQ(out, to_vec(ip_of(bytes(testdata::kEthIpv6TcpSynAck)).first(40)));
}

TEST(Ipv6, ConstructFields) {
  std::vector<std::byte> out(40);
  ASSERT_TRUE(write_ipv6(out, Ipv6HeaderFields{.src = kA,
                                               .dst = kB,
                                               .next_header = kIpProtoNoNext,
                                               .payload_len = 0,
                                               .hop_limit = 255,
                                               .traffic_class = 0xa5,
                                               .flow_label = 0xfedcb})
                  .ok());
  const auto v = Ipv6View::parse(out);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->traffic_class(), 0xa5);
  EXPECT_EQ(v->flow_label(), 0xfedcbu);
  EXPECT_EQ(v->hop_limit(), 255);
  EXPECT_EQ(write_ipv6(std::span(out).first(39), kA, kB, 6, 0, 64).error(), WireError::kNoSpace);
}

}  // namespace
}  // namespace tempo::wire
