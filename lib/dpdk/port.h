// Port and queue setup: one RX/TX queue pair per worker, RSS with a symmetric Toeplitz key
// where the device has RSS, checksum offloads where it has them, one mbuf pool per port.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <rte_ether.h>
#include <rte_mempool.h>

#include <tempo/result.h>

namespace tempo::dpdk {

struct PortSpec {
  std::string device;   // EAL --vdev string ("net_tap0,iface=t0") or PCI address
  uint16_t queues = 1;  // RX/TX queue pairs, one per worker
  uint16_t mtu = 1500;
  uint32_t mbufs_per_queue = 4095;  // each pool's size is this times `queues` (2^n - 1 is best)
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  bool tso = true;          // use TSO where the device has it (ports[].tso)
  bool promiscuous = true;  // ports[].promiscuous: receive frames for any MAC address
};

// What the Workers need to know about a started port.
struct Port {
  uint16_t port_id = 0;
  uint16_t queues = 0;
  std::string name;              // the ethdev name: "net_tap0", "0000:03:00.0"
  std::string driver;            // the PMD's name, for logs
  std::array<uint8_t, 6> mac{};  // the port's own MAC address
  bool rss = false;              // RSS across `queues`, by the device (key and RETA read back)
  // Several queues but no RSS tempo can model (net_tap, af_packet, memif...: the device or the
  // kernel spreads packets by a hash of its own): the Workers steer TCP in software.
  bool soft_steer = false;
  std::vector<uint16_t> reta;  // with rss: the redirection table (bucket -> queue)
  bool tx_ip_cksum = false;    // RTE_ETH_TX_OFFLOAD_IPV4_CKSUM in use
  bool tx_tcp_cksum = false;   // RTE_ETH_TX_OFFLOAD_TCP_CKSUM in use
  bool tx_tso = false;         // RTE_ETH_TX_OFFLOAD_TCP_TSO (with MULTI_SEGS) in use
  // RTE_ETH_TX_OFFLOAD_MULTI_SEGS: the PMD sends mbuf chains. net_af_xdp (22.11) does not: it
  // reads pkt_len bytes from the first segment.
  bool tx_multi_seg = false;
  bool rx_cksum = false;     // RTE_ETH_RX_OFFLOAD_{IPV4,TCP}_CKSUM in use
  bool promiscuous = false;  // as the device reports it once started
  // Two pools, so that receiving never waits on memory that only receiving can free: RX
  // descriptors refill from `rx_pool`; everything tempo allocates (headers, copies, replies)
  // comes from `pool`. Received payload held by connections drains `rx_pool`; the Worker then
  // copies payload into `pool` (or drops the data, keeping the ACK) so ACKs keep arriving and
  // send queues keep draining.
  rte_mempool* rx_pool = nullptr;
  rte_mempool* pool = nullptr;
};

// The ethdev name in an EAL device string: what precedes the first ',' ("net_tap0,iface=x"
// -> "net_tap0"); a PCI address is its own name.
std::string device_name(const std::string& device);

// Drivers whose queues are filled by a hash tempo cannot program or model (a software device,
// or the kernel's flow hash behind it): several queues on them mean software steering.
bool software_queues(const std::string& driver) noexcept;

// The symmetric RSS key (flow/rss.h, 0x6d5a repeated) at the device's key length (40 bytes when
// it does not say; 52 on i40e and ice).
std::vector<uint8_t> rss_key(uint8_t hash_key_size);

// Finds the port the EAL created for spec.device, configures it, starts it. Errors are one
// line naming the device and the failing call.
Result<Port, std::string> port_start(const PortSpec& spec, int index);

void port_stop(const Port& port) noexcept;

}  // namespace tempo::dpdk
