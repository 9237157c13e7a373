// The SACK scoreboard (lib/tcp/sack.h): merging, the bound, trimming, and the RFC 6675 §4
// IsLost() and SetPipe() queries; and the retransmission candidates NextSeg() picks from it
// (lib/tcp/output.h next_seg_holes).
#include "tcp/sack.h"

#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tcp/output.h"
#include "test_buf.h"

namespace tempo::tcp {
namespace {

constexpr uint32_t kBase = 0xfffff000u;  // ranges cross the 2^32 wrap
using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

Ranges ranges(const SackScoreboard& sb) {
  Ranges v;
  for (uint8_t i = 0; i < sb.size(); ++i) {
    v.emplace_back(sb[i].left.raw() - kBase, sb[i].right.raw() - kBase);
  }
  return v;
}
SeqNum at(uint32_t off) { return SeqNum(kBase + off); }

TEST(SackScoreboard, AddKeepsSortedDisjointRangesAndCountsNewBytes) {
  SackScoreboard sb;
  EXPECT_EQ(sb.add(at(5000), at(6000)), 1000u);
  EXPECT_EQ(sb.add(at(1000), at(2000)), 1000u);
  EXPECT_EQ(sb.add(at(3000), at(4000)), 1000u);
  EXPECT_EQ(ranges(sb), (Ranges{{1000, 2000}, {3000, 4000}, {5000, 6000}}));
  EXPECT_EQ(sb.add(at(1500), at(2000)), 0u);     // already held
  EXPECT_EQ(sb.add(at(2000), at(3000)), 1000u);  // adjacent on both sides: merges three
  EXPECT_EQ(ranges(sb), (Ranges{{1000, 4000}, {5000, 6000}}));
  EXPECT_EQ(sb.add(at(500), at(7000)), 2500u);  // covers all
  EXPECT_EQ(ranges(sb), (Ranges{{500, 7000}}));
  EXPECT_EQ(sb.add(at(9000), at(9000)), 0u);  // empty
  EXPECT_EQ(sb.sacked_bytes(), 6500u);
}

TEST(SackScoreboard, FullKeepsLowestRanges) {
  SackScoreboard sb;
  for (uint32_t i = 0; i < SackScoreboard::kMaxRanges; ++i) {
    sb.add(at(2000 + i * 2000), at(2500 + i * 2000));
  }
  ASSERT_EQ(sb.size(), SackScoreboard::kMaxRanges);
  const SeqNum top = sb.highest();
  EXPECT_EQ(sb.add(at(100000), at(100500)), 0u);  // above all: not kept
  EXPECT_EQ(sb.highest(), top);
  EXPECT_EQ(sb.add(at(0), at(500)), 500u);  // below all: the highest range goes
  EXPECT_EQ(sb.size(), SackScoreboard::kMaxRanges);
  EXPECT_EQ(sb[0].left, at(0));
  EXPECT_LT(sb.highest(), top);
}

TEST(SackScoreboard, TrimDropsAndClipsBelowSndUna) {
  SackScoreboard sb;
  sb.add(at(1000), at(2000));
  sb.add(at(3000), at(4000));
  sb.trim(at(3500));
  EXPECT_EQ(ranges(sb), (Ranges{{3500, 4000}}));
  sb.trim(at(4000));
  EXPECT_TRUE(sb.empty());
}

// RFC 6675 §4 IsLost: DupThresh SACKed segments above, or more than 2 * SMSS bytes.
TEST(SackScoreboard, Rfc6675_4_IsLostThresholds) {
  SackScoreboard sb;
  sb.add(at(1000), at(2000));
  sb.add(at(3000), at(4000));
  EXPECT_FALSE(sack_is_lost(sb, at(0), at(10000), 1000, at(0)));     // 2 segments, 2000 bytes
  EXPECT_FALSE(sack_is_lost(sb, at(0), at(10000), 1000, at(4000)));  // nothing above
  sb.add(at(5000), at(5100));  // a third, short segment: DupThresh sequences
  EXPECT_TRUE(sack_is_lost(sb, at(0), at(10000), 1000, at(0)));
  EXPECT_FALSE(sack_is_lost(sb, at(0), at(10000), 1000, at(2500)));  // 2 segments above
  SackScoreboard big;
  big.add(at(1000), at(3001));  // 2001 bytes > 2 * SMSS in one range (3 segments)
  EXPECT_TRUE(sack_is_lost(big, at(0), at(10000), 1000, at(0)));
}

// RFC 6675 §4 SetPipe: unSACKed octets not lost, plus those retransmitted (below HighRxt).
TEST(SackScoreboard, Rfc6675_4_Pipe) {
  SackScoreboard sb;
  EXPECT_EQ(sack_pipe(sb, at(0), at(10000), 1000, at(0)), 10000u);  // nothing SACKed
  sb.add(at(1000), at(4000));
  // [0,1000) lost (3 segments above), [4000,10000) not.
  EXPECT_EQ(sack_pipe(sb, at(0), at(10000), 1000, at(0)), 6000u);
  EXPECT_EQ(sack_pipe(sb, at(0), at(10000), 1000, at(1000)), 7000u);  // [0,1000) resent
  EXPECT_EQ(sack_pipe(sb, at(0), at(10000), 1000, at(5000)), 8000u);  // + [4000,5000) twice
}

// RFC 6675 §4 NextSeg (1) and (3): the lowest hole at or above `from` (HighRxt or SND.UNA) that
// lies below the highest SACKed octet, lost or not; never the stretch above the highest range.
TEST(NextSeg, Rfc6675_4_RetransmitCandidates) {
  Tcb<test::TestBuf> t;
  t.snd_una = at(0);
  t.snd_max = at(10000);
  constexpr uint32_t kMss = 1000;
  auto holes = [&](uint32_t from) { return detail::next_seg_holes(t, at(from), kMss); };

  // Nothing SACKed: no candidate, not even [SND.UNA, SND.MAX).
  EXPECT_FALSE(holes(0).any.found);
  EXPECT_FALSE(holes(0).lost.found);

  // [1000, 2000) SACKed: [0, 1000) is a candidate for (3), not lost (one segment above).
  t.sacked.add(at(1000), at(2000));
  auto c = holes(0);
  EXPECT_FALSE(c.lost.found);
  ASSERT_TRUE(c.any.found);
  EXPECT_EQ(c.any.seq, at(0));
  EXPECT_EQ(c.any.end, at(1000));

  // Three segments SACKed above [0, 1000): lost, a candidate for (1); from HighRxt = 500 on.
  t.sacked.add(at(3000), at(4000));
  t.sacked.add(at(5000), at(5100));
  c = holes(500);
  ASSERT_TRUE(c.lost.found);
  EXPECT_EQ(c.lost.seq, at(500));
  EXPECT_EQ(c.lost.end, at(1000));
  EXPECT_EQ(c.any.seq, at(500));

  // From 1000 the next hole [2000, 3000) has two segments above: (3) only.
  c = holes(1000);
  EXPECT_FALSE(c.lost.found);
  ASSERT_TRUE(c.any.found);
  EXPECT_EQ(c.any.seq, at(2000));
  EXPECT_EQ(c.any.end, at(3000));

  // From above the highest SACKed octet: nothing below it is left.
  EXPECT_FALSE(holes(5100).any.found);
}

}  // namespace
}  // namespace tempo::tcp
