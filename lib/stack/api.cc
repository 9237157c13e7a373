// The embedding API (tempo/stack.h, tempo/bytes.h) over the Runtime and its Workers: thin,
// out-of-line forwarding, so that an embedder's code sees no DPDK or internal header.
#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <cstring>

#include <rte_mbuf.h>

#include <tempo/bytes.h>
#include <tempo/stack.h>

#include "stack/counter_export.h"
#include "stack/endpoints.h"
#include "stack/lend.h"
#include "stack/runtime.h"
#include "stack/worker.h"

namespace tempo {

// --- Bytes --------------------------------------------------------------------------------

using stack::MbufBuf;

Bytes::Bytes(const Bytes& o) noexcept : m_(o.m_), off_(o.off_), len_(o.len_) {
  MbufBuf::ref_chain(m_);
}

Bytes& Bytes::operator=(const Bytes& o) noexcept {
  if (this != &o) {
    MbufBuf::ref_chain(o.m_);
    if (m_ != nullptr) {
      rte_pktmbuf_free(m_);
    }
    m_ = o.m_;
    off_ = o.off_;
    len_ = o.len_;
  }
  return *this;
}

Bytes& Bytes::operator=(Bytes&& o) noexcept {
  if (this != &o) {
    if (m_ != nullptr) {
      rte_pktmbuf_free(m_);
    }
    m_ = std::exchange(o.m_, nullptr);
    off_ = o.off_;
    len_ = std::exchange(o.len_, 0);
  }
  return *this;
}

Bytes::~Bytes() {
  if (m_ != nullptr) {
    rte_pktmbuf_free(m_);
  }
}

Bytes Bytes::slice(uint32_t off, uint32_t len) const noexcept {
  off = std::min(off, len_);
  len = std::min(len, len_ - off);
  MbufBuf::ref_chain(m_);
  return Bytes(m_, off_ + off, len);
}

size_t Bytes::copy_to(uint32_t off, std::span<std::byte> dst) const noexcept {
  if (off >= len_) {
    return 0;
  }
  const auto n = static_cast<uint32_t>(std::min<size_t>(dst.size(), len_ - off));
  MbufBuf::read(m_, off_ + off, n, dst.data());
  return n;
}

size_t Bytes::spans(uint32_t from, std::span<std::span<const std::byte>> out) const noexcept {
  size_t n = 0;
  uint32_t skip = off_ + from;
  uint32_t left = from < len_ ? len_ - from : 0;
  for (const rte_mbuf* s = m_; s != nullptr && left > 0 && n < out.size(); s = s->next) {
    if (skip >= s->data_len) {
      skip -= s->data_len;
      continue;
    }
    const uint32_t take = std::min<uint32_t>(left, s->data_len - skip);
    out[n++] = {rte_pktmbuf_mtod_offset(s, const std::byte*, skip), take};
    left -= take;
    skip = 0;
  }
  return n;
}

// --- names ---------------------------------------------------------------------------------

const char* to_string(CloseReason r) noexcept {
  switch (r) {
    case CloseReason::kNormal:
      return "closed";
    case CloseReason::kReset:
      return "reset by peer";
    case CloseReason::kRefused:
      return "connection refused";
    case CloseReason::kTimeout:
      return "timed out";
    case CloseReason::kKeepaliveTimeout:
      return "keepalive timed out";
    case CloseReason::kFinWait2Timeout:
      return "FIN-WAIT-2 timed out";
    case CloseReason::kAborted:
      return "aborted";
    case CloseReason::kUnreachable:
      return "unreachable";
  }
  return "?";
}

const char* to_string(LendError e) noexcept {
  switch (e) {
    case LendError::kEmpty:
      return "nothing to lend";
    case LendError::kNoBuffers:
      return "the port's pool has no mbufs for it";
    case LendError::kNotDma:
      return "the port cannot reach that memory (IOVA as physical addresses)";
    case LendError::kNoPort:
      return "the worker has no such port";
  }
  return "?";
}

const char* to_string(ConnectError e) noexcept {
  switch (e) {
    case ConnectError::kNoTcp:
      return "TCP is not set up on this worker";
    case ConnectError::kNoAddress:
      return "the port has no address of the remote's family";
    case ConnectError::kNoRoute:
      return "no route to the remote";
    case ConnectError::kNoLocalPort:
      return "no free local port toward the remote";
    case ConnectError::kNoSlot:
      return "no free connection slot";
  }
  return "?";
}

std::string Endpoint::to_string() const {
  char addr[INET6_ADDRSTRLEN];
  char out[INET6_ADDRSTRLEN + 16];
  if (v6) {
    inet_ntop(AF_INET6, ip6.bytes.data(), addr, sizeof addr);
    std::snprintf(out, sizeof out, "[%s]:%u", addr, unsigned{port});
  } else {
    inet_ntop(AF_INET, ip4.bytes.data(), addr, sizeof addr);
    std::snprintf(out, sizeof out, "%s:%u", addr, unsigned{port});
  }
  return out;
}

// --- Stack ---------------------------------------------------------------------------------

Stack::Stack(std::unique_ptr<stack::Runtime> rt) : rt_(std::move(rt)) {}
Stack::~Stack() = default;

Result<std::unique_ptr<Stack>, std::string> Stack::start(const Config& config,
                                                         const std::string& program) {
  auto rt = stack::Runtime::start(config, program);
  if (!rt) {
    return fail(rt.error());
  }
  return std::unique_ptr<Stack>(new Stack(std::move(*rt)));
}

size_t Stack::num_workers() const noexcept { return rt_->workers().size(); }
Worker& Stack::worker(size_t i) noexcept { return *rt_->workers()[i]; }
void Stack::listen(uint16_t port, const Handler* handler, const ConnOptions& opts,
                   const ListenOptions& how) {
  rt_->listen(port, handler, opts, how);
}
void Stack::run() { rt_->run(); }
void Stack::set_worker_state(const WorkerState& state) noexcept { rt_->set_worker_state(state); }
void Stack::set_drain_options(const DrainOptions& opts) noexcept { rt_->set_drain_options(opts); }
void Stack::request_drain() noexcept { stack::Runtime::request_drain(); }
void drain(Worker& w, const DrainOptions& opts) noexcept { w.drain(opts); }
bool draining(const Worker& w) noexcept { return w.draining(); }
Result<CounterId, std::string> Stack::add_counter(std::string_view name) {
  return rt_->add_counter(name);
}
void Stack::request_stop() noexcept { stack::Runtime::request_stop(); }
void Stack::install_signal_handlers() { stack::Runtime::install_signal_handlers(); }
void Stack::print_counters(std::FILE* out) const { rt_->print_counters(out); }
uint64_t Stack::counter(std::string_view name) const { return rt_->counter(name); }

int serve(const Config& config, const std::string& program, uint16_t port, const Handler* handler,
          const std::string& banner) {
  return stack::serve(config, program, port, handler, ConnOptions{}, banner);
}

int serve(const Config& config, const std::string& program, uint16_t port, const Handler* handler,
          const ConnOptions& opts, const std::string& banner) {
  return stack::serve(config, program, port, handler, opts, banner);
}

// --- Worker --------------------------------------------------------------------------------

uint16_t worker_index(const Worker& w) noexcept { return w.index(); }

void listen(Worker& w, uint16_t port, const Handler* handler, const ConnOptions& opts,
            const ListenOptions& how) {
  w.listen(port, handler, opts, how);
}
bool unlisten(Worker& w, uint16_t port, const std::optional<Endpoint>& local) noexcept {
  return w.unlisten(port, local);
}

namespace {
wire::Ipv4Addr to_wire(const Ipv4Addr& a) {
  return wire::Ipv4Addr(a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]);
}
stack::Remote to_remote(const Endpoint& remote) {
  stack::Remote r;
  r.v6 = remote.v6;
  r.port = remote.port;
  if (remote.v6) {
    r.ip6 = wire::Ipv6Addr(remote.ip6.bytes);
  } else {
    r.ip4 = to_wire(remote.ip4);
  }
  return r;
}
}  // namespace

