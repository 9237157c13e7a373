#include "crypto/hmac_sha1.h"

#include <algorithm>

#include <tempo/check.h>

#include "crypto/imb.h"

namespace tempo::crypto {

HmacSha1::HmacSha1(const Mgr& mgr, std::span<const std::byte> key) noexcept {
  // RFC 2104 §2: K is zero-padded to the block size; a longer K is replaced by H(K) first.
  alignas(16) std::array<std::byte, kBlockBytes> k{};
  if (key.size() > kBlockBytes) {
    IMB_SHA1(mgr.imb(), key.data(), key.size(), k.data());
  } else {
    std::copy(key.begin(), key.end(), k.begin());
  }
  alignas(16) std::array<std::byte, kBlockBytes> pad{};
  for (size_t i = 0; i < kBlockBytes; ++i) {
    pad[i] = k[i] ^ std::byte{0x36};
  }
  // One compression from the SHA-1 initial state, no padding: the state HMAC resumes from.
  IMB_SHA1_ONE_BLOCK(mgr.imb(), pad.data(), ipad_state_.data());
  for (size_t i = 0; i < kBlockBytes; ++i) {
    pad[i] = k[i] ^ std::byte{0x5c};
  }
  IMB_SHA1_ONE_BLOCK(mgr.imb(), pad.data(), opad_state_.data());
}

void HmacSha1::compute(const Mgr& mgr, std::span<const std::byte> msg,
                       std::span<std::byte> tag) const noexcept {
  TEMPO_CHECK(tag.size() == 12 || tag.size() == kDigestBytes);
  IMB_JOB* job = detail::hash_job(mgr.imb(), IMB_AUTH_HMAC_SHA_1, msg.data(), msg.size(),
                                  tag.data(), tag.size());
  job->u.HMAC._hashed_auth_key_xor_ipad = reinterpret_cast<const uint8_t*>(ipad_state_.data());
  job->u.HMAC._hashed_auth_key_xor_opad = reinterpret_cast<const uint8_t*>(opad_state_.data());
  TEMPO_CHECK(detail::run(mgr.imb()));
}

}  // namespace tempo::crypto
