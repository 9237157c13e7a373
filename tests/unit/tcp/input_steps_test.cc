// The RFC 9293 §3.10.7.4 steps of lib/tcp/input.h, called one at a time: the pure verdicts
// (paws_check, trim_to_window) table-driven on both sides of each edge, and each step's
// Continue/Stop with the exact segments, events and counters it leaves, on a connection built
// by the scenario harness (named states, recording Sink).
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "tcp/input.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using detail::InWindow;
using detail::Paws;
using detail::Step;
using V = std::vector<std::string>;

// --- paws_check: RFC 7323 §5.3 R1, with the §5.5 24-day exception, on (Tcb, Segment, now).

struct PawsCase {
  const char* name;
  bool ts_ok;       // timestamps negotiated
  bool seg_ts;      // the segment carries the option
  uint8_t flags;    // of the segment
  uint32_t recent;  // TS.Recent
  uint32_t tsval;   // SEG.TSval
  Ticks idle;       // now - the time TS.Recent was taken
  Paws expected;

  friend void PrintTo(const PawsCase& c, std::ostream* os) { *os << c.name; }
};

class PawsCheck : public ::testing::TestWithParam<PawsCase> {};

TEST_P(PawsCheck, Rfc7323_5_3_R1) {
  const PawsCase& c = GetParam();
  const Ticks taken = Ticks::from_sec(100);
  Tcb<TestBuf> t;
  t.ts_ok = c.ts_ok;
  t.ts_recent = TsVal(c.recent);
  t.ts_recent_age = taken;
  Seg seg;
  seg.flags = static_cast<uint8_t>(c.flags | kAck);
  seg.opts.has_timestamps = c.seg_ts;
  seg.opts.tsval = c.tsval;
  EXPECT_EQ(detail::paws_check(t, seg, taken + c.idle), c.expected);
}

constexpr Ticks kJustNow = Ticks::from_ms(10);
constexpr Ticks kOneUs = Ticks::from_us(1);

INSTANTIATE_TEST_SUITE_P(
    Cases, PawsCheck,
    ::testing::Values(
        PawsCase{"not_negotiated", false, true, 0, 1000, 999, kJustNow, Paws::kPass},
        PawsCase{"segment_without_option", true, false, 0, 1000, 999, kJustNow, Paws::kPass},
        PawsCase{"newer", true, true, 0, 1000, 1001, kJustNow, Paws::kPass},
        PawsCase{"equal", true, true, 0, 1000, 1000, kJustNow, Paws::kPass},
        PawsCase{"older", true, true, 0, 1000, 999, kJustNow, Paws::kFail},
        PawsCase{"older_fin", true, true, kFin, 1000, 999, kJustNow, Paws::kFail},
        PawsCase{"older_rst_not_subject", true, true, kRst, 1000, 999, kJustNow, Paws::kPass},
        PawsCase{"newer_across_wrap", true, true, 0, 0xfffffff0u, 0x10, kJustNow, Paws::kPass},
        PawsCase{"older_across_wrap", true, true, 0, 0x10, 0xfffffff0u, kJustNow, Paws::kFail},
        PawsCase{"older_idle_exactly_24_days", true, true, 0, 1000, 999, detail::kPawsIdle,
                 Paws::kFail},
        PawsCase{"older_idle_past_24_days", true, true, 0, 1000, 999, detail::kPawsIdle + kOneUs,
                 Paws::kExpired},
        PawsCase{"newer_idle_past_24_days", true, true, 0, 1000, 1001, detail::kPawsIdle + kOneUs,
                 Paws::kPass}),
    [](const ::testing::TestParamInfo<PawsCase>& i) { return std::string(i.param.name); });

// --- trim_to_window: the seventh step's trim to [RCV.NXT, RCV.NXT + RCV.WND), across 2^32.

constexpr uint32_t kRcvNxt = 0xfffffff0u;
constexpr uint32_t kOff = 3;  // where the text starts in the payload buffer

struct TrimCase {
  const char* name;
  int32_t seq;  // SEG.SEQ - RCV.NXT
  uint32_t len;
  bool fin;
  uint32_t rcv_wnd;
  int32_t want_seq;  // minus RCV.NXT
  uint32_t want_off;
  uint32_t want_len;
  bool want_fin;

