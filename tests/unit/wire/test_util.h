// Helpers shared by the wire tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

namespace tempo::wire::testing {

inline std::vector<std::byte> to_vec(std::span<const std::byte> s) {
  return std::vector<std::byte>(s.begin(), s.end());
}

inline std::vector<std::byte> bytes_of(std::initializer_list<uint8_t> l) {
  std::vector<std::byte> v;
  for (uint8_t b : l) {
    v.push_back(static_cast<std::byte>(b));
  }
  return v;
}

inline std::span<const std::byte> as_span(const std::vector<std::byte>& v) {
  return std::span<const std::byte>(v.data(), v.size());
}

}  // namespace tempo::wire::testing
