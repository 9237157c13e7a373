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

// The tuple from 198.18.0.1 (`local`) to 198.18.0.2 (`remote`), port 80 to `rport`.
flow::Tuple tuple(uint32_t local = 0xc6120001, uint32_t remote = 0xc6120002, uint16_t rport = 40000,
                  uint16_t lport = 80) {
  return flow::Tuple::of(
      flow::Tuple4{.local = local, .remote = remote, .local_port = lport, .remote_port = rport});
}

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

// The floor under the send MSS never exceeds what a family's segments may carry.
TEST(TcpIdentity, MinSndMssNeverAboveTheFamilysMss) {
  tcp::Config cfg;
  cfg.mss = 1460;
  cfg.min_snd_mss = 1460;
  TcpIdentity id;
  ASSERT_TRUE(id.init(cfg, key(1)).ok());
  EXPECT_EQ(id.config(false, ConnOptions{}).min_snd_mss, 1460);
  EXPECT_EQ(id.config(true, ConnOptions{}).min_snd_mss, 1440);
}

TEST(TcpIdentity, TheIssIsRaisedToAFloorOnly) {
  TcpIdentity id;
  ASSERT_TRUE(id.init(tcp::Config{}, key(2)).ok());
  const flow::Tuple t = tuple();
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
  const uint32_t kC = 0xc6120003;
  EXPECT_EQ(id.ts_offset(tuple()), id.ts_offset(tuple()));
  EXPECT_EQ(id.ts_offset(tuple()), id.ts_offset(tuple(0xc6120001, 0xc6120002, 1, 2)));  // a pair's
  EXPECT_NE(id.ts_offset(tuple()), id.ts_offset(tuple(0xc6120001, kC)));
  EXPECT_NE(id.ts_offset(tuple()), other.ts_offset(tuple()));
  // F(local, remote, remote port): the local port, still being picked, is not an input.
  EXPECT_EQ(id.port_offset(tuple()), id.port_offset(tuple(0xc6120001, 0xc6120002, 40000, 0)));
  EXPECT_NE(id.port_offset(tuple()), id.port_offset(tuple(0xc6120001, 0xc6120002, 40001)));
  EXPECT_NE(id.port_offset(tuple()), id.port_offset(tuple(0xc6120001, kC)));
  EXPECT_NE(id.port_offset(tuple()), other.port_offset(tuple()));
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
