#include "stack/neighbor.h"

#include <gtest/gtest.h>

namespace tempo::stack {
namespace {

using wire::Ipv4Addr;
using wire::Ipv6Addr;
using wire::MacAddr;

const MacAddr kMacA(0x02, 0, 0, 0, 0, 0xa);
const MacAddr kMacB(0x02, 0, 0, 0, 0, 0xb);

TEST(NeighborCache, LearnThenLookup) {
  NeighborCache<Ipv4Addr> c;
  const Ipv4Addr ip(198, 18, 0, 1);
  EXPECT_FALSE(c.lookup(ip, Ticks::from_sec(1)));
  EXPECT_TRUE(c.learn(ip, kMacA, Ticks::from_sec(1)));
  ASSERT_TRUE(c.lookup(ip, Ticks::from_sec(2)));
  EXPECT_EQ(*c.lookup(ip, Ticks::from_sec(2)), kMacA);
  EXPECT_FALSE(c.lookup(Ipv4Addr(198, 18, 0, 3), Ticks::from_sec(2)));
}

TEST(NeighborCache, RelearnSameMacIsNotAChangeNewMacIs) {
  NeighborCache<Ipv4Addr> c;
  const Ipv4Addr ip(198, 18, 0, 1);
  EXPECT_TRUE(c.learn(ip, kMacA, Ticks::from_sec(1)));
  EXPECT_FALSE(c.learn(ip, kMacA, Ticks::from_sec(2)));
  EXPECT_TRUE(c.learn(ip, kMacB, Ticks::from_sec(3)));
  EXPECT_EQ(*c.lookup(ip, Ticks::from_sec(3)), kMacB);
  EXPECT_EQ(c.size(), 1u);
}

TEST(NeighborCache, EntriesAgeOutAfterTtlAndRefreshExtends) {
  NeighborCache<Ipv4Addr> c(Ticks::from_sec(60));
  const Ipv4Addr ip(198, 18, 0, 1);
  c.learn(ip, kMacA, Ticks::from_sec(0));
  EXPECT_TRUE(c.lookup(ip, Ticks::from_sec(60)));
  EXPECT_FALSE(c.lookup(ip, Ticks::from_sec(60) + Ticks::from_us(1)));
  c.learn(ip, kMacA, Ticks::from_sec(61));
  EXPECT_TRUE(c.lookup(ip, Ticks::from_sec(120)));
}

TEST(NeighborCache, FloodEvictsOldestNeverGrows) {
  NeighborCache<Ipv4Addr, 16> c;
  for (uint32_t i = 0; i < 1000; ++i) {
    c.learn(Ipv4Addr(0xc6120000u + i), kMacA, Ticks::from_ms(i));
  }
  EXPECT_LE(c.size(), 16u);
  // The newest survives the flood.
  EXPECT_TRUE(c.lookup(Ipv4Addr(0xc6120000u + 999), Ticks::from_ms(1000)));
}

TEST(NeighborCache, Ipv6) {
  NeighborCache<Ipv6Addr> c;
  const Ipv6Addr a = *Ipv6Addr::parse("2001:db8::1");
  const Ipv6Addr b = *Ipv6Addr::parse("2001:db8::2");
  c.learn(a, kMacA, Ticks::from_sec(1));
  c.learn(b, kMacB, Ticks::from_sec(1));
  EXPECT_EQ(*c.lookup(a, Ticks::from_sec(1)), kMacA);
  EXPECT_EQ(*c.lookup(b, Ticks::from_sec(1)), kMacB);
}

}  // namespace
}  // namespace tempo::stack
