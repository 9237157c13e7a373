// The send queue: application buffers from SND.UNA on (sent-unacknowledged, then unsent), as
// references, bounded by bytes (tcp.snd_buf), not by a count of buffers. Segments reference its
// entries (PayloadRef); an ACK releases whole entries or advances the first entry's offset. No
// byte copy, and no allocation: the first kChunk entries live in the queue itself, and a queue
// that needs more (a zero-copy relay queues one buffer per received segment: 256 KB is ~180 of
// them) links chunks of kChunk entries from the owner's ChunkPool (CoreState::sndq_pool), handing
// them back as the peer acknowledges. An exhausted pool refuses the push (kQueueFull, the
// application waits for on_writable), as a full queue does.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>

#include <tempo/check.h>

#include "tcp/buffer.h"
#include "tcp/segment.h"

namespace tempo::tcp {

// Fixed-size blocks from storage the owner allocated once (the Worker, at start): a free list,
// single-threaded. Type-erased so that tcp::CoreState (not a template) can point at it.
class ChunkPool {
 public:
  static constexpr size_t kAlign = alignof(std::max_align_t);

  // `storage` holds whole blocks of `block_size` bytes (a multiple of kAlign), kAlign-aligned.
  ChunkPool(std::span<std::byte> storage, size_t block_size) noexcept
      : block_(block_size), capacity_(storage.size() / block_size) {
    TEMPO_CHECK(block_size % kAlign == 0 && block_size >= sizeof(Free));
    TEMPO_CHECK(reinterpret_cast<uintptr_t>(storage.data()) % kAlign == 0);
    for (size_t i = capacity_; i-- > 0;) {
      put(storage.data() + i * block_);
    }
    available_ = capacity_;
  }
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  void* get() noexcept {
    if (head_ == nullptr) {
      return nullptr;
    }
    Free* f = head_;
    head_ = f->next;
    --available_;
    return f;
  }
  void put(void* block) noexcept {
    Free* f = ::new (block) Free{head_};
    head_ = f;
    ++available_;
  }
  size_t block_size() const noexcept { return block_; }
  size_t available() const noexcept { return available_; }
  size_t capacity() const noexcept { return capacity_; }

 private:
  struct Free {
    Free* next;
  };
  Free* head_ = nullptr;
  size_t block_;
  size_t capacity_;
  size_t available_ = 0;
};

template <Buffer Buf, uint32_t kChunk = 16>
class SendQueue {
 public:
  struct Entry {
    Buf buf{};
    uint32_t off = 0;
    uint32_t len = 0;
  };
  struct Chunk {
    std::array<Entry, kChunk> e{};
    Chunk* next = nullptr;
  };
  // The pool's block size for this queue's chunks.
  static constexpr size_t kChunkBytes =
      (sizeof(Chunk) + ChunkPool::kAlign - 1) / ChunkPool::kAlign * ChunkPool::kAlign;

  SendQueue() noexcept = default;
  ~SendQueue() { clear(); }
  // Queues are reset by assigning an empty one (Tcb reinitialisation); never copied with data.
  SendQueue(const SendQueue& o) noexcept : pool_(o.pool_) { TEMPO_CHECK(o.count_ == 0); }
  SendQueue& operator=(const SendQueue& o) noexcept {
    TEMPO_CHECK(o.count_ == 0);
    clear();
    pool_ = o.pool_;
    return *this;
  }

  // Where the chunks beyond the first come from (nullptr: kChunk entries at most). Only while
  // the queue is empty.
  void attach(ChunkPool* pool) noexcept {
    TEMPO_CHECK(count_ == 0);
    TEMPO_CHECK(pool == nullptr || pool->block_size() >= sizeof(Chunk));
    pool_ = pool;
  }

  uint32_t bytes() const noexcept { return bytes_; }
  uint32_t entries() const noexcept { return count_; }

  // Appends b; false when `limit` bytes would be exceeded or no chunk is to be had.
  bool push(const Buf& b, uint32_t limit) noexcept {
    const auto n = static_cast<uint32_t>(b.size());
    if (n == 0) {
      return true;
    }
    if (bytes_ + n > limit || bytes_ + n < bytes_) {
      return false;
    }
    if (tail_i_ == kChunk) {
      Chunk* c = nullptr;
      if (!first_linked_) {
        c = &first_;
        first_linked_ = true;
      } else if (pool_ != nullptr) {
        if (void* block = pool_->get(); block != nullptr) {
          c = ::new (block) Chunk();
        }
      }
      if (c == nullptr) {
        return false;
      }
      c->next = nullptr;
      tail_->next = c;
      tail_ = c;
      tail_i_ = 0;
    }
    Entry& e = tail_->e[tail_i_++];
    e.buf = b;
    e.off = 0;
    e.len = n;
    ++count_;
    ++pushed_;
    bytes_ += n;
    return true;
  }

