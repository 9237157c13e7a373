// The Worker's loop and its L2/L3: poll() (clock, timers, RX burst, steering, TX flush), the
// other Workers (steering, shared neighbours), Ethernet, IPv4 and IPv6 input, ICMP and ICMPv6
// echo (neighbour discovery goes to the port's Neighbors) and errors for TCP (path MTU, hard and
// soft errors: stack/icmp_errors.h, stack/path_mtu.h, tcp/pmtu.h), the reset for a segment
// nothing takes, and output (the core's segments through the port's TxEncoder into its TxBatch).
#include "stack/worker.h"

#include <algorithm>
#include <cstring>

#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "stack/capture.h"
#include "stack/worker_detail.h"
#include "tcp/pmtu.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {

using telemetry::Layer;
using namespace detail;  // NOLINT: the Worker's own helpers

Worker::Worker(uint16_t index, std::vector<Interface> ifaces, Ticks start,
               const FaultConfig& faults)
    : index_(index),
      now_(start),
      steer_(index, counters_),
      reasm_(counters_),
      wheel_(start),
      app_wheel_(start),
      rx_mem_(ifaces.size(), counters_) {
  for (const Interface& i : ifaces) {
    Port& p = ports_.emplace_back(i, static_cast<uint8_t>(ports_.size()), counters_);
    // Each worker and port draws its own sequence from the configured seed.
    const uint64_t seed = faults.seed * 0x9e3779b97f4a7c15ULL + index * 131 + ports_.size();
    if (faults.rx.any()) {
      p.rx_faults = std::make_unique<MbufFaultStage>(faults.rx, seed, &counters_.faults_rx);
    }
    if (faults.tx.any()) {
      p.tx.set_faults(std::make_unique<MbufFaultStage>(faults.tx, ~seed, &counters_.faults_tx));
    }
  }
  init_reassembly(ReassemblyConfig{});
}
void Worker::init_reassembly(const ReassemblyConfig& cfg) {
  uint32_t room = 0;
  for (const Port& p : ports_) {
    room = std::max(room, reasm_room(p.iface));
  }
  reasm_.init(cfg, room);
}
uint32_t Worker::reasm_room(const Interface& i) noexcept {
  rte_mempool* pool = reasm_pool(i);
  if (pool == nullptr) {
    return 0;
  }
  const uint32_t room = rte_pktmbuf_data_room_size(pool);
  const uint32_t taken = RTE_PKTMBUF_HEADROOM + wire::EthView::kHeaderLen;
  return room > taken ? room - taken : 0;
}
Worker::~Worker() {
  for (Port& p : ports_) {
    p.enc.discard();
    p.nbr.drop_parked();
    if (p.rx_faults) {
      p.rx_faults->drain();
    }
  }
}
bool Worker::link_up(size_t iface) const noexcept {
  if (iface >= ports_.size()) {
    return false;
  }
  rte_eth_link link{};
  return rte_eth_link_get_nowait(ports_[iface].iface.port_id, &link) == 0 &&
         link.link_status == RTE_ETH_LINK_UP;
}

std::optional<size_t> Worker::port_toward(const Remote& remote) const noexcept {
  std::optional<size_t> routed;
  for (size_t i = 0; i < ports_.size(); ++i) {
    const Interface& iface = ports_[i].iface;
    if (remote.v6 && !iface.has_ipv6) {
      continue;
    }
    // The first hop: the remote itself when on-link (that port wins), else a router.
    bool has_hop = false;
    bool on_link = false;
    if (remote.v6) {
      const auto hop = next_hop(iface, remote.ip6);
      has_hop = hop.has_value();
      on_link = has_hop && *hop == remote.ip6;
    } else {
      const auto hop = next_hop(iface, remote.ip4);
      has_hop = hop.has_value();
      on_link = has_hop && *hop == remote.ip4;
    }
    if (on_link) {
      return i;
    }
    if (has_hop && !routed) {
      routed = i;
    }
  }
  return routed;
}

