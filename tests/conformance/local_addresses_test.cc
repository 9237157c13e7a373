// A port's secondary IPv4 addresses (ports[].ipv4_secondary) in the real Worker on a ring port:
// each is answered for in ARP, accepted and answered from in TCP, and may be an active open's
// source; an address of the subnet that is not the port's is not answered (RFC 826 "Packet
// Reception": reply only when we are the target).
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;
const wire::Ipv4Addr kSecondary{198, 18, 0, 70};  // in the block 198.18.0.64/27
const wire::Ipv4Addr kSingle{198, 18, 0, 200};    // a block of one
const wire::Ipv4Addr kNotOurs{198, 18, 0, 100};

RingWorkerConfig with_secondaries() {
  RingWorkerConfig cfg = peer_config();
  cfg.ipv4_secondary = {
      {wire::Ipv4Addr{198, 18, 0, 64}.value(), wire::Ipv4Addr{198, 18, 0, 95}.value()},
      {kSingle.value(), kSingle.value()}};
  return cfg;
}

TEST(LocalAddresses, ArpIsAnsweredForEverySecondaryAddressAndNoOther) {
  RingWorker rw(with_secondaries());
  for (wire::Ipv4Addr a : {kTempoIp, kSecondary, kSingle, wire::Ipv4Addr{198, 18, 0, 64},
                           wire::Ipv4Addr{198, 18, 0, 95}}) {
    rw.arp_request(kPeerMac, kPeerIp, a);
  }
  rw.arp_request(kPeerMac, kPeerIp, kNotOurs);
  rw.arp_request(kPeerMac, kPeerIp, wire::Ipv4Addr{198, 18, 0, 96});  // one past the block
  const std::vector<wire::Ipv4Addr> want{kTempoIp, kSecondary, kSingle,
                                         wire::Ipv4Addr{198, 18, 0, 64},
                                         wire::Ipv4Addr{198, 18, 0, 95}};
  EXPECT_EQ(rw.arp_replies_from(), want);
}

TEST(LocalAddresses, SynToASecondaryAddressIsAnsweredFromIt) {
  RingWorker rw(with_secondaries());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  Seg syn;
  syn.sport = 30000;
  syn.dport = kListen;
  syn.seq = 1000;
  syn.flags = kS;
  syn.win = kPeerWin;
  syn.dst = kSecondary;
  rw.send(syn);
  std::vector<Seg> got = rw.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has(kS | kA));
  EXPECT_EQ(got[0].src, kSecondary);
  EXPECT_EQ(got[0].dst, kPeerIp);
  EXPECT_EQ(got[0].ack, 1001u);

  syn.dst = kNotOurs;  // the subnet's, not the port's: dropped, not reset
  const uint64_t before = rw.worker().counters().drop_not_for_us;
  rw.send(syn);
  EXPECT_TRUE(rw.poll().empty());
  EXPECT_EQ(rw.worker().counters().drop_not_for_us, before + 1);
}

TEST(LocalAddresses, ActiveOpenFromASecondaryAddress) {
  RingWorker rw(with_secondaries());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  auto c = rw.worker().connect(0, rw.peer(8080), Peer::handler(), nullptr, {}, kSingle);
  ASSERT_TRUE(c.ok());
  std::vector<Seg> got = rw.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has(kS));
  EXPECT_EQ(got[0].src, kSingle);
  EXPECT_EQ(rw.worker().tuple_state(0, rw.peer(8080), got[0].sport), St::kClosed)
      << "tuple_state looks at the primary address: the connection is on the secondary";

  auto bad = rw.worker().connect(0, rw.peer(8080), Peer::handler(), nullptr, {}, kNotOurs);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), ConnectError::kNoAddress);
  EXPECT_TRUE(rw.poll().empty());
}

}  // namespace
}  // namespace tempo::conformance
