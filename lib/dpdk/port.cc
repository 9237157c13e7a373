#include "dpdk/port.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <utility>
#include <vector>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

#include "flow/rss.h"

namespace tempo::dpdk {

std::string device_name(const std::string& device) { return device.substr(0, device.find(',')); }

namespace {

std::string error(const std::string& device, const char* call, int rc) {
  return "port " + device + ": " + call + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

// The redirection table as the port holds it after start, so that active opens can pick
// source ports whose replies land on the opening queue (flow/rss.h). A PMD that cannot report
// it gets the table most PMDs program: bucket i -> queue i % queues.
std::vector<uint16_t> query_reta(uint16_t port_id, uint16_t reta_size, uint16_t queues) {
  if (reta_size == 0 || (reta_size & (reta_size - 1)) != 0) {
    return flow::RssSteering::default_reta(queues, 128);
  }
  std::vector<rte_eth_rss_reta_entry64> conf(reta_size / RTE_ETH_RETA_GROUP_SIZE + 1);
  for (auto& c : conf) {
    c.mask = ~uint64_t{0};
  }
  if (rte_eth_dev_rss_reta_query(port_id, conf.data(), reta_size) != 0) {
    return flow::RssSteering::default_reta(queues, reta_size);
  }
  std::vector<uint16_t> reta(reta_size);
  for (uint16_t i = 0; i < reta_size; ++i) {
    reta[i] = conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
  }
  return reta;
}

}  // namespace

bool software_queues(const std::string& driver) noexcept {
  static constexpr const char* kSoftware[] = {"net_tap",   "net_af_packet", "net_af_xdp",
                                              "net_memif", "net_ring",      "net_virtio_user",
                                              "net_pcap",  "net_null"};
  for (const char* d : kSoftware) {
    if (driver == d) {
      return true;
    }
  }
  return false;
}

std::vector<uint8_t> rss_key(uint8_t hash_key_size) {
  std::vector<uint8_t> key(hash_key_size != 0 ? hash_key_size : flow::kSymmetricRssKey.size());
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = flow::kSymmetricRssKey[i % 2];
  }
  return key;
}

namespace {

// The steps of port_start, in the order DPDK requires (rte_ethdev.h: configure, set up the
// queues, start). Each fails with the one-line message port_start returns.
using Step = Result<void, std::string>;

// Finds the ethdev the EAL created for the device string and reads what it can do
// (rte_eth_dev_info_get); refuses more queue pairs than it has.
Step find_device(const PortSpec& spec, Port& port, rte_eth_dev_info& info) {
  if (rte_eth_dev_get_port_by_name(port.name.c_str(), &port.port_id) != 0) {
    return fail("port " + spec.device + ": no such ethdev '" + port.name +
                "' (is the driver loaded and the device string right?)");
  }
  if (int rc = rte_eth_dev_info_get(port.port_id, &info); rc != 0) {
    return fail(error(spec.device, "rte_eth_dev_info_get", rc));
  }
  port.driver = info.driver_name != nullptr ? info.driver_name : "?";
  if (spec.queues > info.max_rx_queues || spec.queues > info.max_tx_queues) {
    return fail("port " + spec.device + ": " + std::to_string(spec.queues) +
                " queues requested, device has " + std::to_string(info.max_rx_queues) + " RX and " +
                std::to_string(info.max_tx_queues) + " TX");
  }
  return {};
}

// Several queues: RSS with the symmetric `key` where the device hashes IP/TCP/UDP in a way
// tempo can model (flow/rss.h), else software steering (Port::soft_steer).
void choose_rss(const PortSpec& spec, const rte_eth_dev_info& info, std::vector<uint8_t>& key,
                rte_eth_conf& conf, Port& port) {
  const uint64_t rss_hf =
      info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
  if (spec.queues > 1 && rss_hf != 0 && !software_queues(port.driver) &&
      key.size() >= flow::RssSteering::kKeyLen) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
    port.rss = true;
  } else if (spec.queues > 1) {
    port.soft_steer = true;
  }
}

// The offloads tempo uses where the device has them: TX IPv4+TCP checksums, mbuf chains, TSO
// (with both, and when ports[].tso allows it), RX IPv4+TCP checksums.
void choose_offloads(const PortSpec& spec, const rte_eth_dev_info& info, rte_eth_conf& conf,
                     Port& port) {
  constexpr uint64_t kTxCksum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  if ((info.tx_offload_capa & kTxCksum) == kTxCksum) {
    conf.txmode.offloads |= kTxCksum;
    port.tx_ip_cksum = port.tx_tcp_cksum = true;
  }
  if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    port.tx_multi_seg = true;
  }
  constexpr uint64_t kTso = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  if (port.tx_tcp_cksum && spec.tso && (info.tx_offload_capa & kTso) == kTso) {
    conf.txmode.offloads |= kTso;
    port.tx_tso = true;
  }
  constexpr uint64_t kRxCksum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
  if ((info.rx_offload_capa & kRxCksum) == kRxCksum) {
    conf.rxmode.offloads |= kRxCksum;
    port.rx_cksum = true;
  }
}

