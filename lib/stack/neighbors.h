// Neighbors: one port's link-layer neighbours as one Worker keeps them. It owns
//  - the ARP and neighbour-discovery caches (stack/neighbor.h);
//  - resolution: the next hop's MAC, or a solicitation for it, at most one a second per
//    address (RFC 1122 §2.3.2.1), so a burst of sends to an unresolved neighbour costs one;
//  - the frames parked until their next hop answers (Linux: the neighbour's unres_qlen queue):
//    sent when it resolves, dropped (counted) after kParkTimeout or when all 16 are in use;
//  - the wire's side of both protocols: ARP (RFC 826) and the neighbour solicitations and
//    advertisements of RFC 4861, learned from and answered here;
//  - sharing: what it learns from the wire goes to the other Workers (stack/mesh.h), since ARP
//    and neighbour discovery reach whichever queue the device picks.
// It sends through the port's TX batch and knows nothing of TCP or of the Worker. Tests:
// tests/unit/stack/neighbors_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "stack/interface.h"
#include "stack/mesh.h"
#include "stack/neighbor.h"
#include "stack/tx_batch.h"
#include "telemetry/counters.h"
#include "time/ticks.h"
#include "wire/ethernet.h"
#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"
#include "wire/mac_addr.h"

namespace tempo::wire {
class Ipv6View;
class Icmpv6View;
}  // namespace tempo::wire

namespace tempo::stack {

class Neighbors {
 public:
  static constexpr Ticks kSolicitInterval = Ticks::from_sec(1);
  static constexpr Ticks kParkTimeout = Ticks::from_sec(3);
  static constexpr size_t kMaxParked = 16;

  // `iface` and `tx` are the port's and outlive this; `index` is the port's place among the
  // Worker's (what shared entries name).
  Neighbors(const Interface& iface, uint8_t index, TxBatch& tx,
            telemetry::StackCounters& counters) noexcept
      : iface_(iface), index_(index), tx_(tx), counters_(counters) {}
  ~Neighbors() { drop_parked(); }
  Neighbors(const Neighbors&) = delete;
  Neighbors& operator=(const Neighbors&) = delete;

  // Share what is learned from the wire with the other Workers of `mesh` (null: alone).
  void join(const Mesh* mesh, uint16_t self) noexcept {
    mesh_ = mesh;
    self_ = self;
  }

  // The MAC to send to `dst` through this port: from the cache, or nullopt after (rate
  // limited) soliciting the next hop. With `solicit` false, only the cache is read.
  std::optional<wire::MacAddr> resolve(wire::Ipv4Addr dst, Ticks now, bool solicit = true) noexcept;
  std::optional<wire::MacAddr> resolve(const wire::Ipv6Addr& dst, Ticks now,
                                       bool solicit = true) noexcept;
  std::optional<wire::MacAddr> resolve(const Remote& dst, Ticks now) noexcept {
    return dst.v6 ? resolve(dst.ip6, now) : resolve(dst.ip4, now);
  }

  // Holds `m` (its destination MAC not yet written) until `dst`'s next hop resolves.
  void park(const Remote& dst, rte_mbuf* m, Ticks now) noexcept;
  // Sends what now resolves; drops what waited too long.
  void release(Ticks now) noexcept;
  size_t parked() const noexcept { return n_parked_; }
  void drop_parked() noexcept;

  // Once a second: the gateways kept resolved (the first packet to them need not wait), and
  // what is parked released or aged out.
  void maintain(Ticks now) noexcept;

  // RFC 826 "Packet Reception": learn the sender if it is known or we are the target, answer a
  // request for one of our addresses.
  void input_arp(const wire::EthView& eth, Ticks now) noexcept;
  // RFC 4861 §7.2.3 and §7.2.5: a neighbour solicitation (learned from, answered with an
  // advertisement) or advertisement (learned from). False when `icmp` is neither.
  bool input_nd(const wire::EthView& eth, const wire::Ipv6View& ip, const wire::Icmpv6View& icmp,
                Ticks now) noexcept;
  // An entry another Worker learned from the wire.
  void learn_shared(const NeighborMsg& msg, Ticks now) noexcept;

  // "198.18.0.1 lladdr 02:..:.." per live entry (reports).
  void describe(Ticks now, std::vector<std::string>& out) const;
  const NeighborCache<wire::Ipv4Addr>& arp() const noexcept { return arp_; }
  const NeighborCache<wire::Ipv6Addr>& nd() const noexcept { return nd_; }

 private:
  struct Pending {
    wire::Ipv6Addr addr;  // IPv4 as ::ffff:a.b.c.d
    Ticks sent;
  };
  struct Parked {
    Remote dst;  // the packet's destination; resolve() finds the hop
    rte_mbuf* m = nullptr;
    Ticks since;
  };

  // Learned from the wire: cached, shared, and what waited for it released.
  void learned(const wire::Ipv4Addr& ip, const wire::MacAddr& mac, Ticks now) noexcept;
  void learned(const wire::Ipv6Addr& ip, const wire::MacAddr& mac, Ticks now) noexcept;
  void share(const NeighborMsg& msg) noexcept;
  // True when a solicitation for `addr` may go out now (and records it).
  bool may_solicit(const wire::Ipv6Addr& addr, Ticks now) noexcept;
  void send_arp_request(wire::Ipv4Addr target, Ticks now) noexcept;
  void send_neighbor_solicit(const wire::Ipv6Addr& target, Ticks now) noexcept;
  void send_neighbor_advert(const wire::EthView& eth, const wire::Ipv6View& ip,
                            const wire::Icmpv6View& icmp, Ticks now) noexcept;
  rte_mbuf* alloc(uint16_t len) noexcept;

  const Interface& iface_;
  uint8_t index_;
  TxBatch& tx_;
  telemetry::StackCounters& counters_;
  const Mesh* mesh_ = nullptr;
  uint16_t self_ = 0;
  NeighborCache<wire::Ipv4Addr> arp_;
  NeighborCache<wire::Ipv6Addr> nd_;
  // Last solicitation per next hop. Bounded by construction: may_solicit() overwrites the
  // oldest entry when none matches.
  std::array<Pending, 8> pending_{};
  // Checked and counted: park() drops the oldest (drop_no_neighbor) when all are in use.
  std::array<Parked, kMaxParked> parked_{};
  uint8_t n_parked_ = 0;
};

}  // namespace tempo::stack
