// Software steering (Interface::soft_steer, stack/mesh.h): on a device that spreads packets over
// its queues by a hash of its own, each TCP segment goes to the Worker that owns its tuple by the
// symmetric Toeplitz hash over a virtual redirection table, the same function active opens pick
// their source ports with. One single-producer ring per pair of Workers; no lock, no atomic
// read-modify-write per packet.
#include <array>
#include <cstring>

#include <rte_ring.h>

#include "stack/worker.h"
#include "stack/worker_detail.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {

using telemetry::Layer;
using namespace detail;  // NOLINT: the Worker's own helpers

void Worker::join(const Mesh* mesh) noexcept {
  mesh_ = mesh != nullptr && mesh->workers() > 1 ? mesh : nullptr;
  steer_out_.assign(mesh_ != nullptr ? mesh_->workers() : 0, SteerBatch{});
}

uint16_t Worker::owner_of(const Port& p, const rte_mbuf* m) const noexcept {
  // Only the fields the Toeplitz hash reads; input() validates the packet properly.
  const auto* b = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  constexpr uint32_t kEth = wire::EthView::kHeaderLen;
  if (len < kEth + wire::Ipv4View::kMinHeaderLen + 4) {
    return index_;
  }
  const uint16_t type = static_cast<uint16_t>(b[12] << 8 | b[13]);
  auto be16 = [&](uint32_t off) { return static_cast<uint16_t>(b[off] << 8 | b[off + 1]); };
  if (type == wire::kEtherTypeIpv4) {
    const uint32_t ihl = (b[kEth] & 0x0fu) * 4u;
    const bool fragment = (be16(kEth + 6) & 0x3fffu) != 0;  // MF or an offset
    if ((b[kEth] >> 4) != 4 || ihl < 20 || b[kEth + 9] != wire::kIpProtoTcp || fragment ||
        len < kEth + ihl + 4) {
      return index_;
    }
    auto be32 = [&](uint32_t off) {
      return uint32_t{b[off]} << 24 | uint32_t{b[off + 1]} << 16 | uint32_t{b[off + 2]} << 8 |
             b[off + 3];
    };
    return p.iface.rss->queue(wire::Ipv4Addr(be32(kEth + 12)), wire::Ipv4Addr(be32(kEth + 16)),
                              be16(kEth + ihl), be16(kEth + ihl + 2));
  }
  if (type == wire::kEtherTypeIpv6) {
    constexpr uint32_t kIp6 = wire::Ipv6View::kHeaderLen;
    if (len < kEth + kIp6 + 4 || b[kEth + 6] != wire::kIpProtoTcp) {
      return index_;
    }
    std::array<uint8_t, 16> src;
    std::array<uint8_t, 16> dst;
    std::memcpy(src.data(), b + kEth + 8, 16);
    std::memcpy(dst.data(), b + kEth + 24, 16);
    return p.iface.rss->queue_of_hash(
        p.iface.rss->hash(src, dst, be16(kEth + kIp6), be16(kEth + kIp6 + 2)));
  }
  return index_;
}

void Worker::steer(uint16_t to, rte_mbuf* m) noexcept {
  if (to >= steer_out_.size()) {  // a queue with no Worker: nobody owns the tuple here
    rte_pktmbuf_free(m);
    counters_.steer_dropped++;
    return;
  }
  SteerBatch& b = steer_out_[to];
  b.m[b.n++] = m;
  if (b.n == b.m.size()) {
    flush_steered();
  }
}

void Worker::flush_steered() noexcept {
  for (uint16_t to = 0; to < steer_out_.size(); ++to) {
    SteerBatch& b = steer_out_[to];
    if (b.n == 0) {
      continue;
    }
    const unsigned sent = rte_ring_sp_enqueue_burst(
        mesh_->packets(index_, to), reinterpret_cast<void**>(b.m.data()), b.n, nullptr);
    counters_.steered_out += sent;
    if (sent < b.n) {  // the owner is behind: drop, as a full RX queue would
      rte_pktmbuf_free_bulk(b.m.data() + sent, b.n - sent);
      counters_.steer_dropped += b.n - sent;
    }
    b.n = 0;
  }
}

void Worker::receive_steered() noexcept {
  std::array<rte_mbuf*, kBurst> in;
  for (uint16_t from = 0; from < mesh_->workers(); ++from) {
    if (from == index_) {
      continue;
    }
    const unsigned n = rte_ring_sc_dequeue_burst(
        mesh_->packets(from, index_), reinterpret_cast<void**>(in.data()), kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      counters_.steered_in++;
      Port* p = nullptr;
      for (Port& q : ports_) {
        if (q.iface.port_id == in[i]->port) {
          p = &q;
        }
      }
      if (p != nullptr) {
        input(*p, in[i]);
      } else {
        counters_.steer_dropped++;
      }
      rte_pktmbuf_free(in[i]);
    }
  }
  for (Port& p : ports_) {
    flush(p);
  }
}

}  // namespace tempo::stack
