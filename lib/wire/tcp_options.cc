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
    // RFC 9293 §3.1: every other option has a length octet counting kind and length, and an
    // implementation MUST be prepared to handle an illegal option length such as zero (MUST-7).
    // We report it and the caller drops the segment: a length below 2 has no sane next option.
    if (i + 2 > options.size()) {
      return fail(WireError::kBadOptionLength);
    }
    const size_t len = detail::load8(&options[i + 1]);
    if (len < 2 || i + len > options.size()) {
      return fail(WireError::kBadOptionLength);
    }
    // Not &options[i + 2]: a two-byte option that ends the area puts that one past the end
    // (a bounds-checked span aborts on it; the Worker fuzzer found it).
    const std::byte* p = options.data() + i + 2;
    switch (static_cast<TcpOptionKind>(k)) {
      case TcpOptionKind::kMss:
        if (len != 4) {
          return fail(WireError::kBadOptionLength);
        }
        o.has_mss = true;
        o.mss = detail::load_be16(p);
        break;
      case TcpOptionKind::kWindowScale:
        if (len != 3) {
          return fail(WireError::kBadOptionLength);
        }
        o.has_wscale = true;
        o.wscale = detail::load8(p);
        break;
      case TcpOptionKind::kSackPermitted:
        if (len != 2) {
          return fail(WireError::kBadOptionLength);
        }
        o.sack_permitted = true;
        break;
      case TcpOptionKind::kSack: {
        // RFC 2018 §3: 2 + 8n bytes; at most 4 blocks fit in 40 option bytes.
        const size_t n = (len - 2) / 8;
        if (len < 10 || (len - 2) % 8 != 0 || n > TcpOptions::kMaxSackBlocks) {
          return fail(WireError::kBadOptionLength);
        }
        o.num_sack = static_cast<uint8_t>(n);
        for (size_t b = 0; b < n; ++b) {
          o.sack[b].left = detail::load_be32(p + b * 8);
          o.sack[b].right = detail::load_be32(p + b * 8 + 4);
        }
        break;
      }
      case TcpOptionKind::kTimestamps:
        if (len != 10) {
          return fail(WireError::kBadOptionLength);
        }
        o.has_timestamps = true;
        o.tsval = detail::load_be32(p);
        o.tsecr = detail::load_be32(p + 4);
        break;
      case TcpOptionKind::kMd5:
        if (len != 18) {
          return fail(WireError::kBadOptionLength);
        }
        if (o.has_md5) {
          return fail(WireError::kDuplicateOption);
        }
        o.has_md5 = true;
        std::memcpy(o.md5.data(), p, o.md5.size());
        o.md5_offset = static_cast<uint8_t>(i + 2);
        break;
      case TcpOptionKind::kAuthentication: {
        // RFC 5925 §2.2: kind, length, KeyID, RNextKeyID, MAC. A MAC of zero bytes cannot
        // authenticate anything.
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
        o.ao_offset = static_cast<uint8_t>(i + 4);
        break;
      }
      case TcpOptionKind::kEnd:
      case TcpOptionKind::kNop:
        break;  // handled above
      default:
        break;  // RFC 9293 §3.1: unknown options are skipped by their length.
    }
    i += len;
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

Result<size_t, WireError> write_tcp_options(std::span<std::byte> out,
                                            const TcpOptions& opts) noexcept {
  const size_t total = tcp_options_length(opts);
  if (total > kTcpMaxOptionsLen || (opts.has_ao && opts.ao_mac_len > TcpOptions::kMaxAoMac)) {
    return fail(WireError::kOptionsTooLong);
  }
  if (out.size() < total) {
    return fail(WireError::kNoSpace);
  }
  std::byte* p = out.data();
  auto put8 = [&p](uint8_t v) {
    detail::store8(p, v);
    p += 1;
  };
  auto put16 = [&p](uint16_t v) {
    detail::store_be16(p, v);
    p += 2;
  };
  auto put32 = [&p](uint32_t v) {
    detail::store_be32(p, v);
    p += 4;
  };
  if (opts.has_md5) {
    put8(kNop);
    put8(kNop);
    put8(kind(TcpOptionKind::kMd5));
    put8(18);
    std::memcpy(p, opts.md5.data(), opts.md5.size());
    p += opts.md5.size();
  }
  if (opts.has_ao) {
    put8(kind(TcpOptionKind::kAuthentication));
    put8(static_cast<uint8_t>(4 + opts.ao_mac_len));
    put8(opts.ao_key_id);
    put8(opts.ao_rnext_key_id);
    std::memcpy(p, opts.ao_mac.data(), opts.ao_mac_len);
    p += opts.ao_mac_len;
    for (size_t pad = ao_len(opts) - 4 - opts.ao_mac_len; pad > 0; --pad) {
      put8(kNop);
    }
  }
  if (opts.has_mss) {
    put8(kind(TcpOptionKind::kMss));
    put8(4);
    put16(opts.mss);
  }
  if (opts.has_timestamps) {
    if (opts.sack_permitted) {
      put8(kind(TcpOptionKind::kSackPermitted));
      put8(2);
    } else {
      put8(kNop);
      put8(kNop);
    }
    put8(kind(TcpOptionKind::kTimestamps));
    put8(10);
    put32(opts.tsval);
    put32(opts.tsecr);
  } else if (opts.sack_permitted) {
    put8(kNop);
    put8(kNop);
    put8(kind(TcpOptionKind::kSackPermitted));
    put8(2);
  }
  if (opts.has_wscale) {
    put8(kNop);
    put8(kind(TcpOptionKind::kWindowScale));
    put8(3);
    put8(opts.wscale);
  }
  if (const size_t n = tcp_options_sack_blocks(opts); n > 0) {
    put8(kNop);
    put8(kNop);
    put8(kind(TcpOptionKind::kSack));
    put8(static_cast<uint8_t>(2 + 8 * n));
    for (size_t b = 0; b < n; ++b) {
      put32(opts.sack[b].left);
      put32(opts.sack[b].right);
    }
  }
  return static_cast<size_t>(p - out.data());
}

}  // namespace tempo::wire
