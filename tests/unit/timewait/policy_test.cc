// timewait::on_segment and can_reuse_active, table-driven: one row per RFC rule and per side of
// each threshold (packetdrill tw_reuse_fail_after_990msec / tw_reuse_ok_after_1sec style),
// including sequence and timestamp wrap-around at 2^32.
#include "timewait/policy.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tempo::timewait {
namespace {

constexpr uint8_t kFin = TwSegment::kFin;
constexpr uint8_t kSyn = TwSegment::kSyn;
constexpr uint8_t kRst = TwSegment::kRst;
constexpr uint8_t kPsh = TwSegment::kPsh;
constexpr uint8_t kAck = TwSegment::kAck;

constexpr Ticks kT0 = Ticks::from_sec(10);  // when the record last heard the peer
constexpr Ticks kNow = kT0 + Ticks::from_ms(100);
constexpr uint32_t kDay = 24u * 3600 * 1000;

TwConn conn(uint32_t rcv_nxt = 5000, uint32_t ts_recent = 700, bool ts_ok = true) {
  TwConn c;
  c.snd_nxt = 1000;
  c.rcv_nxt = rcv_nxt;
  c.ts_recent = ts_recent;
  c.ts_recent_age = ms32(kT0);
  c.rcv_wnd = 512;
  c.flags = ts_ok ? TwConn::kTsOk : 0;
  return c;
}

TwSegment seg(uint8_t flags, uint32_t seq, uint32_t len = 0) {
  TwSegment s;
  s.flags = flags;
  s.seq = seq;
  s.ack = 1000;
  s.payload_len = len;
  return s;
}

TwSegment ts(TwSegment s, uint32_t tsval) {
  s.has_ts = true;
  s.tsval = tsval;
  s.tsecr = 1;
  return s;
}

TwPolicy policy(TwReuse reuse = TwReuse::kRfc6191, bool rfc1337 = true) {
  TwPolicy p;
  p.reuse = reuse;
  p.rfc1337 = rfc1337;
  return p;
}

struct Case {
  std::string name;
  TwConn conn;
  TwSegment seg;
  Ticks now;
  TwPolicy policy;
  TwVerdict expected;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

constexpr TwVerdict v(TwAction a, TwReason r, bool update_ts = false) { return {a, r, update_ts}; }

const TwVerdict kFinReack = v(TwAction::kAckRestart, TwReason::kFinRetransmit, true);
const TwVerdict kDup = v(TwAction::kAck, TwReason::kDupAck);
const TwVerdict kDupTs = v(TwAction::kAck, TwReason::kDupAck, true);
const TwVerdict kBare = v(TwAction::kDrop, TwReason::kBareAck);
const TwVerdict kBareTs = v(TwAction::kDrop, TwReason::kBareAck, true);
const TwVerdict kPaws = v(TwAction::kAck, TwReason::kPawsDrop);
const TwVerdict kRstIgn = v(TwAction::kDrop, TwReason::kRstIgnored);
const TwVerdict kRstClose = v(TwAction::kClose, TwReason::kRstClosed);
const TwVerdict kReuse = v(TwAction::kReuse, TwReason::kReuseAccepted);
const TwVerdict kRefused = v(TwAction::kAck, TwReason::kReuseRefused);
const TwVerdict kNoAckDrop = v(TwAction::kDrop, TwReason::kNoAck);

std::vector<Case> cases() {
  const TwPolicy def = policy();
  const TwPolicy no1337 = policy(TwReuse::kRfc6191, false);
  const TwPolicy no_reuse = policy(TwReuse::kOff);
  return {
      // RFC 9293 §3.10.7.4: a retransmitted FIN (ends at RCV.NXT) is ACKed, timer restarts.
      {"fin_retransmit", conn(), ts(seg(kFin | kAck, 4999), 700), kNow, def, kFinReack},
      {"fin_retransmit_with_data", conn(), ts(seg(kFin | kAck, 4899, 100), 701), kNow, def,
       kFinReack},
      {"fin_retransmit_no_ts", conn(), seg(kFin | kAck, 4999), kNow, def,
       v(TwAction::kAckRestart, TwReason::kFinRetransmit)},
      {"fin_retransmit_seq_wraps", conn(0), seg(kFin | kAck, 0xffffffff), kNow, def,
       v(TwAction::kAckRestart, TwReason::kFinRetransmit)},
      {"fin_beyond_rcv_nxt_is_not_retransmit", conn(), ts(seg(kFin | kAck, 5000), 700), kNow, def,
       kDupTs},
      {"fin_before_retransmit_point", conn(), seg(kFin | kAck, 4998), kNow, def, kDup},
      // A pure ACK at RCV.NXT is absorbed (no ACK war between two TIME_WAIT ends).
      {"bare_ack_at_rcv_nxt", conn(), ts(seg(kAck, 5000), 700), kNow, def, kBareTs},
      {"bare_ack_above_rcv_nxt_gets_ack", conn(), ts(seg(kAck, 5001), 700), kNow, def, kDup},
      {"bare_ack_below_rcv_nxt_gets_ack", conn(), ts(seg(kAck, 4999), 700), kNow, def, kDup},
      // Data is never delivered in TIME_WAIT: duplicate ACK.
      {"data_at_rcv_nxt", conn(), ts(seg(kAck | kPsh, 5000, 10), 701), kNow, def, kDupTs},
      {"old_data_below_rcv_nxt", conn(), ts(seg(kAck, 4000, 10), 701), kNow, def, kDup},
      {"data_covering_rcv_nxt_seq_wraps", conn(5), ts(seg(kAck, 0xfffffffe, 10), 701), kNow, def,
       kDupTs},
      {"data_beyond_rcv_nxt_seq_wraps", conn(0xfffffff0), ts(seg(kAck, 0x10, 10), 701), kNow, def,
       kDup},
      // RFC 9293 §3.10.7.4 fifth check: no ACK bit, drop.
      {"no_ack_flag_dropped", conn(), seg(kPsh, 5000, 10), kNow, def, kNoAckDrop},
      {"fin_without_ack_dropped", conn(), seg(kFin, 4999), kNow, def, kNoAckDrop},
      // RFC 1337 and RFC 5961 §3.2.
      {"rst_ignored_rfc1337", conn(), seg(kRst, 5000), kNow, def, kRstIgn},
      {"rst_ack_ignored_rfc1337", conn(), seg(kRst | kAck, 5000), kNow, def, kRstIgn},
      {"rst_exact_closes_without_rfc1337", conn(), seg(kRst, 5000), kNow, no1337, kRstClose},
      {"rst_one_above_ignored_without_rfc1337", conn(), seg(kRst, 5001), kNow, no1337, kRstIgn},
      {"rst_one_below_ignored_without_rfc1337", conn(), seg(kRst, 4999), kNow, no1337, kRstIgn},
      {"rst_old_tsval_still_closes", conn(), ts(seg(kRst, 5000), 1), kNow, no1337, kRstClose},
      {"syn_rst_is_rst", conn(), seg(kSyn | kRst, 9000), kNow, def, kRstIgn},
      // RFC 7323 §5.3 PAWS, both sides of the threshold and across the wrap.
      {"paws_older_tsval_dropped_with_ack", conn(), ts(seg(kAck, 5000), 699), kNow, def, kPaws},
      {"paws_equal_tsval_passes", conn(), ts(seg(kAck, 5000), 700), kNow, def, kBareTs},
      {"paws_data_older_tsval", conn(), ts(seg(kAck, 5000, 10), 699), kNow, def, kPaws},
      {"paws_fin_older_tsval", conn(), ts(seg(kFin | kAck, 4999), 699), kNow, def, kPaws},
      {"paws_newer_across_wrap_passes", conn(5000, 0xfffffff0), ts(seg(kAck, 5000), 0x10), kNow,
       def, kBareTs},
      {"paws_older_across_wrap_dropped", conn(5000, 0x10), ts(seg(kAck, 5000), 0xfffffff0), kNow,
       def, kPaws},
      {"paws_half_circle_is_older", conn(5000, 0), ts(seg(kAck, 5000), 0x80000000u), kNow, def,
       kPaws},
      {"paws_not_applied_without_ts_on_record", conn(5000, 700, false), ts(seg(kAck, 5000), 1),
       kNow, def, kBare},
      {"paws_not_applied_without_ts_on_segment", conn(), seg(kAck, 5000), kNow, def, kBare},
      // RFC 7323 §5.5: TS.Recent idle for 24 days is invalid.
      {"paws_applies_just_below_24_days", conn(), ts(seg(kAck, 5000), 1),
       kT0 + Ticks::from_ms(uint64_t{24} * kDay - 1), def, kPaws},
      {"paws_skipped_at_24_days", conn(), ts(seg(kAck, 5000), 1),
       kT0 + Ticks::from_ms(uint64_t{24} * kDay), def, kBareTs},
      // RFC 6191 passive reuse with timestamps on both.
      {"syn_newer_tsval_reuses", conn(), ts(seg(kSyn, 1), 701), kNow, def, kReuse},
      {"syn_equal_tsval_higher_isn_reuses", conn(), ts(seg(kSyn, 5001), 700), kNow, def, kReuse},
      {"syn_equal_tsval_same_isn_refused", conn(), ts(seg(kSyn, 5000), 700), kNow, def, kRefused},
      {"syn_older_tsval_higher_isn_refused", conn(), ts(seg(kSyn, 90000), 699), kNow, def,
       kRefused},
      {"syn_newer_tsval_across_wrap_reuses", conn(5000, 0xffffffff), ts(seg(kSyn, 1), 0), kNow, def,
       kReuse},
      {"syn_older_tsval_across_wrap_refused", conn(5000, 0), ts(seg(kSyn, 9000), 0xffffffff), kNow,
       def, kRefused},
      // RFC 6191 without timestamps on both: ISN beyond the old RCV.NXT.
      {"syn_no_ts_isn_above_reuses", conn(), seg(kSyn, 5001), kNow, def, kReuse},
      {"syn_no_ts_isn_equal_refused", conn(), seg(kSyn, 5000), kNow, def, kRefused},
      {"syn_no_ts_isn_below_refused", conn(), seg(kSyn, 4999), kNow, def, kRefused},
      {"syn_ts_on_old_conn_only_isn_above", conn(5000, 700, true), seg(kSyn, 5001), kNow, def,
       kReuse},
      {"syn_ts_on_syn_only_isn_below_refused", conn(5000, 700, false), ts(seg(kSyn, 4999), 9999),
       kNow, def, kRefused},
      {"syn_ts_on_syn_only_isn_above_reuses", conn(5000, 700, false), ts(seg(kSyn, 5001), 1), kNow,
       def, kReuse},
      {"syn_isn_above_across_wrap_reuses", conn(0xffffff00, 700, false), seg(kSyn, 0x10), kNow, def,
       kReuse},
      {"syn_isn_below_across_wrap_refused", conn(0x10, 700, false), seg(kSyn, 0xffffff00), kNow,
       def, kRefused},
      // Reuse off, SYN-ACK: old duplicate / challenge ACK (RFC 9293 §3.10.7.4, RFC 5961 §4.2).
      {"syn_reuse_off_refused", conn(), ts(seg(kSyn, 9000), 9000), kNow, no_reuse, kRefused},
      {"syn_ack_refused", conn(), ts(seg(kSyn | kAck, 9000), 9000), kNow, def, kRefused},
  };
}

class TimewaitPolicy : public ::testing::TestWithParam<Case> {};

TEST_P(TimewaitPolicy, Verdict) {
  const Case& c = GetParam();
  const TwVerdict got = on_segment(c.conn, c.seg, c.now, c.policy);
  EXPECT_EQ(got.action, c.expected.action);
  EXPECT_EQ(got.reason, c.expected.reason);
  EXPECT_EQ(got.update_ts, c.expected.update_ts);
  // The record overload gives the same verdict.
  TwRecordV4 r;
  r.conn = c.conn;
  EXPECT_EQ(on_segment(r, c.seg, c.now, c.policy), got);
}

INSTANTIATE_TEST_SUITE_P(Rules, TimewaitPolicy, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

// Active reuse: packetdrill tw_reuse_fail_after_990msec / tw_reuse_ok_after_1sec.
struct ActiveCase {
  std::string name;
  bool ts_ok;
  Ticks stamp;
  Ticks now;
  bool expected;
};

class TimewaitActiveReuse : public ::testing::TestWithParam<ActiveCase> {};

TEST_P(TimewaitActiveReuse, CanReuse) {
  const ActiveCase& c = GetParam();
  TwConn k = conn(5000, 700, c.ts_ok);
  k.ts_recent_age = ms32(c.stamp);
  EXPECT_EQ(can_reuse_active(k, c.now, Ticks::from_ms(1000)), c.expected);
  TwRecordV6 r;
  r.conn = k;
  EXPECT_EQ(can_reuse_active(r, c.now), c.expected);  // default min_age is 1 s
}

constexpr Ticks kWrapMs = Ticks::from_ms(uint64_t{1} << 32);  // ms32 wraps here

INSTANTIATE_TEST_SUITE_P(
    Thresholds, TimewaitActiveReuse,
    ::testing::Values(
        ActiveCase{"fail_after_990msec", true, kT0, kT0 + Ticks::from_ms(990), false},
        ActiveCase{"fail_after_999msec", true, kT0, kT0 + Ticks::from_ms(999), false},
        ActiveCase{"ok_after_1sec", true, kT0, kT0 + Ticks::from_ms(1000), true},
        ActiveCase{"ok_after_60sec", true, kT0, kT0 + Ticks::from_sec(60), true},
        ActiveCase{"fail_without_timestamps", false, kT0, kT0 + Ticks::from_sec(60), false},
        ActiveCase{"fail_stamp_in_future", true, kT0 + Ticks::from_sec(5), kT0, false},
        ActiveCase{"ok_across_ms32_wrap", true, kWrapMs - Ticks::from_ms(600),
                   kWrapMs + Ticks::from_ms(400), true},
        ActiveCase{"fail_across_ms32_wrap", true, kWrapMs - Ticks::from_ms(600),
                   kWrapMs + Ticks::from_ms(399), false}),
    [](const ::testing::TestParamInfo<ActiveCase>& i) { return i.param.name; });

TEST(TimewaitPolicyIss, ReuseFloorIsBeyondOldSndNxtAndNeverZero) {
  TwConn c = conn();
  c.snd_nxt = 1000;
  EXPECT_EQ(reuse_iss_floor(c), 1000u + 65537u);
  c.snd_nxt = 0xfffeffffu;  // + 65537 wraps to 0
  EXPECT_EQ(reuse_iss_floor(c), 1u);
  c.snd_nxt = 0xffffff00u;
  EXPECT_EQ(reuse_iss_floor(c), 0xffffff00u + 65537u);
}

}  // namespace
}  // namespace tempo::timewait
