// Region: a zero-filled anonymous mapping for the TIME_WAIT table's slab and index, made once
// at startup (never on the datapath). Pages are backed lazily, so RSS grows with what is used;
// MADV_HUGEPAGE asks for 2 MB pages, because 10M entries spread over ~500 MB would otherwise
// miss the TLB on every lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/mman.h>
#include <utility>

namespace tempo::timewait {

class Region {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;

  Region() noexcept = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  Region(Region&& o) noexcept
      : base_(std::exchange(o.base_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Region& operator=(Region&& o) noexcept {
    if (this != &o) {
      release();
      base_ = std::exchange(o.base_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~Region() { release(); }

  // An empty Region (data() == nullptr) when the mapping fails.
  static Region map(size_t bytes) noexcept {
    Region r;
    if (bytes == 0) {
      return r;
    }
    const size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    // Over-map by one huge page and trim, so that the region starts on a 2 MB boundary.
    void* raw = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
      return r;
    }
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > start) {
      ::munmap(raw, aligned - start);
    }
    const uintptr_t end = start + size + kHugePage;
    if (end > aligned + size) {
      ::munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
    }
    r.base_ = reinterpret_cast<void*>(aligned);
    r.size_ = size;
#ifdef MADV_HUGEPAGE
    ::madvise(r.base_, r.size_, MADV_HUGEPAGE);  // advisory: failure only costs TLB misses
#endif
    return r;
  }

  void* data() const noexcept { return base_; }
  size_t size() const noexcept { return size_; }

 private:
  void release() noexcept {
    if (base_ != nullptr) {
      ::munmap(base_, size_);
      base_ = nullptr;
      size_ = 0;
    }
  }

  void* base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tempo::timewait
