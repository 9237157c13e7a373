// ICMP and ICMPv6 errors for TCP on the real Worker (ring port, virtual clock): a router's
// "fragmentation needed" (RFC 1191) or "packet too big" (RFC 8201) quoting one of tempo's
// segments lowers that connection's send MSS and what was in flight leaves again at the new size
// (the frames' sizes are checked); RFC 5927's checks (the quoted sequence number in flight, the
// quoted tuple a live connection) ignore the rest; the floor (552, 1280) and RFC 1191 §5's
// plateau; the learned MTU is kept per destination for later connections, and expires; hard
// errors abort SYN-SENT only (RFC 1122 §4.2.3.9); source quench is ignored (RFC 6633).
#include "wire/icmp.h"

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"
#include "stack/icmp_errors.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/tcp_options.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;
const wire::Ipv4Addr kRouter{198, 18, 0, 254};  // the hop with the smaller MTU

// What a router quotes of `s` (a segment tempo sent, 198.18.0.2 -> `s.dst`): the IPv4 header,
// as long as the segment was, and the first 8 bytes of TCP (RFC 792's minimum).
std::vector<std::byte> quote4(const Seg& s) {
  const size_t tcp_len = wire::TcpView::kMinHeaderLen + wire::tcp_options_length(s.opts);
  std::vector<std::byte> q(wire::Ipv4View::kMinHeaderLen + 8);
  (void)*wire::write_ipv4(
      q, wire::Ipv4HeaderFields{.src = kTempoIp,
                                .dst = s.dst == wire::Ipv4Addr{} ? kPeerIp : s.dst,
                                .protocol = wire::kIpProtoTcp,
                                .payload_len = static_cast<uint16_t>(tcp_len + s.data.size()),
                                .ttl = 63,
                                .id = 0,
                                .dont_fragment = true,
                                .tos = 0});
  std::byte* t = q.data() + wire::Ipv4View::kMinHeaderLen;
  wire::detail::store_be16(t, s.sport);
  wire::detail::store_be16(t + 2, s.dport);
  wire::detail::store_be32(t + 4, s.seq);
  return q;
}

// An ICMP message from the router to tempo.
std::vector<std::byte> icmp4(uint8_t type, uint8_t code, uint32_t rest,
                             const std::vector<std::byte>& quote) {
  const size_t icmp_len = wire::IcmpView::kHeaderLen + quote.size();
  std::vector<std::byte> f(wire::EthView::kHeaderLen + wire::Ipv4View::kMinHeaderLen + icmp_len);
  size_t off = *wire::write_eth(f, kTempoMac, kPeerMac, wire::kEtherTypeIpv4);
  off += *wire::write_ipv4(std::span(f).subspan(off),
                           wire::Ipv4HeaderFields{.src = kRouter,
                                                  .dst = kTempoIp,
                                                  .protocol = wire::kIpProtoIcmp,
                                                  .payload_len = static_cast<uint16_t>(icmp_len),
                                                  .ttl = 64,
                                                  .id = 0,
                                                  .dont_fragment = false,
                                                  .tos = 0});
  (void)*wire::write_icmp(std::span(f).subspan(off), type, code, rest, quote);
  return f;
}
std::vector<std::byte> frag_needed(const Seg& s, uint16_t mtu) {
  return icmp4(wire::kIcmpDestUnreachable, wire::kIcmpCodeFragNeeded, mtu, quote4(s));
}

// The IPv4 packet length of a segment as it left tempo.
size_t ip_len(const Seg& s) {
  return wire::Ipv4View::kMinHeaderLen + wire::TcpView::kMinHeaderLen +
         wire::tcp_options_length(s.opts) + s.data.size();
}

RingWorkerConfig icmp_config() {
  RingWorkerConfig cfg = peer_config();
  cfg.worker.pmtu_expires = Ticks::from_sec(30);
  return cfg;
}

class Icmp : public ::testing::Test {
 protected:
  Icmp() : rw_(icmp_config()), peer_(rw_, kListen) { rw_.introduce_peer(); }

