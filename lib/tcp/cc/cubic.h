// CUBIC congestion control, RFC 9438. Windows are in bytes; the RFC's formulas are in segments
// and seconds, so W_cubic is evaluated as W_max + C*(t-K)^3 * SMSS with t, K in seconds.
//
// Sections implemented: §4.2 window increase function and K, §4.3 Reno-friendly region (W_est),
// §4.4/§4.5 concave and convex regions (target = W_cubic(t+RTT) clamped to [cwnd, 1.5*cwnd]),
// §4.6 multiplicative decrease (beta_cubic 0.7, on flight size), §4.7 fast convergence, §4.8
// timeout, §4.10 slow start (RFC 5681 slow start with RFC 3465 byte counting; no HyStart++),
// §5.8 application-limited flows (no growth; idle time excluded from t).
// Not implemented: §4.9 spurious congestion event undo, ECN responses.
//
// Cost: one std::cbrt per congestion epoch (computing K, when congestion avoidance starts after
// a loss), some tens of ns; per ACK only integer arithmetic and three double multiplications.
// The loss recovery itself is the caller's (see newreno.h for the call sequence).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tcp/cc/window.h"
#include "time/ticks.h"

namespace tempo::tcp::cc {

class Cubic {
 public:
  // RFC 9438 §5.1: "C SHOULD be set to 0.4" (segments / second^3).
  static constexpr double kC = 0.4;
  // RFC 9438 §4.6: "beta_cubic SHOULD be set to 0.7", kept as the exact ratio 7/10.
  static constexpr uint32_t kBetaNum = 7;
  static constexpr uint32_t kBetaDen = 10;
  // RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta) = 0.9 / 1.7 = 9/17 exactly; it
  // becomes 1 (17/17) once W_est reaches cwnd_prior.
  static constexpr uint32_t kAlphaNum = 9;
  static constexpr uint32_t kAlphaDen = 17;
  // RFC 9438 §4.7: fast convergence W_max = cwnd * (1 + beta) / 2 = cwnd * 17/20.
  static constexpr uint32_t kFastConvNum = 17;
  static constexpr uint32_t kFastConvDen = 20;

  // RFC 6928 §2 initial window; RFC 5681 §3.1 ssthresh "arbitrarily high".
  constexpr void init(uint32_t mss) noexcept {
    *this = Cubic{};
    cwnd_ = initial_window(mss);
  }

  constexpr uint32_t cwnd() const noexcept { return cwnd_; }
  constexpr uint32_t ssthresh() const noexcept { return ssthresh_; }
  constexpr bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }

  // RFC 9438 state, for tests and telemetry (bytes; k() is K as a duration).
  constexpr uint32_t w_max() const noexcept { return w_max_; }
  constexpr uint32_t cwnd_prior() const noexcept { return cwnd_prior_; }
  constexpr uint32_t w_est() const noexcept { return w_est_; }
  constexpr Ticks k() const noexcept { return Ticks::from_us(k_us_); }
  constexpr bool in_epoch() const noexcept { return epoch_; }
  constexpr Ticks epoch_start() const noexcept { return epoch_start_; }

  // RFC 9438 §4.2 eq. (1): W_cubic(t) = C*(t-K)^3 + W_max, in bytes, for t since epoch start.
  double w_cubic(Ticks t, uint32_t mss) const noexcept {
    const double dt = (static_cast<double>(t.us()) - static_cast<double>(k_us_)) * 1e-6;  // seconds
    return static_cast<double>(w_max_) + kC * dt * dt * dt * static_cast<double>(mss);
  }

