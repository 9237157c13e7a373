// The send queue and the out-of-order queue: zero-copy references, partial release, overlap
// trimming, bounds, and RFC 2018 §4 SACK block order.
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

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

TEST(SendQueue, WithoutAPoolBoundedByItsOwnChunkAndBytes) {
  SendQueue<TestBuf, 2> q;
  EXPECT_TRUE(q.push(TestBuf("a"), 3));
  EXPECT_FALSE(q.push(TestBuf("bcd"), 3));  // 4 bytes > 3
  EXPECT_TRUE(q.push(TestBuf("bc"), 3));
  EXPECT_FALSE(q.push(TestBuf("d"), 100));  // its one chunk is full
  q.release(3);
  EXPECT_TRUE(q.push(TestBuf("d"), 100));  // empty again: the chunk is reused
  OutSegment<TestBuf> o;
  q.reference(0, 10, o);
  EXPECT_EQ(flatten(o), "d");
}

// The queue a zero-copy relay builds: one buffer per received segment, bounded by bytes only
// (issue: a ring of 16 buffers capped a relay at ~23 KB in flight whatever snd_buf said).
TEST(SendQueue, WithAPoolBoundedByBytesNotBuffers) {
  using Q = SendQueue<TestBuf, 4>;
  std::vector<std::byte> storage(64 * Q::kChunkBytes);
  ChunkPool pool(storage, Q::kChunkBytes);
  Q q;
  q.attach(&pool);
  const std::string seg(1448, 's');
  uint32_t pushed = 0;
  while (q.push(TestBuf(seg), 256 * 1024)) {
    ++pushed;
  }
  EXPECT_EQ(pushed, 256u * 1024 / 1448);  // 181 buffers: the byte bound, not the entry count
  EXPECT_EQ(q.bytes(), pushed * 1448);
  EXPECT_EQ(pool.available(), 64u - (pushed - 4 + 3) / 4);  // the first 4 live in the queue
  q.release(q.bytes() - 10);
  EXPECT_GT(pool.available(), 60u);  // acknowledged chunks went back
  q.clear();
  EXPECT_EQ(pool.available(), 64u);
}

TEST(SendQueue, AnEmptyPoolRefusesThenRecovers) {
  using Q = SendQueue<TestBuf, 2>;
  std::vector<std::byte> storage(1 * Q::kChunkBytes);
  ChunkPool pool(storage, Q::kChunkBytes);
  Q q;
  q.attach(&pool);
  for (const char* s : {"a", "b", "c", "d"}) {
    EXPECT_TRUE(q.push(TestBuf(s), 100));
  }
  EXPECT_FALSE(q.push(TestBuf("e"), 100));  // 2 inline + 2 from the only chunk
  q.release(2);                             // the inline chunk is free again
  EXPECT_TRUE(q.push(TestBuf("e"), 100));
  OutSegment<TestBuf> o;
  q.reference(0, 10, o);
  EXPECT_EQ(flatten(o), "cde");
}