Result<Conn*, ConnectError> connect(Worker& w, const Endpoint& remote, const Handler* handler,
                                    void* user, const ConnOptions& opts,
                                    size_t port_index) noexcept {
  return w.connect(port_index, to_remote(remote), handler, user, opts);
}

Result<Conn*, ConnectError> connect_from(Worker& w, const Endpoint& local, const Endpoint& remote,
                                         const Handler* handler, void* user,
                                         const ConnOptions& opts, size_t port_index) noexcept {
  return connect_from_ports(w, local, local.port, local.port, remote, handler, user, opts,
                            port_index);
}
Result<Conn*, ConnectError> connect_from_ports(Worker& w, const Endpoint& local, uint16_t port_lo,
                                               uint16_t port_hi, const Endpoint& remote,
                                               const Handler* handler, void* user,
                                               const ConnOptions& opts,
                                               size_t port_index) noexcept {
  if (local.v6 != remote.v6) {
    return fail(ConnectError::kNoAddress);
  }
  if ((port_lo == 0) != (port_hi == 0) || port_lo > port_hi) {
    return fail(ConnectError::kNoLocalPort);
  }
  if (local.v6) {
    return w.connect(port_index, to_remote(remote), handler, user, opts, {}, port_lo, port_hi);
  }
  const wire::Ipv4Addr src = to_wire(local.ip4);
  if (src == wire::Ipv4Addr{}) {
    return fail(ConnectError::kNoAddress);
  }
  return w.connect(port_index, to_remote(remote), handler, user, opts, src, port_lo, port_hi);
}

