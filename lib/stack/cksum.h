// The TCP checksum (RFC 9293 §3.1, RFC 1071) of a segment spread over an mbuf chain.
//
// DPDK 22.11's rte_ipv{4,6}_udptcp_cksum_mbuf is wrong for chains: rte_raw_cksum_mbuf truncates
// a segment's unreduced 32-bit partial sum to 16 bits before byte-swapping it when the bytes
// before it are odd in number, dropping its carries (found as TcpInCsumErrors on the kernel
// side when payload references started at odd offsets). Here each segment is summed by
// wire::raw_sum_add, tempo's own sum (faster than DPDK's: lib/wire/checksum.h), which swaps a
// piece at an odd offset after reducing it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <rte_mbuf.h>

#include "wire/checksum.h"

namespace tempo::stack {

// One's-complement sum of [off, off + len) of the chain `m`, folded to 16 bits, in the
// memory-order convention of rte_raw_cksum.
inline uint16_t raw_cksum_chain(const rte_mbuf* m, uint32_t off, uint32_t len) noexcept {
  uint16_t sum = 0;
  uint32_t done = 0;
  for (const rte_mbuf* s = m; s != nullptr && len > 0; s = s->next) {
    if (off >= s->data_len) {
      off -= s->data_len;
      continue;
    }
    const uint32_t n = std::min<uint32_t>(s->data_len - off, len);
    sum = wire::raw_sum_add(sum, {rte_pktmbuf_mtod_offset(s, const std::byte*, off), n}, done);
    done += n;
    len -= n;
    off = 0;
  }
  return sum;
}

// The value for the TCP header's checksum field: the L4 bytes from `l4_off` to the end of
// the packet, plus the pseudo-header sum `phdr` (rte_ipv4_phdr_cksum / rte_ipv6_phdr_cksum
// with no offload flags).
inline uint16_t tcp_cksum_chain(const rte_mbuf* m, uint32_t l4_off, uint16_t phdr) noexcept {
  uint32_t sum = raw_cksum_chain(m, l4_off, rte_pktmbuf_pkt_len(m) - l4_off);
  sum += phdr;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace tempo::stack
