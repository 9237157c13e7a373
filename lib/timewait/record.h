// Compact TIME_WAIT records (DESIGN.md principle 5).
//
// When a connection enters TIME_WAIT its Tcb is freed and one of these takes its place: the
// 4-tuple, the two sequence numbers and the timestamp state the TIME_WAIT rules need
// (RFC 9293 §3.10.7.4, RFC 7323 §5 PAWS, RFC 6191 reuse), the expiry time and the links of the
// table's expiry FIFO (see table.h for why a FIFO and not one wheel timer per record).
//
// Sizes (static_asserted below):
//   TwRecordV4 = 12 (tuple) + 20 (TwConn) + 4 (expiry) + 8 (FIFO links) = 44 bytes
//   TwRecordV6 = 36 (tuple) + 20 (TwConn) + 4 (expiry) + 8 (FIFO links) = 68 bytes (+24, the
//                addresses)
// All-in per entry, with the table's index (table.h: 64-byte buckets of 10 slots, at 60% to 90%
// load as it follows the entries held): 44 + 64/9 = 51.1 to 44 + 64/6 = 54.7 bytes for IPv4 and
// 75.1 to 78.7 bytes for IPv6, whatever max_entries is. Linux's tw_sock_TCP slab object alone is
// 256 bytes.
//
// What is not stored, and why:
//  - The timestamp offset. DESIGN.md ("TIME_WAIT: the rules the stack keeps") makes it a keyed
//    function of the address pair, never random per connection, so that an active open that
//    reuses the tuple sends timestamps above anything the peer saw. Being a function of the
//    tuple, it is re-derived (lib/crypto PRF) when TIME_WAIT sends an ACK: that is off the
//    lookup path and rare next to lookups, while storing it would cost 4 bytes x 10M = 40 MB
//    per core.
//  - The window scale: rcv_wnd is kept already scaled, exactly as it goes into the ACK's
//    window field.
#pragma once

#include <array>
#include <cstdint>

#include "flow/tuple.h"

namespace tempo::timewait {

// A record's tuple is a flow::Tuple4 or flow::Tuple6 (flow/tuple.h), the type the connection
// table keys on. The table treats it as opaque bytes: it hashes and compares them, nothing else.

// The protocol state of a connection in TIME_WAIT: everything timewait::on_segment reads.
struct TwConn {
  static constexpr uint8_t kTsOk = 1;  // RFC 7323 timestamps were negotiated on the connection

  uint32_t snd_nxt = 0;    // our next sequence number (our FIN is below it)
  uint32_t rcv_nxt = 0;    // the peer's next sequence number (its FIN is below it)
  uint32_t ts_recent = 0;  // RFC 7323 §4.3 TS.Recent: the last TSval from the peer
  // ms32() of the last segment from the peer that updated ts_recent: PAWS validity (RFC 7323
  // §5.5) and active reuse age (DESIGN.md: "more than one second old").
  uint32_t ts_recent_age = 0;
  uint16_t rcv_wnd = 0;  // the window field of our ACKs, already scaled
  uint8_t flags = 0;
  // oow_stamp() of the last rate-limited ACK this entry sent (policy.h, oow_ack_allowed): one
  // byte where Linux keeps a 32-bit tw_last_oow_ack_time, so the record stays 44 bytes.
  uint8_t oow_ack = 0;

  constexpr bool ts_ok() const noexcept { return (flags & kTsOk) != 0; }
};
static_assert(sizeof(TwConn) == 20);

template <class Tuple>
struct TwRecord {
  Tuple tuple;
  TwConn conn;
  uint32_t expire_ms = 0;  // ms32() at which the entry leaves TIME_WAIT
  // Expiry FIFO (table.h), as 32-bit indices into the table's record slab; kNoIndex ends it. A
  // free record keeps the free list in `next`.
  uint32_t prev = 0;
  uint32_t next = 0;
};

inline constexpr uint32_t kNoIndex = UINT32_MAX;

using TwRecordV4 = TwRecord<flow::Tuple4>;
using TwRecordV6 = TwRecord<flow::Tuple6>;
static_assert(sizeof(TwRecordV4) == 44, "IPv4 TIME_WAIT record must stay 44 bytes");
static_assert(sizeof(TwRecordV6) == 68, "IPv6 TIME_WAIT record must stay 68 bytes");

}  // namespace tempo::timewait
