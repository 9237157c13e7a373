#include "crypto/tcp_md5.h"

#include <algorithm>

// OpenSSL 3.0 deprecates the low-level digest API; see tcp_md5.h for why we still use it.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>

namespace tempo::crypto {

namespace {
constexpr uint8_t kKindMd5 = 19;
constexpr size_t kMd5OptionBytes = 18;
}  // namespace

Result<Md5Digest, CryptoError> tcp_md5_sign(const SegmentRef& seg,
                                            std::span<const std::byte> key) noexcept {
  auto hdr_len = tcp_header_length(seg.tcp_header);
  if (!hdr_len) {
    return fail(hdr_len.error());
  }
  std::array<std::byte, 40> pseudo{};
  const size_t pseudo_len = write_pseudo_header(
      pseudo, seg.src, seg.dst, static_cast<uint32_t>(*hdr_len + seg.payload.size()));
  // RFC 2385 §2.0 (2): the fixed 20-byte header, checksum (bytes 16-17) taken as zero.
  std::array<std::byte, 20> fixed{};
  std::copy(seg.tcp_header.begin(), seg.tcp_header.begin() + 20, fixed.begin());
  fixed[16] = std::byte{0};
  fixed[17] = std::byte{0};

  MD5_CTX ctx;
  MD5_Init(&ctx);
  MD5_Update(&ctx, pseudo.data(), pseudo_len);
  MD5_Update(&ctx, fixed.data(), fixed.size());
  MD5_Update(&ctx, seg.payload.data(), seg.payload.size());
  MD5_Update(&ctx, key.data(), key.size());
  Md5Digest out{};
  if (MD5_Final(reinterpret_cast<unsigned char*>(out.data()), &ctx) != 1) {
    return fail(CryptoError::kLibraryFailed);
  }
  return out;
}

Result<void, CryptoError> tcp_md5_verify(const SegmentRef& seg,
                                         std::span<const std::byte> key) noexcept {
  auto hdr_len = tcp_header_length(seg.tcp_header);
  if (!hdr_len) {
    return fail(hdr_len.error());
  }
  auto opt = find_option(seg.tcp_header, *hdr_len, kKindMd5);
  if (!opt) {
    return fail(opt.error());
  }
  if (opt->length != kMd5OptionBytes) {
    return fail(CryptoError::kBadOptionLength);
  }
  auto digest = tcp_md5_sign(seg, key);
  if (!digest) {
    return fail(digest.error());
  }
  if (!equal_ct(*digest, seg.tcp_header.subspan(opt->offset + 2, 16))) {
    return fail(CryptoError::kMismatch);
  }
  return {};
}

}  // namespace tempo::crypto
