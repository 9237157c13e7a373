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

#include "telemetry/registry.h"
#include "wire/error.h"

namespace tempo::telemetry {

inline constexpr size_t kWireErrors = static_cast<size_t>(wire::WireError::kTooLong) + 1;

// Drops by parse error, per layer: drop.<layer>.<reason>.
enum class Layer : uint8_t { kEth, kArp, kIpv4, kIpv6, kIcmp, kIcmp6, kTcp, kCount };
inline constexpr std::array<const char*, static_cast<size_t>(Layer::kCount)> kLayerNames = {
    "eth", "arp", "ipv4", "ipv6", "icmp", "icmp6", "tcp"};

// Outcomes of a fault-injection stage (stack/faults.h), a test feature. Exported as
// faults.<direction>.<name> (StackCounters::kFaultDirections), and only when not zero.
struct FaultCounters {
  uint64_t dropped = 0;
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t delayed = 0;

  static constexpr auto kFields = std::to_array<CounterField<FaultCounters>>({
      {"dropped", &FaultCounters::dropped, "packets the fault stage dropped"},
      {"duplicated", &FaultCounters::duplicated, "packets it sent twice"},
      {"reordered", &FaultCounters::reordered,
       "packets it held back and let go after the next one"},
      {"delayed", &FaultCounters::delayed, "packets it delayed"},
  });
};
static_assert(check_registry(FaultCounters::kFields));
static_assert(sizeof(FaultCounters) == sizeof(uint64_t) * FaultCounters::kFields.size(),
              "a field of FaultCounters is missing from FaultCounters::kFields");

// What each field counts, and its name, is in kFields below.
struct StackCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_full = 0;
  uint64_t cycles_busy = 0;
  uint64_t cycles_idle = 0;
  uint64_t cycles_turn_max = 0;
  uint64_t loops_busy = 0;
  uint64_t loops_idle_sleeps = 0;
  uint64_t rx_cksum_offloaded = 0;
  uint64_t rx_cksum_trusted = 0;
  uint64_t arp_replied = 0;
  uint64_t arp_requests_sent = 0;
  uint64_t arp_learned = 0;
  uint64_t nd_advert_sent = 0;
  uint64_t nd_solicit_sent = 0;
  uint64_t nd_learned = 0;
  uint64_t icmp_echo_replied = 0;
  uint64_t icmp6_echo_replied = 0;
  uint64_t tcp_rst_sent = 0;
  uint64_t tcp_segments_sent = 0;
  uint64_t tcp_time_wait_entered = 0;
  uint64_t tcp_orphans_reset = 0;
  uint64_t tcp_syncookies_table_full = 0;
  uint64_t tcp_admission_refused = 0;
  uint64_t drop_tcp_conn_exhausted = 0;
  uint64_t tcp_rx_copied = 0;
  uint64_t tcp_rx_packed = 0;
  uint64_t drop_tcp_data_no_mbuf = 0;
  uint64_t tcp_active_opens = 0;
  uint64_t tcp_passive_opens = 0;
  uint64_t tcp_sndq_peak_buffers = 0;
  uint64_t tcp_connect_failed = 0;
  uint64_t drop_tcp_listen_overflow = 0;
  uint64_t rx_pressure_changes = 0;
  uint64_t tcp_rcv_starved = 0;
  uint64_t tcp_rcv_reopened = 0;
  uint64_t tcp_tx_wait_window = 0;
  uint64_t tcp_tx_wait_pool = 0;
  uint64_t tcp_tx_woken = 0;
  uint64_t tx_parked = 0;
  uint64_t tx_cksum_offloaded = 0;
  uint64_t tx_cksum_trusted = 0;
  uint64_t tx_tso_frames = 0;
  uint64_t tx_tso_merged = 0;
  uint64_t drop_no_neighbor = 0;
  uint64_t steer_out = 0;
  uint64_t steer_in = 0;
  uint64_t drop_steer = 0;
  uint64_t neighbor_shared_in = 0;
  uint64_t drop_neighbor_share = 0;
  uint64_t app_msg_out = 0;
  uint64_t app_msg_in = 0;
  uint64_t drop_app_msg = 0;
  uint64_t tcp_reset_on_stop = 0;
  uint64_t tcp_closed_on_stop = 0;
  // IP reassembly (stack/reassembly.h).
  uint64_t reasm_fragments = 0;
  uint64_t reasm_datagrams = 0;
  uint64_t reasm_peak = 0;
  uint64_t drop_reasm_invalid = 0;
  uint64_t drop_reasm_duplicate = 0;
  uint64_t drop_reasm_overlap = 0;
  uint64_t drop_reasm_too_big = 0;
  uint64_t drop_reasm_too_many_fragments = 0;
  uint64_t drop_reasm_timeout = 0;
  uint64_t drop_reasm_evicted = 0;
  uint64_t drop_reasm_table_full = 0;
  uint64_t drop_reasm_no_mbuf = 0;
  // Drops that are not parse errors.
  uint64_t drop_not_for_us = 0;
  uint64_t drop_ethertype = 0;
  uint64_t drop_ip_protocol = 0;
  uint64_t drop_ipv4_fragment = 0;
  uint64_t drop_ipv6_fragment = 0;
  uint64_t drop_ipv4_martian_source = 0;
  uint64_t drop_ipv6_martian_source = 0;
  uint64_t drop_arp_martian = 0;
  uint64_t drop_icmp_type = 0;
  uint64_t drop_no_mbuf = 0;
  uint64_t drop_tcp_no_endpoint = 0;
  uint64_t drop_tcp_listen = 0;