  // New data acknowledged outside recovery.
  void on_ack(uint32_t bytes_acked, uint32_t mss, uint32_t flight_before, Ticks now,
              Ticks srtt) noexcept {
    after_rto_ = false;
    if (bytes_acked == 0 || mss == 0) {
      return;
    }
    const bool ss = in_slow_start();
    // RFC 9438 §5.8: "CUBIC does not increase its congestion window size if a flow is
    // currently limited by the application instead of the congestion window."
    if (!cwnd_limited(cwnd_, flight_before, mss, ss)) {
      return;
    }
    if (ss) {
      // RFC 9438 §4.10 -> RFC 5681 §3.1 slow start, RFC 3465 byte counting, up to ssthresh.
      const uint32_t grown = add_sat(cwnd_, slow_start_increase(bytes_acked, mss, rto_slow_start_));
      cwnd_ = std::min(grown, ssthresh_);
      return;
    }
    rto_slow_start_ = false;
    if (cwnd_ == 0) [[unlikely]] {
      return;  // init() not called: nothing to grow, and cwnd is a divisor below
    }
    if (!epoch_) {
      start_epoch(now, mss);
    }
    const Ticks t = now - epoch_start_;

    // RFC 9438 §4.3: W_est += alpha_cubic * segments_acked / cwnd, i.e. in bytes
    // alpha * SMSS * bytes_acked / cwnd; alpha = 1 once W_est >= cwnd_prior. The remainder is
    // carried so that small ACKs on large windows are not rounded away.
    const uint64_t alpha_num = w_est_ >= cwnd_prior_ ? kAlphaDen : kAlphaNum;
    const uint64_t est_den = static_cast<uint64_t>(kAlphaDen) * cwnd_;
    est_acc_ += alpha_num * mss * bytes_acked;
    w_est_ =
        add_sat(w_est_, static_cast<uint32_t>(std::min<uint64_t>(est_acc_ / est_den, UINT32_MAX)));
    est_acc_ %= est_den;

    if (w_cubic(t, mss) < static_cast<double>(w_est_)) {
      // RFC 9438 §4.3: Reno-friendly region, cwnd = W_est. (Never shrink cwnd here: on the
      // ACK after cwnd tracked W_cubic(t+RTT), W_est may sit between W_cubic(t) and cwnd.)
      cwnd_ = std::max(cwnd_, w_est_);
      return;
    }
    // RFC 9438 §4.4 (concave) and §4.5 (convex): target = W_cubic(t + RTT), clamped to
    // [cwnd, 1.5*cwnd]; cwnd += (target - cwnd) / cwnd per segment ACKed, in bytes
    // (target - cwnd) * bytes_acked / cwnd, with the remainder carried.
    const double cubic = w_cubic(t + srtt, mss);
    const double hi = 1.5 * static_cast<double>(cwnd_);
    const double target = std::clamp(cubic, static_cast<double>(cwnd_), hi);
    const uint64_t diff = static_cast<uint64_t>(target) - cwnd_;
    const uint64_t acc = ca_acc_ + diff * bytes_acked;
    const uint64_t inc = acc / cwnd_;
    ca_acc_ = static_cast<uint32_t>(acc % cwnd_);
    cwnd_ = add_sat(cwnd_, static_cast<uint32_t>(std::min<uint64_t>(inc, UINT32_MAX)));
  }

  // Fast retransmit: RFC 9438 §4.6 multiplicative decrease with §4.7 fast convergence;
  // RecoveryMode::kNewReno by default (see window.h).
  void on_enter_recovery(uint32_t flight, uint32_t mss, Ticks now) noexcept {
    on_enter_recovery(flight, mss, now, RecoveryMode::kNewReno);
  }
  void on_enter_recovery(uint32_t flight, uint32_t mss, Ticks now, RecoveryMode mode) noexcept {
    (void)now;
    // RFC 9438 §4.7: if cwnd < W_max the flow is losing bandwidth to a newcomer: remember a
    // lower plateau, W_max = cwnd * (1 + beta) / 2. Otherwise W_max = cwnd.
    if (cwnd_ < w_max_) {
      w_max_ = static_cast<uint32_t>(static_cast<uint64_t>(cwnd_) * kFastConvNum / kFastConvDen);
    } else {
      w_max_ = cwnd_;
    }
    // RFC 9438 §4.6: cwnd_prior = cwnd; ssthresh = max(flight_size * beta, 2*SMSS);
    // cwnd = max(ssthresh, 2*SMSS) (+ RFC 6582 inflation in kNewReno mode).
    cwnd_prior_ = cwnd_;
    ssthresh_ = beta_ssthresh(flight, mss);
    cwnd_ = recovery_window(ssthresh_, mss, mode);
    epoch_ = false;
    after_rto_ = false;
    rto_slow_start_ = false;
  }

  // RFC 6582 §3.2 step 4 (kNewReno recovery only).
  constexpr void on_dupack(uint32_t mss) noexcept { cwnd_ = add_sat(cwnd_, mss); }

  // RFC 6582 §3.2 step 5 (kNewReno recovery only).
  constexpr void on_partial_ack(uint32_t bytes_acked, uint32_t mss) noexcept {
    cwnd_ = deflate_partial_ack(cwnd_, bytes_acked, mss);
  }