// The MTU the device is configured with: spec.mtu, but for memif. DPDK 22.11's memif reports a
// 1,518-byte max_rx_pktlen, so ethdev refuses any larger MTU (and it has no mtu_set), yet its
// rings carry a frame of any length and its RX copies it into one mbuf where the buffer has
// room (tested: 9,000 to 65,407 bytes arrive whole). There the device keeps its maximum, the
// RX buffers are sized for spec.mtu (create_pools) and the stack segments to it; the config
// has checked that each frame fits one memif buffer (bsize: check_memif_frames in
// config/load.cc).
uint16_t device_mtu(const PortSpec& spec, const Port& port, const rte_eth_dev_info& info) {
  const uint32_t device_max =
      std::min<uint32_t>(info.max_mtu, info.max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN);
  if (port.driver == "net_memif" && spec.mtu > device_max) {
    return static_cast<uint16_t>(device_max);
  }
  return spec.mtu;
}

// rte_eth_dev_configure with one RX and one TX queue per worker, then the descriptor counts
// the PMD accepts (rte_eth_dev_adjust_nb_rx_tx_desc), into nb_rxd/nb_txd.
Step configure(const PortSpec& spec, const Port& port, const rte_eth_conf& conf, uint16_t& nb_rxd,
               uint16_t& nb_txd) {
  if (int rc = rte_eth_dev_configure(port.port_id, spec.queues, spec.queues, &conf); rc != 0) {
    return fail(error(spec.device, "rte_eth_dev_configure", rc));
  }
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port.port_id, &nb_rxd, &nb_txd); rc != 0) {
    return fail(error(spec.device, "rte_eth_dev_adjust_nb_rx_tx_desc", rc));
  }
  return {};
}

// Writes to every page of an mbuf's buffer once (rte_mempool_obj_iter's callback). Without
// hugepages (eal.no_huge) the EAL's memory is mapped but not yet backed: the pool wrote only
// each mbuf's header, so the first frame into each other page of a data room (2 of the 3
// pages of a 9,000-byte frame's buffer) would take a page fault on the datapath.
void touch_buffer(rte_mempool* /*pool*/, void* /*opaque*/, void* obj, unsigned /*index*/) {
  auto* m = static_cast<rte_mbuf*>(obj);
  auto* p = static_cast<volatile char*>(m->buf_addr);
  for (uint32_t off = 0; off < m->buf_len; off += 4096) {
    p[off] = 0;
  }
  p[m->buf_len - 1] = 0;
}

// A pktmbuf pool whose objects lie back to back in one piece of memory, with no gap where an
// object would cross a page (RTE_MEMPOOL_F_NO_IOVA_CONTIG): what rte_pktmbuf_pool_create builds,
// with that flag. net_af_xdp (22.11) registers as its umem the pool's first memory chunk for
// populated_size * object size bytes; without hugepages an ordinary pool keeps each 2,368-byte
// object within one 4 KB page, spans 1.7x that, and its upper 42% lies outside the umem: the
// kernel drops every frame sent from there and every fill-ring buffer there, silently (the
// socket's tx_invalid_descs), which lost 3-7% of a bulk relay's segments.
// The buffers net_af_xdp (22.11) takes from the RX pool for its fill ring at queue setup.
constexpr uint32_t kAfXdpFill = 2048;

