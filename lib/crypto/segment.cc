#include "crypto/segment.h"

namespace tempo::crypto {

Result<size_t, CryptoError> tcp_header_length(std::span<const std::byte> tcp_header) noexcept {
  if (tcp_header.size() < 20) {
    return fail(CryptoError::kMalformedHeader);
  }
  const size_t len = (static_cast<size_t>(tcp_header[12]) >> 4) * 4;
  if (len < 20 || len > tcp_header.size()) {
    return fail(CryptoError::kMalformedHeader);
  }
  return len;
}

Result<OptionSpan, CryptoError> find_option(std::span<const std::byte> tcp_header, size_t hdr_len,
                                            uint8_t kind) noexcept {
  size_t i = 20;
  while (i < hdr_len) {
    const auto k = static_cast<uint8_t>(tcp_header[i]);
    if (k == 0) {  // RFC 9293 §3.1: End of Option List
      break;
    }
    if (k == 1) {  // No-Operation
      ++i;
      continue;
    }
    if (i + 1 >= hdr_len) {
      return fail(CryptoError::kMalformedHeader);
    }
    const auto len = static_cast<size_t>(tcp_header[i + 1]);
    if (len < 2 || i + len > hdr_len) {
      return fail(CryptoError::kMalformedHeader);
    }
    if (k == kind) {
      return OptionSpan{i, len};
    }
    i += len;
  }
  return fail(CryptoError::kNoOption);
}

size_t write_pseudo_header(std::span<std::byte> out, const IpAddress& src, const IpAddress& dst,
                           uint32_t tcp_length) noexcept {
  constexpr uint8_t kProtoTcp = 6;
  size_t at = put_bytes(out, 0, src.view());
  at = put_bytes(out, at, dst.view());
  if (src.is_v6) {
    // RFC 8200 §8.1: Upper-Layer Packet Length (32 bits), 3 zero bytes, Next Header.
    at = put_be<uint32_t>(out, at, tcp_length);
    return put_be<uint32_t>(out, at, kProtoTcp);
  }
  // RFC 9293 §3.1: zero, PTCL, TCP Length (16 bits).
  at = put_be<uint8_t>(out, at, 0);
  at = put_be<uint8_t>(out, at, kProtoTcp);
  return put_be<uint16_t>(out, at, static_cast<uint16_t>(tcp_length));
}

bool equal_ct(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  std::byte diff{0};
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= a[i] ^ b[i];
  }
  return diff == std::byte{0};
}

}  // namespace tempo::crypto
