// tempo::crypto::HmacSha1: HMAC-SHA-1 (RFC 2104) with a prepared key, computed by IPsec-MB.
//
// The inner and outer pad states (SHA-1 of key^ipad and key^opad, one block each) are computed
// once at construction; compute() is then one IPsec-MB job. Used by TCP-AO (RFC 5926 §3.1.1
// KDF_HMAC_SHA1 and §3.2.1 HMAC-SHA-1-96). Read-only after construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/mgr.h"

namespace tempo::crypto {

class HmacSha1 {
 public:
  static constexpr size_t kDigestBytes = 20;
  static constexpr size_t kBlockBytes = 64;

  // Any key length; keys longer than a block are hashed first (RFC 2104 §2).
  HmacSha1(const Mgr& mgr, std::span<const std::byte> key) noexcept;

  // Writes the first tag.size() bytes of HMAC-SHA-1(key, msg). IPsec-MB 1.3 produces the full
  // 20 bytes or the 12-byte truncation (RFC 2404's HMAC-SHA-1-96); tag.size() must be 12 or 20.
  void compute(const Mgr& mgr, std::span<const std::byte> msg,
               std::span<std::byte> tag) const noexcept;

 private:
  alignas(16) std::array<std::byte, kDigestBytes> ipad_state_{};
  alignas(16) std::array<std::byte, kDigestBytes> opad_state_{};
};

}  // namespace tempo::crypto