  friend void PrintTo(const TrimCase& c, std::ostream* os) { *os << c.name; }
};

class TrimToWindow : public ::testing::TestWithParam<TrimCase> {};

TEST_P(TrimToWindow, Rfc9293_3_10_7_4_Seventh) {
  const TrimCase& c = GetParam();
  Seg seg;
  seg.seq = SeqNum(kRcvNxt + static_cast<uint32_t>(c.seq));
  seg.flags = static_cast<uint8_t>(kAck | (c.fin ? kFin : 0));
  seg.len = c.len;
  seg.payload_off = kOff;
  const InWindow w = detail::trim_to_window(seg, SeqNum(kRcvNxt), c.rcv_wnd);
  EXPECT_EQ(w.seq, SeqNum(kRcvNxt + static_cast<uint32_t>(c.want_seq)));
  EXPECT_EQ(w.off, c.want_off);
  EXPECT_EQ(w.len, c.want_len);
  EXPECT_EQ(w.fin, c.want_fin);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TrimToWindow,
    ::testing::Values(
        TrimCase{"inside", 0, 100, false, 1000, 0, kOff, 100, false},
        TrimCase{"inside_with_fin", 10, 100, true, 1000, 10, kOff, 100, true},
        TrimCase{"starts_below_rcv_nxt", -10, 30, false, 1000, 0, kOff + 10, 20, false},
        TrimCase{"all_below_rcv_nxt", -50, 30, false, 1000, -20, kOff + 30, 0, false},
        TrimCase{"ends_at_right_edge_keeps_fin", 990, 10, true, 1000, 990, kOff, 10, true},
        TrimCase{"ends_past_right_edge_drops_fin", 990, 11, true, 1000, 990, kOff, 10, false},
        TrimCase{"both_edges", -10, 1020, true, 1000, 0, kOff + 10, 1000, false},
        TrimCase{"zero_window", 0, 10, true, 0, 0, kOff, 0, false},
        TrimCase{"zero_window_bare_fin", 0, 0, true, 0, 0, kOff, 0, true}),
    [](const ::testing::TestParamInfo<TrimCase>& i) { return std::string(i.param.name); });

// --- The steps on a connection: Continue or Stop, and exactly what each leaves behind.

class InputSteps : public Scenario {
 protected:
  // Established with timestamps (our TS clock = now in ms); the peer's TSval starts at t0.
  void established_ts(uint32_t t0) {
    cfg.timestamps = true;
    tcp::connect(tcb, cfg, SeqNum(kIss), 0, now, sink);
    in(S().seq(kPeerIss).ack(L).flags(kSyn).win(10000).mss(1000).ts(t0, 100000));
    out();
    events();
  }
  // LAST-ACK: the peer's FIN taken, ours sent and not yet acknowledged.
  void last_ack() {
    established_active();
    in(S().seq(P).ack(L).flags(kFin).win(100));
    ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
    ASSERT_EQ(tcb.state, State::kLastAck);
    out();
    events();
  }
  uint32_t rcv_wnd() const { return distance(tcb.rcv_nxt, tcb.rcv_adv); }

  Step check_sequence(const S& s) {
    return detail::check_sequence(tcb, s.to_segment(), rcv_wnd(), now, sink);
  }
  Step check_rst(const S& s) { return detail::check_rst(tcb, s.to_segment(), now, sink); }
  Step check_syn(const S& s) { return detail::check_syn(tcb, s.to_segment(), now, sink); }
  Step check_ack(const S& s) { return detail::check_ack(tcb, s.to_segment(), now, sink); }
  Step check_handshake_syn(const S& s) {
    return detail::check_handshake_syn(tcb, s.to_segment(), now, sink);
  }
};

// First check: sequence number (RFC 9293 §3.10.7.4), PAWS first (RFC 7323 §5.3).

TEST_F(InputSteps, CheckSequence_InWindowContinuesAndRestartsKeepalive) {
  established_active();
  tcb.probes = 2;
  at_ms(100200);
  EXPECT_EQ(check_sequence(S().seq(P + 10).ack(L).win(100).data("x")), Step::kContinue);
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(tcb.probes, 0);
  EXPECT_EQ(tcb.last_rcv, now);
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P));  // the text is the seventh step's
  EXPECT_EQ(ctr().drop_unacceptable, 0u);
}

