// Per-core protocol counters and the per-core challenge-ACK budget, both held in CoreState
// (core_state.h), which the Worker owns and exposes through its Sink.
#pragma once

#include <cstdint>
#include <utility>

#include "time/ticks.h"

namespace tempo::tcp {

// One counter per reason a segment was dropped (STYLE.md 5), plus what the core sent.
struct Counters {
  // drops
  uint64_t drop_unacceptable = 0;       // RFC 9293 §3.10.7.4 first check failed
  uint64_t drop_paws = 0;               // RFC 7323 §5.3 R1
  uint64_t drop_rst_out_of_window = 0;  // RFC 5961 §3.2 case 1
  uint64_t drop_rst_in_window = 0;      // RFC 5961 §3.2 case 3 (challenge ACK instead)
  uint64_t drop_syn_synchronized = 0;   // RFC 5961 §4.2
  uint64_t drop_no_ack = 0;             // RFC 9293 §3.10.7.4 fifth check, ACK bit off
  uint64_t drop_ack_unsent = 0;         // SEG.ACK > SND.NXT
  uint64_t drop_ack_too_old = 0;        // RFC 5961 §5.2
  uint64_t drop_syn_sent_bad_ack = 0;   // RFC 9293 §3.10.7.3 unacceptable ACK
  uint64_t drop_syn_sent_no_syn = 0;    // SYN-SENT, neither SYN nor RST
  uint64_t drop_listen = 0;             // LISTEN: RST, ACK or no SYN
  uint64_t drop_closed = 0;             // no connection (§3.10.7.1)
  uint64_t drop_ooo_full = 0;           // out-of-order queue bound
  uint64_t drop_data_after_close = 0;   // text in CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT
  // responses and events
  uint64_t challenge_acks = 0;
  uint64_t challenge_acks_limited = 0;  // RFC 5961 §7 budget exhausted
  // ACKs not sent for invalid segments: one connection answered one within oow_ack_interval
  uint64_t acks_oow_limited = 0;
  uint64_t rst_sent = 0;
  uint64_t retransmits = 0;  // segments retransmitted (any cause)
  uint64_t rto_expired = 0;
  uint64_t fast_retransmits = 0;
  uint64_t sack_recoveries = 0;      // RFC 6675 §5 loss recovery entered (of fast_retransmits)
  uint64_t sack_rescue_rxts = 0;     // RFC 6675 NextSeg (4) rescue retransmissions
  uint64_t sack_blocks_invalid = 0;  // RFC 2018 §4 blocks outside [SND.UNA, SND.MAX], ignored
  uint64_t dsacks = 0;               // RFC 2883 §4 D-SACK blocks received (ignored)
  uint64_t dup_acks = 0;
  uint64_t delayed_acks = 0;  // ACKs sent by the delayed-ACK timer
  uint64_t persist_probes = 0;
  uint64_t keepalive_probes = 0;
  uint64_t orphan_timeouts = 0;  // orphans that gave up after orphan_retries
  uint64_t ooo_queued = 0;
  // RFC 4987 §3.6 SYN cookies (cookie_open.h)
  uint64_t syncookies_sent = 0;    // stateless SYN,ACKs built (cookie_syn_ack)
  uint64_t syncookies_ok = 0;      // ACKs whose cookie opened a connection
  uint64_t syncookies_failed = 0;  // ACKs whose cookie was expired, forged or not a cookie ACK
  uint64_t segs_in = 0;
  uint64_t segs_out = 0;
};

// Every counter an operator reads, by name (printed as tcp.<name>; rst_sent and the segment
// totals are the Worker's, telemetry/counters.h). A new counter goes here too.
inline constexpr std::pair<const char*, uint64_t Counters::*> kCounterNames[] = {
    {"drop_unacceptable", &Counters::drop_unacceptable},
    {"paws_drops", &Counters::drop_paws},
    {"drop_rst_out_of_window", &Counters::drop_rst_out_of_window},
    {"drop_rst_in_window", &Counters::drop_rst_in_window},
    {"drop_syn_synchronized", &Counters::drop_syn_synchronized},
    {"drop_no_ack", &Counters::drop_no_ack},
    {"drop_ack_unsent", &Counters::drop_ack_unsent},
    {"drop_ack_too_old", &Counters::drop_ack_too_old},
    {"drop_syn_sent_bad_ack", &Counters::drop_syn_sent_bad_ack},
    {"drop_syn_sent_no_syn", &Counters::drop_syn_sent_no_syn},
    {"drop_listen", &Counters::drop_listen},
    {"drop_closed", &Counters::drop_closed},
    {"drop_ooo_full", &Counters::drop_ooo_full},
    {"drop_data_after_close", &Counters::drop_data_after_close},
    {"challenge_acks", &Counters::challenge_acks},
    {"challenge_acks_limited", &Counters::challenge_acks_limited},
    {"acks_oow_limited", &Counters::acks_oow_limited},
    {"retransmits", &Counters::retransmits},
    {"rto_expired", &Counters::rto_expired},
    {"fast_retransmits", &Counters::fast_retransmits},
    {"sack_recoveries", &Counters::sack_recoveries},
    {"sack_rescue_rxts", &Counters::sack_rescue_rxts},
    {"sack_blocks_invalid", &Counters::sack_blocks_invalid},
    {"dsacks", &Counters::dsacks},
    {"dup_acks", &Counters::dup_acks},
    {"delayed_acks", &Counters::delayed_acks},
    {"persist_probes", &Counters::persist_probes},
    {"keepalive_probes", &Counters::keepalive_probes},
    {"orphan_timeouts", &Counters::orphan_timeouts},
    {"ooo_queued", &Counters::ooo_queued},
    {"syncookies_sent", &Counters::syncookies_sent},
    {"syncookies_ok", &Counters::syncookies_ok},
    {"syncookies_failed", &Counters::syncookies_failed},
};
template <class F>
void for_each_counter(const Counters& c, F&& f) {
  for (const auto& [name, member] : kCounterNames) {
    f(name, c.*member);
  }
}
inline Counters& operator+=(Counters& a, const Counters& b) noexcept {
  for (const auto& named : kCounterNames) {
    a.*named.second += b.*named.second;
  }
  return a;
}

// RFC 5961 §7: challenge ACKs are rate limited per core (Linux tcp_challenge_ack_limit), so an
// attacker cannot use them as an oracle or an amplifier.
struct ChallengeAckLimiter {
  uint32_t limit_per_sec = 1000;
  uint32_t sent = 0;
  Ticks window_start{};

  bool allow(Ticks now) noexcept {
    if (now - window_start >= Ticks::from_sec(1)) {
      window_start = now;
      sent = 0;
    }
    if (sent >= limit_per_sec) {
      return false;
    }
    ++sent;
    return true;
  }
};

}  // namespace tempo::tcp
