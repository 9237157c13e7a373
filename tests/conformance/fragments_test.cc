// IP reassembly (stack/reassembly.h) in the real Worker on a ring port: RFC 1122 §3.3.2 (a
// host MUST reassemble), RFC 791 §3.2, RFC 8200 §4.5, RFC 5722. A SYN whose TCP options
// straddle the fragment boundary, data in three fragments out of order, the same over IPv6, an
// overlapping IPv6 fragment, a timeout, a bad checksum found in the reassembled segment, a
// datagram too big for the port's buffer, reassembly turned off, and a flood of incomplete
// datagrams that stays bounded, holds no RX buffer, and after which a connection still works.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv6.h"

namespace tempo::conformance {
namespace {

using namespace flags;
using Frame = std::vector<std::byte>;
using Ranges = std::vector<std::pair<size_t, size_t>>;
constexpr uint16_t kListen = 80;
const wire::Ipv6Addr kTempo6 = *wire::Ipv6Addr::parse("2001:db8::2");
const wire::Ipv6Addr kPeer6 = *wire::Ipv6Addr::parse("2001:db8::1");

// [0, c0), [c0, c1), ... [cn, size): the pieces of an IP payload of `size` bytes.
Ranges cut(size_t size, std::vector<size_t> cuts) {
  Ranges out;
  size_t from = 0;
  for (const size_t c : cuts) {
    out.emplace_back(from, c);
    from = c;
  }
  out.emplace_back(from, size);
  return out;
}

size_t ipv4_payload_size(const Frame& f) {
  return wire::detail::load_be16(&f[14 + 2]) - (std::to_integer<size_t>(f[14]) & 0x0f) * 4;
}
size_t ipv6_payload_size(const Frame& f) { return wire::detail::load_be16(&f[14 + 4]); }

// The IPv4 `frame`'s payload as fragments of datagram `id`, one per range (RFC 791 §3.2: the
// header copied into each, total length, MF and offset set, checksum recomputed). The last
// range ending at the payload's end has MF clear.
std::vector<Frame> fragment4(const Frame& frame, const Ranges& pieces, uint16_t id) {
  const size_t ihl = (std::to_integer<size_t>(frame[14]) & 0x0f) * 4;
  const size_t size = ipv4_payload_size(frame);
  const auto* payload = frame.data() + 14 + ihl;
  std::vector<Frame> out;
  for (const auto& [a, b] : pieces) {
    Frame f(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(14 + ihl));
    f.insert(f.end(), payload + a, payload + b);
    std::byte* ip = f.data() + 14;
    wire::detail::store_be16(ip + 2, static_cast<uint16_t>(ihl + (b - a)));
    wire::detail::store_be16(ip + 4, id);
    wire::detail::store_be16(ip + 6, static_cast<uint16_t>((b < size ? 0x2000 : 0) | a / 8));
    wire::detail::store_be16(ip + 10, 0);
    wire::detail::store_be16(ip + 10, wire::internet_checksum(std::span(ip, ihl)));
    out.push_back(std::move(f));
  }
  return out;
}

// The same for IPv6: a Fragment header after the fixed header (RFC 8200 §4.5).
std::vector<Frame> fragment6(const Frame& frame, const Ranges& pieces, uint32_t id) {
  const size_t size = ipv6_payload_size(frame);
  const auto* payload = frame.data() + 14 + 40;
  const std::byte next = frame[14 + 6];
  std::vector<Frame> out;
  for (const auto& [a, b] : pieces) {
    Frame f(frame.begin(), frame.begin() + 14 + 40);
    f[14 + 6] = std::byte{wire::kIpProtoFragment};
    wire::detail::store_be16(&f[14 + 4], static_cast<uint16_t>(8 + (b - a)));
    Frame hdr(8);
    hdr[0] = next;
    wire::detail::store_be16(&hdr[2], static_cast<uint16_t>(a | (b < size ? 1 : 0)));
    wire::detail::store_be32(&hdr[4], id);
    f.insert(f.end(), hdr.begin(), hdr.end());
    f.insert(f.end(), payload + a, payload + b);
    out.push_back(std::move(f));
  }
  return out;
}

// `frames` into the RX ring in the order given by `order`.
void send_in(RingWorker& rw, const std::vector<Frame>& frames, std::vector<size_t> order) {
  ASSERT_EQ(order.size(), frames.size());
  for (const size_t i : order) {
    rw.send_frame(frames[i]);
  }
}

// The peer's SYN with MSS, SACK permitted and timestamps: a 36-byte TCP header.
Seg syn(uint16_t sport) {
  Seg s;
  s.sport = sport;
  s.dport = kListen;
  s.seq = 7000;
  s.flags = kS;
  s.win = kPeerWin;
  s.opts.has_mss = true;
  s.opts.mss = 1400;
  s.opts.sack_permitted = true;
  s.opts.has_timestamps = true;
  s.opts.tsval = 4242;
  return s;
}

Frame syn6(uint16_t sport) {
  wire::TcpPacketSpec spec{};
  spec.eth_src = kPeerMac;
  spec.eth_dst = kTempoMac;
  spec.ipv6 = true;
  spec.src6 = kPeer6;
  spec.dst6 = kTempo6;
  const Seg s = syn(sport);
  spec.tcp = wire::TcpHeaderFields{.src_port = s.sport,
                                   .dst_port = s.dport,
                                   .seq = s.seq,
                                   .ack = 0,
                                   .flags = wire::TcpFlags(s.flags),
                                   .window = s.win,
                                   .urgent = 0};
  spec.options = s.opts;
  return wire::make_tcp_packet(spec);
}

RingWorkerConfig with_ipv6() {
  RingWorkerConfig cfg = peer_config();
  cfg.ipv6 = {kTempo6, 64};
  return cfg;
}

std::string text(size_t n) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + i % 26);
  }
  return s;
}