// reference() keeps a hint of where the last call ended; check it against a plain model over
// random pushes, references at moving offsets, and partial releases.
TEST(SendQueue, ReferenceMatchesAModelAcrossChunks) {
  using Q = SendQueue<TestBuf, 3>;
  std::vector<std::byte> storage(512 * Q::kChunkBytes);
  ChunkPool pool(storage, Q::kChunkBytes);
  Q q;
  q.attach(&pool);
  std::string model;
  uint64_t rng = 12345;
  auto next = [&](uint32_t n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>((rng >> 33) % n);
  };
  uint32_t offset = 0;
  char fill = 'a';
  for (int step = 0; step < 20000; ++step) {
    switch (next(4)) {
      case 0: {
        const std::string b(1 + next(40), fill);
        fill = fill == 'z' ? 'a' : static_cast<char>(fill + 1);
        if (q.push(TestBuf(b), 4096)) {
          model += b;
        }
        break;
      }
      case 1:
      case 2: {
        if (model.empty()) {
          break;
        }
        offset = next(3) == 0 ? next(static_cast<uint32_t>(model.size()))
                              : std::min<uint32_t>(offset + next(60),
                                                   static_cast<uint32_t>(model.size()) - 1);
        const uint32_t len = 1 + next(100);
        OutSegment<TestBuf> o;
        const uint32_t got = q.reference(offset, len, o);
        ASSERT_EQ(flatten(o), model.substr(offset, got)) << "step " << step;
        ASSERT_TRUE(got == std::min<uint32_t>(len, static_cast<uint32_t>(model.size()) - offset) ||
                    o.num_refs == OutSegment<TestBuf>::kMaxRefs);
        break;
      }
      case 3: {
        const uint32_t n = next(static_cast<uint32_t>(model.size()) + 1);
        q.release(n);
        model.erase(0, n);
        offset = offset > n ? offset - n : 0;
        break;
      }
    }
    ASSERT_EQ(q.bytes(), model.size());
  }
  q.clear();
  EXPECT_EQ(pool.available(), pool.capacity());
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

// One loss in a large window: the segments behind the hole exceed the inline pieces; the queue
// takes one large array from the pool, holds them all (the byte bound still applies), and gives
// the array back when the hole fills and everything drains.
TEST(Reassembly, LargeArrayFromThePoolHoldsAWindowBehindOneHole) {
  using Big = Reassembly<TestBuf, 4, 64>;
  std::vector<std::byte> storage(2 * Big::kBigBytes);
  ChunkPool pool(storage, Big::kBigBytes);
  Big r;
  for (uint32_t i = 1; i <= 40; ++i) {
    ASSERT_EQ(r.insert(SeqNum(1000 + 10 * i), TestBuf("0123456789"), 0, 10, 1 << 20, &pool),
              Big::Insert::kQueued)
        << i;
  }
  EXPECT_TRUE(r.large());
  EXPECT_EQ(r.entries(), 40u);
  EXPECT_EQ(pool.available(), 1u);
  wire::SackBlock blocks[4];
  ASSERT_EQ(r.sack_blocks(blocks, 4), 1);  // all adjacent: one block
  EXPECT_EQ(blocks[0].left, 1010u);
  EXPECT_EQ(blocks[0].right, 1410u);
  r.insert(SeqNum(1000), TestBuf("abcdefghij"), 0, 10, 1 << 20, &pool);
  SeqNum nxt(1000);
  std::string got;
  nxt =
      r.drain(nxt, [&](const TestBuf& b, uint32_t off, uint32_t len) { got += b.view(off, len); });
  EXPECT_EQ(nxt, SeqNum(1410));
  EXPECT_EQ(got.size(), 410u);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.large());
  EXPECT_EQ(pool.available(), 2u);
  // The byte bound holds with the large array too.
  for (uint32_t i = 1; i <= 10; ++i) {
    r.insert(SeqNum(5000 + 20 * i), TestBuf("0123456789"), 0, 10, 50, &pool);
  }
  EXPECT_EQ(r.bytes(), 50u);
  // Reset by assignment (a Tcb reinitialised): the array goes back.
  r = Big{};
  EXPECT_EQ(pool.available(), 2u);
}

// Without a pool, or with the pool dry, the inline pieces are all: the rest is refused.
TEST(Reassembly, DryPoolKeepsTheInlinePieces) {
  using Big = Reassembly<TestBuf, 4, 64>;
  std::vector<std::byte> storage(Big::kBigBytes);
  ChunkPool pool(storage, Big::kBigBytes);
  Big a, b;
  for (uint32_t i = 0; i < 5; ++i) {
    a.insert(SeqNum(100 + 10 * i), TestBuf("x"), 0, 1, 1000, &pool);
  }
  EXPECT_TRUE(a.large());
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(b.insert(SeqNum(100 + 10 * i), TestBuf("x"), 0, 1, 1000, &pool),
              Big::Insert::kQueued);
  }
  EXPECT_EQ(b.insert(SeqNum(200), TestBuf("y"), 0, 1, 1000, &pool), Big::Insert::kFull);
  EXPECT_FALSE(b.large());
  a.clear();
  EXPECT_EQ(pool.available(), 1u);
}

// RFC 2018 §4 with many blocks: the newest first, then by recency, at most `max`.
TEST(Reassembly, Rfc2018_4_NewestBlocksOfMany) {
  using Big = Reassembly<TestBuf, 4, 64>;
  std::vector<std::byte> storage(Big::kBigBytes);
  ChunkPool pool(storage, Big::kBigBytes);
  Big r;
  for (uint32_t i = 0; i < 10; ++i) {
    r.insert(SeqNum(100 + 10 * i), TestBuf("x"), 0, 1, 1000, &pool);  // ten separate blocks
  }
  r.insert(SeqNum(130), TestBuf("x"), 0, 1, 1000, &pool);  // refreshes the fourth
  wire::SackBlock blocks[4];
  ASSERT_EQ(r.sack_blocks(blocks, 3), 3);
  EXPECT_EQ(blocks[0].left, 130u);
  EXPECT_EQ(blocks[1].left, 190u);
  EXPECT_EQ(blocks[2].left, 180u);
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
