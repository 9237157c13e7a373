// The segment encoder: the protocol core's output segments into Ethernet frames in mbufs. Small
// payloads are copied into the header mbuf, larger ones attached by reference (zero copy);
// consecutive segments of one connection merge into one TSO frame where the port offers TSO;
// TCP checksums go to the NIC where it can, else are summed here (stack/cksum.h).
#include <algorithm>
#include <cstring>

#include <rte_ip.h>

#include "stack/cksum.h"
#include "stack/worker.h"
#include "stack/worker_detail.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {

using telemetry::Layer;
using namespace detail;  // NOLINT: the Worker's own helpers

// Attaches the payload of `seg` to `m` by reference: an indirect mbuf per source segment
// (DESIGN.md principle 4). False when the pool ran out (counted; `m` is left as it was, minus
// nothing: the caller frees it).
bool Worker::attach_payload(Port& p, rte_mbuf* m, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  for (const auto& ref : seg.payload()) {
    uint32_t want_off = ref.buf->offset() + ref.off;
    uint32_t want_len = ref.len;
    for (rte_mbuf* s = ref.buf->mbuf(); s != nullptr && want_len > 0; s = s->next) {
      if (want_off >= s->data_len) {
        want_off -= s->data_len;
        continue;
      }
      const uint32_t n = std::min<uint32_t>(want_len, s->data_len - want_off);
      rte_mbuf* mi = rte_pktmbuf_alloc(p.iface.pool);
      if (mi == nullptr) {
        counters_.drop_no_mbuf++;
        return false;
      }
      rte_pktmbuf_attach(mi, s);
      mi->data_off = static_cast<uint16_t>(mi->data_off + want_off);
      mi->data_len = static_cast<uint16_t>(n);
      mi->pkt_len = n;
      if (rte_pktmbuf_chain(m, mi) != 0) {
        rte_pktmbuf_free(mi);
        counters_.drop_no_mbuf++;
        return false;
      }
      want_off = 0;
      want_len -= n;
    }
  }
  return true;
}

// May `seg` ride in a TSO frame on this port? Data only (ACK, maybe PSH), full-sized enough
// to be worth it; on net_tap IPv4 only and with even-length pieces (its software GSO sums each
// piece on its own, like the DPDK checksum bug in stack/cksum.h).
bool Worker::tso_fits(const Port& p, const Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  const Interface& i = p.iface;
  if (!i.tx_tso || seg.len < kTsoMinSegment || !c.mac_ok ||
      (seg.flags & ~(tcp::flag::kAck | tcp::flag::kPsh)) != 0 || (c.v6 && i.tap_offloads)) {
    return false;
  }
  if (i.tap_offloads) {
    for (const auto& ref : seg.payload()) {
      if ((ref.len & 1) != 0) {
        return false;
      }
    }
  }
  return true;
}

// Appends `seg` to the port's open TSO frame when it continues it: same connection, next
// sequence number, no longer than the frame's segment size, the same options, room left.
bool Worker::tso_extend(Port& p, Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  TsoFrame& f = p.tso;
  if (f.m == nullptr || f.c != &c || f.last || seg.seq.raw() != f.next_seq ||
      seg.len > f.seg_size || f.payload + seg.len > kTsoMaxPayload ||
      f.m->nb_segs + seg.payload().size() > kTsoMaxSegs || !tso_fits(p, c, seg)) {
    return false;
  }
  std::array<std::byte, 40> opts{};
  const size_t n = wire::tcp_options_length(seg.opts);
  if (n != f.l4 - wire::TcpView::kMinHeaderLen || !wire::write_tcp_options(opts, seg.opts) ||
      std::memcmp(opts.data(), rte_pktmbuf_mtod_offset(f.m, const std::byte*, f.tcp_off + 20), n) !=
          0) {
    return false;
  }
  if (!attach_payload(p, f.m, seg)) {
    // The pool ran dry part way: the pieces attached are this segment's first bytes, at the
    // right sequence numbers. The frame ends with them; TCP retransmits the rest.
    f.payload = rte_pktmbuf_pkt_len(f.m) - (wire::EthView::kHeaderLen + f.l3 + f.l4);
    f.last = true;
    return true;
  }
  // The newest ACK, window and PSH ride in the frame's header (one call of the core: the
  // same values as the segments it replaces, or newer).
  std::byte* th = rte_pktmbuf_mtod_offset(f.m, std::byte*, f.tcp_off);
  const uint32_t ack = rte_cpu_to_be_32(seg.ack.raw());
  const uint16_t win = rte_cpu_to_be_16(seg.window);
  std::memcpy(th + 8, &ack, 4);
  std::memcpy(th + 14, &win, 2);
  th[13] |= static_cast<std::byte>(seg.flags & tcp::flag::kPsh);
  f.payload += seg.len;
  f.next_seq += seg.len;
  f.last = seg.len < f.seg_size;  // a short segment ends the frame
  counters_.tcp_segments_sent++;
  counters_.tx_tso_merged++;
  return true;
}

