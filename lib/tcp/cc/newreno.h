// NewReno congestion control: RFC 5681 (slow start, congestion avoidance, fast retransmit and
// recovery) with RFC 6582's partial-ACK handling, RFC 3465 byte counting and the RFC 6928
// initial window. Windows are in bytes.
//
// The controller only keeps cwnd and ssthresh. The caller (lib/tcp) detects loss, runs
// recovery (NewReno partial ACKs or RFC 6675 SACK pipe), and calls:
//   on_ack            new data ACKed outside recovery
//   on_enter_recovery third duplicate ACK (or SACK loss detection): fast retransmit
//   on_dupack         each further duplicate ACK in RecoveryMode::kNewReno (RFC 6582 step 4)
//   on_partial_ack    partial ACK in RecoveryMode::kNewReno (RFC 6582 step 5)
//   on_exit_recovery  full ACK: recovery point acknowledged (RFC 6582 step 6)
//   on_rto            retransmission timer expired
//   on_idle_restart   about to send after an idle period
// No heap, no virtual calls, no clock: `now` is unused by NewReno but kept so that every
// controller in cc.h has the same signatures.
#pragma once

#include <cstdint>

#include "tcp/cc/window.h"
#include "time/ticks.h"

namespace tempo::tcp::cc {

class NewReno {
 public:
  // RFC 6928 §2 initial window; RFC 5681 §3.1 ssthresh "arbitrarily high".
  constexpr void init(uint32_t mss) noexcept {
    cwnd_ = initial_window(mss);
    ssthresh_ = kInitialSsthresh;
    ca_acked_ = 0;
    after_rto_ = false;
    rto_slow_start_ = false;
  }

  constexpr uint32_t cwnd() const noexcept { return cwnd_; }
  constexpr uint32_t ssthresh() const noexcept { return ssthresh_; }
  // RFC 5681 §3.1: slow start while cwnd < ssthresh (either algorithm when equal: we use
  // congestion avoidance).
  constexpr bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }

  // New data acknowledged outside recovery. `flight_before` is the number of bytes that were in
  // flight just before this ACK (see cwnd_limited()).
  constexpr void on_ack(uint32_t bytes_acked, uint32_t mss, uint32_t flight_before, Ticks now,
                        Ticks srtt) noexcept {
    (void)now;
    (void)srtt;
    after_rto_ = false;  // the timed-out data got through: the next RTO is a new loss event
    if (bytes_acked == 0 || mss == 0) {
      return;
    }
    const bool ss = in_slow_start();
    if (!cwnd_limited(cwnd_, flight_before, mss, ss)) {
      return;
    }
    if (ss) {
      // RFC 5681 §3.1 eq. (2) with RFC 3465 §2.2 byte counting, stopping at ssthresh.
      const uint32_t grown = add_sat(cwnd_, slow_start_increase(bytes_acked, mss, rto_slow_start_));
      cwnd_ = grown < ssthresh_ ? grown : ssthresh_;
      return;
    }
    rto_slow_start_ = false;
    // RFC 5681 §3.1, congestion avoidance, in its RECOMMENDED byte-counting form (RFC 3465
    // §2.1): count the bytes ACKed and, each time they reach cwnd, grow cwnd by SMSS. This is
    // eq. (3)'s SMSS*SMSS/cwnd per ACK made exact: one SMSS per cwnd of ACKed data, also with
    // delayed or stretch ACKs, where eq. (3) under-counts.
    ca_acked_ = add_sat(ca_acked_, bytes_acked);
    if (ca_acked_ >= cwnd_) {
      ca_acked_ -= cwnd_;
      cwnd_ = add_sat(cwnd_, mss);
      // RFC 5681 §3.1: at most SMSS per ACK; a huge stretch ACK must not bank credit.
      if (ca_acked_ > cwnd_) {
        ca_acked_ = cwnd_;
      }
    }
  }

  // Fast retransmit (RFC 5681 §3.2 steps 2-3, RFC 6582 §3.2 steps 2-3), RecoveryMode::kNewReno.
  constexpr void on_enter_recovery(uint32_t flight, uint32_t mss, Ticks now) noexcept {
    on_enter_recovery(flight, mss, now, RecoveryMode::kNewReno);
  }
  constexpr void on_enter_recovery(uint32_t flight, uint32_t mss, Ticks now,
                                   RecoveryMode mode) noexcept {
    (void)now;
    // RFC 5681 eq. (4) / RFC 6582 §3.2 step 2.
    ssthresh_ = reno_ssthresh(flight, mss);
    cwnd_ = recovery_window(ssthresh_, mss, mode);
    ca_acked_ = 0;
    after_rto_ = false;
    rto_slow_start_ = false;
  }

  // RFC 6582 §3.2 step 4: each further duplicate ACK during recovery adds SMSS (kNewReno only).
  constexpr void on_dupack(uint32_t mss) noexcept { cwnd_ = add_sat(cwnd_, mss); }

  // RFC 6582 §3.2 step 5: partial ACK deflation (kNewReno only).
  constexpr void on_partial_ack(uint32_t bytes_acked, uint32_t mss) noexcept {
    cwnd_ = deflate_partial_ack(cwnd_, bytes_acked, mss);
  }

  // RFC 6582 §3.2 step 6, option (2): cwnd = ssthresh. Chosen because it needs no flight size
  // and is what RFC 6675 §5 does; the caller should pace or limit the burst when little data is
  // outstanding (RFC 6582 encourages it). The overload below is option (1).
  constexpr void on_exit_recovery(uint32_t mss) noexcept {
    (void)mss;
    cwnd_ = ssthresh_;
    ca_acked_ = 0;
  }
  // RFC 6582 §3.2 step 6, option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
  constexpr void on_exit_recovery(uint32_t mss, uint32_t flight) noexcept {
    cwnd_ = exit_recovery_window(ssthresh_, flight, mss);
    ca_acked_ = 0;
  }

  // Retransmission timeout. RFC 5681 §3.1: ssthresh per eq. (4), cwnd = loss window = 1 SMSS;
  // "when a TCP sender detects segment loss using the retransmission timer and the given
  // segment has already been retransmitted by way of the retransmission timer at least once,
  // the value of ssthresh is held constant": repeated RTOs before any new ACK keep ssthresh.
  constexpr void on_rto(uint32_t flight, uint32_t mss, Ticks now) noexcept {
    (void)now;
    if (!after_rto_) {
      ssthresh_ = reno_ssthresh(flight, mss);
    }
    cwnd_ = mss;
    ca_acked_ = 0;
    after_rto_ = true;
    rto_slow_start_ = true;
  }

  // RFC 5681 §4.1: restart window after an idle period longer than one RTO.
  constexpr void on_idle_restart(Ticks idle, Ticks rto, uint32_t mss) noexcept {
    if (idle > rto) {
      cwnd_ = restart_window(cwnd_, mss);
    }
  }

 private:
  uint32_t cwnd_ = 0;
  uint32_t ssthresh_ = kInitialSsthresh;
  uint32_t ca_acked_ = 0;        // RFC 3465 §2.1 bytes_acked, congestion avoidance only
  bool after_rto_ = false;       // an RTO fired and no new data was ACKed since
  bool rto_slow_start_ = false;  // slow start following an RTO: ABC L = 1*SMSS (RFC 3465 §2.3)
};

static_assert(sizeof(NewReno) <= 16, "NewReno lives in every TCB");

}  // namespace tempo::tcp::cc