  // RFC 6582 §3.2 step 6 option (2), cwnd = ssthresh (see newreno.h for why). The epoch
  // starts on the next ACK: RFC 9438 §4.2 measures t from the start of congestion avoidance.
  constexpr void on_exit_recovery(uint32_t mss) noexcept {
    (void)mss;
    cwnd_ = ssthresh_;
    epoch_ = false;
  }
  // RFC 6582 §3.2 step 6 option (1).
  constexpr void on_exit_recovery(uint32_t mss, uint32_t flight) noexcept {
    cwnd_ = exit_recovery_window(ssthresh_, flight, mss);
    epoch_ = false;
  }

  // RFC 9438 §4.8: "CUBIC follows Reno to reduce cwnd [RFC5681] but sets ssthresh using
  // beta_cubic": cwnd = 1 SMSS, ssthresh = max(flight * 0.7, 2*SMSS) (RFC 5681 §3.1: held
  // constant on a repeated timeout). The first congestion avoidance stage afterwards uses
  // K = 0 and W_max = cwnd at its start (W_max = 0 here makes start_epoch() do that).
  constexpr void on_rto(uint32_t flight, uint32_t mss, Ticks now) noexcept {
    (void)now;
    if (!after_rto_) {
      ssthresh_ = beta_ssthresh(flight, mss);
    }
    cwnd_ = mss;
    w_max_ = 0;
    cwnd_prior_ = 0;
    epoch_ = false;
    after_rto_ = true;
    rto_slow_start_ = true;
  }

  // RFC 5681 §4.1 restart window after more than one RTO idle (and a fresh epoch); a shorter
  // idle period is cut out of t (RFC 9438 §5.8: t "MUST NOT include" idle periods).
  constexpr void on_idle_restart(Ticks idle, Ticks rto, uint32_t mss) noexcept {
    if (idle > rto) {
      cwnd_ = restart_window(cwnd_, mss);
      epoch_ = false;
    } else if (epoch_) {
      epoch_start_ += idle;
    }
  }

 private:
  static constexpr uint32_t beta_ssthresh(uint32_t flight, uint32_t mss) noexcept {
    const uint64_t s = static_cast<uint64_t>(flight) * kBetaNum / kBetaDen;
    return static_cast<uint32_t>(std::max<uint64_t>(s, 2ull * mss));
  }

  // RFC 9438 §4.2: a congestion avoidance stage begins: t = 0, cwnd_epoch = cwnd,
  // K = cbrt((W_max - cwnd_epoch) / C) (eq. 2), W_est = cwnd_epoch (§4.3). When W_max is not
  // above cwnd (first stage after slow start or a timeout, §4.8, §4.10): K = 0, W_max = cwnd.
  void start_epoch(Ticks now, uint32_t mss) noexcept {
    epoch_ = true;
    epoch_start_ = now;
    if (w_max_ > cwnd_) {
      const double segs = static_cast<double>(w_max_ - cwnd_) / static_cast<double>(mss);
      const double k_sec = std::cbrt(segs / kC);
      k_us_ = static_cast<uint32_t>(std::min(k_sec * 1e6 + 0.5, double{UINT32_MAX}));
    } else {
      k_us_ = 0;
      w_max_ = cwnd_;
      cwnd_prior_ = std::min(cwnd_prior_, cwnd_);
    }
    w_est_ = cwnd_;
    est_acc_ = 0;
    ca_acc_ = 0;
  }

  uint32_t cwnd_ = 0;
  uint32_t ssthresh_ = kInitialSsthresh;
  uint32_t w_max_ = 0;           // RFC 9438 W_max, bytes
  uint32_t cwnd_prior_ = 0;      // RFC 9438 cwnd_prior, bytes
  uint32_t w_est_ = 0;           // RFC 9438 W_est, bytes
  uint32_t k_us_ = 0;            // RFC 9438 K, microseconds
  uint32_t ca_acc_ = 0;          // remainder of (target - cwnd) * bytes_acked, < cwnd
  bool epoch_ = false;           // a congestion avoidance epoch is running
  bool after_rto_ = false;       // an RTO fired and no new data was ACKed since
  bool rto_slow_start_ = false;  // RFC 3465 §2.3: L = 1*SMSS in slow start after an RTO
  uint64_t est_acc_ = 0;         // remainder of the W_est increase, < 17 * cwnd
  Ticks epoch_start_{};          // RFC 9438 t = now - epoch_start
};

static_assert(sizeof(Cubic) <= 48, "Cubic lives in every TCB");

}  // namespace tempo::tcp::cc
