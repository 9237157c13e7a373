// The Worker's connections once open: finish() (what the application queued during a call into
// the protocol core, and the connection's lists after it), freeing a slot, timers, the windows
// the receive budget held shut, and the application's calls (stack/conn.h): send, send_copy
// and the send budget's waits (stack/tx_budget.h), consume, Nagle, shutdown, close, abort.
#include <algorithm>
#include <cstring>

#include "stack/worker.h"
#include "stack/worker_detail.h"

namespace tempo::stack {

using namespace detail;  // NOLINT: the Worker's own helpers

void Worker::free_conn(Conn& c) noexcept {
  tcp::detail::settle_rcv_commit(c.tcb, core_, /*gone=*/true);
  for (time::Timer& t : c.timers) {
    wheel_.cancel(t);
  }
  c.tcb = tcp::Tcb<MbufBuf>{};  // releases every queued buffer
  for (MbufBuf& b : c.pending) {
    b = MbufBuf();
  }
  c.pending_sends = 0;
  c.pending_consume = 0;
  c.pending_close = c.pending_shutdown = c.pending_abort = false;
  c.send_blocked = c.notify_writable = false;
  c.tx_wait_window = false;  // tx_wait_listed stays with the slot's place on tx_waiters_
  conns_.release(c);         // its table, its listener's backlog, the orphans, the free list
}
void Worker::finish(Conn& c) noexcept {
  // Application calls queued during the callbacks, in order: sends first (a FIN must follow
  // the data), then the window, then shutdown/close. A send the core refuses stays queued
  // until the core reports on_writable.
  while (!c.dead) {
    ConnSink sink{*this, c};
    c.in_core = true;
    if (c.pending_abort) {
      c.pending_abort = false;
      tcp::abort(c.tcb, sink);
    } else if (c.pending_sends > 0 && !c.send_blocked) {
      uint8_t sent = 0;
      while (sent < c.pending_sends && tcp::send(c.tcb, c.pending[sent], now_, sink)) {
        c.pending[sent++] = MbufBuf();
      }
      note_sndq(c);
      c.send_blocked = sent < c.pending_sends;
      std::move(c.pending.begin() + sent, c.pending.begin() + c.pending_sends, c.pending.begin());
      c.pending_sends = static_cast<uint8_t>(c.pending_sends - sent);
    } else if (c.pending_consume > 0) {
      const uint32_t n = c.pending_consume;
      c.pending_consume = 0;
      tcp::consume(c.tcb, n, now_, sink);
    } else if (c.pending_sends == 0 && c.pending_shutdown) {
      c.pending_shutdown = false;
      (void)tcp::shutdown(c.tcb, now_, sink);
    } else if (c.pending_sends == 0 && c.pending_close) {
      c.pending_close = false;
      if (conns_.orphans() >= wcfg_.max_orphans) {
        // Too many connections nobody waits for (Linux "too many orphaned sockets"): this one
        // is reset rather than left to finish.
        counters_.tcp_orphans_reset++;
        tcp::abort(c.tcb, sink);
      } else {
        (void)tcp::close(c.tcb, now_, sink);
        if (!c.dead && c.tcb.orphan) {
          conns_.orphan(c);
        }
      }
    } else {
      break;
    }
  }
  c.in_core = false;
  tso_flush(ports_[c.iface]);
  if (c.dead) {
    free_conn(c);
    return;
  }
  rx_mem_.note(c, conns_.slot_of(c), core_);
  if (c.tx_wait_window && TxBudget::window_allows(queued_bytes(c), c.tcb.snd_wnd, c.tcb.snd_mss))
      [[unlikely]] {
    c.tx_wait_window = false;  // the peer's window opened (or the queue drained): go on
    counters_.tcp_tx_woken++;
    c.notify_writable = true;
  }
  if (c.notify_writable && c.pending_sends == 0) {
    // ConnOptions::writable_lowat: not before the queue has drained to it; the core reports
    // that (on an ACK that frees data) through the same flag.
    if (const uint32_t lowat = c.tcb.cfg->writable_lowat;
        lowat != 0 && queued_bytes(c) > lowat && !c.tcb.fin_queued) [[unlikely]] {
      c.tcb.want_writable = true;
      return;
    }
    c.notify_writable = false;
    if (c.app != nullptr && c.app->on_writable != nullptr) {
      c.app->on_writable(c, c.app->ctx);  // not in the core: its calls run at once
    }
  }
}
// Window updates for the connections the budget held shut (RxMemory::reopen): the update the
// peer would otherwise learn from a zero-window probe, after its persist timer backed off.
void Worker::reopen_windows() noexcept {
  rx_mem_.reopen(conns_.all(), kBurst, [&](Conn& c) {
    const tcp::SeqNum before = c.tcb.rcv_adv;
    in_core(c, [&](ConnSink& sink) { tcp::consume(c.tcb, 0, now_, sink); });
    return c.in_use && c.tcb.rcv_adv > before;
  });
}

void Worker::on_wheel_timer(time::Timer& t) noexcept {
  Conn& c = conns_.owner_of(t);
  const auto kind = static_cast<tcp::TimerKind>(&t - c.timers.data());
  in_core(c, [&](ConnSink& sink) { tcp::on_timer(c.tcb, kind, now_, sink); });
}
// --- application calls ---------------------------------------------------------------

Result<void, tcp::SendError> Worker::send(Conn& c, const MbufBuf& data) noexcept {
  // The send budget's rule 2 (stack/tx_budget.h) for every send, zero-copy ones too: no more
  // is queued than the peer's window takes (at least a segment). A zero-copy echo or relay
  // queues the very RX buffers it received: toward a peer that never reads, they would stay
  // pinned, up to tcp.snd_buf per connection, outside the receive budget's reach, and shut out
  // everyone else's windows. Refused, the application keeps the bytes unconsumed, its receive
  // window closes, and on_writable follows when the peer's window opens (finish()).
  if (!TxBudget::window_allows(queued_bytes(c), c.tcb.snd_wnd, c.tcb.snd_mss)) [[unlikely]] {
    c.tx_wait_window = true;
    counters_.tcp_tx_wait_window++;
    return fail(tcp::SendError::kQueueFull);
  }
  // Queued sends go first, in order: while any wait, this one waits behind them.
  if (c.in_core || c.pending_sends > 0) {
    if (c.pending_sends == Conn::kMaxPendingSends) {
      c.notify_writable = true;
      return fail(tcp::SendError::kQueueFull);
    }
    c.pending[c.pending_sends++] = data;
    if (!c.in_core) {
      finish(c);
    }
    return {};
  }
  return in_core(c, [&](ConnSink& sink) {
    auto r = tcp::send(c.tcb, data, now_, sink);
    note_sndq(c);
    return r;
  });
}
uint32_t Worker::queued_bytes(const Conn& c) noexcept {
  uint32_t n = c.tcb.sndq.bytes();
  for (uint8_t k = 0; k < c.pending_sends; ++k) {
    n += c.pending[k].size();
  }
  return n;
}
uint32_t Worker::send_copy(Conn& c, std::span<const std::byte> bytes_in) noexcept {
  Port& p = ports_[c.iface];
  PoolState& pools = rx_mem_.pool(c.iface);
  uint32_t taken = 0;
  uint32_t queued = queued_bytes(c);
  while (taken < bytes_in.size()) {
    // One buffer at a time, each asked of the send budget (stack/tx_budget.h); what it
    // refuses waits, and on_writable follows when it may go on.
    const TxBudget::Verdict v =
        TxBudget::may_copy(pools.tx_free, p.iface.pool->size, queued, c.tcb.snd_wnd, c.tcb.snd_mss);
    if (v == TxBudget::Verdict::kWaitWindow) {
      c.tx_wait_window = true;
      counters_.tcp_tx_wait_window++;
      break;
    }
    rte_mbuf* m = v == TxBudget::Verdict::kTake ? rte_pktmbuf_alloc(p.iface.pool) : nullptr;
    if (m == nullptr) {
      counters_.tcp_tx_wait_pool++;
      wait_for_tx_buffers(c);
      break;
    }
    --pools.tx_free;
    const auto n =
        static_cast<uint16_t>(std::min<size_t>(bytes_in.size() - taken, rte_pktmbuf_tailroom(m)));
    std::memcpy(rte_pktmbuf_append(m, n), bytes_in.data() + taken, n);
    if (!send(c, MbufBuf(m))) {
      break;  // the send queue is full: the core reports on_writable when it drains
    }
    taken += n;
    queued += n;
  }
  return taken;
}
void Worker::wait_for_tx_buffers(Conn& c) noexcept {
  if (!c.tx_wait_listed) {
    c.tx_wait_listed = true;
    tx_waiters_.push(conns_.slot_of(c));
  }
}
// The connections whose copies waited for TX buffers, oldest first, as far as the pool now
// has room for each (TxBudget::pool_allows): on_writable, and the application tries again. At
// most kBurst a turn; one the pool still has no room for goes to the back.
void Worker::wake_tx_waiters() noexcept {
  for (Port& p : ports_) {
    sample_pools(p);
  }
  tx_waiters_.visit(kBurst, [&](uint32_t slot) {
    Conn& c = conns_.at(slot);
    c.tx_wait_listed = false;
    if (!c.in_use || c.dead || c.in_core) {
      return false;
    }
    if (!TxBudget::pool_allows(rx_mem_.pool(c.iface).tx_free, ports_[c.iface].iface.pool->size,
                               queued_bytes(c))) {
      c.tx_wait_listed = true;
      return true;
    }
    counters_.tcp_tx_woken++;
    c.notify_writable = true;
    finish(c);  // runs on_writable
    return false;
  });
}
void Worker::consume(Conn& c, uint32_t n) noexcept {
  if (c.in_core) {
    c.pending_consume += n;
    return;
  }
  in_core(c, [&](ConnSink& sink) { tcp::consume(c.tcb, n, now_, sink); });
}
void Worker::apply_nagle(Conn& c) noexcept {
  if (c.opts.nagle != ConnOptions::Choice::kDefault) {
    c.tcb.nagle = c.opts.nagle == ConnOptions::Choice::kOn;
  }
}
void Worker::set_nagle(Conn& c, bool on) noexcept {
  if (c.in_core || c.dead) {
    c.tcb.nagle = on;  // takes effect at the next send decision
    return;
  }
  in_core(c, [&](ConnSink& sink) { tcp::set_nagle(c.tcb, on, now_, sink); });
}
void Worker::shutdown(Conn& c) noexcept {
  c.pending_shutdown = true;
  if (!c.in_core) {
    finish(c);
  }
}
void Worker::close(Conn& c) noexcept {
  c.pending_close = true;
  if (!c.in_core) {
    finish(c);
  }
}
void Worker::abort(Conn& c) noexcept {
  c.pending_abort = true;
  if (!c.in_core) {
    finish(c);
  }
}
}  // namespace tempo::stack
