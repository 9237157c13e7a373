// A DPDK ring port (rte_eth_from_rings) for unit tests of one part of the stack that sends
// through a TX queue: what the part sent is read back from the port's TX ring, in order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

namespace tempo::test {

class RingPort {
 public:
  // A port whose TX ring holds `tx_size - 1` frames; RX descriptors refill from `pool`.
  RingPort(unsigned tx_size, rte_mempool* pool) {
    static int instance = 0;
    const std::string id = std::to_string(instance++);
    rx_ = rte_ring_create(("rp_rx" + id).c_str(), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx_ = rte_ring_create(("rp_tx" + id).c_str(), tx_size, SOCKET_ID_ANY,
                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    const int p = rte_eth_from_rings(("net_rp" + id).c_str(), &rx_, 1, &tx_, 1, 0);
    EXPECT_GE(p, 0);
    port_ = static_cast<uint16_t>(p);
    rte_eth_conf conf{};
    EXPECT_EQ(rte_eth_dev_configure(port_, 1, 1, &conf), 0);
    EXPECT_EQ(rte_eth_rx_queue_setup(port_, 0, 64, 0, nullptr, pool), 0);
    EXPECT_EQ(rte_eth_tx_queue_setup(port_, 0, 64, 0, nullptr), 0);
    EXPECT_EQ(rte_eth_dev_start(port_), 0);
  }
  ~RingPort() {
    rte_eth_dev_stop(port_);
    rte_eth_dev_close(port_);
    for (rte_ring* r : {rx_, tx_}) {
      free_all(r);
      rte_ring_free(r);
    }
  }
  RingPort(const RingPort&) = delete;
  RingPort& operator=(const RingPort&) = delete;

  uint16_t port() const noexcept { return port_; }
  // Every frame the port sent, in order, as bytes (the mbufs are freed).
  std::vector<std::vector<uint8_t>> sent() {
    std::vector<std::vector<uint8_t>> out;
    void* m = nullptr;
    while (rte_ring_dequeue(tx_, &m) == 0) {
      auto* mb = static_cast<rte_mbuf*>(m);
      const auto* d = rte_pktmbuf_mtod(mb, const uint8_t*);
      out.emplace_back(d, d + rte_pktmbuf_data_len(mb));
      rte_pktmbuf_free(mb);
    }
    return out;
  }

 private:
  static void free_all(rte_ring* r) {
    void* m = nullptr;
    while (rte_ring_dequeue(r, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    }
  }
  rte_ring* rx_ = nullptr;
  rte_ring* tx_ = nullptr;
  uint16_t port_ = 0;
};

}  // namespace tempo::test
