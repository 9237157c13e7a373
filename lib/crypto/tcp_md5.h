// TCP-MD5 signatures (RFC 2385), the BGP-era segment authentication Linux calls TCP_MD5SIG.
//
// RFC 2385 §2.0: the digest is MD5 over, in order, the TCP pseudo-header (source and destination
// address, zero-padded protocol, segment length), the TCP header without options and with a zero
// checksum, the segment data, and the key. IPv6 uses its own pseudo-header (RFC 8200 §8.1), as
// Linux does. The digest is OpenSSL's plain MD5 (IPsec-MB 1.3 has only HMAC-MD5); we use the
// MD5_Init/Update/Final API, deprecated in OpenSSL 3.0 but allocation-free, because 3.0's EVP
// allocates a provider context on every EVP_DigestInit (measured: one malloc per digest).
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include <tempo/result.h>

#include "crypto/error.h"
#include "crypto/segment.h"

namespace tempo::crypto {

using Md5Digest = std::array<std::byte, 16>;

// RFC 2385 §3.0: key length is implementation-defined; Linux allows 80 bytes
// (TCP_MD5SIG_MAXKEYLEN).
inline constexpr size_t kTcpMd5MaxKeyBytes = 80;

// The signature of `seg` under `key`. The MD5 option's own bytes are not covered (options are
// excluded), so the header may carry it already, zeroed or not.
// Errors: kMalformedHeader.
Result<Md5Digest, CryptoError> tcp_md5_sign(const SegmentRef& seg,
                                            std::span<const std::byte> key) noexcept;

// Checks the signature carried in the segment's MD5 option (kind 19, length 18).
// Errors: kMalformedHeader, kNoOption, kBadOptionLength, kMismatch.
Result<void, CryptoError> tcp_md5_verify(const SegmentRef& seg,
                                         std::span<const std::byte> key) noexcept;

}  // namespace tempo::crypto
