// tempo::crypto::Mgr: one Intel IPsec-MB manager (IMB_MGR) per core, owned RAII.
//
// An IMB_MGR holds the out-of-order job queues of the multi-buffer engine; it is not thread
// safe, so each Worker creates its own at startup and never shares it (DESIGN.md principle 1).
// init_mb_mgr_auto() picks the best code path for the CPU (SSE/AVX/AVX2/AVX-512, with AES-NI
// and SHA-NI where present). The manager also owns a scratch buffer big enough for one whole
// TCP segment, where TCP-AO lays out its MAC input (IPsec-MB's HMAC and CMAC need it contiguous).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <tempo/result.h>

#include "crypto/error.h"

struct IMB_MGR;  // intel-ipsec-mb.h, kept out of public headers (see crypto/imb.h)

namespace tempo::crypto {

// Which IPsec-MB code path a manager uses. kAuto is init_mb_mgr_auto(): the widest the CPU
// has. kSse forces the SSE path (still with AES-NI and SHA-NI): with one job in flight its
// fewer lanes flush sooner, and on an AMD EPYC (avx2) it measured ~1.5x faster for a 36-byte
// CMAC and ~3x for HMAC-SHA-1 (perf/micro/crypto/prf_bench.cc).
enum class MgrArch : uint8_t { kAuto, kSse };

class Mgr {
 public:
  // SNE (4) + IPv6 pseudo-header (40) + TCP header (60) + the largest TCP payload (65535).
  static constexpr size_t kScratchBytes = 4 + 40 + 60 + 65535;

  // Allocates and initialises the manager and its scratch buffer. Startup only.
  // Errors: kOutOfMemory.
  static Result<Mgr, CryptoError> create(MgrArch arch = MgrArch::kAuto) noexcept;

  Mgr(Mgr&& o) noexcept;
  Mgr& operator=(Mgr&& o) noexcept;
  Mgr(const Mgr&) = delete;
  Mgr& operator=(const Mgr&) = delete;
  ~Mgr();

  IMB_MGR* imb() const noexcept { return mgr_; }
  std::span<std::byte> scratch() const noexcept { return {scratch_, kScratchBytes}; }
  // The code path init_mb_mgr_auto() chose: "sse", "avx", "avx2", "avx512" or "none".
  std::string_view arch_name() const noexcept;

 private:
  Mgr(IMB_MGR* m, std::byte* scratch, int arch) noexcept
      : mgr_(m), scratch_(scratch), arch_(arch) {}
  void reset() noexcept;

  IMB_MGR* mgr_ = nullptr;
  std::byte* scratch_ = nullptr;
  int arch_ = 0;
};

}  // namespace tempo::crypto