rte_mempool* packed_pool(const char* name, uint32_t n, uint16_t data_room, int socket) {
  rte_pktmbuf_pool_private priv{};
  priv.mbuf_data_room_size = data_room;
  rte_mempool* mp = rte_mempool_create_empty(name, n, sizeof(rte_mbuf) + data_room, 256,
                                             sizeof(priv), socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
  if (mp == nullptr) {
    return nullptr;
  }
  int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), nullptr);
  if (rc == 0) {
    rte_pktmbuf_pool_init(mp, &priv);
    rc = rte_mempool_populate_default(mp);
  }
  if (rc < 0) {
    rte_mempool_free(mp);
    rte_errno = -rc;
    return nullptr;
  }
  rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
  return mp;
}

// The RX and TX mbuf pools (Port::rx_pool, Port::pool), on the port's NUMA socket, every page
// of their buffers backed before the first frame. On net_af_xdp the RX pool is the socket's
// umem and must be packed in one chunk (packed_pool).
Step create_pools(const PortSpec& spec, int index, int socket, Port& port) {
  const uint32_t n_mbufs = spec.mbufs_per_queue * spec.queues;
  // tempo takes received frames in one mbuf (a chain is counted and dropped): past a 1500-byte
  // MTU, RX buffers grow to hold a whole frame (Ethernet header, a VLAN tag, the CRC).
  // Everything tempo builds chains, so the TX pool keeps the default size.
  const auto rx_buf = static_cast<uint16_t>(std::max<uint32_t>(
      RTE_MBUF_DEFAULT_BUF_SIZE,
      RTE_PKTMBUF_HEADROOM + spec.mtu + RTE_ETHER_HDR_LEN + 4 + RTE_ETHER_CRC_LEN));
  const bool umem = port.driver == "net_af_xdp";
  if (umem && spec.mbufs_per_queue < 2 * kAfXdpFill - 1) {
    // Said here rather than as the PMD's "Invalid argument" from rte_eth_rx_queue_setup.
    return fail("port " + spec.device + ": net_af_xdp puts " + std::to_string(kAfXdpFill) +
                " buffers in its fill ring: ports[].mbufs must be at least " +
                std::to_string(2 * kAfXdpFill - 1) + " a queue");
  }
  for (auto [pool, kind, buf] :
       {std::tuple{&port.rx_pool, "rx", rx_buf},
        std::tuple{&port.pool, "tx", uint16_t{RTE_MBUF_DEFAULT_BUF_SIZE}}}) {
    char pool_name[RTE_MEMPOOL_NAMESIZE];
    std::snprintf(pool_name, sizeof(pool_name), "tempo_%s%d", kind, index);
    const int on = socket < 0 ? 0 : socket;
    *pool = umem && pool == &port.rx_pool
                ? packed_pool(pool_name, n_mbufs, buf, on)
                : rte_pktmbuf_pool_create(pool_name, n_mbufs, 256, 0, buf, on);
    if (*pool == nullptr) {
      return fail("port " + spec.device + ": " + kind + " mbuf pool of " + std::to_string(n_mbufs) +
                  " mbufs: " + rte_strerror(rte_errno) +
                  " (raise eal.memory_mb or lower ports[].mbufs)");
    }
    if (umem && pool == &port.rx_pool && (*pool)->nb_mem_chunks != 1) {
      return fail("port " + spec.device + ": the RX mbuf pool (net_af_xdp's umem) did not fit in " +
                  "one piece of memory (raise eal.memory_mb or lower ports[].mbufs)");
    }
    rte_mempool_obj_iter(*pool, touch_buffer, nullptr);
  }
  return {};
}

// One RX queue (filled from rx_pool) and one TX queue per worker, each with the device's
// default queue config and the offloads chosen for the port.
Step setup_queues(const PortSpec& spec, const rte_eth_dev_info& info, const rte_eth_conf& conf,
                  uint16_t nb_rxd, uint16_t nb_txd, int socket, const Port& port) {
  for (uint16_t q = 0; q < spec.queues; ++q) {
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(port.port_id, q, nb_rxd, socket, &rxconf, port.rx_pool);
        rc != 0) {
      return fail(error(spec.device, "rte_eth_rx_queue_setup", rc));
    }
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(port.port_id, q, nb_txd, socket, &txconf); rc != 0) {
      return fail(error(spec.device, "rte_eth_tx_queue_setup", rc));
    }
  }
  return {};
}

