// TxEncoder (lib/stack/tx_encoder.h) on real mbufs from a minimal EAL, with no Worker and no
// port: what frames a segment becomes (copied or attached by reference), their checksums
// (summed here, or left to the NIC with the pseudo-header sum in place), TSO merging of one
// connection's consecutive segments and what ends a frame, and an empty pool.
#include "stack/tx_encoder.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "common/eal_env.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace tempo::stack {
namespace {

rte_mempool* g_pool = nullptr;

const wire::MacAddr kOurMac{0x02, 0, 0, 0, 0, 2};
const wire::MacAddr kPeerMac{0x02, 0, 0, 0, 0, 1};

Interface iface() {
  Interface i;
  i.pool = g_pool;
  i.mac = kOurMac;
  i.ipv4 = wire::Ipv4Addr{198, 18, 0, 2};
  i.ipv4_prefix = 24;
  return i;
}

TxFlow flow(const void* id = &g_pool) {
  TxFlow f;
  f.id = id;
  f.tuple = flow::Tuple::of(flow::Tuple4{.local = wire::Ipv4Addr{198, 18, 0, 2}.value(),
                                         .remote = wire::Ipv4Addr{198, 18, 0, 1}.value(),
                                         .local_port = 40000,
                                         .remote_port = 80});
  f.dst_mac = kPeerMac;
  f.dst_known = true;
  return f;
}

// `n` bytes of payload in one mbuf, 'a'..'z' from `first`.
MbufBuf payload(uint32_t n, char first = 'a') {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  EXPECT_NE(m, nullptr);
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
  for (uint32_t k = 0; k < n; ++k) {
    p[k] = static_cast<char>('a' + (first - 'a' + k) % 26);
  }
  return MbufBuf(m);
}

tcp::OutSegment<MbufBuf> segment(const MbufBuf& data, uint32_t seq) {
  tcp::OutSegment<MbufBuf> s;
  s.seq = tcp::SeqNum(seq);
  s.ack = tcp::SeqNum(7);
  s.flags = tcp::flag::kAck | tcp::flag::kPsh;
  s.window = 1000;
  s.len = data.size();
  if (s.len > 0) {
    s.refs[0] = {&data, 0, data.size()};
    s.num_refs = 1;
  }
  return s;
}

// The frame's bytes, every segment of the chain in order.
std::vector<std::byte> linear(const rte_mbuf* m) {
  std::vector<std::byte> out;
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    const auto* p = rte_pktmbuf_mtod(s, const std::byte*);
    out.insert(out.end(), p, p + s->data_len);
  }
  return out;
}

struct Parsed {
  std::vector<std::byte> frame;
  uint32_t seq = 0;
  std::string data;
  bool checksum_ok = false;
  uint16_t checksum_field = 0;
  uint16_t ip_total = 0;
};

