// The sender's SACK scoreboard (RFC 2018 §4-5, RFC 6675 §3-4): which octets between SND.UNA and
// SND.MAX the peer reported holding, and the RFC 6675 queries over it (IsLost, pipe, the holes
// NextSeg chooses from).
//
// A small sorted array of disjoint, non-adjacent ranges, held by value in the TCB: no
// allocation, bounded by kMaxRanges. When a new disjoint block finds the array full, the
// highest range is given up (or the new block, when it is the highest): forgetting SACK
// information is always safe (RFC 2018 §8: the sender must be ready to retransmit anything not
// cumulatively acknowledged), it only makes the sender retransmit more or detect loss later.
// The ranges nearest SND.UNA are kept because they decide which holes NextSeg retransmits first.
//
// Pure: no clock, no I/O. The send queue keeps SACKed data until the cumulative ACK covers it
// (RFC 2018 §8, reneging), so the scoreboard never owns payload.
#pragma once

#include <array>
#include <cstdint>

#include "tcp/seq.h"

namespace tempo::tcp {

// RFC 6675 §2 DupThresh (RFC 5681 §3.2: three duplicate ACKs).
inline constexpr uint32_t kDupThresh = 3;

class SackScoreboard {
 public:
  static constexpr uint8_t kMaxRanges = 6;

  struct Range {
    SeqNum left;   // first SACKed octet
    SeqNum right;  // one past the last
  };

  bool empty() const noexcept { return n_ == 0; }
  uint8_t size() const noexcept { return n_; }
  const Range& operator[](uint8_t i) const noexcept { return r_[i]; }
  // RFC 6675 NextSeg (1.b): one past the highest octet covered by any received SACK.
  SeqNum highest() const noexcept { return r_[n_ - 1].right; }

  void clear() noexcept { n_ = 0; }

  // Records [left, right) (left < right, already validated against SND.UNA/SND.MAX). Returns
  // the octets not SACKed before (0 when nothing new, or when the block could not be kept).
  uint32_t add(SeqNum left, SeqNum right) noexcept {
    if (!(left < right)) {
      return 0;
    }
    // Ranges [first, last) touch or overlap [left, right): they merge into one.
    uint8_t first = 0;
    while (first < n_ && r_[first].right < left) {
      ++first;
    }
    uint8_t last = first;
    uint32_t covered = 0;
    SeqNum l = left;
    SeqNum r = right;
    while (last < n_ && r_[last].left <= right) {
      covered += distance(max(r_[last].left, left), min(r_[last].right, right));
      l = min(l, r_[last].left);
      r = max(r, r_[last].right);
      ++last;
    }
    const uint32_t fresh = distance(left, right) - covered;
    if (first == last) {
      // Disjoint from every range: insert at `first`.
      if (n_ == kMaxRanges) {
        if (first == n_) {
          return 0;  // the highest block: not kept (see the top of the file)
        }
        --n_;  // give up the highest range to keep the lower one
      }
      for (uint8_t i = n_; i > first; --i) {
        r_[i] = r_[i - 1];
      }
      r_[first] = Range{l, r};
      ++n_;
      return fresh;
    }
    // Replace ranges [first, last) with their union.
    r_[first] = Range{l, r};
    const uint8_t removed = static_cast<uint8_t>(last - first - 1);
    for (uint8_t i = static_cast<uint8_t>(first + 1); i + removed < n_; ++i) {
      r_[i] = r_[i + removed];
    }
    n_ = static_cast<uint8_t>(n_ - removed);
    return fresh;
  }

  // SND.UNA moved to `una`: forget what it covers (RFC 6675 §4 Update()).
  void trim(SeqNum una) noexcept {
    uint8_t drop = 0;
    while (drop < n_ && r_[drop].right <= una) {
      ++drop;
    }
    if (drop > 0) {
      for (uint8_t i = 0; i + drop < n_; ++i) {
        r_[i] = r_[i + drop];
      }
      n_ = static_cast<uint8_t>(n_ - drop);
    }
    if (n_ > 0 && r_[0].left < una) {
      r_[0].left = una;
    }
  }

  uint32_t sacked_bytes() const noexcept {
    uint32_t b = 0;
    for (uint8_t i = 0; i < n_; ++i) {
      b += distance(r_[i].left, r_[i].right);
    }
    return b;
  }

