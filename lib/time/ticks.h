// tempo::Ticks: a point in time or a duration, in microseconds, as a strong type.
//
// Every TCP timer and timestamp calculation takes time as a parameter of this type (the
// protocol core never reads a clock, DESIGN.md principle 3). Microseconds leave 2^64 us
// (585k years) of range, so Ticks never wraps in practice; wire timestamps, which do wrap, are
// a separate 32-bit type in lib/tcp.
#pragma once

#include <compare>
#include <cstdint>

namespace tempo {

class Ticks {
 public:
  constexpr Ticks() noexcept = default;
  static constexpr Ticks from_us(uint64_t us) noexcept { return Ticks(us); }
  static constexpr Ticks from_ms(uint64_t ms) noexcept { return Ticks(ms * 1000); }
  static constexpr Ticks from_sec(uint64_t s) noexcept { return Ticks(s * 1000000); }
  static constexpr Ticks max() noexcept { return Ticks(UINT64_MAX); }

  constexpr uint64_t us() const noexcept { return us_; }
  constexpr uint64_t ms() const noexcept { return us_ / 1000; }

  constexpr auto operator<=>(const Ticks&) const noexcept = default;
  constexpr Ticks operator+(Ticks d) const noexcept { return Ticks(us_ + d.us_); }
  // Saturates at zero: a duration is never negative.
  constexpr Ticks operator-(Ticks d) const noexcept { return Ticks(us_ > d.us_ ? us_ - d.us_ : 0); }
  constexpr Ticks& operator+=(Ticks d) noexcept {
    us_ += d.us_;
    return *this;
  }
  constexpr Ticks operator*(uint64_t k) const noexcept { return Ticks(us_ * k); }
  constexpr Ticks operator/(uint64_t k) const noexcept { return Ticks(us_ / k); }

 private:
  constexpr explicit Ticks(uint64_t us) noexcept : us_(us) {}
  uint64_t us_ = 0;
};

}  // namespace tempo
