// TxBatch: the frames a Worker queues on one TX queue during a loop turn, sent with one
// rte_eth_tx_burst (DESIGN.md principle 2). Its bound is its own invariant: push() on a full
// batch sends the batch first, so no caller needs to know how many frames it holds, and no
// path (an encoder flushing its open TSO frame from inside a send, a reply built while a frame
// is held) can write past it. The crash of issue 19 was a batch whose bound the caller kept:
// transmit() filled it, flush() first flushed the TSO frame into it, one past the end.
//
// It knows nothing of the Worker: a queue, a fault stage (a test feature, stack/faults.h) and
// the counters it bumps. Tested on a ring port alone (tests/unit/stack/tx_batch_test.cc).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include <rte_mbuf.h>

#include "stack/faults.h"
#include "telemetry/counters.h"
#include "time/ticks.h"

namespace tempo::stack {

struct MbufOps {
  void free(rte_mbuf* m) const noexcept { rte_pktmbuf_free(m); }
  // Every segment: rte_pktmbuf_free drops one reference on each segment of a chain.
  void ref(rte_mbuf* m) const noexcept;
};
using MbufFaultStage = FaultStage<rte_mbuf*, MbufOps>;

class TxBatch {
 public:
  static constexpr uint16_t kCapacity = 32;

  // Sends on (port_id, queue); counts tx_packets, tx_bytes and tx_full into `counters`.
  TxBatch(uint16_t port_id, uint16_t queue, telemetry::StackCounters& counters) noexcept
      : port_id_(port_id), queue_(queue), counters_(counters) {}
  ~TxBatch();
  TxBatch(const TxBatch&) = delete;
  TxBatch& operator=(const TxBatch&) = delete;
  TxBatch(TxBatch&& o) noexcept;
  TxBatch& operator=(TxBatch&&) = delete;

  // Every frame sent passes `faults` first (drop, duplicate, reorder, delay; counted there).
  void set_faults(std::unique_ptr<MbufFaultStage> faults) noexcept { faults_ = std::move(faults); }

  // Queues `m` (the batch owns it from here). A full batch is sent first, so the batch never
  // holds more than kCapacity frames whoever calls.
  void push(rte_mbuf* m, Ticks now) noexcept {
    if (len_ == kCapacity) [[unlikely]] {
      send(now);
    }
    frames_[len_++] = m;
  }
  // One rte_eth_tx_burst of what is queued; frames the queue refuses are freed and counted
  // (tx_full), as a NIC drops what its ring has no room for. With a fault stage it runs every
  // loop turn, even empty, so that delayed frames leave on time.
  void send(Ticks now) noexcept;
  uint16_t size() const noexcept { return len_; }

 private:
  uint16_t port_id_;
  uint16_t queue_;
  telemetry::StackCounters& counters_;
  std::array<rte_mbuf*, kCapacity> frames_{};
  uint16_t len_ = 0;  // <= kCapacity: push() sends a full batch before it adds
  std::unique_ptr<MbufFaultStage> faults_;
};

}  // namespace tempo::stack
