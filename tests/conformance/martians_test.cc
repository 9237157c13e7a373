// Martians on the real Worker over a ring port: packets from addresses no host may use (RFC
// 1122 §3.2.1.3: a broadcast, multicast, loopback or "this network" source; §4.2.3.10: a SYN to
// or from a broadcast or multicast address; and our own address, the "land" attack) are
// discarded and counted, never answered; spoofed ARP never teaches tempo a neighbour for its
// own or the broadcast address. RFC 6946 atomic fragments are processed; ACKs for data never
// sent draw challenge ACKs within the RFC 5961 §7 budget, not one each.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"
#include "wire/icmp.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;

Seg syn_from(wire::Ipv4Addr src, uint16_t sport) {
  Seg s;
  s.sport = sport;
  s.dport = kListen;
  s.seq = 1000;
  s.flags = kS;
  s.win = kPeerWin;
  s.src = src;
  return s;
}

TEST(Martians, SynsFromAddressesNoHostUsesAreDiscardedUnanswered) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  const wire::Ipv4Addr martians[] = {
      kTempoIp,                         // land: our own address
      wire::Ipv4Addr{198, 18, 0, 255},  // the subnet's broadcast (198.18.0.0/24)
      wire::Ipv4Addr{198, 18, 0, 0},    // the subnet's network address
      wire::Ipv4Addr{255, 255, 255, 255},
      wire::Ipv4Addr{224, 0, 0, 5},
      wire::Ipv4Addr{127, 0, 0, 1},
      wire::Ipv4Addr{0, 0, 0, 9},  // "this network" (0.0.0.0 itself the bench sends as the peer)
      wire::Ipv4Addr{240, 0, 0, 1}};
  uint16_t sport = 40000;
  for (const wire::Ipv4Addr a : martians) {
    rw.send(syn_from(a, sport++));
    EXPECT_TRUE(rw.poll().empty()) << a.to_string();
  }
  EXPECT_EQ(rw.worker().counters().drop_ipv4_martian_source, std::size(martians));
  EXPECT_EQ(rw.worker().counters().tcp_passive_opens, 0u);
  EXPECT_EQ(rw.worker().counters().tcp_rst_sent, 0u);
  // The same SYN from the peer is taken.
  rw.send(syn_from(kPeerIp, sport));
  const std::vector<Seg> got = rw.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has(kS | kA));
}

std::vector<std::byte> icmp_echo_from(wire::Ipv4Addr src) {
  const std::string data = "ping";
  std::vector<std::byte> frame(14 + 20 + 8 + data.size());
  size_t off = *wire::write_eth(frame, kTempoMac, kPeerMac, wire::kEtherTypeIpv4);
  off += *wire::write_ipv4(std::span(frame).subspan(off),
                           wire::Ipv4HeaderFields{.src = src,
                                                  .dst = kTempoIp,
                                                  .protocol = wire::kIpProtoIcmp,
                                                  .payload_len = static_cast<uint16_t>(8 + 4),
                                                  .ttl = 64,
                                                  .id = 1,
                                                  .dont_fragment = false,
                                                  .tos = 0});
  (void)*wire::write_icmp_echo_request(std::span(frame).subspan(off), 7, 1,
                                       std::as_bytes(std::span(data.data(), data.size())));
  return frame;
}

TEST(Martians, EchoRequestFromAMulticastSourceIsNotAnswered) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  const uint64_t before = rw.other_frames();
  rw.send_frame(icmp_echo_from(wire::Ipv4Addr{224, 0, 0, 5}));
  (void)rw.poll();
  EXPECT_EQ(rw.other_frames(), before);
  EXPECT_EQ(rw.worker().counters().drop_ipv4_martian_source, 1u);
  EXPECT_EQ(rw.worker().counters().icmp_echo_replied, 0u);
  rw.send_frame(icmp_echo_from(kPeerIp));  // the control: answered
  (void)rw.poll();
  EXPECT_EQ(rw.other_frames(), before + 1);
  EXPECT_EQ(rw.worker().counters().icmp_echo_replied, 1u);
}

TEST(Martians, SpoofedArpIsNeitherLearnedNorAnswered) {
  RingWorker rw(peer_config());
  const wire::MacAddr evil{0x02, 0x66, 0x66, 0x66, 0x66, 0x66};
  rw.arp_request(evil, kTempoIp, kTempoIp);                         // claims our address
  rw.arp_request(evil, wire::Ipv4Addr{198, 18, 0, 255}, kTempoIp);  // claims the broadcast address
  rw.arp_request(evil, wire::Ipv4Addr{224, 0, 0, 5}, kTempoIp);     // a multicast address
  rw.arp_request(wire::MacAddr{}, wire::Ipv4Addr{198, 18, 0, 9}, kTempoIp);  // no MAC
  EXPECT_EQ(rw.worker().counters().drop_arp_martian, 4u);
  EXPECT_TRUE(rw.arp_replies_from().empty());
  EXPECT_TRUE(rw.worker().neighbors().empty());
  rw.arp_request(kPeerMac, kPeerIp, kTempoIp);  // the control: learned and answered
  ASSERT_EQ(rw.arp_replies_from().size(), 1u);
  const std::vector<std::string> n = rw.worker().neighbors();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0], kPeerIp.to_string() + " lladdr " + kPeerMac.to_string());
}

