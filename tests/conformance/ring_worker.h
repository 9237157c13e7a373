// The real Worker (lib/stack) on a DPDK ring port (rte_eth_from_rings) and a virtual clock:
// the test writes Ethernet frames into the port's RX ring, polls the Worker at a time of its
// choosing, and reads what the Worker transmitted from the TX ring. Nothing of the stack is
// copied or mocked: ARP, IPv4, the TCP demultiplexer, TIME_WAIT and the protocol core all run
// as they do on a NIC (DESIGN.md principle 3, STYLE.md §11). Checksums are computed in
// software (the ring port offers no offload) and every transmitted TCP checksum is verified.
//
// Addresses: tempo is 198.18.0.2 (kTempoMac), the scripted peer 198.18.0.1 (kPeerMac).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "stack/worker.h"
#include "tcp/config.h"
#include "timewait/table.h"
#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/packet_builder.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace tempo::conformance {

inline const wire::MacAddr kTempoMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
inline const wire::MacAddr kPeerMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline const wire::Ipv4Addr kTempoIp{198, 18, 0, 2};
inline const wire::Ipv4Addr kPeerIp{198, 18, 0, 1};

// A TCP segment as it left the Worker (or as the test sends it).
struct Seg {
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t win = 0;
  wire::TcpOptions opts;
  std::string data;
  // IPv4 addresses: as received from the Worker; on send, unset means peer -> kTempoIp.
  wire::Ipv4Addr src;
  wire::Ipv4Addr dst;
  // A TSO frame as the Worker left it (the NIC would cut it into tso_segsz pieces); 0: one
  // segment.
  uint16_t tso_segsz = 0;
  uint16_t checksum = 0;  // the TCP checksum field as the Worker sent it

  bool has(uint8_t f) const { return (flags & f) == f; }
};

// A TCP segment the Worker sent in an IPv6 frame (RingWorker::take_tcp6), with its whole IPv6
// packet (what an ICMPv6 error quotes).
struct Seg6 {
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  wire::TcpOptions opts;
  std::string data;
  std::vector<std::byte> packet;  // the IPv6 header and everything after it
  size_t ip_len() const { return packet.size(); }
};

std::string flag_string(uint8_t flags);

// The EAL once per process, and one mbuf pool.
class Eal : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
  static rte_mempool* pool() { return pool_; }

 private:
  static inline rte_mempool* pool_ = nullptr;
};

struct RingWorkerConfig {
  tcp::Config tcp{};
  timewait::TwTableConfig tw{};
  stack::WorkerTcpConfig worker{};
  uint32_t max_conns = 4096;
  // Interface::ipv4_secondary: [first, last] host-order blocks, sorted.
  std::vector<std::pair<uint32_t, uint32_t>> ipv4_secondary;
  // The port's IPv6 address and prefix length (Interface::ipv6, ipv6_prefix); unset: only the
  // link-local address. gateway6 and routes6 as Interface's.
  std::optional<std::pair<wire::Ipv6Addr, uint8_t>> ipv6;
  std::optional<wire::Ipv6Addr> gateway6;
  std::vector<stack::Interface::Route6> routes6;
  // The port offers TSO and TCP checksum offload (Interface::tx_tso, tx_tcp_cksum): frames
  // then carry the pseudo-header sum for the NIC, and TSO frames several segments.
  bool tso = false;
  // ports[].trusted_link (Interface::trusted_link): TCP checksums neither summed nor verified;
  // poll() then does not verify what the Worker sent either.
  bool trusted_link = false;
  uint32_t tx_ring = 4096;  // the TX ring's size: a small one refuses part of a burst
  // An RX pool of this many mbufs (0: none): frames sent to the Worker are allocated from it,
  // and the Worker's receive budget follows its free mbufs (Interface::rx_pool), as on a NIC.
  uint32_t rx_pool_mbufs = 0;
  // IP reassembly (Worker::init_reassembly); unset: the Worker's default.
  std::optional<stack::ReassemblyConfig> reasm;
};

class RingWorker {
 public:
  // A fresh ring port and Worker (names are unique per instance), at virtual time `start`.
  explicit RingWorker(const RingWorkerConfig& cfg = RingWorkerConfig{},
                      Ticks start = Ticks::from_sec(1000));
  ~RingWorker();
  RingWorker(const RingWorker&) = delete;
  RingWorker& operator=(const RingWorker&) = delete;

  stack::Worker& worker() { return *worker_; }
  rte_mempool* rx_pool() { return rx_pool_; }  // nullptr unless configured
  Ticks now() const { return now_; }

  // Writes `s` (peer -> tempo) into the RX ring as a full frame.
  void send(const Seg& s);
  // The frame send(s) writes.
  static std::vector<std::byte> frame(const Seg& s);
  // Any frame, for ARP and malformed input.
  void send_frame(const std::vector<std::byte>& frame);
  // An ARP request from (sha, spa) for `tpa`, broadcast, then a poll.
  void arp_request(const wire::MacAddr& sha, wire::Ipv4Addr spa, wire::Ipv4Addr tpa);
  // Polls the Worker at `t` (>= now()) until it has read all that was sent (a burst a poll),
  // and returns the TCP segments it sent; ARP and ICMP
  // frames are counted in other_frames(). A TCP checksum that does not verify fails the test
  // (unless left to the NIC: RingWorkerConfig::tso).
  std::vector<Seg> poll(Ticks t);
  std::vector<Seg> poll() { return poll(now_); }
  // Advances the clock to `t` in `step`s, polling each, and returns everything sent.
  std::vector<Seg> run_until(Ticks t, Ticks step = Ticks::from_ms(10));
  uint64_t other_frames() const { return other_frames_; }
  // Every IPv6 frame the Worker sent since the last call, whole and in order (poll() parses
  // only IPv4 TCP; these are counted in other_frames() too).
  std::vector<std::vector<std::byte>> take_ipv6_frames() { return std::move(ipv6_frames_); }
  // The TCP segments among them (take_ipv6_frames, parsed; checksums verified).
  std::vector<Seg6> take_tcp6();
  // The sender address of every ARP reply the Worker sent, in order.
  const std::vector<wire::Ipv4Addr>& arp_replies_from() const { return arp_replies_from_; }

  // The peer makes itself known (an ARP request to tempo, which learns it and answers).
  void introduce_peer();

  stack::Remote peer(uint16_t port) const {
    stack::Remote r;
    r.ip4 = kPeerIp;
    r.port = port;
    return r;
  }

 private:
  rte_mempool* rx_pool_ = nullptr;
  rte_ring* rx_ = nullptr;  // peer -> tempo
  rte_ring* tx_ = nullptr;  // tempo -> peer
  uint16_t port_id_ = 0;
  std::unique_ptr<stack::Worker> worker_;
  Ticks now_;
  uint64_t other_frames_ = 0;
  bool trusted_link_ = false;
  std::vector<wire::Ipv4Addr> arp_replies_from_;
  std::vector<std::vector<std::byte>> ipv6_frames_;
};

}  // namespace tempo::conformance
