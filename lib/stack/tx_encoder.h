// TxEncoder: the protocol core's output segments into Ethernet frames in mbufs, for one port.
// Small payloads are copied into the header mbuf, larger ones attached by reference (an
// indirect mbuf per source segment: zero copy); consecutive segments of one connection merge
// into one TSO frame where the port offers TSO; TCP checksums go to the NIC where it can, else
// are summed here (stack/cksum.h).
//
// It knows nothing of the Worker: it takes a flow (addresses, ports, the next hop's MAC) and a
// segment and returns the frames that are complete, so it is tested on mbufs alone
// (tests/unit/stack/tx_encoder_test.cc). The Worker queues them for rte_eth_tx_burst, or
// parks a frame whose next hop is not resolved yet.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include <rte_mbuf.h>

#include "flow/tuple.h"
#include "stack/interface.h"
#include "stack/mbuf_buf.h"
#include "tcp/segment.h"
#include "telemetry/counters.h"
#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"
#include "wire/mac_addr.h"

namespace tempo::stack {

// An mbuf from `pool` holding `len` bytes of (uninitialised) frame; nullptr when the pool is
// empty (the caller counts it). The encoder's headers and the Worker's replies both take these.
inline rte_mbuf* alloc_frame(rte_mempool* pool, uint16_t len) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m != nullptr && rte_pktmbuf_append(m, len) == nullptr) [[unlikely]] {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  return m;
}

// What the encoder needs of a connection.
struct TxFlow {
  const void* id = nullptr;  // tells connections apart: TSO merges one connection's segments
  flow::Tuple tuple;         // the connection's, from this host: local is the source
  wire::MacAddr dst_mac;
  bool dst_known = false;  // dst_mac is the resolved next hop's
};

class TxEncoder {
 public:
  // Payloads up to this size are copied into the header mbuf; larger ones are attached by
  // reference, which costs an mbuf but no copy (on a port that sends chains: Interface::
  // tx_multi_seg; elsewhere all are copied).
  static constexpr uint32_t kCopyBelow = 256;
  // TSO frames: segments of at least this much payload merge; a frame holds at most
  // kTsoMaxPayload bytes (the IPv4 total length, less headers) in at most kTsoMaxSegs mbufs.
  static constexpr uint32_t kTsoMinSegment = 512;
  static constexpr uint32_t kTsoMaxPayload = 65535 - 60 - 60;
  static constexpr uint32_t kTsoMaxSegs = 64;

  // Frames complete after one encode(), in the order they must leave.
  struct Frames {
    std::array<rte_mbuf*, 2> m{};  // by construction: the open frame, then the segment's own
    uint8_t n = 0;
  };

  // Counts into `counters`: tcp_segments_sent, tx_tso_merged, tx_tso_frames,
  // tx_cksum_offloaded, drop_no_mbuf.
  explicit TxEncoder(telemetry::StackCounters& counters) noexcept : counters_(counters) {}
  ~TxEncoder() { discard(); }
  TxEncoder(const TxEncoder&) = delete;
  TxEncoder& operator=(const TxEncoder&) = delete;
  TxEncoder& operator=(TxEncoder&&) = delete;
  TxEncoder(TxEncoder&& o) noexcept
      : tso_(std::exchange(o.tso_, TsoFrame{})), counters_(o.counters_) {}

  // Encodes `seg` of `flow` for the port `iface` (headers from `iface.pool`). Returns the
  // frames now complete: the open TSO frame when `seg` does not continue it, then `seg`'s own
  // frame, unless that is held open for the segments that follow (flush() ends it). When
  // !flow.dst_known, the last frame returned is `seg`'s, without its destination MAC: the
  // caller parks it until the next hop resolves (frames are held open only for a known one).
  // An exhausted pool drops the segment (counted): the retransmission timer sends it again.
  Frames encode(const Interface& iface, const TxFlow& flow,
                const tcp::OutSegment<MbufBuf>& seg) noexcept;
  // The open TSO frame, finished (lengths, checksum offsets); nullptr when none is open.
  rte_mbuf* flush(const Interface& iface) noexcept;
  bool holding() const noexcept { return tso_.m != nullptr; }
  // Frees the open frame unsent.
  void discard() noexcept {
    if (tso_.m != nullptr) {
      rte_pktmbuf_free(std::exchange(tso_.m, nullptr));
    }
  }

 private:
  // A TSO frame being built from consecutive segments of one connection.
  struct TsoFrame {
    rte_mbuf* m = nullptr;
    const void* id = nullptr;
    bool v6 = false;
    uint32_t next_seq = 0;  // where the next merged segment must start
    uint32_t payload = 0;
    uint16_t seg_size = 0;  // payload per wire segment (the first segment's): tso_segsz
    uint16_t tcp_off = 0;
    uint16_t l3 = 0;
    uint16_t l4 = 0;
    bool last = false;  // a short segment joined: nothing may follow it
  };

  bool attach_payload(const Interface& i, rte_mbuf* m,
                      const tcp::OutSegment<MbufBuf>& seg) noexcept;
  static uint32_t payload_pieces(const tcp::OutSegment<MbufBuf>& seg) noexcept;
  static bool tso_fits(const Interface& i, const TxFlow& f,
                       const tcp::OutSegment<MbufBuf>& seg) noexcept;
  bool tso_extend(const Interface& i, const TxFlow& f,
                  const tcp::OutSegment<MbufBuf>& seg) noexcept;
  void finish_frame(const Interface& i, bool v6, rte_mbuf* m, uint16_t tcp_off, uint16_t l3,
                    uint16_t l4) noexcept;
  TsoFrame tso_;
  telemetry::StackCounters& counters_;
};

}  // namespace tempo::stack
