// Test helper: bytes from a hex dump ("45 e0 00 4c ...", whitespace ignored).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/segment.h"

namespace tempo::crypto::test {

inline std::vector<std::byte> hex(std::string_view s) {
  std::vector<std::byte> out;
  int hi = -1;
  for (char c : s) {
    int v = -1;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    }
    if (v < 0) {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(std::byte(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

inline std::vector<std::byte> bytes(std::string_view s) {
  std::vector<std::byte> out;
  for (char c : s) {
    out.push_back(std::byte(c));
  }
  return out;
}

template <class A, class B>
bool same(const A& a, const B& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

// The TCP segment inside a raw IPv4 or IPv6 packet (no extension headers), viewing `pkt`.
inline SegmentRef segment_of(const std::vector<std::byte>& pkt) {
  SegmentRef seg;
  const auto b = [&](size_t i) { return static_cast<size_t>(pkt[i]); };
  size_t tcp_at = 0;
  size_t end = 0;
  if ((b(0) >> 4) == 4) {
    tcp_at = (b(0) & 0xf) * 4;
    end = b(2) << 8 | b(3);
    std::array<std::byte, 16> a{};
    std::copy(pkt.begin() + 12, pkt.begin() + 16, a.begin());
    seg.src.bytes = a;
    std::copy(pkt.begin() + 16, pkt.begin() + 20, a.begin());
    seg.dst.bytes = a;
  } else {
    tcp_at = 40;
    end = 40 + (b(4) << 8 | b(5));
    std::array<std::byte, 16> a{};
    std::copy(pkt.begin() + 8, pkt.begin() + 24, a.begin());
    seg.src = IpAddress::v6(a);
    std::copy(pkt.begin() + 24, pkt.begin() + 40, a.begin());
    seg.dst = IpAddress::v6(a);
  }
  const size_t doff = (b(tcp_at + 12) >> 4) * 4;
  const std::span<const std::byte> all(pkt);
  seg.tcp_header = all.subspan(tcp_at, doff);
  seg.payload = all.subspan(tcp_at + doff, end - tcp_at - doff);
  return seg;
}

}  // namespace tempo::crypto::test
