// The embedding API: what an L4 proxy, a load balancer or a server includes to serve TCP from
// NIC queues (DESIGN.md "The embedding API, in one picture"). apps/tempo-proxy shows all of it.
//
//   auto stack = tempo::Stack::start(config, "myproxy");   // EAL, ports, one Worker per lcore
//   stack.value()->listen(8080, &client_handler);          // on every worker
//   stack.value()->run();                                  // until SIGINT/SIGTERM
//
// Everything after start() happens on the Workers' lcores, in callbacks: no threads of
// yours, no locks, no allocation per packet. A Worker owns its connections; a Conn and the
// Bytes it hands up are touched only from its Worker's lcore (inside its callbacks, or in the
// Worker's poll hook). Handlers are plain function tables with one context pointer: no
// std::function, no virtual call.
//
// Calls made inside a callback are queued and run as soon as the callback returns (the
// protocol is mid-segment then); outside, they run at once. A Conn stays valid until its
// on_closed returns; do not touch it after that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <tempo/bytes.h>
#include <tempo/config.h>
#include <tempo/detail/timer_hook.h>
#include <tempo/result.h>

namespace tempo {

namespace stack {
struct Conn;
class Worker;
class Runtime;
}  // namespace stack
using Conn = stack::Conn;      // one TCP connection, owned by its Worker (opaque)
using Worker = stack::Worker;  // one per lcore: its queues, connections, timers (opaque)

// Why a connection ended (on_closed).
enum class CloseReason : uint8_t {
  kNormal,            // both FINs exchanged (we may hold the tuple in TIME_WAIT)
  kReset,             // the peer reset it
  kRefused,           // our SYN was answered with RST (nothing listens there)
  kTimeout,           // retransmissions (or SYN retries) exhausted
  kKeepaliveTimeout,  // keepalive probes went unanswered
  kFinWait2Timeout,   // the peer never sent its FIN after ours
  kAborted,           // abort() on this side
  kUnreachable,       // connecting: an ICMP error said the peer cannot be reached (protocol
                      // unreachable, administratively prohibited; port unreachable is kRefused)
};
const char* to_string(CloseReason r) noexcept;

enum class SendError : uint8_t {
  kNotConnected,  // not yet, or no longer, connected
  kClosing,       // shutdown() or close() was called
  kQueueFull,     // the send buffer is full: on_writable follows when it drains
};

enum class LendError : uint8_t {
  kEmpty,      // nothing to lend
  kNoBuffers,  // the port's pool has not the mbufs (one per 60 KiB, and one)
  kNotDma,     // the port cannot reach the memory (see lend())
  kNoPort,     // the Worker has no such port
};
const char* to_string(LendError e) noexcept;

enum class ConnectError : uint8_t {
  kNoTcp,        // the stack was started without TCP
  kNoAddress,    // an IPv6 remote on a port without IPv6 (or the reverse)
  kNoRoute,      // the remote is neither on-link nor behind a route or gateway
  kNoLocalPort,  // every source port toward this remote is in use
  kNoSlot,       // every connection slot of this Worker is in use
};
const char* to_string(ConnectError e) noexcept;

// An IPv4 or IPv6 address and a port. Addresses in network byte order.
struct Endpoint {
  bool v6 = false;
  Ipv4Addr ip4;
  Ipv6Addr ip6;
  uint16_t port = 0;
  static Endpoint v4(Ipv4Addr a, uint16_t port) { return {false, a, {}, port}; }
  static Endpoint v6_of(Ipv6Addr a, uint16_t port) { return {true, {}, a, port}; }
  std::string to_string() const;  // "198.18.0.1:80", "[2001:db8::1]:80"
};

// A connection's callbacks. Every member may be null. `ctx` is passed back unchanged.
struct Handler {
  void* ctx = nullptr;
  // The handshake completed (both for connect() and for a connection accepted by listen()).
  void (*on_connected)(Conn&, void* ctx) = nullptr;
  // In-order bytes from the peer, in the buffers they arrived in. Keep what you need (copy
  // the Bytes: a reference), then consume() what you are done with: unconsumed bytes hold
  // the receive window shut, which is how a slow consumer pushes back on the peer.
  void (*on_data)(Conn&, const Bytes& data, void* ctx) = nullptr;
  // A send refused with kQueueFull (or a send_copy() that took less) can be retried now.
  void (*on_writable)(Conn&, void* ctx) = nullptr;
  // The peer's FIN: it sends nothing more. You may still send, then close().
  void (*on_peer_closed)(Conn&, void* ctx) = nullptr;
  // The connection is gone; the Conn is invalid when this returns. Called for every connection
  // on_connected was called for and for every connect(), never for a passive connection that
  // did not complete its handshake (the application never saw it).
  void (*on_closed)(Conn&, CloseReason, void* ctx) = nullptr;
};

// The application's state of one Worker (Stack::set_worker_state): made on the Worker's lcore
// before anything of the Worker runs (its first poll, its first callback), destroyed on that
// lcore after its last callback (when run() stops, after the Worker's connections are closed).
// `make` returns the state, which worker_state() gives back; `destroy` may be null.
struct WorkerState {
  void* (*make)(Worker&, void* ctx) = nullptr;
  void (*destroy)(Worker&, void* state, void* ctx) = nullptr;
  void* ctx = nullptr;
};

// An application timer on a timer wheel of its Worker (the same hierarchical wheel as the one
// that holds every TCP timer, a second one kept for the application): embed one where its
// state lives (a connection's user state, the Worker's state), set `fn`, and arm() it. It
// fires on the Worker's lcore, in the loop turn after it is due (1 ms resolution: never early,
// at most a turn late), like every other callback. Nothing is allocated: the hook is in the
// Timer. Cancel an armed Timer before its memory goes (the wheel links it); a Timer belongs to
// the Worker it was armed on.
struct Timer {
  void (*fn)(Worker&, Timer&, void* ctx) = nullptr;
  void* ctx = nullptr;
  // The Worker's: do not touch.
  time::Timer hook;
  uint64_t period_ms = 0;
};

// A message to another Worker (post()): `fn` runs on that Worker's lcore with a copy of the
// payload, which lives only for the call.
inline constexpr size_t kMessageBytes = 40;
using MessageFn = void (*)(Worker& to, std::span<const std::byte> payload, void* ctx);
enum class PostError : uint8_t {
  kNoWorker,  // no such Worker, or the Worker itself (post to another one)
  kTooBig,    // the payload is over kMessageBytes
  kFull,      // the ring to that Worker is full (counted in drop.app_msg): try later
};
const char* to_string(PostError e) noexcept;

// An application counter (Stack::add_counter): counted per Worker with count(), shown under
// its name beside the stack's own, summed over Workers (print_counters, Stack::counter,
// telemetry's /tempo/counters, tempo-stat).
struct CounterId {
  uint16_t index = 0;
};
inline constexpr size_t kMaxAppCounters = 64;

// A graceful drain (drain(), Stack::request_drain): stop accepting, let the open connections
// finish for deadline_ms, then close the rest (FIN, and RST for what is still there after as
// long again, or at least 1 s; or RST at once with reset_rest), and call on_drained on the
// Worker's lcore once it holds no connection (at once when it holds none).
struct DrainOptions {
  uint64_t deadline_ms = 30000;
  bool reset_rest = false;
  void (*on_drained)(Worker&, void* ctx) = nullptr;
  void* ctx = nullptr;
};

// A listener's answer to a SYN (ListenOptions::admit).
enum class Admit : uint8_t {
  kAccept,  // go on: a connection (or, with a full backlog, a SYN cookie)
  kDrop,    // no answer: the peer's SYN times out
  kReset,   // RST: the peer sees "connection refused"
};

// How a listener listens (listen()).
struct ListenOptions {
  // Only connections to this local address: the port's ipv4, one of its ipv4_secondary, or its
  // ipv6 (the Endpoint's port is ignored). Unset: every address of the Worker's ports. On one
  // TCP port a listener on an address takes precedence over one on every address.
  std::optional<Endpoint> local;
  // Admission before allocation: called for every SYN the listener would answer, before any
  // connection state or SYN cookie exists, with the SYN's two ends; refusing is counted in
  // tcp.admission_refused. On the Worker's lcore; it must not call into the stack (decide from
  // the addresses and the application's own state: an allowlist, a per-source count). Null:
  // every SYN is admitted.
  Admit (*admit)(const Endpoint& remote, const Endpoint& local, void* ctx) = nullptr;
  void* admit_ctx = nullptr;
};

// Per-connection choices, fixed when the connection opens (set_nagle() also later).
// Defaults come from the configuration's `tcp:` section.
struct ConnOptions {
  enum class Choice : uint8_t { kDefault, kOn, kOff };
  Choice nagle = Choice::kDefault;      // RFC 9293 §3.7.4
  Choice keepalive = Choice::kDefault;  // RFC 1122 4.2.3.6, tcp.keepalive.*
  enum class Cc : uint8_t { kDefault, kNewReno, kCubic };
  Cc congestion = Cc::kDefault;  // RFC 5681/6582 or RFC 9438
  // Buffers and segments, 0 for the configured defaults (tcp.rcv_buf, tcp.snd_buf, the port's
  // MSS), raised or lowered into range: rcv_buf (the most window offered) and snd_buf (the most
  // bytes queued to send) in [4 KiB, 1 GiB]; mss_clamp caps the MSS announced and sent, as
  // Linux's TCP_MAXSEG, at least 88; writable_lowat: on_writable after a refused send once at
  // most this many bytes are queued (0: two thirds of snd_buf), at most snd_buf. A Worker keeps
  // 64 distinct combinations of these; past that a connection gets the defaults, counted in
  // tcp.conn_options_ignored.
  uint32_t rcv_buf = 0;
  uint32_t snd_buf = 0;
  uint16_t mss_clamp = 0;
  uint32_t writable_lowat = 0;
};

// The process's stack: the EAL, the ports, a Worker per lcore.
class Stack {
 public:
  // Starts the EAL and the ports from a validated Config. `program` names the process in
  // logs. Errors are one line ("port net_tap0: rte_eth_dev_configure: ..."). Before the EAL
  // starts it runs config::check_environment, which throws config::ConfigError (an lcore this
  // process may not run on; an app section nobody read: read yours first), and installs the
  // signal handlers (install_signal_handlers).
  static Result<std::unique_ptr<Stack>, std::string> start(const Config& config,
                                                           const std::string& program);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  size_t num_workers() const noexcept;
  Worker& worker(size_t i) noexcept;

