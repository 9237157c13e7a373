// Round-trip time estimation and the retransmission timeout, RFC 6298.
//
// Pure: samples and time come in as tempo::Ticks (microseconds); nothing here reads a clock
// or arms a timer (DESIGN.md principle 3). The caller arms the retransmission timer with rto().
//
// Karn's rule is the CALLER's job. RFC 6298 §3: "RTT samples MUST NOT be made using segments
// that were retransmitted (and thus for which it is ambiguous whether the reply was for the
// first instance of the packet or a later instance)", unless TCP timestamps (RFC 7323 §4)
// make the echo unambiguous. So lib/tcp calls on_sample() only for an ACK of a segment sent
// once, or with the TSecr-derived RTT of any ACK that advances snd_una.
//
// Arithmetic is integer fixed point: SRTT and RTTVAR are kept in 1/32 microsecond so that the
// 1/8 and 1/4 gains of RFC 6298 (2.3) lose less than a quarter microsecond to truncation.
#pragma once

#include <algorithm>
#include <cstdint>

#include <tempo/check.h>

#include "time/ticks.h"

namespace tempo::tcp {

struct RttConfig {
  // RFC 6298 (2.1): "Until a round-trip time (RTT) measurement has been made ... the sender
  // SHOULD set RTO <- 1 second".
  Ticks initial_rto = Ticks::from_sec(1);
  // RFC 6298 (2.4): "if it is less than 1 second, then the RTO SHOULD be rounded up to 1
  // second". Deviation: we floor at 200 ms like Linux (TCP_RTO_MIN), because a 1 s floor
  // stalls short data-center flows for 1 s on each tail loss. Set 1 s here to follow the RFC.
  Ticks min_rto = Ticks::from_ms(200);
  // RFC 6298 (2.5): "A maximum value MAY be placed on RTO provided it is at least 60
  // seconds." 120 s is Linux's TCP_RTO_MAX.
  Ticks max_rto = Ticks::from_sec(120);
  // RFC 6298 (2.2)/(2.3): G, the clock granularity, in RTO = SRTT + max(G, K*RTTVAR). Samples
  // are microseconds but the retransmission timer fires at the timer wheel's resolution, so
  // G defaults to 1 ms.
  Ticks granularity = Ticks::from_ms(1);
};

class RttEstimator {
 public:
  // RFC 6298 (2.3): alpha = 1/8, beta = 1/4 (as shifts); (2.2): K = 4.
  static constexpr unsigned kAlphaShift = 3;
  static constexpr unsigned kBetaShift = 2;
  static constexpr uint64_t kK = 4;
  // Fixed point of srtt_/rttvar_: 1/32 microsecond.
  static constexpr unsigned kFracBits = 5;
  // Samples above this (about 71 minutes) are clamped, so the scaled sums cannot overflow.
  static constexpr uint64_t kMaxSampleUs = UINT32_MAX;
  // RFC 6298 (5.7): after a SYN timeout, RTO is re-initialized to 3 seconds.
  static constexpr Ticks kSynLossRto = Ticks::from_sec(3);

  // Aborts (TEMPO_CHECK) unless 0 < min_rto <= initial_rto <= max_rto < 2^32 us.
  explicit RttEstimator(const RttConfig& cfg = {}) noexcept
      : initial_us_(narrow(cfg.initial_rto)),
        min_us_(narrow(cfg.min_rto)),
        max_us_(narrow(cfg.max_rto)),
        g_us_(narrow(cfg.granularity)) {
    TEMPO_CHECK(min_us_ > 0 && min_us_ <= initial_us_ && initial_us_ <= max_us_);
  }

  // One RTT measurement R (already filtered by Karn's rule, see the top of this file).
  constexpr void on_sample(Ticks rtt) noexcept {
    const uint64_t r = std::min(rtt.us(), kMaxSampleUs) << kFracBits;
    if (!has_sample_) {
      // RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2.
      srtt_ = r;
      rttvar_ = r / 2;
      has_sample_ = true;
    } else {
      // RFC 6298 (2.3), in this order (RTTVAR uses the old SRTT):
      //   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
      //   SRTT   <- (1 - alpha) * SRTT + alpha * R'
      const uint64_t err = srtt_ > r ? srtt_ - r : r - srtt_;
      rttvar_ = rttvar_ - (rttvar_ >> kBetaShift) + (err >> kBetaShift);
      srtt_ = srtt_ - (srtt_ >> kAlphaShift) + (r >> kAlphaShift);
    }
    // RFC 6298 (2.3) recomputes RTO from the new estimate; §5 and Karn: the backed-off value
    // is kept only until a valid sample arrives, which is now.
    backoff_ = 0;
  }

