// What a Worker does when the process stops: its connections are reset, not left to time out
// at their peers (a peer whose server vanished silently waits for its own keepalive or RTO).
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

uint32_t Worker::close_all() noexcept {
  const uint32_t closed = for_each_open([this](Conn& c) { close(c); });
  counters_.tcp_closed_on_stop += closed;
  return closed;
}

}  // namespace tempo::stack