// An IPv6 SYN to tempo's link-local address carrying a Fragment header: `frag` is its offset
// and M field (0: an atomic fragment).
std::vector<std::byte> ipv6_syn_with_fragment_header(uint16_t frag) {
  wire::TcpPacketSpec spec{};
  spec.eth_src = kPeerMac;
  spec.eth_dst = kTempoMac;
  spec.ipv6 = true;
  spec.src6 = wire::Ipv6Addr::link_local_from_mac(kPeerMac);
  spec.dst6 = wire::Ipv6Addr::link_local_from_mac(kTempoMac);
  spec.tcp = wire::TcpHeaderFields{.src_port = 41000,
                                   .dst_port = kListen,
                                   .seq = 5000,
                                   .ack = 0,
                                   .flags = wire::TcpFlags(kS),
                                   .window = kPeerWin,
                                   .urgent = 0};
  std::vector<std::byte> f = wire::make_tcp_packet(spec);
  // Next Header 44, then the 8-byte Fragment header (next: TCP), payload length + 8. The TCP
  // checksum's pseudo-header counts only the TCP length: unchanged.
  constexpr size_t kIp = 14;
  const auto nh = f[kIp + 6];
  f[kIp + 6] = std::byte{44};
  const uint16_t plen = static_cast<uint16_t>(
      (uint16_t{std::to_integer<uint8_t>(f[kIp + 4])} << 8 | std::to_integer<uint8_t>(f[kIp + 5])) +
      8);
  f[kIp + 4] = std::byte{static_cast<uint8_t>(plen >> 8)};
  f[kIp + 5] = std::byte{static_cast<uint8_t>(plen)};
  const std::byte hdr[8] = {nh,
                            std::byte{0},
                            std::byte{static_cast<uint8_t>(frag >> 8)},
                            std::byte{static_cast<uint8_t>(frag)},
                            std::byte{0x12},
                            std::byte{0x34},
                            std::byte{0x56},
                            std::byte{0x78}};
  f.insert(f.begin() + kIp + 40, std::begin(hdr), std::end(hdr));
  return f;
}

TEST(Martians, AnIpv6AtomicFragmentIsProcessed) {
  RingWorker rw(peer_config());
  Peer peer(rw, kListen);
  // A first fragment (M set) of 20 bytes: not a multiple of 8, dropped (RFC 8200 §4.5).
  rw.send_frame(ipv6_syn_with_fragment_header(1));
  (void)rw.poll();
  EXPECT_EQ(rw.worker().counters().tcp_passive_opens, 0u);
  EXPECT_EQ(rw.worker().counters().drop_reasm_invalid, 1u);
  const uint64_t before = rw.other_frames();
  rw.send_frame(ipv6_syn_with_fragment_header(0));  // RFC 6946: atomic, processed
  (void)rw.poll();
  EXPECT_EQ(rw.worker().counters().tcp_passive_opens, 1u);
  EXPECT_EQ(rw.other_frames(), before + 1);  // the SYN,ACK (IPv6: not parsed by the bench)
}

TEST(Martians, AcksForDataNeverSentAreAnsweredWithinTheChallengeBudget) {
  RingWorkerConfig cfg = peer_config();
  cfg.worker.challenge_ack_limit_per_sec = 50;
  cfg.tcp.oow_ack_interval = Ticks{};  // the per-core budget alone (one connection stands for many)
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer peer(rw, kListen);
  Flow f = peer.open(St::kEstablished);
  constexpr uint32_t kAcks = 400;
  size_t answered = 0;
  for (uint32_t i = 0; i < kAcks; ++i) {
    rw.send(peer.seg(f, kA, f.p_nxt, f.t_nxt + 100000 + i, kPeerTs + 1));
    if (i % 16 == 15) {
      answered += rw.poll().size();
    }
  }
  answered += rw.poll().size();
  const tcp::Counters& c = rw.worker().tcp_counters();
  EXPECT_EQ(c.drop_ack_unsent, kAcks);
  EXPECT_EQ(answered, 50u);  // all within one second of virtual time
  EXPECT_EQ(c.challenge_acks_limited, kAcks - 50);
  EXPECT_EQ(peer.state(f), St::kEstablished);
}

}  // namespace
}  // namespace tempo::conformance
