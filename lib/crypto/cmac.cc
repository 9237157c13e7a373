#include "crypto/cmac.h"

#include <tempo/check.h>

#include "crypto/imb.h"

namespace tempo::crypto {

Aes128Cmac::Aes128Cmac(const Mgr& mgr, std::span<const std::byte, kKeyBytes> key) noexcept {
  alignas(16) std::array<std::byte, 11 * 16> dec_keys{};  // unused by CMAC, required by the API
  IMB_AES_KEYEXP_128(mgr.imb(), key.data(), round_keys_.data(), dec_keys.data());
  IMB_AES_CMAC_SUBKEY_GEN_128(mgr.imb(), round_keys_.data(), k1_.data(), k2_.data());
}

void Aes128Cmac::compute(const Mgr& mgr, std::span<const std::byte> msg,
                         std::span<std::byte> tag) const noexcept {
  TEMPO_CHECK(tag.size() >= 4 && tag.size() <= kTagBytes);
  IMB_JOB* job = detail::hash_job(mgr.imb(), IMB_AUTH_AES_CMAC, msg.data(), msg.size(), tag.data(),
                                  tag.size());
  job->u.CMAC._key_expanded = round_keys_.data();
  job->u.CMAC._skey1 = k1_.data();
  job->u.CMAC._skey2 = k2_.data();
  TEMPO_CHECK(detail::run(mgr.imb()));
}

}  // namespace tempo::crypto
