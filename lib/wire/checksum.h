// Internet checksums (RFC 1071) for IPv4 headers, ICMP, ICMPv6 and TCP, with the IPv4
// (RFC 9293 §3.1) and IPv6 (RFC 8200 §8.1) pseudo-headers.
//
// The sum is our own (checksum.cc), not DPDK's rte_raw_cksum (lib/net/rte_ip.h, 22.11):
// DESIGN.md principle 7 lets us replace a library only where a benchmark shows it short, and
// perf/micro/wire/checksum_bench.cc does. rte_raw_cksum adds one 16-bit word at a time into a
// 32-bit accumulator; ours adds 32-bit words with deferred carries (RFC 1071 §2(C), §2(D)) in
// a loop compilers vectorize, and 64-bit words below 128 bytes: 1.5-1.7x as fast from 576 bytes
// to 64 KiB, as fast (0.96-1.2x) at 20-64 bytes (gcc 12 -O3 -march=corei7, DPDK's flags). It
// equals rte_raw_cksum bit for bit on every input (tests/unit/wire/checksum_test.cc), which
// stays only as that test's and that benchmark's reference (detail::dpdk_raw_sum).
//
// Every value here is in host order, i.e. as the checksum field reads with a big-endian load,
// except the raw sums, which are in memory order (below); the builders store values big-endian.
//
// Conventions, as DPDK's: a `..._checksum` function wants the checksum field of its input zeroed
// (the builders leave it so) and returns the value to store; a `verify_...` function sums the
// input with its checksum field in place and accepts it when the sum is 0xffff (RFC 1071 §1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"

namespace tempo::wire {

// The complemented checksum of a buffer with no pseudo-header (IPv4 header, ICMPv4).
uint16_t internet_checksum(std::span<const std::byte> data) noexcept;
// True when `data`, its checksum field included, sums to 0xffff.
bool verify_internet_checksum(std::span<const std::byte> data) noexcept;

// The non-complemented pseudo-header sum. Put into the TCP checksum field, it is what NICs
// expect for checksum offload (RTE_MBUF_F_TX_TCP_CKSUM); for TSO pass l4_len 0, as
// rte_ipv4_phdr_cksum does with RTE_MBUF_F_TX_TCP_SEG.
uint16_t ipv4_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol,
                                uint16_t l4_len) noexcept;
uint16_t ipv6_pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                                uint32_t l4_len) noexcept;

// Upper-layer checksums over pseudo-header + segment (`segment` is the whole L4 message, its
// length the pseudo-header's length).
uint16_t l4_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol,
                          std::span<const std::byte> segment) noexcept;
uint16_t l4_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                          std::span<const std::byte> segment) noexcept;
bool verify_l4_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol,
                             std::span<const std::byte> segment) noexcept;
bool verify_l4_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                             std::span<const std::byte> segment) noexcept;

// TCP (protocol 6). The checksum field is at offset 16 of the segment.
uint16_t tcp_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst, std::span<const std::byte> segment) noexcept;
uint16_t tcp_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst,
                           std::span<const std::byte> segment) noexcept;
bool verify_tcp_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst,
                              std::span<const std::byte> segment) noexcept;
bool verify_tcp_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst,
                              std::span<const std::byte> segment) noexcept;
// Pseudo-header only, for offload: the value to leave in the field for the NIC to finish.
inline uint16_t tcp_pseudo_header_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst,
                                                uint16_t l4_len) noexcept {
  return ipv4_pseudo_header_sum(src, dst, 6, l4_len);
}
inline uint16_t tcp_pseudo_header_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst,
                                                uint32_t l4_len) noexcept {
  return ipv6_pseudo_header_sum(src, dst, 6, l4_len);
}

// Zero the TCP checksum field of `segment` (at least 20 bytes), compute, and store it.
// Returns false (and writes nothing) when the segment is shorter than 20 bytes.
bool fill_tcp_checksum_ipv4(std::span<std::byte> segment, Ipv4Addr src, Ipv4Addr dst) noexcept;
bool fill_tcp_checksum_ipv6(std::span<std::byte> segment, const Ipv6Addr& src,
                            const Ipv6Addr& dst) noexcept;

// A message summed in pieces (an mbuf chain, a header then a payload held elsewhere): returns
// the one's-complement sum (RFC 1071 §1, folded, not complemented) of the bytes before `data`,
// whose sum is `sum`, followed by `data`, which starts `offset` bytes into the message. Only the
// parity of `offset` matters: a piece at an odd offset has its bytes in the other halves of the
// message's 16-bit words, so its sum is byte-swapped before it is added (RFC 1071 §2(B)).
// Memory order, as rte_raw_cksum and rte_ipv4_phdr_cksum return it: the 16-bit words are
// native-order loads, so `sum` may start from rte_ipv4_phdr_cksum, and the complement of the
// result stored with memcpy is the checksum field. Any alignment, any length.
uint16_t raw_sum_add(uint16_t sum, std::span<const std::byte> data, size_t offset) noexcept;

namespace detail {
// DPDK's rte_raw_cksum (lib/net/rte_ip.h, 22.11), the sum raw_sum_add replaced, compiled with
// the same flags: only for the test that holds raw_sum_add to it bit for bit and the benchmark
// that compares their speed. Not for the datapath.
uint16_t dpdk_raw_sum(std::span<const std::byte> data) noexcept;
}  // namespace detail

}  // namespace tempo::wire
