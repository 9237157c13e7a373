// tempo::crypto::CryptoError: why a crypto operation failed (STYLE.md 5).
//
// Startup calls (Mgr::create, random_key, TcpMd5::create) return the allocation and entropy
// errors; datapath calls return only the segment-shaped ones (kMalformedHeader, kNoOption,
// kTooLong, kMismatch). Each public function lists the codes it returns.
#pragma once

#include <cstdint>
#include <string_view>

namespace tempo::crypto {

enum class CryptoError : uint8_t {
  kOutOfMemory,      // alloc_mb_mgr(), the scratch buffer or an OpenSSL context failed (startup)
  kNoEntropy,        // getrandom(2) failed or returned short (startup)
  kLibraryFailed,    // OpenSSL's digest returned an error
  kMalformedHeader,  // TCP header bytes: data offset < 5, beyond the buffer, or a bad option length
  kNoOption,         // the TCP-MD5 (kind 19) or TCP-AO (kind 29) option is absent
  kBadOptionLength,  // the MD5 option is not 18 bytes, or the AO MAC length is not the algorithm's
  kTooLong,          // the segment does not fit the manager's scratch buffer (Mgr::kScratchBytes)
  kMismatch,         // the received signature or MAC differs from the computed one
};

constexpr std::string_view to_string(CryptoError e) noexcept {
  switch (e) {
    case CryptoError::kOutOfMemory:
      return "out of memory";
    case CryptoError::kNoEntropy:
      return "getrandom failed";
    case CryptoError::kLibraryFailed:
      return "crypto library failed";
    case CryptoError::kMalformedHeader:
      return "malformed TCP header";
    case CryptoError::kNoOption:
      return "authentication option absent";
    case CryptoError::kBadOptionLength:
      return "bad authentication option length";
    case CryptoError::kTooLong:
      return "segment too long";
    case CryptoError::kMismatch:
      return "signature mismatch";
  }
  return "unknown";
}

}  // namespace tempo::crypto
