#include "wire/checksum.h"

#include <array>

#include <rte_ip.h>

#include "wire/bytes.h"

namespace tempo::wire {
namespace {

constexpr size_t kTcpChecksumOffset = 16;
constexpr uint8_t kProtoTcp = 6;

// rte_raw_cksum returns the folded sum of native-order 16-bit words: stored with memcpy it is
// the wire checksum, so in host order (our convention) it is byte-swapped.
uint16_t raw_sum(std::span<const std::byte> data) noexcept {
  return rte_raw_cksum(data.data(), data.size());
}

// RFC 1071 §2(B): ones'-complement addition is associative, so two folded sums add and fold.
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

}  // namespace tempo::wire
