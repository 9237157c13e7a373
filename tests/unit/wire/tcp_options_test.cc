#include "wire/tcp_options.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::bytes_of;
using testing::to_vec;

Result<TcpOptions, WireError> parse(std::initializer_list<uint8_t> l) {
  const auto v = bytes_of(l);
  return parse_tcp_options(v);
}

TEST(TcpOptions, LinuxSyn) {
  const auto o = parse_tcp_options(bytes(testdata::kEthIpv4TcpSyn).subspan(54, 20));
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->has_mss);
  EXPECT_EQ(o->mss, 1460);
  EXPECT_TRUE(o->sack_permitted);
  EXPECT_TRUE(o->has_timestamps);
  EXPECT_EQ(o->tsval, 123456u);
  EXPECT_EQ(o->tsecr, 0u);
  EXPECT_TRUE(o->has_wscale);
  EXPECT_EQ(o->wscale, 7);
  EXPECT_EQ(o->num_sack, 0);
  EXPECT_FALSE(o->has_md5);
  EXPECT_FALSE(o->has_ao);
}

TEST(TcpOptions, TimestampsOnly) {
  const auto o = parse_tcp_options(bytes(testdata::kEthIpv4OptsTcpData).subspan(58, 12));
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->has_timestamps);
  EXPECT_EQ(o->tsval, 123457u);
  EXPECT_EQ(o->tsecr, 987654u);
  EXPECT_FALSE(o->has_mss);
  EXPECT_FALSE(o->sack_permitted);
}

TEST(TcpOptions, Empty) {
  const auto o = parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->has_mss || o->has_wscale || o->sack_permitted || o->has_timestamps);
}

TEST(TcpOptions, SackBlocks) {
  const auto o = parse({1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 5});
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o->num_sack, 2);
  EXPECT_EQ(o->sack[0].left, 10u);
  EXPECT_EQ(o->sack[0].right, 20u);
  EXPECT_EQ(o->sack[1].left, 0xfffffff0u);
  EXPECT_EQ(o->sack[1].right, 5u);
}

TEST(TcpOptions, EndOfListStopsParsing) {
  // EOL, then garbage that would be malformed if read.
  const auto o = parse({2, 4, 0x05, 0xb4, 0, 0xff, 0, 3});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->mss, 1460);
  EXPECT_FALSE(o->has_wscale);
}

TEST(TcpOptions, UnknownSkipped) {
  // Kind 34 (TFO cookie, 10 bytes) and kind 254 (experimental, 4 bytes) before WS.
  const auto o = parse({34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 254, 4, 0xf9, 0x89, 1, 3, 3, 14});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->has_wscale);
  EXPECT_EQ(o->wscale, 14);
  // Window scale above 14 is kept as received (RFC 7323 §2.3 clamps at use).
  EXPECT_EQ(parse({3, 3, 20})->wscale, 20);
}

TEST(TcpOptions, LengthZeroOrOne) {
  for (uint8_t len : {0, 1}) {
    EXPECT_EQ(parse({2, len, 0, 0}).error(), WireError::kBadOptionLength) << int{len};
    EXPECT_EQ(parse({99, len, 0, 0}).error(), WireError::kBadOptionLength) << int{len};
  }
}

TEST(TcpOptions, Overlong) {
  EXPECT_EQ(parse({2, 5, 0, 0}).error(), WireError::kBadOptionLength);   // MSS of 5 past end
  EXPECT_EQ(parse({99, 6, 0, 0}).error(), WireError::kBadOptionLength);  // unknown past end
  EXPECT_EQ(parse({1, 1, 1, 2}).error(), WireError::kBadOptionLength);   // kind without length
  EXPECT_EQ(parse({8, 10, 0, 0, 0, 1}).error(), WireError::kBadOptionLength);
}

