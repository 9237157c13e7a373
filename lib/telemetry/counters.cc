#include "telemetry/counters.h"

#include <algorithm>

namespace tempo::telemetry {
namespace {

struct Named {
  const char* name;
  uint64_t StackCounters::*field;
};

struct NamedFault {
  const char* name;
  FaultCounters StackCounters::*dir;
  uint64_t FaultCounters::*field;
};

constexpr NamedFault kFaults[] = {
    {"faults.rx.dropped", &StackCounters::faults_rx, &FaultCounters::dropped},
    {"faults.rx.duplicated", &StackCounters::faults_rx, &FaultCounters::duplicated},
    {"faults.rx.reordered", &StackCounters::faults_rx, &FaultCounters::reordered},
    {"faults.rx.delayed", &StackCounters::faults_rx, &FaultCounters::delayed},
    {"faults.tx.dropped", &StackCounters::faults_tx, &FaultCounters::dropped},
    {"faults.tx.duplicated", &StackCounters::faults_tx, &FaultCounters::duplicated},
    {"faults.tx.reordered", &StackCounters::faults_tx, &FaultCounters::reordered},
    {"faults.tx.delayed", &StackCounters::faults_tx, &FaultCounters::delayed},
};

constexpr Named kNamed[] = {
    {"rx_packets", &StackCounters::rx_packets},
    {"rx_bytes", &StackCounters::rx_bytes},
    {"tx_packets", &StackCounters::tx_packets},
    {"tx_bytes", &StackCounters::tx_bytes},
    {"tx_full", &StackCounters::tx_full},
    {"cycles.busy", &StackCounters::cycles_busy},
    {"cycles.idle", &StackCounters::cycles_idle},
    {"loops.busy", &StackCounters::loops_busy},
    {"arp.replied", &StackCounters::arp_replied},
    {"arp.requests_sent", &StackCounters::arp_requests_sent},
    {"arp.learned", &StackCounters::arp_learned},
    {"nd.advert_sent", &StackCounters::nd_advert_sent},
    {"nd.solicit_sent", &StackCounters::nd_solicit_sent},
    {"nd.learned", &StackCounters::nd_learned},
    {"icmp.echo_replied", &StackCounters::icmp_echo_replied},
    {"icmp6.echo_replied", &StackCounters::icmp6_echo_replied},
    {"tcp.rst_sent", &StackCounters::tcp_rst_sent},
    {"tcp.segments_sent", &StackCounters::tcp_segments_sent},
    {"tcp.time_wait_entered", &StackCounters::tcp_time_wait_entered},
    {"drop.tcp.conn_exhausted", &StackCounters::tcp_conn_exhausted},
    {"tcp.syncookies_table_full", &StackCounters::tcp_syncookies_table_full},
    {"tcp.orphans_reset", &StackCounters::tcp_orphans_reset},
    {"tcp.rx_copied", &StackCounters::tcp_rx_copied},
    {"drop.tcp.data_no_mbuf", &StackCounters::tcp_rx_data_dropped},
    {"tcp.rx_packed", &StackCounters::tcp_rx_packed},
    {"tcp.active_opens", &StackCounters::tcp_active_opens},
    {"tcp.passive_opens", &StackCounters::tcp_passive_opens},
    {"tcp.sndq_peak_buffers", &StackCounters::tcp_sndq_peak_buffers},
    {"tcp.connect_failed", &StackCounters::tcp_connect_failed},
    {"drop.tcp.listen_overflow", &StackCounters::tcp_listen_overflow},
    {"rx_pressure_changes", &StackCounters::rx_pressure_changes},
    {"tcp.rcv_starved", &StackCounters::tcp_rcv_starved},
    {"tcp.rcv_reopened", &StackCounters::tcp_rcv_reopened},
    {"tcp.tx_wait_window", &StackCounters::tcp_tx_wait_window},
    {"tcp.tx_wait_pool", &StackCounters::tcp_tx_wait_pool},
    {"tcp.tx_woken", &StackCounters::tcp_tx_woken},
    {"tx_parked", &StackCounters::tx_parked},
    {"tx_cksum_offloaded", &StackCounters::tx_cksum_offloaded},
    {"rx_cksum_offloaded", &StackCounters::rx_cksum_offloaded},
    {"tx_tso_frames", &StackCounters::tx_tso_frames},
    {"tx_tso_merged", &StackCounters::tx_tso_merged},
    {"drop.no_neighbor", &StackCounters::drop_no_neighbor},
    {"steer.out", &StackCounters::steered_out},
    {"steer.in", &StackCounters::steered_in},
    {"drop.steer", &StackCounters::steer_dropped},
    {"neighbor.shared_in", &StackCounters::neighbor_shared_in},
    {"drop.neighbor_share", &StackCounters::neighbor_share_dropped},
    {"tcp.reset_on_stop", &StackCounters::tcp_reset_on_stop},
    {"tcp.closed_on_stop", &StackCounters::tcp_closed_on_stop},
    {"drop.not_for_us", &StackCounters::drop_not_for_us},
    {"drop.ethertype", &StackCounters::drop_ethertype},
    {"drop.ip_protocol", &StackCounters::drop_ip_protocol},
    {"drop.ipv4.fragment", &StackCounters::drop_ipv4_fragment},
    {"drop.ipv4.martian_source", &StackCounters::drop_martian4},
    {"drop.ipv6.martian_source", &StackCounters::drop_martian6},
    {"drop.arp.martian", &StackCounters::drop_arp_martian},
    {"drop.icmp_type", &StackCounters::drop_icmp_type},
    {"drop.no_mbuf", &StackCounters::drop_no_mbuf},
    {"drop.tcp.no_endpoint", &StackCounters::drop_tcp_no_endpoint},
    {"drop.tcp.listen", &StackCounters::drop_tcp_listen},
};

}  // namespace

StackCounters& StackCounters::operator+=(const StackCounters& o) noexcept {
  for (const Named& n : kNamed) {
    if (n.field == &StackCounters::tcp_sndq_peak_buffers) {  // a gauge: the largest
      this->*n.field = std::max(this->*n.field, o.*n.field);
    } else {
      this->*n.field += o.*n.field;
    }
  }
  for (const NamedFault& f : kFaults) {
    (this->*f.dir).*f.field += (o.*f.dir).*f.field;
  }
  for (size_t l = 0; l < parse.size(); ++l) {
    for (size_t e = 0; e < kWireErrors; ++e) {
      parse[l][e] += o.parse[l][e];
    }
  }
  return *this;
}

std::vector<std::pair<std::string, uint64_t>> StackCounters::items() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const Named& n : kNamed) {
    out.emplace_back(n.name, this->*n.field);
  }
  for (const NamedFault& f : kFaults) {
    if ((this->*f.dir).*f.field != 0) {
      out.emplace_back(f.name, (this->*f.dir).*f.field);
    }
  }
  for (size_t l = 0; l < parse.size(); ++l) {
    for (size_t e = 0; e < kWireErrors; ++e) {
      if (parse[l][e] != 0) {
        out.emplace_back(std::string("drop.") + kLayerNames[l] + "." +
                             std::string(wire::to_string(static_cast<wire::WireError>(e))),
                         parse[l][e]);
      }
    }
  }
  return out;
}

}  // namespace tempo::telemetry
