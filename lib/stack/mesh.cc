#include "stack/mesh.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

namespace tempo::stack {

Result<std::unique_ptr<Mesh>, std::string> Mesh::create(uint16_t workers, const std::string& tag) {
  std::unique_ptr<Mesh> m(new Mesh(workers));
  const int socket = static_cast<int>(rte_socket_id());
  for (uint16_t from = 0; from < workers; ++from) {
    for (uint16_t to = 0; to < workers; ++to) {
      if (from == to) {
        continue;
      }
      const std::string suffix = tag + "_" + std::to_string(from) + "_" + std::to_string(to);
      rte_ring* p = rte_ring_create(("tp" + suffix).c_str(), kPacketRing, socket,
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
      rte_ring* n = rte_ring_create_elem(("tn" + suffix).c_str(), sizeof(NeighborMsg),
                                         kNeighborRing, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
      rte_ring* a = rte_ring_create_elem(("ta" + suffix).c_str(), sizeof(AppMsg), kAppRing, socket,
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
      m->pkt_[from * workers + to] = p;
      m->nbr_[from * workers + to] = n;
      m->app_[from * workers + to] = a;
      if (p == nullptr || n == nullptr || a == nullptr) {
        return fail("mesh: cannot create the rings between workers " + std::to_string(from) +
                    " and " + std::to_string(to) + ": " + rte_strerror(rte_errno));
      }
    }
  }
  return m;
}

Mesh::~Mesh() {
  for (rte_ring* r : pkt_) {
    if (r == nullptr) {
      continue;
    }
    void* obj = nullptr;
    while (rte_ring_sc_dequeue(r, &obj) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    }
    rte_ring_free(r);
  }
  for (rte_ring* r : nbr_) {
    rte_ring_free(r);
  }
  for (rte_ring* r : app_) {
    rte_ring_free(r);
  }
}

}  // namespace tempo::stack
