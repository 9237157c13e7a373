// Reassembly: a Worker's IPv4 and IPv6 fragment reassembly. RFC 1122 §3.3.2: a host MUST
// reassemble; RFC 791 §3.2 (IPv4), RFC 8200 §4.5 (IPv6), RFC 5722 (overlapping fragments).
//
// tempo's own, not DPDK's rte_ip_frag, and copying, for these reasons (perf/micro/stack/
// reassembly_bench.cc measures both):
//  - rte_ip_frag holds the RX mbufs themselves (up to RTE_LIBRTE_IP_FRAG_MAX_FRAG = 8 per
//    datagram in Debian's 22.11 build, plus a death row of up to 288), so a flood of incomplete
//    datagrams holds RX buffers that TCP needs. Here each fragment is copied into a bounded
//    per-Worker arena and its RX buffer goes back at once: fragments hold no mbuf at all.
//  - rte_ip_frag does not drop overlaps as they arrive (RFC 5722): it adds up fragment lengths
//    and fails at the end, so an exact duplicate (which RFC 5722's erratum 3089 says to ignore)
//    kills the datagram and an overlap is seen only when the lengths add up; and its one return
//    value (NULL) does not say whether a fragment was held or why it was dropped, so no outcome
//    can be counted (its statistics are compiled out of Debian's build).
//  - Its fragment count per datagram is a compile-time 8: a 9-fragment datagram always fails.
//  - Its result is an mbuf chain, which the Worker would copy into one mbuf anyway (TCP input
//    takes one contiguous segment).
//  - It never evicts an entry before its timeout: once its table is full, every new datagram is
//    refused until an old one expires, so a flood of incomplete datagrams shuts reassembly for
//    the timeout. Here the oldest is evicted (or, configured, the new one refused).
// The price (perf/micro/stack/reassembly_bench, a 1,500-byte datagram in 3 fragments, one
// core of this 2-core VM, release build): 231-239 ns a datagram here against 207-208 ns for
// rte_ip_frag, both delivering one contiguous mbuf, 81 ns of which is the RX side both share:
// the second copy costs about 10 ns a fragment. Under a flood of incomplete datagrams, tempo
// holds no RX mbuf where rte_ip_frag holds one for each fragment it keeps (64 in a 64-entry
// table, up to 8 a datagram).
//
// Rules (each outcome counted in telemetry::StackCounters, reasm.* and drop.reasm.*):
//  - A datagram is identified by source, destination, protocol and identification (RFC 791
//    §3.2; IPv6: source, destination, identification, RFC 8200 §4.5), and the port.
//  - A fragment with M set whose length is not a multiple of 8, one ending past 65,535 bytes
//    of payload (RFC 8200 §4.5), an empty one, or an IPv6 first fragment without its
//    upper-layer header (RFC 7112 §5; 20 bytes for TCP, as Linux): invalid, dropped alone. A
//    second last fragment that disagrees, or data past the last fragment's end: invalid, and
//    the datagram held goes too (as Linux).
//  - An exact duplicate (same offset and length) is dropped alone (RFC 5722 erratum 3089, as
//    Linux); any other overlap abandons the whole datagram (RFC 5722 §4; for IPv4 too, as Linux
//    does since 2018).
//  - Bounds: max_datagrams held at once (the oldest evicted, or the new one refused: on_full),
//    max_bytes per datagram (IP header included; never more than the port's buffer holds, as
//    the result must fit one mbuf), max_fragments per datagram, and a timeout from the first
//    fragment (RFC 8200 §4.5: 60 s; RFC 791's 15 s; Linux's 30 s). No ICMP Time Exceeded is
//    sent for a timed-out datagram (RFC 792, RFC 8200 §4.5: SHOULD; see README's deviations).
//  - The reassembled datagram takes the headers of the first fragment (offset 0): IPv4's, its
//    options included, with total length, flags and offset and checksum rewritten; IPv6's
//    unfragmentable part with the payload length and the Next Header that named the Fragment
//    header rewritten (RFC 8200 §4.5).
//
// It knows nothing of mbufs or the Worker: add() takes a fragment's bytes and returns the whole
// datagram's, which the caller copies into one buffer. No allocation after init(). Tests:
// tests/unit/stack/reassembly_test.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "telemetry/counters.h"
#include "time/ticks.h"
#include "wire/ipv4.h"

namespace tempo::stack {

enum class ReasmOnFull : uint8_t { kEvictOldest, kRefuse };

// ip.reassembly.* in the configuration (stack/settings.h maps it).
struct ReassemblyConfig {
  uint32_t max_datagrams = 64;  // per Worker, IPv4 and IPv6 together; 0: fragments are dropped
  uint32_t max_bytes = 65535;   // the largest datagram, IP header included
  uint32_t max_fragments = 64;  // per datagram
  Ticks timeout = Ticks::from_ms(5000);
  ReasmOnFull on_full = ReasmOnFull::kEvictOldest;

  friend bool operator==(const ReassemblyConfig&, const ReassemblyConfig&) = default;
};

// What makes fragments one datagram's. Addresses in wire order (IPv4's in the first 4 bytes).
struct FragmentKey {
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint32_t id = 0;
  uint8_t protocol = 0;  // IPv4's Protocol; 0 for IPv6
  uint8_t v6 = 0;
  uint8_t port = 0;  // the Worker's port it arrived on
  uint8_t pad = 0;

