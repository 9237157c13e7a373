// The send queue: application buffers from SND.UNA on (sent-unacknowledged, then unsent), as a
// fixed ring of buffer references. Segments reference its entries (PayloadRef); an ACK releases
// whole entries or advances the first entry's offset. No allocation, no byte copy.
#pragma once

#include <array>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/segment.h"

namespace tempo::tcp {

template <Buffer Buf, uint32_t N = 16>
class SendQueue {
 public:
  static constexpr uint32_t kEntries = N;

  uint32_t bytes() const noexcept { return bytes_; }
  uint32_t entries() const noexcept { return count_; }
  bool full() const noexcept { return count_ == N; }

  // Appends b; false when the ring is full or `limit` bytes would be exceeded.
  bool push(const Buf& b, uint32_t limit) noexcept {
    const uint32_t n = static_cast<uint32_t>(b.size());
    if (n == 0) {
      return true;
    }
    if (count_ == N || bytes_ + n > limit || bytes_ + n < bytes_) {
      return false;
    }
    Entry& e = ring_[(head_ + count_) % N];
    e.buf = b;
    e.off = 0;
    e.len = n;
    ++count_;
    bytes_ += n;
    return true;
  }

  // Releases the first n bytes (acknowledged). n <= bytes().
  void release(uint32_t n) noexcept {
    if (n > bytes_) {
      n = bytes_;
    }
    bytes_ -= n;
    while (n > 0) {
      Entry& e = ring_[head_];
      if (n < e.len) {
        e.off += n;
        e.len -= n;
        return;
      }
      n -= e.len;
      e.buf = Buf{};
      head_ = (head_ + 1) % N;
      --count_;
    }
  }

  // Fills seg.refs with up to `len` bytes starting `offset` bytes into the queue; returns the
  // bytes referenced (fewer when the segment would need more than OutSegment::kMaxRefs pieces).
  uint32_t reference(uint32_t offset, uint32_t len, OutSegment<Buf>& seg) const noexcept {
    seg.num_refs = 0;
    uint32_t got = 0;
    for (uint32_t i = 0; i < count_ && got < len; ++i) {
      const Entry& e = ring_[(head_ + i) % N];
      if (offset >= e.len) {
        offset -= e.len;
        continue;
      }
      if (seg.num_refs == OutSegment<Buf>::kMaxRefs) {
        break;
      }
      const uint32_t take = std::min(e.len - offset, len - got);
      seg.refs[seg.num_refs++] = PayloadRef<Buf>{&e.buf, e.off + offset, take};
      got += take;
      offset = 0;
    }
    seg.len = got;
    return got;
  }

  void clear() noexcept { release(bytes_); }

 private:
  struct Entry {
    Buf buf{};
    uint32_t off = 0;
    uint32_t len = 0;
  };
  std::array<Entry, N> ring_{};
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  uint32_t bytes_ = 0;
};

}  // namespace tempo::tcp