  // Declares the application's per-Worker state (WorkerState); before run(). See also the
  // typed per_worker<T>() below.
  void set_worker_state(const WorkerState& state) noexcept;

  // Registers an application counter; before run(). `name`: 1 to 48 of [a-z0-9_.], starting
  // with a letter, with a group of the application's own ("httpd.idle_timeouts"). Errors, one
  // line each: a bad name, a name the stack or an earlier add_counter uses, more than
  // kMaxAppCounters.
  Result<CounterId, std::string> add_counter(std::string_view name);

  // listen() on every Worker: the connections of `port` are served on whichever lcore RSS
  // puts them. `handler` outlives the Stack.
  void listen(uint16_t port, const Handler* handler, const ConnOptions& opts = {},
              const ListenOptions& how = {});

  // What request_drain() does on each Worker; before run().
  void set_drain_options(const DrainOptions& opts) noexcept;
  // Every Worker drains (drain(), with set_drain_options's options) at its next loop turn.
  // From any thread; async-signal-safe (an application's SIGTERM handler may call it). Each
  // Worker's on_drained may call request_stop() once every Worker is drained.
  static void request_drain() noexcept;

  // Runs every Worker (this thread runs the first) until request_stop(); each Worker then
  // resets its open connections (RST, on_closed(kAborted)) before run() returns.
  void run();
  static void request_stop() noexcept;  // async-signal-safe
  // SIGINT, SIGTERM, SIGHUP -> request_stop(); SIGUSR1 -> run() prints the counters on stdout
  // and goes on. start() installs them (before the EAL); calling it again changes nothing.
  static void install_signal_handlers();

