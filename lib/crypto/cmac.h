// tempo::crypto::Aes128Cmac: AES-128-CMAC (RFC 4493) with a prepared key, computed by IPsec-MB.
//
// The key schedule and the two CMAC subkeys are derived once, at construction; compute() is
// then one IPsec-MB job. The prepared key is read-only, so one object may serve every core, each
// passing its own Mgr.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/mgr.h"

namespace tempo::crypto {

class Aes128Cmac {
 public:
  static constexpr size_t kKeyBytes = 16;
  static constexpr size_t kTagBytes = 16;

  Aes128Cmac(const Mgr& mgr, std::span<const std::byte, kKeyBytes> key) noexcept;

  // Writes the first tag.size() bytes of AES-CMAC(key, msg) (RFC 4493 §2.4; a shorter tag is the
  // truncation of RFC 4493 §2.5). tag.size() must be in [4, 16]; msg may be empty.
  void compute(const Mgr& mgr, std::span<const std::byte> msg,
               std::span<std::byte> tag) const noexcept;

 private:
  // AES-128 round keys (11 x 16 bytes) and subkeys K1, K2; IPsec-MB wants 16-byte alignment.
  alignas(16) std::array<std::byte, 11 * 16> round_keys_{};
  alignas(16) std::array<std::byte, 16> k1_{};
  alignas(16) std::array<std::byte, 16> k2_{};
};

}  // namespace tempo::crypto
