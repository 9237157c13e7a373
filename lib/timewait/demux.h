// The TIME_WAIT step of demultiplexing: what happens to a segment whose 4-tuple has no
// connection, before any listener sees it (DESIGN.md, "TIME_WAIT: the rules the stack keeps").
// One function that the Worker (lib/stack/worker_tcp.cc) and the hazard bench (tests/hazard)
// both call, so that the hazard proofs run the stack's own code (STYLE.md §11). It does no I/O:
// it returns the ACK to send (the caller adds its TSval and builds the packet).
//
//  - No entry: the listener (or the CLOSED rule) takes the segment.
//  - on_segment() decides (policy.h); its table effects are applied here, except for a SYN that
//    may reopen the tuple (RFC 6191): the entry stays until the listener takes the SYN
//    (settle_reuse), and with no listener at all it is answered as a refused SYN (Linux:
//    TCP_TW_SYN with no listener falls through to TCP_TW_ACK).
//  - ACKs for segments without data or FIN are rate limited per entry (oow_ack_allowed) and
//    against the per-core RFC 5961 §7 budget (`budget`, a callable returning whether one more
//    may go); what is held back is counted in `limited`.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "time/ticks.h"
#include "timewait/policy.h"
#include "timewait/table.h"

namespace tempo::timewait {

// The entry's ACK (RFC 9293 §3.10.7.4: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, the stored window,
// TSecr = TS.Recent as the verdict updated it). TSval is the caller's.
struct TwAck {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;
  bool has_ts = false;
  uint32_t tsecr = 0;
};

struct TwDemux {
  enum class Kind : uint8_t {
    kNoEntry,  // not in TIME_WAIT: on to the listener or the CLOSED rule
    kHandled,  // TIME_WAIT answered it (send `ack` when set)
    kReuse,    // a SYN that may reopen the tuple: the listener decides, then settle_reuse()
  };
  Kind kind = Kind::kNoEntry;
  std::optional<TwAck> ack;
  // kReuse only.
  uint32_t idx = kNoIndex;
  TwSegment seg{};
  TwVerdict verdict{};
  uint32_t iss_floor = 0;  // reuse_iss_floor() of the old connection
};

// The same, for the entry at `idx` (kNoIndex: none), found by TwTable::find or find_bulk
// while the table is as it was then (TwTable::changes).
template <class Tuple, class Budget>
TwDemux demux_time_wait_at(TwTable<Tuple>& table, uint32_t idx, const TwSegment& seg, Ticks now,
                           bool listener, Budget&& budget, uint64_t& limited) noexcept {
  TwDemux d;
  if (idx == kNoIndex) {
    return d;
  }
  TwConn& rec = table.at(idx).conn;
  TwVerdict v = on_segment(rec, seg, now, table.policy());
  if (v.action == TwAction::kReuse) {
    if (listener) {
      d.kind = TwDemux::Kind::kReuse;
      d.idx = idx;
      d.seg = seg;
      d.verdict = v;
      d.iss_floor = reuse_iss_floor(rec);
      return d;
    }
    v = TwVerdict{TwAction::kAck, TwReason::kReuseNoListener, false};
  }
  d.kind = TwDemux::Kind::kHandled;
  if (v.action == TwAction::kAck || v.action == TwAction::kAckRestart) {
    bool send = true;
    if (oow_rate_limited_kind(seg)) {
      send = oow_ack_allowed(rec, seg, now) && budget();
      if (send) {
        rec.oow_ack = oow_stamp(now);
      } else {
        ++limited;
      }
    }
    if (send) {
      // RFC 7323 §4.3: a TS.Recent update comes before the reply.
      d.ack = TwAck{.seq = rec.snd_nxt,
                    .ack = rec.rcv_nxt,
                    .window = rec.rcv_wnd,
                    .has_ts = rec.ts_ok(),
                    .tsecr = v.update_ts ? seg.tsval : rec.ts_recent};
    }
  }
  table.apply(idx, v, seg, now);
  return d;
}

template <class Tuple, class Budget>
TwDemux demux_time_wait(TwTable<Tuple>& table, const Tuple& tuple, const TwSegment& seg, Ticks now,
                        bool listener, Budget&& budget, uint64_t& limited) noexcept {
  return demux_time_wait_at(table, table.find(tuple), seg, now, listener,
                            std::forward<Budget>(budget), limited);
}

// The end of a kReuse: `taken` (a connection, or a SYN cookie answer whose returning ACK must
// find no entry) removes the entry; otherwise it stays, counted (kReuseNotTaken).
template <class Tuple>
void settle_reuse(TwTable<Tuple>& table, const TwDemux& d, bool taken, Ticks now) noexcept {
  const TwVerdict v =
      taken ? d.verdict : TwVerdict{TwAction::kDrop, TwReason::kReuseNotTaken, false};
  table.apply(d.idx, v, d.seg, now);
}

// RFC 6191 §2 / RFC 9293 §3.4.1: the ISS of a connection on a tuple reused from TIME_WAIT lies
// above the old one's sequence space (`floor`, reuse_iss_floor()), so that the peer cannot take
// its segments for old duplicates; the ISN generator's value stands when it is beyond already.
constexpr uint32_t iss_above_floor(uint32_t iss, std::optional<uint32_t> floor) noexcept {
  if (floor && static_cast<int32_t>(*floor - iss) > 0) {
    return *floor;
  }
  return iss;
}

}  // namespace tempo::timewait