  // ESTABLISHED (the peer's MSS 1460, timestamps: tempo's segments carry 1,448 bytes) and three
  // full segments in flight, unacknowledged.
  std::vector<Seg> three_in_flight(Flow& f) {
    f = peer_.open(St::kEstablished);
    Conn* c = Peer::conn(f.pport);
    EXPECT_NE(c, nullptr);
    EXPECT_EQ(c->tcb.snd_mss, 1448u);
    const std::string data = payload(3 * 1448);
    EXPECT_EQ(rw_.worker().send_copy(*c, std::as_bytes(std::span(data))), data.size());
    std::vector<Seg> out = rw_.poll();
    EXPECT_EQ(out.size(), 3u);
    for (const Seg& s : out) {
      EXPECT_EQ(s.data.size(), 1448u);
      EXPECT_EQ(ip_len(s), 1500u);
    }
    return out;
  }
  static std::string payload(size_t n) {
    std::string s(n, 'a');
    for (size_t i = 0; i < n; ++i) {
      s[i] = static_cast<char>('a' + i % 23);
    }
    return s;
  }
  const stack::IcmpCounters& icmp() { return rw_.worker().icmp_counters(); }
  std::optional<uint16_t> learned() { return rw_.worker().path_mtu(rw_.peer(0)); }

  RingWorker rw_;
  Peer peer_;
};

TEST_F(Icmp, Rfc1191_FragNeededLowersTheMssAndResendsInFlightAtTheNewSize) {
  Flow f;
  const std::vector<Seg> sent = three_in_flight(f);
  rw_.send_frame(frag_needed(sent[1], 1280));
  const std::vector<Seg> again = rw_.poll();
  // 1280 - 20 - 20 - 12 (timestamps) = 1228: 4,344 bytes from SND.UNA in 1228, 1228, 1228, 660.
  ASSERT_EQ(again.size(), 4u);
  uint32_t seq = sent[0].seq;
  const std::string all = sent[0].data + sent[1].data + sent[2].data;
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].seq, seq) << i;
    EXPECT_EQ(again[i].data.size(), i < 3 ? 1228u : 660u) << i;
    EXPECT_LE(ip_len(again[i]), 1280u) << i;
    EXPECT_EQ(again[i].data, all.substr(seq - sent[0].seq, again[i].data.size())) << i;
    seq += static_cast<uint32_t>(again[i].data.size());
  }
  EXPECT_EQ(ip_len(again[0]), 1280u);
  EXPECT_EQ(Peer::conn(f.pport)->tcb.snd_mss, 1228u);
  EXPECT_EQ(icmp().icmp_frag_needed, 1u);
  EXPECT_EQ(icmp().icmp_pmtu_lowered, 1u);
  EXPECT_EQ(learned(), 1280);
  EXPECT_EQ(rw_.worker().pmtu_counters().pmtu_learned, 1u);
  // The other messages of the burst (one per dropped segment) change nothing more.
  rw_.send_frame(frag_needed(sent[2], 1280));
  EXPECT_TRUE(rw_.poll().empty());
  EXPECT_EQ(icmp().icmp_pmtu_not_lower, 1u);
  // New data leaves at the new size.
  const std::string more = payload(3000);
  Conn* c = Peer::conn(f.pport);
  rw_.send(peer_.seg(f, kA, f.p_nxt, sent[2].seq + 1448, kPeerTs + 1));  // all acknowledged
  (void)rw_.poll();
  ASSERT_EQ(rw_.worker().send_copy(*c, std::as_bytes(std::span(more))), more.size());
  const std::vector<Seg> next = rw_.poll();
  ASSERT_FALSE(next.empty());
  for (const Seg& s : next) {
    EXPECT_LE(ip_len(s), 1280u);
  }
  EXPECT_EQ(next[0].data.size(), 1228u);
}

