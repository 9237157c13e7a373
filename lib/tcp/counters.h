// Per-core protocol counters and the per-core challenge-ACK budget, both held in CoreState
// (core_state.h), which the Worker owns and exposes through its Sink.
#pragma once

#include <array>
#include <cstdint>

#include "telemetry/registry.h"
#include "time/ticks.h"

namespace tempo::tcp {

// One counter per reason a segment was dropped (STYLE.md 5), plus what the core sent. What each
// counts, and its name (tcp.<field>), is in kFields below.
struct Counters {
  // drops
  uint64_t drop_unacceptable = 0;
  uint64_t paws_drops = 0;
  uint64_t drop_rst_out_of_window = 0;
  uint64_t drop_rst_in_window = 0;
  uint64_t drop_syn_synchronized = 0;
  uint64_t drop_no_ack = 0;
  uint64_t drop_ack_unsent = 0;
  uint64_t drop_ack_too_old = 0;
  uint64_t drop_syn_sent_bad_ack = 0;
  uint64_t drop_syn_sent_no_syn = 0;
  uint64_t drop_listen = 0;
  uint64_t drop_closed = 0;
  uint64_t drop_ooo_full = 0;
  uint64_t drop_data_after_close = 0;
  uint64_t abort_on_data = 0;
  uint64_t abort_on_close = 0;
  uint64_t mss_clamped = 0;
  // responses and events
  uint64_t challenge_acks = 0;
  uint64_t challenge_acks_limited = 0;
  uint64_t acks_oow_limited = 0;
  uint64_t rst_sent = 0;
  uint64_t retransmits = 0;
  uint64_t rto_expired = 0;
  uint64_t fast_retransmits = 0;
  uint64_t sack_recoveries = 0;
  uint64_t sack_rescue_rxts = 0;
  uint64_t sack_blocks_invalid = 0;
  uint64_t dsacks = 0;
  uint64_t dup_acks = 0;
  uint64_t limited_transmits = 0;
  uint64_t tlp_probes = 0;
  uint64_t tlp_new_data = 0;
  uint64_t tlp_recoveries = 0;
  uint64_t tlp_spurious = 0;
  uint64_t tlp_loss_detected = 0;
  uint64_t rack_loss_detected = 0;
  uint64_t rack_reo_timeouts = 0;
  uint64_t rack_reordering = 0;
  uint64_t delayed_acks = 0;
  uint64_t persist_probes = 0;
  uint64_t keepalive_probes = 0;
  uint64_t orphan_timeouts = 0;
  uint64_t ooo_queued = 0;
  // RFC 4987 §3.6 SYN cookies (cookie_open.h)
  uint64_t syncookies_sent = 0;
  uint64_t syncookies_ok = 0;
  uint64_t syncookies_failed = 0;
  uint64_t segs_in = 0;
  uint64_t segs_out = 0;