TEST_F(InputSteps, CheckSequence_OutOfWindowIsAckedAndStops) {
  established_active();
  at_ms(100200);
  EXPECT_EQ(check_sequence(S().seq(P + W).ack(L).win(100).data("x")), Step::kStop);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W)}));
  EXPECT_EQ(ctr().drop_unacceptable, 1u);
  EXPECT_EQ(tcb.last_rcv, Ticks::from_sec(100));  // not news from the peer
}

TEST_F(InputSteps, CheckSequence_OutOfWindowRstIsDroppedSilently) {
  established_active();
  EXPECT_EQ(check_sequence(S().seq(P - 1).flags(kRst)), Step::kStop);
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(ctr().drop_unacceptable, 1u);
  EXPECT_EQ(ctr().drop_rst_out_of_window, 1u);
  EXPECT_EQ(tcb.state, State::kEstablished);
}

TEST_F(InputSteps, CheckSequence_UsesTheWindowItIsGiven) {
  established_active();
  ASSERT_EQ(rcv_wnd(), W);
  // RCV.WND = 0: only a zero-length segment at RCV.NXT is acceptable.
  EXPECT_EQ(detail::check_sequence(tcb, S().seq(P).ack(L).to_segment(), 0, now, sink),
            Step::kContinue);
  EXPECT_EQ(detail::check_sequence(tcb, S().seq(P).ack(L).data("x").to_segment(), 0, now, sink),
            Step::kStop);
  EXPECT_EQ(ctr().drop_unacceptable, 1u);
}

TEST_F(InputSteps, CheckSequence_PawsFailingIsAckedAndStops) {
  established_ts(500);
  EXPECT_EQ(check_sequence(S().seq(P).ack(L).win(100).ts(499, 100000).data("old")), Step::kStop);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W).ts(100000, 500)}));
  EXPECT_EQ(ctr().paws_drops, 1u);
  EXPECT_EQ(ctr().drop_unacceptable, 0u);
  EXPECT_EQ(tcb.ts_recent, TsVal(500));
}

TEST_F(InputSteps, CheckSequence_PawsFailingRstGoesOn) {
  established_ts(500);
  EXPECT_EQ(check_sequence(S().seq(P).flags(kRst).ts(1, 0)), Step::kContinue);
  EXPECT_EQ(ctr().paws_drops, 0u);
  EXPECT_EQ(out(), V{});
}

TEST_F(InputSteps, CheckSequence_PawsAfter24DaysIdleTakesTsval) {
  established_ts(500);
  now = now + detail::kPawsIdle + Ticks::from_ms(1);
  EXPECT_EQ(check_sequence(S().seq(P).ack(L).win(100).ts(400, 100000).data("b")), Step::kContinue);
  EXPECT_EQ(tcb.ts_recent, TsVal(400));
  EXPECT_EQ(tcb.ts_recent_age, now);
  EXPECT_EQ(ctr().paws_drops, 0u);
}

// Second check: RST (RFC 9293 §3.10.7.4, RFC 5961 §3.2).

TEST_F(InputSteps, CheckRst_NoRstGoesOn) {
  established_active();
  EXPECT_EQ(check_rst(S().seq(P + 100).ack(L)), Step::kContinue);
  EXPECT_EQ(out(), V{});
  EXPECT_EQ(events(), V{});
}

TEST_F(InputSteps, CheckRst_InWindowNotExactDrawsChallengeAck) {
  established_active();
  EXPECT_EQ(check_rst(S().seq(P + 100).flags(kRst)), Step::kStop);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W)}));
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(ctr().drop_rst_in_window, 1u);
  EXPECT_EQ(ctr().challenge_acks, 1u);
}

TEST_F(InputSteps, CheckRst_AtRcvNxtResets) {
  established_active();
  EXPECT_EQ(check_rst(S().seq(P).flags(kRst)), Step::kStop);
  EXPECT_EQ(events(), V{"closed:reset"});
  EXPECT_EQ(tcb.state, State::kClosed);
  EXPECT_EQ(out(), V{});
}

