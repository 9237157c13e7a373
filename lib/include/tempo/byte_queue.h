// tempo::ByteQueue: bytes waiting to be sent, in order, by reference: what a relay keeps of one
// side's data while the other side cannot take it yet.
//
//   void on_data(Conn& c, const Bytes& data, void*) {      // the client's bytes
//     Pair& p = pair_of(c);
//     p.to_backend.push(data);                             // a reference, not a copy
//     pump(p);
//   }
//   void pump(Pair& p) {                                   // also from the backend's on_writable
//     auto sent = p.to_backend.send_to(*p.backend);        // zero-copy send()s
//     if (sent) consume(*p.client, *sent);                 // reopens the client's window
//   }
//
// The bytes stay unconsumed at the side that received them until send_to() has handed them on,
// so that side's receive window stays shut meanwhile: the queue holds at most a window, and the
// receiver's back-pressure reaches the sender (nothing is dropped, nothing is copied).
//
// A ring of Bytes that doubles when full (from 8): it allocates only while it grows past its
// largest size so far, never per push once a connection's window of segments fits, and frees
// its ring when destroyed. Like every Bytes, a ByteQueue belongs to the Worker (lcore) whose
// bytes it holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include <tempo/bytes.h>
#include <tempo/result.h>
#include <tempo/stack.h>

namespace tempo {

class ByteQueue {
 public:
  ByteQueue() noexcept = default;
  ByteQueue(ByteQueue&& o) noexcept
      : ring_(std::move(o.ring_)),
        cap_(std::exchange(o.cap_, 0)),
        head_(std::exchange(o.head_, 0)),
        count_(std::exchange(o.count_, 0)),
        bytes_(std::exchange(o.bytes_, 0)) {}
  ByteQueue& operator=(ByteQueue&& o) noexcept {
    if (this != &o) {
      ring_ = std::move(o.ring_);
      cap_ = std::exchange(o.cap_, 0);
      head_ = std::exchange(o.head_, 0);
      count_ = std::exchange(o.count_, 0);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;
  ~ByteQueue() = default;

  // Appends `b` at the back (an empty one is ignored). Throws std::bad_alloc only when the ring
  // must grow and memory is out.
  void push(const Bytes& b) {
    if (b.empty()) {
      return;
    }
    if (count_ == cap_) {
      grow();
    }
    ring_[(head_ + count_) & (cap_ - 1)] = b;
    ++count_;
    bytes_ += b.size();
  }

  uint64_t size() const noexcept { return bytes_; }   // bytes held
  size_t buffers() const noexcept { return count_; }  // Bytes held
  bool empty() const noexcept { return count_ == 0; }
  // The first Bytes held; the queue must not be empty.
  const Bytes& front() const noexcept { return ring_[head_]; }

  // Drops the first `n` bytes (at most size()): whole Bytes go, a Bytes the count ends inside
  // is sliced.
  void consume(uint64_t n) noexcept {
    while (n > 0 && count_ > 0) {
      Bytes& f = ring_[head_];
      if (n < f.size()) {
        f = f.slice(static_cast<uint32_t>(n), f.size() - static_cast<uint32_t>(n));
        bytes_ -= n;
        return;
      }
      n -= f.size();
      pop();
    }
  }

  // Sends from the front to `c` with send() (zero-copy) until the queue is empty or `c`'s send
  // buffer is full (on_writable follows for `c`); what it sent leaves the queue. Returns the
  // bytes sent, or the error of a send() other than kQueueFull (kNotConnected, kClosing),
  // after which the queue holds what was not sent.
  Result<uint64_t, SendError> send_to(Conn& c) noexcept {
    uint64_t sent = 0;
    while (count_ > 0) {
      const Bytes& f = ring_[head_];
      const uint32_t n = f.size();
      if (auto r = send(c, f); !r.ok()) {
        if (r.error() == SendError::kQueueFull) {
          break;
        }
        return fail(r.error());
      }
      sent += n;
      pop();
    }
    return sent;
  }

  // Drops everything held (the Bytes' references go; the ring is kept).
  void clear() noexcept {
    while (count_ > 0) {
      pop();
    }
    head_ = 0;
  }

 private:
  void pop() noexcept {
    Bytes& f = ring_[head_];
    bytes_ -= f.size();
    f = Bytes();
    head_ = (head_ + 1) & (cap_ - 1);
    --count_;
  }

  void grow() {
    const size_t cap = cap_ == 0 ? 8 : cap_ * 2;
    auto ring = std::make_unique<Bytes[]>(cap);
    for (size_t i = 0; i < count_; ++i) {
      ring[i] = std::move(ring_[(head_ + i) & (cap_ - 1)]);
    }
    ring_ = std::move(ring);
    cap_ = cap;
    head_ = 0;
  }

  std::unique_ptr<Bytes[]> ring_;
  size_t cap_ = 0;  // a power of two, or 0
  size_t head_ = 0;
  size_t count_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace tempo