TEST_F(Icmp, Rfc5927_QuotedSequenceNotInFlightIsIgnored) {
  Flow f;
  const std::vector<Seg> sent = three_in_flight(f);
  rw_.send(peer_.seg(f, kA, f.p_nxt, sent[1].seq, kPeerTs + 1));  // the first one acknowledged
  (void)rw_.poll();
  for (const uint32_t seq : {sent[0].seq, sent[1].seq - 1, sent[2].seq + 1448, sent[0].seq + 70000,
                             sent[0].seq - 100000}) {
    Seg q = sent[1];
    q.seq = seq;
    rw_.send_frame(frag_needed(q, 1280));
    EXPECT_TRUE(rw_.poll().empty()) << seq;
  }
  EXPECT_EQ(icmp().icmp_pmtu_ignored_seq, 5u);
  EXPECT_EQ(icmp().icmp_pmtu_lowered, 0u);
  EXPECT_EQ(Peer::conn(f.pport)->tcb.snd_mss, 1448u);
  EXPECT_FALSE(learned());  // nothing learned from a message that failed the check
  // The same at the last octet in flight is taken.
  Seg q = sent[2];
  q.seq = sent[2].seq + 1447;
  rw_.send_frame(frag_needed(q, 1280));
  EXPECT_EQ(rw_.poll().size(), 3u);  // 2,896 bytes from SND.UNA: 1228, 1228, 440
  EXPECT_EQ(icmp().icmp_pmtu_lowered, 1u);
}

TEST_F(Icmp, Rfc5927_QuotedTupleNotALiveConnectionIsIgnored) {
  Flow f;
  const std::vector<Seg> sent = three_in_flight(f);
  Seg other_port = sent[0];
  other_port.dport = static_cast<uint16_t>(f.pport + 1000);
  Seg other_peer = sent[0];
  other_peer.dst = wire::Ipv4Addr{198, 18, 0, 77};
  Seg other_local_port = sent[0];
  other_local_port.sport = 8080;
  for (const Seg& q : {other_port, other_peer, other_local_port}) {
    rw_.send_frame(frag_needed(q, 1280));
    EXPECT_TRUE(rw_.poll().empty());
  }
  // Not from us: the quoted source is another address.
  std::vector<std::byte> q = quote4(sent[0]);
  wire::detail::store_be32(q.data() + 12, wire::Ipv4Addr{198, 18, 0, 9}.value());
  rw_.send_frame(icmp4(wire::kIcmpDestUnreachable, wire::kIcmpCodeFragNeeded, 1280, q));
  EXPECT_TRUE(rw_.poll().empty());
  EXPECT_EQ(icmp().icmp_pmtu_ignored_no_conn, 4u);
  // Not a TCP segment, or too short to hold its sequence number.
  q = quote4(sent[0]);
  q[9] = std::byte{17};
  rw_.send_frame(icmp4(wire::kIcmpDestUnreachable, wire::kIcmpCodeFragNeeded, 1280, q));
  q = quote4(sent[0]);
  q.resize(q.size() - 1);
  rw_.send_frame(icmp4(wire::kIcmpDestUnreachable, wire::kIcmpCodeFragNeeded, 1280, q));
  EXPECT_TRUE(rw_.poll().empty());
  EXPECT_EQ(icmp().icmp_bad_quote, 2u);
  EXPECT_EQ(icmp().icmp_frag_needed, 4u);  // those that quote a TCP segment of ours
  EXPECT_EQ(Peer::conn(f.pport)->tcb.snd_mss, 1448u);
  EXPECT_FALSE(learned());
}

TEST_F(Icmp, Rfc1191_BelowTheFloorIsRaisedToIt) {
  Flow f;
  const std::vector<Seg> sent = three_in_flight(f);
  rw_.send_frame(frag_needed(sent[0], 300));
  const std::vector<Seg> again = rw_.poll();
  // 552 (Linux min_pmtu) - 52 = 500 bytes a segment: 4,344 bytes in 9.
  ASSERT_EQ(again.size(), 9u);
  for (const Seg& s : again) {
    EXPECT_LE(ip_len(s), 552u);
  }
  EXPECT_EQ(again[0].data.size(), 500u);
  EXPECT_EQ(icmp().icmp_pmtu_floor, 1u);
  EXPECT_EQ(learned(), 552);
}

TEST_F(Icmp, Rfc1191_5_NoNextHopMtuTakesThePlateauBelowTheQuotedLength) {
  Flow f;
  const std::vector<Seg> sent = three_in_flight(f);
  rw_.send_frame(frag_needed(sent[0], 0));  // an old router: the quoted packet was 1500
  const std::vector<Seg> again = rw_.poll();
  ASSERT_EQ(again.size(), 4u);  // 1492 - 52 = 1440: 1440 * 3 + 24
  EXPECT_EQ(again[0].data.size(), 1440u);
  EXPECT_EQ(icmp().icmp_pmtu_plateau, 1u);
  EXPECT_EQ(learned(), 1492);
}

