// MbufBuf: the protocol core's Buffer (tcp/buffer.h) over DPDK mbufs, so that payload stays in
// the mbuf it arrived in and retransmission re-references instead of copying (DESIGN.md
// principle 4). It is a window [off, off + len) on a packet (possibly a chain): slicing makes
// a new window on the same mbufs, without allocating. A copy takes one more reference on every
// segment of the chain; destruction releases one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include <rte_mbuf.h>

namespace tempo::stack {

class MbufBuf {
 public:
  MbufBuf() noexcept = default;
  // Takes over the caller's reference to `m` (a packet, possibly a chain): all its bytes.
  explicit MbufBuf(rte_mbuf* m) noexcept : m_(m), len_(m == nullptr ? 0 : rte_pktmbuf_pkt_len(m)) {}
  // Takes over the caller's reference to `m`: the bytes [off, off + len) of it.
  MbufBuf(rte_mbuf* m, uint32_t off, uint32_t len) noexcept : m_(m), off_(off), len_(len) {}
  MbufBuf(const MbufBuf& o) noexcept : m_(o.m_), off_(o.off_), len_(o.len_) { ref_chain(m_); }
  MbufBuf(MbufBuf&& o) noexcept
      : m_(std::exchange(o.m_, nullptr)), off_(o.off_), len_(std::exchange(o.len_, 0)) {}
  MbufBuf& operator=(const MbufBuf& o) noexcept {
    if (this != &o) {
      ref_chain(o.m_);
      release();
      m_ = o.m_;
      off_ = o.off_;
      len_ = o.len_;
    }
    return *this;
  }
  MbufBuf& operator=(MbufBuf&& o) noexcept {
    if (this != &o) {
      release();
      m_ = std::exchange(o.m_, nullptr);
      off_ = o.off_;
      len_ = std::exchange(o.len_, 0);
    }
    return *this;
  }
  ~MbufBuf() { release(); }

  uint32_t size() const noexcept { return len_; }
  rte_mbuf* mbuf() const noexcept { return m_; }
  // Offset of this window's first byte in the packet mbuf().
  uint32_t offset() const noexcept { return off_; }
  // Gives up the reference without releasing it (the caller now owns it).
  rte_mbuf* release_ref() noexcept {
    len_ = 0;
    return std::exchange(m_, nullptr);
  }

  // [off, off + len) of this window, sharing the mbufs. The range must be within size().
  MbufBuf slice(uint32_t off, uint32_t len) const noexcept {
    ref_chain(m_);
    return MbufBuf(m_, off_ + off, len);
  }

  // Copies [off, off + len) of this window into `dst`, across segments.
  void copy_out(uint32_t off, uint32_t len, std::byte* dst) const noexcept {
    read(m_, off_ + off, len, dst);
  }

  // One more reference on every segment of the chain `m` (rte_pktmbuf_free drops one on each).
  static void ref_chain(rte_mbuf* m) noexcept {
    for (; m != nullptr; m = m->next) {
      rte_mbuf_refcnt_update(m, 1);
    }
  }
  // Copies [off, off + len) of the packet `m` into `dst`, across segments.
  static void read(const rte_mbuf* m, uint32_t off, uint32_t len, std::byte* dst) noexcept {
    const void* p = rte_pktmbuf_read(m, off, len, dst);
    if (p != nullptr && p != dst) {
      __builtin_memcpy(dst, p, len);
    }
  }

 private:
  void release() noexcept {
    if (m_ != nullptr) {
      rte_pktmbuf_free(m_);
      m_ = nullptr;
    }
    len_ = 0;
  }

  rte_mbuf* m_ = nullptr;
  uint32_t off_ = 0;
  uint32_t len_ = 0;
};

}  // namespace tempo::stack
