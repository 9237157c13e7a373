// Steering: software steering between the Workers of one process (Interface::soft_steer,
// stack/mesh.h). On a device that spreads packets over its queues by a hash of its own
// (net_tap, af_packet, memif), each TCP segment goes to the Worker that owns its tuple by the
// symmetric Toeplitz hash over a virtual redirection table, the same function active opens pick
// their source ports with. It owns the outgoing batches, one per Worker, and the reading of what
// the others passed here: one single-producer ring per pair of Workers; no lock, no atomic
// read-modify-write per packet.
//
// It knows the mesh and the RSS model, not the Worker. Tests: tests/unit/stack/steering_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "flow/rss.h"
#include "flow/tuple.h"
#include "stack/mesh.h"
#include "telemetry/counters.h"

namespace tempo::stack {

class Steering {
 public:
  static constexpr uint16_t kBurst = 32;

  Steering(uint16_t self, telemetry::StackCounters& counters) noexcept
      : self_(self), counters_(counters) {}
  ~Steering() { discard(); }
  Steering(const Steering&) = delete;
  Steering& operator=(const Steering&) = delete;

  // Joins the other Workers of `mesh` (null, or a mesh of one: alone).
  void join(const Mesh* mesh) noexcept;
  bool joined() const noexcept { return mesh_ != nullptr; }
  uint16_t self() const noexcept { return self_; }

  // The Worker that owns the tuple of the segment in `m`, by `rss`; for a fragment, the one
  // its address pair hashes to (ports 0); self() for anything else: neither TCP over IPv4 or
  // IPv6 without extension headers, nor a fragment (wire/peek.h).
  uint16_t owner_of(const flow::RssSteering& rss, const rte_mbuf* m) const noexcept;
  // The Worker that owns tuple `t` (local = this host), by `rss`: the queue the peer's segments
  // hash to. An ICMP error quoting one of our segments goes there (stack/worker.cc).
  static uint16_t owner_of(const flow::RssSteering& rss, const flow::Tuple& t) noexcept;
  // Passes `m` to Worker `to` (batched: a full batch is sent first; flush() sends the rest).
  void steer(uint16_t to, rte_mbuf* m) noexcept;
  void flush() noexcept;
  // What the other Workers passed here: input(m) for each, which keeps no reference (m is
  // freed after). Returns how many.
  template <class Input>
  unsigned receive(Input&& input) noexcept;

 private:
  struct Batch {
    std::array<rte_mbuf*, kBurst> m{};  // steer() sends a full batch before the next is added
    uint16_t n = 0;
  };
  void discard() noexcept;

  uint16_t self_;
  telemetry::StackCounters& counters_;
  const Mesh* mesh_ = nullptr;
  std::vector<Batch> out_;  // per destination Worker
};

template <class Input>
unsigned Steering::receive(Input&& input) noexcept {
  std::array<rte_mbuf*, kBurst> in;
  unsigned total = 0;
  for (uint16_t from = 0; from < mesh_->workers(); ++from) {
    if (from == self_) {
      continue;
    }
    const unsigned n = rte_ring_sc_dequeue_burst(
        mesh_->packets(from, self_), reinterpret_cast<void**>(in.data()), kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      counters_.steer_in++;
      input(in[i]);
      rte_pktmbuf_free(in[i]);
    }
    total += n;
  }
  return total;
}

}  // namespace tempo::stack