// Finishes the open TSO frame (lengths, checksum offsets) and queues it.
void Worker::tso_flush(Port& p) noexcept {
  TsoFrame& f = p.tso;
  if (f.m == nullptr) {
    return;
  }
  rte_mbuf* m = std::exchange(f.m, nullptr);
  const bool v6 = f.c->v6;
  if (f.payload == f.seg_size) {  // nothing joined it: an ordinary segment
    finish_frame(p, v6, m, f.tcp_off, f.l3, f.l4);
    transmit(p, m);
    return;
  }
  const size_t ip_off = wire::EthView::kHeaderLen;
  m->l2_len = wire::EthView::kHeaderLen;
  m->l3_len = f.l3;
  m->l4_len = f.l4;
  m->tso_segsz = f.seg_size;
  if (p.iface.tap_offloads) {
    // Even, so that the cut pieces stay even (tso_fits).
    const int room = p.iface.mtu - wire::EthView::kHeaderLen - f.l3 - f.l4;
    m->tso_segsz = static_cast<uint16_t>(std::min<int>(f.seg_size, room) & ~1);
  }
  uint16_t phdr;
  if (v6) {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, ip_off);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(f.l4 + f.payload));
    m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
    phdr = rte_ipv6_phdr_cksum(ip, m->ol_flags);
  } else {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, ip_off);
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(f.l3 + f.l4 + f.payload));
    ip->hdr_checksum = 0;
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG |
                   RTE_MBUF_F_TX_TCP_CKSUM;
    phdr = rte_ipv4_phdr_cksum(ip, m->ol_flags);  // without the length, as TSO wants
  }
  std::memcpy(rte_pktmbuf_mtod_offset(m, std::byte*, f.tcp_off + 16), &phdr, sizeof phdr);
  counters_.tx_tso_frames++;
  transmit(p, m);
}

// The TCP checksum of a built frame: left to the NIC where it can, else summed here.
void Worker::finish_frame(Port& p, bool v6, rte_mbuf* m, uint16_t tcp_off, uint16_t l3,
                          uint16_t l4) noexcept {
  const Interface& i = p.iface;
  const size_t ip_off = wire::EthView::kHeaderLen;
  if (i.tx_tcp_cksum && (m->nb_segs == 1 || !i.tap_offloads)) {
    // The NIC sums the segment; it wants the pseudo-header sum in the checksum field.
    m->l2_len = wire::EthView::kHeaderLen;
    m->l3_len = l3;
    m->l4_len = l4;
    uint16_t phdr;
    if (v6) {
      m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
      phdr =
          rte_ipv6_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, ip_off), m->ol_flags);
    } else {
      m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
      phdr =
          rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, ip_off), m->ol_flags);
    }
    std::memcpy(rte_pktmbuf_mtod_offset(m, std::byte*, tcp_off + 16), &phdr, sizeof phdr);
    counters_.tx_cksum_offloaded++;
    return;
  }
  // Our own chain sum: DPDK 22.11's rte_ipv*_udptcp_cksum_mbuf is wrong for chains
  // (stack/cksum.h).
  const uint16_t phdr =
      v6 ? rte_ipv6_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, ip_off), 0)
         : rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, ip_off), 0);
  std::memcpy(rte_pktmbuf_mtod_offset(m, std::byte*, tcp_off + 16), "\0\0", 2);
  const uint16_t cksum = tcp_cksum_chain(m, tcp_off, phdr);
  std::memcpy(rte_pktmbuf_mtod_offset(m, std::byte*, tcp_off + 16), &cksum, sizeof cksum);
}

