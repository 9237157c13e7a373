#include "wire/checksum.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
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

// raw_sum_add against DPDK's rte_raw_cksum (detail::dpdk_raw_sum), the sum it replaced: equal
// bit for bit, 0 and 0xffff included, on every input. Seeded, so a failure repeats.
std::vector<std::byte> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<std::byte> v(n);
  for (auto& b : v) {
    b = static_cast<std::byte>(rng());
  }
  return v;
}

uint16_t tempo_sum(std::span<const std::byte> data) { return raw_sum_add(0, data, 0); }

// Every length 0..2048 at every start offset 0..7 (alignment), fresh random bytes per length.
TEST(ChecksumSum, MatchesDpdkEveryLengthAndAlignment) {
  std::mt19937 rng(1071);
  for (size_t len = 0; len <= 2048; ++len) {
    const auto buf = random_bytes(rng, len + 8);
    for (size_t off = 0; off < 8; ++off) {
      const auto d = std::span(buf).subspan(off, len);
      ASSERT_EQ(tempo_sum(d), detail::dpdk_raw_sum(d)) << "len " << len << " offset " << off;
    }
  }
}

// All-ones words: every add carries, so a dropped or doubled carry shows. The sum of n >= 2
// bytes of 0xff is 0xffff (the one's-complement "negative zero", never 0); odd lengths end in
// a byte padded with zero. Also runs of 0xff ending in one other byte.
TEST(ChecksumSum, AllOnesCarryTorture) {
  std::vector<std::byte> buf(65536 + 8, std::byte{0xff});
  for (size_t len = 0; len <= 2048; ++len) {
    for (size_t off = 0; off < 8; ++off) {
      const auto d = std::span(buf).subspan(off, len);
      ASSERT_EQ(tempo_sum(d), detail::dpdk_raw_sum(d)) << "len " << len << " offset " << off;
      if (len >= 2 && len % 2 == 0) {
        ASSERT_EQ(tempo_sum(d), 0xffff);
      }
    }
  }
  for (size_t len : {4095u, 4096u, 9000u, 65535u, 65536u}) {
    const auto d = std::span(buf).subspan(3, len - 3);
    EXPECT_EQ(tempo_sum(d), detail::dpdk_raw_sum(d)) << len;
    EXPECT_EQ(tempo_sum(std::span(buf).first(len)),
              detail::dpdk_raw_sum(std::span(buf).first(len)));
  }
  for (size_t len = 1; len <= 300; ++len) {
    std::vector<std::byte> v(len, std::byte{0xff});
    for (int last : {0x00, 0x01, 0xfe}) {
      v.back() = static_cast<std::byte>(last);
      ASSERT_EQ(tempo_sum(v), detail::dpdk_raw_sum(v)) << len << " " << last;
    }
  }
}

// Long messages up to 64 KiB (past the short path and through many vector-loop iterations):
// random lengths and offsets, and the sizes at the edges of the loop's 64-byte steps.
TEST(ChecksumSum, MatchesDpdkUpTo64KiB) {
  std::mt19937 rng(9293);
  const auto buf = random_bytes(rng, 65536 + 8);
  for (size_t len : {127u, 128u, 129u, 191u, 192u, 1448u, 1460u, 9000u, 65535u, 65536u}) {
    for (size_t off = 0; off < 8; ++off) {
      const auto d = std::span(buf).subspan(off, std::min<size_t>(len, buf.size() - off));
      ASSERT_EQ(tempo_sum(d), detail::dpdk_raw_sum(d)) << "len " << d.size() << " offset " << off;
    }
  }
  std::uniform_int_distribution<size_t> any_len(0, 65536);
  for (int i = 0; i < 2000; ++i) {
    const size_t off = static_cast<size_t>(rng() % 8);
    const auto d = std::span(buf).subspan(off, std::min(any_len(rng), buf.size() - off));
    ASSERT_EQ(tempo_sum(d), detail::dpdk_raw_sum(d)) << "len " << d.size() << " offset " << off;
  }
  const std::vector<std::byte> zeros(65536);
  EXPECT_EQ(tempo_sum(zeros), 0);  // only a message of zeros sums to 0
}