TEST_F(InputSteps, CheckRst_SimultaneousOpenIsRefused) {
  syn_sent();
  in(S().seq(kPeerIss).flags(kSyn).win(8000));
  ASSERT_EQ(tcb.state, State::kSynReceived);
  out();
  EXPECT_EQ(check_rst(S().seq(P).flags(kRst)), Step::kStop);
  EXPECT_EQ(events(), V{"closed:refused"});
}

// Fourth check: SYN (RFC 9293 §3.10.7.4, RFC 5961 §4.2).

TEST_F(InputSteps, CheckSyn_NoSynGoesOn) {
  established_active();
  EXPECT_EQ(check_syn(S().seq(P).ack(L)), Step::kContinue);
  EXPECT_EQ(ctr().drop_syn_synchronized, 0u);
}

TEST_F(InputSteps, CheckSyn_SynInEstablishedDrawsChallengeAck) {
  established_active();
  EXPECT_EQ(check_syn(S().seq(P + 500).flags(kSyn).win(100)), Step::kStop);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W)}));
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(ctr().drop_syn_synchronized, 1u);
  EXPECT_EQ(ctr().challenge_acks, 1u);
}

TEST_F(InputSteps, CheckSyn_SynInPassiveSynReceivedDropsTcb) {
  syn_received();
  out();
  EXPECT_EQ(check_syn(S().seq(P + 10).flags(kSyn).win(100)), Step::kStop);
  EXPECT_EQ(events(), V{"closed:reset"});
  EXPECT_EQ(out(), V{});
}

// Before the first check, SYN-RECEIVED: the peer's SYN again, or its SYN,ACK.

TEST_F(InputSteps, CheckHandshakeSyn_DuplicateSynResendsSynAck) {
  syn_received();
  out();
  EXPECT_EQ(check_handshake_syn(S().seq(kPeerIss).flags(kSyn).win(10000).mss(1000)), Step::kStop);
  EXPECT_EQ(out(), strs({S().seq(kIss).ack(P).flags(kSyn).win(W).mss(1460)}));
}

TEST_F(InputSteps, CheckHandshakeSyn_SynAtIrsInEstablishedGoesOn) {
  established_active();
  EXPECT_EQ(check_handshake_syn(S().seq(kPeerIss).flags(kSyn).win(10000)), Step::kContinue);
  EXPECT_EQ(out(), V{});
}

// Fifth check: ACK (RFC 9293 §3.10.7.4, RFC 5961 §5.2).

TEST_F(InputSteps, CheckAck_NoAckBitStops) {
  established_active();
  EXPECT_EQ(check_ack(S().seq(P).win(100).data("x")), Step::kStop);
  EXPECT_EQ(ctr().drop_no_ack, 1u);
  EXPECT_EQ(out(), V{});
}

TEST_F(InputSteps, CheckAck_SynReceivedUnacceptableAckDrawsRst) {
  syn_received();
  out();
  EXPECT_EQ(check_ack(S().seq(P).ack(L + 5).win(100)), Step::kStop);
  EXPECT_EQ(out(), strs({S().seq(L + 5).flags(kRst)}));
  EXPECT_EQ(tcb.state, State::kSynReceived);
  EXPECT_EQ(ctr().drop_unacceptable, 1u);
}

TEST_F(InputSteps, CheckAck_SynReceivedAckOfSynEstablishesAndGoesOn) {
  syn_received();
  out();
  EXPECT_EQ(check_ack(S().seq(P).ack(L).win(100)), Step::kContinue);
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(events(), V{"connected"});
}

TEST_F(InputSteps, CheckAck_AckOfUnsentDataDrawsChallengeAck) {
  established_active();
  EXPECT_EQ(check_ack(S().seq(P).ack(L + 100).win(100)), Step::kStop);
  EXPECT_EQ(out(), strs({S().seq(L).ack(P).win(W)}));
  EXPECT_EQ(ctr().drop_ack_unsent, 1u);
  EXPECT_EQ(ctr().challenge_acks, 1u);
}

TEST_F(InputSteps, CheckAck_FinWait1AckOfFinGoesOnInFinWait2) {
  established_active();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  out();
  EXPECT_EQ(check_ack(S().seq(P).ack(L + 1).win(100)), Step::kContinue);
  EXPECT_EQ(tcb.state, State::kFinWait2);
}

