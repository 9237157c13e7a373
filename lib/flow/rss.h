// RSS steering in software: which RX queue the NIC will put a packet on, and the choice of a
// local port for an active open so that the peer's replies land on the opening core
// (DESIGN.md principle 1: share nothing; the connection never migrates between cores).
//
// The NIC computes Toeplitz(key, src ip, dst ip, src port, dst port) and indexes its
// redirection table (RETA) with the hash's low bits. DPDK's rte_softrss computes the same
// hash. Toeplitz is linear over GF(2), so for a fixed (local ip, remote ip, remote port)
//   hash(lport) = hash(remote, local, rport, 0) ^ hash(0, 0, 0, lport)
// and trying a candidate local port costs one 16-bit term, not a whole hash. With the
// symmetric key (dpdk/port.h) the hash is the same in both directions, so this works for
// whichever direction the NIC sees.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include <rte_thash.h>

#include <tempo/check.h>

#include "wire/ipv4_addr.h"

namespace tempo::flow {

// Symmetric Toeplitz key (0x6d5a repeated): hash(a->b) == hash(b->a), so both directions of a
// flow land on one queue, which the share-nothing design needs. See Woo and Park, "Scalable
// TCP Session Monitoring with Symmetric Receive-side Scaling" (2012).
inline constexpr std::array<uint8_t, 40> kSymmetricRssKey = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

class RssSteering {
 public:
  static constexpr size_t kKeyLen = 40;

  // `reta[i]` is the queue of hash bucket i; its size is a power of two (the NIC's RETA size,
  // from rte_eth_dev_info.reta_size). An empty RETA means one queue: everything is queue 0.
  RssSteering(std::span<const uint8_t> key, std::vector<uint16_t> reta) : reta_(std::move(reta)) {
    TEMPO_CHECK(key.size() >= kKeyLen);
    TEMPO_CHECK(reta_.empty() || (reta_.size() & (reta_.size() - 1)) == 0);
    std::memcpy(key_.data(), key.data(), kKeyLen);
  }

  // The default RETA a PMD programs for `queues` queues: bucket i -> i % queues.
  static std::vector<uint16_t> default_reta(uint16_t queues, uint16_t reta_size) {
    std::vector<uint16_t> r(reta_size);
    for (uint16_t i = 0; i < reta_size; ++i) {
      r[i] = static_cast<uint16_t>(i % queues);
    }
    return r;
  }

  // Toeplitz hash of an IPv4/TCP packet src -> dst, as the NIC computes it.
  uint32_t hash(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t sport,
                uint16_t dport) const noexcept {
    // rte_softrss takes host-order words: src, dst, then sport in the high half and dport in
    // the low half of the third (rte_ipv4_tuple's layout on a little-endian host).
    std::array<uint32_t, 3> tuple = {src.value(), dst.value(), uint32_t{sport} << 16 | dport};
    return rte_softrss(tuple.data(), 3, key_.data());
  }

  uint16_t queue_of_hash(uint32_t h) const noexcept {
    return reta_.empty() ? 0 : reta_[h & (reta_.size() - 1)];
  }

  // The queue a packet src -> dst lands on.
  uint16_t queue(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t sport,
                 uint16_t dport) const noexcept {
    return queue_of_hash(hash(src, dst, sport, dport));
  }

  // Toeplitz hash of an IPv6/TCP packet src -> dst: rte_ipv6_tuple's words as
  // rte_thash_load_v6_addrs() loads them (host order), then the ports word.
  uint32_t hash(const std::array<uint8_t, 16>& src, const std::array<uint8_t, 16>& dst,
                uint16_t sport, uint16_t dport) const noexcept {
    std::array<uint32_t, kV6Words> tuple = v6_words(src, dst);
    tuple[kV6Words - 1] = uint32_t{sport} << 16 | dport;
    return rte_softrss(tuple.data(), kV6Words, key_.data());
  }

  // A local port in [lo, hi], tried from `*cursor` on (and advanced past the result), such
  // that the replies remote:rport -> local:port land on `queue` and `taken(port)` is false.
  // nullopt when no port in the range qualifies. Expected cost: about (number of queues)
  // candidates, each one 16-bit Toeplitz term.
  template <class Taken>
  std::optional<uint16_t> pick_local_port(wire::Ipv4Addr local, wire::Ipv4Addr remote,
                                          uint16_t rport, uint16_t queue, uint16_t lo, uint16_t hi,
                                          uint32_t* cursor, Taken&& taken) const noexcept {
    return pick<kV4Words>(hash(remote, local, rport, 0), queue, lo, hi, cursor, taken);
  }
  template <class Taken>
  std::optional<uint16_t> pick_local_port(const std::array<uint8_t, 16>& local,
                                          const std::array<uint8_t, 16>& remote, uint16_t rport,
                                          uint16_t queue, uint16_t lo, uint16_t hi,
                                          uint32_t* cursor, Taken&& taken) const noexcept {
    return pick<kV6Words>(hash(remote, local, rport, 0), queue, lo, hi, cursor, taken);
  }

 private:
  static constexpr uint32_t kV4Words = 3;  // src, dst, ports
  static constexpr uint32_t kV6Words = 9;  // 4 + 4 address words, ports

  static std::array<uint32_t, kV6Words> v6_words(const std::array<uint8_t, 16>& src,
                                                 const std::array<uint8_t, 16>& dst) noexcept {
    std::array<uint32_t, kV6Words> w{};
    for (size_t i = 0; i < 4; ++i) {
      w[i] = uint32_t{src[4 * i]} << 24 | uint32_t{src[4 * i + 1]} << 16 |
             uint32_t{src[4 * i + 2]} << 8 | src[4 * i + 3];
      w[4 + i] = uint32_t{dst[4 * i]} << 24 | uint32_t{dst[4 * i + 1]} << 16 |
                 uint32_t{dst[4 * i + 2]} << 8 | dst[4 * i + 3];
    }
    return w;
  }

  // `base` is the hash with a zero local port; a port's term sits in the last word.
  template <uint32_t kWords, class Taken>
  std::optional<uint16_t> pick(uint32_t base, uint16_t queue, uint16_t lo, uint16_t hi,
                               uint32_t* cursor, Taken& taken) const noexcept {
    const uint32_t span = uint32_t{hi} - lo + 1;
    for (uint32_t i = 0; i < span; ++i) {
      const auto port = static_cast<uint16_t>(lo + (*cursor + i) % span);
      std::array<uint32_t, kWords> term{};
      term[kWords - 1] = port;
      const uint32_t h = base ^ rte_softrss(term.data(), kWords, key_.data());
      if (queue_of_hash(h) == queue && !taken(port)) {
        *cursor = (*cursor + i + 1) % span;
        return port;
      }
    }
    return std::nullopt;
  }

  std::array<uint8_t, kKeyLen + 4> key_{};  // rte_softrss reads one word past the tuple
  std::vector<uint16_t> reta_;
};

}  // namespace tempo::flow
