// The out-of-order queue (RFC 9293 §3.10.7.4 seventh step: segments beyond RCV.NXT are held for
// later processing) and the SACK blocks it implies (RFC 2018 §4).
//
// A sorted array of non-overlapping pieces, each a reference into a received buffer. Overlaps
// with queued data are trimmed away on insert (the first copy wins, as in Linux), so every byte
// is held once. The first N pieces live in the queue itself; a queue that needs more (one loss
// in a window of 180 segments leaves up to 179 of them out of order) takes one block of kBig
// pieces from the owner's ChunkPool (CoreState::ooo_pool) and gives it back once it drains. The
// byte limit (Config::ooo_max_bytes) bounds it either way; with no block to be had, N pieces at
// most, and what does not fit is dropped (the sender retransmits it).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <new>

#include <tempo/check.h>

#include "tcp/buffer.h"
#include "tcp/send_queue.h"
#include "tcp/seq.h"
#include "wire/tcp_options.h"

namespace tempo::tcp {

template <Buffer Buf, uint32_t N = 8, uint32_t kBig = 256>
class Reassembly {
  struct Piece {
    SeqNum seq;
    uint32_t len = 0;
    uint32_t off = 0;
    uint32_t stamp = 0;
    Buf buf{};
    SeqNum end() const noexcept { return seq + len; }
  };
  using BigArray = std::array<Piece, kBig>;

 public:
  static constexpr uint32_t kEntries = N;
  static constexpr uint32_t kBigEntries = kBig;

  enum class Insert : uint8_t { kQueued, kDuplicate, kFull };

  Reassembly() noexcept = default;
  ~Reassembly() { clear(); }
  // Queues are reset by assigning an empty one (Tcb reinitialisation); never copied with data.
  Reassembly(const Reassembly& o) noexcept { TEMPO_CHECK(o.count_ == 0); }
  Reassembly& operator=(const Reassembly& o) noexcept {
    TEMPO_CHECK(o.count_ == 0);
    clear();
    return *this;
  }

  // The pool's block size for the large array.
  static constexpr size_t kBigBytes =
      (sizeof(BigArray) + ChunkPool::kAlign - 1) / ChunkPool::kAlign * ChunkPool::kAlign;

  bool empty() const noexcept { return count_ == 0; }
  uint32_t entries() const noexcept { return count_; }
  uint32_t bytes() const noexcept { return bytes_; }
  bool large() const noexcept { return big_ != nullptr; }
  SeqNum first_seq() const noexcept { return pieces()[0].seq; }

  // Queues [seq, seq + len) = [off, off + len) of b, minus what is already queued. kFull when
  // any part could not be kept (the entry or byte bound); the kept parts stay queued. `pool`:
  // where a block of kBig pieces comes from once the N inline ones are used (nullptr: N).
  Insert insert(SeqNum seq, const Buf& b, uint32_t off, uint32_t len, uint32_t max_bytes,
                ChunkPool* pool = nullptr) noexcept {
    ++clock_;
    SeqNum cur = seq;
    const SeqNum end = seq + len;
    bool queued = false;
    bool full = false;
    uint32_t i = 0;
    while (cur < end) {
      Piece* p = pieces();
      // Skip pieces entirely before cur; mark pieces overlapping [cur, end) as most recent.
      while (i < count_ && p[i].end() <= cur) {
        ++i;
      }
      SeqNum gap_end = end;
      if (i < count_ && p[i].seq <= cur) {
        p[i].stamp = clock_;  // RFC 2018 §4: the block holding this segment goes first
        cur = p[i].end();
        ++i;
        continue;
      }
      if (i < count_) {
        gap_end = min(end, p[i].seq);
      }
      const uint32_t piece = static_cast<uint32_t>(gap_end - cur);
      if (bytes_ + piece > max_bytes || (count_ == capacity() && !grow(pool))) {
        full = true;
        break;
      }
      p = pieces();
      for (uint32_t j = count_; j > i; --j) {
        p[j] = p[j - 1];
      }
      p[i] = Piece{cur, piece, off + static_cast<uint32_t>(cur - seq), clock_, b};
      ++count_;
      bytes_ += piece;
      queued = true;
      cur = gap_end;
      ++i;
    }
    if (full) {
      return Insert::kFull;
    }
    return queued ? Insert::kQueued : Insert::kDuplicate;
  }

