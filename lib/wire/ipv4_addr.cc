#include "wire/ipv4_addr.h"

#include <cstdio>

namespace tempo::wire {

Result<Ipv4Addr, WireError> Ipv4Addr::parse(std::string_view s) noexcept {
  uint32_t value = 0;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') {
        return fail(WireError::kBadAddress);
      }
      ++i;
    }
    const size_t start = i;
    uint32_t octet = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      octet = octet * 10 + static_cast<uint32_t>(s[i] - '0');
      ++i;
    }
    const size_t digits = i - start;
    if (digits == 0 || octet > 255 || (digits > 1 && s[start] == '0')) {
      return fail(WireError::kBadAddress);
    }
    value = value << 8 | octet;
  }
  if (i != s.size()) {
    return fail(WireError::kBadAddress);
  }
  return Ipv4Addr(value);
}

std::string Ipv4Addr::to_string() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", value_ >> 24, (value_ >> 16) & 0xff,
                (value_ >> 8) & 0xff, value_ & 0xff);
  return std::string(buf);
}

}  // namespace tempo::wire
