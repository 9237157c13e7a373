#include "stack/reassembly.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <rte_hash_crc.h>

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ip_protocol.h"

namespace tempo::stack {
namespace {

constexpr size_t kIpv6Header = 40;
constexpr uint32_t kMaxPayload = 65535;  // IPv4 total length, IPv6 payload length

// RFC 7112 §5, as Linux's ipv6_frag_thdr_truncated: an IPv6 first fragment carries its upper-
// layer header (TCP's fixed 20 bytes; its options may follow in the next fragment).
size_t upper_header_min(uint8_t next_header) noexcept {
  switch (next_header) {
    case wire::kIpProtoTcp:
      return 20;
    case wire::kIpProtoUdp:
    case wire::kIpProtoIcmpv6:
      return 8;
    default:
      return 1;
  }
}

// RFC 8200 §4.5 (and RFC 791 for IPv4): every fragment but the last carries a multiple of 8
// bytes; none reaches past the largest payload length; none is empty.
bool valid(const Fragment& f) noexcept {
  const size_t len = f.data.size();
  if (len == 0 || (f.more && len % 8 != 0)) {
    return false;
  }
  // What precedes the fragmentable part within the length field: IPv4's header, IPv6's
  // unfragmentable extension headers.
  const size_t before =
      f.key.v6 ? f.header.size() - std::min(f.header.size(), kIpv6Header) : f.header.size();
  if (before + f.offset + len > kMaxPayload) {
    return false;
  }
  return !f.key.v6 || f.offset != 0 || len >= upper_header_min(f.next_header);
}

}  // namespace

void Reassembly::init(const ReassemblyConfig& cfg, uint32_t room) {
  cfg_ = cfg;
  slots_.clear();
  held_ = 0;
  free_ = oldest_ = newest_ = kNone;
  if (cfg.max_datagrams == 0 || cfg.max_fragments == 0) {
    ranges_.clear();
    arena_.clear();
    buckets_.clear();
    return;
  }
  slot_bytes_ = std::min({cfg.max_bytes, room, kMaxPayload});
  slots_.resize(cfg.max_datagrams);
  ranges_.assign(size_t{cfg.max_datagrams} * cfg.max_fragments, Range{});
  arena_.assign(size_t{cfg.max_datagrams} * slot_bytes_, std::byte{0});
  buckets_.assign(std::bit_ceil(size_t{cfg.max_datagrams} * 2), kNone);
  bucket_mask_ = static_cast<uint32_t>(buckets_.size() - 1);
  for (uint32_t s = cfg.max_datagrams; s-- > 0;) {
    slots_[s].next = free_;
    free_ = s;
  }
}

uint32_t Reassembly::hash(const FragmentKey& k) noexcept {
  // CRC32-C over the 40-byte key (5 instructions with SSE4.2): the table holds at most
  // max_datagrams, so a chain stays short whatever a sender chooses.
  static_assert(sizeof(FragmentKey) == 40, "no padding: every byte of the key is hashed");
  const uint32_t h = rte_hash_crc(&k, sizeof k, 0x9e3779b9u);
  return h ^ (h >> 16);
}

uint32_t Reassembly::find(const FragmentKey& k) noexcept {
  for (uint32_t s = bucket(k); s != kNone; s = slots_[s].next) {
    if (slots_[s].key == k) {
      return s;
    }
  }
  return kNone;
}

uint32_t Reassembly::take(const FragmentKey& k, Ticks now) noexcept {
  if (free_ == kNone) {
    if (cfg_.on_full == ReasmOnFull::kRefuse) {
      counters_.drop_reasm_table_full++;
      return kNone;
    }
    counters_.drop_reasm_evicted++;
    release(oldest_);
  }
  const uint32_t s = free_;
  Slot& sl = slots_[s];
  free_ = sl.next;
  sl.key = k;
  sl.deadline = now + cfg_.timeout;
  sl.received = 0;
  sl.end = kUnknown;
  sl.ranges = 0;
  sl.header_len = 0;
  sl.in_use = true;
  uint32_t& head = bucket(k);
  sl.next = head;
  head = s;
  sl.older = newest_;
  sl.newer = kNone;
  if (newest_ != kNone) {
    slots_[newest_].newer = s;
  } else {
    oldest_ = s;
  }
  newest_ = s;
  if (++held_ > counters_.reasm_peak) {
    counters_.reasm_peak = held_;
  }
  return s;
}

void Reassembly::release(uint32_t s) noexcept {
  Slot& sl = slots_[s];
  for (uint32_t* at = &bucket(sl.key); *at != kNone; at = &slots_[*at].next) {
    if (*at == s) {
      *at = sl.next;
      break;
    }
  }
  (sl.older != kNone ? slots_[sl.older].newer : oldest_) = sl.newer;
  (sl.newer != kNone ? slots_[sl.newer].older : newest_) = sl.older;
  sl.in_use = false;
  sl.next = free_;
  free_ = s;
  --held_;
}

void Reassembly::expire_due(Ticks now) noexcept {
  while (oldest_ != kNone && slots_[oldest_].deadline <= now) {
    counters_.drop_reasm_timeout++;
    release(oldest_);
  }
}

Reassembly::Outcome Reassembly::add(const Fragment& f, Ticks now) noexcept {
  if (!enabled()) [[unlikely]] {
    return {};  // the caller counts it (drop.ipv4.fragment, drop.ipv6.fragment)
  }
  counters_.reasm_fragments++;
  if (!valid(f)) {
    counters_.drop_reasm_invalid++;
    return {};
  }
  expire(now);
  const auto end = static_cast<uint32_t>(f.offset + f.data.size());
  const uint32_t limit = std::min(cfg_.max_bytes, f.room);
  uint32_t s = find(f.key);
  // What the datagram would take, with this fragment's headers (a first fragment's, for IPv4,
  // may be longer: checked again at completion). Checked before a slot is taken, so that a
  // fragment that can never fit evicts nothing.
  if (end > slot_bytes_ || f.header.size() + end > limit ||
      (f.offset == 0 && f.header.size() > kMaxHeader)) {
    counters_.drop_reasm_too_big++;
    if (s != kNone) {
      release(s);
    }
    return {};
  }
  if (s == kNone) {
    s = take(f.key, now);
    if (s == kNone) {
      return {};
    }
  }
  bool abandoned = false;
  if (!insert(s, f, end, &abandoned)) {
    if (abandoned) {
      release(s);
    }
    return {};
  }
  const Slot& sl = slots_[s];
  if (sl.header_len != 0 && sl.end != kUnknown && sl.received == sl.end) {
    if (sl.header_len + sl.end > limit) {
      counters_.drop_reasm_too_big++;
      release(s);
      return {};
    }
    return complete(s);
  }
  return {.verdict = Verdict::kHeld, .header = {}, .payload = {}};
}

bool Reassembly::insert(uint32_t s, const Fragment& f, uint32_t end, bool* abandoned) noexcept {
  Slot& sl = slots_[s];
  std::span<Range> held = ranges(s);
  const uint32_t held_end = held.empty() ? 0 : held.back().end;  // sorted, disjoint
  // RFC 791 / RFC 8200 §4.5: the last fragment fixes the length; nothing may lie beyond it,
  // and a second last fragment must agree (Linux discards the datagram alike).
  const bool beyond = f.more ? sl.end != kUnknown && end > sl.end
                             : (sl.end != kUnknown && sl.end != end) || held_end > end;
  if (beyond) {
    counters_.drop_reasm_invalid++;
    *abandoned = true;
    return false;
  }
  // RFC 5722 §4 (erratum 3089): an exact duplicate is dropped alone; any other overlap
  // abandons the datagram and every fragment held for it.
  size_t at = held.size();  // where the new range goes, by offset
  for (size_t i = 0; i < held.size(); ++i) {
    const Range& r = held[i];
    if (r.begin == f.offset && r.end == end) {
      counters_.drop_reasm_duplicate++;
      return false;
    }
    if (r.begin < end && f.offset < r.end) {
      counters_.drop_reasm_overlap++;
      *abandoned = true;
      return false;
    }
    if (at == held.size() && f.offset < r.begin) {
      at = i;
    }
  }
  if (sl.ranges == cfg_.max_fragments) {
    counters_.drop_reasm_too_many_fragments++;
    *abandoned = true;
    return false;
  }
  if (f.offset == 0) {
    std::memcpy(sl.header.data(), f.header.data(), f.header.size());
    sl.header_len = static_cast<uint16_t>(f.header.size());
    sl.next_header_at = f.next_header_at;
    sl.next_header = f.next_header;
  }
  Range* base = ranges_.data() + size_t{s} * cfg_.max_fragments;
  std::move_backward(base + at, base + sl.ranges, base + sl.ranges + 1);
  base[at] = Range{f.offset, end};
  ++sl.ranges;
  std::memcpy(data(s) + f.offset, f.data.data(), f.data.size());
  sl.received += static_cast<uint32_t>(f.data.size());
  if (!f.more) {
    sl.end = end;
  }
  return true;
}

Reassembly::Outcome Reassembly::complete(uint32_t s) noexcept {
  Slot& sl = slots_[s];
  std::byte* h = sl.header.data();
  if (!sl.key.v6) {
    // RFC 791 §3.2: the first fragment's header, its total length the datagram's, no MF, no
    // offset.
    wire::detail::store_be16(h + 2, static_cast<uint16_t>(sl.header_len + sl.end));
    wire::detail::store_be16(h + 6, 0);
    wire::detail::store_be16(h + 10, 0);
    wire::detail::store_be16(h + 10, wire::internet_checksum(std::span(h, sl.header_len)));
  } else {
    // RFC 8200 §4.5: the unfragmentable part, its Payload Length the reassembled packet's, the
    // Next Header that named the Fragment header now the first fragment's Fragment header's.
    wire::detail::store_be16(h + 4, static_cast<uint16_t>(sl.header_len - kIpv6Header + sl.end));
    wire::detail::store8(h + sl.next_header_at, sl.next_header);
  }
  counters_.reasm_datagrams++;
  const Outcome out{.verdict = Verdict::kComplete,
                    .header = std::span<const std::byte>(h, sl.header_len),
                    .payload = std::span<const std::byte>(data(s), sl.end)};
  release(s);  // its bytes stay until the slot is taken again
  return out;
}

}  // namespace tempo::stack
