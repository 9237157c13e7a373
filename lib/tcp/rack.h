// RACK, time-based loss detection (RFC 8985 §6): a segment is lost once a segment sent after it
// has been delivered (ACKed or SACKed) and it is still missing a reordering window later. The
// tail loss probe (§7) is in output.h and timers.h; the glue to the ACK path in recovery.h.
//
// What is kept, and what tempo gives up for it:
// - SendTimes: when the octets of [SND.UNA, SND.MAX) were first sent, as at most kMaxMarks
//   marks, each a sequence number where a burst began and the (wrapping, microsecond) times of
//   its first and last send. Every segment of one burst (one output() call, one `now`) shares
//   a mark, so a window of bursts fits. When the marks run out the two neighbours closest in
//   time merge, and a merged mark keeps both ends of its time span: a delivery is dated by
//   the span's start and a candidate for loss by its end, so coarser marks only make RACK
//   slower to call a loss (never quicker); DupThresh (RFC 6675) and the RTO still stand behind.
// - Retransmitted octets (below rxt_high) are never dated: their delivery is ambiguous (which
//   copy arrived?), RFC 8985 §6.2 step 2 skips such samples, and tempo skips them all rather
//   than keep a send time per retransmission. So a lost retransmission is found by the RTO,
//   not by RACK (Linux finds it by RACK); that is the named deviation.
// - Original transmissions leave in sequence order, so the octets RACK deems lost are always
//   the lowest unSACKed ones: one sequence number (lost_to) records the marking, and the
//   scoreboard's holes below it count as lost (sack.h for_each_hole).
//
// Pure: no clock, no I/O; times come in as microseconds.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "tcp/sack.h"
#include "tcp/seq.h"

namespace tempo::tcp {

// Wrapping microsecond times (71 minutes around): a is before b.
inline bool us_before(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) < 0; }

class SendTimes {
 public:
  static constexpr uint8_t kMaxMarks = 8;

  // Octets from `start` (to the next mark's start, or to SND.MAX) went out between first_us
  // and last_us.
  struct Mark {
    SeqNum start;
    uint32_t first_us = 0;
    uint32_t last_us = 0;
  };

  uint8_t size() const noexcept { return n_; }
  const Mark& operator[](uint8_t i) const noexcept { return m_[i]; }
  void clear() noexcept { n_ = 0; }

  // New data from `start` (at or above every earlier start) went out at now_us.
  void on_send(SeqNum start, uint32_t now_us) noexcept {
    if (n_ > 0 && m_[n_ - 1].last_us == now_us) {
      return;  // the same burst: the last mark reaches SND.MAX already
    }
    if (n_ == kMaxMarks) {
      merge_closest();
    }
    m_[n_++] = Mark{start, now_us, now_us};
  }

  // SND.UNA moved to una: marks that end at or below it go.
  void trim(SeqNum una) noexcept {
    uint8_t drop = 0;
    while (drop + 1 < n_ && m_[drop + 1].start <= una) {
      ++drop;
    }
    if (drop > 0) {
      std::copy(m_.begin() + drop, m_.begin() + n_, m_.begin());
      n_ = static_cast<uint8_t>(n_ - drop);
    }
  }

  // The mark holding `seq`, or kMaxMarks when none does (it was sent before any mark: after
  // an RTO, or before RACK knew of it).
  uint8_t find(SeqNum seq) const noexcept {
    uint8_t i = n_;
    while (i > 0 && seq < m_[i - 1].start) {
      --i;
    }
    return i == 0 ? kMaxMarks : static_cast<uint8_t>(i - 1);
  }
  // One past the last octet of mark i (`snd_max` for the last).
  SeqNum end(uint8_t i, SeqNum snd_max) const noexcept {
    return i + 1 < n_ ? m_[i + 1].start : snd_max;
  }

 private:
  // The neighbours whose merged span is shortest become one.
  void merge_closest() noexcept {
    uint8_t best = 0;
    uint32_t best_span = UINT32_MAX;
    for (uint8_t i = 0; i + 1 < n_; ++i) {
      const uint32_t span = m_[i + 1].last_us - m_[i].first_us;
      if (span < best_span) {
        best_span = span;
        best = i;
      }
    }
    m_[best].last_us = m_[best + 1].last_us;
    std::copy(m_.begin() + best + 2, m_.begin() + n_, m_.begin() + best + 1);
    --n_;
  }

  std::array<Mark, kMaxMarks> m_{};
  uint8_t n_ = 0;
};

// RFC 8985 §6.1 per-connection state, with its names.
struct Rack {
  SendTimes sent;
  SeqNum end;            // RACK.end_seq: the delivered segment sent last ends here
  SeqNum fack;           // RACK.fack: the highest end of a delivered segment
  SeqNum lost_to;        // unSACKed octets below this are deemed lost (§6.2 step 5), if marked
  SeqNum rxt_high;       // octets below this may have been retransmitted: never dated
  SeqNum dsack_round;    // RACK.dsack_round (valid while dsack_round_set)
  uint32_t xmit_us = 0;  // RACK.xmit_ts
  uint32_t rtt_us = 0;   // RACK.rtt
  uint32_t min_rtt_us = UINT32_MAX;  // RACK.min_RTT: the least RTT sample of any kind
  uint8_t reo_wnd_mult = 1;          // RACK.reo_wnd_mult
  uint8_t reo_wnd_persist = 0;       // RACK.reo_wnd_persist
  bool valid : 1 = false;            // RACK.xmit_ts is set
  bool reord : 1 = false;            // RACK.reord: reordering was seen
  bool dsack_round_set : 1 = false;
  bool marked : 1 = false;  // lost_to holds a marking (SND.UNA has not passed it)

