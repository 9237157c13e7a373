// Sequence numbers and TCP timestamps: 32-bit values compared modulo 2^32.
//
// RFC 9293 §3.4: "all arithmetic dealing with sequence numbers must be performed modulo 2**32";
// a < b means b lies in the half of the number space ahead of a. RFC 7323 §5.2 compares TSvals
// the same way for PAWS. Both are strong types so that a sequence number is never mixed with a
// length, a timestamp or a window by accident (STYLE.md 2; smoltcp's SeqNumber).
#pragma once

#include <cstdint>

namespace tempo::tcp {

class SeqNum {
 public:
  constexpr SeqNum() noexcept = default;
  constexpr explicit SeqNum(uint32_t v) noexcept : v_(v) {}
  constexpr uint32_t raw() const noexcept { return v_; }

  // Signed distance from `o` to *this (positive when *this is ahead), valid while the two are
  // less than 2^31 apart, which RFC 9293 §3.4 windows guarantee.
  constexpr int32_t operator-(SeqNum o) const noexcept { return static_cast<int32_t>(v_ - o.v_); }
  constexpr SeqNum operator+(uint32_t n) const noexcept { return SeqNum(v_ + n); }
  constexpr SeqNum operator-(uint32_t n) const noexcept { return SeqNum(v_ - n); }
  constexpr SeqNum& operator+=(uint32_t n) noexcept {
    v_ += n;
    return *this;
  }

  constexpr bool operator==(const SeqNum&) const noexcept = default;
  constexpr bool operator<(SeqNum o) const noexcept { return (*this - o) < 0; }
  constexpr bool operator<=(SeqNum o) const noexcept { return (*this - o) <= 0; }
  constexpr bool operator>(SeqNum o) const noexcept { return (*this - o) > 0; }
  constexpr bool operator>=(SeqNum o) const noexcept { return (*this - o) >= 0; }

 private:
  uint32_t v_ = 0;
};

constexpr SeqNum max(SeqNum a, SeqNum b) noexcept { return a < b ? b : a; }
constexpr SeqNum min(SeqNum a, SeqNum b) noexcept { return a < b ? a : b; }

// Non-negative distance from `from` to `to`; 0 when `to` is not ahead of `from`.
constexpr uint32_t distance(SeqNum from, SeqNum to) noexcept {
  const int32_t d = to - from;
  return d > 0 ? static_cast<uint32_t>(d) : 0;
}

// a <= x < b, modulo 2^32 (RFC 9293 §3.4 "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND").
constexpr bool in_range(SeqNum a, SeqNum x, SeqNum b) noexcept { return a <= x && x < b; }

// A TSval/TSecr (RFC 7323 §3). Compared modulo 2^32 as RFC 7323 §5.2 requires for PAWS.
class TsVal {
 public:
  constexpr TsVal() noexcept = default;
  constexpr explicit TsVal(uint32_t v) noexcept : v_(v) {}
  constexpr uint32_t raw() const noexcept { return v_; }
  constexpr int32_t operator-(TsVal o) const noexcept { return static_cast<int32_t>(v_ - o.v_); }
  constexpr bool operator==(const TsVal&) const noexcept = default;
  constexpr bool operator<(TsVal o) const noexcept { return (*this - o) < 0; }
  constexpr bool operator<=(TsVal o) const noexcept { return (*this - o) <= 0; }
  constexpr bool operator>(TsVal o) const noexcept { return (*this - o) > 0; }
  constexpr bool operator>=(TsVal o) const noexcept { return (*this - o) >= 0; }

 private:
  uint32_t v_ = 0;
};

}  // namespace tempo::tcp
