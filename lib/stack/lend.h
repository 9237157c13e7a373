// Memory the application owns, lent to the stack for sending without a copy (tempo::lend,
// tempo/stack.h): a chain of mbufs attached to the memory as DPDK external buffers
// (rte_pktmbuf_attach_extbuf), one mbuf per kChunk bytes (an mbuf's data_len is 16 bits), all
// sharing one rte_mbuf_ext_shared_info whose count DPDK keeps: every mbuf that refers to the
// memory (the chain, the frames the encoder attaches to it, slices kept by the application)
// holds one, and the last to go calls the application's release. The shared info lives in
// the data room of one more mbuf from the same pool (the holder), freed with it: lending
// allocates nothing outside the pool, and an exhausted pool refuses the loan, never crashes.
//
// Knows nothing of the Worker: a pool in, a chain out. Tests: tests/unit/stack/lend_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <rte_mbuf.h>

#include <tempo/result.h>

namespace tempo::stack {

enum class LendError : uint8_t {
  kEmpty,      // nothing to lend
  kNoBuffers,  // the pool has not the mbufs for it (one per kChunk bytes, and one)
  kNotDma,     // the port cannot reach the memory (IOVA as physical addresses, and the
               // memory is not DPDK's or not physically contiguous across a chunk; or
               // `pool_memory_only` and it is not in the pool's memory list)
};

// Bytes per mbuf of the chain: under the 16-bit data_len, a multiple of 4 KiB.
inline constexpr uint32_t kLendChunk = 60 * 1024;

using LendRelease = void (*)(void* opaque);

// A chain over `data`, its pkt_len data.size(), holding the one reference the caller now owns.
// `release(opaque)` (may be null) runs once, when the last mbuf referring to the memory is
// freed; on failure nothing was taken and it does not run. `pool_memory_only`: the port reaches
// only the DPDK memory list the pool's buffers are in (a memif zero-copy client, whose peer
// maps that list and no other memory).
Result<rte_mbuf*, LendError> lend(rte_mempool* pool, std::span<const std::byte> data,
                                  LendRelease release, void* opaque,
                                  bool pool_memory_only = false) noexcept;

}  // namespace tempo::stack
