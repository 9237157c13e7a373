#include "crypto/mgr.h"

#include <new>
#include <utility>

#include "crypto/imb.h"

namespace tempo::crypto {

Result<Mgr, CryptoError> Mgr::create(MgrArch which) noexcept {
  IMB_MGR* m = alloc_mb_mgr(0);
  if (m == nullptr) {
    return fail(CryptoError::kOutOfMemory);
  }
  IMB_ARCH arch = IMB_ARCH_NONE;
  switch (which) {
    case MgrArch::kAuto:
      init_mb_mgr_auto(m, &arch);
      break;
    case MgrArch::kSse:
      init_mb_mgr_sse(m);
      arch = IMB_ARCH_SSE;
      break;
  }
  auto* scratch = new (std::nothrow) std::byte[kScratchBytes];
  if (scratch == nullptr) {
    free_mb_mgr(m);
    return fail(CryptoError::kOutOfMemory);
  }
  return Mgr(m, scratch, static_cast<int>(arch));
}

Mgr::Mgr(Mgr&& o) noexcept
    : mgr_(std::exchange(o.mgr_, nullptr)),
      scratch_(std::exchange(o.scratch_, nullptr)),
      arch_(o.arch_) {}

Mgr& Mgr::operator=(Mgr&& o) noexcept {
  if (this != &o) {
    reset();
    mgr_ = std::exchange(o.mgr_, nullptr);
    scratch_ = std::exchange(o.scratch_, nullptr);
    arch_ = o.arch_;
  }
  return *this;
}

Mgr::~Mgr() { reset(); }

void Mgr::reset() noexcept {
  if (mgr_ != nullptr) {
    free_mb_mgr(mgr_);
    mgr_ = nullptr;
  }
  delete[] scratch_;
  scratch_ = nullptr;
}

std::string_view Mgr::arch_name() const noexcept {
  switch (static_cast<IMB_ARCH>(arch_)) {
    case IMB_ARCH_NOAESNI:
      return "noaesni";
    case IMB_ARCH_SSE:
      return "sse";
    case IMB_ARCH_AVX:
      return "avx";
    case IMB_ARCH_AVX2:
      return "avx2";
    case IMB_ARCH_AVX512:
      return "avx512";
    case IMB_ARCH_NONE:
    case IMB_ARCH_NUM:
      break;
  }
  return "none";
}

}  // namespace tempo::crypto
