#include "wire/ipv6_addr.h"

#include <arpa/inet.h>

namespace tempo::wire {

// inet_pton/inet_ntop (POSIX) implement RFC 4291 §2.2 parsing and RFC 5952 output; we only
// copy into a NUL-terminated buffer first.
Result<Ipv6Addr, WireError> Ipv6Addr::parse(std::string_view s) noexcept {
  char buf[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof buf) {
    return fail(WireError::kBadAddress);
  }
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  Ipv6Addr a;
  if (inet_pton(AF_INET6, buf, a.bytes_.data()) != 1) {
    return fail(WireError::kBadAddress);
  }
  return a;
}

std::string Ipv6Addr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf) == nullptr) {
    return std::string("?");
  }
  return std::string(buf);
}

}  // namespace tempo::wire
