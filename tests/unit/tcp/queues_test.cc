// The send queue and the out-of-order queue: zero-copy references, partial release, overlap
// trimming, bounds, and RFC 2018 §4 SACK block order.
#include <string>

#include <gtest/gtest.h>

#include "tcp/reassembly.h"
#include "tcp/send_queue.h"
#include "test_buf.h"

namespace tempo::tcp {
namespace {

using test::TestBuf;

std::string flatten(const OutSegment<TestBuf>& o) {
  std::string s;
  for (const auto& r : o.payload()) s += r.buf->view(r.off, r.len);
  return s;
}

TEST(SendQueue, ReferencesAcrossEntriesAndReleasesPartially) {
  SendQueue<TestBuf, 4> q;
  ASSERT_TRUE(q.push(TestBuf("abc"), 100));
  ASSERT_TRUE(q.push(TestBuf("defg"), 100));
  OutSegment<TestBuf> o;
  EXPECT_EQ(q.reference(1, 5, o), 5u);
  EXPECT_EQ(flatten(o), "bcdef");
  EXPECT_EQ(o.num_refs, 2);
  q.release(2);
  EXPECT_EQ(q.bytes(), 5u);
  EXPECT_EQ(q.reference(0, 100, o), 5u);
  EXPECT_EQ(flatten(o), "cdefg");
  q.release(3);
  EXPECT_EQ(q.entries(), 1u);
  EXPECT_EQ(q.reference(0, 2, o), 2u);
  EXPECT_EQ(flatten(o), "fg");
}

TEST(SendQueue, BoundedByEntriesAndBytes) {
  SendQueue<TestBuf, 2> q;
  EXPECT_TRUE(q.push(TestBuf("a"), 3));
  EXPECT_FALSE(q.push(TestBuf("bcd"), 3));  // 4 bytes > 3
  EXPECT_TRUE(q.push(TestBuf("bc"), 3));
  EXPECT_FALSE(q.push(TestBuf("d"), 100));  // ring full
  q.release(1);
  EXPECT_TRUE(q.push(TestBuf("d"), 100));  // ring wraps
  OutSegment<TestBuf> o;
  q.reference(0, 10, o);
  EXPECT_EQ(flatten(o), "bcd");
}

TEST(SendQueue, SegmentRefsCappedAtMaxRefs) {
  SendQueue<TestBuf, 16> q;
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(q.push(TestBuf("x"), 100));
  OutSegment<TestBuf> o;
  EXPECT_EQ(q.reference(0, 12, o), OutSegment<TestBuf>::kMaxRefs);
}

using Ooo = Reassembly<TestBuf, 4>;

std::string drain_all(Ooo& r, SeqNum& rcv_nxt) {
  std::string s;
  rcv_nxt = r.drain(rcv_nxt,
                    [&](const TestBuf& b, uint32_t off, uint32_t len) { s += b.view(off, len); });
  return s;
}

TEST(Reassembly, Rfc9293_3_10_7_4_HoldsAndDrainsInOrder) {
  Ooo r;
  TestBuf b1("CD"), b2("GH");
  EXPECT_EQ(r.insert(SeqNum(102), b1, 0, 2, 1000), Ooo::Insert::kQueued);
  EXPECT_EQ(r.insert(SeqNum(106), b2, 0, 2, 1000), Ooo::Insert::kQueued);
  SeqNum nxt(102);
  EXPECT_EQ(drain_all(r, nxt), "CD");
  EXPECT_EQ(nxt, SeqNum(104));
  EXPECT_EQ(r.entries(), 1u);
  nxt = SeqNum(107);  // the gap filled and one byte of "GH" already delivered
  EXPECT_EQ(drain_all(r, nxt), "H");
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.bytes(), 0u);
}

TEST(Reassembly, OverlapsTrimmedDuplicatesIgnored) {
  Ooo r;
  EXPECT_EQ(r.insert(SeqNum(10), TestBuf("cdef"), 0, 4, 1000), Ooo::Insert::kQueued);
  // Overlaps both ends of [10,14): only [8,10) and [14,16) are new.
  EXPECT_EQ(r.insert(SeqNum(8), TestBuf("abCDEFgh"), 0, 8, 1000), Ooo::Insert::kQueued);
  EXPECT_EQ(r.bytes(), 8u);
  EXPECT_EQ(r.entries(), 3u);
  EXPECT_EQ(r.insert(SeqNum(9), TestBuf("xxx"), 0, 3, 1000), Ooo::Insert::kDuplicate);
  SeqNum nxt(8);
  EXPECT_EQ(drain_all(r, nxt), "abcdefgh");  // the first copy of each byte wins
  EXPECT_EQ(nxt, SeqNum(16));
}

TEST(Reassembly, BoundedByEntriesAndBytes) {
  Ooo r;
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r.insert(SeqNum(100 + 10 * i), TestBuf("x"), 0, 1, 1000), Ooo::Insert::kQueued);
  }
  EXPECT_EQ(r.insert(SeqNum(200), TestBuf("y"), 0, 1, 1000), Ooo::Insert::kFull);
  Ooo r2;
  EXPECT_EQ(r2.insert(SeqNum(1), TestBuf("abcd"), 0, 4, 3), Ooo::Insert::kFull);
  EXPECT_EQ(r2.bytes(), 0u);
}

TEST(Reassembly, Rfc2018_4_MostRecentBlockFirstAndAdjacentMerged) {
  Ooo r;
  r.insert(SeqNum(100), TestBuf("a"), 0, 1, 1000);
  r.insert(SeqNum(200), TestBuf("b"), 0, 1, 1000);
  r.insert(SeqNum(101), TestBuf("c"), 0, 1, 1000);  // extends the first block
  wire::SackBlock blocks[4];
  ASSERT_EQ(r.sack_blocks(blocks, 4), 2);
  EXPECT_EQ(blocks[0].left, 100u);
  EXPECT_EQ(blocks[0].right, 102u);
  EXPECT_EQ(blocks[1].left, 200u);
  r.insert(SeqNum(200), TestBuf("b"), 0, 1, 1000);  // a duplicate refreshes its block
  ASSERT_EQ(r.sack_blocks(blocks, 1), 1);
  EXPECT_EQ(blocks[0].left, 200u);
}

TEST(Reassembly, WrapAround) {
  Ooo r;
  r.insert(SeqNum(0xFFFFFFFEu), TestBuf("wxyz"), 0, 4, 1000);
  SeqNum nxt(0xFFFFFFFCu);
  EXPECT_EQ(drain_all(r, nxt), "");
  nxt = SeqNum(0xFFFFFFFEu);
  EXPECT_EQ(drain_all(r, nxt), "wxyz");
  EXPECT_EQ(nxt, SeqNum(2));
}

}  // namespace
}  // namespace tempo::tcp