  // Delivers, in order, every queued byte at or after rcv_nxt that is contiguous with it, via
  // deliver(const Buf&, off, len), dropping what lies below rcv_nxt. Returns the new rcv_nxt.
  template <class F>
  SeqNum drain(SeqNum rcv_nxt, F&& deliver) noexcept {
    Piece* q = pieces();
    uint32_t done = 0;
    while (done < count_ && q[done].seq <= rcv_nxt) {
      Piece& p = q[done];
      if (p.end() > rcv_nxt) {
        const uint32_t skip = static_cast<uint32_t>(rcv_nxt - p.seq);
        deliver(p.buf, p.off + skip, p.len - skip);
        rcv_nxt = p.end();
      }
      bytes_ -= p.len;
      ++done;
    }
    if (done > 0) {
      for (uint32_t j = done; j < count_; ++j) {
        q[j - done] = q[j];
      }
      for (uint32_t j = count_ - done; j < count_; ++j) {
        q[j] = Piece{};
      }
      count_ -= done;
      if (count_ == 0) {
        release();
      }
    }
    return rcv_nxt;
  }

  // RFC 2018 §4: up to `max` blocks (at most 4 fit), the one holding the most recently
  // received segment first, then the others by recency. Adjacent pieces are merged into one
  // block.
  uint8_t sack_blocks(wire::SackBlock* out, uint8_t max) const noexcept {
    struct Block {
      SeqNum l, r;
      uint32_t stamp;
    };
    constexpr uint32_t kKeep = wire::TcpOptions::kMaxSackBlocks;
    const uint32_t want = std::min<uint32_t>(max, kKeep);
    std::array<Block, kKeep> top{};  // the newest blocks, newest first
    uint32_t kept = 0;
    auto offer = [&](const Block& b) {
      uint32_t j = kept < want ? kept++ : want;
      for (; j > 0 && top[j - 1].stamp < b.stamp; --j) {
        if (j < want) {
          top[j] = top[j - 1];
        }
      }
      if (j < want) {
        top[j] = b;
      }
    };
    const Piece* p = pieces();
    for (uint32_t i = 0; i < count_;) {
      Block b{p[i].seq, p[i].end(), p[i].stamp};
      for (++i; i < count_ && p[i].seq == b.r; ++i) {
        b.r = p[i].end();
        b.stamp = std::max(b.stamp, p[i].stamp);
      }
      offer(b);
    }
    for (uint32_t k = 0; k < kept; ++k) {
      out[k] = wire::SackBlock{top[k].l.raw(), top[k].r.raw()};
    }
    return static_cast<uint8_t>(kept);
  }

  void clear() noexcept {
    Piece* p = pieces();
    for (uint32_t j = 0; j < count_; ++j) {
      p[j] = Piece{};
    }
    count_ = 0;
    bytes_ = 0;
    release();
  }

 private:
  Piece* pieces() noexcept { return big_ != nullptr ? big_->data() : ring_.data(); }
  const Piece* pieces() const noexcept { return big_ != nullptr ? big_->data() : ring_.data(); }
  uint32_t capacity() const noexcept { return big_ != nullptr ? kBig : N; }

  // The inline pieces are used up: move them to a block of kBig from the pool.
  bool grow(ChunkPool* pool) noexcept {
    if (big_ != nullptr || pool == nullptr || pool->block_size() < sizeof(BigArray)) {
      return false;
    }
    void* block = pool->get();
    if (block == nullptr) {
      return false;
    }
    big_ = ::new (block) BigArray();
    pool_ = pool;
    for (uint32_t j = 0; j < count_; ++j) {
      (*big_)[j] = ring_[j];
      ring_[j] = Piece{};
    }
    return true;
  }
  // Empty again: the block goes back to the pool.
  void release() noexcept {
    if (big_ != nullptr) {
      big_->~BigArray();
      pool_->put(big_);
      big_ = nullptr;
    }
  }

  std::array<Piece, N> ring_{};
  BigArray* big_ = nullptr;
  ChunkPool* pool_ = nullptr;
  uint32_t count_ = 0;
  uint32_t bytes_ = 0;
  uint32_t clock_ = 0;
};

}  // namespace tempo::tcp
