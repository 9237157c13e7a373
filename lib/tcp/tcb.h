// The transmission control block (RFC 9293 §3.3.1), with RFC variable names.
//
// Layout: the variables every segment touches come first (the first two cache lines hold the
// state, sequence and window variables and the timestamp state), then the estimators, then
// the send queue and the out-of-order queue, which only data segments touch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tcp/buffer.h"
#include "tcp/config.h"
#include "tcp/rack.h"
#include "tcp/reassembly.h"
#include "tcp/sack.h"
#include "tcp/seam.h"
#include "tcp/send_queue.h"
#include "tcp/seq.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "time/ticks.h"

namespace tempo::tcp {

template <Buffer Buf>
struct Tcb {
  // --- cache line 0: state, flags, send sequence variables (RFC 9293 §3.3.1)
  State state = State::kClosed;
  uint8_t snd_wscale = 0;          // peer's shift, applied to SEG.WND (RFC 7323 §2.3)
  uint8_t rcv_wscale = 0;          // our shift, applied to the window we send
  uint8_t timers = 0;              // bit (1 << TimerKind) set while armed
  uint8_t retries = 0;             // consecutive retransmission timeouts (RFC 1122 4.2.3.5)
  uint8_t dupacks = 0;             // RFC 5681 §2 duplicate ACK count
  uint8_t delack_segs = 0;         // segments received since our last ACK (RFC 9293 §3.8.6.3)
  uint8_t probes = 0;              // keepalive / persist probes sent without answer
  bool ts_ok : 1 = false;          // RFC 7323 §3.2: both sides sent timestamps on SYN
  bool sack_ok : 1 = false;        // RFC 2018 §2: both sides sent SACK-permitted
  bool ws_ok : 1 = false;          // RFC 7323 §2.2: both sides sent window scale
  bool nagle : 1 = true;           // RFC 9293 §3.7.4
  bool passive : 1 = false;        // opened from LISTEN
  bool fin_queued : 1 = false;     // the user closed: send FIN after the queued data
  bool orphan : 1 = false;         // close() (not shutdown): the application is gone
  bool want_writable : 1 = false;  // a send() was refused: report on_writable when space frees
  bool ack_now : 1 = false;        // output() must send an ACK even without data
  bool rtt_timing : 1 = false;     // rtt_seq is being timed (RFC 6298 §3, Karn)
  bool in_recovery : 1 = false;    // RFC 6582 fast recovery, or RFC 6675 when sack_ok
  bool rescue_sent : 1 = false;    // RFC 6675 NextSeg (4): the rescue retransmission went out
  bool peer_fin : 1 = false;       // the peer's FIN was received in order
  bool fin_sent : 1 = false;       // our FIN went out (it is the last thing we send)
  bool rcv_starved : 1 = false;    // the window could not open for want of receive memory
  // No data for a while (or none yet): the open window is not charged to the receive budget.
  bool rcv_dormant : 1 = true;
  bool oow_acked : 1 = false;  // oow_ack_ms is set
  // RFC 8985 §7 tail loss probe: the retransmission timer is armed as the PTO; a probe is out
  // (TLP.end_seq set) and it was a retransmission (TLP.is_retrans).
  bool tlp_timer : 1 = false;
  bool tlp_out : 1 = false;
  bool tlp_retrans : 1 = false;
  bool dsack_pending : 1 = false;  // RFC 2883: the next ACK reports [dsack_left, dsack_right)
  bool reo_timer : 1 = false;  // RFC 8985 §6.2: the retransmission timer is RACK's reorder timer
  uint16_t snd_mss = 536;      // effective send MSS (RFC 9293 §3.7.1), payload bytes
  uint16_t rcv_mss = 1460;     // the MSS we advertised
  SeqNum iss;
  SeqNum snd_una;
  SeqNum snd_nxt;
  SeqNum snd_max;  // highest sequence sent + 1 (snd_nxt is rewound on RTO)
  SeqNum snd_wl1;
  SeqNum snd_wl2;
  uint32_t snd_wnd = 0;      // scaled
  uint32_t max_snd_wnd = 0;  // RFC 5961 §5.2 MAX.SND.WND
  SeqNum recover;            // RFC 6582 §3.2 "recover", RFC 6675 RecoveryPoint (+1)
  // --- receive sequence variables
  SeqNum irs;
  SeqNum rcv_nxt;
  SeqNum rcv_adv;           // right edge of the window we advertised (never moved left)
  SeqNum last_ack_sent;     // RFC 7323 §4.3 Last.ACK.sent
  uint32_t rcv_held = 0;    // bytes delivered to the application and not yet consumed
  uint32_t rcv_commit = 0;  // window offered, not yet filled: charged to CoreState::rcv_budget
  // --- RFC 7323 timestamps
  TsVal ts_recent;
  uint32_t ts_offset = 0;  // added to our clock for TSval (keyed per address pair)
  // When (ms, wrapping) an ACK last answered an invalid segment (oow_ack_allowed, output.h).
  uint32_t oow_ack_ms = 0;
  Ticks ts_recent_age{};  // when ts_recent was last updated
  // --- timing
  Ticks last_rcv{};     // last segment from the peer (keepalive idle)
  Ticks rcv_data_at{};  // last data from the peer (RcvBudget: dormant after a while)
  Ticks rtt_start{};
  SeqNum rtt_seq;   // the segment being timed ends here
  SeqNum high_rxt;  // RFC 6675 HighRxt + 1: retransmitted in this recovery below here
  const Config* cfg = nullptr;
  // RFC 3042: new data sent beyond cwnd on the first and second duplicate ACK, left out of
  // FlightSize when the third sets ssthresh (RFC 5681 §3.2 step 2).
  uint32_t lt_bytes = 0;
  SeqNum tlp_start;   // what the probe sent: [tlp_start, tlp_end)
  SeqNum tlp_end;     // RFC 8985 TLP.end_seq: SND.NXT once the probe went
  SeqNum dsack_left;  // RFC 2883: a duplicate the peer sent, reported once
  SeqNum dsack_right;
  uint32_t retransmits = 0;  // segments this connection sent again, any cause (in padding)
  detail::Rtt rtt{};
  detail::Cc cc{};
  SackScoreboard sacked{};  // RFC 2018 §4-5 / RFC 6675 §3: what the peer reported holding
  Rack rack{};              // RFC 8985 §6: time-based loss detection (with SACK only)
  // Times SND.UNA - ISS and RCV.NXT - IRS wrapped past 2^32: with them the data acknowledged
  // and received as 64-bit counts (bytes_acked(), bytes_received(); RFC 4898's HCThruOctets)
  // in what was padding.
  uint16_t una_wraps = 0;
  uint16_t rcv_wraps = 0;
  // --- queues (data path only)
  SendQueue<Buf> sndq{};
  Reassembly<Buf> ooo{};

