// Per-worker counters of the L2/L3 datapath: what was answered, what was sent, and one drop
// counter per reason (STYLE.md 5). Each Worker owns its StackCounters and is its only writer;
// readers (exit report, telemetry) sum them across workers after the workers stopped or accept
// a torn read of a 64-bit counter, which x86-64 does not tear.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "wire/error.h"

namespace tempo::telemetry {

inline constexpr size_t kWireErrors = static_cast<size_t>(wire::WireError::kTooLong) + 1;

// Drops by parse error, per layer: drop.<layer>.<reason>.
enum class Layer : uint8_t { kEth, kArp, kIpv4, kIpv6, kIcmp, kIcmp6, kTcp, kCount };
inline constexpr std::array<const char*, static_cast<size_t>(Layer::kCount)> kLayerNames = {
    "eth", "arp", "ipv4", "ipv6", "icmp", "icmp6", "tcp"};

// Outcomes of a fault-injection stage (stack/faults.h), a test feature.
struct FaultCounters {
  uint64_t dropped = 0;
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t delayed = 0;
};

struct StackCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_full = 0;  // TX ring full: packet freed, counted
  // TSC cycles of loop turns that did work (received, or sent: timers, the app's poll hook)
  // and of turns that found nothing: what the Worker really costs, where a busy-polling loop
  // is always 100% busy to the OS (as DPDK's lcore telemetry "busy cycles", VPP's `show
  // runtime`). cycles.tsc_hz converts them.
  uint64_t cycles_busy = 0;
  uint64_t cycles_idle = 0;
  uint64_t loops_busy = 0;          // turns that did work
  uint64_t rx_cksum_offloaded = 0;  // TCP checksums the NIC verified (not summed here)
  uint64_t arp_replied = 0;
  uint64_t arp_requests_sent = 0;
  uint64_t arp_learned = 0;
  uint64_t nd_advert_sent = 0;
  uint64_t nd_solicit_sent = 0;
  uint64_t nd_learned = 0;
  uint64_t icmp_echo_replied = 0;
  uint64_t icmp6_echo_replied = 0;
  uint64_t tcp_rst_sent = 0;  // resets for segments to no connection (RFC 9293 §3.10.7.1)
  uint64_t tcp_segments_sent = 0;
  uint64_t tcp_time_wait_entered = 0;
  uint64_t tcp_orphans_reset = 0;          // close() past tcp.max_orphans: reset instead
  uint64_t tcp_syncookies_table_full = 0;  // SYNs answered by cookie: every slot in use
  uint64_t tcp_conn_exhausted = 0;         // a SYN found no free connection slot: dropped
  uint64_t tcp_rx_copied = 0;              // payload copied out because RX memory was short
  uint64_t tcp_rx_packed = 0;              // small payload packed with others into one buffer
  uint64_t tcp_rx_data_dropped = 0;        // payload dropped (ACK kept): no memory at all
  uint64_t tcp_active_opens = 0;           // connect() calls that sent a SYN
  uint64_t tcp_passive_opens = 0;          // SYNs a listener took (and SYN cookies that returned)
  uint64_t tcp_sndq_peak_buffers = 0;      // gauge: most buffers one send queue held
  uint64_t tcp_connect_failed = 0;         // connect() refused: no route, local port or slot
  uint64_t tcp_listen_overflow = 0;        // SYNs dropped: backlog full and syncookies off
  uint64_t rx_pressure_changes = 0;        // RX pool nearly empty or recovered (payload copied out)
  uint64_t tcp_rcv_starved = 0;            // a window could not open for want of receive memory
  uint64_t tcp_rcv_reopened = 0;           // ... and was reopened by a window update when it freed
  uint64_t tcp_tx_wait_window = 0;         // copies held back: beyond the peer's window (TxBudget)
  uint64_t tcp_tx_wait_pool = 0;           // ... waiting for TX buffers (the reserve, or none free)
  uint64_t tcp_tx_woken = 0;               // connections woken (on_writable) when they could go on
  uint64_t tx_parked = 0;                  // held until the next hop's address resolved
  uint64_t tx_cksum_offloaded = 0;         // TCP checksums left to the NIC
  uint64_t tx_tso_frames = 0;              // frames the NIC cut into segments (TSO)
  uint64_t tx_tso_merged = 0;              // segments that rode in a TSO frame after its first
  uint64_t drop_no_neighbor = 0;           // held packets whose next hop never answered
  uint64_t steered_out = 0;                // software steering: segments passed to their owner
  uint64_t steered_in = 0;                 // segments another Worker passed here
  uint64_t steer_dropped = 0;           // the owner's ring was full (or no Worker owns the queue)
  uint64_t neighbor_shared_in = 0;      // neighbour entries another Worker learned
  uint64_t neighbor_share_dropped = 0;  // a Worker's neighbour ring was full
  uint64_t tcp_reset_on_stop = 0;       // connections reset because the process stopped
  uint64_t tcp_closed_on_stop = 0;      // connections closed (FIN) for tcp.stop_grace_ms
  // Drops that are not parse errors.
  uint64_t drop_not_for_us = 0;       // L2 or L3 destination is not this host
  uint64_t drop_ethertype = 0;        // neither IPv4, IPv6 nor ARP
  uint64_t drop_ip_protocol = 0;      // an upper-layer protocol tempo does not serve
  uint64_t drop_ipv4_fragment = 0;    // tempo does not reassemble IP fragments
  uint64_t drop_martian4 = 0;         // IPv4 from a source no host uses, or ours (RFC 1122)
  uint64_t drop_martian6 = 0;         // IPv6 from multicast, loopback or our own address
  uint64_t drop_arp_martian = 0;      // ARP claiming one of those, or no MAC
  uint64_t drop_icmp_type = 0;        // ICMP/ICMPv6 types tempo does not answer
  uint64_t drop_no_mbuf = 0;          // mempool exhausted when building a packet
  uint64_t drop_tcp_no_endpoint = 0;  // TCP to a port nothing listens on
  uint64_t drop_tcp_listen = 0;       // LISTEN: an RST, an ACK (reset), or no SYN (RFC 9293)
  FaultCounters faults_rx;
  FaultCounters faults_tx;
  std::array<std::array<uint64_t, kWireErrors>, static_cast<size_t>(Layer::kCount)> parse{};

  void drop(Layer layer, wire::WireError e) noexcept {
    ++parse[static_cast<size_t>(layer)][static_cast<size_t>(e)];
  }
  uint64_t dropped(Layer layer, wire::WireError e) const noexcept {
    return parse[static_cast<size_t>(layer)][static_cast<size_t>(e)];
  }

  StackCounters& operator+=(const StackCounters& o) noexcept;

  // Every counter as ("name", value), in a stable order; drop.<layer>.<reason> only when
  // non-zero, the rest always.
  std::vector<std::pair<std::string, uint64_t>> items() const;
};

}  // namespace tempo::telemetry
