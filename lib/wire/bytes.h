// Internal: big-endian loads and stores on unaligned bytes (STYLE.md 4: memcpy then swap,
// never a cast to a packed struct). Callers have bounds-checked the span already.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tempo::wire::detail {

constexpr uint16_t be16(uint16_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    return __builtin_bswap16(v);
  } else {
    return v;
  }
}
constexpr uint32_t be32(uint32_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    return __builtin_bswap32(v);
  } else {
    return v;
  }
}

inline uint8_t load8(const std::byte* p) noexcept { return static_cast<uint8_t>(*p); }
inline uint16_t load_be16(const std::byte* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return be16(v);
}
inline uint32_t load_be32(const std::byte* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return be32(v);
}
inline void store8(std::byte* p, uint8_t v) noexcept { *p = static_cast<std::byte>(v); }
inline void store_be16(std::byte* p, uint16_t v) noexcept {
  v = be16(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be32(std::byte* p, uint32_t v) noexcept {
  v = be32(v);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace tempo::wire::detail
