// Text to address: IPv4/IPv6 addresses, prefixes and endpoints as the configuration writes
// them, parsed with inet_pton (no dependency on lib/wire). Internal to lib/config.
#pragma once

#include <optional>
#include <string_view>

#include <tempo/config.h>

namespace tempo::config::detail {

std::optional<Ipv4Addr> parse_ipv4(std::string_view text);
std::optional<Ipv6Addr> parse_ipv6(std::string_view text);

// "addr/len". Returns nullopt for a malformed address; a syntactically valid address with a
// length outside [0, 32] (or [0, 128]) sets `bad_len` and returns nullopt.
std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text, bool& bad_len);
std::optional<Ipv6Prefix> parse_ipv6_prefix(std::string_view text, bool& bad_len);

// "198.18.0.1:8000", port 1..65535.
std::optional<Ipv4Endpoint> parse_ipv4_endpoint(std::string_view text);

// The prefix with its host bits cleared.
Ipv4Prefix network_of(const Ipv4Prefix& p);
Ipv6Prefix network_of(const Ipv6Prefix& p);

}  // namespace tempo::config::detail
