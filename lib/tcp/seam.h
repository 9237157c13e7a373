// The seam between the protocol core and its estimators: the RFC 6298 RTT estimator
// (tcp/rtt.h) and the congestion controller (tcp/cc/cc.h). The core calls them only through
// detail::Rtt and detail::Cc, so either can change shape without touching the state machine.
#pragma once

#include <cstdint>

#include "tcp/cc/cc.h"
#include "tcp/rtt.h"
#include "time/ticks.h"

namespace tempo::tcp::detail {

using Rtt = ::tempo::tcp::RttEstimator;

// cc::Controller (a std::variant) with member-call syntax.
class Cc {
 public:
  void select(cc::Algorithm a) noexcept { c_ = cc::make(a); }
  void init(uint32_t mss) noexcept { cc::init(c_, mss); }
  uint32_t cwnd() const noexcept { return cc::cwnd(c_); }
  uint32_t ssthresh() const noexcept { return cc::ssthresh(c_); }
  void on_ack(uint32_t bytes, uint32_t mss, uint32_t flight, Ticks now, Ticks srtt) noexcept {
    cc::on_ack(c_, bytes, mss, flight, now, srtt);
  }
  void on_enter_recovery(uint32_t flight, uint32_t mss, Ticks now,
                         cc::RecoveryMode mode = cc::RecoveryMode::kNewReno) noexcept {
    cc::on_enter_recovery(c_, flight, mss, now, mode);
  }
  void on_dupack(uint32_t mss) noexcept { cc::on_dupack(c_, mss); }
  void on_partial_ack(uint32_t bytes, uint32_t mss) noexcept { cc::on_partial_ack(c_, bytes, mss); }
  void on_exit_recovery(uint32_t mss, uint32_t flight) noexcept {
    cc::on_exit_recovery(c_, mss, flight);
  }
  void on_rto(uint32_t flight, uint32_t mss, Ticks now) noexcept {
    cc::on_rto(c_, flight, mss, now);
  }
  const cc::Controller& controller() const noexcept { return c_; }

 private:
  cc::Controller c_{};
};

}  // namespace tempo::tcp::detail