TEST_F(Icmp, Rfc1191_6_3_LaterConnectionsStartAtTheLearnedMtuUntilItExpires) {
  Flow f;
  const std::vector<Seg> sent = three_in_flight(f);
  rw_.send_frame(frag_needed(sent[0], 1000));
  (void)rw_.poll();
  ASSERT_EQ(learned(), 1000);
  // A new connection to the same destination starts at 1000 - 52 = 948 bytes a segment.
  Flow g = peer_.open(St::kEstablished);
  Conn* c = Peer::conn(g.pport);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->tcb.snd_mss, 948u);
  EXPECT_EQ(rw_.worker().pmtu_counters().pmtu_applied, 1u);
  const std::string data = payload(2000);
  ASSERT_EQ(rw_.worker().send_copy(*c, std::as_bytes(std::span(data))), data.size());
  std::vector<Seg> out;
  for (const Seg& s : rw_.poll()) {
    if (s.dport == g.pport) {
      out.push_back(s);
    }
  }
  ASSERT_EQ(out.size(), 2u);  // 948, 948 (the 104 left wait for an ACK: Nagle)
  EXPECT_EQ(ip_len(out[0]), 1000u);
  // An active open too.
  Flow h = peer_.open(St::kSynSent);
  Seg sa = peer_.seg(h, kS | kA, 0x30000000u, h.iss + 1, kPeerTs);
  sa.opts.has_mss = true;
  sa.opts.mss = 1460;
  rw_.send(sa);
  (void)rw_.poll();
  ASSERT_EQ(peer_.state(h), St::kEstablished);
  EXPECT_EQ(rw_.worker().pmtu_counters().pmtu_applied, 2u);
  // tcp.pmtu.expires_ms later (30 s here), a connection starts at the interface's MTU again.
  rw_.run_until(rw_.now() + Ticks::from_sec(31), Ticks::from_sec(1));
  Flow k = peer_.open(St::kEstablished);
  ASSERT_NE(Peer::conn(k.pport), nullptr);
  EXPECT_EQ(Peer::conn(k.pport)->tcb.snd_mss, 1448u);
  EXPECT_EQ(rw_.worker().pmtu_counters().pmtu_expired, 1u);
  EXPECT_FALSE(learned());
  // The first connection keeps what it learned (RFC 1191 §6.3: no increase for it here).
  EXPECT_EQ(Peer::conn(f.pport)->tcb.snd_mss, 948u);
}

TEST_F(Icmp, Rfc1191_FragNeededForTheSynIsLearnedAndAppliedOnceEstablished) {
  Flow h = peer_.open(St::kSynSent);
  Seg syn;
  syn.sport = h.tport;
  syn.dport = h.pport;
  syn.seq = h.iss;
  syn.opts.has_mss = true;  // (the quote holds only the first 8 bytes of TCP)
  rw_.send_frame(frag_needed(syn, 1100));
  EXPECT_TRUE(rw_.poll().empty());
  EXPECT_EQ(icmp().icmp_pmtu_handshake, 1u);
  EXPECT_EQ(learned(), 1100);
  Seg sa = peer_.seg(h, kS | kA, 0x30000000u, h.iss + 1, kPeerTs);
  sa.opts.has_mss = true;
  sa.opts.mss = 1460;
  rw_.send(sa);
  (void)rw_.poll();
  ASSERT_EQ(peer_.state(h), St::kEstablished);
  EXPECT_EQ(rw_.worker().pmtu_counters().pmtu_applied, 1u);
}

// A handler that records how its connections closed.
struct Closed {
  static inline std::vector<CloseReason> reasons;
  static void on_closed(Conn&, CloseReason why, void*) { reasons.push_back(why); }
  static const Handler* handler() {
    static const Handler h{.ctx = nullptr,
                           .on_connected = nullptr,
                           .on_data = nullptr,
                           .on_writable = nullptr,
                           .on_peer_closed = nullptr,
                           .on_closed = on_closed};
    return &h;
  }
};

