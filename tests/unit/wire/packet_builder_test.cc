#include "wire/packet_builder.h"

#include <vector>

#include <gtest/gtest.h>

#include "packets.h"
#include "test_util.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::wire {
namespace {

using testdata::bytes;
using testing::to_vec;

TcpPacketSpec syn_spec() {
  TcpPacketSpec s;
  s.eth_dst = MacAddr(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
  s.eth_src = MacAddr(0x02, 0, 0, 0, 0, 0x01);
  s.src4 = Ipv4Addr(198, 18, 0, 1);
  s.dst4 = Ipv4Addr(198, 18, 0, 2);
  s.ip_id = 0x1c46;
  s.tcp = TcpHeaderFields{.src_port = 40000,
                          .dst_port = 80,
                          .seq = 0x12345678,
                          .flags = TcpFlags(TcpFlags::kSyn),
                          .window = 64240};
  s.options.has_mss = true;
  s.options.mss = 1460;
  s.options.sack_permitted = true;
  s.options.has_timestamps = true;
  s.options.tsval = 123456;
  s.options.has_wscale = true;
  s.options.wscale = 7;
  return s;
}

TEST(PacketBuilder, Ipv4SynMatchesLinux) {
  const auto p = make_tcp_packet(syn_spec());
  EXPECT_EQ(p, to_vec(bytes(testdata::kEthIpv4TcpSyn)));
}

TEST(PacketBuilder, Ipv6SynAckMatchesLiteral) {
  TcpPacketSpec s;
  s.eth_dst = MacAddr(0x02, 0, 0, 0, 0, 0x01);
  s.eth_src = MacAddr(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
  s.ipv6 = true;
  s.src6 = Ipv6Addr::parse("2001:db8::2").value();
  s.dst6 = Ipv6Addr::parse("2001:db8::1").value();
  s.tcp = TcpHeaderFields{.src_port = 80,
                          .dst_port = 40000,
                          .seq = 0x0badcafe,
                          .ack = 0x12345679,
                          .flags = TcpFlags(TcpFlags::kSyn | TcpFlags::kAck),
                          .window = 65160};
  s.options.has_mss = true;
  s.options.mss = 1440;
  s.options.sack_permitted = true;
  s.options.has_timestamps = true;
  s.options.tsval = 987654;
  s.options.tsecr = 123456;
  s.options.has_wscale = true;
  s.options.wscale = 7;
  EXPECT_EQ(make_tcp_packet(s), to_vec(bytes(testdata::kEthIpv6TcpSynAck)));
}

TEST(PacketBuilder, PayloadVlanAndNoEthernet) {
  TcpPacketSpec s = syn_spec();
  const std::vector<std::byte> payload(100, std::byte{0x5a});
  s.payload = payload;
  s.vlan_tci = 0x0064;
  s.tcp.flags = TcpFlags(TcpFlags::kAck | TcpFlags::kPsh);
  s.options = TcpOptions{};
  const auto p = make_tcp_packet(s);
  ASSERT_EQ(p.size(), 18u + 20 + 20 + 100);
  const auto eth = EthView::parse(p).value();
  EXPECT_EQ(eth.vlan_id(), 100);
  const auto ip = Ipv4View::parse(eth.payload()).value();
  EXPECT_EQ(ip.total_length(), 140);
  EXPECT_TRUE(verify_tcp_checksum_ipv4(ip.src(), ip.dst(), ip.payload()));

  s.with_ethernet = false;
  s.vlan_tci.reset();
  const auto l3 = make_tcp_packet(s);
  ASSERT_EQ(l3.size(), 140u);
  EXPECT_TRUE(Ipv4View::parse(l3).ok());

  s.fill_checksum = false;
  const auto nock = make_tcp_packet(s);
  EXPECT_EQ(nock[20 + 16], std::byte{0});
  EXPECT_EQ(nock[20 + 17], std::byte{0});
}

TEST(PacketBuilder, Errors) {
  std::vector<std::byte> out(73);
  EXPECT_EQ(build_tcp_packet(out, syn_spec()).error(), WireError::kNoSpace);
  out.resize(74);
  EXPECT_EQ(build_tcp_packet(out, syn_spec()).value(), 74u);
  for (size_t n : {0u, 13u, 33u, 53u}) {
    EXPECT_EQ(build_tcp_packet(std::span(out).first(n), syn_spec()).error(), WireError::kNoSpace)
        << n;
  }
  TcpPacketSpec s = syn_spec();
  s.options.has_md5 = true;
  s.options.has_ao = true;
  EXPECT_EQ(build_tcp_packet(out, s).error(), WireError::kOptionsTooLong);
  EXPECT_TRUE(make_tcp_packet(s).empty());
}

}  // namespace
}  // namespace tempo::wire