  using Field = CounterField<StackCounters>;
  static constexpr auto kFields = std::to_array<Field>({
      {.name = "rx_packets",
       .field = &StackCounters::rx_packets,
       .help = "packets received, every port",
       .per_worker = true},
      {"rx_bytes", &StackCounters::rx_bytes, "bytes of the packets received"},
      {"tx_packets", &StackCounters::tx_packets, "packets the NIC took for sending"},
      {"tx_bytes", &StackCounters::tx_bytes, "bytes of the packets the NIC took"},
      {"tx_full", &StackCounters::tx_full, "packets freed because the TX ring was full"},
      // TSC cycles of loop turns that did work (received, or sent: timers, the app's poll hook)
      // and of turns that found nothing: what the Worker really costs, where a busy-polling loop
      // is always 100% busy to the OS (as DPDK's lcore telemetry "busy cycles", VPP's `show
      // runtime`).
      {.name = "cycles.busy",
       .field = &StackCounters::cycles_busy,
       .help = "TSC cycles of loop turns that did work (cycles.tsc_hz converts them)",
       .per_worker = true},
      {.name = "cycles.idle",
       .field = &StackCounters::cycles_idle,
       .help = "TSC cycles of loop turns that found nothing to do",
       .per_worker = true},
      {.name = "cycles.turn_max",
       .field = &StackCounters::cycles_turn_max,
       .help = "TSC cycles of the longest loop turn (a tail the loop caused shows here)",
       .kind = CounterKind::kPeak,
       .per_worker = true},
      {"loops.busy", &StackCounters::loops_busy, "loop turns that did work"},
      {"loops.idle_sleeps", &StackCounters::loops_idle_sleeps,
       "sleeps of the loop's idle mode (eal.idle_sleep_us), after eal.idle_polls empty turns"},
      {"rx_cksum_offloaded", &StackCounters::rx_cksum_offloaded,
       "TCP checksums the NIC verified (not summed here)"},
      {"rx_cksum_trusted", &StackCounters::rx_cksum_trusted,
       "TCP segments taken unverified from a trusted link (ports[].trusted_link)"},
      {"arp.replied", &StackCounters::arp_replied, "ARP requests for our addresses answered"},
      {"arp.requests_sent", &StackCounters::arp_requests_sent, "ARP requests sent for a next hop"},
      {"arp.learned", &StackCounters::arp_learned, "neighbours learned from ARP"},
      {"nd.advert_sent", &StackCounters::nd_advert_sent,
       "neighbour advertisements sent (RFC 4861)"},
      {"nd.solicit_sent", &StackCounters::nd_solicit_sent,
       "neighbour solicitations sent for a next hop (RFC 4861)"},
      {"nd.learned", &StackCounters::nd_learned, "neighbours learned from neighbour discovery"},
      {"icmp.echo_replied", &StackCounters::icmp_echo_replied, "ICMP echo requests answered"},
      {"icmp6.echo_replied", &StackCounters::icmp6_echo_replied, "ICMPv6 echo requests answered"},
      {.name = "tcp.rst_sent",
       .field = &StackCounters::tcp_rst_sent,
       .help = "resets sent; here the Worker's, for segments that reach no connection "
               "(RFC 9293 §3.10.7.1); the protocol core's (tcp::Counters) add to it",
       .shared = true},
      {"tcp.segments_sent", &StackCounters::tcp_segments_sent,
       "connections' TCP segments built for sending (a TSO frame counts each it carries)"},
      {"tcp.time_wait_entered", &StackCounters::tcp_time_wait_entered,
       "connections that reached TIME-WAIT (the table counts what it kept: timewait.entered)"},
      {"tcp.orphans_reset", &StackCounters::tcp_orphans_reset,
       "close() past tcp.max_orphans: reset instead"},
      {"tcp.syncookies_table_full", &StackCounters::tcp_syncookies_table_full,
       "SYNs answered by a cookie because every connection slot was in use"},
      {"tcp.admission_refused", &StackCounters::tcp_admission_refused,
       "SYNs a listener's admission check refused (ListenOptions::admit), before any state"},
      {"drop.tcp.conn_exhausted", &StackCounters::drop_tcp_conn_exhausted,
       "SYNs (or returning cookies) dropped: no free connection slot"},
      {"tcp.rx_copied", &StackCounters::tcp_rx_copied,
       "payloads copied out of their RX buffer because receive memory was short"},
      {"tcp.rx_packed", &StackCounters::tcp_rx_packed,
       "small payloads packed with others into one buffer"},
      {"drop.tcp.data_no_mbuf", &StackCounters::drop_tcp_data_no_mbuf,
       "payloads dropped (their ACK processed) for want of any receive memory"},
      {.name = "tcp.active_opens",
       .field = &StackCounters::tcp_active_opens,
       .help = "connect() calls that sent a SYN",
       .per_worker = true},
      {.name = "tcp.passive_opens",
       .field = &StackCounters::tcp_passive_opens,
       .help = "SYNs a listener took (and SYN cookies that returned)",
       .per_worker = true},
      {"tcp.sndq_peak_buffers", &StackCounters::tcp_sndq_peak_buffers,
       "the most buffers one send queue held", CounterKind::kPeak},
      {"tcp.connect_failed", &StackCounters::tcp_connect_failed,
       "connect() refused: no route, local port or slot"},
      {"drop.tcp.listen_overflow", &StackCounters::drop_tcp_listen_overflow,
       "SYNs dropped: the backlog was full and SYN cookies off"},
      {"rx_pressure_changes", &StackCounters::rx_pressure_changes,
       "times the RX pool became nearly empty or recovered"},
      {"tcp.rcv_starved", &StackCounters::tcp_rcv_starved,
       "windows that could not open for want of receive memory"},
      {"tcp.rcv_reopened", &StackCounters::tcp_rcv_reopened,
       "starved windows reopened by a window update once memory freed"},
      {"tcp.tx_wait_window", &StackCounters::tcp_tx_wait_window,
       "copies held back: beyond the peer's window (TxBudget)"},
      {"tcp.tx_wait_pool", &StackCounters::tcp_tx_wait_pool,
       "copies held back: waiting for TX buffers (the reserve, or none free)"},
      {"tcp.tx_woken", &StackCounters::tcp_tx_woken,
       "connections woken (on_writable) when they could go on"},
      {"tx_parked", &StackCounters::tx_parked,
       "packets held until the next hop's address resolved"},
      {"tx_cksum_offloaded", &StackCounters::tx_cksum_offloaded, "TCP checksums left to the NIC"},
      {"tx_cksum_trusted", &StackCounters::tx_cksum_trusted,
       "TCP segments sent unsummed on a trusted link (ports[].trusted_link)"},
      {"tx_tso_frames", &StackCounters::tx_tso_frames, "frames the NIC cut into segments (TSO)"},
      {"tx_tso_merged", &StackCounters::tx_tso_merged,
       "segments that rode in a TSO frame after its first"},
      {"drop.no_neighbor", &StackCounters::drop_no_neighbor,
       "held packets whose next hop never answered"},
      {"steer.out", &StackCounters::steer_out,
       "software steering: segments passed to the Worker that owns their tuple"},
      {.name = "steer.in",
       .field = &StackCounters::steer_in,
       .help = "segments another Worker passed here",
       .per_worker = true},
      {"drop.steer", &StackCounters::drop_steer,
       "segments not steered: the owner's ring was full (or no Worker owns the queue)"},
      {.name = "neighbor.shared_in",
       .field = &StackCounters::neighbor_shared_in,
       .help = "neighbour entries another Worker learned",
       .per_worker = true},
      {"drop.neighbor_share", &StackCounters::drop_neighbor_share,
       "neighbour entries not shared: a Worker's neighbour ring was full"},
      {"app_msg.out", &StackCounters::app_msg_out,
       "the application's messages posted to another Worker (tempo::post)"},
      {.name = "app_msg.in",
       .field = &StackCounters::app_msg_in,
       .help = "the application's messages another Worker posted here, run",
       .per_worker = true},
      {"drop.app_msg", &StackCounters::drop_app_msg,
       "the application's messages refused: the ring to that Worker was full (kFull)"},
      {"tcp.reset_on_stop", &StackCounters::tcp_reset_on_stop,
       "connections reset because the process stopped"},
      {"tcp.closed_on_stop", &StackCounters::tcp_closed_on_stop,
       "connections closed (FIN) for tcp.stop_grace_ms"},
      {"reasm.fragments", &StackCounters::reasm_fragments,
       "IPv4 and IPv6 fragments taken for reassembly (RFC 791 §3.2, RFC 8200 §4.5)"},
      {"reasm.datagrams", &StackCounters::reasm_datagrams,
       "datagrams reassembled from their fragments and processed whole"},
      {"reasm.peak", &StackCounters::reasm_peak,
       "the most datagrams under reassembly at once (ip.reassembly.max_datagrams)",
       CounterKind::kPeak},
      {"drop.reasm.invalid", &StackCounters::drop_reasm_invalid,
       "fragments dropped as malformed: empty, M set with a length not a multiple of 8, past "
       "65,535 bytes, an IPv6 first fragment without its upper-layer header, or disagreeing "
       "with the last fragment (the datagram goes too)"},
      {"drop.reasm.duplicate", &StackCounters::drop_reasm_duplicate,
       "fragments dropped as exact duplicates of one held (the datagram is kept)"},
      {"drop.reasm.overlap", &StackCounters::drop_reasm_overlap,
       "datagrams abandoned because a fragment overlapped another (RFC 5722)"},
      {"drop.reasm.too_big", &StackCounters::drop_reasm_too_big,
       "datagrams abandoned as longer than ip.reassembly.max_bytes or the port's buffer"},
      {"drop.reasm.too_many_fragments", &StackCounters::drop_reasm_too_many_fragments,
       "datagrams abandoned past ip.reassembly.max_fragments"},
      {"drop.reasm.timeout", &StackCounters::drop_reasm_timeout,
       "datagrams abandoned incomplete after ip.reassembly.timeout_ms"},
      {"drop.reasm.evicted", &StackCounters::drop_reasm_evicted,
       "incomplete datagrams evicted, the oldest first, to make room for a new one"},
      {"drop.reasm.table_full", &StackCounters::drop_reasm_table_full,
       "fragments refused: ip.reassembly.max_datagrams held (on_full: refuse)"},
      {"drop.reasm.no_mbuf", &StackCounters::drop_reasm_no_mbuf,
       "reassembled datagrams dropped: no buffer to hold them"},
      {"drop.not_for_us", &StackCounters::drop_not_for_us,
       "packets whose L2 or L3 destination is not this host"},
      {"drop.ethertype", &StackCounters::drop_ethertype, "frames neither IPv4, IPv6 nor ARP"},
      {"drop.ip_protocol", &StackCounters::drop_ip_protocol,
       "packets of an upper-layer protocol tempo does not serve"},
      {"drop.ipv4.fragment", &StackCounters::drop_ipv4_fragment,
       "IPv4 fragments dropped unreassembled: ip.reassembly.max_datagrams is 0"},
      {"drop.ipv6.fragment", &StackCounters::drop_ipv6_fragment,
       "IPv6 fragments dropped unreassembled: ip.reassembly.max_datagrams is 0"},
      {"drop.ipv4.martian_source", &StackCounters::drop_ipv4_martian_source,
       "IPv4 from a source no host uses, or ours (RFC 1122 §3.2.1.3)"},
      {"drop.ipv6.martian_source", &StackCounters::drop_ipv6_martian_source,
       "IPv6 from multicast, loopback or our own address"},
      {"drop.arp.martian", &StackCounters::drop_arp_martian,
       "ARP claiming one of those addresses, or no MAC"},
      {"drop.icmp_type", &StackCounters::drop_icmp_type,
       "ICMP and ICMPv6 types tempo does not answer"},
      {"drop.no_mbuf", &StackCounters::drop_no_mbuf,
       "packets not built: the mempool was exhausted"},
      {"drop.tcp.no_endpoint", &StackCounters::drop_tcp_no_endpoint,
       "TCP segments to a port nothing listens on"},
      {"drop.tcp.listen", &StackCounters::drop_tcp_listen,
       "segments to a listener that were an RST, an ACK (reset) or no SYN (RFC 9293 §3.10.7.2)"},
  });

