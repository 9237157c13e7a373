// stack::PathMtuCache (path MTUs learned per destination, bounded, expiring) and the pure rules
// of stack/icmp_errors.h: which ICMP and ICMPv6 types and codes are path MTU messages, hard or
// soft errors (RFC 1122 §4.2.3.9, RFC 4443, RFC 6633), the RFC 1191 §5 plateau and the floor.
#include "stack/path_mtu.h"

#include <cstring>

#include <gtest/gtest.h>

#include "stack/icmp_errors.h"

namespace tempo::stack {
namespace {

PathMtuCache::Key v4(uint32_t addr) {
  flow::Tuple t;
  t.t4.remote = addr;
  return PathMtuCache::Key::remote_of(t);
}
PathMtuCache::Key v6(uint8_t last) {
  flow::Tuple t;
  t.v6 = true;
  t.t6.remote[0] = 0x20;
  t.t6.remote[1] = 0x01;
  t.t6.remote[15] = last;
  return PathMtuCache::Key::remote_of(t);
}

const Ticks kT0 = Ticks::from_sec(1000);

class Cache : public ::testing::Test {
 protected:
  Cache() { cache.init(PathMtuCache::Config{.max_entries = 64, .expires = Ticks::from_sec(600)}); }
  PathMtuCounters counters;
  PathMtuCache cache{counters};
};

TEST_F(Cache, LearnsAndFindsPerDestination) {
  EXPECT_FALSE(cache.lookup(v4(0xc6120101), kT0));
  EXPECT_TRUE(cache.learn(v4(0xc6120101), 1280, kT0));
  EXPECT_EQ(cache.lookup(v4(0xc6120101), kT0), 1280);
  EXPECT_FALSE(cache.lookup(v4(0xc6120102), kT0));  // another destination
  // The same 4 bytes as an IPv6 address are another destination too.
  PathMtuCache::Key same_bytes = v4(0xc6120101);
  same_bytes.v6 = true;
  EXPECT_FALSE(cache.lookup(same_bytes, kT0));
  EXPECT_TRUE(cache.learn(v6(9), 1400, kT0));
  EXPECT_EQ(cache.lookup(v6(9), kT0), 1400);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(counters.pmtu_learned, 2u);
}

TEST_F(Cache, OnlyLowersALiveEntry) {
  ASSERT_TRUE(cache.learn(v4(1), 1400, kT0));
  EXPECT_FALSE(cache.learn(v4(1), 1450, kT0 + Ticks::from_sec(1)));  // higher: ignored
  EXPECT_EQ(cache.lookup(v4(1), kT0), 1400);
  EXPECT_TRUE(cache.learn(v4(1), 1000, kT0 + Ticks::from_sec(2)));  // lower: taken
  EXPECT_EQ(cache.lookup(v4(1), kT0), 1000);
  EXPECT_EQ(counters.pmtu_learned, 2u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(Cache, ExpiresAfterItsTimeAndRestartsOnTheSameMtu) {
  ASSERT_TRUE(cache.learn(v4(1), 1200, kT0));
  const Ticks due = kT0 + Ticks::from_sec(600);
  EXPECT_EQ(cache.lookup(v4(1), due - Ticks::from_ms(1)), 1200);
  // The same MTU again restarts its time (Linux refreshes the exception's expiry).
  EXPECT_FALSE(cache.learn(v4(1), 1200, kT0 + Ticks::from_sec(100)));
  EXPECT_EQ(cache.lookup(v4(1), due), 1200);
  EXPECT_FALSE(cache.lookup(v4(1), due + Ticks::from_sec(100)));
  EXPECT_EQ(counters.pmtu_expired, 1u);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.lookup(v4(1), due + Ticks::from_sec(100)));
  EXPECT_EQ(counters.pmtu_expired, 1u);  // counted once
  // Learned afresh after expiry, even higher than before.
  EXPECT_TRUE(cache.learn(v4(1), 1400, due + Ticks::from_sec(200)));
  EXPECT_EQ(cache.lookup(v4(1), due + Ticks::from_sec(200)), 1400);
}

TEST_F(Cache, BoundedEvictingWhatExpiresFirst) {
  // 64 entries: 16 sets of 4. 1,000 destinations learned ten a second: never more than 64
  // held, and every one learned is found right after.
  for (uint32_t i = 0; i < 1000; ++i) {
    const Ticks now = kT0 + Ticks::from_sec(i) / 10;
    ASSERT_TRUE(cache.learn(v4(0x0a000000 + i), static_cast<uint16_t>(1000 + i % 400), now));
    ASSERT_EQ(cache.lookup(v4(0x0a000000 + i), now), 1000 + i % 400) << i;
    ASSERT_LE(cache.size(), cache.capacity());
  }
  EXPECT_EQ(cache.capacity(), 64u);
  EXPECT_EQ(cache.size(), 64u);
  EXPECT_EQ(counters.pmtu_learned, 1000u);
  EXPECT_EQ(counters.pmtu_evicted, 1000u - 64u);
  EXPECT_EQ(counters.pmtu_expired, 0u);
  // The last one learned in each set survives: the most recent destinations are held.
  EXPECT_EQ(cache.lookup(v4(0x0a000000 + 999), kT0 + Ticks::from_sec(100)), 1000 + 999 % 400);
}

TEST(CacheBound, RoundsUpToWholeSets) {
  PathMtuCounters c;
  PathMtuCache cache(c);
  cache.init(PathMtuCache::Config{.max_entries = 5});
  EXPECT_EQ(cache.capacity(), 8u);
  for (uint32_t i = 0; i < 100; ++i) {
    cache.learn(v4(i), 1300, kT0);
  }
  EXPECT_EQ(cache.size(), 8u);
  EXPECT_EQ(c.pmtu_evicted, 92u);
}

TEST(IcmpClassify, Ipv4TypesAndCodes) {
  EXPECT_EQ(classify_icmp4(3, 4).kind, IcmpKind::kPathMtu);
  EXPECT_EQ(classify_icmp4(3, 3).kind, IcmpKind::kHard);
  EXPECT_EQ(classify_icmp4(3, 3).reason, tcp::CloseReason::kRefused);
  for (uint8_t code : {2, 9, 10, 13}) {
    EXPECT_EQ(classify_icmp4(3, code).kind, IcmpKind::kHard) << int{code};
    EXPECT_EQ(classify_icmp4(3, code).reason, tcp::CloseReason::kUnreachable) << int{code};
  }
  for (uint8_t code : {0, 1, 5, 6, 7, 8, 11, 12, 14, 15}) {
    EXPECT_EQ(classify_icmp4(3, code).kind, IcmpKind::kSoft) << int{code};
  }
  EXPECT_EQ(classify_icmp4(11, 0).kind, IcmpKind::kSoft);
  EXPECT_EQ(classify_icmp4(12, 0).kind, IcmpKind::kSoft);
  EXPECT_EQ(classify_icmp4(4, 0).kind, IcmpKind::kSourceQuench);
  EXPECT_EQ(classify_icmp4(0, 0).kind, IcmpKind::kNone);
  EXPECT_EQ(classify_icmp4(5, 0).kind, IcmpKind::kNone);  // redirect
}

TEST(IcmpClassify, Ipv6TypesAndCodes) {
  EXPECT_EQ(classify_icmp6(2, 0).kind, IcmpKind::kPathMtu);
  EXPECT_EQ(classify_icmp6(1, 4).kind, IcmpKind::kHard);
  EXPECT_EQ(classify_icmp6(1, 4).reason, tcp::CloseReason::kRefused);
  for (uint8_t code : {1, 5, 6}) {
    EXPECT_EQ(classify_icmp6(1, code).kind, IcmpKind::kHard) << int{code};
    EXPECT_EQ(classify_icmp6(1, code).reason, tcp::CloseReason::kUnreachable);
  }
  for (uint8_t code : {0, 2, 3, 7}) {
    EXPECT_EQ(classify_icmp6(1, code).kind, IcmpKind::kSoft) << int{code};
  }
  EXPECT_EQ(classify_icmp6(4, 1).kind, IcmpKind::kHard);
  EXPECT_EQ(classify_icmp6(4, 0).kind, IcmpKind::kSoft);
  EXPECT_EQ(classify_icmp6(3, 0).kind, IcmpKind::kSoft);
  EXPECT_EQ(classify_icmp6(128, 0).kind, IcmpKind::kNone);
  EXPECT_EQ(classify_icmp6(135, 0).kind, IcmpKind::kNone);
}

TEST(IcmpMtu, PlateauAndFloor) {
  // RFC 1191 §5 table 7-1: the greatest plateau below the quoted length.
  EXPECT_EQ(mtu_plateau_below(1500), 1492);
  EXPECT_EQ(mtu_plateau_below(1492), 1006);
  EXPECT_EQ(mtu_plateau_below(9000), 8166);
  EXPECT_EQ(mtu_plateau_below(576), 508);
  EXPECT_EQ(mtu_plateau_below(68), 68);
  bool plateau = false;
  bool floored = false;
  EXPECT_EQ(reported_mtu_of(1280, true, 1500, 552, &plateau, &floored), 1280u);
  EXPECT_FALSE(plateau || floored);
  EXPECT_EQ(reported_mtu_of(0, true, 1500, 552, &plateau, &floored), 1492u);
  EXPECT_TRUE(plateau && !floored);
  EXPECT_EQ(reported_mtu_of(0, true, 576, 552, &plateau, &floored), 552u);  // 508, floored
  EXPECT_TRUE(plateau && floored);
  EXPECT_EQ(reported_mtu_of(300, true, 1500, 552, &plateau, &floored), 552u);
  EXPECT_TRUE(!plateau && floored);
  // IPv6 has no plateau: 0, like anything under 1280, is the floor (RFC 8201 §4).
  EXPECT_EQ(reported_mtu_of(0, false, 1500, 1280, &plateau, &floored), 1280u);
  EXPECT_TRUE(!plateau && floored);
  EXPECT_EQ(reported_mtu_of(1400, false, 1500, 1280, &plateau, &floored), 1400u);
  EXPECT_FALSE(plateau || floored);
}

}  // namespace
}  // namespace tempo::stack
