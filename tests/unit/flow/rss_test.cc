#include "flow/rss.h"

#include <algorithm>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "dpdk/port.h"

namespace tempo::flow {
namespace {

using wire::Ipv4Addr;

// The Toeplitz key and IPv4/TCP vectors of Microsoft's RSS "verification suite", which every
// NIC vendor checks against.
constexpr std::array<uint8_t, 40> kMsKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

constexpr const auto& kSymmetric = kSymmetricRssKey;

struct Vector {
  Ipv4Addr src, dst;
  uint16_t sport, dport;
  uint32_t hash;
};

TEST(RssSteering, MatchesMicrosoftVerificationSuite) {
  const RssSteering rss(kMsKey, {});
  const Vector vectors[] = {
      {Ipv4Addr(66, 9, 149, 187), Ipv4Addr(161, 142, 100, 80), 2794, 1766, 0x51ccc178},
      {Ipv4Addr(199, 92, 111, 2), Ipv4Addr(65, 69, 140, 83), 14230, 4739, 0xc626b0ea},
      {Ipv4Addr(24, 19, 198, 95), Ipv4Addr(12, 22, 207, 184), 12898, 38024, 0x5c2b394a},
      {Ipv4Addr(38, 27, 205, 30), Ipv4Addr(209, 142, 163, 6), 48228, 2217, 0xafc7327f},
      {Ipv4Addr(153, 39, 163, 191), Ipv4Addr(202, 188, 127, 2), 44251, 1303, 0x10e828a2},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(rss.hash(v.src, v.dst, v.sport, v.dport), v.hash) << v.src.to_string();
  }
}

// The suite's IPv6/TCP vectors.
TEST(RssSteering, MatchesMicrosoftVerificationSuiteIpv6) {
  const RssSteering rss(kMsKey, {});
  struct V6 {
    std::array<uint8_t, 16> src, dst;
    uint16_t sport, dport;
    uint32_t hash;
  };
  const V6 vectors[] = {
      {{0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x07},
       {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01},
       2794,
       1766,
       0x40207d3d},
      {{0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0, 0, 0x02, 0x60, 0x97, 0xff, 0xfe, 0x40, 0xef, 0xab},
       {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01},
       14230,
       4739,
       0xdde51bbf},
      {{0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67,
        0xcf},
       {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf},
       44251,
       38024,
       0x02d1feef},
  };
  for (const V6& v : vectors) {
    EXPECT_EQ(rss.hash(v.src, v.dst, v.sport, v.dport), v.hash);
  }
}

TEST(RssSteering, PickedIpv6PortsSteerRepliesToTheOpeningQueue) {
  constexpr uint16_t kQueues = 4;
  const RssSteering rss(kSymmetric, RssSteering::default_reta(kQueues, 128));
  const std::array<uint8_t, 16> local = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                         0,    0,    0,    0,    0, 0, 0, 2};
  const std::array<uint8_t, 16> remote = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                          0,    0,    0,    0,    0, 0, 0, 1};
  for (uint16_t q = 0; q < kQueues; ++q) {
    uint32_t cursor = 0;
    std::set<uint16_t> got;
    for (int i = 0; i < 200; ++i) {
      auto port = rss.pick_local_port(local, remote, 443, q, 32768, 60999, &cursor,
                                      [&](uint16_t p) { return got.count(p) != 0; });
      ASSERT_TRUE(port);
      EXPECT_EQ(rss.queue_of_hash(rss.hash(remote, local, 443, *port)), q);
      got.insert(*port);
    }
    EXPECT_EQ(got.size(), 200u);
  }
}

TEST(RssSteering, SymmetricKeyHashesBothDirectionsAlike) {
  const RssSteering rss(kSymmetric, {});
  const RssSteering ms(kMsKey, {});
  const Ipv4Addr a(198, 18, 0, 2), b(198, 18, 7, 9);
  int asymmetric_with_ms_key = 0;
  for (uint16_t p = 1000; p < 1100; ++p) {
    EXPECT_EQ(rss.hash(a, b, p, 80), rss.hash(b, a, 80, p));
    asymmetric_with_ms_key += ms.hash(a, b, p, 80) != ms.hash(b, a, 80, p) ? 1 : 0;
  }
  EXPECT_GT(asymmetric_with_ms_key, 90);  // the property is the key's, not the hash's
}