// A SYN cut 4 bytes into its options (RFC 791 allows any 8-byte boundary), the second piece
// first: the SYN,ACK echoes the timestamp and answers the MSS the options carried.
TEST(Fragments, Ipv4SynWhoseOptionsStraddleTheBoundary) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  const Frame whole = RingWorker::frame(syn(41000));
  ASSERT_EQ(ipv4_payload_size(whole), 36u);  // 16 bytes of options
  send_in(rw, fragment4(whole, cut(36, {24}), 77), {1, 0});
  const std::vector<Seg> got = rw.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kS | kA);
  EXPECT_EQ(got[0].ack, 7001u);
  EXPECT_TRUE(got[0].opts.has_timestamps);
  EXPECT_EQ(got[0].opts.tsecr, 4242u);  // read from the second fragment
  EXPECT_TRUE(got[0].opts.has_mss);
  const auto& c = rw.worker().counters();
  EXPECT_EQ(c.reasm_fragments, 2u);
  EXPECT_EQ(c.reasm_datagrams, 1u);
  EXPECT_EQ(c.tcp_passive_opens, 1u);
  EXPECT_EQ(rw.worker().reassembling(), 0u);
}

// 1000 bytes of data in three fragments, last first: one ACK for all of it. The reassembled
// segment's checksum is verified in software (no offload applies), so a byte misplaced would
// drop it, not ACK it.
TEST(Fragments, Ipv4DataInThreeFragmentsOutOfOrder) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  Flow f = peer.open(St::kEstablished);
  const Frame whole =
      RingWorker::frame(peer.seg(f, kA | kP, f.p_nxt, f.t_nxt, kPeerTs + 1, text(1000)));
  const size_t size = ipv4_payload_size(whole);
  send_in(rw, fragment4(whole, cut(size, {320, 640}), 900), {2, 0, 1});
  const std::vector<Seg> got = peer.replies(f, rw.now() + Ticks::from_ms(100));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().ack, f.p_nxt + 1000);
  EXPECT_EQ(rw.worker().counters().reasm_datagrams, 1u);
  EXPECT_EQ(rw.worker().counters().reasm_fragments, 3u);
  EXPECT_EQ(peer.state(f), St::kEstablished);
}

TEST(Fragments, Ipv4BadChecksumInTheReassembledSegmentIsDropped) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  Flow f = peer.open(St::kEstablished);
  const Frame whole =
      RingWorker::frame(peer.seg(f, kA | kP, f.p_nxt, f.t_nxt, kPeerTs + 1, text(600)));
  std::vector<Frame> pieces = fragment4(whole, cut(ipv4_payload_size(whole), {320}), 901);
  pieces[1][14 + 20 + 100] ^= std::byte{0x01};  // a data byte of the second fragment
  send_in(rw, pieces, {0, 1});
  const std::vector<Seg> got = peer.replies(f, rw.now() + Ticks::from_ms(100));
  for (const Seg& s : got) {
    EXPECT_EQ(s.ack, f.p_nxt);  // nothing taken
  }
  EXPECT_EQ(rw.worker().counters().reasm_datagrams, 1u);
  EXPECT_EQ(rw.worker().counters().dropped(telemetry::Layer::kTcp, wire::WireError::kBadChecksum),
            1u);
}

