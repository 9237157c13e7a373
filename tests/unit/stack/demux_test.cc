// stack::no_conn (lib/stack/demux.h): TIME_WAIT first, then CLOSED or LISTEN by the flags, and
// the SYN's answer by the backlog and the SYN cookie setting; every branch on both sides.
#include "stack/demux.h"

#include <gtest/gtest.h>

namespace tempo::stack {
namespace {

using Kind = timewait::TwDemux::Kind;
namespace f = tcp::flag;

constexpr uint8_t kSyn = f::kSyn;
constexpr uint8_t kAck = f::kAck;

NoConn verdict(uint8_t flags, bool listener = true, SynCookies cookies = SynCookies::kAuto,
               bool backlog_full = false, Kind tw = Kind::kNoEntry) {
  return no_conn(NoConnInput{.tw = tw,
                             .listener = listener,
                             .flags = flags,
                             .cookies = cookies,
                             .backlog_full = backlog_full});
}

TEST(NoConn, TimeWaitAnswersBeforeAnyListener) {
  EXPECT_EQ(verdict(kSyn, true, SynCookies::kAuto, false, Kind::kHandled), NoConn::kTimeWait);
  EXPECT_EQ(verdict(kAck, false, SynCookies::kAuto, false, Kind::kHandled), NoConn::kTimeWait);
  // A reusing SYN goes on to the listener.
  EXPECT_EQ(verdict(kSyn, true, SynCookies::kAuto, false, Kind::kReuse), NoConn::kOpen);
}

TEST(NoConn, NoListenerIsClosed) {
  EXPECT_EQ(verdict(kSyn, false), NoConn::kReset);
  EXPECT_EQ(verdict(kAck, false), NoConn::kReset);
  EXPECT_EQ(verdict(f::kRst, false), NoConn::kReset);  // reply_reset sends nothing for a RST
}

TEST(NoConn, ListenByTheFlags) {
  EXPECT_EQ(verdict(f::kRst), NoConn::kListenDrop);
  EXPECT_EQ(verdict(f::kFin), NoConn::kListenDrop);
  EXPECT_EQ(verdict(kSyn | f::kFin), NoConn::kListenDrop);
  EXPECT_EQ(verdict(kAck), NoConn::kCookieAck);
  EXPECT_EQ(verdict(kAck, true, SynCookies::kOff), NoConn::kListenReset);
  EXPECT_EQ(verdict(kSyn | kAck), NoConn::kListenReset);
  EXPECT_EQ(verdict(kSyn), NoConn::kOpen);
}

TEST(NoConn, ASynBeyondTheBacklogIsAnsweredByCookieOrDropped) {
  EXPECT_EQ(verdict(kSyn, true, SynCookies::kAuto, true), NoConn::kCookieSynAck);
  EXPECT_EQ(verdict(kSyn, true, SynCookies::kOff, true), NoConn::kRefuse);
  EXPECT_EQ(verdict(kSyn, true, SynCookies::kAlways, false), NoConn::kCookieSynAck);
  EXPECT_EQ(verdict(kSyn, true, SynCookies::kOff, false), NoConn::kOpen);
  EXPECT_EQ(no_slot(SynCookies::kAuto), NoConn::kCookieSynAck);
  EXPECT_EQ(no_slot(SynCookies::kOff), NoConn::kRefuse);
}

TEST(NoConn, OnlyAnAnsweredSynTakesAReusedTuple) {
  EXPECT_TRUE(takes_tuple(NoConn::kOpen));
  EXPECT_TRUE(takes_tuple(NoConn::kCookieSynAck));
  EXPECT_FALSE(takes_tuple(NoConn::kRefuse));
  EXPECT_FALSE(takes_tuple(NoConn::kListenDrop));
}

}  // namespace
}  // namespace tempo::stack
