// The out-of-order queue (RFC 9293 §3.10.7.4 seventh step: segments beyond RCV.NXT are held for
// later processing) and the SACK blocks it implies (RFC 2018 §4).
//
// A fixed, sorted array of non-overlapping pieces, each a reference into a received buffer.
// Overlaps with queued data are trimmed away on insert (the first copy wins, as in Linux), so
// every byte is held once. Memory is bounded by the entry count and a byte limit.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/seq.h"
#include "wire/tcp_options.h"

namespace tempo::tcp {

template <Buffer Buf, uint32_t N = 8>
class Reassembly {
 public:
  static constexpr uint32_t kEntries = N;

  enum class Insert : uint8_t { kQueued, kDuplicate, kFull };

  bool empty() const noexcept { return count_ == 0; }
  uint32_t entries() const noexcept { return count_; }
  uint32_t bytes() const noexcept { return bytes_; }
  SeqNum first_seq() const noexcept { return ring_[0].seq; }

  // Queues [seq, seq + len) = [off, off + len) of b, minus what is already queued. kFull when
  // any part could not be kept (the entry or byte bound); the kept parts stay queued.
  Insert insert(SeqNum seq, const Buf& b, uint32_t off, uint32_t len, uint32_t max_bytes) noexcept {
    ++clock_;
    SeqNum cur = seq;
    const SeqNum end = seq + len;
    bool queued = false;
    bool full = false;
    uint32_t i = 0;
    while (cur < end) {
      // Skip pieces entirely before cur; mark pieces overlapping [cur, end) as most recent.
      while (i < count_ && ring_[i].end() <= cur) {
        ++i;
      }
      SeqNum gap_end = end;
      if (i < count_ && ring_[i].seq <= cur) {
        ring_[i].stamp = clock_;  // RFC 2018 §4: the block holding this segment goes first
        cur = ring_[i].end();
        ++i;
        continue;
      }
      if (i < count_) {
        gap_end = min(end, ring_[i].seq);
      }
      const uint32_t piece = static_cast<uint32_t>(gap_end - cur);
      if (count_ == N || bytes_ + piece > max_bytes) {
        full = true;
        break;
      }
      for (uint32_t j = count_; j > i; --j) {
        ring_[j] = ring_[j - 1];
      }
      ring_[i] = Piece{cur, piece, off + static_cast<uint32_t>(cur - seq), clock_, b};
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
    uint32_t done = 0;
    while (done < count_ && ring_[done].seq <= rcv_nxt) {
      Piece& p = ring_[done];
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
        ring_[j - done] = ring_[j];
      }
      for (uint32_t j = count_ - done; j < count_; ++j) {
        ring_[j] = Piece{};
      }
      count_ -= done;
    }
    return rcv_nxt;
  }

  // RFC 2018 §4: up to `max` blocks, the one holding the most recently received segment first,
  // then the others by recency. Adjacent pieces are merged into one block.
  uint8_t sack_blocks(wire::SackBlock* out, uint8_t max) const noexcept {
    struct Block {
      SeqNum l, r;
      uint32_t stamp;
    };
    std::array<Block, N> blocks{};
    uint32_t nb = 0;
    for (uint32_t i = 0; i < count_; ++i) {
      const Piece& p = ring_[i];
      if (nb > 0 && blocks[nb - 1].r == p.seq) {
        blocks[nb - 1].r = p.end();
        blocks[nb - 1].stamp = std::max(blocks[nb - 1].stamp, p.stamp);
      } else {
        blocks[nb++] = Block{p.seq, p.end(), p.stamp};
      }
    }
    // Insertion sort by recency, newest first (at most N blocks).
    for (uint32_t i = 1; i < nb; ++i) {
      const Block b = blocks[i];
      uint32_t j = i;
      for (; j > 0 && blocks[j - 1].stamp < b.stamp; --j) {
        blocks[j] = blocks[j - 1];
      }
      blocks[j] = b;
    }
    const uint8_t n = static_cast<uint8_t>(std::min<uint32_t>(nb, max));
    for (uint8_t k = 0; k < n; ++k) {
      out[k] = wire::SackBlock{blocks[k].l.raw(), blocks[k].r.raw()};
    }
    return n;
  }

  void clear() noexcept {
    for (uint32_t j = 0; j < count_; ++j) {
      ring_[j] = Piece{};
    }
    count_ = 0;
    bytes_ = 0;
  }

 private:
  struct Piece {
    SeqNum seq;
    uint32_t len = 0;
    uint32_t off = 0;
    uint32_t stamp = 0;
    Buf buf{};
    SeqNum end() const noexcept { return seq + len; }
  };
  std::array<Piece, N> ring_{};
  uint32_t count_ = 0;
  uint32_t bytes_ = 0;
  uint32_t clock_ = 0;
};

}  // namespace tempo::tcp