TEST(Fragments, Ipv4DatagramLongerThanThePortsBufferIsDropped) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  Flow f = peer.open(St::kEstablished);
  // 2,500 bytes of data: a 2,552-byte datagram, past a 2,048-byte buffer.
  const Frame whole =
      RingWorker::frame(peer.seg(f, kA | kP, f.p_nxt, f.t_nxt, kPeerTs + 1, text(2500)));
  send_in(rw, fragment4(whole, cut(ipv4_payload_size(whole), {1480}), 902), {0, 1});
  (void)peer.replies(f, rw.now() + Ticks::from_ms(100));
  EXPECT_EQ(rw.worker().counters().drop_reasm_too_big, 1u);
  EXPECT_EQ(rw.worker().counters().reasm_datagrams, 0u);
  EXPECT_EQ(rw.worker().reassembling(), 0u);
}

TEST(Fragments, Ipv6SynWhoseOptionsStraddleTheBoundary) {
  RingWorker rw(with_ipv6());
  Peer peer(rw, kListen);
  const Frame whole = syn6(42000);
  send_in(rw, fragment6(whole, cut(ipv6_payload_size(whole), {24}), 0xabcdef), {1, 0});
  (void)rw.poll();
  const std::vector<Seg6> got = rw.take_tcp6();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kS | kA);
  EXPECT_EQ(got[0].dport, 42000);
  EXPECT_EQ(got[0].ack, 7001u);
  EXPECT_EQ(got[0].opts.tsecr, 4242u);
  EXPECT_EQ(rw.worker().counters().reasm_datagrams, 1u);
}

TEST(Fragments, Ipv6ThreeFragmentsOutOfOrder) {
  RingWorker rw(with_ipv6());
  Peer peer(rw, kListen);
  const Frame whole = syn6(42001);
  send_in(rw, fragment6(whole, cut(ipv6_payload_size(whole), {24, 32}), 5), {2, 1, 0});
  (void)rw.poll();
  const std::vector<Seg6> got = rw.take_tcp6();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kS | kA);
  EXPECT_EQ(rw.worker().counters().reasm_fragments, 3u);
}

// RFC 5722 §4: a fragment overlapping another abandons the datagram, silently; the same SYN
// cut cleanly is then taken.
TEST(Fragments, Ipv6OverlappingFragmentIsDroppedAndCounted) {
  RingWorker rw(with_ipv6());
  Peer peer(rw, kListen);
  const Frame whole = syn6(42002);
  const size_t size = ipv6_payload_size(whole);
  send_in(rw, fragment6(whole, {{0, 24}, {16, size}}, 6), {0, 1});
  (void)rw.poll();
  EXPECT_TRUE(rw.take_tcp6().empty());
  EXPECT_EQ(rw.worker().counters().drop_reasm_overlap, 1u);
  EXPECT_EQ(rw.worker().counters().reasm_datagrams, 0u);
  EXPECT_EQ(rw.worker().reassembling(), 0u);
  EXPECT_EQ(rw.worker().counters().tcp_passive_opens, 0u);
  send_in(rw, fragment6(whole, cut(size, {24}), 7), {0, 1});
  (void)rw.poll();
  const std::vector<Seg6> got = rw.take_tcp6();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, kS | kA);
}

