// Internal: the one place that includes intel-ipsec-mb.h, and the single-job helper.
//
// Included only by lib/crypto's .cc files. intel-ipsec-mb.h 1.3 defines short compatibility
// macros (MD5, SHA1, AES_CMAC ...) that collide with OpenSSL and with ordinary names;
// NO_COMPAT_IMB_API_053 turns them off, and keeping the header out of our public headers keeps
// them out of every other translation unit.
#pragma once

#ifndef NO_COMPAT_IMB_API_053
#define NO_COMPAT_IMB_API_053
#endif
#include <cstddef>
#include <cstdint>

#include <intel-ipsec-mb.h>

namespace tempo::crypto::detail {

// Prepares a job slot with every cipher field neutral (NULL cipher, hash only); the caller sets
// the hash fields. Slots are recycled by IPsec-MB with stale fields, so all are written.
inline IMB_JOB* hash_job(IMB_MGR* m, IMB_HASH_ALG alg, const std::byte* src, size_t len,
                         std::byte* tag, size_t tag_len) noexcept {
  // IPsec-MB rejects a null source even for an empty message (an empty std::span has one).
  static constexpr std::byte kEmpty[1] = {};
  if (src == nullptr) {
    src = kEmpty;
  }
  IMB_JOB* job = IMB_GET_NEXT_JOB(m);
  job->enc_keys = nullptr;
  job->dec_keys = nullptr;
  job->key_len_in_bytes = 0;
  job->src = reinterpret_cast<const uint8_t*>(src);
  job->dst = nullptr;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = 0;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = len;
  job->iv = nullptr;
  job->iv_len_in_bytes = 0;
  job->auth_tag_output = reinterpret_cast<uint8_t*>(tag);
  job->auth_tag_output_len_in_bytes = tag_len;
  job->cipher_mode = IMB_CIPHER_NULL;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_HASH_CIPHER;
  job->hash_alg = alg;
  job->user_data = nullptr;
  job->user_data2 = nullptr;
  return job;
}

// Submits the job prepared by hash_job() and waits for it. tempo keeps at most one job in
// flight per manager (the callers need the tag before they go on), so if the submit queued the
// job in a multi-buffer lane, one flush completes it. Returns false if IPsec-MB rejected it
// (invalid arguments: a bug in lib/crypto, so callers TEMPO_CHECK the result).
inline bool run(IMB_MGR* m) noexcept {
  IMB_JOB* job = IMB_SUBMIT_JOB(m);
  if (job == nullptr) {
    job = IMB_FLUSH_JOB(m);
  }
  return job != nullptr && job->status == IMB_STATUS_COMPLETED;
}

}  // namespace tempo::crypto::detail