void Worker::emit(Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept {
  Port& p = ports_[c.port];
  const Interface& i = p.iface;
  if (!c.mac_ok) [[unlikely]] {
    if (auto mac = lookup(p, remote_of(c))) {
      c.peer_mac = *mac;
      c.mac_ok = true;
    }
  }
  // Segments the core sends back to back in one call merge into one TSO frame.
  if (p.tso.m != nullptr) {
    if (tso_extend(p, c, seg)) {
      return;
    }
    tso_flush(p);
  }
  const size_t l3 = c.v6 ? wire::Ipv6View::kHeaderLen : wire::Ipv4View::kMinHeaderLen;
  const size_t l4 = wire::TcpView::kMinHeaderLen + wire::tcp_options_length(seg.opts);
  const size_t hdr = wire::EthView::kHeaderLen + l3 + l4;
  const bool copy = seg.len <= kCopyBelow;
  rte_mbuf* m = alloc(p, static_cast<uint16_t>(hdr + (copy ? seg.len : 0)));
  if (m == nullptr) {
    return;  // counted; the retransmission timer sends it again
  }
  std::span<std::byte> out = bytes(m);
  size_t off =
      *wire::write_eth(out, c.peer_mac, i.mac, c.v6 ? wire::kEtherTypeIpv6 : wire::kEtherTypeIpv4);
  const auto l4_len = static_cast<uint16_t>(l4 + seg.len);
  if (c.v6) {
    wire::Ipv6Addr src(c.key6.local);
    wire::Ipv6Addr dst(c.key6.remote);
    off +=
        *wire::write_ipv6(out.subspan(off), wire::Ipv6HeaderFields{.src = src,
                                                                   .dst = dst,
                                                                   .next_header = wire::kIpProtoTcp,
                                                                   .payload_len = l4_len,
                                                                   .hop_limit = 64,
                                                                   .traffic_class = 0,
                                                                   .flow_label = 0});
  } else {
    off += *wire::write_ipv4(out.subspan(off),
                             wire::Ipv4HeaderFields{.src = wire::Ipv4Addr(c.key4.local),
                                                    .dst = wire::Ipv4Addr(c.key4.remote),
                                                    .protocol = wire::kIpProtoTcp,
                                                    .payload_len = l4_len,
                                                    .ttl = 64,
                                                    .id = 0,
                                                    .dont_fragment = true,
                                                    .tos = 0});
  }
  const uint16_t lport = c.v6 ? c.key6.local_port : c.key4.local_port;
  const uint16_t rport = c.v6 ? c.key6.remote_port : c.key4.remote_port;
  const auto tcp_off = static_cast<uint16_t>(off);
  off += *wire::write_tcp(out.subspan(off),
                          wire::TcpHeaderFields{.src_port = lport,
                                                .dst_port = rport,
                                                .seq = seg.seq.raw(),
                                                .ack = seg.ack.raw(),
                                                .flags = wire::TcpFlags(seg.flags),
                                                .window = seg.window,
                                                .urgent = 0},
                          seg.opts);
  if (copy) {
    for (const auto& ref : seg.payload()) {
      ref.buf->copy_out(ref.off, ref.len, out.data() + off);
      off += ref.len;
    }
  } else if (!attach_payload(p, m, seg)) {
    rte_pktmbuf_free(m);
    return;  // counted; the retransmission timer sends it again
  }
  counters_.tcp_segments_sent++;
  if (!copy && tso_fits(p, c, seg)) {
    // Held open for the segments that follow in this call (tso_flush sends it).
    p.tso = TsoFrame{.m = m,
                     .c = &c,
                     .next_seq = seg.seq.raw() + seg.len,
                     .payload = seg.len,
                     .seg_size = static_cast<uint16_t>(seg.len),
                     .tcp_off = tcp_off,
                     .l3 = static_cast<uint16_t>(l3),
                     .l4 = static_cast<uint16_t>(l4),
                     .last = false};
    return;
  }
  finish_frame(p, c.v6, m, tcp_off, static_cast<uint16_t>(l3), static_cast<uint16_t>(l4));
  if (!c.mac_ok) [[unlikely]] {
    park(p, remote_of(c), m);  // the SYN of an active open, while ARP/ND runs
    return;
  }
  transmit(p, m);
}

}  // namespace tempo::stack