bool link_up(const Worker& w, size_t port_index) noexcept { return w.link_up(port_index); }
std::optional<size_t> port_toward(const Worker& w, const Endpoint& remote) noexcept {
  return w.port_toward(to_remote(remote));
}
uint64_t time_wait_entries(const Worker& w) noexcept { return w.tw_entries(); }

void* worker_state(const Worker& w) noexcept { return w.app_state(); }
void arm(Worker& w, Timer& t, uint64_t delay_ms, uint64_t period_ms) noexcept {
  w.arm_app_timer(t, delay_ms, period_ms);
}
void cancel(Worker& w, Timer& t) noexcept { w.cancel_app_timer(t); }
bool armed(const Timer& t) noexcept { return time::Wheel::armed(t.hook); }
const char* to_string(PostError e) noexcept {
  switch (e) {
    case PostError::kNoWorker:
      return "no such other worker";
    case PostError::kTooBig:
      return "payload over kMessageBytes";
    case PostError::kFull:
      return "the ring to that worker is full";
  }
  return "?";
}
Result<void, PostError> post(Worker& from, size_t to, MessageFn fn, void* ctx,
                             std::span<const std::byte> payload) noexcept {
  if (payload.size() > kMessageBytes) {
    return fail(PostError::kTooBig);
  }
  stack::AppMsg m;
  m.fn = fn;
  m.ctx = ctx;
  m.len = static_cast<uint32_t>(payload.size());
  std::copy(payload.begin(), payload.end(), m.payload.begin());
  return from.post(to, m);
}
size_t num_workers(const Worker& w) noexcept { return w.mesh_workers(); }
uint32_t send_space(const Conn& c) noexcept { return Worker::send_space(c); }
void count(Worker& w, CounterId id, uint64_t n) noexcept { w.count_app(id.index, n); }
uint64_t counter(const Worker& w, std::string_view name) {
  const Worker* one[] = {&w};
  for (const auto& [n, value] : export_counters(one, 0)) {
    if (n == name) {
      return value;
    }
  }
  return 0;
}
void set_poll_hook(Worker& w, void (*fn)(Worker&, void* ctx), void* ctx) noexcept {
  w.set_poll_hook(fn, ctx);
}
uint64_t now_ms(const Worker& w) noexcept { return w.now().ms(); }
uint32_t connections(const Worker& w) noexcept { return w.connections(); }

// --- Conn ----------------------------------------------------------------------------------