  FaultCounters faults_rx;
  FaultCounters faults_tx;
  // Drops by parse error: drop.<layer>.<reason> (kLayerNames, wire::to_string), when not zero.
  std::array<std::array<uint64_t, kWireErrors>, static_cast<size_t>(Layer::kCount)> parse{};

  struct FaultDirection {
    const char* name;
    FaultCounters StackCounters::*faults;
  };
  static constexpr std::array<FaultDirection, 2> kFaultDirections = {{
      {"faults.rx", &StackCounters::faults_rx},
      {"faults.tx", &StackCounters::faults_tx},
  }};

  void drop(Layer layer, wire::WireError e) noexcept {
    ++parse[static_cast<size_t>(layer)][static_cast<size_t>(e)];
  }
  uint64_t dropped(Layer layer, wire::WireError e) const noexcept {
    return parse[static_cast<size_t>(layer)][static_cast<size_t>(e)];
  }

  StackCounters& operator+=(const StackCounters& o) noexcept;

  // Every counter as ("name", value), in a stable order: kFields always, then faults.* and
  // drop.<layer>.<reason> only when not zero (added to a field of the same name: the parse
  // error kFragment, which no parser returns any more, would be drop.ipv6.fragment).
  std::vector<std::pair<std::string, uint64_t>> items() const;
};
static_assert(check_registry(StackCounters::kFields));
static_assert(sizeof(StackCounters) ==
                  sizeof(uint64_t) * StackCounters::kFields.size() +
                      sizeof(FaultCounters) * StackCounters::kFaultDirections.size() +
                      sizeof(StackCounters::parse),
              "a field of StackCounters is missing from StackCounters::kFields");

}  // namespace tempo::telemetry