TEST_F(Icmp, Rfc1122_4_2_3_9_PortUnreachableAbortsSynSent) {
  Closed::reasons.clear();
  auto c = rw_.worker().connect(0, rw_.peer(9), Closed::handler());
  ASSERT_TRUE(c.ok());
  const std::vector<Seg> out = rw_.poll();
  ASSERT_EQ(out.size(), 1u);
  const Seg syn = out[0];
  ASSERT_TRUE(syn.has(kS));
  // The quoted sequence number must be our ISS (RFC 5927 §4.1): one past it is ignored.
  Seg wrong = syn;
  wrong.seq = syn.seq + 1;
  rw_.send_frame(
      icmp4(wire::kIcmpDestUnreachable, wire::kIcmpCodePortUnreachable, 0, quote4(wrong)));
  (void)rw_.poll();
  EXPECT_EQ(rw_.worker().tuple_state(0, rw_.peer(9), syn.sport), St::kSynSent);
  EXPECT_EQ(icmp().icmp_error_ignored_seq, 1u);
  // A soft error (host unreachable) leaves it trying.
  rw_.send_frame(
      icmp4(wire::kIcmpDestUnreachable, stack::kIcmpCodeHostUnreachable, 0, quote4(syn)));
  (void)rw_.poll();
  EXPECT_EQ(rw_.worker().tuple_state(0, rw_.peer(9), syn.sport), St::kSynSent);
  EXPECT_EQ(icmp().icmp_soft_error, 1u);
  EXPECT_TRUE(Closed::reasons.empty());
  // Port unreachable for our SYN: refused.
  rw_.send_frame(icmp4(wire::kIcmpDestUnreachable, wire::kIcmpCodePortUnreachable, 0, quote4(syn)));
  EXPECT_TRUE(rw_.poll().empty());  // no RST
  EXPECT_EQ(rw_.worker().tuple_state(0, rw_.peer(9), syn.sport), St::kClosed);
  EXPECT_EQ(Closed::reasons, std::vector<CloseReason>{CloseReason::kRefused});
  EXPECT_EQ(icmp().icmp_hard_error_abort, 1u);
  EXPECT_EQ(icmp().icmp_unreachable, 3u);
  // Protocol unreachable: unreachable.
  auto d = rw_.worker().connect(0, rw_.peer(10), Closed::handler());
  ASSERT_TRUE(d.ok());
  const Seg syn2 = rw_.poll().at(0);
  rw_.send_frame(
      icmp4(wire::kIcmpDestUnreachable, stack::kIcmpCodeProtoUnreachable, 0, quote4(syn2)));
  (void)rw_.poll();
  EXPECT_EQ(Closed::reasons.back(), CloseReason::kUnreachable);
  EXPECT_EQ(icmp().icmp_hard_error_abort, 2u);
}

TEST_F(Icmp, Rfc1122_4_2_3_9_PortUnreachableIsSoftWhenEstablished) {
  Flow f;
  const std::vector<Seg> sent = three_in_flight(f);
  rw_.send_frame(
      icmp4(wire::kIcmpDestUnreachable, wire::kIcmpCodePortUnreachable, 0, quote4(sent[0])));
  rw_.send_frame(icmp4(wire::kIcmpTimeExceeded, 0, 0, quote4(sent[1])));
  rw_.send_frame(icmp4(stack::kIcmpParamProblem, 0, 0, quote4(sent[2])));
  EXPECT_TRUE(rw_.poll().empty());
  EXPECT_EQ(peer_.state(f), St::kEstablished);
  EXPECT_EQ(icmp().icmp_soft_error, 3u);
  EXPECT_EQ(icmp().icmp_hard_error_abort, 0u);
  EXPECT_EQ(icmp().icmp_time_exceeded, 1u);
  EXPECT_EQ(icmp().icmp_param_problem, 1u);
  // For no connection: counted, ignored.
  Seg gone = sent[0];
  gone.dport = 1;
  rw_.send_frame(
      icmp4(wire::kIcmpDestUnreachable, wire::kIcmpCodePortUnreachable, 0, quote4(gone)));
  (void)rw_.poll();
  EXPECT_EQ(icmp().icmp_error_ignored_no_conn, 1u);
  // The connection goes on: the peer acknowledges, nothing was lost.
  rw_.send(peer_.seg(f, kA, f.p_nxt, sent[2].seq + 1448, kPeerTs + 1));
  (void)rw_.poll();
  EXPECT_EQ(Peer::conn(f.pport)->tcb.flight(), 0u);
}

