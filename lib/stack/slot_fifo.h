// SlotFifo: connection slots (indices into a Worker's Conn array) waiting for something, oldest
// first: windows the receive budget held shut, windows charged to it, copies waiting for TX
// buffers. Each slot is on a FIFO at most once (its Conn keeps a `listed` flag), so a ring of
// one entry per slot never overflows: bounded by construction, allocated once, no compaction.
//
// visit() is the one way slots leave: the oldest few are offered to a callback, which answers
// whether the slot goes to the back (still waiting) or leaves (served, or gone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <tempo/check.h>

namespace tempo::stack {

class SlotFifo {
 public:
  SlotFifo() = default;
  explicit SlotFifo(uint32_t slots) : ring_(slots) {}

  bool empty() const noexcept { return head_ == tail_; }
  size_t size() const noexcept { return tail_ - head_; }
  size_t capacity() const noexcept { return ring_.size(); }

  // `slot` at the back. The caller's `listed` flag keeps a slot from being on twice, which is
  // what bounds the ring; a violation is a bug, caught here rather than written over.
  void push(uint32_t slot) noexcept {
    TEMPO_CHECK(size() < ring_.size());
    ring_[tail_++ % ring_.size()] = slot;
  }

  // Offers at most `max` slots, oldest first, to `wait(slot)`: true puts the slot at the back
  // (it is not offered again in this call), false lets it go.
  template <class F>
  void visit(size_t max, F&& wait) noexcept {
    for (size_t n = size() < max ? size() : max; n > 0; --n) {
      const uint32_t slot = ring_[head_++ % ring_.size()];
      if (wait(slot)) {
        ring_[tail_++ % ring_.size()] = slot;
      }
    }
  }

 private:
  std::vector<uint32_t> ring_;
  uint64_t head_ = 0;  // monotonic: the ring index is the count modulo its size
  uint64_t tail_ = 0;
};

}  // namespace tempo::stack
