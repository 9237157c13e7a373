#include "ring_worker.h"

#include <cstring>
#include <filesystem>
#include <system_error>
#include <unistd.h>

#include <rte_ip.h>

#include "wire/ip_protocol.h"

namespace tempo::conformance {

std::string flag_string(uint8_t flags) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {{wire::TcpFlags::kSyn, "SYN"},
                                                               {wire::TcpFlags::kFin, "FIN"},
                                                               {wire::TcpFlags::kRst, "RST"},
                                                               {wire::TcpFlags::kPsh, "PSH"},
                                                               {wire::TcpFlags::kAck, "ACK"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((flags & bit) != 0) {
      out += out.empty() ? "" : "+";
      out += name;
    }
  }
  return out.empty() ? "none" : out;
}

void Eal::SetUp() {
  const std::string prefix = "tempo-conformance-" + std::to_string(getpid());
  std::vector<std::string> args = {"conformance",   "--no-huge", "-m", "256",         "--no-pci",
                                   "--no-shconf",   "-l",        "0",  "--log-level", "3",
                                   "--file-prefix", prefix};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0);
  pool_ = rte_pktmbuf_pool_create("conf_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                  static_cast<int>(rte_socket_id()));
  ASSERT_NE(pool_, nullptr);
}

void Eal::TearDown() {
  rte_mempool_free(pool_);
  const std::string dir = rte_eal_get_runtime_dir();  // left by rte_eal_cleanup
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

RingWorker::RingWorker(const RingWorkerConfig& cfg, Ticks start) : now_(start) {
  static int instance = 0;
  const std::string id = std::to_string(instance++);
  const int socket = static_cast<int>(rte_socket_id());
  rx_ = rte_ring_create(("conf_rx" + id).c_str(), 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  tx_ =
      rte_ring_create(("conf_tx" + id).c_str(), cfg.tx_ring, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  EXPECT_TRUE(rx_ != nullptr && tx_ != nullptr);
  const int port = rte_eth_from_rings(("net_conf" + id).c_str(), &rx_, 1, &tx_, 1,
                                      static_cast<unsigned>(socket));
  EXPECT_GE(port, 0);
  port_id_ = static_cast<uint16_t>(port);
  rte_eth_conf conf{};
  EXPECT_EQ(rte_eth_dev_configure(port_id_, 1, 1, &conf), 0);
  EXPECT_EQ(
      rte_eth_rx_queue_setup(port_id_, 0, 256, static_cast<unsigned>(socket), nullptr, Eal::pool()),
      0);
  EXPECT_EQ(rte_eth_tx_queue_setup(port_id_, 0, 256, static_cast<unsigned>(socket), nullptr), 0);
  EXPECT_EQ(rte_eth_dev_start(port_id_), 0);

  stack::Interface iface;
  if (cfg.rx_pool_mbufs > 0) {
    rx_pool_ = rte_pktmbuf_pool_create(("conf_rxp" + id).c_str(), cfg.rx_pool_mbufs, 0, 0,
                                       RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    EXPECT_NE(rx_pool_, nullptr);
    iface.rx_pool = rx_pool_;
  }
  iface.port_id = port_id_;
  iface.queue = 0;
  iface.pool = Eal::pool();
  iface.mac = kTempoMac;
  iface.ipv4 = kTempoIp;
  iface.ipv4_prefix = 24;
  iface.ipv4_secondary = cfg.ipv4_secondary;
  if (cfg.ipv6) {
    iface.has_ipv6 = true;
    iface.ipv6 = cfg.ipv6->first;
    iface.ipv6_prefix = cfg.ipv6->second;
  }
  iface.gateway6 = cfg.gateway6;
  iface.routes6 = cfg.routes6;
  iface.link_local = wire::Ipv6Addr::link_local_from_mac(kTempoMac);
  iface.tx_tso = cfg.tso;
  iface.tx_tcp_cksum = cfg.tso;
  iface.trusted_link = cfg.trusted_link;
  trusted_link_ = cfg.trusted_link;
  std::vector<stack::Interface> ifaces{iface};
  worker_ = std::make_unique<stack::Worker>(static_cast<uint16_t>(100 + instance), ifaces, now_);
  if (cfg.reasm) {
    worker_->init_reassembly(*cfg.reasm);
  }
  auto r = worker_->init_tcp(cfg.tcp, cfg.max_conns, cfg.tw, cfg.worker);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
}

RingWorker::~RingWorker() {
  worker_.reset();
  rte_eth_dev_stop(port_id_);
  rte_eth_dev_close(port_id_);
  for (rte_ring* r : {rx_, tx_}) {
    void* m = nullptr;
    while (rte_ring_dequeue(r, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    }
    rte_ring_free(r);
  }
  rte_mempool_free(rx_pool_);
}

void RingWorker::send_frame(const std::vector<std::byte>& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(rx_pool_ != nullptr ? rx_pool_ : Eal::pool());
  ASSERT_NE(m, nullptr);
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, frame.data(), frame.size());
  ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
}

void RingWorker::send(const Seg& s) { send_frame(frame(s)); }

std::vector<std::byte> RingWorker::frame(const Seg& s) {
  wire::TcpPacketSpec spec{};
  spec.eth_src = kPeerMac;
  spec.eth_dst = kTempoMac;
  spec.src4 = s.src == wire::Ipv4Addr{} ? kPeerIp : s.src;
  spec.dst4 = s.dst == wire::Ipv4Addr{} ? kTempoIp : s.dst;
  spec.tcp = wire::TcpHeaderFields{.src_port = s.sport,
                                   .dst_port = s.dport,
                                   .seq = s.seq,
                                   .ack = s.ack,
                                   .flags = wire::TcpFlags(s.flags),
                                   .window = s.win,
                                   .urgent = 0};
  spec.options = s.opts;
  spec.payload = std::as_bytes(std::span(s.data.data(), s.data.size()));
  return wire::make_tcp_packet(spec);
}

void RingWorker::arp_request(const wire::MacAddr& sha, wire::Ipv4Addr spa, wire::Ipv4Addr tpa) {
  std::vector<std::byte> frame(60);
  const size_t l2 = *wire::write_eth(frame, wire::MacAddr::broadcast(), sha, wire::kEtherTypeArp);
  (void)*wire::write_arp(std::span(frame).subspan(l2), wire::ArpOp::kRequest, sha, spa,
                         wire::MacAddr{}, tpa);
  send_frame(frame);
  (void)poll();
}

std::vector<Seg> RingWorker::poll(Ticks t) {
  EXPECT_GE(t, now_);
  now_ = t;
  do {  // the Worker takes a burst per poll: poll until it has read everything sent
    worker_->poll(now_);
  } while (rte_ring_count(rx_) > 0);
  std::vector<Seg> out;
  void* obj = nullptr;
  while (rte_ring_dequeue(tx_, &obj) == 0) {
    auto* m = static_cast<rte_mbuf*>(obj);
    // Payload may ride in attached mbufs (a chain): read the frame whole.
    std::vector<std::byte> bytes(rte_pktmbuf_pkt_len(m));
    const auto* at =
        static_cast<const std::byte*>(rte_pktmbuf_read(m, 0, rte_pktmbuf_pkt_len(m), bytes.data()));
    if (at != bytes.data()) {
      std::memcpy(bytes.data(), at, bytes.size());
    }
    if ((m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) != 0) {  // left to the NIC: do its part
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(bytes.data() + m->l2_len);
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    const std::span<const std::byte> frame(bytes.data(), bytes.size());
    auto eth = wire::EthView::parse(frame);
    EXPECT_TRUE(eth.ok());
    if (eth.ok() && eth->ethertype() == wire::kEtherTypeIpv4) {
      auto ip = wire::Ipv4View::parse(eth->payload());
      EXPECT_TRUE(ip.ok());
      if (ip.ok() && ip->protocol() == wire::kIpProtoTcp) {
        if ((m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM) == 0 && !trusted_link_) {
          EXPECT_TRUE(wire::verify_tcp_checksum_ipv4(ip->src(), ip->dst(), ip->payload()));
        }
        auto tcp = wire::TcpView::parse(ip->payload());
        EXPECT_TRUE(tcp.ok());
        if (tcp.ok()) {
          Seg s;
          s.sport = tcp->src_port();
          s.dport = tcp->dst_port();
          s.seq = tcp->seq();
          s.ack = tcp->ack();
          s.flags = tcp->flags().bits();
          s.win = tcp->window();
          s.src = ip->src();
          s.dst = ip->dst();
          s.tso_segsz = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0 ? m->tso_segsz : 0;
          s.checksum = tcp->checksum();
          auto opts = wire::parse_tcp_options(tcp->options());
          EXPECT_TRUE(opts.ok());
          if (opts.ok()) {
            s.opts = *opts;
          }
          s.data.assign(reinterpret_cast<const char*>(tcp->payload().data()),
                        tcp->payload().size());
          out.push_back(s);
        }
      } else {
        ++other_frames_;
      }
    } else {
      if (eth.ok() && eth->ethertype() == wire::kEtherTypeIpv6) {
        ipv6_frames_.push_back(bytes);
      }
      if (eth.ok() && eth->ethertype() == wire::kEtherTypeArp) {
        auto arp = wire::ArpView::parse(eth->payload());
        if (arp.ok() && !arp->is_request()) {
          arp_replies_from_.push_back(arp->spa());
        }
      }
      ++other_frames_;
    }
    rte_pktmbuf_free(m);
  }
  return out;
}

std::vector<Seg> RingWorker::run_until(Ticks t, Ticks step) {
  std::vector<Seg> all;
  while (now_ < t) {
    const Ticks next = now_ + step < t ? now_ + step : t;
    for (Seg& s : poll(next)) {
      all.push_back(std::move(s));
    }
  }
  return all;
}

void RingWorker::introduce_peer() {
  std::vector<std::byte> frame(60);
  const size_t l2 = *wire::write_eth(frame, kTempoMac, kPeerMac, wire::kEtherTypeArp);
  (void)*wire::write_arp(std::span(frame).subspan(l2), wire::ArpOp::kRequest, kPeerMac, kPeerIp,
                         wire::MacAddr{}, kTempoIp);
  send_frame(frame);
  (void)poll();
}

std::vector<Seg6> RingWorker::take_tcp6() {
  std::vector<Seg6> out;
  for (const std::vector<std::byte>& f : take_ipv6_frames()) {
    auto eth = wire::EthView::parse(f);
    auto ip = wire::Ipv6View::parse(eth->payload());
    if (!ip.ok() || ip->protocol() != wire::kIpProtoTcp) {
      continue;
    }
    EXPECT_TRUE(wire::verify_tcp_checksum_ipv6(ip->src(), ip->dst(), ip->payload()));
    auto tcp = wire::TcpView::parse(ip->payload());
    EXPECT_TRUE(tcp.ok());
    if (!tcp.ok()) {
      continue;
    }
    Seg6 s;
    s.sport = tcp->src_port();
    s.dport = tcp->dst_port();
    s.seq = tcp->seq();
    s.ack = tcp->ack();
    s.flags = tcp->flags().bits();
    s.opts = *wire::parse_tcp_options(tcp->options());
    s.data.assign(reinterpret_cast<const char*>(tcp->payload().data()), tcp->payload().size());
    s.packet.assign(ip->bytes().begin(), ip->bytes().end());
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tempo::conformance
