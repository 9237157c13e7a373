#include "wire/checksum.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include <rte_ip.h>

#include "wire/bytes.h"

namespace tempo::wire {
namespace {

constexpr size_t kTcpChecksumOffset = 16;
constexpr uint8_t kProtoTcp = 6;

// The sum (RFC 1071 §2): words of any width may be added (§2(C), parallel summation) as long
// as each carry out of the top comes back in at the bottom, since 2^32 and 2^64 are 1 mod 0xffff
// as 2^16 is; and carries may be deferred and added at the end (§2(D)). Native-order loads give
// the sum in memory order on either byte order (§2(B)), as rte_raw_cksum does. memcpy loads
// compile to plain loads and are safe at any alignment.
template <class Word>
Word load(const std::byte* p) noexcept {
  Word w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// a + b on 64 bits with the carry out of bit 63 added back in at bit 0 (an add and an adc).
uint64_t add_end_around(uint64_t a, uint64_t b) noexcept {
  const uint64_t s = a + b;
  return s + (s < a ? 1 : 0);
}

// A sum congruent to the message's mod 0xffff, folded to 16 bits. Zero only for a sum of zeros,
// so 0 and 0xffff come out exactly where rte_raw_cksum gives them. The halves of a 64-bit sum
// add end-around on 32 bits; then t + (t rotated by 16) holds in its high half the halves of t
// added with the carry out of the low half (as Linux's csum_fold).
uint16_t fold(uint64_t s) noexcept {
  const auto lo = static_cast<uint32_t>(s);
  uint32_t t = lo + static_cast<uint32_t>(s >> 32);
  t += t < lo ? 1 : 0;
  return static_cast<uint16_t>((t + std::rotr(t, 16)) >> 16);
}

// The sum of fewer than 128 bytes: 64-bit words with end-around carry in two sums, so that two
// add/adc chains run side by side where one would wait on each carry; then a 32-bit, a 16-bit
// word and an odd byte, which is the high-order byte of a word padded with zero (RFC 1071 §1),
// i.e. the first byte in memory, as rte_raw_cksum places it. Inline: with a constant length
// (the pseudo-headers) it comes down to a few adds.
inline uint64_t sum_short(const std::byte* p, size_t n) noexcept {
  uint64_t s0 = 0;
  uint64_t s1 = 0;
  for (; n >= 16; n -= 16, p += 16) {
    s0 = add_end_around(s0, load<uint64_t>(p));
    s1 = add_end_around(s1, load<uint64_t>(p + 8));
  }
  if ((n & 8) != 0) {
    s0 = add_end_around(s0, load<uint64_t>(p));
    p += 8;
  }
  const uint64_t s64 = add_end_around(s0, s1);
  uint64_t s = (s64 & 0xffffffff) + (s64 >> 32);  // < 2^33: room for the last three
  if ((n & 4) != 0) {
    s += load<uint32_t>(p);
    p += 4;
  }
  if ((n & 2) != 0) {
    s += load<uint16_t>(p);
    p += 2;
  }
  if ((n & 1) != 0) {
    uint16_t last = 0;
    std::memcpy(&last, p, 1);
    s += last;
  }
  return s;
}

// Blocks of at most this many 32-bit words keep sum_words32's low-half total below 2^32.
constexpr size_t kBlockWords = size_t{1} << 16;

// The sum of `words` (at most kBlockWords) 32-bit words. §2(D), deferred carries: `all` adds the
// whole words mod 2^32 and `hi` their high halves; the low halves' total, at most
// 65536 * 0xffff < 2^32, is then exactly all - hi * 2^16 mod 2^32. Two adds and a shift per
// word and no widening, which compilers make a vector loop (SSE2; NEON's usra does the shift and
// one add): about 1.5x the bytes per cycle of rte_raw_cksum's loop, which widens each 16-bit
// word to 32 bits before it adds.
uint64_t sum_words32(const std::byte* p, size_t words) noexcept {
  uint32_t all = 0;
  uint32_t hi = 0;
#pragma GCC unroll 2
  for (size_t i = 0; i < words; ++i) {
    const uint32_t w = load<uint32_t>(p + 4 * i);
    all += w;
    hi += w >> 16;
  }
  return uint64_t{static_cast<uint32_t>(all - (hi << 16))} + hi;
}

// Messages shorter than this (headers, pseudo-headers, small segments) are summed as 64-bit
// words; longer ones by the vector loop.
constexpr size_t kShortMax = 128;

// The sum of `n` >= kShortMax bytes at `p`, unfolded: the vector loop over 64-byte multiples,
// then the tail.
uint64_t sum_long(const std::byte* p, size_t n) noexcept {
  uint64_t s = 0;
  while (n >= 64) {
    const size_t words = std::min(n / 64 * 16, kBlockWords);
    s = add_end_around(s, sum_words32(p, words));
    p += 4 * words;
    n -= 4 * words;
  }
  return add_end_around(s, sum_short(p, n));
}

// The folded sum of `data` in memory order, as rte_raw_cksum returns it: stored with memcpy it
// is the wire checksum, so in host order (our convention) it is byte-swapped.
inline uint16_t raw_sum(std::span<const std::byte> data) noexcept {
  const size_t n = data.size();
  return fold(n < kShortMax ? sum_short(data.data(), n) : sum_long(data.data(), n));
}

// RFC 1071 §2(A): ones'-complement addition is associative, so two folded sums add and fold.
uint16_t add_sums(uint16_t a, uint16_t b) noexcept {
  uint32_t s = uint32_t{a} + b;
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

uint16_t ipv4_pseudo_native(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol,
                            uint16_t l4_len) noexcept {
  // RFC 9293 §3.1: source, destination, zero, PTCL, TCP length.
  std::array<std::byte, 12> ph{};
  src.store(&ph[0]);
  dst.store(&ph[4]);
  detail::store8(&ph[9], protocol);
  detail::store_be16(&ph[10], l4_len);
  return raw_sum(ph);
}

uint16_t ipv6_pseudo_native(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                            uint32_t l4_len) noexcept {
  // RFC 8200 §8.1: source, destination, upper-layer packet length (32 bits), 3 zero bytes,
  // next header.
  std::array<std::byte, 40> ph{};
  src.store(&ph[0]);
  dst.store(&ph[16]);
  detail::store_be32(&ph[32], l4_len);
  detail::store8(&ph[39], next_header);
  return raw_sum(ph);
}

uint16_t to_host(uint16_t native) noexcept {
  uint16_t v;
  std::memcpy(&v, &native, sizeof v);
  return detail::be16(v);
}

}  // namespace

uint16_t internet_checksum(std::span<const std::byte> data) noexcept {
  return to_host(static_cast<uint16_t>(~raw_sum(data)));
}

bool verify_internet_checksum(std::span<const std::byte> data) noexcept {
  return raw_sum(data) == 0xffff;
}

uint16_t ipv4_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol,
                                uint16_t l4_len) noexcept {
  return to_host(ipv4_pseudo_native(src, dst, protocol, l4_len));
}

uint16_t ipv6_pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                                uint32_t l4_len) noexcept {
  return to_host(ipv6_pseudo_native(src, dst, next_header, l4_len));
}

uint16_t l4_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol,
                          std::span<const std::byte> segment) noexcept {
  const uint16_t s =
      add_sums(ipv4_pseudo_native(src, dst, protocol, static_cast<uint16_t>(segment.size())),
               raw_sum(segment));
  return to_host(static_cast<uint16_t>(~s));
}

