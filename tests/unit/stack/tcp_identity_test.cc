// TcpIdentity (lib/stack/tcp_identity.h) with a fixed key: the eight settings picked by family
// and options, the ISS raised to a floor, offsets that are functions of their inputs (the same
// for the same pair, different for another pair or another key), and the cursor.
#include "stack/tcp_identity.h"

#include <gtest/gtest.h>

namespace tempo::stack {
namespace {

crypto::Key128 key(uint8_t b) {
  crypto::Key128 k{};
  k.fill(std::byte{b});
  return k;
}

const crypto::IpAddress kA = crypto::IpAddress::v4(0xc6120001);
const crypto::IpAddress kB = crypto::IpAddress::v4(0xc6120002);
const crypto::IpAddress kC = crypto::IpAddress::v4(0xc6120003);

TEST(TcpIdentity, SettingsByFamilyAndOptions) {
  tcp::Config cfg;
  cfg.mss = 1460;
  cfg.keepalive = false;
  cfg.cc = tcp::cc::Algorithm::kCubic;
  TcpIdentity id;
  ASSERT_TRUE(id.init(cfg, key(1)).ok());
  const ConnOptions dflt;
  EXPECT_EQ(id.config(false, dflt).mss, 1460);
  EXPECT_EQ(id.config(true, dflt).mss, 1440);  // IPv6: 20 bytes more header
  EXPECT_FALSE(id.config(false, dflt).keepalive);
  EXPECT_EQ(id.config(false, dflt).cc, tcp::cc::Algorithm::kCubic);
  ConnOptions o;
  o.keepalive = ConnOptions::Choice::kOn;
  o.congestion = ConnOptions::Cc::kNewReno;
  EXPECT_TRUE(id.config(false, o).keepalive);
  EXPECT_EQ(id.config(false, o).cc, tcp::cc::Algorithm::kNewReno);
  EXPECT_EQ(id.config(true, o).mss, 1440);
  EXPECT_EQ(&id.config(false, dflt), &id.config(false, dflt));  // one object per kind
  EXPECT_NE(&id.config(false, dflt), &id.config(false, o));
  EXPECT_EQ(id.base().mss, 1460);
}

TEST(TcpIdentity, TheIssIsRaisedToAFloorOnly) {
  TcpIdentity id;
  ASSERT_TRUE(id.init(tcp::Config{}, key(2)).ok());
  const crypto::FlowTuple t{kA, kB, 80, 40000};
  const uint32_t plain = id.iss(t, Ticks::from_ms(5), std::nullopt);
  EXPECT_EQ(id.iss(t, Ticks::from_ms(5), std::nullopt), plain);  // a function of tuple and time
  EXPECT_EQ(id.iss(t, Ticks::from_ms(5), plain + 1000), plain + 1000);
  EXPECT_EQ(id.iss(t, Ticks::from_ms(5), plain - 1000), plain);  // already beyond the floor
  // RFC 6528: the clock moves it on (4 us a tick).
  EXPECT_EQ(id.iss(t, Ticks::from_ms(6), std::nullopt) - plain, 250u);
}

TEST(TcpIdentity, OffsetsAreKeyedFunctionsOfTheirInputs) {
  TcpIdentity id;
  TcpIdentity other;
  ASSERT_TRUE(id.init(tcp::Config{}, key(3)).ok());
  ASSERT_TRUE(other.init(tcp::Config{}, key(4)).ok());
  EXPECT_EQ(id.ts_offset(kA, kB), id.ts_offset(kA, kB));
  EXPECT_NE(id.ts_offset(kA, kB), id.ts_offset(kA, kC));
  EXPECT_NE(id.ts_offset(kA, kB), other.ts_offset(kA, kB));
  EXPECT_EQ(id.port_offset(kA, kB, 80), id.port_offset(kA, kB, 80));
  EXPECT_NE(id.port_offset(kA, kB, 80), id.port_offset(kA, kB, 81));
  EXPECT_NE(id.port_offset(kA, kB, 80), id.port_offset(kA, kC, 80));
  EXPECT_NE(id.port_offset(kA, kB, 80), other.port_offset(kA, kB, 80));
  EXPECT_EQ(id.seed("timewait0"), id.seed("timewait0"));
  EXPECT_NE(id.seed("timewait0"), id.seed("timewait1"));
  id.next_ephemeral() += 7;
  EXPECT_EQ(id.next_ephemeral(), 7u);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
