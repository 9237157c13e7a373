// TxBatch (stack/tx_batch.h): one rte_eth_tx_burst per loop turn and queue.
#include "stack/tx_batch.h"

#include <rte_ethdev.h>

#include "stack/capture.h"
#include "stack/mbuf_buf.h"

namespace tempo::stack {

void MbufOps::ref(rte_mbuf* m) const noexcept { MbufBuf::ref_chain(m); }

TxBatch::~TxBatch() {
  rte_pktmbuf_free_bulk(frames_.data(), len_);
  len_ = 0;
  if (faults_) {
    faults_->drain();
  }
}

TxBatch::TxBatch(TxBatch&& o) noexcept
    : port_id_(o.port_id_),
      queue_(o.queue_),
      counters_(o.counters_),
      frames_(o.frames_),
      len_(std::exchange(o.len_, 0)),
      faults_(std::move(o.faults_)) {}

void TxBatch::send(Ticks now) noexcept {
  rte_mbuf** tx = frames_.data();
  size_t len = len_;
  // The fault stage may hold frames back (delay, reorder) and release them later, duplicated
  // ones included: up to twice a batch comes out of one call, bounded by `faulted`'s size.
  std::array<rte_mbuf*, 2 * kCapacity> faulted;
  if (faults_) [[unlikely]] {
    len = faults_->apply(std::span(frames_.data(), len_), faulted, now);
    tx = faulted.data();
  }
  len_ = 0;
  if (len == 0) {
    return;
  }
  if (Capture::active()) [[unlikely]] {
    Capture::instance().tap(port_id_, queue_, tx, static_cast<uint16_t>(len), Capture::Dir::kTx);
  }
  const uint16_t sent = rte_eth_tx_burst(port_id_, queue_, tx, static_cast<uint16_t>(len));
  uint64_t bytes_out = 0;
  for (uint16_t k = 0; k < sent; ++k) {
    bytes_out += rte_pktmbuf_pkt_len(tx[k]);
  }
  counters_.tx_packets += sent;
  counters_.tx_bytes += bytes_out;
  if (sent < len) {
    counters_.tx_full += len - sent;
    rte_pktmbuf_free_bulk(&tx[sent], static_cast<unsigned>(len - sent));
  }
}

}  // namespace tempo::stack
