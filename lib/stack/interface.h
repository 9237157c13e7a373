// Interface: one port as one Worker sees it (its queue, pools, addresses, offloads and
// routes), and next_hop(), the routing decision over it (stack/interface.cc). Filled by the
// Runtime from the configuration and the device (stack/runtime.cc), read by every room of the
// Worker and by the segment encoder (stack/tx_encoder.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include <rte_mempool.h>

#include "flow/rss.h"
#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"
#include "wire/mac_addr.h"

namespace tempo::stack {

// One port as one Worker sees it: its queue, its addresses and its neighbour caches.
struct Interface {
  uint16_t port_id = 0;
  uint16_t queue = 0;
  rte_mempool* pool = nullptr;     // what the Worker allocates from (dpdk/port.h)
  rte_mempool* rx_pool = nullptr;  // what RX descriptors refill from
  wire::MacAddr mac;
  wire::Ipv4Addr ipv4;
  uint8_t ipv4_prefix = 0;
  // ports[].ipv4_secondary: blocks of more local addresses, [first, last] in host order,
  // sorted and disjoint.
  std::vector<std::pair<uint32_t, uint32_t>> ipv4_secondary;
  // `a` is one of this port's IPv4 addresses.
  bool is_local4(wire::Ipv4Addr a) const noexcept {
    if (a == ipv4) {
      return true;
    }
    auto it = std::upper_bound(ipv4_secondary.begin(), ipv4_secondary.end(),
                               std::pair{a.value(), UINT32_MAX});
    return it != ipv4_secondary.begin() && a.value() <= std::prev(it)->second;
  }
  // RFC 1122 §3.2.1.3: a source address no host may send from (0/8, 127/8, multicast, class
  // E and the limited broadcast, this subnet's network and broadcast addresses), or one of
  // ours (a "land" packet, or spoofed ARP for our address). Discarded, never answered.
  bool is_martian_src4(wire::Ipv4Addr a) const noexcept {
    const uint32_t v = a.value();
    const uint32_t top = v >> 24;
    if (top == 0 || top == 127 || top >= 224 || is_local4(a)) {
      return true;
    }
    if (ipv4_prefix > 30) {
      return false;  // /31 and /32 have no network or broadcast address (RFC 3021)
    }
    const uint32_t host = ipv4_prefix == 0 ? UINT32_MAX : UINT32_MAX >> ipv4_prefix;
    const bool on_subnet = ((v ^ ipv4.value()) & ~host) == 0;
    return on_subnet && ((v & host) == 0 || (v & host) == host);
  }
  // RFC 4291 §2.7 (no multicast source), §2.5.3 (loopback never leaves a node), ours.
  // The unspecified address is the caller's to judge (neighbour discovery's DAD uses it).
  bool is_martian_src6(const wire::Ipv6Addr& a) const noexcept {
    return a.is_multicast() || a.is_loopback() || a == link_local || (has_ipv6 && a == ipv6);
  }
  bool has_ipv6 = false;
  wire::Ipv6Addr ipv6;
  uint8_t ipv6_prefix = 0;
  wire::Ipv6Addr link_local;  // fe80::/64 from the MAC (RFC 4291 appendix A)
  uint16_t mtu = 1500;
  bool tx_tcp_cksum = false;  // the port computes TCP checksums (RTE_ETH_TX_OFFLOAD_TCP_CKSUM)
  bool tx_tso = false;        // RTE_ETH_TX_OFFLOAD_TCP_TSO in use
  // ports[].trusted_link: no TCP checksum summed on TX or verified on RX, no IPv4 header
  // checksum verified on RX (shared memory between processes of this host).
  bool trusted_link = false;
  // A memif zero-copy client (config::memif_zero_copy_client): its peer reads what it sends
  // from the one DPDK memory list it maps, so lend() takes no memory outside it.
  bool memif_zero_copy = false;
  // The port sends mbuf chains (RTE_ETH_TX_OFFLOAD_MULTI_SEGS); without, every payload is
  // copied into the frame's one mbuf (net_af_xdp in DPDK 22.11).
  bool tx_multi_seg = true;
  // net_tap (DPDK 22.11), whose offloads are software in the PMD, with three defects tempo
  // works around: it sums each segment of a chain on its own, wrong after an odd-length one
  // (checksum offload for single segments only, TSO for even-length pieces only); its GSO has
  // no IPv6 (no TSO there); it checks tso_segsz plus every header, Ethernet's included,
  // against the MTU (its wire segments are cut that much shorter than the core's).
  bool tap_offloads = false;
  // With RSS over several queues: the port's hash and redirection table, so that an active
  // open picks a source port whose replies come back to this queue. Absent: one queue.
  std::optional<flow::RssSteering> rss;
  // The device spreads packets over its queues by a hash of its own (net_tap, af_packet,
  // memif): `rss` is then a virtual table, and the Worker passes each TCP segment to the
  // Worker that owns its tuple by it (software steering, stack/mesh.h).
  bool soft_steer = false;
  std::optional<wire::Ipv4Addr> gateway4;
  std::optional<wire::Ipv6Addr> gateway6;
  struct Route4 {
    wire::Ipv4Addr prefix;
    uint8_t len = 0;
    wire::Ipv4Addr via;
  };
  std::vector<Route4> routes4;  // longest prefix wins; the gateway is the default route
  struct Route6 {
    wire::Ipv6Addr prefix;
    uint8_t len = 0;
    wire::Ipv6Addr via;
  };
  std::vector<Route6> routes6;  // longest prefix wins; gateway6 is the default route
};

// IEEE 802.3: a frame is at least 60 bytes before the FCS. Many NICs pad short frames
// themselves, but not all, and a TAP device passes what it is given.
inline constexpr uint16_t kMinFrame = 60;
inline constexpr uint8_t kDefaultTtl = 64;  // RFC 1700 / Linux ip_default_ttl

// A far end: the destination of an active open, of a parked frame.
struct Remote {
  bool v6 = false;
  wire::Ipv4Addr ip4;
  wire::Ipv6Addr ip6;
  uint16_t port = 0;
};

// The first hop toward `dst`: `dst` itself when on-link, else the address of the route with
// the longest prefix holding `dst`, else the gateway's; nullopt when there is no route.
std::optional<wire::Ipv4Addr> next_hop(const Interface& iface, wire::Ipv4Addr dst) noexcept;
// The same for IPv6, where link-local destinations (fe80::/10) are on-link too, and the
// unspecified address has no route.
std::optional<wire::Ipv6Addr> next_hop(const Interface& iface, const wire::Ipv6Addr& dst) noexcept;

}  // namespace tempo::stack