// A datagram missing a fragment is dropped when its timeout, counted from its first fragment,
// passes (both sides of it).
TEST(Fragments, TimeoutIsCounted) {
  RingWorkerConfig cfg = peer_config();
  cfg.reasm = stack::ReassemblyConfig{};
  cfg.reasm->timeout = Ticks::from_ms(3000);
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer peer(rw, kListen);
  const Frame whole = RingWorker::frame(syn(41001));
  const std::vector<Frame> pieces = fragment4(whole, cut(36, {24}), 78);
  const Ticks t0 = rw.now();
  rw.send_frame(pieces[0]);
  (void)rw.poll();
  EXPECT_EQ(rw.worker().reassembling(), 1u);
  (void)rw.run_until(t0 + Ticks::from_ms(2990));
  EXPECT_EQ(rw.worker().reassembling(), 1u);
  EXPECT_EQ(rw.worker().counters().drop_reasm_timeout, 0u);
  (void)rw.run_until(t0 + Ticks::from_ms(3000));
  EXPECT_EQ(rw.worker().reassembling(), 0u);
  EXPECT_EQ(rw.worker().counters().drop_reasm_timeout, 1u);
  rw.send_frame(pieces[1]);  // too late: held alone
  EXPECT_TRUE(rw.poll().empty());
  EXPECT_EQ(rw.worker().counters().tcp_passive_opens, 0u);
}

TEST(Fragments, OffDropsEveryFragment) {
  RingWorkerConfig cfg = with_ipv6();
  cfg.reasm = stack::ReassemblyConfig{};
  cfg.reasm->max_datagrams = 0;
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer peer(rw, kListen);
  send_in(rw, fragment4(RingWorker::frame(syn(41002)), cut(36, {24}), 79), {0, 1});
  EXPECT_TRUE(rw.poll().empty());
  const Frame whole6 = syn6(42003);
  send_in(rw, fragment6(whole6, cut(ipv6_payload_size(whole6), {24}), 8), {0, 1});
  (void)rw.poll();
  EXPECT_TRUE(rw.take_tcp6().empty());
  EXPECT_EQ(rw.worker().counters().drop_ipv4_fragment, 2u);
  EXPECT_EQ(rw.worker().counters().drop_ipv6_fragment, 2u);
  EXPECT_EQ(rw.worker().counters().reasm_fragments, 0u);
  EXPECT_EQ(rw.worker().counters().tcp_passive_opens, 0u);
}

// A flood of first fragments that never complete, from many sources: reassembly holds at most
// max_datagrams (the oldest evicted), no RX buffer stays taken (fragments are copied), and a
// connection opened after it works, its data in fragments too.
TEST(Fragments, FloodOfIncompleteDatagramsIsBoundedAndAConnectionStillWorks) {
  RingWorkerConfig cfg = peer_config();
  cfg.reasm = stack::ReassemblyConfig{};
  cfg.reasm->max_datagrams = 16;
  cfg.rx_pool_mbufs = 1023;
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer peer(rw, kListen);
  const unsigned free_before = rte_mempool_avail_count(rw.rx_pool());
  constexpr uint32_t kFlood = 4000;
  for (uint32_t i = 0; i < kFlood; ++i) {
    Seg s = syn(static_cast<uint16_t>(1024 + i));
    s.src = wire::Ipv4Addr{198, 18, 0, static_cast<uint8_t>(10 + i % 200)};
    const std::vector<Frame> pieces =
        fragment4(RingWorker::frame(s), cut(36, {24}), static_cast<uint16_t>(i));
    rw.send_frame(pieces[0]);
    if (i % 256 == 255) {
      EXPECT_TRUE(rw.poll().empty());
      EXPECT_LE(rw.worker().reassembling(), 16u);
    }
  }
  EXPECT_TRUE(rw.poll().empty());
  const auto& c = rw.worker().counters();
  EXPECT_EQ(rw.worker().reassembling(), 16u);
  EXPECT_EQ(c.reasm_peak, 16u);
  EXPECT_EQ(c.drop_reasm_evicted, kFlood - 16);
  EXPECT_EQ(c.drop_no_mbuf, 0u);
  EXPECT_EQ(rte_mempool_avail_count(rw.rx_pool()), free_before);  // no RX buffer held
  Flow f = peer.open(St::kEstablished);
  ASSERT_EQ(peer.state(f), St::kEstablished);
  const Frame whole =
      RingWorker::frame(peer.seg(f, kA | kP, f.p_nxt, f.t_nxt, kPeerTs + 1, text(1200)));
  send_in(rw, fragment4(whole, cut(ipv4_payload_size(whole), {600}), 60000), {1, 0});
  const std::vector<Seg> got = peer.replies(f, rw.now() + Ticks::from_ms(100));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().ack, f.p_nxt + 1200);
  EXPECT_EQ(c.reasm_datagrams, 1u);
}

}  // namespace
}  // namespace tempo::conformance