  // RFC 9293 §3.3.1: the receive window we can offer now.
  uint32_t rcv_space() const noexcept {
    const uint32_t used = rcv_held + ooo.bytes();
    return cfg->rcv_buf > used ? cfg->rcv_buf - used : 0;
  }
  // Holding little: may draw on the budget's reserve (RcvBudget::small).
  bool holds_little(uint32_t small) const noexcept {
    return rcv_held + ooo.bytes() + sndq.bytes() < small;
  }
  bool armed(TimerKind k) const noexcept { return (timers >> static_cast<int>(k)) & 1u; }
  // Bytes sent and not yet acknowledged, SYN and FIN included.
  uint32_t flight() const noexcept { return distance(snd_una, snd_nxt); }
  // Data the peer acknowledged, and data received in order: the sequence space past the
  // SYN, less an acknowledged or received FIN.
  uint64_t bytes_acked() const noexcept {
    const uint64_t seq = (uint64_t{una_wraps} << 32) + distance(iss, snd_una);
    const uint64_t fin = fin_sent && snd_una == snd_max ? 1 : 0;
    return seq > 1 + fin ? seq - 1 - fin : 0;
  }
  uint64_t bytes_received() const noexcept {
    const uint64_t seq = (uint64_t{rcv_wraps} << 32) + distance(irs, rcv_nxt);
    const uint64_t fin = peer_fin ? 1 : 0;
    return seq > 1 + fin ? seq - 1 - fin : 0;
  }
};

}  // namespace tempo::tcp
