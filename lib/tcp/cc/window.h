// Window arithmetic shared by every congestion controller in lib/tcp/cc (NewReno, Cubic).
//
// RFCs to read: RFC 5681 (slow start, congestion avoidance, fast retransmit/recovery, restart
// after idle), RFC 6928 (initial window), RFC 3465 (appropriate byte counting), RFC 6582
// (NewReno fast recovery), RFC 6675 (SACK loss recovery), RFC 9438 §5.8 (application-limited
// flows). All windows are in bytes; `mss` is the sender MSS (SMSS) in bytes.
//
// Pure functions: no state, no clock, no I/O (DESIGN.md principle 3).
#pragma once

#include <algorithm>
#include <cstdint>

namespace tempo::tcp::cc {

// RFC 5681 §3.1: the initial ssthresh "SHOULD be set arbitrarily high".
inline constexpr uint32_t kInitialSsthresh = UINT32_MAX;

// RFC 3465 §2.2: during slow start one ACK may grow cwnd by at most L bytes; L = 2*SMSS is the
// limit RFC 3465 allows (RFC 5681 eq. 2 uses 1*SMSS). We take 2 so that a delayed ACK, which
// covers two segments, still doubles cwnd per RTT.
inline constexpr uint32_t kAbcLimitSegments = 2;

// How the caller runs loss recovery, which decides cwnd on entering it.
enum class RecoveryMode : uint8_t {
  // RFC 6582 §3.2 step 3: cwnd = ssthresh + 3*SMSS ("inflates" by the three duplicate ACKs that
  // left the network), +SMSS per further duplicate ACK (step 4), deflated on partial ACKs
  // (step 5). The caller sends while flight < cwnd.
  kNewReno,
  // RFC 6675 §5 step (4.2): cwnd = ssthresh; the caller sends while pipe < cwnd, so no
  // inflation is needed (and on_dupack/on_partial_ack are not called).
  kSack,
};

// a + b, saturating at UINT32_MAX: a window never wraps.
constexpr uint32_t add_sat(uint32_t a, uint32_t b) noexcept {
  return b > UINT32_MAX - a ? UINT32_MAX : a + b;
}

// RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
constexpr uint32_t initial_window(uint32_t mss) noexcept {
  const uint64_t m = mss;
  return static_cast<uint32_t>(std::min<uint64_t>(10 * m, std::max<uint64_t>(2 * m, 14600)));
}

// RFC 5681 §3.1 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS).
constexpr uint32_t reno_ssthresh(uint32_t flight, uint32_t mss) noexcept {
  return std::max(flight / 2, static_cast<uint32_t>(std::min<uint64_t>(2ull * mss, UINT32_MAX)));
}

// RFC 3465 §2.2 (limit L) and §2.3 (L = 1*SMSS while slow starting after a retransmission
// timeout, when one ACK can cover segments the network already dropped): the slow-start
// increase for one ACK of `bytes_acked` new bytes.
constexpr uint32_t slow_start_increase(uint32_t bytes_acked, uint32_t mss,
                                       bool after_rto) noexcept {
  const uint64_t limit = static_cast<uint64_t>(mss) * (after_rto ? 1 : kAbcLimitSegments);
  return static_cast<uint32_t>(std::min<uint64_t>(bytes_acked, limit));
}

// Was the sender limited by cwnd (rather than by the application or the receive window) when
// this ACK arrived? RFC 9438 §5.8: CUBIC does not grow cwnd while application-limited; RFC 5681
// has no such rule but growing an unused window is the hazard RFC 7661 describes, so Reno
// applies the same test. The thresholds are Linux's tcp_is_cwnd_limited(): in slow start, grow
// while cwnd < 2 * flight; in congestion avoidance, while less than one segment of cwnd is
// unused (flight + SMSS > cwnd).
constexpr bool cwnd_limited(uint32_t cwnd, uint32_t flight_before, uint32_t mss,
                            bool slow_start) noexcept {
  if (slow_start) {
    return cwnd < 2ull * flight_before;
  }
  return static_cast<uint64_t>(flight_before) + mss > cwnd;
}

// cwnd on entering recovery, after ssthresh has been set.
constexpr uint32_t recovery_window(uint32_t ssthresh, uint32_t mss, RecoveryMode mode) noexcept {
  switch (mode) {
    case RecoveryMode::kNewReno:
      return add_sat(ssthresh, static_cast<uint32_t>(std::min<uint64_t>(3ull * mss, UINT32_MAX)));
    case RecoveryMode::kSack:
      return ssthresh;
  }
  return ssthresh;
}

// RFC 6582 §3.2 step 5: on a partial ACK, deflate cwnd by the new data it acknowledges, and add
// back SMSS if that is at least SMSS (so that cwnd stays at least SMSS whenever the caller has a
// segment to retransmit).
constexpr uint32_t deflate_partial_ack(uint32_t cwnd, uint32_t bytes_acked, uint32_t mss) noexcept {
  const uint32_t w = cwnd > bytes_acked ? cwnd - bytes_acked : 0;
  return bytes_acked >= mss ? add_sat(w, mss) : w;
}

// RFC 6582 §3.2 step 6, option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS), which
// avoids a burst when little data is outstanding at the end of recovery.
constexpr uint32_t exit_recovery_window(uint32_t ssthresh, uint32_t flight, uint32_t mss) noexcept {
  return std::min(ssthresh, add_sat(std::max(flight, mss), mss));
}

// RFC 5681 §4.1: when no data was sent for more than one RTO, cwnd = min(RW, cwnd) with the
// restart window RW = min(IW, cwnd) (IW per RFC 6928 here).
constexpr uint32_t restart_window(uint32_t cwnd, uint32_t mss) noexcept {
  return std::min(cwnd, initial_window(mss));
}

}  // namespace tempo::tcp::cc