Parsed parse(const rte_mbuf* m) {
  Parsed r;
  r.frame = linear(m);
  if ((m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) != 0) {
    // Left to the NIC (TSO): filled here so that the header parses.
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(r.frame.data() + 14);
    EXPECT_EQ(ip->hdr_checksum, 0);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  auto eth = wire::EthView::parse(r.frame);
  EXPECT_TRUE(eth.ok());
  EXPECT_EQ(eth->dst(), kPeerMac);
  EXPECT_EQ(eth->src(), kOurMac);
  auto ip = wire::Ipv4View::parse(eth->payload());
  if (!ip.ok()) {
    ADD_FAILURE() << "IPv4 header does not parse";
    return r;
  }
  r.ip_total = static_cast<uint16_t>(std::to_integer<uint16_t>(eth->payload()[2]) << 8 |
                                     std::to_integer<uint16_t>(eth->payload()[3]));
  auto tcp = wire::TcpView::parse(ip->payload());
  if (!tcp.ok()) {
    ADD_FAILURE() << "TCP header does not parse";
    return r;
  }
  r.seq = tcp->seq();
  r.data.assign(reinterpret_cast<const char*>(tcp->payload().data()), tcp->payload().size());
  r.checksum_ok = wire::verify_tcp_checksum_ipv4(ip->src(), ip->dst(), ip->payload());
  std::memcpy(&r.checksum_field, ip->payload().data() + 16, 2);
  return r;
}

std::string letters(uint32_t n, char first = 'a') {
  std::string s(n, ' ');
  for (uint32_t k = 0; k < n; ++k) {
    s[k] = static_cast<char>('a' + (first - 'a' + k) % 26);
  }
  return s;
}

TEST(TxEncoder, SmallPayloadIsCopiedIntoOneMbufAndSummedHere) {
  const unsigned before = rte_mempool_avail_count(g_pool);
  {
    telemetry::StackCounters n;
    TxEncoder enc(n);
    const MbufBuf data = payload(100);
    const auto out = enc.encode(iface(), flow(), segment(data, 1000));
    ASSERT_EQ(out.n, 1);
    EXPECT_EQ(out.m[0]->nb_segs, 1);
    const Parsed p = parse(out.m[0]);
    EXPECT_EQ(p.seq, 1000u);
    EXPECT_EQ(p.data, letters(100));
    EXPECT_TRUE(p.checksum_ok);
    EXPECT_EQ(out.m[0]->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, 0u);
    EXPECT_EQ(n.tcp_segments_sent, 1u);
    EXPECT_FALSE(enc.holding());
    rte_pktmbuf_free(out.m[0]);
  }
  EXPECT_EQ(rte_mempool_avail_count(g_pool), before);
}

TEST(TxEncoder, LargePayloadIsAttachedByReference) {
  telemetry::StackCounters n;
  TxEncoder enc(n);
  const MbufBuf data = payload(1000);
  const auto out = enc.encode(iface(), flow(), segment(data, 5));
  ASSERT_EQ(out.n, 1);
  ASSERT_EQ(out.m[0]->nb_segs, 2);
  const rte_mbuf* piece = out.m[0]->next;
  EXPECT_TRUE(RTE_MBUF_CLONED(piece));
  EXPECT_EQ(rte_mbuf_from_indirect(const_cast<rte_mbuf*>(piece)), data.mbuf());
  EXPECT_EQ(rte_pktmbuf_mtod(piece, const char*), rte_pktmbuf_mtod(data.mbuf(), const char*))
      << "the frame points at the payload's own bytes: no copy";
  const Parsed p = parse(out.m[0]);
  EXPECT_EQ(p.data, letters(1000));
  EXPECT_TRUE(p.checksum_ok) << "the chain is summed across its segments";
  rte_pktmbuf_free(out.m[0]);
}

TEST(TxEncoder, ChecksumOffloadLeavesThePseudoHeaderSum) {
  telemetry::StackCounters n;
  TxEncoder enc(n);
  Interface i = iface();
  i.tx_tcp_cksum = true;
  const MbufBuf data = payload(100);
  const auto out = enc.encode(i, flow(), segment(data, 1));
  ASSERT_EQ(out.n, 1);
  rte_mbuf* m = out.m[0];
  EXPECT_NE(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, 0u);
  EXPECT_EQ(m->l2_len, 14u);
  EXPECT_EQ(m->l3_len, 20u);
  const uint16_t phdr =
      rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14), m->ol_flags);
  EXPECT_EQ(parse(m).checksum_field, phdr);
  EXPECT_EQ(n.tx_cksum_offloaded, 1u);
  rte_pktmbuf_free(m);
}

TEST(TxEncoder, OnATrustedLinkNothingIsSummed) {
  telemetry::StackCounters n;
  TxEncoder enc(n);
  Interface i = iface();
  i.trusted_link = true;
  i.tx_tcp_cksum = true;  // even where the NIC would sum it: nothing asks it to
  const MbufBuf data = payload(1000);
  const auto out = enc.encode(i, flow(), segment(data, 1));
  ASSERT_EQ(out.n, 1);
  rte_mbuf* m = out.m[0];
  EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, 0u);
  EXPECT_EQ(parse(m).checksum_field, 0);
  EXPECT_EQ(n.tx_cksum_trusted, 1u);
  EXPECT_EQ(n.tx_cksum_offloaded, 0u);
  rte_pktmbuf_free(m);
}

TEST(TxEncoder, ConsecutiveSegmentsOfOneConnectionMergeIntoOneTsoFrame) {
  telemetry::StackCounters n;
  TxEncoder enc(n);
  Interface i = iface();
  i.tx_tcp_cksum = true;
  i.tx_tso = true;
  const MbufBuf a = payload(1000, 'a');
  const MbufBuf b = payload(1000, 'm');
  const MbufBuf c = payload(600, 'y');
  EXPECT_EQ(enc.encode(i, flow(), segment(a, 100)).n, 0);
  EXPECT_EQ(enc.encode(i, flow(), segment(b, 1100)).n, 0);
  EXPECT_EQ(enc.encode(i, flow(), segment(c, 2100)).n, 0);
  EXPECT_TRUE(enc.holding());
  rte_mbuf* m = enc.flush(i);
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(enc.holding());
  EXPECT_NE(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG, 0u);
  EXPECT_EQ(m->tso_segsz, 1000u);
  EXPECT_EQ(rte_pktmbuf_pkt_len(m), 14u + 20 + 20 + 2600);
  const Parsed p = parse(m);
  EXPECT_EQ(p.ip_total, 20 + 20 + 2600);
  EXPECT_EQ(p.seq, 100u);
  EXPECT_EQ(p.data, letters(1000, 'a') + letters(1000, 'm') + letters(600, 'y'));
  EXPECT_EQ(n.tx_tso_merged, 2u);
  EXPECT_EQ(n.tx_tso_frames, 1u);
  EXPECT_EQ(n.tcp_segments_sent, 3u);
  rte_pktmbuf_free(m);
}

