// SYN cookies, as Linux builds them (net/ipv4/syncookies.c), keyed by crypto::Prf.
//
// Under a SYN flood the listener keeps no state: the SYN-ACK's ISN *is* the state (RFC 4987
// §3.6). The cookie follows Linux's secure_tcp_syn_cookie() layout,
//   cookie = H0(tuple) + peer_isn + (count << 24) + low24
// with count a one-minute counter (its low 8 bits ride in the cookie). The returning ACK
// (ack - 1 = cookie, seq - 1 = peer_isn) proves the peer saw our SYN-ACK; we accept a count
// at most kCookieMaxAgeMinutes - 1 behind (Linux MAX_SYNCOOKIE_AGE = 2: a cookie lives between
// one and two minutes).
//
// When the SYN had timestamps, the options the cookie cannot hold ride in the low 6 bits of
// our TSval, echoed back in the ACK's TSecr (Linux cookie_init_timestamp()):
//   bit 5 ECN | bit 4 SACK-permitted | bits 3..0 window scale (0xf: no window scaling)
//
// Deviation from Linux, on purpose: Linux's low24 is (H1(tuple, count) + mss_index) mod 2^24,
// so a flipped low bit yields another valid MSS index, and the timestamp option bits are not
// authenticated at all. Ours is low24 = H1(tuple, count, ts_bits)[22 bits] << 2 | mss_index:
// a 22-bit MAC (Linux's forgery odds, 4 in 2^24) over the MSS index, the count and the
// echoed option bits, so any flipped bit is rejected. The price: an ACK must carry
// timestamps exactly when our SYN-ACK did (RFC 7323 §3.2 asks that of the peer anyway).
//
// Pure functions of (tuple, segment fields, now): no clock read, no state.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include <tempo/result.h>

#include "crypto/prf.h"
#include "crypto/tuple.h"
#include "tcp/ts_offset.h"
#include "time/ticks.h"

