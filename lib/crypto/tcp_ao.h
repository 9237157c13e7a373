// TCP-AO, the TCP Authentication Option (RFC 5925), with the two mandatory algorithm pairs of
// RFC 5926: KDF_HMAC_SHA1 + HMAC-SHA-1-96 and KDF_AES_128_CMAC + AES-128-CMAC-96.
//
// Key derivation (RFC 5926 §3.1) runs once per connection (four traffic keys, RFC 5925 §5.2);
// MACs (RFC 5925 §5.1) run per segment. Both are IPsec-MB jobs on the caller's per-core Mgr;
// a segment's MAC input is laid out in the Mgr's scratch buffer. Test vectors: RFC 9235.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include <tempo/result.h>

#include "crypto/cmac.h"
#include "crypto/error.h"
#include "crypto/hmac_sha1.h"
#include "crypto/mgr.h"
#include "crypto/segment.h"
#include "crypto/tuple.h"

namespace tempo::crypto {

enum class AoAlgorithm : uint8_t {
  kHmacSha1_96,   // RFC 5926 §3.1.1.1 KDF_HMAC_SHA1, §3.2.1 HMAC-SHA-1-96
  kAes128Cmac96,  // RFC 5926 §3.1.1.2 KDF_AES_128_CMAC, §3.2.2 AES-128-CMAC-96
};

// RFC 5926 §3.2: both MACs are truncated to 96 bits.
inline constexpr size_t kAoMacBytes = 12;
using AoMac = std::array<std::byte, kAoMacBytes>;

// Master keys up to 80 bytes, as Linux's TCP_AO_MAXKEYLEN.
inline constexpr size_t kAoMaxMasterKeyBytes = 80;

// RFC 5925 §5.2: the KDF context, in this order, for the direction being keyed.
struct AoContext {
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t src_isn = 0;
  uint32_t dst_isn = 0;
};

// One traffic key, prepared for MACs (the HMAC pad states or the AES key schedule).
class AoTrafficKey {
 public:
  // RFC 5926 §3.1: Traffic_Key = KDF_alg(Master_Key, Context, Output_Length), one PRF block:
  // PRF(key, i=1 || "TCP-AO" || Context || L) with L = 160 (HMAC-SHA-1) or 128 (AES-CMAC).
  // For AES-CMAC a master key that is not 16 bytes is first reduced to
  // AES-CMAC(0^128, Master_Key) (RFC 5926 §3.1.1.2). master_key.size() <= kAoMaxMasterKeyBytes.
  static AoTrafficKey derive(const Mgr& mgr, AoAlgorithm alg, std::span<const std::byte> master_key,
                             const AoContext& ctx) noexcept;

  AoAlgorithm algorithm() const noexcept { return alg_; }
  // The derived key: 20 bytes for HMAC-SHA-1, 16 for AES-CMAC.
  std::span<const std::byte> bytes() const noexcept { return {raw_.data(), raw_len_}; }

  // The 96-bit MAC of msg under this key (RFC 5926 §3.2).
  void compute(const Mgr& mgr, std::span<const std::byte> msg, AoMac& out) const noexcept;

 private:
  AoTrafficKey(AoAlgorithm alg, const std::array<std::byte, 20>& raw, size_t raw_len,
               const Mgr& mgr) noexcept;

  AoAlgorithm alg_;
  std::array<std::byte, 20> raw_;
  size_t raw_len_;
  std::variant<HmacSha1, Aes128Cmac> prepared_;
};

// RFC 5925 §5.2: the four traffic keys of a connection, seen from the local end.
struct AoTrafficKeys {
  AoTrafficKey send_syn;       // local, remote, local ISN, 0
  AoTrafficKey receive_syn;    // remote, local, remote ISN, 0
  AoTrafficKey send_other;     // local, remote, local ISN, remote ISN
  AoTrafficKey receive_other;  // remote, local, remote ISN, local ISN
};

// The remote ISN is unknown (pass 0) until the SYN-ACK: then only send_syn is usable.
AoTrafficKeys ao_traffic_keys(const Mgr& mgr, AoAlgorithm alg,
                              std::span<const std::byte> master_key, const flow::Tuple& tuple,
                              uint32_t local_isn, uint32_t remote_isn) noexcept;

// RFC 5925 §5.1: MAC over the SNE (§6.2), the pseudo-header, the TCP header with a zero
// checksum and zero AO MAC field — its other options too unless the MKT excludes them
// (include_options false keeps only the AO option) — and the payload. The header must carry
// the AO option with a 12-byte MAC field (its content is ignored).
// Errors: kMalformedHeader, kNoOption, kBadOptionLength, kTooLong.
Result<AoMac, CryptoError> ao_mac(const Mgr& mgr, const AoTrafficKey& key, const SegmentRef& seg,
                                  uint32_t sne, bool include_options) noexcept;

// Recomputes the MAC and compares it (in constant time) with the one the AO option carries.
// Errors: kMalformedHeader, kNoOption, kBadOptionLength, kTooLong, kMismatch.
Result<void, CryptoError> ao_verify(const Mgr& mgr, const AoTrafficKey& key, const SegmentRef& seg,
                                    uint32_t sne, bool include_options) noexcept;

}  // namespace tempo::crypto