uint32_t Worker::poll(Ticks now) noexcept {
  now_ = now;
  if (now_ >= next_maintenance_) [[unlikely]] {
    next_maintenance_ = now_ + kMaintenanceInterval;
    maintain();
  }
  if (conns_.ready()) {
    wheel_.advance(now_, [this](time::Timer& t) { on_wheel_timer(t); });
    // One comparison when nothing is due (lib/timewait/table.h); at most
    // tcp.time_wait.expiry_per_turn entries leave per turn, so a mass expiry is spread over
    // turns instead of stalling one.
    tw_->expire_turn(now_);
  }
  if (mesh_ != nullptr) {
    receive_neighbors();
    receive_app_messages();
  }
  reasm_.expire(now_);  // one comparison when nothing is due
  if (drain_.active) [[unlikely]] {
    drain_step();
  }
  app_wheel_.advance(now_, [this](time::Timer& h) {
    tempo::Timer& t = time::owner_of<&tempo::Timer::hook>(h);
    if (t.period_ms != 0) {
      app_wheel_.arm(h, now_ + Ticks::from_ms(t.period_ms));  // before fn, which may cancel it
    }
    t.fn(*this, t, t.ctx);
  });
  if (poll_hook_ != nullptr) {
    poll_hook_(*this, poll_hook_ctx_);
  }
  if (rx_mem_.dormant_due(now_)) {
    rx_mem_.release_dormant(conns_.all(), now_, core_);
  }
  if (rx_mem_.reopen_due(now_)) [[unlikely]] {
    // Windows wait for memory: see whether it freed (nothing may arrive to tell).
    for (Port& p : ports_) {
      if (p.iface.rx_pool != nullptr) {
        sample_pools(p);
      }
    }
    reopen_windows();
  }
  if (!tx_waiters_.empty() && now_ >= next_tx_wake_) [[unlikely]] {
    // Copies wait for TX buffers: see whether acknowledgments freed some.
    next_tx_wake_ = now_ + RxMemory::kReopenInterval;
    wake_tx_waiters();
  }
  uint32_t received = 0;
  std::array<rte_mbuf*, kBurst> burst;
  std::array<rte_mbuf*, 2 * kBurst> faulted;
  for (Port& p : ports_) {
    size_t n = rte_eth_rx_burst(p.iface.port_id, p.iface.queue, burst.data(), kBurst);
    if (n > 0) {
      sample_pools(p);
      if (Capture::active()) [[unlikely]] {
        Capture::instance().tap(p.iface.port_id, p.iface.queue, burst.data(),
                                static_cast<uint16_t>(n), Capture::Dir::kRx);
      }
    }
    rte_mbuf** rx = burst.data();
    if (p.rx_faults) [[unlikely]] {
      n = p.rx_faults->apply(std::span(burst.data(), n), faulted, now_);
      rx = faulted.data();
    }
    for (size_t i = 0; i < n; ++i) {
      rte_prefetch0(rte_pktmbuf_mtod(rx[i], void*));
    }
    if (conns_.ready()) {
      conns_.lookup_burst(rx, n, tw_->v4());
    }
    for (size_t i = 0; i < n; ++i) {
      conns_.handling(i);
      counters_.rx_packets++;
      counters_.rx_bytes += rte_pktmbuf_pkt_len(rx[i]);
      if (p.iface.soft_steer) {
        if (const uint16_t owner = steer_.owner_of(*p.iface.rss, rx[i]); owner != index_) {
          steer_.steer(owner, rx[i]);
          continue;
        }
      }
      input(p, rx[i]);
      rte_pktmbuf_free(rx[i]);
    }
    conns_.handling(std::nullopt);
    received += static_cast<uint32_t>(n);
    if (steer_.joined()) {
      steer_.flush();
    }
    flush(p);
  }
  if (mesh_ != nullptr) {
    receive_steered();
  }
  return received;
}
std::span<std::byte> Worker::bytes(rte_mbuf* m) noexcept {
  return {rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
}
void Worker::input(Port& p, rte_mbuf* m) noexcept {
  if (m->nb_segs != 1) [[unlikely]] {
    // Multi-segment frames arrive only with jumbo MTUs on scattered RX, which tempo does not
    // configure; count rather than linearize.
    counters_.drop(Layer::kEth, wire::WireError::kUnsupported);
    return;
  }
  auto eth = wire::EthView::parse(bytes(m));
  if (!eth) {
    counters_.drop(Layer::kEth, eth.error());
    return;
  }
  const wire::MacAddr dst = eth->dst();
  if (dst != p.iface.mac && !dst.is_broadcast() && !dst.is_multicast()) {
    counters_.drop_not_for_us++;
    return;
  }
  switch (eth->ethertype()) {
    case wire::kEtherTypeIpv4:
      input_ipv4(p, m, *eth);
      return;
    case wire::kEtherTypeIpv6:
      input_ipv6(p, m, *eth);
      return;
    case wire::kEtherTypeArp:
      p.nbr.input_arp(*eth, now_);
      return;
    default:
      counters_.drop_ethertype++;
      return;
  }
}
void Worker::input_ipv4(Port& p, rte_mbuf* m, const wire::EthView& eth) noexcept {
  auto ip =
      wire::Ipv4View::parse(eth.payload(), p.iface.trusted_link ? wire::ChecksumMode::kSkip
                                                                : wire::ChecksumMode::kVerify);
  if (!ip) {
    counters_.drop(Layer::kIpv4, ip.error());
    return;
  }
  if (!p.iface.is_local4(ip->dst())) {
    counters_.drop_not_for_us++;
    return;
  }
  if (p.iface.is_martian_src4(ip->src())) {
    counters_.drop_ipv4_martian_source++;  // RFC 1122 §3.2.1.3, §4.2.3.10: silently discarded
    return;
  }
  if (ip->is_fragment()) {
    // RFC 1122 §3.3.2: a host MUST reassemble (RFC 791 §3.2).
    if (!reasm_.enabled()) {
      counters_.drop_ipv4_fragment++;
      return;
    }
    Fragment f = ipv4_fragment(*ip);
    input_fragment(p, eth, f, wire::kEtherTypeIpv4);
    return;
  }
  switch (ip->protocol()) {
    case wire::kIpProtoIcmp:
      input_icmp(p, eth, *ip);
      return;
    case wire::kIpProtoTcp: {
      wire::TcpPacketSpec reply{};
      reply.eth_src = p.iface.mac;
      reply.eth_dst = eth.src();
      reply.src4 = ip->dst();
      reply.dst4 = ip->src();
      if (!tcp_checksum_ok(p, m, [&] {
            return wire::verify_tcp_checksum_ipv4(ip->src(), ip->dst(), ip->payload());
          })) {
        counters_.drop(Layer::kTcp, wire::WireError::kBadChecksum);
        return;
      }
      input_tcp(p, m, ip->payload(), reply);
      return;
    }
    default:
      counters_.drop_ip_protocol++;
      return;
  }
}
// RFC 9293 §3.10.7.1, CLOSED: an incoming RST is discarded; any other segment gets a reset:
// without ACK, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; with ACK, <SEQ=SEG.ACK><CTL=RST>.
// So a kernel client's connect() to a port nobody serves fails at once ("connection refused")
// instead of retrying its SYN for two minutes.
void Worker::reply_reset(Port& p, const wire::TcpView& tcp, wire::TcpPacketSpec& reply) noexcept {
  if (tcp.flags().rst()) {
    return;
  }
  reply.tcp.src_port = tcp.dst_port();
  reply.tcp.dst_port = tcp.src_port();
  if (tcp.flags().ack()) {
    reply.tcp.seq = tcp.ack();
    reply.tcp.flags = wire::TcpFlags(wire::TcpFlags::kRst);
  } else {
    reply.tcp.seq = 0;
    reply.tcp.ack = tcp.seq() + tcp.segment_length();
    reply.tcp.flags = wire::TcpFlags(wire::TcpFlags::kRst | wire::TcpFlags::kAck);
  }
  counters_.tcp_rst_sent++;
  send_built(p, reply);
}
void Worker::send_built(Port& p, const wire::TcpPacketSpec& spec) noexcept {
  // Headers and options only: at most 14 + 40 + 60 bytes.
  rte_mbuf* m = alloc(
      p, wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + wire::TcpView::kMaxHeaderLen);
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin(), out.end(), std::byte{0});
  auto len = wire::build_tcp_packet(out, spec);
  if (!len) [[unlikely]] {
    rte_pktmbuf_free(m);
    return;
  }
  rte_pktmbuf_trim(m, static_cast<uint16_t>(out.size() - std::max<size_t>(*len, kMinFrame)));
  transmit(p, m);
}
// RFC 1122 §3.2.2.6: every host MUST implement an ICMP Echo server; the reply carries the
// request's identifier, sequence number and data. RFC 1122 §4.2.3.9, RFC 1191: errors that
// quote one of our TCP segments go to its connection (input_icmp_error).
void Worker::input_icmp(Port& p, const wire::EthView& eth, const wire::Ipv4View& ip) noexcept {
  auto icmp = wire::IcmpView::parse(ip.payload());
  if (!icmp) {
    counters_.drop(Layer::kIcmp, icmp.error());
    return;
  }
  if (!icmp->is_echo_request()) {
    const IcmpClass cls = classify_icmp4(icmp->type(), icmp->code());
    uint64_t IcmpCounters::*received = nullptr;  // counted where its connection lives
    switch (icmp->type()) {
      case wire::kIcmpDestUnreachable:
        received = cls.kind == IcmpKind::kPathMtu ? &IcmpCounters::icmp_frag_needed
                                                  : &IcmpCounters::icmp_unreachable;
        break;
      case wire::kIcmpTimeExceeded:
        received = &IcmpCounters::icmp_time_exceeded;
        break;
      case kIcmpParamProblem:
        received = &IcmpCounters::icmp_param_problem;
        break;
      case kIcmpSourceQuench:
        icmp_counters_.icmp_source_quench++;  // RFC 6633 §1: MUST ignore it
        return;
      default:
        counters_.drop_icmp_type++;
        return;
    }
    auto q = wire::parse_quoted_tcp4(icmp->data());
    if (!q) {
      icmp_counters_.icmp_bad_quote++;
      return;
    }
    input_icmp_error(p, eth, cls, *q, icmp->next_hop_mtu(), received);
    return;
  }
  const size_t icmp_len = icmp->bytes().size();
  const size_t len = wire::EthView::kHeaderLen + wire::Ipv4View::kMinHeaderLen + icmp_len;
  rte_mbuf* m = alloc(p, static_cast<uint16_t>(std::max<size_t>(len, kMinFrame)));
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin() + static_cast<ptrdiff_t>(len), out.end(), std::byte{0});
  size_t off = *wire::write_eth(out, eth.src(), p.iface.mac, wire::kEtherTypeIpv4);
  off += *wire::write_ipv4(out.subspan(off),
                           wire::Ipv4HeaderFields{.src = ip.dst(),
                                                  .dst = ip.src(),
                                                  .protocol = wire::kIpProtoIcmp,
                                                  .payload_len = static_cast<uint16_t>(icmp_len),
                                                  .ttl = kDefaultTtl,
                                                  .id = 0,
                                                  .dont_fragment = false,
                                                  .tos = 0});
  (void)*wire::write_icmp_echo_reply(out.subspan(off), icmp->echo_id(), icmp->echo_seq(),
                                     icmp->data());
  counters_.icmp_echo_replied++;
  transmit(p, m);
}
void Worker::input_ipv6(Port& p, rte_mbuf* m, const wire::EthView& eth) noexcept {
  auto ip = wire::Ipv6View::parse(eth.payload());
  if (!ip) {
    counters_.drop(Layer::kIpv6, ip.error());
    return;
  }
  const wire::Ipv6Addr dst = ip->dst();
  const Interface& i = p.iface;
  const bool for_us = (i.has_ipv6 && (dst == i.ipv6 || dst == i.ipv6.solicited_node())) ||
                      dst == i.link_local || dst == i.link_local.solicited_node() ||
                      dst == wire::Ipv6Addr::all_nodes();
  if (!for_us) {
    counters_.drop_not_for_us++;
    return;
  }
  if (i.is_martian_src6(ip->src()) ||
      (ip->src().is_unspecified() && ip->protocol() != wire::kIpProtoIcmpv6)) {
    // only neighbour discovery may come from :: (RFC 4862 DAD)
    counters_.drop_ipv6_martian_source++;
    return;
  }
  if (ip->is_fragment()) {
    // RFC 8200 §4.5; an atomic fragment (RFC 6946) parsed as a whole packet.
    if (!reasm_.enabled()) {
      counters_.drop_ipv6_fragment++;
      return;
    }
    Fragment f;
    f.key.src = ip->src().bytes();
    f.key.dst = dst.bytes();
    f.key.id = ip->fragment_id();
    f.key.v6 = 1;
    f.offset = ip->fragment_offset();
    f.more = ip->more_fragments();
    f.data = ip->payload();
    f.header = ip->unfragmentable();
    f.next_header_at = static_cast<uint16_t>(ip->fragment_next_header_at());
    f.next_header = ip->fragment_next_header();
    input_fragment(p, eth, f, wire::kEtherTypeIpv6);
    return;
  }
  switch (ip->protocol()) {
    case wire::kIpProtoIcmpv6:
      input_icmpv6(p, eth, *ip);
      return;
    case wire::kIpProtoTcp: {
      wire::TcpPacketSpec reply{};
      reply.eth_src = p.iface.mac;
      reply.eth_dst = eth.src();
      reply.ipv6 = true;
      reply.src6 = dst;
      reply.dst6 = ip->src();
      if (dst.is_multicast()) {
        counters_.drop_not_for_us++;  // RFC 9293 §3.9.2.1: no TCP to multicast
        return;
      }
      if (!tcp_checksum_ok(p, m, [&] {
            return wire::verify_tcp_checksum_ipv6(ip->src(), dst, ip->payload());
          })) {
        counters_.drop(Layer::kTcp, wire::WireError::kBadChecksum);
        return;
      }
      input_tcp(p, m, ip->payload(), reply);
      return;
    }
    default:
      counters_.drop_ip_protocol++;
      return;
  }
}
void Worker::input_icmpv6(Port& p, const wire::EthView& eth, const wire::Ipv6View& ip) noexcept {
  auto icmp = wire::Icmpv6View::parse(ip);
  if (!icmp) {
    counters_.drop(Layer::kIcmp6, icmp.error());
    return;
  }
  if (p.nbr.input_nd(eth, ip, *icmp, now_)) {
    return;  // neighbour discovery
  }
  if (!icmp->is_echo_request()) {
    const IcmpClass cls = classify_icmp6(icmp->type(), icmp->code());
    uint64_t IcmpCounters::*received = nullptr;  // counted where its connection lives
    switch (icmp->type()) {
      case wire::kIcmpv6PacketTooBig:
        received = &IcmpCounters::icmp6_packet_too_big;
        break;
      case wire::kIcmpv6DestUnreachable:
        received = &IcmpCounters::icmp6_unreachable;
        break;
      case wire::kIcmpv6TimeExceeded:
        received = &IcmpCounters::icmp6_time_exceeded;
        break;
      case wire::kIcmpv6ParamProblem:
        received = &IcmpCounters::icmp6_param_problem;
        break;
      default:
        counters_.drop_icmp_type++;
        return;
    }
    // RFC 4443 §2.1: errors carry 4 bytes (unused, §3.2 the MTU, §3.4 the pointer), then as much
    // of the offending packet as fits (parse: at least 8 bytes in all).
    const std::span<const std::byte> body = icmp->body();
    auto q = wire::parse_quoted_tcp6(body.subspan(4));
    if (!q) {
      icmp_counters_.icmp_bad_quote++;
      return;
    }
    const uint32_t mtu = static_cast<uint32_t>(std::to_integer<uint8_t>(body[0])) << 24 |
                         static_cast<uint32_t>(std::to_integer<uint8_t>(body[1])) << 16 |
                         static_cast<uint32_t>(std::to_integer<uint8_t>(body[2])) << 8 |
                         std::to_integer<uint8_t>(body[3]);
    input_icmp_error(p, eth, cls, *q, std::min<uint32_t>(mtu, 65535), received);
    return;
  }
  // RFC 4443 §4.2: reply from the address the request was sent to, or, for a multicast
  // request, from one of ours.
  const Interface& i = p.iface;
  const bool ours = (i.has_ipv6 && ip.dst() == i.ipv6) || ip.dst() == i.link_local;
  const wire::Ipv6Addr reply_src = ours ? ip.dst() : (i.has_ipv6 ? i.ipv6 : i.link_local);
  const wire::Ipv6Addr reply_dst = ip.src();
  const size_t body = icmp->bytes().size();
  const size_t len = wire::EthView::kHeaderLen + wire::Ipv6View::kHeaderLen + body;
  rte_mbuf* m = alloc(p, static_cast<uint16_t>(std::max<size_t>(len, kMinFrame)));
  if (m == nullptr) {
    return;
  }
  std::span<std::byte> out = bytes(m);
  std::fill(out.begin() + static_cast<ptrdiff_t>(len), out.end(), std::byte{0});
  size_t off = *wire::write_eth(out, eth_for(reply_dst, eth.src()), i.mac, wire::kEtherTypeIpv6);
  off += *wire::write_ipv6(out.subspan(off),
                           wire::Ipv6HeaderFields{.src = reply_src,
                                                  .dst = reply_dst,
                                                  .next_header = wire::kIpProtoIcmpv6,
                                                  .payload_len = static_cast<uint16_t>(body),
                                                  .hop_limit = kDefaultTtl,
                                                  .traffic_class = 0,
                                                  .flow_label = 0});
  (void)*wire::write_icmpv6_echo_reply(out.subspan(off), reply_src, reply_dst, icmp->echo_id(),
                                       icmp->echo_seq(), icmp->echo_data());
  counters_.icmp6_echo_replied++;
  transmit(p, m);
}
// RFC 5927 §4.1-4.3: an error is taken only for a live connection (the quoted tuple, sent by us)
// whose quoted sequence number is in flight (tcp/pmtu.h); everything else is counted and
// ignored. With several Workers the message goes to the one that owns the tuple, by the same
// hash that steers its segments (Steering::owner_of): RSS hashes an ICMP message by its own
// addresses, so it may land anywhere.
void Worker::input_icmp_error(Port& p, const wire::EthView& eth, const IcmpClass& cls,
                              const wire::QuotedTcp& q, uint32_t reported_mtu,
                              uint64_t IcmpCounters::*received) noexcept {
  if (mesh_ != nullptr && p.iface.rss) {
    if (const uint16_t owner = Steering::owner_of(*p.iface.rss, q.tuple); owner != index_) {
      pass_frame(p, eth, owner);
      return;
    }
  }
  ++(icmp_counters_.*received);
  const bool pmtu = cls.kind == IcmpKind::kPathMtu;
  Conn* c = conns_.ready() ? conns_.find(q.tuple) : nullptr;
  if (c == nullptr || c->dead) {
    (pmtu ? icmp_counters_.icmp_pmtu_ignored_no_conn : icmp_counters_.icmp_error_ignored_no_conn)++;
    return;
  }
  if (pmtu) {
    input_path_mtu(p, *c, q, reported_mtu);
    return;
  }
  const tcp::IcmpErrorVerdict v = in_core(*c, [&](ConnSink& s) {
    return tcp::on_icmp_error(c->tcb, cls.kind == IcmpKind::kHard, cls.reason, tcp::SeqNum(q.seq),
                              s);
  });
  switch (v) {
    case tcp::IcmpErrorVerdict::kAborted:
      icmp_counters_.icmp_hard_error_abort++;
      return;
    case tcp::IcmpErrorVerdict::kSoft:
      icmp_counters_.icmp_soft_error++;
      return;
    case tcp::IcmpErrorVerdict::kBadSeq:
      icmp_counters_.icmp_error_ignored_seq++;
      return;
  }
}
// RFC 1191 §6.3/§6.5, RFC 8201 §5.2/§5.4: the connection sends at the new MTU, raised to the
// floor (tcp.pmtu.min_ipv4 / min_ipv6; RFC 1191 §5's plateau when an old router sent 0), and
// its destination keeps it for later connections (PathMtuCache) once the checks passed.
void Worker::input_path_mtu(Port& p, Conn& c, const wire::QuotedTcp& q,
                            uint32_t reported_mtu) noexcept {
  const bool v6 = q.tuple.v6;
  bool plateau = false;
  bool floored = false;
  const uint32_t mtu =
      reported_mtu_of(reported_mtu, !v6, q.ip_length,
                      v6 ? wcfg_.pmtu_min_ipv6 : wcfg_.pmtu_min_ipv4, &plateau, &floored);
  const tcp::PmtuVerdict v = in_core(c, [&](ConnSink& s) {
    return tcp::on_path_mtu(c.tcb, mtu, v6, tcp::SeqNum(q.seq), now_, s);
  });
  switch (v) {
    case tcp::PmtuVerdict::kBadSeq:
      icmp_counters_.icmp_pmtu_ignored_seq++;
      return;
    case tcp::PmtuVerdict::kLowered:
      icmp_counters_.icmp_pmtu_lowered++;
      break;
    case tcp::PmtuVerdict::kNotLower:
      icmp_counters_.icmp_pmtu_not_lower++;
      break;
    case tcp::PmtuVerdict::kHandshake:
      icmp_counters_.icmp_pmtu_handshake++;
      break;
  }
  icmp_counters_.icmp_pmtu_plateau += plateau ? 1 : 0;
  icmp_counters_.icmp_pmtu_floor += floored ? 1 : 0;
  if (mtu < p.iface.mtu) {
    (void)pmtu_.learn(PathMtuCache::Key::remote_of(q.tuple), static_cast<uint16_t>(mtu), now_);
  }
}
void Worker::pass_frame(Port& p, const wire::EthView& eth, uint16_t owner) noexcept {
  const std::span<const std::byte> frame = eth.bytes();
  rte_mbuf* m = alloc(p, static_cast<uint16_t>(frame.size()));
  if (m == nullptr) {
    return;
  }
  std::memcpy(rte_pktmbuf_mtod(m, std::byte*), frame.data(), frame.size());
  m->port = p.iface.port_id;
  icmp_counters_.icmp_steered++;
  steer_.steer(owner, m);
}
void Worker::apply_learned_pmtu(Conn& c) noexcept {
  if (pmtu_.size() == 0) {
    return;  // one load on every connection's way to ESTABLISHED while nothing is learned
  }
  if (const auto mtu = pmtu_.lookup(PathMtuCache::Key::remote_of(c.tuple()), now_)) {
    if (tcp::apply_path_mtu(c.tcb, *mtu, c.v6())) {
      pmtu_counters_.pmtu_applied++;
    }
  }
}
std::optional<uint16_t> Worker::path_mtu(const Remote& remote) noexcept {
  flow::Tuple t;
  t.v6 = remote.v6;
  t.t4.remote = remote.ip4.value();
  t.t6.remote = remote.ip6.bytes();
  return pmtu_.lookup(PathMtuCache::Key::remote_of(t), now_);
}
void Worker::input_fragment(Port& p, const wire::EthView& eth, Fragment& f,
                            uint16_t ethertype) noexcept {
  f.key.port = p.index;
  f.room = reasm_room(p.iface);
  const Reassembly::Outcome out = reasm_.add(f, now_);
  if (out.verdict != Reassembly::Verdict::kComplete) {
    return;
  }
  // One contiguous buffer (TCP input keeps payload by reference to its mbuf), from the RX pool:
  // received data, charged to the receive budget like any other.
  const size_t len = wire::EthView::kHeaderLen + out.header.size() + out.payload.size();
  rte_mbuf* m = rte_pktmbuf_alloc(reasm_pool(p.iface));
  if (m == nullptr || rte_pktmbuf_tailroom(m) < len) [[unlikely]] {
    rte_pktmbuf_free(m);
    counters_.drop_reasm_no_mbuf++;
    return;
  }
  auto* d = rte_pktmbuf_mtod(m, std::byte*);
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = static_cast<uint32_t>(len);
  m->port = p.iface.port_id;
  const std::span<std::byte> frame(d, len);
  size_t off = *wire::write_eth(frame, p.iface.mac, eth.src(), ethertype);
  std::memcpy(d + off, out.header.data(), out.header.size());
  off += out.header.size();
  std::memcpy(d + off, out.payload.data(), out.payload.size());
  // RSS spread the fragments by their addresses alone (software steering likewise:
  // Steering::owner_of); the datagram belongs to the Worker that owns its tuple. No checksum
  // offload flag applies to it: its TCP checksum is summed in software (tcp_checksum_ok).
  if (p.iface.rss && steer_.joined()) {
    if (const uint16_t owner = steer_.owner_of(*p.iface.rss, m); owner != index_) {
      steer_.steer(owner, m);
      return;
    }
  }
  conns_.handling(std::nullopt);  // not the burst's segment: no burst-lookup hint applies
  input(p, m);
  rte_pktmbuf_free(m);
}
rte_mbuf* Worker::alloc(Port& p, uint16_t len) noexcept {
  rte_mbuf* m = alloc_frame(p.iface.pool, len);
  if (m == nullptr) [[unlikely]] {
    counters_.drop_no_mbuf++;
  }
  return m;
}
// --- the other Workers (stack/mesh.h) -------------------------------------------------------