TEST(TxEncoder, AGapAnotherConnectionOrAShortSegmentEndsTheFrame) {
  telemetry::StackCounters n;
  TxEncoder enc(n);
  Interface i = iface();
  i.tx_tcp_cksum = true;
  i.tx_tso = true;
  const MbufBuf a = payload(1000);
  int other = 0;
  EXPECT_EQ(enc.encode(i, flow(), segment(a, 100)).n, 0);
  // Not at the next sequence number: the open frame leaves (alone, an ordinary segment) and
  // this one is held.
  auto out = enc.encode(i, flow(), segment(a, 5000));
  ASSERT_EQ(out.n, 1);
  EXPECT_EQ(out.m[0]->ol_flags & RTE_MBUF_F_TX_TCP_SEG, 0u);
  EXPECT_EQ(parse(out.m[0]).seq, 100u);
  rte_pktmbuf_free(out.m[0]);
  // Another connection's segment at the "next" sequence number does not join either.
  out = enc.encode(i, flow(&other), segment(a, 6000));
  ASSERT_EQ(out.n, 1);
  EXPECT_EQ(parse(out.m[0]).seq, 5000u);
  rte_pktmbuf_free(out.m[0]);
  // A short segment joins and ends the frame: the next one cannot follow it.
  const MbufBuf shorter = payload(700);
  EXPECT_EQ(enc.encode(i, flow(&other), segment(shorter, 7000)).n, 0);
  out = enc.encode(i, flow(&other), segment(a, 7700));
  ASSERT_EQ(out.n, 1);
  EXPECT_EQ(rte_pktmbuf_pkt_len(out.m[0]), 14u + 40 + 1700);
  rte_pktmbuf_free(out.m[0]);
  rte_pktmbuf_free(enc.flush(i));
  EXPECT_EQ(n.tx_tso_merged, 1u);
}

TEST(TxEncoder, AnUnresolvedNextHopIsNeverHeldOpen) {
  telemetry::StackCounters n;
  TxEncoder enc(n);
  Interface i = iface();
  i.tx_tso = true;
  TxFlow f = flow();
  f.dst_known = false;
  const MbufBuf a = payload(1000);
  const auto out = enc.encode(i, f, segment(a, 1));
  ASSERT_EQ(out.n, 1) << "returned at once, for the caller to park";
  EXPECT_FALSE(enc.holding());
  rte_pktmbuf_free(out.m[0]);
}

TEST(TxEncoder, NetTapOddLengthPiecesAreNotMergedAndChainsAreSummedHere) {
  telemetry::StackCounters n;
  TxEncoder enc(n);
  Interface i = iface();
  i.tx_tcp_cksum = true;
  i.tx_tso = true;
  i.tap_offloads = true;
  const MbufBuf odd = payload(1001);
  const auto out = enc.encode(i, flow(), segment(odd, 1));
  ASSERT_EQ(out.n, 1);
  EXPECT_FALSE(enc.holding());
  EXPECT_EQ(out.m[0]->nb_segs, 2);
  // net_tap sums each piece of a chain on its own: tempo sums the chain itself.
  EXPECT_EQ(out.m[0]->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, 0u);
  EXPECT_TRUE(parse(out.m[0]).checksum_ok);
  rte_pktmbuf_free(out.m[0]);
}

TEST(TxEncoder, AnEmptyPoolDropsTheSegmentAndCountsIt) {
  telemetry::StackCounters n;
  TxEncoder enc(n);
  Interface i = iface();
  rte_mempool* tiny = rte_pktmbuf_pool_create("tx_tiny", 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  ASSERT_NE(tiny, nullptr);
  rte_mbuf* held = rte_pktmbuf_alloc(tiny);  // the only one
  ASSERT_NE(held, nullptr);
  i.pool = tiny;
  const MbufBuf data = payload(100);
  const auto out = enc.encode(i, flow(), segment(data, 1));
  EXPECT_EQ(out.n, 0);
  EXPECT_EQ(n.drop_no_mbuf, 1u);
  EXPECT_EQ(n.tcp_segments_sent, 0u);
  rte_pktmbuf_free(held);
  rte_mempool_free(tiny);
}

}  // namespace
}  // namespace tempo::stack

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("tx_encoder_test"));
  ::testing::AddGlobalTestEnvironment(
      new tempo::test::MbufPoolEnvironment("txe", 255, &tempo::stack::g_pool));
  return RUN_ALL_TESTS();
}
