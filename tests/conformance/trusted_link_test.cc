// ports[].trusted_link on the real Worker over a ring port: a link of shared memory between
// processes of this host (memif to another tempo) where no frame is corrupted, so TCP checksums
// are neither verified on RX nor summed on TX, and IPv4 header checksums are not verified, as
// the kernel does on veth and loopback. Off by default: the same frames are then dropped and
// counted.
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;
constexpr size_t kIpCksumAt = 14 + 10;
constexpr size_t kTcpCksumAt = 14 + 20 + 16;

// A SYN from the peer, its TCP and/or IPv4 header checksum made wrong.
std::vector<std::byte> syn_frame(uint16_t sport, bool bad_tcp, bool bad_ip) {
  wire::TcpPacketSpec spec{};
  spec.eth_src = kPeerMac;
  spec.eth_dst = kTempoMac;
  spec.src4 = kPeerIp;
  spec.dst4 = kTempoIp;
  spec.tcp = wire::TcpHeaderFields{.src_port = sport,
                                   .dst_port = kListen,
                                   .seq = 1000,
                                   .ack = 0,
                                   .flags = wire::TcpFlags(kS),
                                   .window = kPeerWin,
                                   .urgent = 0};
  std::vector<std::byte> f = wire::make_tcp_packet(spec);
  if (bad_tcp) {
    f[kTcpCksumAt] ^= std::byte{0x5a};
  }
  if (bad_ip) {
    f[kIpCksumAt] ^= std::byte{0x5a};
  }
  return f;
}

uint64_t dropped(RingWorker& rw, telemetry::Layer l) {
  return rw.worker().counters().dropped(l, wire::WireError::kBadChecksum);
}

TEST(TrustedLink, FramesAreTakenUnverifiedAndSegmentsLeaveUnsummed) {
  RingWorkerConfig cfg = peer_config();
  cfg.trusted_link = true;
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer peer(rw, kListen);
  rw.send_frame(syn_frame(40000, /*bad_tcp=*/true, /*bad_ip=*/true));
  const std::vector<Seg> got = rw.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has(kS | kA));
  EXPECT_EQ(got[0].checksum, 0);  // not summed: the field as the encoder left it
  EXPECT_EQ(rw.worker().counters().rx_cksum_trusted, 1u);
  EXPECT_EQ(rw.worker().counters().tx_cksum_trusted, 1u);
  EXPECT_EQ(dropped(rw, telemetry::Layer::kTcp), 0u);
  EXPECT_EQ(dropped(rw, telemetry::Layer::kIpv4), 0u);
}

TEST(TrustedLink, OffByDefaultTheSameFramesAreDroppedAndCounted) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  rw.send_frame(syn_frame(40000, /*bad_tcp=*/true, /*bad_ip=*/false));
  EXPECT_TRUE(rw.poll().empty());
  EXPECT_EQ(dropped(rw, telemetry::Layer::kTcp), 1u);
  rw.send_frame(syn_frame(40001, /*bad_tcp=*/false, /*bad_ip=*/true));
  EXPECT_TRUE(rw.poll().empty());
  EXPECT_EQ(dropped(rw, telemetry::Layer::kIpv4), 1u);
  rw.send_frame(syn_frame(40002, /*bad_tcp=*/false, /*bad_ip=*/false));
  const std::vector<Seg> got = rw.poll();  // poll() verifies the SYN,ACK's checksum
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has(kS | kA));
  EXPECT_NE(got[0].checksum, 0);
  EXPECT_EQ(rw.worker().counters().rx_cksum_trusted, 0u);
  EXPECT_EQ(rw.worker().counters().tx_cksum_trusted, 0u);
}

}  // namespace
}  // namespace tempo::conformance
