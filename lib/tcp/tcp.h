// The protocol core in one include: what the Worker calls.
//   tcp::open_passive / tcp::connect       open (user.h)
//   tcp::input                             a segment arrives (input.h)
//   tcp::on_timer                          a timer fired (timers.h)
//   tcp::send / consume / shutdown / close / abort / set_nagle   user calls (user.h)
//   tcp::reply_closed                      a segment for no connection (input.h)
//   tcp::cookie_syn_ack / open_from_cookie SYN cookies, backlog full (cookie_open.h)
#pragma once

#include "tcp/buffer.h"
#include "tcp/config.h"
#include "tcp/cookie_open.h"
#include "tcp/core_state.h"
#include "tcp/counters.h"
#include "tcp/input.h"
#include "tcp/segment.h"
#include "tcp/seq.h"
#include "tcp/sink.h"
#include "tcp/state.h"
#include "tcp/tcb.h"
#include "tcp/timers.h"
#include "tcp/user.h"
