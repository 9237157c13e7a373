// next_hop(): the routing decision over one port (stack/interface.h), IPv4 and IPv6 alike:
// on-link first, then the longest matching route, then the gateway as the default route.
#include "stack/interface.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tempo::stack {
namespace {

// The first `len` bits of `a` and `b` are equal.
bool same_prefix(wire::Ipv4Addr a, wire::Ipv4Addr b, uint8_t len) noexcept {
  const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  return ((a.value() ^ b.value()) & mask) == 0;
}

bool same_prefix(const wire::Ipv6Addr& a, const wire::Ipv6Addr& b, uint8_t len) noexcept {
  const auto& x = a.bytes();
  const auto& y = b.bytes();
  const size_t whole = std::min<size_t>(len, 128) / 8;
  for (size_t i = 0; i < whole; ++i) {
    if (x[i] != y[i]) {
      return false;
    }
  }
  const unsigned rest = len % 8;
  if (rest == 0 || whole == x.size()) {
    return true;
  }
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return ((x[whole] ^ y[whole]) & mask) == 0;
}

// The route whose prefix holds `dst` with the most bits, or nullptr.
template <class Route, class Addr>
const Route* longest_match(const std::vector<Route>& routes, const Addr& dst) noexcept {
  const Route* best = nullptr;
  for (const Route& r : routes) {
    if (same_prefix(dst, r.prefix, r.len) && (best == nullptr || r.len > best->len)) {
      best = &r;
    }
  }
  return best;
}

}  // namespace

std::optional<wire::Ipv4Addr> next_hop(const Interface& iface, wire::Ipv4Addr dst) noexcept {
  if (same_prefix(dst, iface.ipv4, iface.ipv4_prefix)) {
    return dst;
  }
  if (const Interface::Route4* r = longest_match(iface.routes4, dst); r != nullptr) {
    return r->via;
  }
  return iface.gateway4;
}

std::optional<wire::Ipv6Addr> next_hop(const Interface& iface, const wire::Ipv6Addr& dst) noexcept {
  // RFC 4291 §2.5.2: the unspecified address is never a destination.
  if (dst.is_unspecified()) {
    return std::nullopt;
  }
  // RFC 4861 §5.2: a destination is on-link when it matches an on-link prefix (the port's),
  // and link-local addresses are always on-link (RFC 4291 §2.5.6).
  if (dst.is_link_local() || (iface.has_ipv6 && same_prefix(dst, iface.ipv6, iface.ipv6_prefix))) {
    return dst;
  }
  if (const Interface::Route6* r = longest_match(iface.routes6, dst); r != nullptr) {
    return r->via;
  }
  return iface.gateway6;
}

}  // namespace tempo::stack