  // Releases the first n bytes (acknowledged). n <= bytes().
  void release(uint32_t n) noexcept {
    if (n > bytes_) {
      n = bytes_;
    }
    bytes_ -= n;
    released_ += n;
    while (n > 0) {
      Entry& e = head_->e[head_i_];
      if (n < e.len) {
        e.off += n;
        e.len -= n;
        return;
      }
      n -= e.len;
      pop_head();
    }
  }

  // Fills seg.refs with up to `len` bytes starting `offset` bytes into the queue; returns the
  // bytes referenced (fewer when the segment would need more than OutSegment::kMaxRefs pieces).
  // Output asks for increasing offsets: a hint remembers where the last call ended, so a long
  // queue is not walked from its head for every segment.
  uint32_t reference(uint32_t offset, uint32_t len, OutSegment<Buf>& seg) const noexcept {
    seg.num_refs = 0;
    const Chunk* c = head_;
    uint32_t i = head_i_;
    uint32_t seq = popped_;  // the entry's number since the queue was made
    uint32_t skip = offset;
    if (hint_.c != nullptr && static_cast<int32_t>(hint_.seq - popped_) >= 0) {
      const auto at = static_cast<int32_t>(hint_.start - released_);  // the entry's offset now
      if (at >= 0 && static_cast<uint32_t>(at) <= offset) {
        c = hint_.c;
        i = hint_.i;
        seq = hint_.seq;
        skip = offset - static_cast<uint32_t>(at);
      }
    }
    uint32_t left = pushed_ - seq;
    uint32_t got = 0;
    uint32_t start = offset - skip;  // queue offset of entry (c, i)
    while (left > 0 && got < len) {
      if (i == kChunk) {
        c = c->next;
        i = 0;
      }
      const Entry& e = c->e[i];
      if (skip >= e.len) {
        skip -= e.len;
        start += e.len;
        ++i;
        ++seq;
        --left;
        continue;
      }
      if (seg.num_refs == OutSegment<Buf>::kMaxRefs) {
        break;
      }
      hint_ = Hint{c, i, seq, released_ + start};
      const uint32_t take = std::min(e.len - skip, len - got);
      seg.refs[seg.num_refs++] = PayloadRef<Buf>{&e.buf, e.off + skip, take};
      got += take;
      skip = 0;
      start += e.len;
      ++i;
      ++seq;
      --left;
    }
    seg.len = got;
    return got;
  }

  void clear() noexcept {
    while (count_ > 0) {
      pop_head();
    }
    bytes_ = 0;
  }

 private:
  // Where a reference() ended: entry i of chunk c, the entry's number `seq` (valid while not
  // popped: seq >= popped_), and its first byte's position in the stream (released_ counts the
  // bytes that went before the head; a partly released entry's start is behind it: invalid).
  struct Hint {
    const Chunk* c = nullptr;
    uint32_t i = 0;
    uint32_t seq = 0;
    uint32_t start = 0;
  };

  void pop_head() noexcept {
    Entry& e = head_->e[head_i_];
    e.buf = Buf{};
    --count_;
    ++popped_;
    ++head_i_;
    if (count_ == 0) {
      // Empty: back to the inline chunk, every pool chunk returned.
      recycle_all();
      return;
    }
    if (head_i_ == kChunk) {
      Chunk* done = head_;
      head_ = head_->next;
      head_i_ = 0;
      recycle(done);
    }
  }

  void recycle(Chunk* c) noexcept {
    if (c == &first_) {
      first_linked_ = false;
    } else {
      c->~Chunk();
      pool_->put(c);
    }
  }

  void recycle_all() noexcept {
    for (Chunk* c = head_; c != nullptr;) {
      Chunk* next = c->next;
      if (c != &first_) {
        recycle(c);
      }
      c = next;
    }
    first_.next = nullptr;
    head_ = tail_ = &first_;
    head_i_ = tail_i_ = 0;
    first_linked_ = true;
    hint_ = Hint{};
  }

  Chunk first_{};
  Chunk* head_ = &first_;  // the chunk of the oldest entry
  Chunk* tail_ = &first_;  // the chunk new entries go to
  uint32_t head_i_ = 0;
  uint32_t tail_i_ = 0;
  uint32_t count_ = 0;
  uint32_t bytes_ = 0;
  uint32_t released_ = 0;  // bytes released since the queue was made (wraps)
  uint32_t pushed_ = 0;    // entries pushed and popped since then (wrap): count_ = the difference
  uint32_t popped_ = 0;
  bool first_linked_ = true;  // first_ is in the chain (it leaves when its entries are acked)
  ChunkPool* pool_ = nullptr;
  mutable Hint hint_;
};

}  // namespace tempo::tcp