TEST_F(Icmp, Rfc6633_SourceQuenchIsIgnored) {
  Flow f;
  const std::vector<Seg> sent = three_in_flight(f);
  const uint32_t cwnd = Peer::conn(f.pport)->tcb.cc.cwnd();
  rw_.send_frame(icmp4(stack::kIcmpSourceQuench, 0, 0, quote4(sent[0])));
  EXPECT_TRUE(rw_.poll().empty());
  EXPECT_EQ(icmp().icmp_source_quench, 1u);
  EXPECT_EQ(Peer::conn(f.pport)->tcb.cc.cwnd(), cwnd);
  EXPECT_EQ(rw_.worker().counters().drop_icmp_type, 0u);
  rw_.send_frame(icmp4(5, 0, 0, quote4(sent[0])));  // a redirect: not for a host's TCP
  (void)rw_.poll();
  EXPECT_EQ(rw_.worker().counters().drop_icmp_type, 1u);
}

// --- IPv6 -------------------------------------------------------------------------------------

const wire::Ipv6Addr kTempo6 = *wire::Ipv6Addr::parse("2001:db8::2");
const wire::Ipv6Addr kPeer6 = *wire::Ipv6Addr::parse("2001:db8::1");
const wire::Ipv6Addr kRouter6 = *wire::Ipv6Addr::parse("2001:db8::fe");

std::vector<std::byte> tcp6_frame(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                                  uint8_t flags, std::optional<uint16_t> mss) {
  wire::TcpPacketSpec spec{};
  spec.eth_src = kPeerMac;
  spec.eth_dst = kTempoMac;
  spec.ipv6 = true;
  spec.src6 = kPeer6;
  spec.dst6 = kTempo6;
  spec.tcp = wire::TcpHeaderFields{.src_port = sport,
                                   .dst_port = dport,
                                   .seq = seq,
                                   .ack = ack,
                                   .flags = wire::TcpFlags(flags),
                                   .window = 65535,
                                   .urgent = 0};
  if (mss) {
    spec.options.has_mss = true;
    spec.options.mss = *mss;
  }
  return wire::make_tcp_packet(spec);
}

// RFC 4443 §3.2 Packet Too Big from the router, quoting `quote` (as much as fits in 1280).
std::vector<std::byte> packet_too_big(uint32_t mtu, std::span<const std::byte> quote) {
  quote = quote.first(std::min<size_t>(quote.size(), 1280 - 40 - 8));
  const size_t len = 8 + quote.size();
  std::vector<std::byte> f(wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + len);
  size_t off = *wire::write_eth(f, kTempoMac, kPeerMac, wire::kEtherTypeIpv6);
  off += *wire::write_ipv6(std::span(f).subspan(off), kRouter6, kTempo6, wire::kIpProtoIcmpv6,
                           static_cast<uint16_t>(len), 64);
  std::byte* m = f.data() + off;
  wire::detail::store8(m, wire::kIcmpv6PacketTooBig);
  wire::detail::store8(m + 1, 0);
  wire::detail::store_be32(m + 4, mtu);
  std::memcpy(m + 8, quote.data(), quote.size());
  const uint16_t sum =
      wire::l4_checksum_ipv6(kRouter6, kTempo6, wire::kIpProtoIcmpv6, std::span(m, len));
  wire::detail::store_be16(m + 2, sum);
  return f;
}

const Conn* g_conn6 = nullptr;
void on_connected6(Conn& c, void*) { g_conn6 = &c; }
void on_data6(Conn& c, const Bytes& d, void*) { c.worker->consume(c, d.size()); }
const Handler kHandler6{.ctx = nullptr,
                        .on_connected = on_connected6,
                        .on_data = on_data6,
                        .on_writable = nullptr,
                        .on_peer_closed = nullptr,
                        .on_closed = nullptr};

