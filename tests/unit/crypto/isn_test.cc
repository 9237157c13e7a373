// RFC 6528 ISNs (lib/tcp/isn.h) and per-address-pair timestamp offsets (lib/tcp/ts_offset.h).
#include "tcp/isn.h"

#include <set>

#include <gtest/gtest.h>

#include "crypto/mgr.h"
#include "crypto/prf.h"
#include "tcp/ts_offset.h"

namespace tempo::tcp {
namespace {

using crypto::FlowTuple;
using crypto::IpAddress;

crypto::Key128 key(uint8_t seed) {
  crypto::Key128 k{};
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = std::byte(seed + i * 17);
  }
  return k;
}

IpAddress v6(uint8_t last) {
  std::array<std::byte, 16> a{};
  a[0] = std::byte{0x20};
  a[1] = std::byte{0x01};
  a[2] = std::byte{0x0d};
  a[3] = std::byte{0xb8};
  a[15] = std::byte{last};
  return IpAddress::v6(a);
}

class CryptoIsnTest : public ::testing::Test {
 protected:
  crypto::Mgr mgr_ = std::move(crypto::Mgr::create().value());
  crypto::Prf prf_{mgr_, key(1)};
  FlowTuple t4_{IpAddress::v4(0xc6120002), IpAddress::v4(0xc6120001), 80, 40000};
  FlowTuple t6_{v6(2), v6(1), 80, 40000};
};

TEST_F(CryptoIsnTest, AdvancesWithTheFourMicrosecondClock) {
  // RFC 6528 §3: M ticks every 4 us, so the ISN of one tuple grows by elapsed_us / 4.
  for (const FlowTuple& t : {t4_, t6_}) {
    const Ticks t0 = Ticks::from_sec(1000);
    const uint32_t base = isn(prf_, t, t0);
    EXPECT_EQ(isn(prf_, t, t0), base);
    EXPECT_EQ(isn(prf_, t, t0 + Ticks::from_us(3)), base);
    EXPECT_EQ(isn(prf_, t, t0 + Ticks::from_us(4)), base + 1);
    EXPECT_EQ(isn(prf_, t, t0 + Ticks::from_sec(1)), base + 250'000);
    // Monotonic in modular sequence space across 60 s of connections (2·MSL, TIME_WAIT).
    uint32_t prev = base;
    for (uint64_t ms = 1; ms <= 60'000; ms += 997) {
      const uint32_t next = isn(prf_, t, t0 + Ticks::from_ms(ms));
      EXPECT_GT(static_cast<int32_t>(next - prev), 0) << ms;
      prev = next;
    }
  }
}

TEST_F(CryptoIsnTest, DiffersAcrossTuplesAndKeys) {
  const Ticks now = Ticks::from_sec(5);
  std::set<uint32_t> seen;
  seen.insert(isn(prf_, t4_, now));
  seen.insert(isn(prf_, t6_, now));
  FlowTuple t = t4_;
  t.remote_port = 40001;
  seen.insert(isn(prf_, t, now));
  t = t4_;
  t.local_port = 81;
  seen.insert(isn(prf_, t, now));
  t = t4_;
  t.remote = IpAddress::v4(0xc6120003);
  seen.insert(isn(prf_, t, now));
  t = t4_;
  std::swap(t.local, t.remote);  // the reverse direction is a different tuple
  seen.insert(isn(prf_, t, now));
  seen.insert(isn(crypto::Prf(mgr_, key(2)), t4_, now));
  EXPECT_EQ(seen.size(), 7u);
}

TEST_F(CryptoIsnTest, TimestampOffsetIsPerAddressPair) {
  const uint32_t off = ts_offset(prf_, t4_.local, t4_.remote);
  // Deterministic: the same pair gets the same offset (whatever the ports), every time.
  EXPECT_EQ(ts_offset(prf_, t4_.local, t4_.remote), off);
  EXPECT_EQ(ts_offset(crypto::Prf(mgr_, key(1)), t4_.local, t4_.remote), off);
  // Different for another pair, the reversed pair, another family and another key.
  std::set<uint32_t> seen{off};
  seen.insert(ts_offset(prf_, t4_.local, IpAddress::v4(0xc6120003)));
  seen.insert(ts_offset(prf_, t4_.remote, t4_.local));
  seen.insert(ts_offset(prf_, t6_.local, t6_.remote));
  seen.insert(ts_offset(crypto::Prf(mgr_, key(2)), t4_.local, t4_.remote));
  EXPECT_EQ(seen.size(), 5u);
  // Not the ISN's value: the PRF inputs are domain-separated.
  EXPECT_NE(off, isn(prf_, t4_, Ticks{}));
  // The TS clock ticks once a millisecond from the offset.
  EXPECT_EQ(ts_value(Ticks::from_ms(1234), off), off + 1234);
  EXPECT_EQ(ts_value(Ticks::from_us(1234999), off), off + 1234);
}

}  // namespace
}  // namespace tempo::tcp
