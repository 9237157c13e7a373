#include "stack/rx_memory.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tcp/output.h"

namespace tempo::stack {

RxMemory::RxMemory(size_t ifaces, telemetry::StackCounters& counters)
    : counters_(counters),
      pools_(ifaces),
      buffer_bytes_(tcp::Config{}.mss - tcp::detail::kTsOptionLen) {}

RxMemory::~RxMemory() { release_packs(); }

void RxMemory::init(uint32_t slots, uint32_t small, uint16_t mss) {
  budget_.small = small;
  buffer_bytes_ = int64_t{mss} - tcp::detail::kTsOptionLen;
  starved_ = SlotFifo(slots);
  charged_ = SlotFifo(slots);
}

// The receive budget in RX buffers of one MSS each: windows may bring in what is free down to
// an eighth of the pool; a connection holding little may go on to a sixteenth (the reserve);
// below that, payload is copied out (rx_low). The RX descriptors' own buffers are not free, so
// they are already outside it.
void RxMemory::sample(size_t at, const Interface& iface) noexcept {
  PoolState& ps = pools_[at];
  ps.tx_free = rte_mempool_avail_count(iface.pool);
  ps.tx_low = ps.tx_free < iface.pool->size / 4;
  if (iface.rx_pool == nullptr) {
    return;
  }
  const auto rx_free = static_cast<int64_t>(rte_mempool_avail_count(iface.rx_pool));
  const auto rx_size = static_cast<int64_t>(iface.rx_pool->size);
  ps.rx_low = rx_free < rx_size / 16;
  ps.rx_tight = rx_free < rx_size / 2;
  ps.rcv_limit = (rx_free - rx_size / 8) * buffer_bytes_;
  budget_.reserve = rx_size / 16 * buffer_bytes_;
  int64_t limit = ps.rcv_limit;
  for (const PoolState& q : pools_) {
    limit = std::min(limit, q.rcv_limit);
  }
  budget_.limit = limit;
  if (ps.rx_low != pressure_) {
    pressure_ = ps.rx_low;
    counters_.rx_pressure_changes++;
  }
}

RxMemory::Held RxMemory::hold(size_t at, const Interface& iface, rte_mbuf* m,
                              std::span<const std::byte> payload, bool waits,
                              MbufBuf& out) noexcept {
  PoolState& ps = pools_[at];
  const auto len = static_cast<uint32_t>(payload.size());
  if (len <= kPackMax && (ps.rx_tight || waits) && pack(ps, iface, payload, out)) [[unlikely]] {
    // Memory is tight or the data waits (unread or out of order): small segments packed.
    counters_.tcp_rx_packed++;
    return Held::kPacked;
  }
  if (!ps.rx_low) [[likely]] {
    // The payload stays in this mbuf: one more reference, released by the core's queues.
    rte_mbuf_refcnt_update(m, 1);
    const auto off = static_cast<uint32_t>(payload.data() - rte_pktmbuf_mtod(m, std::byte*));
    out = MbufBuf(m, off, len);
    return Held::kRef;
  }
  rte_mbuf* copy = ps.tx_low ? nullptr : rte_pktmbuf_alloc(iface.pool);
  if (copy != nullptr && rte_pktmbuf_tailroom(copy) >= len) {
    // Receive memory is short: copy, so the RX mbuf goes straight back (dpdk/port.h).
    std::memcpy(rte_pktmbuf_append(copy, static_cast<uint16_t>(len)), payload.data(), len);
    out = MbufBuf(copy);
    counters_.tcp_rx_copied++;
    return Held::kCopied;
  }
  // No memory for the data at all: the caller drops it (the peer retransmits).
  if (copy != nullptr) {
    rte_pktmbuf_free(copy);
  }
  counters_.drop_tcp_data_no_mbuf++;
  return Held::kDropped;
}

bool RxMemory::pack(PoolState& ps, const Interface& iface, std::span<const std::byte> payload,
                    MbufBuf& out) noexcept {
  const auto len = static_cast<uint16_t>(payload.size());
  if (ps.pack == nullptr || rte_pktmbuf_tailroom(ps.pack) < len) {
    if (ps.pack != nullptr) {
      rte_pktmbuf_free(std::exchange(ps.pack, nullptr));
    }
    // Receive memory, from the RX pool (a port with one pool for both: that one).
    ps.pack = rte_pktmbuf_alloc(iface.rx_pool != nullptr ? iface.rx_pool : iface.pool);
    if (ps.pack == nullptr) {
      return false;
    }
  }
  // Only the tail grows: bytes already handed out (and in flight to a NIC) stay as they are.
  const uint32_t off = rte_pktmbuf_data_len(ps.pack);
  std::memcpy(rte_pktmbuf_append(ps.pack, len), payload.data(), len);
  rte_mbuf_refcnt_update(ps.pack, 1);
  out = MbufBuf(ps.pack, off, len);
  return true;
}

void RxMemory::release_packs() noexcept {
  for (PoolState& ps : pools_) {
    if (ps.pack != nullptr) {
      rte_pktmbuf_free(std::exchange(ps.pack, nullptr));
    }
  }
}

void RxMemory::note(Conn& c, uint32_t slot, tcp::CoreState& core) noexcept {
  tcp::detail::settle_rcv_commit(c.tcb, core);
  if (c.tcb.rcv_commit > 0 && !c.charged_listed) {
    c.charged_listed = true;
    charged_.push(slot);
  }
  if (c.tcb.rcv_starved && !c.starved_listed) [[unlikely]] {
    c.starved_listed = true;
    starved_.push(slot);
    counters_.tcp_rcv_starved++;
  }
}

void RxMemory::release_dormant(std::span<Conn> conns, Ticks now, tcp::CoreState& core) noexcept {
  charged_.visit(std::max<size_t>(4, charged_.size() / 128), [&](uint32_t slot) {
    Conn& c = conns[slot];
    if (c.in_use && !c.dead && c.tcb.rcv_commit > 0) {
      if (now - c.tcb.rcv_data_at < kDormantAfter) {
        return true;  // still in use: look again later
      }
      c.tcb.rcv_dormant = true;
      tcp::detail::settle_rcv_commit(c.tcb, core);
    }
    c.charged_listed = false;
    return false;
  });
}

}  // namespace tempo::stack