// Past 256 KiB the sum runs in blocks (kBlockWords); rte_raw_cksum's 32-bit accumulator wraps
// beyond 128 KiB, so these compare with the same message summed in DPDK-checked 64 KiB pieces.
TEST(ChecksumSum, LongerThanABlock) {
  std::mt19937 rng(8200);
  const auto buf = random_bytes(rng, (1u << 20) + 3);
  uint16_t pieces = 0;
  for (size_t at = 0; at < buf.size(); at += 65536) {
    const auto d = std::span(buf).subspan(at, std::min<size_t>(65536, buf.size() - at));
    ASSERT_EQ(tempo_sum(d), detail::dpdk_raw_sum(d));
    pieces = raw_sum_add(pieces, d, at);
  }
  EXPECT_EQ(tempo_sum(buf), pieces);
  const std::vector<std::byte> ones((1u << 20) + 2, std::byte{0xff});
  EXPECT_EQ(tempo_sum(ones), 0xffff);
}

// A message cut into pieces at any points, odd ones included, sums as the whole does: the pieces
// at odd offsets are byte-swapped (RFC 1071 §2(B)). This is how a chain of mbufs is summed.
TEST(ChecksumSum, PiecesAtAnyCut) {
  // RFC 1071 §3's words cut after 3 bytes: 00 01 f2 | 03 f4 f5 f6 f7.
  const auto w = bytes_of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
  const uint16_t head = raw_sum_add(0, std::span(w).first(3), 0);
  EXPECT_EQ(raw_sum_add(head, std::span(w).subspan(3), 3), tempo_sum(w));
  // Empty pieces and pieces of zeros leave the sum as it was, "negative zero" 0xffff included.
  EXPECT_EQ(raw_sum_add(0xffff, {}, 1), 0xffff);
  EXPECT_EQ(raw_sum_add(0, std::span(w).first(0), 3), 0);
  EXPECT_EQ(raw_sum_add(0x1234, std::vector<std::byte>(9), 1), 0x1234);
  std::mt19937 rng(1337);
  for (int i = 0; i < 3000; ++i) {
    const auto msg = random_bytes(rng, rng() % 3000);
    uint16_t sum = 0;
    for (size_t at = 0; at < msg.size();) {
      const size_t n = std::min<size_t>(rng() % 700, msg.size() - at);  // empty pieces too
      sum = raw_sum_add(sum, std::span(msg).subspan(at, n), at);
      at += n;
    }
    ASSERT_EQ(sum, detail::dpdk_raw_sum(msg)) << "message " << i << " of " << msg.size();
  }
}

// The stack's use: the pseudo-header sum in memory order, then the segment in pieces, complement
// and store with memcpy; the field then holds what tcp_checksum_ipv4 computes.
TEST(ChecksumSum, TcpChecksumFromPieces) {
  const auto ip = Ipv4View::parse(bytes(testdata::kEthIpv4OptsTcpData).subspan(14)).value();
  auto seg = to_vec(ip.payload());
  const uint16_t want = TcpView::parse(seg)->checksum();
  seg[16] = seg[17] = std::byte{0};
  std::array<std::byte, 2> ph_be{};
  const uint16_t ph =
      ipv4_pseudo_header_sum(ip.src(), ip.dst(), 6, static_cast<uint16_t>(seg.size()));
  ph_be[0] = static_cast<std::byte>(ph >> 8);
  ph_be[1] = static_cast<std::byte>(ph);
  uint16_t sum;
  std::memcpy(&sum, ph_be.data(), sizeof sum);  // the memory-order value of rte_ipv4_phdr_cksum
  sum = raw_sum_add(sum, std::span(seg).first(21), 0);
  sum = raw_sum_add(sum, std::span(seg).subspan(21), 21);
  sum = static_cast<uint16_t>(~sum);
  std::memcpy(&seg[16], &sum, sizeof sum);
  EXPECT_EQ(TcpView::parse(seg)->checksum(), want);
}

}  // namespace
}  // namespace tempo::wire