TEST(TcpOptions, WrongFixedLengths) {
  EXPECT_EQ(parse({2, 3, 0, 0}).error(), WireError::kBadOptionLength);
  EXPECT_EQ(parse({3, 4, 0, 0}).error(), WireError::kBadOptionLength);
  EXPECT_EQ(parse({4, 3, 0, 0}).error(), WireError::kBadOptionLength);
  EXPECT_EQ(parse({8, 8, 0, 0, 0, 0, 0, 0}).error(), WireError::kBadOptionLength);
  EXPECT_EQ(parse({5, 2, 0, 0}).error(), WireError::kBadOptionLength);  // no block
  EXPECT_EQ(parse({5, 9, 0, 0, 0, 0, 0, 0, 0, 0}).error(), WireError::kBadOptionLength);
  std::vector<uint8_t> five_blocks = {5, 42};
  five_blocks.resize(42);
  EXPECT_EQ(parse_tcp_options(std::as_bytes(std::span(five_blocks))).error(),
            WireError::kBadOptionLength);
  std::vector<uint8_t> md5 = {19, 17};
  md5.resize(17);
  EXPECT_EQ(parse_tcp_options(std::as_bytes(std::span(md5))).error(), WireError::kBadOptionLength);
  EXPECT_EQ(parse({29, 4, 1, 2}).error(), WireError::kBadOptionLength);  // AO without MAC
}

TEST(TcpOptions, DuplicatesTakeTheLastValueAsLinuxDoes) {
  auto mss = parse({2, 4, 0, 1, 2, 4, 0, 2});
  ASSERT_TRUE(mss.ok());
  EXPECT_EQ(mss->mss, 2);
  auto ws = parse({3, 3, 1, 3, 3, 2});
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws->wscale, 2);
  auto sp = parse({4, 2, 4, 2});
  ASSERT_TRUE(sp.ok());
  EXPECT_TRUE(sp->sack_permitted);
  auto ts = parse({8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 8, 10, 0, 0, 0, 3, 0, 0, 0, 4});
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->tsval, 3u);
  EXPECT_EQ(ts->tsecr, 4u);
  auto sack = parse({5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 10, 0, 0, 0, 3, 0, 0, 0, 4});
  ASSERT_TRUE(sack.ok());
  ASSERT_EQ(sack->num_sack, 1);
  EXPECT_EQ(sack->sack[0].left, 3u);
}

TEST(TcpOptions, DuplicateSignaturesAreRefused) {
  std::vector<uint8_t> two_md5(36, 0);
  two_md5[0] = 19;
  two_md5[1] = 18;
  two_md5[18] = 19;
  two_md5[19] = 18;
  EXPECT_EQ(parse_tcp_options(std::as_bytes(std::span(two_md5))).error(),
            WireError::kDuplicateOption);
  EXPECT_EQ(parse({29, 5, 1, 1, 0xaa, 29, 5, 1, 1, 0xbb}).error(), WireError::kDuplicateOption);
}

// Each kind's length is checked before its duplicate rule, and the checks stop at the first
// bad option: a second MD5 of the wrong length is a bad length, not a duplicate.
TEST(TcpOptions, LengthCheckedBeforeDuplicate) {
  std::vector<uint8_t> md5_then_short(35, 0);
  md5_then_short[0] = 19;
  md5_then_short[1] = 18;
  md5_then_short[18] = 19;
  md5_then_short[19] = 17;
  EXPECT_EQ(parse_tcp_options(std::as_bytes(std::span(md5_then_short))).error(),
            WireError::kBadOptionLength);
  EXPECT_EQ(parse({29, 5, 1, 1, 0xaa, 29, 4, 1, 1}).error(), WireError::kBadOptionLength);
  std::vector<uint8_t> ao_mac33 = {29, 37};
  ao_mac33.resize(37);
  EXPECT_EQ(parse_tcp_options(std::as_bytes(std::span(ao_mac33))).error(),
            WireError::kBadOptionLength);
  std::vector<uint8_t> ao_mac32 = {29, 36};
  ao_mac32.resize(36);
  EXPECT_TRUE(parse_tcp_options(std::as_bytes(std::span(ao_mac32))).ok());
}

