// RFC 9293 §3.10.7.4 first check: the four cases of the segment acceptability table, on both
// sides of every edge, table-driven. Unacceptable segments draw <SEQ=SND.NXT><ACK=RCV.NXT><ACK>
// (nothing for an RST) and are dropped.
#include "harness.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;
using V = std::vector<std::string>;

struct Case {
  const char* name;
  uint32_t rcv_wnd;   // window we advertised: 0 or 1000
  int32_t seq_delta;  // SEG.SEQ - RCV.NXT
  uint32_t len;       // payload bytes
  bool acceptable;
};

class Acceptability : public Scenario, public ::testing::WithParamInterface<Case> {};

TEST_P(Acceptability, Rfc9293_3_10_7_4_Table) {
  const Case& c = GetParam();
  cfg.rcv_buf = c.rcv_wnd;  // the window we advertise (and keep: SWS avoidance holds it)
  established_passive();
  ASSERT_EQ(distance(tcb.rcv_nxt, tcb.rcv_adv), c.rcv_wnd);
  const SeqNum rcv_nxt = tcb.rcv_nxt;
  const uint32_t seq = rcv_nxt.raw() + static_cast<uint32_t>(c.seq_delta);
  in(S().seq(seq).ack(L).win(10000).data(std::string(c.len, 'x')));
  if (c.acceptable) {
    EXPECT_EQ(ctr().drop_unacceptable, 0u);
  } else {
    EXPECT_EQ(ctr().drop_unacceptable, 1u);
    EXPECT_EQ(out(), strs({S().seq(L).ack(rcv_nxt.raw()).win(static_cast<uint16_t>(c.rcv_wnd))}));
    EXPECT_EQ(tcb.rcv_nxt, rcv_nxt);
    EXPECT_EQ(events(), V{});
  }
}

INSTANTIATE_TEST_SUITE_P(FourCases, Acceptability,
                         ::testing::Values(
                             // len = 0, wnd = 0: SEG.SEQ = RCV.NXT
                             Case{"len0_wnd0_at_rcv_nxt", 0, 0, 0, true},
                             Case{"len0_wnd0_after", 0, 1, 0, false},
                             Case{"len0_wnd0_before", 0, -1, 0, false},
                             // len = 0, wnd > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
                             Case{"len0_wnd_at_left_edge", 1000, 0, 0, true},
                             Case{"len0_wnd_last_in_window", 1000, 999, 0, true},
                             Case{"len0_wnd_at_right_edge", 1000, 1000, 0, false},
                             Case{"len0_wnd_before_left_edge", 1000, -1, 0, false},
                             // len > 0, wnd = 0: never
                             Case{"len_wnd0_at_rcv_nxt", 0, 0, 10, false},
                             // len > 0, wnd > 0: either end inside the window
                             Case{"len_wnd_starts_inside", 1000, 990, 20, true},
                             Case{"len_wnd_ends_inside", 1000, -10, 11, true},
                             Case{"len_wnd_ends_at_left_edge", 1000, -10, 10, false},
                             Case{"len_wnd_starts_at_right_edge", 1000, 1000, 10, false},
                             // across the 2^32 wrap nothing changes
                             Case{"len_wnd_old_duplicate", 1000, -100000, 10, false}),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.name);
                         });

class AcceptabilityWrap : public Scenario {};

TEST_F(AcceptabilityWrap, Rfc9293_3_4_SequenceSpaceWraps) {
  // The peer's ISS sits just below 2^32: its data crosses the wrap.
  tcp::open_passive(tcb, cfg, SeqNum(kIss));
  in(S().seq(0xFFFFFFF0u).flags(kSyn).win(10000));
  in(S().seq(0xFFFFFFF1u).ack(L).win(10000));
  out();
  events();
  in(S().seq(0xFFFFFFF1u).ack(L).win(10000).data(std::string(20, 'w')));
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(0x00000005u));
  EXPECT_EQ(ctr().drop_unacceptable, 0u);
  in(S().seq(0x00000005u).ack(L).win(10000).data("z"));
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(0x00000006u));
}

}  // namespace
}  // namespace tempo::tcp::test
