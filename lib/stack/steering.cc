#include "stack/steering.h"

#include <cstring>

#include "wire/peek.h"

namespace tempo::stack {

void Steering::join(const Mesh* mesh) noexcept {
  discard();
  mesh_ = mesh != nullptr && mesh->workers() > 1 ? mesh : nullptr;
  out_.assign(mesh_ != nullptr ? mesh_->workers() : 0, Batch{});
}

uint16_t Steering::owner_of(const flow::RssSteering& rss, const rte_mbuf* m) const noexcept {
  const std::span<const std::byte> frame(rte_pktmbuf_mtod(m, const std::byte*),
                                         rte_pktmbuf_data_len(m));
  auto p = wire::peek_tcp(frame);
  if (!p) {
    // A fragment goes by its addresses alone (ports 0), so that every fragment of a datagram
    // meets on one Worker whatever queue the device put it on; the reassembled datagram then
    // goes on to the owner of its tuple (Worker::input_fragment).
    p = wire::peek_fragment(frame);
    if (!p) {
      return self_;
    }
  }
  return owner_of(rss, *p);
}

uint16_t Steering::owner_of(const flow::RssSteering& rss, const flow::Tuple& tuple) noexcept {
  // The NIC hashes the packet as sent: source = the remote end.
  if (!tuple.v6) {
    const flow::Tuple4& t = tuple.t4;
    return rss.queue(wire::Ipv4Addr(t.remote), wire::Ipv4Addr(t.local), t.remote_port,
                     t.local_port);
  }
  const flow::Tuple6& t = tuple.t6;
  return rss.queue_of_hash(rss.hash(t.remote, t.local, t.remote_port, t.local_port));
}

void Steering::steer(uint16_t to, rte_mbuf* m) noexcept {
  if (to >= out_.size()) {  // a queue with no Worker: nobody owns the tuple here
    rte_pktmbuf_free(m);
    counters_.drop_steer++;
    return;
  }
  Batch& b = out_[to];
  b.m[b.n++] = m;
  if (b.n == b.m.size()) {
    flush();
  }
}

void Steering::flush() noexcept {
  for (uint16_t to = 0; to < out_.size(); ++to) {
    Batch& b = out_[to];
    if (b.n == 0) {
      continue;
    }
    const unsigned sent = rte_ring_sp_enqueue_burst(
        mesh_->packets(self_, to), reinterpret_cast<void**>(b.m.data()), b.n, nullptr);
    counters_.steer_out += sent;
    if (sent < b.n) {  // the owner is behind: drop, as a full RX queue would
      rte_pktmbuf_free_bulk(b.m.data() + sent, b.n - sent);
      counters_.drop_steer += b.n - sent;
    }
    b.n = 0;
  }
}

void Steering::discard() noexcept {
  for (Batch& b : out_) {
    rte_pktmbuf_free_bulk(b.m.data(), b.n);
    b.n = 0;
  }
}

}  // namespace tempo::stack