  // A new connection: nothing sent, everything at SND.UNA.
  void reset(SeqNum una) noexcept {
    *this = Rack{};
    end = fack = lost_to = rxt_high = dsack_round = una;
  }

  // Where RACK's marking ends: unSACKed octets between una and here are lost.
  SeqNum lost_below(SeqNum una) const noexcept { return marked && una < lost_to ? lost_to : una; }
  // Any RTT sample (the handshake's, RFC 7323 timestamps', RFC 6298 timing's, RACK's own).
  void on_rtt_sample(uint64_t us) noexcept {
    min_rtt_us = static_cast<uint32_t>(std::min<uint64_t>(min_rtt_us, us));
  }

  // SND.UNA moved: the sequence variables never lag behind it (so they never wrap past it).
  void follow(SeqNum una) noexcept {
    marked = marked && una < lost_to;
    lost_to = max(lost_to, una);
    rxt_high = max(rxt_high, una);
    fack = max(fack, una);
    sent.trim(una);
  }

  // RFC 8985 §6.2 steps 2 and 3 for the delivered octets [a, b) (one piece, in ascending order
  // of sending within the ACK). Returns true when the piece shows reordering for the first time.
  bool on_delivered(SeqNum a, SeqNum b, SeqNum snd_max, uint32_t now_us) noexcept {
    if (b <= rxt_high) {
      return false;  // retransmitted: ambiguous (step 2), and not evidence of reordering (3)
    }
    a = max(a, rxt_high);
    bool fresh_reord = false;
    if (b > fack) {  // step 3
      fack = b;
    } else if (b < fack && !reord) {
      reord = true;
      fresh_reord = true;
    }
    const uint8_t i = sent.find(b - 1);
    if (i == SendTimes::kMaxMarks || !(a < b) || b > snd_max) {
      return fresh_reord;
    }
    const uint32_t xmit = sent[i].first_us;  // the earliest the piece can have gone
    if (!valid || us_before(xmit_us, xmit) || (xmit == xmit_us && b > end)) {  // step 2
      valid = true;
      xmit_us = xmit;
      end = b;
      rtt_us = now_us - xmit;
      on_rtt_sample(rtt_us);
    }
    return fresh_reord;
  }

  // RFC 8985 §6.2 step 4, the D-SACK half: a D-SACK, once per round trip, widens the
  // reordering window by a quarter of min_RTT for the next 16 recoveries.
  void on_ack_dsack(bool dsack, SeqNum una, SeqNum snd_max) noexcept {
    if (dsack_round_set && una >= dsack_round) {
      dsack_round_set = false;
    }
    if (!dsack_round_set && dsack) {
      dsack_round_set = true;
      dsack_round = snd_max;
      reo_wnd_mult = static_cast<uint8_t>(std::min(reo_wnd_mult + 1, 64));
      reo_wnd_persist = 16;
    }
  }
  // ... and the recovery half: each recovery that ends counts one down.
  void on_recovery_end() noexcept {
    if (reo_wnd_persist > 0 && --reo_wnd_persist == 0) {
      reo_wnd_mult = 1;
    }
  }

  // RFC 8985 §6.2 step 4, RACK_reo_wnd(): none while no reordering was seen and loss is
  // already evident (recovery, or DupThresh segments SACKed); else a quarter of min_RTT per
  // multiple, at most SRTT.
  uint32_t reo_wnd_us(bool in_recovery, uint32_t sacked_segs, uint32_t srtt_us) const noexcept {
    if (!reord && (in_recovery || sacked_segs >= kDupThresh)) {
      return 0;
    }
    if (min_rtt_us == UINT32_MAX) {
      return 0;
    }
    const uint64_t w = uint64_t{reo_wnd_mult} * min_rtt_us / 4;
    return static_cast<uint32_t>(std::min<uint64_t>(w, srtt_us));
  }

  // RFC 8985 §6.2 step 5, RACK_detect_loss(): every unSACKed octet at or above lost_to and
  // rxt_high, below the highest SACKed one, sent before RACK.xmit_ts, and missing for
  // RACK.rtt + reo_wnd since, is lost (lost_to moves past it). Returns the microseconds until
  // the next such octet would be (RACK's reorder timer), 0 when none is waiting.
  uint32_t detect_loss(const SackScoreboard& sb, SeqNum una, SeqNum snd_max, uint32_t mss,
                       uint32_t reo_us, uint32_t now_us) noexcept {
    if (!valid || sb.empty()) {
      return 0;
    }
    const SeqNum from = max(lost_below(una), rxt_high);
    uint32_t wait = 0;
    for_each_hole(sb, una, snd_max, mss, [&](const SackHole& h) {
      if (!h.below_sacked) {
        return false;
      }
      SeqNum x = max(h.start, from);
      while (x < h.end) {
        const uint8_t i = sent.find(x);
        if (i == SendTimes::kMaxMarks) {
          return false;
        }
        SeqNum y = min(h.end, sent.end(i, snd_max));
        const uint32_t t = sent[i].last_us;  // the latest the octets can have gone
        if (t == xmit_us && x < end && end < y) {
          y = end;  // the same time: sequence order decides (RACK_sent_after)
        }
        const bool before = us_before(t, xmit_us) || (t == xmit_us && y <= end);
        if (!before) {
          return false;  // sent after the newest delivery, as is everything above
        }
        const uint32_t elapsed = now_us - t;
        const uint64_t due = uint64_t{rtt_us} + reo_us;
        if (elapsed < due) {
          wait = static_cast<uint32_t>(due - elapsed);
          return false;
        }
        lost_to = y;
        marked = true;
        x = y;
      }
      return true;
    });
    return wait;
  }
};

}  // namespace tempo::tcp
