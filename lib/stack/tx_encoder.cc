// TxEncoder (stack/tx_encoder.h): segments into frames, TSO merging, checksums.
#include "stack/tx_encoder.h"

#include <algorithm>
#include <cstring>

#include <rte_ip.h>

#include "stack/cksum.h"
#include "wire/ethernet.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace tempo::stack {

// Attaches the payload of `seg` to `m` by reference: an indirect mbuf per source segment
// (DESIGN.md principle 4). False when the pool ran out (counted); the caller frees `m`.
bool TxEncoder::attach_payload(const Interface& i, rte_mbuf* m,
                               const tcp::OutSegment<MbufBuf>& seg) noexcept {
  for (const auto& ref : seg.payload()) {
    uint32_t want_off = ref.buf->offset() + ref.off;
    uint32_t want_len = ref.len;
    for (rte_mbuf* s = ref.buf->mbuf(); s != nullptr && want_len > 0; s = s->next) {
      if (want_off >= s->data_len) {
        want_off -= s->data_len;
        continue;
      }
      const uint32_t n = std::min<uint32_t>(want_len, s->data_len - want_off);
      rte_mbuf* mi = rte_pktmbuf_alloc(i.pool);
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

// The mbufs attach_payload() chains for `seg`: one per source segment its bytes touch (a
// reference may span several segments of a chained buffer), so a frame's bound on mbufs
// (kTsoMaxSegs) counts what it really holds.
uint32_t TxEncoder::payload_pieces(const tcp::OutSegment<MbufBuf>& seg) noexcept {
  uint32_t n = 0;
  for (const auto& ref : seg.payload()) {
    uint32_t want_off = ref.buf->offset() + ref.off;
    uint32_t want_len = ref.len;
    for (const rte_mbuf* s = ref.buf->mbuf(); s != nullptr && want_len > 0; s = s->next) {
      if (want_off >= s->data_len) {
        want_off -= s->data_len;
        continue;
      }
      want_len -= std::min<uint32_t>(want_len, s->data_len - want_off);
      want_off = 0;
      ++n;
    }
  }
  return n;
}

// May `seg` ride in a TSO frame on this port? Data only (ACK, maybe PSH), full-sized enough
// to be worth it; on net_tap IPv4 only and with even-length pieces (its software GSO sums each
// piece on its own, like the DPDK checksum bug in stack/cksum.h).
bool TxEncoder::tso_fits(const Interface& i, const TxFlow& f,
                         const tcp::OutSegment<MbufBuf>& seg) noexcept {
  if (!i.tx_tso || seg.len < kTsoMinSegment || !f.dst_known ||
      (seg.flags & ~(tcp::flag::kAck | tcp::flag::kPsh)) != 0 || (f.tuple.v6 && i.tap_offloads)) {
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
bool TxEncoder::tso_extend(const Interface& i, const TxFlow& flow,
                           const tcp::OutSegment<MbufBuf>& seg) noexcept {
  TsoFrame& f = tso_;
  if (f.m == nullptr || f.id != flow.id || f.last || seg.seq.raw() != f.next_seq ||
      seg.len > f.seg_size || f.payload + seg.len > kTsoMaxPayload ||
      f.m->nb_segs + payload_pieces(seg) > kTsoMaxSegs || !tso_fits(i, flow, seg)) {
    return false;
  }
  std::array<std::byte, 40> opts{};
  const size_t n = wire::tcp_options_length(seg.opts);
  if (n != f.l4 - wire::TcpView::kMinHeaderLen || !wire::write_tcp_options(opts, seg.opts) ||
      std::memcmp(opts.data(), rte_pktmbuf_mtod_offset(f.m, const std::byte*, f.tcp_off + 20), n) !=
          0) {
    return false;
  }
  if (!attach_payload(i, f.m, seg)) {
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

rte_mbuf* TxEncoder::flush(const Interface& i) noexcept {
  TsoFrame& f = tso_;
  if (f.m == nullptr) {
    return nullptr;
  }
  rte_mbuf* m = std::exchange(f.m, nullptr);
  const bool v6 = f.v6;
  if (f.payload == f.seg_size) {  // nothing joined it: an ordinary segment
    finish_frame(i, v6, m, f.tcp_off, f.l3, f.l4);
    return m;
  }
  const size_t ip_off = wire::EthView::kHeaderLen;
  m->l2_len = wire::EthView::kHeaderLen;
  m->l3_len = f.l3;
  m->l4_len = f.l4;
  m->tso_segsz = f.seg_size;
  if (i.tap_offloads) {
    // Even, so that the cut pieces stay even (tso_fits).
    const int room = i.mtu - wire::EthView::kHeaderLen - f.l3 - f.l4;
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
  return m;
}

// The TCP checksum of a built frame: left to the NIC where it can, else summed here.
void TxEncoder::finish_frame(const Interface& i, bool v6, rte_mbuf* m, uint16_t tcp_off,
                             uint16_t l3, uint16_t l4) noexcept {
  if (i.trusted_link) {  // the field stays 0: the receiver does not verify it
    counters_.tx_cksum_trusted++;
    return;
  }
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

TxEncoder::Frames TxEncoder::encode(const Interface& i, const TxFlow& flow,
                                    const tcp::OutSegment<MbufBuf>& seg) noexcept {
  Frames out;
  // Segments the core sends back to back in one call merge into one TSO frame.
  if (tso_.m != nullptr) {
    if (tso_extend(i, flow, seg)) {
      return out;
    }
    out.m[out.n++] = flush(i);
  }
  const size_t l3 = flow.tuple.v6 ? wire::Ipv6View::kHeaderLen : wire::Ipv4View::kMinHeaderLen;
  const size_t l4 = wire::TcpView::kMinHeaderLen + wire::tcp_options_length(seg.opts);
  const size_t hdr = wire::EthView::kHeaderLen + l3 + l4;
  const bool copy = seg.len <= kCopyBelow || !i.tx_multi_seg;
  rte_mbuf* m = alloc_frame(i.pool, static_cast<uint16_t>(hdr + (copy ? seg.len : 0)));
  if (m == nullptr) [[unlikely]] {
    counters_.drop_no_mbuf++;
    return out;  // the retransmission timer sends it again
  }
  std::span<std::byte> bytes(rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m));
  size_t off = *wire::write_eth(bytes, flow.dst_mac, i.mac,
                                flow.tuple.v6 ? wire::kEtherTypeIpv6 : wire::kEtherTypeIpv4);
  const auto l4_len = static_cast<uint16_t>(l4 + seg.len);
  if (flow.tuple.v6) {
    off += *wire::write_ipv6(bytes.subspan(off),
                             wire::Ipv6HeaderFields{.src = wire::Ipv6Addr(flow.tuple.t6.local),
                                                    .dst = wire::Ipv6Addr(flow.tuple.t6.remote),
                                                    .next_header = wire::kIpProtoTcp,
                                                    .payload_len = l4_len,
                                                    .hop_limit = 64,
                                                    .traffic_class = 0,
                                                    .flow_label = 0});
  } else {
    off += *wire::write_ipv4(bytes.subspan(off),
                             wire::Ipv4HeaderFields{.src = wire::Ipv4Addr(flow.tuple.t4.local),
                                                    .dst = wire::Ipv4Addr(flow.tuple.t4.remote),
                                                    .protocol = wire::kIpProtoTcp,
                                                    .payload_len = l4_len,
                                                    .ttl = 64,
                                                    .id = 0,
                                                    .dont_fragment = true,
                                                    .tos = 0});
  }
  const auto tcp_off = static_cast<uint16_t>(off);
  off += *wire::write_tcp(bytes.subspan(off),
                          wire::TcpHeaderFields{.src_port = flow.tuple.local_port(),
                                                .dst_port = flow.tuple.remote_port(),
                                                .seq = seg.seq.raw(),
                                                .ack = seg.ack.raw(),
                                                .flags = wire::TcpFlags(seg.flags),
                                                .window = seg.window,
                                                .urgent = 0},
                          seg.opts);
  if (copy) {
    for (const auto& ref : seg.payload()) {
      ref.buf->copy_out(ref.off, ref.len, bytes.data() + off);
      off += ref.len;
    }
  } else if (!attach_payload(i, m, seg)) {
    rte_pktmbuf_free(m);
    return out;  // counted; the retransmission timer sends it again
  }
  counters_.tcp_segments_sent++;
  if (!copy && tso_fits(i, flow, seg)) {
    // Held open for the segments that follow in this call (flush() ends it).
    tso_ = TsoFrame{.m = m,
                    .id = flow.id,
                    .v6 = flow.tuple.v6,
                    .next_seq = seg.seq.raw() + seg.len,
                    .payload = seg.len,
                    .seg_size = static_cast<uint16_t>(seg.len),
                    .tcp_off = tcp_off,
                    .l3 = static_cast<uint16_t>(l3),
                    .l4 = static_cast<uint16_t>(l4),
                    .last = false};
    return out;
  }
  finish_frame(i, flow.tuple.v6, m, tcp_off, static_cast<uint16_t>(l3), static_cast<uint16_t>(l4));
  out.m[out.n++] = m;
  return out;
}

}  // namespace tempo::stack