// rte_eth_dev_start, then the receive filters: promiscuous as ports[].promiscuous says (on by
// default: neighbour discovery needs the solicited-node multicast groups, which a PMD's address
// filter may drop; off for a port shared with the kernel, a bifurcated mlx5 or a VF whose
// hypervisor refuses it), and all-multicast always (for those groups). Not every PMD supports
// these: errors are ignored, and the port reports what it got (Port::promiscuous).
Step start_port(const PortSpec& spec, Port& port) {
  if (int rc = rte_eth_dev_start(port.port_id); rc != 0) {
    return fail(error(spec.device, "rte_eth_dev_start", rc));
  }
  if (spec.promiscuous) {
    (void)rte_eth_promiscuous_enable(port.port_id);
  } else {
    (void)rte_eth_promiscuous_disable(port.port_id);
  }
  (void)rte_eth_allmulticast_enable(port.port_id);
  port.promiscuous = rte_eth_promiscuous_get(port.port_id) == 1;
  return {};
}

// With RSS: the software model (flow/rss.h) must hash as the device does: read the key back
// (it must be the symmetric `key` set), and the redirection table (which the model then uses
// as it is).
Step read_back_rss(const PortSpec& spec, const rte_eth_dev_info& info,
                   const std::vector<uint8_t>& key, Port& port) {
  std::vector<uint8_t> back(key.size());
  rte_eth_rss_conf got{};
  got.rss_key = back.data();
  got.rss_key_len = static_cast<uint8_t>(back.size());
  if (int rc = rte_eth_dev_rss_hash_conf_get(port.port_id, &got); rc == 0) {
    if (std::memcmp(back.data(), key.data(), flow::RssSteering::kKeyLen) != 0) {
      return fail("port " + spec.device +
                  ": the RSS key read back is not the symmetric key tempo set; replies would "
                  "reach the wrong worker");
    }
  } else if (rc != -ENOTSUP) {
    return fail(error(spec.device, "rte_eth_dev_rss_hash_conf_get", rc));
  }
  port.reta = query_reta(port.port_id, info.reta_size, spec.queues);
  return {};
}

// The port's own MAC address (rte_eth_macaddr_get) into Port::mac.
Step read_mac(const PortSpec& spec, Port& port) {
  rte_ether_addr mac{};
  if (int rc = rte_eth_macaddr_get(port.port_id, &mac); rc != 0) {
    return fail(error(spec.device, "rte_eth_macaddr_get", rc));
  }
  std::memcpy(port.mac.data(), mac.addr_bytes, port.mac.size());
  return {};
}

}  // namespace

Result<Port, std::string> port_start(const PortSpec& spec, int index) {
  Port port;
  port.name = device_name(spec.device);
  port.queues = spec.queues;
  rte_eth_dev_info info{};
  if (Step r = find_device(spec, port, info); !r) {
    return fail(r.error());
  }

  rte_eth_conf conf{};
  std::vector<uint8_t> key = rss_key(info.hash_key_size);
  choose_rss(spec, info, key, conf, port);
  choose_offloads(spec, info, conf, port);
  conf.rxmode.mtu = device_mtu(spec, port, info);

  uint16_t nb_rxd = spec.rx_desc;
  uint16_t nb_txd = spec.tx_desc;
  if (Step r = configure(spec, port, conf, nb_rxd, nb_txd); !r) {
    return fail(r.error());
  }
  const int socket = rte_eth_dev_socket_id(port.port_id);
  if (Step r = create_pools(spec, index, socket, port); !r) {
    return fail(r.error());
  }
  if (Step r = setup_queues(spec, info, conf, nb_rxd, nb_txd, socket, port); !r) {
    return fail(r.error());
  }
  if (Step r = start_port(spec, port); !r) {
    return fail(r.error());
  }
  if (port.rss) {
    if (Step r = read_back_rss(spec, info, key, port); !r) {
      return fail(r.error());
    }
  }
  if (Step r = read_mac(spec, port); !r) {
    return fail(r.error());
  }
  return port;
}

void port_stop(const Port& port) noexcept {
  (void)rte_eth_dev_stop(port.port_id);
  (void)rte_eth_dev_close(port.port_id);
}

}  // namespace tempo::dpdk
