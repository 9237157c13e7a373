// SYN cookies (lib/tcp/syncookie.h): round trips for every MSS index and option combination,
// and rejection of flipped bits, wrong tuples, wrong peer ISNs and expired counters.
#include "tcp/syncookie.h"

#include <gtest/gtest.h>

#include "crypto/mgr.h"
#include "crypto/prf.h"
#include "tcp/ts_offset.h"

namespace tempo::tcp {
namespace {

using flow::Tuple;
using flow::Tuple4;
using flow::Tuple6;

crypto::Key128 key(uint8_t seed) {
  crypto::Key128 k{};
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = std::byte(seed * 31 + i);
  }
  return k;
}

class CryptoSynCookieTest : public ::testing::Test {
 protected:
  CookieAck ack_for(const CookieSyn& syn, const CookieSynAck& sa) const {
    CookieAck a;
    a.peer_isn = syn.peer_isn;
    a.cookie = sa.isn;
    if (syn.ts_ok) {
      a.tsecr = sa.tsval;
    }
    return a;
  }

  crypto::Mgr mgr_ = std::move(crypto::Mgr::create().value());
  crypto::Prf prf_{mgr_, key(7)};
  Tuple t4_ = Tuple::of(Tuple4{0xc6120002, 0xc6120001, 80, 40000});
  Ticks now_ = Ticks::from_sec(3600 * 24 * 3 + 17);
};

TEST_F(CryptoSynCookieTest, RoundTripEveryMssIndex) {
  std::array<uint8_t, 16> a6{};
  a6[0] = 0x20;
  a6[15] = 2;
  std::array<uint8_t, 16> b6 = a6;
  b6[15] = 1;
  const Tuple t6 = Tuple::of(Tuple6{a6, b6, 443, 50000});
  for (const auto& [t, table] : {std::pair{t4_, kCookieMssV4}, std::pair{t6, kCookieMssV6}}) {
    for (size_t i = 0; i < table.size(); ++i) {
      // The exact table value, and one just above it (rounds down to the same entry).
      for (uint16_t mss : {table[i], static_cast<uint16_t>(table[i] + 1)}) {
        CookieSyn syn;
        syn.peer_isn = 0x12345678u + mss;
        syn.mss = mss;
        const auto sa = cookie_encode(prf_, t, syn, now_);
        EXPECT_EQ(sa.mss, table[i]);
        auto conn = cookie_decode(prf_, t, ack_for(syn, sa), now_ + Ticks::from_sec(1));
        ASSERT_TRUE(conn.ok()) << mss;
        EXPECT_EQ(conn->mss, table[i]);
        EXPECT_FALSE(conn->ts_ok);
        EXPECT_FALSE(conn->sack_ok);
        EXPECT_FALSE(conn->wscale.has_value());
      }
    }
  }
  // Below the smallest entry: the smallest.
  CookieSyn syn;
  syn.mss = 100;
  EXPECT_EQ(cookie_encode(prf_, t4_, syn, now_).mss, 536);
}

TEST_F(CryptoSynCookieTest, TimestampCarriesWscaleSackEcn) {
  const uint32_t ts_now = ts_value(now_, ts_offset(prf_, t4_));
  for (int ws = -1; ws <= 15; ++ws) {
    for (bool sack : {false, true}) {
      for (bool ecn : {false, true}) {
        CookieSyn syn;
        syn.peer_isn = 0xfffffff0u;  // wraps when the ACK's SEQ is formed
        syn.mss = 1460;
        syn.ts_ok = true;
        syn.sack_ok = sack;
        syn.ecn_ok = ecn;
        if (ws >= 0) {
          syn.wscale = static_cast<uint8_t>(ws);
        }
        const auto sa = cookie_encode(prf_, t4_, syn, now_);
        // Linux cookie_init_timestamp(): within one 64-tick period at or below the TS clock.
        EXPECT_LE(ts_now - sa.tsval, 63u);
        auto conn = cookie_decode(prf_, t4_, ack_for(syn, sa), now_ + Ticks::from_ms(300));
        ASSERT_TRUE(conn.ok());
        EXPECT_EQ(conn->mss, 1460);
        EXPECT_TRUE(conn->ts_ok);
        EXPECT_EQ(conn->sack_ok, sack);
        EXPECT_EQ(conn->ecn_ok, ecn);
        if (ws < 0) {
          EXPECT_FALSE(conn->wscale.has_value());
        } else {
          ASSERT_TRUE(conn->wscale.has_value());
          EXPECT_EQ(*conn->wscale, std::min(ws, 14));  // RFC 7323 §2.3: at most 14
        }
      }
    }
  }
}

TEST_F(CryptoSynCookieTest, RejectsEveryFlippedBit) {
  CookieSyn syn;
  syn.peer_isn = 0xdeadbeef;
  syn.mss = 1440;
  const auto sa = cookie_encode(prf_, t4_, syn, now_);
  for (uint32_t bit = 0; bit < 32; ++bit) {
    auto ack = ack_for(syn, sa);
    ack.cookie ^= 1u << bit;
    auto r = cookie_decode(prf_, t4_, ack, now_);
    EXPECT_FALSE(r.ok()) << "cookie bit " << bit;
    ack = ack_for(syn, sa);
    ack.peer_isn ^= 1u << bit;
    EXPECT_FALSE(cookie_decode(prf_, t4_, ack, now_).ok()) << "peer ISN bit " << bit;
  }
  // Flipping a count bit (the top 8) lands outside the window or on a wrong hash.
  auto ack = ack_for(syn, sa);
  ack.cookie ^= 1u << 31;
  EXPECT_EQ(cookie_decode(prf_, t4_, ack, now_).error(), CookieError::kExpired);
  ack = ack_for(syn, sa);
  ack.cookie ^= 1u;
  EXPECT_EQ(cookie_decode(prf_, t4_, ack, now_).error(), CookieError::kForged);
}

TEST_F(CryptoSynCookieTest, TimestampOptionBitsAreAuthenticated) {
  // Unlike Linux: the echoed wscale/SACK/ECN bits are under the cookie's MAC.
  CookieSyn syn;
  syn.peer_isn = 99;
  syn.mss = 1460;
  syn.ts_ok = true;
  syn.sack_ok = true;
  syn.wscale = 7;
  const auto sa = cookie_encode(prf_, t4_, syn, now_);
  const auto ack = ack_for(syn, sa);
  ASSERT_TRUE(cookie_decode(prf_, t4_, ack, now_).ok());
  for (uint32_t bit = 0; bit < 6; ++bit) {
    auto a = ack;
    *a.tsecr ^= 1u << bit;
    EXPECT_EQ(cookie_decode(prf_, t4_, a, now_).error(), CookieError::kForged) << bit;
  }
  // The clock bits above them are not part of the cookie (the peer echoes them as sent).
  auto a = ack;
  *a.tsecr ^= 1u << 6;
  EXPECT_TRUE(cookie_decode(prf_, t4_, a, now_).ok());
  // Timestamps dropped by the ACK though the SYN-ACK had them, and the reverse.
  a = ack;
  a.tsecr.reset();
  EXPECT_EQ(cookie_decode(prf_, t4_, a, now_).error(), CookieError::kForged);
  syn.ts_ok = false;
  a = ack_for(syn, cookie_encode(prf_, t4_, syn, now_));
  ASSERT_TRUE(cookie_decode(prf_, t4_, a, now_).ok());
  a.tsecr = 0x0f;
  EXPECT_EQ(cookie_decode(prf_, t4_, a, now_).error(), CookieError::kForged);
}

TEST_F(CryptoSynCookieTest, RejectsWrongTupleOrKey) {
  CookieSyn syn;
  syn.peer_isn = 42;
  syn.mss = 1460;
  const auto sa = cookie_encode(prf_, t4_, syn, now_);
  const auto ack = ack_for(syn, sa);
  ASSERT_TRUE(cookie_decode(prf_, t4_, ack, now_).ok());
  Tuple t = t4_;
  t.t4.remote_port = 40001;
  EXPECT_FALSE(cookie_decode(prf_, t, ack, now_).ok());
  t = t4_;
  t.t4.local_port = 8080;
  EXPECT_FALSE(cookie_decode(prf_, t, ack, now_).ok());
  t = t4_;
  t.t4.remote = 0xc6120009;
  EXPECT_FALSE(cookie_decode(prf_, t, ack, now_).ok());
  EXPECT_FALSE(cookie_decode(crypto::Prf(mgr_, key(8)), t4_, ack, now_).ok());
}

TEST_F(CryptoSynCookieTest, AcceptsUpToTwoMinuteCounterThenExpires) {
  // Linux MAX_SYNCOOKIE_AGE = 2: the counter of issue and the next one are accepted.
  const Ticks minute_start = Ticks::from_sec(60 * 1000);
  CookieSyn syn;
  syn.peer_isn = 7;
  syn.mss = 1300;
  const auto early = cookie_encode(prf_, t4_, syn, minute_start);
  const auto ack = ack_for(syn, early);
  EXPECT_TRUE(cookie_decode(prf_, t4_, ack, minute_start).ok());
  EXPECT_TRUE(cookie_decode(prf_, t4_, ack, minute_start + Ticks::from_ms(119'999)).ok());
  EXPECT_EQ(cookie_decode(prf_, t4_, ack, minute_start + Ticks::from_sec(120)).error(),
            CookieError::kExpired);
  EXPECT_EQ(cookie_decode(prf_, t4_, ack, minute_start + Ticks::from_sec(3600)).error(),
            CookieError::kExpired);
  // 256 minutes later the 8-bit count matches again, but the hash keyed by the full counter
  // does not.
  EXPECT_FALSE(cookie_decode(prf_, t4_, ack, minute_start + Ticks::from_sec(256 * 60)).ok());
  // Issued at the end of a minute: the window closes at the end of the next one.
  const Ticks late_issue = minute_start + Ticks::from_ms(59'999);
  const auto late = ack_for(syn, cookie_encode(prf_, t4_, syn, late_issue));
  EXPECT_TRUE(cookie_decode(prf_, t4_, late, minute_start + Ticks::from_ms(119'999)).ok());
  EXPECT_EQ(cookie_decode(prf_, t4_, late, minute_start + Ticks::from_sec(120)).error(),
            CookieError::kExpired);
  // A cookie from the future (clock mismatch or forgery) is not accepted either.
  EXPECT_EQ(cookie_decode(prf_, t4_, ack, minute_start - Ticks::from_sec(60)).error(),
            CookieError::kExpired);
}

}  // namespace
}  // namespace tempo::tcp