// A two-byte option may end the area: its (empty) value starts one past the end.
TEST(TcpOptions, TwoByteOptionEndsTheArea) {
  const auto o = parse({1, 1, 4, 2});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->sack_permitted);
}

TEST(TcpOptions, Md5AndAo) {
  std::vector<uint8_t> b = {1, 1, 19, 18};
  for (uint8_t i = 0; i < 16; ++i) {
    b.push_back(static_cast<uint8_t>(0xa0 + i));
  }
  auto o = parse_tcp_options(std::as_bytes(std::span(b)));
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->has_md5);
  EXPECT_EQ(o->md5_offset, 4);
  EXPECT_EQ(static_cast<uint8_t>(o->md5[0]), 0xa0);
  EXPECT_EQ(static_cast<uint8_t>(o->md5[15]), 0xaf);

  std::vector<uint8_t> a = {2, 4, 5, 0xb4, 29, 16, 7, 9};
  for (uint8_t i = 0; i < 12; ++i) {
    a.push_back(i);
  }
  o = parse_tcp_options(std::as_bytes(std::span(a)));
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->has_ao);
  EXPECT_EQ(o->ao_key_id, 7);
  EXPECT_EQ(o->ao_rnext_key_id, 9);
  EXPECT_EQ(o->ao_mac_len, 12);
  EXPECT_EQ(o->ao_offset, 8);
  EXPECT_EQ(static_cast<uint8_t>(o->ao_mac[11]), 11);
}

TcpOptions full_options() {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1440;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.tsval = 0x01020304;
  o.tsecr = 0x05060708;
  o.has_wscale = true;
  o.wscale = 9;
  return o;
}

TEST(TcpOptions, WriteLayouts) {
  std::vector<std::byte> out(40);
  // SACK-permitted alone (no timestamps): NOP NOP 4 2.
  TcpOptions o;
  o.sack_permitted = true;
  ASSERT_EQ(write_tcp_options(out, o).value(), 4u);
  EXPECT_EQ(to_vec(std::span(out).first(4)), bytes_of({1, 1, 4, 2}));
  // Timestamps without SACK-permitted: NOP NOP 8 10.
  o = TcpOptions{};
  o.has_timestamps = true;
  o.tsval = 1;
  o.tsecr = 2;
  ASSERT_EQ(write_tcp_options(out, o).value(), 12u);
  EXPECT_EQ(to_vec(std::span(out).first(12)), bytes_of({1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}));
  // SACK blocks: NOP NOP 5 len.
  o = TcpOptions{};
  o.num_sack = 1;
  o.sack[0] = SackBlock{100, 200};
  ASSERT_EQ(write_tcp_options(out, o).value(), 12u);
  EXPECT_EQ(to_vec(std::span(out).first(12)), bytes_of({1, 1, 5, 10, 0, 0, 0, 100, 0, 0, 0, 200}));
  // MD5 first, at kTcpSignatureOffset.
  o = full_options();
  o.has_md5 = true;
  o.md5[0] = std::byte{0xee};
  ASSERT_EQ(write_tcp_options(out, o).value(), 40u);
  EXPECT_EQ(to_vec(std::span(out).first(4)), bytes_of({1, 1, 19, 18}));
  EXPECT_EQ(out[kTcpSignatureOffset], std::byte{0xee});
  EXPECT_EQ(to_vec(std::span(out).subspan(20, 4)), bytes_of({2, 4, 0x05, 0xa0}));
  // AO with a 12-byte MAC: 16 bytes, no padding; with 10, padded by 2 NOPs.
  o = TcpOptions{};
  o.has_ao = true;
  o.ao_key_id = 3;
  o.ao_rnext_key_id = 4;
  o.ao_mac_len = 10;
  o.ao_mac[0] = std::byte{0x77};
  ASSERT_EQ(write_tcp_options(out, o).value(), 16u);
  EXPECT_EQ(to_vec(std::span(out).first(5)), bytes_of({29, 14, 3, 4, 0x77}));
  EXPECT_EQ(to_vec(std::span(out).subspan(14, 2)), bytes_of({1, 1}));
  const auto back = parse_tcp_options(std::span(out).first(16));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ao_offset, kTcpSignatureOffset);
  EXPECT_EQ(back->ao_mac_len, 10);
}

