// Keyed hash of a TIME_WAIT tuple, for the table index (table.h).
//
// The remote address and port are chosen by whoever sends us packets, so the bucket a tuple
// lands in must not be predictable: the hash takes a secret 64-bit seed (drawn at startup, per
// table). The mixer is the 64x64->128-bit multiply-and-fold of wyhash ("mum"), keyed by
// xoring the seed into both operands and mixed once more at the end: ~5 ns for a tuple, and
// non-linear in the seed.
//
// Why not CRC32C with a secret seed, though it is one instruction: CRC is linear over GF(2),
// crc(s, a) ^ crc(s, b) depends only on a ^ b for equal-length inputs, so an attacker finds
// colliding tuples without knowing the seed. Why not the IPsec-MB PRF used for ISNs and
// timestamp offsets (DESIGN.md principle 7): it costs tens of nanoseconds per call on the
// lookup path, and this hash only has to resist aiming collisions, not forgery. The table
// bounds the damage anyway: a lookup reads at most two buckets (cuckoo), whatever the keys.
#pragma once

#include <cstdint>
#include <cstring>

#include "timewait/record.h"

namespace tempo::timewait {

namespace detail {

__extension__ typedef unsigned __int128 U128;

inline constexpr uint64_t kMix0 = 0xa0761d6478bd642fULL;  // wyhash's primes
inline constexpr uint64_t kMix1 = 0xe7037ed1a0b428dbULL;
inline constexpr uint64_t kMix2 = 0x8ebc6af09c88c6e3ULL;
inline constexpr uint64_t kMix3 = 0x589965cc75374cc3ULL;

inline uint64_t mum(uint64_t a, uint64_t b) noexcept {
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load64(const void* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint32_t load32(const void* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace detail

inline uint64_t tw_hash(const flow::Tuple4& t, uint64_t seed) noexcept {
  using namespace detail;
  const uint64_t addrs = load64(&t.local);       // local, remote
  const uint64_t ports = load32(&t.local_port);  // local_port, remote_port
  const uint64_t h = mum(addrs ^ seed ^ kMix0, ports ^ kMix1 ^ (seed >> 32 | seed << 32));
  return mum(h ^ kMix2, seed ^ kMix3);
}

inline uint64_t tw_hash(const flow::Tuple6& t, uint64_t seed) noexcept {
  using namespace detail;
  const auto* p = t.local.data();
  const auto* q = t.remote.data();
  uint64_t h = mum(load64(p) ^ seed ^ kMix0, load64(p + 8) ^ kMix1);
  h = mum(load64(q) ^ h ^ kMix2, load64(q + 8) ^ seed ^ kMix3);
  h = mum(load32(&t.local_port) ^ h ^ kMix1, seed ^ kMix0);
  return mum(h ^ kMix2, seed ^ kMix3);
}

}  // namespace tempo::timewait