TEST_F(InputSteps, CheckAck_LastAckAckOfFinCloses) {
  last_ack();
  EXPECT_EQ(check_ack(S().seq(P + 1).ack(L + 1).win(100)), Step::kStop);
  EXPECT_EQ(events(), V{"closed:normal"});
  EXPECT_EQ(tcb.state, State::kClosed);
}

TEST_F(InputSteps, CheckAck_LastAckOlderAckGoesOn) {
  last_ack();
  EXPECT_EQ(check_ack(S().seq(P + 1).ack(L).win(100)), Step::kContinue);
  EXPECT_EQ(tcb.state, State::kLastAck);
  EXPECT_EQ(events(), V{});
}

// Seventh step: text, only where the peer may still send.

TEST_F(InputSteps, ProcessText_InOrderTextIsDelivered) {
  established_active();
  const Seg seg = S().seq(P).ack(L).win(100).data("hello").to_segment();
  const InWindow w = detail::trim_to_window(seg, tcb.rcv_nxt, rcv_wnd());
  EXPECT_TRUE(detail::process_text(tcb, seg, w, now, sink));
  EXPECT_EQ(events(), V{"data:hello"});
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P + 5));
}

TEST_F(InputSteps, ProcessText_OutOfOrderTextIsHeldNotInOrder) {
  established_active();
  const Seg seg = S().seq(P + 10).ack(L).win(100).data("later").to_segment();
  const InWindow w = detail::trim_to_window(seg, tcb.rcv_nxt, rcv_wnd());
  EXPECT_FALSE(detail::process_text(tcb, seg, w, now, sink));
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P));
  EXPECT_EQ(ctr().ooo_queued, 1u);
  EXPECT_TRUE(tcb.ack_now);
}

TEST_F(InputSteps, ProcessText_TextAfterPeerFinIsCountedAndIgnored) {
  established_active();
  in(S().seq(P).ack(L).flags(kFin).win(100));
  ASSERT_EQ(tcb.state, State::kCloseWait);
  events();
  const Seg seg = S().seq(P + 1).ack(L).win(100).data("late").to_segment();
  const InWindow w = detail::trim_to_window(seg, tcb.rcv_nxt, rcv_wnd());
  EXPECT_TRUE(detail::process_text(tcb, seg, w, now, sink));
  EXPECT_EQ(events(), V{});
  EXPECT_EQ(ctr().drop_data_after_close, 1u);
}

// Eighth check: FIN, in sequence only.

TEST_F(InputSteps, ProcessFin_InOrderFinEntersCloseWait) {
  established_active();
  EXPECT_EQ(detail::process_fin(tcb, InWindow{SeqNum(P), 0, 0, true}, true, now, sink),
            Step::kContinue);
  EXPECT_EQ(tcb.state, State::kCloseWait);
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P + 1));
  EXPECT_TRUE(tcb.ack_now);
  EXPECT_EQ(events(), V{"peer_fin"});
}

TEST_F(InputSteps, ProcessFin_FinAfterMissingTextIsIgnored) {
  established_active();
  // The text before it is not all in, or the FIN lies beyond RCV.NXT.
  EXPECT_EQ(detail::process_fin(tcb, InWindow{SeqNum(P), 0, 0, true}, false, now, sink),
            Step::kContinue);
  EXPECT_EQ(detail::process_fin(tcb, InWindow{SeqNum(P + 10), 0, 0, true}, true, now, sink),
            Step::kContinue);
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P));
  EXPECT_FALSE(tcb.peer_fin);
  EXPECT_EQ(events(), V{});
}

TEST_F(InputSteps, ProcessFin_FinInFinWait2EntersTimeWaitAndStops) {
  established_active();
  ASSERT_TRUE(tcp::close(tcb, now, sink).ok());
  in(S().seq(P).ack(L + 1).win(100));
  ASSERT_EQ(tcb.state, State::kFinWait2);
  out();
  EXPECT_EQ(detail::process_fin(tcb, InWindow{SeqNum(P), 0, 0, true}, true, now, sink),
            Step::kStop);
  EXPECT_EQ(events(), (V{"peer_fin", "time_wait"}));
  EXPECT_EQ(out(), strs({S().seq(L + 1).ack(P + 1).win(W - 1)}));
  EXPECT_EQ(tcb.state, State::kTimeWait);
}

}  // namespace
}  // namespace tempo::tcp::test
