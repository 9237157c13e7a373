// Mesh: how the Workers of one process talk (DESIGN.md principle 1: cores talk only through
// rte_ring messages, and rarely). One single-producer single-consumer ring per ordered pair of
// Workers and kind, so that no ring is ever written by two cores: enqueue and dequeue are a
// store-release and a load-acquire, never an atomic read-modify-write.
//
// Two kinds of traffic:
//  - packets: software steering. A device without usable RSS (net_tap, whose queues the
//    kernel fills by its own flow hash; af_packet; memif) delivers a TCP segment to whichever
//    queue it likes; the Worker that received it passes it to the Worker that owns its tuple
//    (the symmetric Toeplitz hash over a virtual redirection table, flow/rss.h, the same
//    function active opens pick their source ports with), which processes it as its own.
//  - neighbours: an ARP or neighbour-discovery entry learned by one Worker goes to every other,
//    so any Worker may resolve and the answer reaches it whichever queue it arrives on.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_ring.h>

#include <tempo/result.h>

namespace tempo::stack {

// A neighbour entry as it travels between Workers (rte_ring element: a multiple of 4 bytes).
struct NeighborMsg {
  uint8_t port = 0;  // the Worker's interface index
  uint8_t v6 = 0;
  std::array<uint8_t, 6> mac{};
  std::array<uint8_t, 16> ip{};  // IPv4: the first 4 bytes, network order
};
static_assert(sizeof(NeighborMsg) % 4 == 0);

class Mesh {
 public:
  static constexpr unsigned kPacketRing = 1024;   // per pair: a few bursts in flight
  static constexpr unsigned kNeighborRing = 256;  // per pair: neighbour entries are rare

  // Rings for `workers` Workers; `tag` makes the ring names unique in the process.
  static Result<std::unique_ptr<Mesh>, std::string> create(uint16_t workers,
                                                           const std::string& tag);
  ~Mesh();
  Mesh(const Mesh&) = delete;
  Mesh& operator=(const Mesh&) = delete;

  uint16_t workers() const noexcept { return n_; }
  // The ring that `from` writes and `to` reads (from != to).
  rte_ring* packets(uint16_t from, uint16_t to) const noexcept { return pkt_[from * n_ + to]; }
  rte_ring* neighbors(uint16_t from, uint16_t to) const noexcept { return nbr_[from * n_ + to]; }

 private:
  explicit Mesh(uint16_t n) : n_(n), pkt_(size_t{n} * n, nullptr), nbr_(size_t{n} * n, nullptr) {}

  uint16_t n_;
  std::vector<rte_ring*> pkt_;
  std::vector<rte_ring*> nbr_;
};

}  // namespace tempo::stack
