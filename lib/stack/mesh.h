// Mesh: how the Workers of one process talk (DESIGN.md principle 1: cores talk only through
// rte_ring messages, and rarely). One single-producer single-consumer ring per ordered pair of
// Workers and kind, so that no ring is ever written by two cores: enqueue and dequeue are a
// store-release and a load-acquire, never an atomic read-modify-write.
//
// Three kinds of traffic:
//  - packets: software steering. A device without usable RSS (net_tap, whose queues the
//    kernel fills by its own flow hash; af_packet; memif) delivers a TCP segment to whichever
//    queue it likes; the Worker that received it passes it to the Worker that owns its tuple
//    (the symmetric Toeplitz hash over a virtual redirection table, flow/rss.h, the same
//    function active opens pick their source ports with), which processes it as its own.
//  - neighbours: an ARP or neighbour-discovery entry learned by one Worker goes to every other,
//    so any Worker may resolve and the answer reaches it whichever queue it arrives on.
//  - the application's messages (tempo::post): a function and a small payload run on another
//    Worker's lcore.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_ring.h>

#include <tempo/result.h>
#include <tempo/stack.h>

namespace tempo::stack {

// A neighbour entry as it travels between Workers (rte_ring element: a multiple of 4 bytes).
struct NeighborMsg {
  uint8_t port = 0;  // the Worker's interface index
  uint8_t v6 = 0;
  std::array<uint8_t, 6> mac{};
  std::array<uint8_t, 16> ip{};  // IPv4: the first 4 bytes, network order
};
static_assert(sizeof(NeighborMsg) % 4 == 0);

// An application message (tempo::post) as it travels: one cache line.
struct AppMsg {
  MessageFn fn = nullptr;
  void* ctx = nullptr;
  uint32_t len = 0;
  uint32_t pad = 0;
  std::array<std::byte, kMessageBytes> payload{};
};
static_assert(sizeof(AppMsg) == 64);

class Mesh {
 public:
  static constexpr unsigned kPacketRing = 1024;   // per pair: a few bursts in flight
  static constexpr unsigned kNeighborRing = 256;  // per pair: neighbour entries are rare
  static constexpr unsigned kAppRing = 512;       // per pair: the application's messages

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
  rte_ring* app(uint16_t from, uint16_t to) const noexcept { return app_[from * n_ + to]; }

 private:
  explicit Mesh(uint16_t n)
      : n_(n),
        pkt_(size_t{n} * n, nullptr),
        nbr_(size_t{n} * n, nullptr),
        app_(size_t{n} * n, nullptr) {}

  uint16_t n_;
  std::vector<rte_ring*> pkt_;
  std::vector<rte_ring*> nbr_;
  std::vector<rte_ring*> app_;
};

}  // namespace tempo::stack