 private:
  std::array<Range, kMaxRanges> r_{};
  uint8_t n_ = 0;
};

// An unSACKed stretch of [SND.UNA, SND.MAX): the octets below range `index` (or, for index ==
// size(), above the highest range).
struct SackHole {
  SeqNum start;
  SeqNum end;
  // RFC 6675 §4 IsLost() of every octet in the hole. IsLost is monotone (an octet lower in the
  // sequence space has at least as much SACKed above it), and an octet in a hole has exactly the
  // ranges above the hole SACKed above it, so one answer holds for the whole hole.
  bool lost = false;
  // RFC 6675 NextSeg (1.b)/(3.b): the hole lies below the highest SACKed octet.
  bool below_sacked = false;
};

// Calls f(const SackHole&) for each hole from SND.UNA up to SND.MAX, lowest first; f returns
// false to stop. RFC 6675 §4 IsLost(SeqNum): "DupThresh discontiguous SACKed sequences have
// arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with sequence numbers greater
// than 'SeqNum' have been SACKed". We count "sequences" as SMSS-sized segments, rounding each
// range up (a range of one short segment is one sequence). Octets below `lost_to` are lost
// whatever IsLost says (RACK marked them, rack.h): a hole that straddles it is reported as
// two, the lost part first.
template <class F>
void for_each_hole(const SackScoreboard& sb, SeqNum una, SeqNum snd_max, uint32_t mss,
                   SeqNum lost_to, F&& f) noexcept {
  const uint32_t m = mss > 0 ? mss : 1;
  // Suffix sums over the ranges: SACKed octets and segments at or above range i.
  std::array<uint64_t, SackScoreboard::kMaxRanges + 1> bytes{};
  std::array<uint64_t, SackScoreboard::kMaxRanges + 1> segs{};
  for (int i = sb.size() - 1; i >= 0; --i) {
    const uint32_t len =
        distance(sb[static_cast<uint8_t>(i)].left, sb[static_cast<uint8_t>(i)].right);
    bytes[i] = bytes[i + 1] + len;
    segs[i] = segs[i + 1] + (len + m - 1) / m;
  }
  SeqNum cur = una;
  for (uint8_t i = 0; i <= sb.size(); ++i) {
    const bool top = i == sb.size();
    const SeqNum end = top ? snd_max : sb[i].left;
    if (cur < end) {
      SackHole h;
      h.start = cur;
      h.end = end;
      h.below_sacked = !top;
      if (cur < lost_to && !top) {
        h.end = min(end, lost_to);
        h.lost = true;
        if (!f(static_cast<const SackHole&>(h))) {
          return;
        }
        h.start = h.end;
        h.end = end;
        h.lost = false;
      }
      if (h.start < h.end) {
        h.lost = !top && (segs[i] >= kDupThresh || bytes[i] > uint64_t{kDupThresh - 1} * m);
        if (!f(static_cast<const SackHole&>(h))) {
          return;
        }
      }
    }
    if (!top) {
      cur = max(cur, sb[i].right);
    }
  }
}

template <class F>
void for_each_hole(const SackScoreboard& sb, SeqNum una, SeqNum snd_max, uint32_t mss,
                   F&& f) noexcept {
  for_each_hole(sb, una, snd_max, mss, una, static_cast<F&&>(f));
}

// RFC 6675 §4 IsLost(seq) for an unSACKed octet `seq` in [una, snd_max).
inline bool sack_is_lost(const SackScoreboard& sb, SeqNum una, SeqNum snd_max, uint32_t mss,
                         SeqNum seq) noexcept {
  bool lost = false;
  for_each_hole(sb, una, snd_max, mss, [&](const SackHole& h) {
    if (in_range(h.start, seq, h.end)) {
      lost = h.lost;
      return false;
    }
    return h.end <= seq;
  });
  return lost;
}

// RFC 6675 §4 SetPipe(): the octets in [una, snd_max) not SACKed, counting once each one not
// deemed lost and once more each one retransmitted in this recovery (below `high_rxt`, one past
// the highest octet retransmitted, our form of HighRxt); below `lost_to` every unSACKed octet is
// lost (RACK, rack.h).
inline uint32_t sack_pipe(const SackScoreboard& sb, SeqNum una, SeqNum snd_max, uint32_t mss,
                          SeqNum high_rxt, SeqNum lost_to) noexcept {
  uint32_t pipe = 0;
  for_each_hole(sb, una, snd_max, mss, lost_to, [&](const SackHole& h) {
    if (!h.lost) {
      pipe += distance(h.start, h.end);  // (a)
    }
    pipe += distance(h.start, min(h.end, high_rxt));  // (b)
    return true;
  });
  return pipe;
}

inline uint32_t sack_pipe(const SackScoreboard& sb, SeqNum una, SeqNum snd_max, uint32_t mss,
                          SeqNum high_rxt) noexcept {
  return sack_pipe(sb, una, snd_max, mss, high_rxt, una);
}

}  // namespace tempo::tcp
