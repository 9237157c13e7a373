// What a Worker does when the process stops: its connections are reset, not left to time out
// at their peers (a peer whose server vanished silently waits for its own keepalive or RTO).
#include <algorithm>

#include "stack/worker.h"

namespace tempo::stack {

template <class F>
uint32_t Worker::for_each_open(F&& f) noexcept {
  uint32_t n = 0;
  for (Conn& c : conns_.all()) {
    // A callback of an earlier abort or close (on_closed) may have closed or freed later slots.
    if (!c.in_use || c.dead) {
      continue;
    }
    f(c);
    ++n;
  }
  for (Port& p : ports_) {
    tso_flush(p);
    flush(p);
  }
  rx_mem_.release_packs();
  return n;
}

uint32_t Worker::reset_all() noexcept {
  const uint32_t reset = for_each_open([this](Conn& c) { abort(c); });
  counters_.tcp_reset_on_stop += reset;
  return reset;
}

void Worker::drain(const DrainOptions& o) noexcept {
  conns_.unlisten_all();
  drain_ = Drain{.active = true,
                 .closed_rest = false,
                 .deadline = now_ + Ticks::from_ms(o.deadline_ms),
                 .opts = o};
}

void Worker::drain_step() noexcept {
  if (connections() == 0) {
    drain_.active = false;
    if (drain_.opts.on_drained != nullptr) {
      drain_.opts.on_drained(*this, drain_.opts.ctx);
    }
    return;
  }
  if (now_ < drain_.deadline) {
    return;
  }
  if (drain_.opts.reset_rest || drain_.closed_rest) {
    reset_all();
    drain_.deadline = now_ + Ticks::from_ms(1000);  // on_closed callbacks may open more
    return;
  }
  close_all();
  drain_.closed_rest = true;
  drain_.deadline = now_ + Ticks::from_ms(std::max<uint64_t>(drain_.opts.deadline_ms, 1000));
}

uint32_t Worker::close_all() noexcept {
  const uint32_t closed = for_each_open([this](Conn& c) { close(c); });
  counters_.tcp_closed_on_stop += closed;
  return closed;
}

}  // namespace tempo::stack