  friend bool operator==(const FragmentKey&, const FragmentKey&) = default;
};

// One fragment as the IP layer parsed it.
struct Fragment {
  FragmentKey key;
  uint32_t offset = 0;  // bytes into the fragmentable part
  bool more = false;    // MF (IPv4), M (IPv6)
  std::span<const std::byte> data;
  // The fragment's own headers, which the datagram takes from its first fragment: IPv4's whole
  // header (options included); IPv6's unfragmentable part (the fixed header and the extension
  // headers before the Fragment header).
  std::span<const std::byte> header;
  uint16_t next_header_at = 0;  // IPv6: where in `header` the field naming the Fragment header is
  uint8_t next_header = 0;      // IPv6: the Fragment header's Next Header
  uint32_t room = UINT32_MAX;   // the most bytes (IP header included) the datagram may take here
};

// An IPv4 fragment as input_ipv4 parsed it (RFC 791 §3.2: a datagram is named by its source,
// destination, protocol and identification).
inline Fragment ipv4_fragment(const wire::Ipv4View& ip) noexcept {
  Fragment f;
  std::memcpy(f.key.src.data(), ip.header().data() + 12, 4);
  std::memcpy(f.key.dst.data(), ip.header().data() + 16, 4);
  f.key.id = ip.id();
  f.key.protocol = ip.protocol();
  f.offset = ip.fragment_offset();
  f.more = ip.more_fragments();
  f.data = ip.payload();
  f.header = ip.header();
  return f;
}

class Reassembly {
 public:
  // An IPv4 header (60 bytes at most) or an IPv6 unfragmentable part up to this long is kept;
  // a first fragment with longer headers is dropped (drop.reasm.too_big).
  static constexpr size_t kMaxHeader = 128;

  enum class Verdict : uint8_t { kHeld, kComplete, kDropped };
  struct Outcome {
    Verdict verdict = Verdict::kDropped;
    // kComplete: the datagram, valid until the next add() or expire().
    std::span<const std::byte> header;
    std::span<const std::byte> payload;
  };

  explicit Reassembly(telemetry::StackCounters& counters) noexcept : counters_(counters) {}
  Reassembly(const Reassembly&) = delete;
  Reassembly& operator=(const Reassembly&) = delete;

  // Allocates for `cfg`, no datagram bigger than `room` bytes (the largest a port's buffer
  // holds); drops whatever was held. Startup only.
  void init(const ReassemblyConfig& cfg, uint32_t room);
  bool enabled() const noexcept { return !slots_.empty(); }
  const ReassemblyConfig& config() const noexcept { return cfg_; }

  // Takes fragment `f` at `now`: held, the datagram it completes, or dropped (counted).
  Outcome add(const Fragment& f, Ticks now) noexcept;
  // Datagrams whose timeout passed are dropped (drop.reasm.timeout); one comparison when none.
  void expire(Ticks now) noexcept {
    if (oldest_ != kNone && slots_[oldest_].deadline <= now) [[unlikely]] {
      expire_due(now);
    }
  }
  uint32_t held() const noexcept { return held_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint32_t kUnknown = UINT32_MAX;
  struct Range {
    uint32_t begin;
    uint32_t end;
  };
  struct Slot {
    FragmentKey key;
    Ticks deadline;
    uint32_t next = kNone;   // in its hash bucket's chain, or the free list
    uint32_t older = kNone;  // arrival order (the FIFO that expiry and eviction read)
    uint32_t newer = kNone;
    uint32_t received = 0;    // payload bytes held: no overlaps, so what is covered
    uint32_t end = kUnknown;  // the fragmentable part's length, once the last fragment came
    uint32_t ranges = 0;      // fragments held, sorted by offset
    uint16_t header_len = 0;  // 0 until the first fragment came
    uint16_t next_header_at = 0;
    uint8_t next_header = 0;
    bool in_use = false;
    std::array<std::byte, kMaxHeader> header{};
  };

  static uint32_t hash(const FragmentKey& k) noexcept;
  uint32_t& bucket(const FragmentKey& k) noexcept { return buckets_[hash(k) & bucket_mask_]; }
  uint32_t find(const FragmentKey& k) noexcept;
  // A slot for `k` (a free one, or the oldest evicted), or kNone (counted) when refused.
  uint32_t take(const FragmentKey& k, Ticks now) noexcept;
  void release(uint32_t s) noexcept;
  void expire_due(Ticks now) noexcept;
  // Checks and copies `f` into slot `s`: false when it was dropped (and the slot, if the
  // datagram goes with it).
  bool insert(uint32_t s, const Fragment& f, uint32_t end, bool* abandoned) noexcept;
  Outcome complete(uint32_t s) noexcept;
  std::span<Range> ranges(uint32_t s) noexcept {
    return {ranges_.data() + size_t{s} * cfg_.max_fragments, slots_[s].ranges};
  }
  std::byte* data(uint32_t s) noexcept { return arena_.data() + size_t{s} * slot_bytes_; }

  telemetry::StackCounters& counters_;
  ReassemblyConfig cfg_{};
  uint32_t slot_bytes_ = 0;       // payload room per slot: min(max_bytes, room)
  std::vector<Slot> slots_;       // max_datagrams
  std::vector<Range> ranges_;     // max_fragments per slot
  std::vector<std::byte> arena_;  // slot_bytes_ per slot
  std::vector<uint32_t> buckets_;
  uint32_t bucket_mask_ = 0;
  uint32_t free_ = kNone;
  uint32_t oldest_ = kNone;
  uint32_t newest_ = kNone;
  uint32_t held_ = 0;
};

}  // namespace tempo::stack
