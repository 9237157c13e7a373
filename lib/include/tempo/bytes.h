// tempo::Bytes: bytes held in packet buffers, by reference. What on_data hands up (the payload
// in the mbufs it arrived in) and what send() takes without copying. A Bytes is a window
// [offset, offset + size) on a chain of DPDK mbufs: copying a Bytes takes one more reference on
// the buffers, never copies bytes; the last Bytes to go releases them.
//
// Read received bytes in place with spans() / for_each_span(), or copy them out with copy_to().
// Keep a Bytes (a copy) to hold data past the callback; forward it with send() (zero-copy).
// A Bytes belongs to the Worker (lcore) that made it: never hand one to another thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

struct rte_mbuf;

namespace tempo {

class Bytes {
 public:
  Bytes() noexcept = default;
  // Takes over the caller's reference to `m`: the bytes [off, off + len) of the packet.
  Bytes(rte_mbuf* m, uint32_t off, uint32_t len) noexcept : m_(m), off_(off), len_(len) {}
  Bytes(const Bytes& o) noexcept;
  Bytes(Bytes&& o) noexcept
      : m_(std::exchange(o.m_, nullptr)), off_(o.off_), len_(std::exchange(o.len_, 0)) {}
  Bytes& operator=(const Bytes& o) noexcept;
  Bytes& operator=(Bytes&& o) noexcept;
  ~Bytes();

  uint32_t size() const noexcept { return len_; }
  bool empty() const noexcept { return len_ == 0; }

  // [off, off + len) of these bytes, sharing the buffers. Clamped to size().
  Bytes slice(uint32_t off, uint32_t len) const noexcept;

  // Copies from `off` into `dst`; returns the bytes copied (fewer at the end).
  size_t copy_to(uint32_t off, std::span<std::byte> dst) const noexcept;

  // Zero-copy read: the contiguous runs from `from` on, at most out.size() of them. Returns how
  // many were written; call again from the end of the last one for more.
  size_t spans(uint32_t from, std::span<std::span<const std::byte>> out) const noexcept;

  // Calls f(std::span<const std::byte>) for each contiguous run, in order.
  template <class F>
  void for_each_span(F&& f) const {
    std::span<const std::byte> batch[8];
    uint32_t from = 0;
    while (from < len_) {
      const size_t n = spans(from, batch);
      for (size_t i = 0; i < n; ++i) {
        f(batch[i]);
        from += static_cast<uint32_t>(batch[i].size());
      }
    }
  }

  // The underlying packet and window, for code that works with DPDK directly.
  rte_mbuf* mbuf() const noexcept { return m_; }
  uint32_t offset() const noexcept { return off_; }
  // Gives up the reference without releasing it (the caller now owns it).
  rte_mbuf* release() noexcept {
    len_ = 0;
    return std::exchange(m_, nullptr);
  }

 private:
  rte_mbuf* m_ = nullptr;
  uint32_t off_ = 0;
  uint32_t len_ = 0;
};

}  // namespace tempo