  // The retransmission timeout: RFC 6298 (2.1) before the first sample, else (2.2)/(2.3)
  // SRTT + max(G, K*RTTVAR), clamped by (2.4) min_rto and (2.5) max_rto, then doubled once
  // per backoff() (5.5) and capped at max_rto.
  constexpr Ticks rto() const noexcept {
    const uint64_t base = base_rto_us();
    const uint64_t backed = base << backoff_;
    return Ticks::from_us(std::min<uint64_t>(backed, max_us_));
  }

  // RFC 6298 (5.5): "The host MUST set RTO <- RTO * 2 ('back off the timer')"; the (2.5)
  // maximum bounds it.
  constexpr void backoff() noexcept {
    if (rto().us() < max_us_ && backoff_ < kMaxBackoff) {
      ++backoff_;
    }
  }
  // Drop the backoff (e.g. an ACK of new data without a usable sample): RTO returns to the
  // value computed from SRTT and RTTVAR.
  constexpr void reset_backoff() noexcept { backoff_ = 0; }
  // Number of backoff() doublings in effect (the caller's retry limit counts these).
  constexpr unsigned backoffs() const noexcept { return backoff_; }

  // RFC 6298 (5.7): "If the timer expires awaiting the ACK of a SYN segment and the TCP
  // implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3
  // seconds when data transmission begins". Call when the handshake completes after a SYN
  // (or SYN-ACK) timed out: forgets the estimate and takes 3 s (or max_rto if lower) as the
  // initial RTO; the next sample is then a first measurement (2.2).
  constexpr void on_syn_timeout_established() noexcept {
    if (base_rto_us() < kSynLossRto.us()) {
      initial_us_ = static_cast<uint32_t>(std::min<uint64_t>(kSynLossRto.us(), max_us_));
      has_sample_ = false;
      srtt_ = 0;
      rttvar_ = 0;
    }
    backoff_ = 0;
  }

  constexpr bool has_sample() const noexcept { return has_sample_; }
  // SRTT and RTTVAR rounded to the microsecond; zero before the first sample.
  constexpr Ticks srtt() const noexcept { return Ticks::from_us(round(srtt_)); }
  constexpr Ticks rttvar() const noexcept { return Ticks::from_us(round(rttvar_)); }

 private:
  // Bounds the shift in rto() (base < 2^32 us, so base << 31 fits in 64 bits); max_rto caps
  // the value long before, RFC 6298 (5.5) with (2.5).
  static constexpr uint8_t kMaxBackoff = 31;

  static constexpr uint64_t round(uint64_t scaled) noexcept {
    return (scaled + (uint64_t{1} << (kFracBits - 1))) >> kFracBits;
  }
  static uint32_t narrow(Ticks t) noexcept {
    TEMPO_CHECK(t.us() <= UINT32_MAX);
    return static_cast<uint32_t>(t.us());
  }

  constexpr uint64_t base_rto_us() const noexcept {
    if (!has_sample_) {
      return initial_us_;
    }
    const uint64_t var = std::max(uint64_t{g_us_} << kFracBits, kK * rttvar_);
    // Round up: never time out earlier than the formula says.
    const uint64_t us = (srtt_ + var + (uint64_t{1} << kFracBits) - 1) >> kFracBits;
    return std::clamp<uint64_t>(us, min_us_, max_us_);
  }

  uint64_t srtt_ = 0;    // SRTT << kFracBits, microseconds
  uint64_t rttvar_ = 0;  // RTTVAR << kFracBits, microseconds
  uint32_t initial_us_;
  uint32_t min_us_;
  uint32_t max_us_;
  uint32_t g_us_;
  uint8_t backoff_ = 0;
  bool has_sample_ = false;
};

static_assert(sizeof(RttEstimator) <= 40, "RttEstimator lives in every TCB");

}  // namespace tempo::tcp
