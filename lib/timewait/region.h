// Region: a zero-filled anonymous mapping for the TIME_WAIT table's slab and index. The slab's
// is made once at startup; an index's when the table resizes it (table.h), which is rare and
// spread over many turns. Pages are backed lazily, so RSS grows with what is used, and
// discard() gives pages back. From 2 MB up, MADV_HUGEPAGE asks for 2 MB pages, because 10M
// entries spread over ~500 MB would otherwise miss the TLB on every lookup; below, the mapping
// is page-sized, so that a small index does not back a whole huge page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/mman.h>
#include <utility>

namespace tempo::timewait {

class Region {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kPage = 4096;

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
    if (bytes < kHugePage) {
      const size_t size = (bytes + kPage - 1) / kPage * kPage;
      void* raw = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (raw != MAP_FAILED) {
        r.base_ = raw;
        r.size_ = size;
      }
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

  // Gives the whole pages inside [offset, offset + bytes) back to the kernel; they read as zero
  // after. Partial pages at either end are kept.
  void discard(size_t offset, size_t bytes) noexcept {
    const size_t begin = (offset + kPage - 1) / kPage * kPage;
    const size_t end = (offset + bytes) / kPage * kPage;
    if (base_ != nullptr && end > begin && end <= size_) {
      ::madvise(static_cast<char*>(base_) + begin, end - begin, MADV_DONTNEED);
    }
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
