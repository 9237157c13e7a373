#include "wire/tcp.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::to_vec;

std::span<const std::byte> syn_segment() { return bytes(testdata::kEthIpv4TcpSyn).subspan(34); }
std::span<const std::byte> data_segment() {
  return bytes(testdata::kEthIpv4OptsTcpData).subspan(38);
}

TEST(Tcp, DeconstructSyn) {
  const auto v = TcpView::parse(syn_segment());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->src_port(), 40000);
  EXPECT_EQ(v->dst_port(), 80);
  EXPECT_EQ(v->seq(), 0x12345678u);
  EXPECT_EQ(v->ack(), 0u);
  EXPECT_EQ(v->header_length(), 40u);
  EXPECT_EQ(v->reserved_bits(), 0);
  EXPECT_EQ(v->flags(), TcpFlags(TcpFlags::kSyn));
  EXPECT_TRUE(v->flags().syn());
  EXPECT_FALSE(v->flags().ack());
  EXPECT_EQ(v->window(), 64240);
  EXPECT_EQ(v->checksum(), 0xd968);
  EXPECT_EQ(v->urgent(), 0);
  EXPECT_EQ(v->options().size(), 20u);
  EXPECT_TRUE(v->payload().empty());
  EXPECT_EQ(v->segment_length(), 1u);
}

TEST(Tcp, DeconstructData) {
  const auto v = TcpView::parse(data_segment());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->src_port(), 80);
  EXPECT_EQ(v->dst_port(), 40000);
  EXPECT_EQ(v->seq(), 0xabcdef01u);
  EXPECT_EQ(v->ack(), 0x12345679u);
  EXPECT_TRUE(v->flags().psh());
  EXPECT_TRUE(v->flags().ack());
  EXPECT_TRUE(v->flags().has(TcpFlags::kPsh | TcpFlags::kAck));
  EXPECT_FALSE(v->flags().has(TcpFlags::kPsh | TcpFlags::kFin));
  EXPECT_EQ(v->window(), 502);
  EXPECT_EQ(v->options().size(), 12u);
  ASSERT_EQ(v->payload().size(), 5u);
  EXPECT_EQ(static_cast<char>(v->payload()[0]), 'h');
  EXPECT_EQ(v->segment_length(), 5u);
}

TEST(Tcp, EveryFlagBit) {
  const uint8_t bits[] = {TcpFlags::kFin, TcpFlags::kSyn, TcpFlags::kRst, TcpFlags::kPsh,
                          TcpFlags::kAck, TcpFlags::kUrg, TcpFlags::kEce, TcpFlags::kCwr};
  for (uint8_t b : bits) {
    auto p = to_vec(syn_segment());
    p[13] = static_cast<std::byte>(b);
    const auto f = TcpView::parse(p)->flags();
    EXPECT_EQ(f.bits(), b);
    EXPECT_EQ(f.fin(), b == TcpFlags::kFin);
    EXPECT_EQ(f.syn(), b == TcpFlags::kSyn);
    EXPECT_EQ(f.rst(), b == TcpFlags::kRst);
    EXPECT_EQ(f.psh(), b == TcpFlags::kPsh);
    EXPECT_EQ(f.ack(), b == TcpFlags::kAck);
    EXPECT_EQ(f.urg(), b == TcpFlags::kUrg);
    EXPECT_EQ(f.ece(), b == TcpFlags::kEce);
    EXPECT_EQ(f.cwr(), b == TcpFlags::kCwr);
  }
  auto p = to_vec(syn_segment());
  p[12] = std::byte{0xa1};  // AE/NS bit
  p[13] = std::byte{TcpFlags::kSyn | TcpFlags::kFin};
  EXPECT_EQ(TcpView::parse(p)->reserved_bits(), 1);
  EXPECT_EQ(TcpView::parse(p)->segment_length(), 2u);
}

TEST(Tcp, Truncated) {
  for (size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(TcpView::parse(syn_segment().first(n)).error(), WireError::kTruncated) << n;
  }
}

TEST(Tcp, DataOffsetBeyondSegment) {
  // The SYN's header is 40 bytes: cut anywhere in its options.
  for (size_t n = 20; n < 40; ++n) {
    EXPECT_EQ(TcpView::parse(syn_segment().first(n)).error(), WireError::kBadDataOffset) << n;
  }
  EXPECT_TRUE(TcpView::parse(syn_segment().first(40)).ok());
  auto p = to_vec(syn_segment());
  p[12] = std::byte{0xf0};  // 60 bytes
  EXPECT_EQ(TcpView::parse(p).error(), WireError::kBadDataOffset);
  p.resize(60);
  EXPECT_TRUE(TcpView::parse(p).ok());
  EXPECT_EQ(TcpView::parse(p)->options().size(), 40u);
}

TEST(Tcp, DataOffsetTooSmall) {
  for (uint8_t doff = 0; doff < 5; ++doff) {
    auto p = to_vec(syn_segment());
    p[12] = static_cast<std::byte>(doff << 4);
    EXPECT_EQ(TcpView::parse(p).error(), WireError::kBadDataOffset) << int{doff};
  }
}

TEST(Tcp, ConstructSyn) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.tsval = 123456;
  o.has_wscale = true;
  o.wscale = 7;
  std::vector<std::byte> out(40);
  const auto n = write_tcp(out,
                           TcpHeaderFields{.src_port = 40000,
                                           .dst_port = 80,
                                           .seq = 0x12345678,
                                           .flags = TcpFlags(TcpFlags::kSyn),
                                           .window = 64240},
                           o);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 40u);
  // Byte for byte what Linux sent, except the checksum (left zero for the caller).
  auto expected = to_vec(syn_segment());
  expected[16] = expected[17] = std::byte{0};
  EXPECT_EQ(out, expected);
}

TEST(Tcp, ConstructPlain) {
  std::vector<std::byte> out(20);
  const auto n = write_tcp(out,
                           TcpHeaderFields{.src_port = 1,
                                           .dst_port = 2,
                                           .seq = 3,
                                           .ack = 4,
                                           .flags = TcpFlags(TcpFlags::kAck | TcpFlags::kUrg),
                                           .window = 5,
                                           .urgent = 6},
                           TcpOptions{});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 20u);
  const auto v = TcpView::parse(out);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->src_port(), 1);
  EXPECT_EQ(v->dst_port(), 2);
  EXPECT_EQ(v->seq(), 3u);
  EXPECT_EQ(v->ack(), 4u);
  EXPECT_EQ(v->header_length(), 20u);
  EXPECT_EQ(v->flags(), TcpFlags(TcpFlags::kAck) | TcpFlags(TcpFlags::kUrg));
  EXPECT_EQ(v->window(), 5);
  EXPECT_EQ(v->urgent(), 6);
  EXPECT_EQ(v->checksum(), 0);
}

TEST(Tcp, ConstructErrors) {
  std::vector<std::byte> out(60);
  TcpOptions o;
  o.has_mss = true;
  EXPECT_EQ(write_tcp(std::span(out).first(23), TcpHeaderFields{}, o).error(), WireError::kNoSpace);
  EXPECT_TRUE(write_tcp(std::span(out).first(24), TcpHeaderFields{}, o).ok());
  o.has_md5 = true;
  o.has_timestamps = true;
  o.has_wscale = true;
  o.has_ao = true;
  o.ao_mac_len = 12;
  EXPECT_EQ(write_tcp(out, TcpHeaderFields{}, o).error(), WireError::kOptionsTooLong);
}

}  // namespace
}  // namespace tempo::wire
