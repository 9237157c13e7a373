#include "stack/lend.h"

#include <algorithm>
#include <new>

#include <rte_eal.h>
#include <rte_memory.h>
#include <rte_mempool.h>

namespace tempo::stack {

namespace {

// What the holder mbuf's data room carries: the shared info DPDK counts, and the loan.
struct Loan {
  rte_mbuf_ext_shared_info shinfo;
  rte_mbuf* holder;
  LendRelease release;
  void* opaque;
};

// DPDK's free_cb: the last mbuf referring to the memory is gone.
void on_last_ref(void* /*addr*/, void* arg) {
  auto* loan = static_cast<Loan*>(arg);
  const LendRelease release = loan->release;
  void* const opaque = loan->opaque;
  rte_mbuf* const holder = loan->holder;
  loan->~Loan();
  rte_pktmbuf_free(holder);
  if (release != nullptr) {
    release(opaque);
  }
}

// The IOVA of [p, p + len), or RTE_BAD_IOVA where the port could not reach it whole.
rte_iova_t iova_of(const std::byte* p, uint32_t len) noexcept {
  if (rte_eal_iova_mode() == RTE_IOVA_VA) {
    return static_cast<rte_iova_t>(reinterpret_cast<uintptr_t>(p));
  }
  const rte_iova_t first = rte_mem_virt2iova(p);
  const rte_iova_t last = rte_mem_virt2iova(p + len - 1);
  if (first == RTE_BAD_IOVA || last == RTE_BAD_IOVA || last - first != len - 1) {
    return RTE_BAD_IOVA;
  }
  return first;
}

// [p, p + len) lies in the DPDK memory list that holds the pool's buffers.
bool in_pool_memory(const rte_mempool* pool, const std::byte* p, uint32_t len) noexcept {
  const rte_mempool_memhdr* hdr = STAILQ_FIRST(&pool->mem_list);
  const rte_memseg_list* msl = hdr != nullptr ? rte_mem_virt2memseg_list(hdr->addr) : nullptr;
  return msl != nullptr && rte_mem_virt2memseg_list(p) == msl &&
         rte_mem_virt2memseg_list(p + len - 1) == msl;
}

}  // namespace

Result<rte_mbuf*, LendError> lend(rte_mempool* pool, std::span<const std::byte> data,
                                  LendRelease release, void* opaque,
                                  bool pool_memory_only) noexcept {
  if (data.empty()) {
    return fail(LendError::kEmpty);
  }
  if (data.size() > UINT32_MAX) {
    return fail(LendError::kNoBuffers);
  }
  const auto size = static_cast<uint32_t>(data.size());
  const uint32_t chunks = (size + kLendChunk - 1) / kLendChunk;
  if (chunks >= UINT16_MAX || rte_pktmbuf_data_room_size(pool) < sizeof(Loan)) {
    return fail(LendError::kNoBuffers);  // past a chain's segment count, or no room to hold
  }
  for (uint32_t k = 0; k < chunks; ++k) {
    const uint32_t off = k * kLendChunk;
    const uint32_t len = std::min(kLendChunk, size - off);
    if (iova_of(data.data() + off, len) == RTE_BAD_IOVA ||
        (pool_memory_only && !in_pool_memory(pool, data.data() + off, len))) {
      return fail(LendError::kNotDma);
    }
  }
  rte_mbuf* holder = rte_pktmbuf_alloc(pool);
  if (holder == nullptr) {
    return fail(LendError::kNoBuffers);
  }
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  for (uint32_t k = 0; k < chunks; ++k) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {  // nothing attached yet: give the plain mbufs back
      rte_pktmbuf_free(head);
      rte_pktmbuf_free(holder);
      return fail(LendError::kNoBuffers);
    }
    (head == nullptr ? head : tail->next) = m;
    tail = m;
  }
  auto* loan = ::new (rte_pktmbuf_mtod(holder, void*)) Loan{};
  loan->holder = holder;
  loan->release = release;
  loan->opaque = opaque;
  loan->shinfo.free_cb = on_last_ref;
  loan->shinfo.fcb_opaque = loan;
  rte_mbuf_ext_refcnt_set(&loan->shinfo, static_cast<uint16_t>(chunks));
  uint32_t off = 0;
  for (rte_mbuf* m = head; m != nullptr; m = m->next) {
    const uint32_t n = std::min(kLendChunk, size - off);
    // The memory is only read (sent): DPDK's buffer address is not const.
    void* addr = const_cast<std::byte*>(data.data() + off);  // NOLINT
    rte_pktmbuf_attach_extbuf(m, addr, iova_of(data.data() + off, n), static_cast<uint16_t>(n),
                              &loan->shinfo);
    m->data_off = 0;
    m->data_len = static_cast<uint16_t>(n);
    m->pkt_len = n;
    off += n;
  }
  head->nb_segs = static_cast<uint16_t>(chunks);
  head->pkt_len = size;
  return head;
}

}  // namespace tempo::stack
