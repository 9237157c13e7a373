// TCP options as a fixed, allocation-free struct (STYLE.md 4), parsed from and written to the
// option bytes of a TCP header. Shared by lib/wire (parse/build) and lib/tcp (the protocol core).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/result.h>

#include "wire/error.h"

namespace tempo::wire {

// RFC 9293 §3.1 and the IANA TCP option kinds tempo understands.
enum class TcpOptionKind : uint8_t {
  kEnd = 0,
  kNop = 1,
  kMss = 2,             // RFC 9293 §3.7.1, length 4
  kWindowScale = 3,     // RFC 7323 §2, length 3
  kSackPermitted = 4,   // RFC 2018 §2, length 2
  kSack = 5,            // RFC 2018 §3, length 2 + 8n
  kTimestamps = 8,      // RFC 7323 §3, length 10
  kMd5 = 19,            // RFC 2385, length 18
  kAuthentication = 29  // RFC 5925 (TCP-AO), length 4 + MAC
};

struct SackBlock {
  uint32_t left = 0;   // first sequence number of the block
  uint32_t right = 0;  // sequence number just past the block
};

struct TcpOptions {
  static constexpr size_t kMaxSackBlocks = 4;  // RFC 2018 §3: at most 4 fit in 40 bytes
  static constexpr size_t kMaxAoMac = 32;

  bool has_mss = false;
  bool has_wscale = false;
  bool sack_permitted = false;
  bool has_timestamps = false;
  bool has_md5 = false;
  bool has_ao = false;
  uint8_t wscale = 0;  // as received; RFC 7323 §2.3 clamps > 14 at use, not at parse
  uint8_t num_sack = 0;
  uint16_t mss = 0;
  uint32_t tsval = 0;
  uint32_t tsecr = 0;
  std::array<SackBlock, kMaxSackBlocks> sack{};
  std::array<std::byte, 16> md5{};  // the digest as carried
  uint8_t ao_key_id = 0;            // RFC 5925 §2.2 KeyID
  uint8_t ao_rnext_key_id = 0;      // RFC 5925 §2.2 RNextKeyID
  uint8_t ao_mac_len = 0;
  std::array<std::byte, kMaxAoMac> ao_mac{};
  uint8_t md5_offset = 0;  // byte offset of the MD5 digest within the options (for signing)
  uint8_t ao_offset = 0;   // byte offset of the AO MAC within the options (for signing)
};

// The most option bytes a TCP header holds (data offset 15 words minus the 5 fixed ones).
inline constexpr size_t kTcpMaxOptionsLen = 40;
// In the layout write_tcp_options produces, the MD5 digest (RFC 2385) or the TCP-AO MAC
// (RFC 5925 §2.2) starts at this offset of the options: they come first, as in Linux.
inline constexpr size_t kTcpSignatureOffset = 4;

// Parses the option bytes of a TCP header (TcpView::options()). RFC 9293 §3.1 and §3.2: EOL ends
// the list; NOP is skipped; every other kind has a length byte covering kind and length.
// Unknown kinds are skipped by their length. Fails with:
//   kBadOptionLength  length byte missing, 0 or 1, running past the end, or not the length the
//                     kind allows (MSS 4, WS 3, SACK-permitted 2, SACK 2+8n with 1<=n<=4,
//                     timestamps 10, MD5 18, TCP-AO 4+MAC with MAC <= 32);
//   kDuplicateOption  MD5 or TCP-AO appears twice (a signature must be unambiguous).
// Any other option that appears twice takes its last value, as Linux's tcp_parse_options does:
// peers that repeat an option in a SYN are accepted where Linux accepts them.
// md5_offset/ao_offset in the result are where the digest/MAC sits in `options`.
Result<TcpOptions, WireError> parse_tcp_options(std::span<const std::byte> options) noexcept;

// How many of opts.num_sack SACK blocks write_tcp_options writes: as many as fit in 40 bytes
// beside the other options (RFC 2018 §3, as Linux trims them), newest first.
size_t tcp_options_sack_blocks(const TcpOptions& opts) noexcept;

// Bytes write_tcp_options writes: a multiple of 4, and above 40 only when the non-SACK
// options alone exceed 40 (write_tcp_options then fails).
size_t tcp_options_length(const TcpOptions& opts) noexcept;

// Writes the options in Linux's layout (tcp_options_write): MD5 (NOP NOP 19 18 digest) or
// TCP-AO (29 len keyid rnext MAC, NOP-padded), MSS, timestamps (with SACK-permitted packed in
// front of them: 4 2 8 10, else NOP NOP 8 10), SACK-permitted alone (NOP NOP 4 2), window scale
// (NOP 3 3 ws), SACK blocks (NOP NOP 5 len ...). The md5/ao_mac bytes are copied as given (the
// caller signs the finished segment in place at kTcpSignatureOffset). Errors: kOptionsTooLong,
// kNoSpace.
Result<size_t, WireError> write_tcp_options(std::span<std::byte> out,
                                            const TcpOptions& opts) noexcept;

}  // namespace tempo::wire