Worker& worker_of(Conn& c) noexcept { return *c.worker; }
void* user(const Conn& c) noexcept { return c.user; }
void set_user(Conn& c, void* u) noexcept { c.user = u; }
Endpoint local(const Conn& c) noexcept { return stack::local_endpoint(c.tuple()); }
Endpoint remote(const Conn& c) noexcept { return stack::remote_endpoint(c.tuple()); }
bool peer_closed(const Conn& c) noexcept { return c.tcb.peer_fin; }

ConnInfo info(const Conn& c) noexcept {
  const auto& t = c.tcb;
  ConnInfo i;
  i.state = tcp::to_string(t.state);
  i.local = local(c);
  i.remote = remote(c);
  if (t.rtt.has_sample()) {
    i.srtt_us = static_cast<uint32_t>(t.rtt.srtt().us());
    i.rttvar_us = static_cast<uint32_t>(t.rtt.rttvar().us());
  }
  i.rto_us = static_cast<uint32_t>(t.rtt.rto().us());
  i.cwnd = t.cc.cwnd();
  i.ssthresh = t.cc.ssthresh();
  i.snd_mss = t.snd_mss;
  i.rcv_mss = t.rcv_mss;
  i.snd_wnd = t.snd_wnd;
  i.rcv_wnd = t.rcv_adv > t.rcv_nxt ? tcp::distance(t.rcv_nxt, t.rcv_adv) : 0;
  i.in_flight = t.flight();
  i.snd_queue = t.sndq.bytes();
  i.rcv_held = t.rcv_held;
  i.ooo_bytes = t.ooo.bytes();
  i.retransmits = t.retransmits;
  i.bytes_acked = t.bytes_acked();
  i.bytes_received = t.bytes_received();
  i.window_scale = t.ws_ok;
  i.snd_wscale = t.ws_ok ? t.snd_wscale : 0;
  i.rcv_wscale = t.ws_ok ? t.rcv_wscale : 0;
  i.sack = t.sack_ok;
  i.timestamps = t.ts_ok;
  return i;
}

Result<void, SendError> send(Conn& c, const Bytes& data) noexcept {
  static_assert(static_cast<int>(SendError::kQueueFull) ==
                static_cast<int>(tcp::SendError::kQueueFull));
  if (data.empty()) {
    return {};
  }
  // The send queue takes its own reference (a copy); this view borrows the Bytes' one.
  stack::MbufBuf view(data.mbuf(), data.offset(), data.size());
  auto r = c.worker->send(c, view);
  (void)view.release_ref();
  if (!r) {
    return fail(static_cast<SendError>(r.error()));
  }
  return {};
}

Result<Bytes, LendError> lend(Worker& w, std::span<const std::byte> data,
                              void (*release)(void* opaque), void* opaque,
                              size_t port_index) noexcept {
  rte_mempool* pool = w.pool(port_index);
  if (pool == nullptr) {
    return fail(LendError::kNoPort);
  }
  static_assert(
      static_cast<int>(LendError::kEmpty) == static_cast<int>(stack::LendError::kEmpty) &&
      static_cast<int>(LendError::kNoBuffers) == static_cast<int>(stack::LendError::kNoBuffers) &&
      static_cast<int>(LendError::kNotDma) == static_cast<int>(stack::LendError::kNotDma));
  auto chain = stack::lend(pool, data, release, opaque, w.memif_zero_copy(port_index));
  if (!chain) {
    return fail(static_cast<LendError>(chain.error()));
  }
  return Bytes(*chain, 0, static_cast<uint32_t>(data.size()));
}
size_t send_copy(Conn& c, std::span<const std::byte> bytes) noexcept {
  return c.worker->send_copy(c, bytes);
}
void consume(Conn& c, uint32_t bytes) noexcept { c.worker->consume(c, bytes); }
void set_nagle(Conn& c, bool on) noexcept { c.worker->set_nagle(c, on); }
void shutdown(Conn& c) noexcept { c.worker->shutdown(c); }
void close(Conn& c) noexcept { c.worker->close(c); }
void abort(Conn& c) noexcept { c.worker->abort(c); }

}  // namespace tempo