TEST(Icmp6, Rfc8201_PacketTooBigLowersTheMssAndResendsAtTheNewSize) {
  RingWorkerConfig cfg = peer_config();
  cfg.tcp.timestamps = false;
  cfg.ipv6 = {kTempo6, 64};
  RingWorker rw(cfg);
  rw.worker().listen(443, &kHandler6);
  g_conn6 = nullptr;
  rw.send_frame(tcp6_frame(50000, 443, 7000, 0, kS, 1440));
  (void)rw.poll();
  const std::vector<Seg6> sa = rw.take_tcp6();
  ASSERT_EQ(sa.size(), 1u);
  rw.send_frame(tcp6_frame(50000, 443, 7001, sa[0].seq + 1, kA, std::nullopt));
  (void)rw.poll();
  ASSERT_NE(g_conn6, nullptr);
  Conn& c = const_cast<Conn&>(*g_conn6);
  EXPECT_EQ(c.tcb.snd_mss, 1440u);  // 1500 - 40 - 20
  const std::string data(3 * 1440, 'q');
  ASSERT_EQ(rw.worker().send_copy(c, std::as_bytes(std::span(data))), data.size());
  (void)rw.poll();
  const std::vector<Seg6> sent = rw.take_tcp6();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].ip_len(), 1500u);
  // A wrong sequence number: ignored.
  std::vector<std::byte> bad = sent[1].packet;
  wire::detail::store_be32(bad.data() + 40 + 4, sent[0].seq - 1);
  rw.send_frame(packet_too_big(1400, bad));
  (void)rw.poll();
  EXPECT_TRUE(rw.take_tcp6().empty());
  EXPECT_EQ(rw.worker().icmp_counters().icmp_pmtu_ignored_seq, 1u);
  // The real one: 1400 - 60 = 1340 bytes a segment, from SND.UNA.
  rw.send_frame(packet_too_big(1400, sent[1].packet));
  (void)rw.poll();
  const std::vector<Seg6> again = rw.take_tcp6();
  ASSERT_EQ(again.size(), 4u);  // 1340 * 3 + 300
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_LE(again[i].ip_len(), 1400u) << i;
    EXPECT_EQ(again[i].data.size(), i < 3 ? 1340u : 300u) << i;
  }
  EXPECT_EQ(again[0].seq, sent[0].seq);
  EXPECT_EQ(rw.worker().icmp_counters().icmp6_packet_too_big, 2u);
  EXPECT_EQ(rw.worker().icmp_counters().icmp_pmtu_lowered, 1u);
  stack::Remote r;
  r.v6 = true;
  r.ip6 = kPeer6;
  EXPECT_EQ(rw.worker().path_mtu(r), 1400);
  // Below 1280 (RFC 8201 §4, RFC 8200 §5): 1280, 1220 bytes a segment.
  rw.send_frame(packet_too_big(1000, sent[1].packet));
  (void)rw.poll();
  const std::vector<Seg6> floor = rw.take_tcp6();
  ASSERT_EQ(floor.size(), 4u);  // 1220 * 3 + 660
  EXPECT_EQ(floor[0].ip_len(), 1280u);
  EXPECT_EQ(rw.worker().icmp_counters().icmp_pmtu_floor, 1u);
  EXPECT_EQ(rw.worker().path_mtu(r), 1280);
  // Port unreachable (RFC 4443 §3.1 code 4) on an established connection: soft.
  std::vector<std::byte> unreach = packet_too_big(0, sent[0].packet);
  std::byte* m = unreach.data() + 14 + 40;
  wire::detail::store8(m, wire::kIcmpv6DestUnreachable);
  wire::detail::store8(m + 1, stack::kIcmpv6CodePortUnreachable);
  wire::detail::store_be16(m + 2, 0);
  wire::detail::store_be32(m + 4, 0);
  const size_t len = unreach.size() - 14 - 40;
  wire::detail::store_be16(
      m + 2, wire::l4_checksum_ipv6(kRouter6, kTempo6, wire::kIpProtoIcmpv6, std::span(m, len)));
  rw.send_frame(unreach);
  (void)rw.poll();
  EXPECT_EQ(rw.worker().icmp_counters().icmp6_unreachable, 1u);
  EXPECT_EQ(rw.worker().icmp_counters().icmp_soft_error, 1u);
  EXPECT_EQ(c.tcb.state, tcp::State::kEstablished);
}

}  // namespace
}  // namespace tempo::conformance
