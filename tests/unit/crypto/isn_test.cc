// RFC 6528 ISNs (lib/tcp/isn.h) and per-address-pair timestamp offsets (lib/tcp/ts_offset.h).
#include "tcp/isn.h"

#include <set>

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
    k[i] = std::byte(seed + i * 17);
  }
  return k;
}

std::array<uint8_t, 16> v6(uint8_t last) {
  return {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
}

class CryptoIsnTest : public ::testing::Test {
 protected:
  crypto::Mgr mgr_ = std::move(crypto::Mgr::create().value());
  crypto::Prf prf_{mgr_, key(1)};
  Tuple t4_ = Tuple::of(Tuple4{0xc6120002, 0xc6120001, 80, 40000});
  Tuple t6_ = Tuple::of(Tuple6{v6(2), v6(1), 80, 40000});
};

TEST(PutTuple, LocalThenRemoteAddressThenThePortsBigEndian) {
  std::array<std::byte, crypto::kTupleMaxBytes> out{};
  const size_t n4 = crypto::put_tuple(out, 0, Tuple::of(Tuple4{0xc6120002, 0xc6120001, 80, 40000}));
  const std::array<uint8_t, 12> want4{198, 18, 0, 2, 198, 18, 0, 1, 0, 80, 0x9c, 0x40};
  ASSERT_EQ(n4, want4.size());
  for (size_t i = 0; i < n4; ++i) {
    EXPECT_EQ(out[i], std::byte{want4[i]}) << i;
  }
  const size_t n6 = crypto::put_tuple(out, 0, Tuple::of(Tuple6{v6(2), v6(1), 443, 1}));
  ASSERT_EQ(n6, crypto::kTupleMaxBytes);
  EXPECT_EQ(out[0], std::byte{0x20});
  EXPECT_EQ(out[15], std::byte{2});
  EXPECT_EQ(out[16], std::byte{0x20});
  EXPECT_EQ(out[31], std::byte{1});
  EXPECT_EQ(out[32], std::byte{0x01});  // 443
  EXPECT_EQ(out[33], std::byte{0xbb});
  EXPECT_EQ(out[35], std::byte{1});
}

TEST_F(CryptoIsnTest, AdvancesWithTheFourMicrosecondClock) {
  // RFC 6528 §3: M ticks every 4 us, so the ISN of one tuple grows by elapsed_us / 4.
  for (const Tuple& t : {t4_, t6_}) {
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
  Tuple t = t4_;
  t.t4.remote_port = 40001;
  seen.insert(isn(prf_, t, now));
  t = t4_;
  t.t4.local_port = 81;
  seen.insert(isn(prf_, t, now));
  t = t4_;
  t.t4.remote = 0xc6120003;
  seen.insert(isn(prf_, t, now));
  t = t4_;
  std::swap(t.t4.local, t.t4.remote);  // the reverse direction is a different tuple
  seen.insert(isn(prf_, t, now));
  seen.insert(isn(crypto::Prf(mgr_, key(2)), t4_, now));
  EXPECT_EQ(seen.size(), 7u);
}

TEST_F(CryptoIsnTest, TimestampOffsetIsPerAddressPair) {
  const uint32_t off = ts_offset(prf_, t4_);
  // Deterministic: the same pair gets the same offset (whatever the ports), every time.
  EXPECT_EQ(ts_offset(prf_, t4_), off);
  EXPECT_EQ(ts_offset(crypto::Prf(mgr_, key(1)), t4_), off);
  Tuple other_ports = t4_;
  other_ports.t4.local_port = 81;
  other_ports.t4.remote_port = 50000;
  EXPECT_EQ(ts_offset(prf_, other_ports), off);
  // Different for another pair, the reversed pair, another family and another key.
  std::set<uint32_t> seen{off};
  Tuple t = t4_;
  t.t4.remote = 0xc6120003;
  seen.insert(ts_offset(prf_, t));
  t = t4_;
  std::swap(t.t4.local, t.t4.remote);
  seen.insert(ts_offset(prf_, t));
  seen.insert(ts_offset(prf_, t6_));
  seen.insert(ts_offset(crypto::Prf(mgr_, key(2)), t4_));
  EXPECT_EQ(seen.size(), 5u);
  // Not the ISN's value: the PRF inputs are domain-separated.
  EXPECT_NE(off, isn(prf_, t4_, Ticks{}));
  // The TS clock ticks once a millisecond from the offset.
  EXPECT_EQ(ts_value(Ticks::from_ms(1234), off), off + 1234);
  EXPECT_EQ(ts_value(Ticks::from_us(1234999), off), off + 1234);
}

}  // namespace
}  // namespace tempo::tcp
