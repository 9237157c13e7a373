// tempo::crypto::Prf: a keyed pseudo-random function over short messages, the building block of
// ISNs (RFC 6528), SYN cookies and timestamp offsets (lib/tcp/isn.h, syncookie.h, ts_offset.h).
//
// It is AES-128-CMAC (RFC 4493) in IPsec-MB: measured against HMAC-SHA-1 and HMAC-SHA-256 on
// this class of machine (perf/micro/crypto/prf_bench.cc, 36-byte input, one job at a time),
// CMAC was the fastest (numbers in that file's header). A CMAC is a PRF when AES is a
// PRP (RFC 4493 §1; RFC 4615 uses it as a PRF the same way).
//
// One Prf per core: it evaluates on that core's Mgr, which must outlive it and stay in place.
// The key is copied and expanded at construction; eval() is noexcept and allocation-free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/cmac.h"
#include "crypto/mgr.h"
#include "crypto/random.h"

namespace tempo::crypto {

class Prf {
 public:
  Prf(const Mgr& mgr, const Key128& key) noexcept : mgr_(&mgr), cmac_(mgr, key) {}

  // The first 64 bits of the 128-bit output, big-endian.
  uint64_t eval(std::span<const std::byte> msg) const noexcept;
  // The full 128-bit output.
  std::array<std::byte, 16> eval128(std::span<const std::byte> msg) const noexcept;

 private:
  const Mgr* mgr_;
  Aes128Cmac cmac_;
};

}  // namespace tempo::crypto