namespace tempo::tcp {

inline constexpr uint8_t kPrfTagCookie = 'S';

// Linux's MSS tables: the cookie carries an index (2 bits) into them, not the MSS.
inline constexpr std::array<uint16_t, 4> kCookieMssV4 = {536, 1300, 1440, 1460};
inline constexpr std::array<uint16_t, 4> kCookieMssV6 = {1280 - 60, 1480 - 60, 1500 - 60,
                                                         9000 - 60};

// What the SYN carried.
struct CookieSyn {
  uint32_t peer_isn = 0;          // the SYN's sequence number
  uint16_t mss = 536;             // its MSS option (RFC 9293 §3.7.1 default 536 if absent)
  std::optional<uint8_t> wscale;  // its window scale option, absent if none
  bool sack_ok = false;           // SACK-permitted
  bool ts_ok = false;             // timestamps
  bool ecn_ok = false;            // ECN setup SYN (RFC 3168 §6.1.1)
};

struct CookieSynAck {
  uint32_t isn = 0;    // our ISN for the SYN-ACK
  uint32_t tsval = 0;  // our TSval for the SYN-ACK; meaningful only if the SYN had timestamps
  uint16_t mss = 0;    // the MSS the cookie encodes (the table entry at or below the peer's)
};

// What the returning ACK carries.
struct CookieAck {
  uint32_t peer_isn = 0;          // SEG.SEQ - 1
  uint32_t cookie = 0;            // SEG.ACK - 1
  std::optional<uint32_t> tsecr;  // its TSecr, if it carried timestamps
};

// The connection the ACK lets us rebuild.
struct CookieConn {
  uint16_t mss = 0;
  std::optional<uint8_t> wscale;  // the peer's window scale, if the SYN offered scaling
  bool sack_ok = false;
  bool ts_ok = false;
  bool ecn_ok = false;
};

enum class CookieError : uint8_t {
  kExpired,  // the counter is kMaxAgeMinutes or more behind (or ahead): old, or forged
  kForged,   // the MAC does not match this tuple, peer ISN, MSS index and timestamp bits
};

namespace cookie_detail {

inline constexpr uint32_t kCountBits = 8;  // Linux COOKIEBITS = 24 for the hash part
inline constexpr uint32_t kHashBits = 32 - kCountBits;
inline constexpr uint32_t kHashMask = (uint32_t{1} << kHashBits) - 1;
inline constexpr uint32_t kTsBits = 6;  // Linux TSBITS
inline constexpr uint32_t kTsMask = (uint32_t{1} << kTsBits) - 1;
inline constexpr uint32_t kTsWscaleMask = 0xf;
inline constexpr uint32_t kTsSack = 1u << 4;
inline constexpr uint32_t kTsEcn = 1u << 5;
inline constexpr uint32_t kNoTs = 1u << 6;  // MAC input when the SYN had no timestamps
inline constexpr uint32_t kMssIndexBits = 2;
inline constexpr uint32_t kMssIndexMask = (uint32_t{1} << kMssIndexBits) - 1;
inline constexpr uint8_t kMaxWscale = 14;  // RFC 7323 §2.3

// Linux cookie_hash(saddr, daddr, sport, dport, count, c): c = 0 keys the additive part
// (the rest 0), c = 1 the MAC over count, the timestamp option bits and the MSS index.
inline uint32_t hash(const crypto::Prf& prf, const flow::Tuple& t, uint32_t count, uint8_t c,
                     uint32_t ts_bits, uint32_t mss_index) noexcept {
  std::array<std::byte, 2 + crypto::kTupleMaxBytes + 4 + 2> msg{};
  size_t at = crypto::put_be<uint8_t>(msg, 0, kPrfTagCookie);
  at = crypto::put_be<uint8_t>(msg, at, c);
  at = crypto::put_tuple(msg, at, t);
  at = crypto::put_be<uint32_t>(msg, at, count);
  at = crypto::put_be<uint8_t>(msg, at, static_cast<uint8_t>(ts_bits));
  at = crypto::put_be<uint8_t>(msg, at, static_cast<uint8_t>(mss_index));
  return static_cast<uint32_t>(prf.eval(std::span(msg).first(at)) >> 32);
}

// The low 24 bits: a 22-bit MAC, then the MSS index.
inline uint32_t low_bits(const crypto::Prf& prf, const flow::Tuple& t, uint32_t count,
                         uint32_t ts_bits, uint32_t mss_index) noexcept {
  return ((hash(prf, t, count, 1, ts_bits, mss_index) << kMssIndexBits) | mss_index) & kHashMask;
}

constexpr const std::array<uint16_t, 4>& mss_table(const flow::Tuple& t) noexcept {
  return t.v6 ? kCookieMssV6 : kCookieMssV4;
}

}  // namespace cookie_detail

// Linux tcp_cookie_time(): minutes. Cookies older than this many counts are rejected.
inline constexpr uint32_t kCookieMaxAgeMinutes = 2;

constexpr uint32_t cookie_count(Ticks now) noexcept {
  return static_cast<uint32_t>(now.us() / 60'000'000);
}

// Builds the SYN-ACK's ISN (and TSval, if the SYN had timestamps) for a SYN we keep no state for.
inline CookieSynAck cookie_encode(const crypto::Prf& prf, const flow::Tuple& t,
                                  const CookieSyn& syn, Ticks now) noexcept {
  using namespace cookie_detail;
  const auto& table = mss_table(t);
  // Linux __cookie_v4_init_sequence(): the largest table entry not above the peer's MSS.
  auto mss_index = static_cast<uint32_t>(table.size() - 1);
  while (mss_index > 0 && syn.mss < table[mss_index]) {
    --mss_index;
  }
  const uint32_t count = cookie_count(now);
  CookieSynAck out;
  out.mss = table[mss_index];
  uint32_t ts_bits = kNoTs;
  if (syn.ts_ok) {
    ts_bits = syn.wscale ? std::min<uint8_t>(*syn.wscale, kMaxWscale) : kTsWscaleMask;
    if (syn.sack_ok) {
      ts_bits |= kTsSack;
    }
    if (syn.ecn_ok) {
      ts_bits |= kTsEcn;
    }
    // Linux cookie_init_timestamp(): replace the clock's low bits by the options, stepping
    // back one period if that would put the TSval ahead of the clock (later TSvals must not
    // be smaller than this one).
    const uint32_t ts_now = ts_value(now, ts_offset(prf, t));
    uint32_t ts = (ts_now & ~kTsMask) | ts_bits;
    if ((ts_now & kTsMask) < ts_bits) {
      ts -= uint32_t{1} << kTsBits;
    }
    out.tsval = ts;
  }
  out.isn = hash(prf, t, 0, 0, 0, 0) + syn.peer_isn + (count << kHashBits) +
            low_bits(prf, t, count, ts_bits, mss_index);
  return out;
}

// Checks the cookie an ACK returns and recovers the connection's options.
// Errors: kExpired (count out of the window: old, from the future, or forged), kForged.
inline Result<CookieConn, CookieError> cookie_decode(const crypto::Prf& prf, const flow::Tuple& t,
                                                     const CookieAck& ack, Ticks now) noexcept {
  using namespace cookie_detail;
  const uint32_t count = cookie_count(now);
  // Linux check_tcp_syn_cookie(): strip the additive part; what remains is
  // (count << 24) + low24.
  const uint32_t c = ack.cookie - (hash(prf, t, 0, 0, 0, 0) + ack.peer_isn);
  const uint32_t diff = (count - (c >> kHashBits)) & ((uint32_t{1} << kCountBits) - 1);
  if (diff >= kCookieMaxAgeMinutes) {
    return fail(CookieError::kExpired);
  }
  const uint32_t mss_index = c & kMssIndexMask;
  const uint32_t ts_bits = ack.tsecr ? (*ack.tsecr & kTsMask) : kNoTs;
  if ((c & kHashMask) != low_bits(prf, t, count - diff, ts_bits, mss_index)) {
    return fail(CookieError::kForged);
  }
  const auto& table = mss_table(t);
  CookieConn conn;
  conn.mss = table[mss_index];
  if (ack.tsecr) {
    // Linux cookie_timestamp_decode(): the echoed TSval's low bits are the SYN's options.
    const uint32_t options = *ack.tsecr & kTsMask;
    conn.ts_ok = true;
    conn.sack_ok = (options & kTsSack) != 0;
    conn.ecn_ok = (options & kTsEcn) != 0;
    if ((options & kTsWscaleMask) != kTsWscaleMask) {
      conn.wscale = static_cast<uint8_t>(std::min<uint32_t>(options & kTsWscaleMask, kMaxWscale));
    }
  }
  return conn;
}

}  // namespace tempo::tcp
