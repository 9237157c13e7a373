// TCP-MD5 (RFC 2385) against signatures computed by Linux: segments captured on lo in a
// throwaway network namespace, between two python3 sockets with TCP_MD5SIG set to the key below
// (kernel 6.x, AF_PACKET capture). The captured checksums are partial (loopback offload), which
// the signature ignores by definition.
#include "crypto/tcp_md5.h"

#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "hex.h"

namespace tempo::crypto {
namespace {

using test::bytes;
using test::hex;
using test::same;
using test::segment_of;

constexpr std::string_view kKey = "tempo-md5-test-key";

struct Captured {
  const char* name;
  const char* packet;  // the IP packet
  const char* digest;  // the signature Linux put in option 19
};

const Captured kLinux[] = {
    {"ipv4_syn",
     "45000048382c4000400604827f0000017f000001bfc01e61c02ee91e00000000d002ffd7fe3c0000"
     "010113127485b8b3a293699eac591aabb72ca49f0204ffd7010104020103030a",
     "7485b8b3a293699eac591aabb72ca49f"},
    {"ipv4_synack",
     "450000480000400040063cae7f0000017f0000011e61bfc06479f60dc02ee91fd012ffd7fe3c0000"
     "01011312089ebfa8ce201338dcef741ac46cedbd0204ffd7010104020103030a",
     "089ebfa8ce201338dcef741ac46cedbd"},
    {"ipv4_data",
     "45000047382e4000400604817f0000017f000001bfc01e61c02ee91f6479f60ea0180040fe3b0000"
     "010113124de1b253a155c24d6902424489df658768656c6c6f2074656d706f",
     "4de1b253a155c24d6902424489df6587"},
    {"ipv6_syn",
     "6007b29700340640000000000000000000000000000000010000000000000000000000000000000192ae"
     "1e62089f38a200000000d002ffc4003c00000101131269cf1124562c556f0f55744138af3c850204ffc4"
     "010104020103030a",
     "69cf1124562c556f0f55744138af3c85"},
    {"ipv6_data",
     "6007b29700330640000000000000000000000000000000010000000000000000000000000000000192ae"
     "1e62089f38a38b44eb0ba0180040003b000001011312fe8dd84412d0a7369a293fc61eee1ce268656c6c"
     "6f2074656d706f",
     "fe8dd84412d0a7369a293fc61eee1ce2"},
};

class CryptoTcpMd5Test : public ::testing::TestWithParam<Captured> {};

TEST_P(CryptoTcpMd5Test, MatchesLinux) {
  const auto pkt = hex(GetParam().packet);
  const auto seg = segment_of(pkt);
  const auto key = bytes(kKey);
  auto d = tcp_md5_sign(seg, key);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(same(*d, hex(GetParam().digest)));
  EXPECT_TRUE(tcp_md5_verify(seg, key).ok());
}

TEST_P(CryptoTcpMd5Test, RejectsWrongKeyAndAnyFlippedBit) {
  const auto pkt = hex(GetParam().packet);
  auto wrong = bytes(kKey);
  wrong.back() ^= std::byte{1};
  auto r = tcp_md5_verify(segment_of(pkt), wrong);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), CryptoError::kMismatch);
  // A bit flipped anywhere the signature covers or that locates the MD5 option must fail; the
  // checksum (TCP bytes 16-17) and the options after the MD5 option are not covered
  // (RFC 2385 §2.0). All captures carry NOP, NOP, MD5 first (TCP bytes 20-39).
  const size_t tcp_at = (static_cast<size_t>(pkt[0]) >> 4) == 4 ? 20 : 40;
  const size_t doff = (static_cast<size_t>(pkt[tcp_at + 12]) >> 4) * 4;
  for (size_t off = 0; tcp_at + off < pkt.size(); ++off) {
    if (off == 12) {
      continue;  // the data offset: changes the header's shape, tested below
    }
    auto p2 = pkt;
    p2[tcp_at + off] ^= std::byte{0x10};
    const bool uncovered = off == 16 || off == 17 || (off >= 40 && off < doff);
    auto v = tcp_md5_verify(segment_of(p2), bytes(kKey));
    EXPECT_EQ(v.ok(), uncovered) << "TCP byte " << off;
  }
}

INSTANTIATE_TEST_SUITE_P(Linux, CryptoTcpMd5Test, ::testing::ValuesIn(kLinux),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(CryptoTcpMd5, MissingOptionAndMalformedHeader) {
  // The IPv4 SYN with its MD5 option turned into NOPs.
  auto pkt = hex(kLinux[0].packet);
  for (size_t i = 42; i < 42 + 18; ++i) {
    pkt[i] = std::byte{1};
  }
  auto r = tcp_md5_verify(segment_of(pkt), bytes(kKey));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), CryptoError::kNoOption);

  // A wrong option length (19, 10) fails as kBadOptionLength, not a mismatch.
  pkt = hex(kLinux[0].packet);
  pkt[43] = std::byte{10};
  r = tcp_md5_verify(segment_of(pkt), bytes(kKey));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), CryptoError::kBadOptionLength);

  // An option length running past the header.
  pkt = hex(kLinux[0].packet);
  pkt[43] = std::byte{60};
  r = tcp_md5_verify(segment_of(pkt), bytes(kKey));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), CryptoError::kMalformedHeader);

  // Data offset below 5, and a header shorter than 20 bytes.
  pkt = hex(kLinux[0].packet);
  SegmentRef seg = segment_of(pkt);
  pkt[20 + 12] = std::byte{0x40};
  EXPECT_EQ(tcp_md5_sign(seg, bytes(kKey)).error(), CryptoError::kMalformedHeader);
  seg.tcp_header = seg.tcp_header.first(19);
  EXPECT_EQ(tcp_md5_verify(seg, bytes(kKey)).error(), CryptoError::kMalformedHeader);
}

}  // namespace
}  // namespace tempo::crypto
