#include "wire/mac_addr.h"

#include <cstdio>

namespace tempo::wire {
namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

Result<MacAddr, WireError> MacAddr::parse(std::string_view s) noexcept {
  // Exactly 17 characters: six 2-digit groups and five separators of one kind.
  if (s.size() != 17) {
    return fail(WireError::kBadAddress);
  }
  const char sep = s[2];
  if (sep != ':' && sep != '-') {
    return fail(WireError::kBadAddress);
  }
  std::array<uint8_t, kSize> b{};
  for (size_t i = 0; i < kSize; ++i) {
    const int hi = hex_digit(s[i * 3]);
    const int lo = hex_digit(s[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < kSize - 1 && s[i * 3 + 2] != sep)) {
      return fail(WireError::kBadAddress);
    }
    b[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return MacAddr(b);
}

std::string MacAddr::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes_[0], bytes_[1], bytes_[2],
                bytes_[3], bytes_[4], bytes_[5]);
  return std::string(buf);
}

}  // namespace tempo::wire
