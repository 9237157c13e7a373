// The compact TIME_WAIT record of a connection the protocol core hands off (tcp::Sink::
// on_time_wait): what the Worker inserts into its table, and what tests/hazard inserts into
// its own, so that both keep exactly the same state.
#pragma once

#include "tcp/sink.h"
#include "timewait/policy.h"
#include "timewait/record.h"

namespace tempo::timewait {

// `now`: when the connection enters TIME_WAIT (its first rate-limited ACK may go at once).
inline TwConn tw_conn(const tcp::TimeWaitInfo& tw, Ticks now) noexcept {
  return TwConn{
      .snd_nxt = tw.snd_nxt.raw(),
      .rcv_nxt = tw.rcv_nxt.raw(),
      .ts_recent = tw.ts_recent,
      .ts_recent_age = ms32(tw.ts_recent_age),
      .rcv_wnd = tw.rcv_wnd,
      .flags = tw.timestamps ? TwConn::kTsOk : uint8_t{0},
      .oow_ack = static_cast<uint8_t>(oow_stamp(now) - kOowSpacing),
  };
}

}  // namespace tempo::timewait
