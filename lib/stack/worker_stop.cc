// What a Worker does when the process stops: its connections are reset, not left to time out
// at their peers (a peer whose server vanished silently waits for its own keepalive or RTO).
#include "stack/worker.h"

namespace tempo::stack {

uint32_t Worker::reset_all() noexcept {
  uint32_t reset = 0;
  for (Conn& c : conns_) {
    // A callback of an earlier abort (on_closed) may have closed or freed later slots.
    if (!c.in_use || c.dead) {
      continue;
    }
    abort(c);
    ++reset;
  }
  counters_.tcp_reset_on_stop += reset;
  for (Port& p : ports_) {
    tso_flush(p);
    flush(p);
  }
  return reset;
}

uint32_t Worker::close_all() noexcept {
  uint32_t closed = 0;
  for (Conn& c : conns_) {
    if (!c.in_use || c.dead) {
      continue;
    }
    close(c);
    ++closed;
  }
  counters_.tcp_closed_on_stop += closed;
  for (Port& p : ports_) {
    tso_flush(p);
    flush(p);
  }
  return closed;
}

}  // namespace tempo::stack