void Worker::join(const Mesh* mesh) noexcept {
  steer_.join(mesh);
  mesh_ = steer_.joined() ? mesh : nullptr;
  for (Port& p : ports_) {
    p.nbr.join(mesh_, index_);
  }
}
void Worker::receive_steered() noexcept {
  steer_.receive([this](rte_mbuf* m) {
    for (Port& p : ports_) {
      if (p.iface.port_id == m->port) {
        input(p, m);
        return;
      }
    }
    counters_.drop_steer++;
  });
  steer_.flush();  // datagrams reassembled from fragments passed here, to their tuple's owner
  for (Port& p : ports_) {
    flush(p);
  }
}

// --- neighbours (stack/neighbors.h) ---------------------------------------------------------

std::optional<wire::MacAddr> Worker::resolve(size_t iface, wire::Ipv4Addr dst,
                                             bool solicit) noexcept {
  return ports_[iface].nbr.resolve(dst, now_, solicit);
}
std::optional<wire::MacAddr> Worker::resolve(size_t iface, const wire::Ipv6Addr& dst,
                                             bool solicit) noexcept {
  return ports_[iface].nbr.resolve(dst, now_, solicit);
}
std::vector<std::string> Worker::neighbors() const {
  std::vector<std::string> out;
  for (const Port& p : ports_) {
    p.nbr.describe(now_, out);  // as of the last poll
  }
  return out;
}
void Worker::maintain() noexcept {
  for (Port& p : ports_) {
    p.nbr.maintain(now_);
    flush(p);
  }
}
// What every other Worker wrote to this one on the rings `ring` names (Mesh::neighbors,
// Mesh::app), up to 16 each from each, in order: on_msg(Msg&) for each.
template <class Msg, class F>
void Worker::receive_mesh(rte_ring* (Mesh::*ring)(uint16_t, uint16_t) const, F&& on_msg) {
  std::array<Msg, 16> in;
  for (uint16_t from = 0; from < mesh_->workers(); ++from) {
    if (from == index_) {
      continue;
    }
    const unsigned n = rte_ring_sc_dequeue_burst_elem((mesh_->*ring)(from, index_), in.data(),
                                                      sizeof(Msg), in.size(), nullptr);
    for (unsigned i = 0; i < n; ++i) {
      on_msg(in[i]);
    }
  }
}

