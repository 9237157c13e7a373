#include "config/address.h"

#include <arpa/inet.h>
#include <charconv>
#include <string>

namespace tempo::config::detail {
namespace {

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> pton(int family, std::string_view text) {
  // inet_pton needs a NUL-terminated string, and rejects what we want rejected: leading zeros
  // in IPv4 ("010.0.0.1"), missing octets, zone ids ("fe80::1%eth0").
  const std::string s(text);
  std::array<std::uint8_t, N> out{};
  if (text.find('\0') != std::string_view::npos || inet_pton(family, s.c_str(), out.data()) != 1) {
    return std::nullopt;
  }
  return out;
}

// Parses "addr/len" with len in [0, max_len]; sets bad_len for a good address with a bad len.
template <class Prefix, class Parse>
std::optional<Prefix> parse_prefix(std::string_view text, int max_len, bool& bad_len, Parse parse) {
  bad_len = false;
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  const auto addr = parse(text.substr(0, slash));
  if (!addr) {
    return std::nullopt;
  }
  const std::string_view len_text = text.substr(slash + 1);
  int len = -1;
  const char* end = len_text.data() + len_text.size();
  const auto [ptr, ec] = std::from_chars(len_text.data(), end, len);
  if (len_text.empty() || len_text.size() > 3 || ec != std::errc() || ptr != end || len < 0 ||
      len > max_len) {
    bad_len = true;
    return std::nullopt;
  }
  Prefix p;
  p.addr = *addr;
  p.len = static_cast<std::uint8_t>(len);
  return p;
}

template <std::size_t N>
void clear_host_bits(std::array<std::uint8_t, N>& bytes, unsigned len) {
  for (std::size_t i = 0; i < N; ++i) {
    const unsigned bit = static_cast<unsigned>(i) * 8;
    if (bit >= len) {
      bytes[i] = 0;
    } else if (bit + 8 > len) {
      bytes[i] = static_cast<std::uint8_t>(bytes[i] & (0xffu << (8 - (len - bit))));
    }
  }
}

}  // namespace

std::optional<Ipv4Addr> parse_ipv4(std::string_view text) {
  const auto b = pton<4>(AF_INET, text);
  if (!b) {
    return std::nullopt;
  }
  return Ipv4Addr{*b};
}

std::optional<Ipv6Addr> parse_ipv6(std::string_view text) {
  const auto b = pton<16>(AF_INET6, text);
  if (!b) {
    return std::nullopt;
  }
  return Ipv6Addr{*b};
}

std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text, bool& bad_len) {
  return parse_prefix<Ipv4Prefix>(text, 32, bad_len, parse_ipv4);
}

std::optional<Ipv6Prefix> parse_ipv6_prefix(std::string_view text, bool& bad_len) {
  return parse_prefix<Ipv6Prefix>(text, 128, bad_len, parse_ipv6);
}

std::optional<Ipv4Endpoint> parse_ipv4_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const auto addr = parse_ipv4(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const char* end = port_text.data() + port_text.size();
  const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (!addr || port_text.empty() || ec != std::errc() || ptr != end || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return Ipv4Endpoint{*addr, static_cast<std::uint16_t>(port)};
}

Ipv4Prefix network_of(const Ipv4Prefix& p) {
  Ipv4Prefix n = p;
  clear_host_bits(n.addr.bytes, p.len);
  return n;
}

Ipv6Prefix network_of(const Ipv6Prefix& p) {
  Ipv6Prefix n = p;
  clear_host_bits(n.addr.bytes, p.len);
  return n;
}

}  // namespace tempo::config::detail

namespace tempo::config {
namespace {

std::string ntop(int family, const void* bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes, buf, sizeof buf);
  return buf;
}

}  // namespace

std::string to_string(const Ipv4Addr& a) { return ntop(AF_INET, a.bytes.data()); }

std::string to_string(const Ipv6Addr& a) { return ntop(AF_INET6, a.bytes.data()); }

std::string to_string(const Ipv4Prefix& p) {
  return to_string(p.addr) + "/" + std::to_string(p.len);
}

std::string to_string(const Ipv6Prefix& p) {
  return to_string(p.addr) + "/" + std::to_string(p.len);
}

std::string to_string(const Ipv4Endpoint& e) {
  return to_string(e.addr) + ":" + std::to_string(e.port);
}

}  // namespace tempo::config