TEST(RssSteering, PickedPortsSteerRepliesToTheOpeningQueue) {
  constexpr uint16_t kQueues = 4;
  const RssSteering rss(kSymmetric, RssSteering::default_reta(kQueues, 128));
  const Ipv4Addr local(198, 18, 0, 2), remote(198, 18, 0, 1);
  for (uint16_t q = 0; q < kQueues; ++q) {
    uint32_t cursor = 0;
    std::set<uint16_t> got;
    for (int i = 0; i < 500; ++i) {
      auto port = rss.pick_local_port(local, remote, 80, q, 32768, 60999, &cursor,
                                      [&](uint16_t p) { return got.count(p) != 0; });
      ASSERT_TRUE(port);
      EXPECT_GE(*port, 32768);
      EXPECT_LE(*port, 60999);
      // The reply remote:80 -> local:port, hashed whole, lands on q.
      EXPECT_EQ(rss.queue(remote, local, 80, *port), q);
      got.insert(*port);
    }
    EXPECT_EQ(got.size(), 500u);
  }
}

TEST(RssSteering, ExhaustedRangeReturnsNothing) {
  const RssSteering rss(kSymmetric, RssSteering::default_reta(2, 128));
  const Ipv4Addr local(198, 18, 0, 2), remote(198, 18, 0, 1);
  uint32_t cursor = 0;
  std::set<uint16_t> got;
  while (auto port = rss.pick_local_port(local, remote, 80, 1, 40000, 40063, &cursor,
                                         [&](uint16_t p) { return got.count(p) != 0; })) {
    got.insert(*port);
  }
  EXPECT_GT(got.size(), 10u);  // about half of 64 steer to queue 1
  EXPECT_LT(got.size(), 54u);
  for (uint16_t p : got) {
    EXPECT_EQ(rss.queue(remote, local, 80, p), 1);
  }
}

TEST(RssSteering, OneQueueTakesAnyFreePort) {
  const RssSteering rss(kSymmetric, {});
  uint32_t cursor = 0;
  auto port = rss.pick_local_port(Ipv4Addr(1, 2, 3, 4), Ipv4Addr(5, 6, 7, 8), 80, 0, 5000, 5001,
                                  &cursor, [](uint16_t p) { return p == 5000; });
  ASSERT_TRUE(port);
  EXPECT_EQ(*port, 5001);
}

// dpdk/port.h sizes the key to the device (52 bytes on i40e and ice): the model, which reads the
// first 40, must hash exactly as with the 40-byte key, in both directions.
TEST(RssSteering, DeviceSizedKeyHashesAsTheModel) {
  EXPECT_EQ(dpdk::rss_key(0).size(), 40u);
  const std::vector<uint8_t> k52 = dpdk::rss_key(52);
  ASSERT_EQ(k52.size(), 52u);
  EXPECT_TRUE(std::equal(kSymmetric.begin(), kSymmetric.end(), k52.begin()));
  const auto reta = RssSteering::default_reta(4, 128);
  const RssSteering model(kSymmetric, reta);
  const RssSteering device(k52, reta);
  for (uint16_t p = 1000; p < 1100; ++p) {
    const Ipv4Addr a(198, 18, 0, 1);
    const Ipv4Addr b(198, 18, 0, 2);
    EXPECT_EQ(device.hash(a, b, p, 80), model.hash(a, b, p, 80));
    EXPECT_EQ(device.queue(a, b, p, 80), device.queue(b, a, 80, p));  // symmetric
  }
}

// Devices whose queues are filled by a hash tempo cannot set or model get software steering.
TEST(RssSteering, SoftwareQueuedDrivers) {
  for (const char* d : {"net_tap", "net_af_packet", "net_af_xdp", "net_memif"}) {
    EXPECT_TRUE(dpdk::software_queues(d)) << d;
  }
  for (const char* d : {"mlx5_pci", "net_ice", "net_i40e", "net_ixgbe", "net_ena"}) {
    EXPECT_FALSE(dpdk::software_queues(d)) << d;
  }
}

}  // namespace
}  // namespace tempo::flow
