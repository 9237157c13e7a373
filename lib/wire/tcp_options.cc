#include "wire/tcp_options.h"

#include <algorithm>
#include <cstring>

#include "wire/bytes.h"

namespace tempo::wire {
namespace {

constexpr uint8_t kind(TcpOptionKind k) noexcept { return static_cast<uint8_t>(k); }
constexpr uint8_t kNop = kind(TcpOptionKind::kNop);

constexpr size_t kMd5Len = 20;      // NOP NOP kind len digest[16]
constexpr size_t kMssLen = 4;       // kind len mss
constexpr size_t kTsLen = 12;       // (SACK-permitted | NOP NOP) kind len tsval tsecr
constexpr size_t kSackPermLen = 4;  // NOP NOP kind len
constexpr size_t kWsLen = 4;        // NOP kind len shift
constexpr size_t kSackBase = 4;     // NOP NOP kind len, then 8 per block

size_t ao_len(const TcpOptions& o) noexcept { return (4u + o.ao_mac_len + 3u) & ~size_t{3}; }

size_t fixed_len(const TcpOptions& o) noexcept {
  size_t n = 0;
  n += o.has_md5 ? kMd5Len : 0;
  n += o.has_ao ? ao_len(o) : 0;
  n += o.has_mss ? kMssLen : 0;
  n += o.has_timestamps ? kTsLen : 0;
  n += (o.sack_permitted && !o.has_timestamps) ? kSackPermLen : 0;
  n += o.has_wscale ? kWsLen : 0;
  return n;
}

// What an option's parse step returns: nothing, or why the segment's options are refused.
using OptionResult = Result<void, WireError>;

// RFC 9293 §3.1: every option but EOL and NOP has a length octet counting kind and length, and
// an implementation MUST be prepared to handle an illegal option length such as zero (MUST-7).
// We report it and the caller drops the segment: a length below 2 has no sane next option.
// Returns the length of the option whose kind octet is options[i], checked to fit the area.
Result<size_t, WireError> option_length(std::span<const std::byte> options, size_t i) noexcept {
  if (i + 2 > options.size()) {
    return fail(WireError::kBadOptionLength);
  }
  const size_t len = detail::load8(&options[i + 1]);
  if (len < 2 || i + len > options.size()) {
    return fail(WireError::kBadOptionLength);
  }
  return len;
}

// RFC 9293 §3.7.1 MSS: length 4, a 16-bit segment size. `p` is the value after kind and length.
OptionResult parse_mss(TcpOptions& o, size_t len, const std::byte* p) noexcept {
  if (len != 4) {
    return fail(WireError::kBadOptionLength);
  }
  o.has_mss = true;
  o.mss = detail::load_be16(p);
  return {};
}

// RFC 7323 §2 window scale: length 3, the shift as received (clamped at use, not here).
OptionResult parse_wscale(TcpOptions& o, size_t len, const std::byte* p) noexcept {
  if (len != 3) {
    return fail(WireError::kBadOptionLength);
  }
  o.has_wscale = true;
  o.wscale = detail::load8(p);
  return {};
}

// RFC 2018 §2 SACK-permitted: length 2, no value.
OptionResult parse_sack_permitted(TcpOptions& o, size_t len) noexcept {
  if (len != 2) {
    return fail(WireError::kBadOptionLength);
  }
  o.sack_permitted = true;
  return {};
}

// RFC 2018 §3 SACK: 2 + 8n bytes; at most 4 blocks fit in 40 option bytes.
OptionResult parse_sack(TcpOptions& o, size_t len, const std::byte* p) noexcept {
  const size_t n = (len - 2) / 8;
  if (len < 10 || (len - 2) % 8 != 0 || n > TcpOptions::kMaxSackBlocks) {
    return fail(WireError::kBadOptionLength);
  }
  o.num_sack = static_cast<uint8_t>(n);
  for (size_t b = 0; b < n; ++b) {
    o.sack[b].left = detail::load_be32(p + b * 8);
    o.sack[b].right = detail::load_be32(p + b * 8 + 4);
  }
  return {};
}

// RFC 7323 §3 timestamps: length 10, TSval then TSecr.
OptionResult parse_timestamps(TcpOptions& o, size_t len, const std::byte* p) noexcept {
  if (len != 10) {
    return fail(WireError::kBadOptionLength);
  }
  o.has_timestamps = true;
  o.tsval = detail::load_be32(p);
  o.tsecr = detail::load_be32(p + 4);
  return {};
}

// RFC 2385 MD5 signature: length 18, a 16-byte digest, at most once. `at` is the offset of the
// option's kind octet in the options, for md5_offset.
OptionResult parse_md5(TcpOptions& o, size_t len, const std::byte* p, size_t at) noexcept {
  if (len != 18) {
    return fail(WireError::kBadOptionLength);
  }
  if (o.has_md5) {
    return fail(WireError::kDuplicateOption);
  }
  o.has_md5 = true;
  std::memcpy(o.md5.data(), p, o.md5.size());
  o.md5_offset = static_cast<uint8_t>(at + 2);
  return {};
}

// RFC 5925 §2.2: kind, length, KeyID, RNextKeyID, MAC. A MAC of zero bytes cannot
// authenticate anything. At most once; `at` is the offset of the kind octet, for ao_offset.
OptionResult parse_ao(TcpOptions& o, size_t len, const std::byte* p, size_t at) noexcept {
  if (len < 5 || len - 4 > TcpOptions::kMaxAoMac) {
    return fail(WireError::kBadOptionLength);
  }
  if (o.has_ao) {
    return fail(WireError::kDuplicateOption);
  }
  o.has_ao = true;
  o.ao_key_id = detail::load8(p);
  o.ao_rnext_key_id = detail::load8(p + 1);
  o.ao_mac_len = static_cast<uint8_t>(len - 4);
  std::memcpy(o.ao_mac.data(), p + 2, len - 4);
  o.ao_offset = static_cast<uint8_t>(at + 4);
  return {};
}

// One option of kind `k` and length `len` (both checked by option_length) whose kind octet is
// at offset `at` and whose value starts at `p`: into `o` by its kind's step.
OptionResult parse_option(TcpOptions& o, uint8_t k, size_t len, const std::byte* p,
                          size_t at) noexcept {
  switch (static_cast<TcpOptionKind>(k)) {
    case TcpOptionKind::kMss:
      return parse_mss(o, len, p);
    case TcpOptionKind::kWindowScale:
      return parse_wscale(o, len, p);
    case TcpOptionKind::kSackPermitted:
      return parse_sack_permitted(o, len);
    case TcpOptionKind::kSack:
      return parse_sack(o, len, p);
    case TcpOptionKind::kTimestamps:
      return parse_timestamps(o, len, p);
    case TcpOptionKind::kMd5:
      return parse_md5(o, len, p, at);
    case TcpOptionKind::kAuthentication:
      return parse_ao(o, len, p, at);
    case TcpOptionKind::kEnd:
    case TcpOptionKind::kNop:
      break;  // handled by parse_tcp_options
    default:
      break;  // RFC 9293 §3.1: unknown options are skipped by their length.
  }
  return {};
}

}  // namespace

Result<TcpOptions, WireError> parse_tcp_options(std::span<const std::byte> options) noexcept {
  TcpOptions o;
  size_t i = 0;
  while (i < options.size()) {
    const uint8_t k = detail::load8(&options[i]);
    if (k == kind(TcpOptionKind::kEnd)) {
      break;  // RFC 9293 §3.2: End of Option List; the rest is padding.
    }
    if (k == kNop) {
      ++i;
      continue;
    }
    const Result<size_t, WireError> len = option_length(options, i);
    if (!len) {
      return fail(len.error());
    }
    // Not &options[i + 2]: a two-byte option that ends the area puts that one past the end
    // (a bounds-checked span aborts on it; the Worker fuzzer found it).
    const std::byte* p = options.data() + i + 2;
    if (const OptionResult r = parse_option(o, k, *len, p, i); !r) {
      return fail(r.error());
    }
    i += *len;
  }
  return o;
}

size_t tcp_options_sack_blocks(const TcpOptions& opts) noexcept {
  const size_t used = fixed_len(opts);
  const size_t want = std::min<size_t>(opts.num_sack, TcpOptions::kMaxSackBlocks);
  if (want == 0 || used + kSackBase + 8 > kTcpMaxOptionsLen) {
    return 0;
  }
  return std::min(want, (kTcpMaxOptionsLen - used - kSackBase) / 8);
}

size_t tcp_options_length(const TcpOptions& opts) noexcept {
  const size_t sacks = tcp_options_sack_blocks(opts);
  return fixed_len(opts) + (sacks ? kSackBase + 8 * sacks : 0);
}

namespace {

// A cursor over option bytes the caller has already checked room for (tcp_options_length).
struct OptionWriter {
  std::byte* p;

