// CoreState: what the protocol core keeps per core, beside the per-connection Tcb and the
// settings (Config): counters, the challenge-ACK budget, and the memory a Worker's connections
// share. The Worker owns one and exposes it through its Sink (sink.h, `s.core()`); the core
// never touches a global, and a Config holds settings only, never per-core state.
#pragma once

#include "tcp/counters.h"
#include "tcp/rcv_budget.h"

namespace tempo::tcp {

class ChunkPool;  // send_queue.h

struct CoreState {
  Counters counters;
  ChallengeAckLimiter challenge_acks;
  // The Worker's shared receive memory, or nullptr: no bound but Config::rcv_buf. Windows stop
  // opening when it is spent, never shrink (RFC 9293 §3.8.6): the right edge already
  // advertised stays.
  RcvBudget* rcv_budget = nullptr;
  // Where send queues take chunks beyond their first 16 entries (send_queue.h), so that
  // Config::snd_buf bounds the bytes queued however many buffers carry them. nullptr: 16 at
  // most.
  ChunkPool* sndq_pool = nullptr;
  // Where out-of-order queues take their large array beyond 8 pieces (reassembly.h), so that
  // one loss in a large window does not drop everything after the eighth segment behind it.
  // nullptr: 8 at most.
  ChunkPool* ooo_pool = nullptr;
};

}  // namespace tempo::tcp
