// The congestion controller of a connection: a closed set (STYLE.md 9), held by value in the
// TCB as std::variant<NewReno, Cubic> (no heap, no virtual call), with free functions that
// dispatch through std::visit. Every function has the meaning documented on NewReno
// (newreno.h) and Cubic (cubic.h); windows are in bytes, time is a parameter.
//
// Typical use by lib/tcp:
//   cc::Controller c = cc::make(cc::Algorithm::kCubic);  cc::init(c, mss);
//   ACK of new data outside recovery   -> cc::on_ack(c, acked, mss, flight_before, now, srtt)
//   3rd dup ACK / SACK loss detected   -> cc::on_enter_recovery(c, flight, mss, now[, mode])
//   more dup ACKs (NewReno recovery)   -> cc::on_dupack(c, mss)
//   partial ACK (NewReno recovery)     -> cc::on_partial_ack(c, acked, mss)
//   ACK covers the recovery point      -> cc::on_exit_recovery(c, mss)
//   retransmission timer expired       -> cc::on_rto(c, flight, mss, now)
//   sending after idle                 -> cc::on_idle_restart(c, idle, rto, mss)
#pragma once

#include <cstdint>
#include <variant>

#include "tcp/cc/cubic.h"
#include "tcp/cc/newreno.h"
#include "tcp/cc/window.h"
#include "time/ticks.h"

namespace tempo::tcp::cc {

using Controller = std::variant<NewReno, Cubic>;

enum class Algorithm : uint8_t { kNewReno, kCubic };

constexpr Controller make(Algorithm a) noexcept {
  switch (a) {
    case Algorithm::kNewReno:
      return Controller{std::in_place_type<NewReno>};
    case Algorithm::kCubic:
      return Controller{std::in_place_type<Cubic>};
  }
  return Controller{std::in_place_type<NewReno>};
}

constexpr Algorithm algorithm(const Controller& c) noexcept {
  return std::holds_alternative<Cubic>(c) ? Algorithm::kCubic : Algorithm::kNewReno;
}

inline void init(Controller& c, uint32_t mss) noexcept {
  std::visit([&](auto& a) { a.init(mss); }, c);
}
inline uint32_t cwnd(const Controller& c) noexcept {
  return std::visit([](const auto& a) { return a.cwnd(); }, c);
}
inline uint32_t ssthresh(const Controller& c) noexcept {
  return std::visit([](const auto& a) { return a.ssthresh(); }, c);
}
inline bool in_slow_start(const Controller& c) noexcept {
  return std::visit([](const auto& a) { return a.in_slow_start(); }, c);
}
inline void on_ack(Controller& c, uint32_t bytes_acked, uint32_t mss, uint32_t flight_before,
                   Ticks now, Ticks srtt) noexcept {
  std::visit([&](auto& a) { a.on_ack(bytes_acked, mss, flight_before, now, srtt); }, c);
}
inline void on_enter_recovery(Controller& c, uint32_t flight, uint32_t mss, Ticks now,
                              RecoveryMode mode = RecoveryMode::kNewReno) noexcept {
  std::visit([&](auto& a) { a.on_enter_recovery(flight, mss, now, mode); }, c);
}
inline void on_dupack(Controller& c, uint32_t mss) noexcept {
  std::visit([&](auto& a) { a.on_dupack(mss); }, c);
}
inline void on_partial_ack(Controller& c, uint32_t bytes_acked, uint32_t mss) noexcept {
  std::visit([&](auto& a) { a.on_partial_ack(bytes_acked, mss); }, c);
}
inline void on_exit_recovery(Controller& c, uint32_t mss) noexcept {
  std::visit([&](auto& a) { a.on_exit_recovery(mss); }, c);
}
inline void on_exit_recovery(Controller& c, uint32_t mss, uint32_t flight) noexcept {
  std::visit([&](auto& a) { a.on_exit_recovery(mss, flight); }, c);
}
inline void on_rto(Controller& c, uint32_t flight, uint32_t mss, Ticks now) noexcept {
  std::visit([&](auto& a) { a.on_rto(flight, mss, now); }, c);
}
inline void on_idle_restart(Controller& c, Ticks idle, Ticks rto, uint32_t mss) noexcept {
  std::visit([&](auto& a) { a.on_idle_restart(idle, rto, mss); }, c);
}

static_assert(sizeof(Controller) <= 56, "the controller lives in every TCB");

}  // namespace tempo::tcp::cc