// Linux's SYN layout: MSS, SACK-permitted packed before the timestamps, window scale.
TEST(TcpOptions, WriteSynLayout) {
  std::vector<std::byte> out(40);
  ASSERT_EQ(write_tcp_options(out, full_options()).value(), 20u);
  EXPECT_EQ(to_vec(std::span(out).first(20)),
            bytes_of({2, 4, 0x05, 0xa0, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 9}));
}

TEST(TcpOptions, RoundTrip) {
  TcpOptions o = full_options();
  o.num_sack = 2;
  o.sack[0] = SackBlock{1000, 2000};
  o.sack[1] = SackBlock{3000, 4000};
  // MSS 4 + TS 12 + WS 4 = 20, leaving room for 2 blocks (4 + 16).
  EXPECT_EQ(tcp_options_sack_blocks(o), 2u);
  EXPECT_EQ(tcp_options_length(o), 40u);
  std::vector<std::byte> out(40);
  ASSERT_EQ(write_tcp_options(out, o).value(), 40u);
  const auto back = parse_tcp_options(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->mss, 1440);
  EXPECT_TRUE(back->sack_permitted);
  EXPECT_EQ(back->tsval, 0x01020304u);
  EXPECT_EQ(back->tsecr, 0x05060708u);
  EXPECT_EQ(back->wscale, 9);
  ASSERT_EQ(back->num_sack, 2);
  EXPECT_EQ(back->sack[1].left, 3000u);
  EXPECT_EQ(back->sack[1].right, 4000u);
}

TEST(TcpOptions, SackBlocksTrimmedToFit) {
  TcpOptions o;
  o.has_timestamps = true;
  o.num_sack = 4;
  for (uint32_t i = 0; i < 4; ++i) {
    o.sack[i] = SackBlock{i * 10, i * 10 + 5};
  }
  // TS 12 leaves 28: 4 + 3 blocks, as Linux sends with timestamps on.
  EXPECT_EQ(tcp_options_sack_blocks(o), 3u);
  EXPECT_EQ(tcp_options_length(o), 40u);
  o.has_timestamps = false;
  EXPECT_EQ(tcp_options_sack_blocks(o), 4u);
  EXPECT_EQ(tcp_options_length(o), 36u);
  o.has_md5 = true;
  o.has_timestamps = true;  // 20 + 12 leaves 8: no room for a block
  EXPECT_EQ(tcp_options_sack_blocks(o), 0u);
  EXPECT_EQ(tcp_options_length(o), 32u);
}

TEST(TcpOptions, WriteErrors) {
  std::vector<std::byte> out(40);
  TcpOptions o = full_options();
  EXPECT_EQ(write_tcp_options(std::span(out).first(19), o).error(), WireError::kNoSpace);
  o.has_ao = true;
  o.ao_mac_len = 12;
  EXPECT_EQ(tcp_options_length(o), 36u);
  o.has_md5 = true;
  EXPECT_EQ(write_tcp_options(out, o).error(), WireError::kOptionsTooLong);
  o = TcpOptions{};
  o.has_ao = true;
  o.ao_mac_len = 33;
  EXPECT_EQ(write_tcp_options(out, o).error(), WireError::kOptionsTooLong);
}

}  // namespace
}  // namespace tempo::wire