  void put8(uint8_t v) noexcept {
    detail::store8(p, v);
    p += 1;
  }
  void put16(uint16_t v) noexcept {
    detail::store_be16(p, v);
    p += 2;
  }
  void put32(uint32_t v) noexcept {
    detail::store_be32(p, v);
    p += 4;
  }
  void put_bytes(const std::byte* src, size_t n) noexcept {
    std::memcpy(p, src, n);
    p += n;
  }
};

// RFC 2385: NOP NOP 19 18 digest, the digest as given (the caller signs in place).
void write_md5(OptionWriter& w, const TcpOptions& opts) noexcept {
  w.put8(kNop);
  w.put8(kNop);
  w.put8(kind(TcpOptionKind::kMd5));
  w.put8(18);
  w.put_bytes(opts.md5.data(), opts.md5.size());
}

// RFC 5925 §2.2: 29 len KeyID RNextKeyID MAC, NOP-padded to a multiple of 4 (ao_len).
void write_ao(OptionWriter& w, const TcpOptions& opts) noexcept {
  w.put8(kind(TcpOptionKind::kAuthentication));
  w.put8(static_cast<uint8_t>(4 + opts.ao_mac_len));
  w.put8(opts.ao_key_id);
  w.put8(opts.ao_rnext_key_id);
  w.put_bytes(opts.ao_mac.data(), opts.ao_mac_len);
  for (size_t pad = ao_len(opts) - 4 - opts.ao_mac_len; pad > 0; --pad) {
    w.put8(kNop);
  }
}

// RFC 9293 §3.7.1: 2 4 mss.
void write_mss(OptionWriter& w, const TcpOptions& opts) noexcept {
  w.put8(kind(TcpOptionKind::kMss));
  w.put8(4);
  w.put16(opts.mss);
}

// RFC 7323 §3: 8 10 TSval TSecr, behind SACK-permitted (RFC 2018 §2: 4 2) when that is on,
// else behind NOP NOP (Linux's layout: either way the timestamps are 4-byte aligned).
void write_timestamps(OptionWriter& w, const TcpOptions& opts) noexcept {
  if (opts.sack_permitted) {
    w.put8(kind(TcpOptionKind::kSackPermitted));
    w.put8(2);
  } else {
    w.put8(kNop);
    w.put8(kNop);
  }
  w.put8(kind(TcpOptionKind::kTimestamps));
  w.put8(10);
  w.put32(opts.tsval);
  w.put32(opts.tsecr);
}

// RFC 2018 §2 without timestamps to share a word with: NOP NOP 4 2.
void write_sack_permitted(OptionWriter& w) noexcept {
  w.put8(kNop);
  w.put8(kNop);
  w.put8(kind(TcpOptionKind::kSackPermitted));
  w.put8(2);
}

// RFC 7323 §2: NOP 3 3 shift.
void write_wscale(OptionWriter& w, const TcpOptions& opts) noexcept {
  w.put8(kNop);
  w.put8(kind(TcpOptionKind::kWindowScale));
  w.put8(3);
  w.put8(opts.wscale);
}

// RFC 2018 §3: NOP NOP 5 (2 + 8n), then the first n blocks (left, right).
void write_sack(OptionWriter& w, const TcpOptions& opts, size_t n) noexcept {
  w.put8(kNop);
  w.put8(kNop);
  w.put8(kind(TcpOptionKind::kSack));
  w.put8(static_cast<uint8_t>(2 + 8 * n));
  for (size_t b = 0; b < n; ++b) {
    w.put32(opts.sack[b].left);
    w.put32(opts.sack[b].right);
  }
}

}  // namespace

Result<size_t, WireError> write_tcp_options(std::span<std::byte> out,
                                            const TcpOptions& opts) noexcept {
  const size_t total = tcp_options_length(opts);
  if (total > kTcpMaxOptionsLen || (opts.has_ao && opts.ao_mac_len > TcpOptions::kMaxAoMac)) {
    return fail(WireError::kOptionsTooLong);
  }
  if (out.size() < total) {
    return fail(WireError::kNoSpace);
  }
  OptionWriter w{out.data()};
  if (opts.has_md5) {
    write_md5(w, opts);
  }
  if (opts.has_ao) {
    write_ao(w, opts);
  }
  if (opts.has_mss) {
    write_mss(w, opts);
  }
  if (opts.has_timestamps) {
    write_timestamps(w, opts);
  } else if (opts.sack_permitted) {
    write_sack_permitted(w);
  }
  if (opts.has_wscale) {
    write_wscale(w, opts);
  }
  if (const size_t n = tcp_options_sack_blocks(opts); n > 0) {
    write_sack(w, opts, n);
  }
  return static_cast<size_t>(w.p - out.data());
}

}  // namespace tempo::wire