  // "<program>: counters" then "  name: value" per non-zero counter, summed over Workers.
  void print_counters(std::FILE* out) const;
  // One of those counters by name ("timewait.active_reuse"), summed over Workers; 0 for a
  // name print_counters does not print. Read it once run() has returned (the Workers write
  // their counters without synchronisation while they run).
  uint64_t counter(std::string_view name) const;

 private:
  explicit Stack(std::unique_ptr<stack::Runtime> rt);
  std::unique_ptr<stack::Runtime> rt_;
};

// The frame of a one-service app: starts the stack, listens on `port` on every Worker, prints
// "<program>: <banner>; ready", runs until SIGINT/SIGTERM, prints the counters. Returns the
// exit code: 0, or 1 when the stack could not start (the reason on stderr).
int serve(const Config& config, const std::string& program, uint16_t port, const Handler* handler,
          const std::string& banner);
int serve(const Config& config, const std::string& program, uint16_t port, const Handler* handler,
          const ConnOptions& opts, const std::string& banner);

// --- Worker calls (on its lcore) --------------------------------------------------------

uint16_t worker_index(const Worker& w) noexcept;
// Accepts connections to `port` on this Worker, on every address or the one `how.local` names
// (a later listen() on the same port and address replaces the earlier one). On the Worker's
// lcore once run() started; before that, from the thread that will call run().
void listen(Worker& w, uint16_t port, const Handler* handler, const ConnOptions& opts = {},
            const ListenOptions& how = {});
// Stops accepting on `port` (on every address, or on `local`'s, as it was listened on): new
// SYNs to it are answered by RST, as to a port nobody listens on; the connections it accepted
// go on. False when no such listener was there. The same threading rule as listen().
bool unlisten(Worker& w, uint16_t port,
              const std::optional<Endpoint>& local = std::nullopt) noexcept;
// Active open from the Worker's port `port_index` (0 for the first in the config). The source
// port is chosen so the replies reach this Worker; a tuple still in TIME_WAIT is reused only
// where timestamps make it safe. on_connected or on_closed(kRefused/kTimeout) follows.
Result<Conn*, ConnectError> connect(Worker& w, const Endpoint& remote, const Handler* handler,
                                    void* user = nullptr, const ConnOptions& opts = {},
                                    size_t port_index = 0) noexcept;
// As connect(), from `local`'s address: the port's `ipv4` or one of its `ipv4_secondary`
// (kNoAddress otherwise; an IPv6 `local` means the port's ipv6, whatever its address), and from
// `local.port` when it is not 0 (else the source port is chosen as connect() does). A chosen
// port obeys the same rules as a picked one: kNoLocalPort when the tuple is in use, in
// TIME_WAIT without timestamps that make its reuse safe, a listener's port, or a port whose
// replies RSS would deliver to another Worker (with N Workers, about one port in N suits a
// given Worker: prefer connect_from_ports with a range).
Result<Conn*, ConnectError> connect_from(Worker& w, const Endpoint& local, const Endpoint& remote,
                                         const Handler* handler, void* user = nullptr,
                                         const ConnOptions& opts = {},
                                         size_t port_index = 0) noexcept;
// As connect_from(), the source port chosen in [port_lo, port_hi] (RFC 6056 algorithm 3 over
// that range, the RSS and TIME_WAIT rules applied): kNoLocalPort when none fits, or when
// port_lo is above port_hi; both 0 mean tcp.local_port_range.
Result<Conn*, ConnectError> connect_from_ports(Worker& w, const Endpoint& local, uint16_t port_lo,
                                               uint16_t port_hi, const Endpoint& remote,
                                               const Handler* handler, void* user = nullptr,
                                               const ConnOptions& opts = {},
                                               size_t port_index = 0) noexcept;
// The Worker's port that reaches `remote` (its port_index for connect()): the first with
// `remote` on its subnet, else the first with a route or gateway toward it; nullopt when none
// does. A proxy with clients on one port and backends on another picks the backends' port so.
std::optional<size_t> port_toward(const Worker& w, const Endpoint& remote) noexcept;
// The link of the Worker's port `port_index` is up (a memif port is up once its peer is).
bool link_up(const Worker& w, size_t port_index = 0) noexcept;
// `fn` runs once per loop turn on this Worker's lcore (start connections here).
void set_poll_hook(Worker& w, void (*fn)(Worker&, void* ctx), void* ctx) noexcept;
// Milliseconds on the Worker's clock (read once per loop turn).
uint64_t now_ms(const Worker& w) noexcept;
uint32_t connections(const Worker& w) noexcept;
// TIME_WAIT entries this Worker holds now (IPv4 and IPv6).
uint64_t time_wait_entries(const Worker& w) noexcept;

// The Worker's application state (what WorkerState::make returned; nullptr without one).
void* worker_state(const Worker& w) noexcept;
template <class T>
T& worker_state(Worker& w) noexcept {
  return *static_cast<T*>(worker_state(w));
}
// Per-Worker state of type T, constructed as T(Worker&) on each Worker's lcore and deleted
// there at stop: `stack.per_worker<Shard>()`, then `tempo::worker_state<Shard>(w)` in
// callbacks.
template <class T>
void per_worker(Stack& stack) {
  stack.set_worker_state(
      WorkerState{.make = [](Worker& w, void*) -> void* { return new T(w); },
                  .destroy = [](Worker&, void* state, void*) { delete static_cast<T*>(state); },
                  .ctx = nullptr});
}

// Arms `t` on `w` to fire `delay_ms` from now, then every `period_ms` after (0: once); moves
// it if armed. On the Worker's lcore: from any callback, the poll hook, or the timer's own fn
// (which may re-arm or cancel it; a periodic timer is re-armed before fn runs). t.fn must be
// set.
void arm(Worker& w, Timer& t, uint64_t delay_ms, uint64_t period_ms = 0) noexcept;
// Disarms `t`; a no-op when it is not armed. After it, fn does not run for it.
void cancel(Worker& w, Timer& t) noexcept;
bool armed(const Timer& t) noexcept;

// Drains this Worker (DrainOptions): every listener of it is unlisten()ed now; on its lcore.
// A second drain() replaces the first's options and deadline.
void drain(Worker& w, const DrainOptions& opts) noexcept;
bool draining(const Worker& w) noexcept;

// Adds `n` to this Worker's share of an application counter (on its lcore: a plain add).
void count(Worker& w, CounterId id, uint64_t n = 1) noexcept;
// This Worker's value of any counter by name, the stack's ("tcp.passive_opens") or the
// application's ("httpd.requests"); 0 for an unknown name. On its lcore; it walks every counter,
// so not per packet.
uint64_t counter(const Worker& w, std::string_view name);

// Runs fn(to's Worker, payload, ctx) on Worker `to`'s lcore, in one of its next loop turns
// (messages from one Worker to another run in the order posted). Call it on `from`'s lcore:
// each ordered pair of Workers has its own single-producer ring (512 messages), so posting is
// a copy and a store, never a lock, and never waits: a full ring is refused (kFull) and counted.
// For decisions shared by Workers (a backend down, a configuration change), not per packet.
// `ctx` travels as a pointer: what it points to must be safe to read on `to`'s lcore.
// Messages still in a ring when the stack stops are dropped, not run.
Result<void, PostError> post(Worker& from, size_t to, MessageFn fn, void* ctx,
                             std::span<const std::byte> payload = {}) noexcept;
size_t num_workers(const Worker& w) noexcept;  // the Workers of w's process

// --- Conn calls --------------------------------------------------------------------------

Worker& worker_of(Conn& c) noexcept;
void* user(const Conn& c) noexcept;  // the application's per-connection pointer
void set_user(Conn& c, void* user) noexcept;
Endpoint local(const Conn& c) noexcept;
Endpoint remote(const Conn& c) noexcept;
bool peer_closed(const Conn& c) noexcept;  // on_peer_closed has been called

// What Linux's tcp_info tells of a connection (`ss -tin`), read on its Worker's lcore.
struct ConnInfo {
  const char* state = "";  // RFC 9293's name: "ESTABLISHED", "FIN-WAIT-1", ...
  Endpoint local, remote;
  uint32_t srtt_us = 0, rttvar_us = 0, rto_us = 0;  // RFC 6298 (0 before a sample)
  uint32_t cwnd = 0, ssthresh = 0;                  // bytes
  uint32_t snd_mss = 0;    // the payload a full segment carries to the peer
  uint32_t rcv_mss = 0;    // the MSS this side announced
  uint32_t snd_wnd = 0;    // the peer's window, scaled
  uint32_t rcv_wnd = 0;    // the window this side offers now
  uint32_t in_flight = 0;  // sent, not yet acknowledged (SYN and FIN included)
  uint32_t snd_queue = 0;  // bytes queued to send or in flight
  uint32_t rcv_held = 0;   // bytes delivered and not yet consume()d
  uint32_t ooo_bytes = 0;  // received beyond a hole
  uint32_t retransmits = 0;
  uint64_t bytes_acked = 0, bytes_received = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;                       // with window_scale
  bool window_scale = false, sack = false, timestamps = false;  // negotiated (RFC 7323, 2018)
};
ConnInfo info(const Conn& c) noexcept;

// Zero-copy: queues a reference to `data`. kQueueFull: retry in on_writable.
Result<void, SendError> send(Conn& c, const Bytes& data) noexcept;
// Bytes over `data`, memory the application owns, to send() without copying it: mbufs from the
// pool of the Worker's port `port_index` refer to it (DPDK external buffers,
// rte_pktmbuf_attach_extbuf). Slice it and send it to as many connections as you like.
// Lifetime: `data` stays valid and unchanged until `release(opaque)` runs. It runs once, on
// this Worker's lcore, when nothing refers to the memory any more: every Bytes the application
// kept (copies, slices) dropped, and every segment sent from it acknowledged or given up
// (retransmissions included) and its frames gone from the port. On failure nothing was taken
// and release does not run. `release` may be null (memory that outlives the Worker).
// The port must reach the memory: any memory where DPDK runs IOVA as virtual addresses (vdevs
// such as memif, net_tap and af_xdp; --no-huge; VFIO with an IOMMU), else DPDK's own memory
// (rte_malloc) physically contiguous over each 60 KiB (kNotDma otherwise). A memif zero-copy
// client port (config::memif_zero_copy_client) reaches only DPDK's own memory, rte_malloc's,
// in the memory list its buffers are in.
// As any Bytes, one loan is referenced by at most 65,535 queued sends at once (an mbuf's
// reference count): a server that queues one body on more connections lends it again.
Result<Bytes, LendError> lend(Worker& w, std::span<const std::byte> data,
                              void (*release)(void* opaque), void* opaque,
                              size_t port_index = 0) noexcept;
// Bytes send() and send_copy() may still queue on `c` (its snd_buf less what is queued, in
// flight included) before they refuse.
uint32_t send_space(const Conn& c) noexcept;
// Copies `bytes` into packet buffers and queues them. Returns how many were taken (fewer
// when the send buffer or the buffer pool is short: on_writable follows).
size_t send_copy(Conn& c, std::span<const std::byte> bytes) noexcept;
// The application is done with `bytes` more of what on_data handed up: reopens the window.
void consume(Conn& c, uint32_t bytes) noexcept;
void set_nagle(Conn& c, bool on) noexcept;
void shutdown(Conn& c) noexcept;  // FIN after the queued data; receiving goes on
// FIN after the queued data; the application is done. With received bytes not yet consumed,
// an RST instead, now (RFC 1122 §4.2.2.13, as Linux: the peer learns its data was not taken),
// and on_closed(kAborted); counted as tcp.abort_on_close. Data arriving after close() is
// answered by an RST too (tcp.abort_on_data).
void close(Conn& c) noexcept;
// RST now; on_closed(kAborted). A close that resets, as SO_LINGER with a zero linger time:
// nothing queued is sent.
void abort(Conn& c) noexcept;

}  // namespace tempo