void Worker::receive_neighbors() noexcept {
  receive_mesh<NeighborMsg>(&Mesh::neighbors, [this](const NeighborMsg& m) {
    if (m.port < ports_.size()) {
      ports_[m.port].nbr.learn_shared(m, now_);
    }
  });
}

Result<void, PostError> Worker::post(size_t to, AppMsg m) noexcept {
  if (mesh_ == nullptr || to >= mesh_->workers() || to == index_) {
    return fail(PostError::kNoWorker);
  }
  if (rte_ring_sp_enqueue_elem(mesh_->app(index_, static_cast<uint16_t>(to)), &m, sizeof(AppMsg)) !=
      0) {
    ++counters_.drop_app_msg;
    return fail(PostError::kFull);
  }
  ++counters_.app_msg_out;
  return {};
}

void Worker::receive_app_messages() noexcept {
  receive_mesh<AppMsg>(&Mesh::app, [this](const AppMsg& m) {
    ++counters_.app_msg_in;
    m.fn(*this, std::span(m.payload.data(), m.len), m.ctx);
  });
}

void Worker::emit(Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  Port& p = ports_[c.iface];
  if (!c.flow.dst_known) [[unlikely]] {
    if (auto mac = p.nbr.resolve(remote_of(c), now_)) {
      c.flow.dst_mac = *mac;
      c.flow.dst_known = true;
    }
  }
  const TxEncoder::Frames out = p.enc.encode(p.iface, c.flow, seg);
  for (uint8_t k = 0; k < out.n; ++k) {
    if (k + 1 == out.n && !c.flow.dst_known) [[unlikely]] {
      p.nbr.park(remote_of(c), out.m[k], now_);  // an active open's SYN, while ARP/ND runs
    } else {
      transmit(p, out.m[k]);
    }
  }
}
void Worker::tso_flush(Port& p) noexcept {
  if (rte_mbuf* m = p.enc.flush(p.iface)) {
    transmit(p, m);
  }
}
void Worker::flush(Port& p) noexcept {
  tso_flush(p);
  p.tx.send(now_);
}
}  // namespace tempo::stack
