// SeqNum and TsVal: modular comparison (RFC 9293 §3.4, RFC 7323 §5.2) across the 2^32 wrap.
#include "tcp/seq.h"

#include <gtest/gtest.h>

namespace tempo::tcp {
namespace {

TEST(SeqNum, Rfc9293_3_4_OrderedAcrossWrap) {
  const SeqNum a(0xFFFFFFF0u);
  const SeqNum b(0x00000010u);
  EXPECT_LT(a, b);
  EXPECT_GT(b, a);
  EXPECT_LE(a, a);
  EXPECT_GE(b, b);
  EXPECT_EQ(b - a, 0x20);
  EXPECT_EQ(a - b, -0x20);
  EXPECT_EQ(a + 0x20u, b);
  EXPECT_EQ(b - 0x20u, a);
}

TEST(SeqNum, Rfc9293_3_4_HalfSpaceBoundary) {
  const SeqNum z(0);
  EXPECT_LT(z, SeqNum(0x7FFFFFFFu));  // 2^31 - 1 ahead
  EXPECT_GT(z, SeqNum(0x80000001u));  // 2^31 - 1 behind
}

TEST(SeqNum, DistanceAndRange) {
  EXPECT_EQ(distance(SeqNum(0xFFFFFFFEu), SeqNum(3)), 5u);
  EXPECT_EQ(distance(SeqNum(3), SeqNum(0xFFFFFFFEu)), 0u);
  EXPECT_TRUE(in_range(SeqNum(0xFFFFFFFEu), SeqNum(1), SeqNum(2)));
  EXPECT_FALSE(in_range(SeqNum(0xFFFFFFFEu), SeqNum(2), SeqNum(2)));
  EXPECT_EQ(max(SeqNum(0xFFFFFFFFu), SeqNum(1)), SeqNum(1));
  EXPECT_EQ(min(SeqNum(0xFFFFFFFFu), SeqNum(1)), SeqNum(0xFFFFFFFFu));
  SeqNum s(0xFFFFFFFFu);
  s += 2;
  EXPECT_EQ(s.raw(), 1u);
}

TEST(TsVal, Rfc7323_5_2_ModularAcrossWrap) {
  EXPECT_LT(TsVal(0xFFFFFF00u), TsVal(5));
  EXPECT_GT(TsVal(5), TsVal(0xFFFFFF00u));
  EXPECT_GE(TsVal(7), TsVal(7));
  EXPECT_EQ(TsVal(5) - TsVal(0xFFFFFFFFu), 6);
}

}  // namespace
}  // namespace tempo::tcp
