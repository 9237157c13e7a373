#include "crypto/prf.h"

namespace tempo::crypto {

std::array<std::byte, 16> Prf::eval128(std::span<const std::byte> msg) const noexcept {
  std::array<std::byte, 16> out{};
  cmac_.compute(*mgr_, msg, out);
  return out;
}

uint64_t Prf::eval(std::span<const std::byte> msg) const noexcept {
  const auto out = eval128(msg);
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint64_t>(out[i]);
  }
  return v;
}

}  // namespace tempo::crypto