uint16_t l4_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                          std::span<const std::byte> segment) noexcept {
  const uint16_t s =
      add_sums(ipv6_pseudo_native(src, dst, next_header, static_cast<uint32_t>(segment.size())),
               raw_sum(segment));
  return to_host(static_cast<uint16_t>(~s));
}

bool verify_l4_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst, uint8_t protocol,
                             std::span<const std::byte> segment) noexcept {
  return add_sums(ipv4_pseudo_native(src, dst, protocol, static_cast<uint16_t>(segment.size())),
                  raw_sum(segment)) == 0xffff;
}

bool verify_l4_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                             std::span<const std::byte> segment) noexcept {
  return add_sums(ipv6_pseudo_native(src, dst, next_header, static_cast<uint32_t>(segment.size())),
                  raw_sum(segment)) == 0xffff;
}

uint16_t tcp_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst,
                           std::span<const std::byte> segment) noexcept {
  return l4_checksum_ipv4(src, dst, kProtoTcp, segment);
}
uint16_t tcp_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst,
                           std::span<const std::byte> segment) noexcept {
  return l4_checksum_ipv6(src, dst, kProtoTcp, segment);
}
bool verify_tcp_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst,
                              std::span<const std::byte> segment) noexcept {
  return verify_l4_checksum_ipv4(src, dst, kProtoTcp, segment);
}
bool verify_tcp_checksum_ipv6(const Ipv6Addr& src, const Ipv6Addr& dst,
                              std::span<const std::byte> segment) noexcept {
  return verify_l4_checksum_ipv6(src, dst, kProtoTcp, segment);
}

bool fill_tcp_checksum_ipv4(std::span<std::byte> segment, Ipv4Addr src, Ipv4Addr dst) noexcept {
  if (segment.size() < 20) {
    return false;
  }
  detail::store_be16(&segment[kTcpChecksumOffset], 0);
  detail::store_be16(&segment[kTcpChecksumOffset], tcp_checksum_ipv4(src, dst, segment));
  return true;
}

bool fill_tcp_checksum_ipv6(std::span<std::byte> segment, const Ipv6Addr& src,
                            const Ipv6Addr& dst) noexcept {
  if (segment.size() < 20) {
    return false;
  }
  detail::store_be16(&segment[kTcpChecksumOffset], 0);
  detail::store_be16(&segment[kTcpChecksumOffset], tcp_checksum_ipv6(src, dst, segment));
  return true;
}

uint16_t raw_sum_add(uint16_t sum, std::span<const std::byte> data, size_t offset) noexcept {
  uint16_t part = raw_sum(data);
  if ((offset & 1) != 0) {
    part = static_cast<uint16_t>((part >> 8) | (part << 8));
  }
  return add_sums(sum, part);
}

uint16_t detail::dpdk_raw_sum(std::span<const std::byte> data) noexcept {
  return rte_raw_cksum(data.data(), data.size());
}

}  // namespace tempo::wire