  using Field = telemetry::CounterField<Counters>;
  static constexpr auto kFields = std::to_array<Field>({
      {"tcp.drop_unacceptable", &Counters::drop_unacceptable,
       "segments dropped: RFC 9293 §3.10.7.4 first check (sequence number) failed"},
      {"tcp.paws_drops", &Counters::paws_drops,
       "segments dropped: TSval older than TS.Recent (PAWS, RFC 7323 §5.3 R1)"},
      {"tcp.drop_rst_out_of_window", &Counters::drop_rst_out_of_window,
       "RSTs dropped: outside the window (RFC 5961 §3.2 case 1)"},
      {"tcp.drop_rst_in_window", &Counters::drop_rst_in_window,
       "RSTs dropped: in the window but not at RCV.NXT, challenge ACK instead (RFC 5961 §3.2)"},
      {"tcp.drop_syn_synchronized", &Counters::drop_syn_synchronized,
       "SYNs dropped in a synchronized state (RFC 5961 §4.2)"},
      {"tcp.drop_no_ack", &Counters::drop_no_ack,
       "segments dropped: ACK bit off (RFC 9293 §3.10.7.4 fifth check)"},
      {"tcp.drop_ack_unsent", &Counters::drop_ack_unsent,
       "segments dropped, challenge ACKed: SEG.ACK > SND.NXT, data never sent (RFC 5961 §5.2)"},
      {"tcp.drop_ack_too_old", &Counters::drop_ack_too_old,
       "segments dropped, challenge ACKed: SEG.ACK < SND.UNA - MAX.SND.WND (RFC 5961 §5.2)"},
      {"tcp.drop_syn_sent_bad_ack", &Counters::drop_syn_sent_bad_ack,
       "segments dropped in SYN-SENT: unacceptable ACK (RFC 9293 §3.10.7.3)"},
      {"tcp.drop_syn_sent_no_syn", &Counters::drop_syn_sent_no_syn,
       "segments dropped in SYN-SENT: neither SYN nor RST"},
      {"tcp.drop_listen", &Counters::drop_listen,
       "segments dropped in LISTEN: an RST, an ACK or no SYN (RFC 9293 §3.10.7.2)"},
      {"tcp.drop_closed", &Counters::drop_closed,
       "segments to a CLOSED connection (RFC 9293 §3.10.7.1)"},
      {"tcp.drop_ooo_full", &Counters::drop_ooo_full,
       "out-of-order segments dropped: the reassembly queue was full"},
      {"tcp.drop_data_after_close", &Counters::drop_data_after_close,
       "text dropped in CLOSE-WAIT, CLOSING, LAST-ACK or TIME-WAIT"},
      {"tcp.abort_on_data", &Counters::abort_on_data,
       "connections reset: data arrived after close() (RFC 1122 §4.2.2.13; Linux "
       "TCPAbortOnData)"},
      {"tcp.abort_on_close", &Counters::abort_on_close,
       "connections reset by close() with received bytes unconsumed (RFC 1122 §4.2.2.13; Linux "
       "TCPAbortOnClose)"},
      {"tcp.mss_clamped", &Counters::mss_clamped,
       "peer MSS options below tcp.min_snd_mss, raised to it"},
      {"tcp.challenge_acks", &Counters::challenge_acks, "challenge ACKs sent (RFC 5961)"},
      {"tcp.challenge_acks_limited", &Counters::challenge_acks_limited,
       "challenge ACKs not sent: the per-core budget was spent (RFC 5961 §7)"},
      {"tcp.acks_oow_limited", &Counters::acks_oow_limited,
       "ACKs not sent for invalid segments: the connection answered one within "
       "oow_ack_interval"},
      {.name = "tcp.rst_sent",
       .field = &Counters::rst_sent,
       .help = "resets sent; here the protocol core's (abort, an unacceptable ACK); the "
               "Worker's, for segments to no connection (StackCounters), add to it",
       .shared = true},
      {"tcp.retransmits", &Counters::retransmits, "segments retransmitted (any cause)"},
      {"tcp.rto_expired", &Counters::rto_expired, "retransmission timeouts"},
      {"tcp.fast_retransmits", &Counters::fast_retransmits, "fast retransmissions (RFC 5681 §3.2)"},
      {"tcp.sack_recoveries", &Counters::sack_recoveries,
       "SACK loss recoveries entered (RFC 6675 §5), of tcp.fast_retransmits"},
      {"tcp.sack_rescue_rxts", &Counters::sack_rescue_rxts,
       "rescue retransmissions (RFC 6675 NextSeg (4))"},
      {"tcp.sack_blocks_invalid", &Counters::sack_blocks_invalid,
       "SACK blocks outside [SND.UNA, SND.MAX], ignored (RFC 2018 §4)"},
      {"tcp.dsacks", &Counters::dsacks, "D-SACK blocks received, ignored (RFC 2883 §4)"},
      {"tcp.dup_acks", &Counters::dup_acks, "duplicate ACKs received (RFC 5681 §2)"},
      {"tcp.limited_transmits", &Counters::limited_transmits,
       "segments of new data sent on the first and second duplicate ACK (RFC 3042)"},
      {"tcp.tlp_probes", &Counters::tlp_probes,
       "tail loss probes sent when the PTO expired (RFC 8985 §7.3)"},
      {"tcp.tlp_new_data", &Counters::tlp_new_data,
       "tail loss probes that sent new data (the rest retransmitted the last segment)"},
      {"tcp.tlp_recoveries", &Counters::tlp_recoveries,
       "losses repaired by a retransmitted tail loss probe: cwnd reduced (RFC 8985 §7.4.2)"},
      {"tcp.tlp_spurious", &Counters::tlp_spurious,
       "retransmitted tail loss probes the peer reported as duplicates (D-SACK, RFC 2883)"},
      {"tcp.tlp_loss_detected", &Counters::tlp_loss_detected,
       "loss recoveries started because a tail loss probe was SACKed while data sent before it "
       "was missing (RFC 8985 §6.2, §7.4.1)"},
      {"tcp.rack_loss_detected", &Counters::rack_loss_detected,
       "loss recoveries started by RACK's time-based loss detection (RFC 8985 §6.2) before "
       "DupThresh"},
      {"tcp.rack_reo_timeouts", &Counters::rack_reo_timeouts,
       "RACK reorder timers that fired (RFC 8985 §6.3)"},
      {"tcp.rack_reordering", &Counters::rack_reordering,
       "connections that saw reordering: RACK's reordering window applies (RFC 8985 §6.2 step "
       "3)"},
      {"tcp.delayed_acks", &Counters::delayed_acks, "ACKs sent by the delayed-ACK timer"},
      {"tcp.persist_probes", &Counters::persist_probes, "zero-window probes sent"},
      {"tcp.keepalive_probes", &Counters::keepalive_probes, "keepalive probes sent"},
      {"tcp.orphan_timeouts", &Counters::orphan_timeouts,
       "orphans that gave up after orphan_retries"},
      {"tcp.ooo_queued", &Counters::ooo_queued, "out-of-order segments queued for reassembly"},
      {"tcp.syncookies_sent", &Counters::syncookies_sent,
       "stateless SYN,ACKs sent with a SYN cookie (RFC 4987 §3.6)"},
      {"tcp.syncookies_ok", &Counters::syncookies_ok, "ACKs whose cookie opened a connection"},
      {"tcp.syncookies_failed", &Counters::syncookies_failed,
       "ACKs whose cookie was expired, forged or not a cookie ACK"},
      {"tcp.segs_in", &Counters::segs_in,
       "segments the protocol core took in (tcp::input, after the demultiplexer)"},
      {"tcp.segs_out", &Counters::segs_out,
       "segments the protocol core emitted (tcp.segments_sent: those the Worker then built)"},
  });
};
static_assert(telemetry::check_registry(Counters::kFields, "tcp."));
static_assert(sizeof(Counters) == sizeof(uint64_t) * Counters::kFields.size(),
              "a field of tcp::Counters is missing from Counters::kFields");

inline Counters& operator+=(Counters& a, const Counters& b) noexcept {
  telemetry::add(a, b);
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
