// tempo-loadgen: an HTTP/1.1 load generator on the embedding API alone (tempo/stack.h). It puts
// short connections, keep-alive requests, bulk transfers or idle connections on a server, from
// many source addresses when told to, so that a server can be made to hold millions of
// distinct 4-tuples in TIME_WAIT; it prints a progress line every second and a JSON summary at
// the end (kHelp below is the reference for every key).
//
// Share nothing: each Worker runs a shard of the load (its part of the connections, the
// concurrency and the rate) from its poll hook, with its sessions preallocated; nothing is
// allocated per connection or per request. Shards publish a few figures through relaxed
// atomics that only their own Worker writes, for Worker 0's progress line; the histograms and
// error counts are summed after the Workers stop.
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tempo/cli.h>
#include <tempo/config.h>
#include <tempo/stack.h>

namespace {

constexpr const char* kHelp =
    "HTTP/1.1 load generator on a DPDK port: short connections, keep-alive requests, bulk\n"
    "transfer or idle connections, at a target rate or as fast as possible.\n\n"
    "app.loadgen keys:\n"
    "  target: \"198.18.0.1:80\"   the server (required)\n"
    "  mode: short              short: connect, request, response, close, again;\n"
    "                           keepalive: `connections` connections, requests back to back;\n"
    "                           bulk: as keepalive, reporting MB/s (give the server large\n"
    "                           responses); idle: open `connections` and hold them\n"
    "  connections: N           short: connections to make (0: until duration_ms);\n"
    "                           others: connections to hold open (default 64, bulk 1, idle\n"
    "                           1000)\n"
    "  concurrency: 256         short: connections in flight at once (and handshakes at once\n"
    "                           in the other modes)\n"
    "  rate: 0                  new connections/s (short) or requests/s (keepalive, bulk);\n"
    "                           0: as fast as possible\n"
    "  duration_ms: 0           stop starting work after this long (short: 0 means when\n"
    "                           `connections` are done; the other modes default to 10000)\n"
    "  close_first: server      short: who closes first. server: the request says\n"
    "                           Connection: close (the server holds TIME_WAIT); client: we\n"
    "                           close after the response (we hold TIME_WAIT, and reuse tuples\n"
    "                           from it early where timestamps make it safe)\n"
    "  path: \"/\"                the request path\n"
    "  request_bytes: 0         pad each request to this many bytes (an X-Pad header)\n"
    "  sources: []              local addresses and blocks (\"198.18.1.0/26\"), each the port's\n"
    "                           ipv4 or in its ipv4_secondary; each is used for as many\n"
    "                           connections in a row as tcp.local_port_range has ports, so\n"
    "                           every source port of every source is used once before any\n"
    "                           4-tuple repeats. Empty: the port's ipv4\n"
    "  timeout_ms: 10000        a connection (short) or request that takes longer is reset\n"
    "                           and counted (request_timeout)\n"
    "  max_errors: 0            exit 1 when more connections than this failed\n"
    "  progress: true           a line per second: connections/s, requests/s, open, errors,\n"
    "                           TIME_WAIT entries on this side\n"
    "  link_wait_ms: 10000      wait this long for the port's link (memif: the peer) first\n"
    "  summary_file: \"\"         also write the JSON summary there\n"
    "  nagle, keepalive: bool   per-connection TCP options (default: the tcp section's)\n\n"
    "At the end: the stack's counters, then one JSON line: connections/s, requests/s, MB/s,\n"
    "latency p50/p90/p99/p999/max in microseconds (connect to response for short, request to\n"
    "response otherwise), every error kind, and the TIME_WAIT and active-reuse counters.";

enum class Mode : uint8_t { kShort, kKeepalive, kBulk, kIdle };
const char* to_string(Mode m) {
  switch (m) {
    case Mode::kShort:
      return "short";
    case Mode::kKeepalive:
      return "keepalive";
    case Mode::kBulk:
      return "bulk";
    case Mode::kIdle:
      return "idle";
  }
  return "?";
}

// Why a connection failed; each counted once per connection.
enum Err : uint8_t {
  kRefused,
  kReset,
  kRetransmitTimeout,
  kKeepaliveTimeout,
  kFinWait2Timeout,
  kRequestTimeout,
  kCloseTimeout,
  kBadResponse,
  kClosedEarly,
  kNoLocalPort,
  kNoSlot,
  kNoRoute,
  kNoAddress,
  kNoTcp,
  kErrCount,
};
constexpr std::array<const char*, kErrCount> kErrNames = {"refused",
                                                          "reset",
                                                          "retransmit_timeout",
                                                          "keepalive_timeout",
                                                          "fin_wait2_timeout",
                                                          "request_timeout",
                                                          "close_timeout",
                                                          "bad_response",
                                                          "closed_early",
                                                          "no_local_port",
                                                          "no_slot",
                                                          "no_route",
                                                          "no_address",
                                                          "no_tcp"};

Err from_connect(tempo::ConnectError e) {
  switch (e) {
    case tempo::ConnectError::kNoTcp:
      return kNoTcp;
    case tempo::ConnectError::kNoAddress:
      return kNoAddress;
    case tempo::ConnectError::kNoRoute:
      return kNoRoute;
    case tempo::ConnectError::kNoLocalPort:
      return kNoLocalPort;
    case tempo::ConnectError::kNoSlot:
      return kNoSlot;
  }
  return kNoTcp;
}

struct Settings {
  tempo::Endpoint target;
  Mode mode = Mode::kShort;
  uint64_t connections = 0;
  uint64_t concurrency = 256;
  double rate = 0;
  uint64_t duration_ms = 0;
  bool client_closes = false;
  std::string request;
  std::vector<tempo::Ipv4Addr> sources;  // empty: the port's own
  uint64_t source_run = 1;               // connections per source before the next
  uint64_t timeout_ms = 10000;
  uint64_t max_errors = 0;
  bool progress = true;
  uint64_t link_wait_ms = 10000;
  std::string summary_file;
  tempo::ConnOptions opts;
};
Settings g_cfg;

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// Latencies in microseconds: exact below 64, then 32 buckets per power of two (3% wide).
class Histogram {
 public:
  void add(uint64_t us) {
    ++n_[index(us)];
    ++count_;
    max_ = std::max(max_, us);
  }
  void merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) {
      n_[i] += o.n_[i];
    }
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
  }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The bucket's midpoint at quantile q in (0, 1].
  uint64_t quantile(double q) const {
    if (count_ == 0) {
      return 0;
    }
    const auto want = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += n_[i];
      if (seen >= want) {
        return std::min(mid(i), max_);
      }
    }
    return max_;
  }

 private:
  static constexpr size_t kBuckets = 64 + 32 * 60;
  static size_t index(uint64_t v) {
    if (v < 64) {
      return v;
    }
    const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 6;  // v >> shift: 32..63
    return 32 * (shift + 1) + static_cast<size_t>((v >> shift) - 32);
  }
  static uint64_t mid(size_t i) {
    if (i < 64) {
      return i;
    }
    const unsigned shift = static_cast<unsigned>(i / 32 - 1);
    const uint64_t lo = (i % 32 + 32) << shift;
    return lo + (uint64_t{1} << shift) / 2;
  }
  std::array<uint64_t, kBuckets> n_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

// Written by the shard's Worker only (store of load + 1: no read-modify-write), read by
// Worker 0 for the progress line.
struct Live {
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> time_wait{0};
  std::atomic<bool> done{false};
};
void bump(std::atomic<uint64_t>& a, uint64_t by = 1) {
  a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

struct Shard;

enum class Phase : uint8_t {
  kFree,
  kConnecting,  // connect() called, no on_connected yet
  kWaiting,     // request sent, response not complete
  kParked,      // keepalive under a rate: waiting for the budget to send the next request
  kHeld,        // idle mode: connected, nothing to do
  kDone,        // response complete (or held and done): closing
};

struct Session {
  static constexpr uint32_t kHeadMax = 1024;
  tempo::Conn* conn = nullptr;
  Shard* shard = nullptr;
  Phase phase = Phase::kFree;
  bool failed = false;
  bool opened = false;       // counted in `open`
  bool in_head = true;       // reading the response head
  bool until_close = false;  // no Content-Length: the body ends at the peer's FIN
  uint32_t head_len = 0;
  uint32_t req_sent = 0;  // bytes of the request taken so far
  uint64_t body_left = 0;
  uint64_t t0_ns = 0;
  uint64_t deadline_ms = 0;
  uint32_t next_free = UINT32_MAX;
  std::array<char, kHeadMax> head{};
};

struct Shard {
  tempo::Worker* worker = nullptr;
  size_t index = 0;
  uint64_t quota = 0;        // short: connections to start (0: no bound)
  uint64_t concurrency = 1;  // sessions in flight at once
  double rate = 0;           // per ms
  std::vector<Session> sessions;
  uint32_t free_head = UINT32_MAX;
  uint64_t in_flight = 0;
  uint64_t connecting = 0;       // sessions in kConnecting
  std::vector<uint32_t> parked;  // FIFO of kParked sessions (keepalive under a rate)
  size_t parked_head = 0;
  uint64_t source_pos = 0;
  bool begun = false;
  bool warm = false;  // a handshake has completed (the next hop is resolved)
  bool stopping = false;
  uint64_t created_ms = 0;
  uint64_t begin_ms = 0;
  uint64_t begin_ns = 0;
  uint64_t end_ns = 0;
  uint64_t next_scan_ms = 0;
  uint64_t budget_used = 0;  // connections or requests started under `rate`
  // Figures for the summary (this Worker's own, read after the Workers stop).
  Histogram latency;
  std::array<uint64_t, kErrCount> errors{};
  uint64_t bytes = 0;
  uint64_t peak_open = 0;
  uint64_t link_down = 0;  // begun without the link after link_wait_ms
  Live live;
};
std::vector<std::unique_ptr<Shard>> g_shards;

// Worker 0's progress line state.
struct Progress {
  uint64_t next_ms = 0;
  uint64_t last_completed = 0;
  uint64_t last_requests = 0;
  uint64_t last_ms = 0;
} g_progress;

Session* pop_free(Shard& s) {
  if (s.free_head == UINT32_MAX) {
    return nullptr;
  }
  Session& x = s.sessions[s.free_head];
  s.free_head = x.next_free;
  ++s.in_flight;
  return &x;
}

void release(Shard& s, Session& x) {
  if (x.opened) {
    s.live.open.store(s.live.open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
  const auto i = static_cast<uint32_t>(&x - s.sessions.data());
  x.conn = nullptr;
  x.phase = Phase::kFree;
  x.next_free = s.free_head;
  s.free_head = i;
  --s.in_flight;
}

// Counts the failure and resets the connection (its on_closed frees the session).
void fail(Session& x, Err why) {
  if (x.failed) {
    return;
  }
  x.failed = true;
  Shard& s = *x.shard;
  ++s.errors[why];
  bump(s.live.failed);
  if (x.conn != nullptr) {
    tempo::abort(*x.conn);
  }
}

// Sends what is left of the request; the rest follows in on_writable.
void send_request(Session& x) {
  const std::string& r = g_cfg.request;
  x.req_sent += static_cast<uint32_t>(
      tempo::send_copy(*x.conn, std::as_bytes(std::span(r)).subspan(x.req_sent)));
}

void start_request(Session& x, uint64_t now_ms, bool new_t0) {
  x.phase = Phase::kWaiting;
  x.in_head = true;
  x.until_close = false;
  x.head_len = 0;
  x.req_sent = 0;
  x.body_left = 0;
  if (new_t0) {
    x.t0_ns = now_ns();
  }
  x.deadline_ms = now_ms + g_cfg.timeout_ms;
  send_request(x);
}

bool budget(Shard& s, uint64_t now_ms) {
  if (s.rate <= 0) {
    return true;
  }
  const auto allowed = static_cast<uint64_t>(s.rate * static_cast<double>(now_ms - s.begin_ms)) + 1;
  return s.budget_used < allowed;
}

void response_complete(Session& x) {
  Shard& s = *x.shard;
  s.latency.add((now_ns() - x.t0_ns) / 1000);
  bump(s.live.requests);
  const uint64_t now = tempo::now_ms(*s.worker);
  if (g_cfg.mode == Mode::kShort) {
    x.phase = Phase::kDone;
    x.deadline_ms = now + g_cfg.timeout_ms;
    if (g_cfg.client_closes) {
      tempo::close(*x.conn);
    }
    return;  // else the server's FIN follows: on_peer_closed closes
  }
  if (s.stopping) {
    x.phase = Phase::kDone;
    x.deadline_ms = now + g_cfg.timeout_ms;
    tempo::close(*x.conn);
    return;
  }
  if (!budget(s, now)) {
    x.phase = Phase::kParked;
    s.parked.push_back(static_cast<uint32_t>(&x - s.sessions.data()));
    return;
  }
  ++s.budget_used;
  start_request(x, now, true);
}

void on_connected(tempo::Conn& c, void* /*ctx*/) {
  auto& x = *static_cast<Session*>(tempo::user(c));
  Shard& s = *x.shard;
  x.opened = true;
  s.warm = true;
  --s.connecting;
  bump(s.live.open);
  s.peak_open = std::max(s.peak_open, s.live.open.load(std::memory_order_relaxed));
  const uint64_t now = tempo::now_ms(*s.worker);
  if (g_cfg.mode == Mode::kIdle) {
    x.phase = Phase::kHeld;
    return;
  }
  if (g_cfg.mode != Mode::kShort) {
    x.t0_ns = now_ns();  // keep-alive latency: from the request
    ++s.budget_used;
  }
  start_request(x, now, false);
}

void on_writable(tempo::Conn& c, void* /*ctx*/) {
  auto& x = *static_cast<Session*>(tempo::user(c));
  if (x.phase == Phase::kWaiting && x.req_sent < g_cfg.request.size()) {
    send_request(x);
  }
}

bool ieq_prefix(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && std::equal(p.begin(), p.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

// The response head is complete: status 200, and the body's length (Content-Length, or until
// the connection closes). False for anything else.
bool parse_head(Session& x, std::string_view head) {
  if (head.size() < 12 || !head.starts_with("HTTP/1.") || head.substr(9, 3) != "200") {
    return false;
  }
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::string_view line = head.substr(pos + 2, head.find("\r\n", pos + 2) - (pos + 2));
    if (ieq_prefix(line, "content-length:")) {
      uint64_t n = 0;
      bool digits = false;
      for (char ch : line.substr(15)) {
        if (ch >= '0' && ch <= '9') {
          n = n * 10 + static_cast<uint64_t>(ch - '0');
          digits = true;
        } else if (ch != ' ' && ch != '\t') {
          return false;
        }
      }
      if (!digits) {
        return false;
      }
      x.body_left = n;
      return true;
    }
    pos = head.find("\r\n", pos + 2);
  }
  x.until_close = true;
  return true;
}

void on_data(tempo::Conn& c, const tempo::Bytes& data, void* /*ctx*/) {
  auto& x = *static_cast<Session*>(tempo::user(c));
  Shard& s = *x.shard;
  tempo::consume(c, data.size());
  if (x.failed) {
    return;
  }
  if (x.phase != Phase::kWaiting) {
    fail(x, kBadResponse);  // bytes nobody asked for
    return;
  }
  uint64_t body = data.size();
  if (x.in_head) {
    const uint32_t old = x.head_len;
    const auto room = static_cast<uint32_t>(x.head.size()) - old;
    const auto take = static_cast<uint32_t>(
        data.copy_to(0, std::as_writable_bytes(std::span(x.head)).subspan(old, room)));
    x.head_len += take;
    const std::string_view head(x.head.data(), x.head_len);
    const size_t end = head.find("\r\n\r\n", old < 3 ? 0 : old - 3);
    if (end == std::string_view::npos) {
      if (x.head_len == x.head.size()) {
        fail(x, kBadResponse);  // a head longer than we keep
      }
      return;
    }
    x.in_head = false;
    if (!parse_head(x, head.substr(0, end + 2))) {
      fail(x, kBadResponse);
      return;
    }
    body = data.size() - (end + 4 - old);
  }
  s.bytes += body;
  if (x.until_close) {
    return;
  }
  if (body > x.body_left) {
    fail(x, kBadResponse);  // more than Content-Length
    return;
  }
  x.body_left -= body;
  if (x.body_left == 0) {
    response_complete(x);
  }
}

void on_peer_closed(tempo::Conn& c, void* /*ctx*/) {
  auto& x = *static_cast<Session*>(tempo::user(c));
  if (x.phase == Phase::kWaiting && x.until_close && !x.in_head) {
    response_complete(x);
  }
  if (x.phase != Phase::kDone) {  // closing what it was still to answer, or held open
    fail(x, kClosedEarly);
    return;
  }
  x.phase = Phase::kDone;
  tempo::close(c);
}

void on_closed(tempo::Conn& c, tempo::CloseReason why, void* /*ctx*/) {
  auto& x = *static_cast<Session*>(tempo::user(c));
  Shard& s = *x.shard;
  if (!x.failed) {
    if (why == tempo::CloseReason::kNormal && x.phase == Phase::kDone) {
      bump(s.live.completed);
    } else {
      x.failed = true;
      bump(s.live.failed);
      switch (why) {
        case tempo::CloseReason::kRefused:
        case tempo::CloseReason::kUnreachable:  // an ICMP hard error: refused by the network
          ++s.errors[kRefused];
          break;
        case tempo::CloseReason::kReset:
          ++s.errors[kReset];
          break;
        case tempo::CloseReason::kTimeout:
          ++s.errors[kRetransmitTimeout];
          break;
        case tempo::CloseReason::kKeepaliveTimeout:
          ++s.errors[kKeepaliveTimeout];
          break;
        case tempo::CloseReason::kFinWait2Timeout:
          ++s.errors[kFinWait2Timeout];
          break;
        case tempo::CloseReason::kNormal:
        case tempo::CloseReason::kAborted:
          ++s.errors[kClosedEarly];
          break;
      }
    }
  }
  if (x.phase == Phase::kConnecting) {
    --s.connecting;
  }
  tempo::set_user(c, nullptr);
  release(s, x);
}

const tempo::Handler kHandler{.ctx = nullptr,
                              .on_connected = on_connected,
                              .on_data = on_data,
                              .on_writable = on_writable,
                              .on_peer_closed = on_peer_closed,
                              .on_closed = on_closed};

// Opens one connection from the next source. False when connect() failed (counted).
bool open_one(Shard& s, uint64_t now) {
  Session* x = pop_free(s);
  if (x == nullptr) {
    return false;
  }
  *x = Session{};
  x->shard = &s;
  x->phase = Phase::kConnecting;
  x->t0_ns = now_ns();
  x->deadline_ms = now + g_cfg.timeout_ms;
  bump(s.live.started);
  tempo::Result<tempo::Conn*, tempo::ConnectError> r =
      g_cfg.sources.empty()
          ? tempo::connect(*s.worker, g_cfg.target, &kHandler, x, g_cfg.opts)
          : tempo::connect_from(
                *s.worker,
                tempo::Endpoint::v4(
                    g_cfg.sources[(s.source_pos++ / g_cfg.source_run) % g_cfg.sources.size()], 0),
                g_cfg.target, &kHandler, x, g_cfg.opts);
  if (!r) {
    ++s.errors[from_connect(r.error())];
    bump(s.live.failed);
    release(s, *x);
    return false;
  }
  x->conn = *r;
  ++s.connecting;
  return true;
}

// Resets what has outlived its deadline: a connection or request (request_timeout), a close
// (close_timeout). Runs outside callbacks, so abort() frees the session at once.
void scan_timeouts(Shard& s, uint64_t now) {
  for (Session& x : s.sessions) {
    if (x.phase == Phase::kFree || x.failed || x.phase == Phase::kHeld ||
        x.phase == Phase::kParked || now < x.deadline_ms) {
      continue;
    }
    fail(x, x.phase == Phase::kDone ? kCloseTimeout : kRequestTimeout);
  }
}

// Keep-alive modes at the end of the run: what waits closes now; what is mid-request closes
// when its response completes.
void close_idle(Shard& s, uint64_t now) {
  for (Session& x : s.sessions) {
    if (x.phase == Phase::kHeld || x.phase == Phase::kParked) {
      x.phase = Phase::kDone;
      x.deadline_ms = now + g_cfg.timeout_ms;
      tempo::close(*x.conn);
    }
  }
  s.parked.clear();
  s.parked_head = 0;
}

void print_progress(uint64_t now) {
  uint64_t completed = 0;
  uint64_t requests = 0;
  uint64_t open = 0;
  uint64_t failed = 0;
  uint64_t tw = 0;
  for (const auto& s : g_shards) {
    completed += s->live.completed.load(std::memory_order_relaxed);
    requests += s->live.requests.load(std::memory_order_relaxed);
    open += s->live.open.load(std::memory_order_relaxed);
    failed += s->live.failed.load(std::memory_order_relaxed);
    tw += s->live.time_wait.load(std::memory_order_relaxed);
  }
  const double dt = static_cast<double>(now - g_progress.last_ms) / 1000.0;
  std::printf(
      "tempo-loadgen: %.1f s: %.0f conn/s, %.0f req/s, open %llu, completed %llu, errors %llu, "
      "time_wait %llu\n",
      static_cast<double>(now - g_shards[0]->begin_ms) / 1000.0,
      static_cast<double>(completed - g_progress.last_completed) / dt,
      static_cast<double>(requests - g_progress.last_requests) / dt,
      static_cast<unsigned long long>(open), static_cast<unsigned long long>(completed),
      static_cast<unsigned long long>(failed), static_cast<unsigned long long>(tw));
  std::fflush(stdout);
  g_progress.last_completed = completed;
  g_progress.last_requests = requests;
  g_progress.last_ms = now;
}

// One shard's turn: begin at link up, start what the rate and concurrency allow, time out
// what is late, and mark the shard done when its work is.
void work(tempo::Worker& w, Shard& s, uint64_t now) {
  if (!s.begun) {
    if (s.created_ms == 0) {
      s.created_ms = now + 1;
    }
    const bool up = tempo::link_up(w);
    if (!up && now + 1 - s.created_ms < g_cfg.link_wait_ms) {
      return;
    }
    s.link_down = up ? 0 : 1;
    s.begun = true;
    s.begin_ms = now;
    s.begin_ns = now_ns();
    s.next_scan_ms = now + 100;
    if (s.index == 0) {
      g_progress.last_ms = now;
      g_progress.next_ms = now + 1000;
    }
  }
  if (!s.stopping && g_cfg.duration_ms > 0 && now - s.begin_ms >= g_cfg.duration_ms) {
    s.stopping = true;
    if (g_cfg.mode != Mode::kShort) {
      close_idle(s, now);
    }
  }
  if (!s.stopping) {
    if (g_cfg.mode == Mode::kShort) {
      // One connection alone until a handshake completes: the next hop resolves before the
      // burst (the stack parks only a few packets per unresolved neighbour).
      const uint64_t limit = s.warm ? s.concurrency : 1;
      while (s.in_flight < limit && (s.quota == 0 || s.budget_used < s.quota) && budget(s, now)) {
        ++s.budget_used;
        if (!open_one(s, now)) {
          break;  // counted; try again on the next turn
        }
      }
      if (s.quota != 0 && s.budget_used >= s.quota) {
        s.stopping = true;
      }
    } else {
      // Open the connections to hold, `concurrency` handshakes at a time.
      const uint64_t limit = s.warm ? s.concurrency : 1;
      while (s.live.started.load(std::memory_order_relaxed) < s.sessions.size() &&
             s.connecting < limit) {
        if (!open_one(s, now)) {
          break;
        }
      }
      while (s.parked_head < s.parked.size() && budget(s, now)) {
        Session& x = s.sessions[s.parked[s.parked_head++]];
        ++s.budget_used;
        start_request(x, now, true);
      }
      if (s.parked_head == s.parked.size()) {
        s.parked.clear();
        s.parked_head = 0;
      }
    }
  }
  if (now >= s.next_scan_ms) {
    s.next_scan_ms = now + 100;
    scan_timeouts(s, now);
    s.live.time_wait.store(tempo::time_wait_entries(w), std::memory_order_relaxed);
  }
  if (s.stopping && s.in_flight == 0) {
    s.end_ns = now_ns();
    s.live.time_wait.store(tempo::time_wait_entries(w), std::memory_order_relaxed);
    s.live.done.store(true, std::memory_order_release);
  }
}

void tick(tempo::Worker& w, void* ctx) {
  Shard& s = *static_cast<Shard*>(ctx);
  const uint64_t now = tempo::now_ms(w);
  if (!s.live.done.load(std::memory_order_relaxed)) {
    work(w, s, now);
  }
  if (s.index != 0) {
    return;
  }
  // Worker 0 also reports, and stops the stack once every shard is done.
  if (g_cfg.progress && s.begun && now >= g_progress.next_ms) {
    g_progress.next_ms += 1000;
    print_progress(now);
  }
  bool all = true;
  for (const auto& o : g_shards) {
    all = all && o->live.done.load(std::memory_order_acquire);
  }
  if (all) {
    tempo::Stack::request_stop();
  }
}

std::string build_request(const std::string& path, uint64_t pad_to, bool close) {
  std::string r = "GET " + path + " HTTP/1.1\r\nHost: " + g_cfg.target.to_string() +
                  "\r\nUser-Agent: tempo-loadgen/" TEMPO_VERSION "\r\n";
  if (close) {
    r += "Connection: close\r\n";
  }
  const size_t base = r.size() + 2;
  constexpr size_t kPadHeader = 9;  // "X-Pad: " + "\r\n"
  if (pad_to > base + kPadHeader) {
    r += "X-Pad: " + std::string(pad_to - base - kPadHeader, 'x') + "\r\n";
  }
  return r + "\r\n";
}

uint32_t host(const tempo::Ipv4Addr& a) {
  return uint32_t{a.bytes[0]} << 24 | uint32_t{a.bytes[1]} << 16 | uint32_t{a.bytes[2]} << 8 |
         a.bytes[3];
}
tempo::Ipv4Addr from_host(uint32_t v) {
  return tempo::Ipv4Addr{{static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}};
}

// True when `a` is one of ports[0]'s IPv4 addresses.
bool port_owns(const tempo::PortConfig& p, uint32_t a) {
  if (a == host(p.ipv4.addr)) {
    return true;
  }
  for (const tempo::Ipv4Prefix& b : p.ipv4_secondary) {
    const uint32_t lo = host(b.addr);
    const uint32_t hi = b.len == 32 ? lo : lo + ((uint32_t{1} << (32 - b.len)) - 1);
    if (lo <= a && a <= hi) {
      return true;
    }
  }
  return false;
}

void read_settings(const tempo::Config& config) {
  const auto app = tempo::config::app_section(config, "loadgen");
  app.check_keys({"target", "mode", "connections", "concurrency", "rate", "duration_ms",
                  "close_first", "path", "request_bytes", "sources", "timeout_ms", "max_errors",
                  "progress", "link_wait_ms", "summary_file", "nagle", "keepalive"});
  Settings& c = g_cfg;
  const tempo::Ipv4Endpoint t = app.require_endpoint("target");
  c.target = tempo::Endpoint::v4(t.addr, t.port);
  const std::string mode = app.get_enum("mode", {"short", "keepalive", "bulk", "idle"}, "short");
  c.mode = mode == "keepalive" ? Mode::kKeepalive
           : mode == "bulk"    ? Mode::kBulk
           : mode == "idle"    ? Mode::kIdle
                               : Mode::kShort;
  const int64_t def_conns = c.mode == Mode::kShort       ? 10000
                            : c.mode == Mode::kKeepalive ? 64
                            : c.mode == Mode::kBulk      ? 1
                                                         : 1000;
  c.connections = static_cast<uint64_t>(app.get_int("connections", 0, 1000000000, def_conns));
  c.concurrency = static_cast<uint64_t>(app.get_int("concurrency", 1, 1000000, 256));
  c.rate = app.get_double("rate", 0, 1e9, 0);
  c.duration_ms = static_cast<uint64_t>(
      app.get_int("duration_ms", 0, 86400000, c.mode == Mode::kShort ? 0 : 10000));
  if (c.mode == Mode::kShort && c.connections == 0 && c.duration_ms == 0) {
    throw tempo::config::ConfigError(
        "config: app.loadgen.connections: 0: needs duration_ms (0 connections means until "
        "duration_ms)");
  }
  if (c.mode != Mode::kShort && c.connections == 0) {
    throw tempo::config::ConfigError(
        "config: app.loadgen.connections: 0: expected at least 1 in "
        "mode " +
        mode);
  }
  c.client_closes = app.get_enum("close_first", {"server", "client"}, "server") == "client";
  const std::string path = app.get_string("path", "/");
  if (path.empty() || path[0] != '/' || path.find_first_of(" \r\n") != std::string::npos) {
    throw tempo::config::ConfigError("config: app.loadgen.path: " + path +
                                     ": expected an absolute path without spaces");
  }
  const auto pad = static_cast<uint64_t>(app.get_int("request_bytes", 0, 8000, 0));
  c.request = build_request(path, pad, c.mode == Mode::kShort && !c.client_closes);
  const std::vector<tempo::Ipv4Prefix> blocks = app.get_ipv4_block_list("sources", 16);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const uint32_t lo = host(blocks[i].addr);
    const uint64_t n = uint64_t{1} << (32 - blocks[i].len);
    for (uint64_t k = 0; k < n; ++k) {
      const auto a = static_cast<uint32_t>(lo + k);
      if (!port_owns(config.ports[0], a)) {
        throw tempo::config::ConfigError(
            "config: app.loadgen.sources[" + std::to_string(i) + "]: " +
            tempo::config::to_string(blocks[i]) + ": " + tempo::config::to_string(from_host(a)) +
            " is not an address of ports[0] (its ipv4 or ipv4_secondary)");
      }
      c.sources.push_back(from_host(a));
    }
  }
  c.source_run = uint64_t{config.tcp.local_port_hi} - config.tcp.local_port_lo + 1;
  c.timeout_ms = static_cast<uint64_t>(app.get_int("timeout_ms", 1, 3600000, 10000));
  c.max_errors = static_cast<uint64_t>(app.get_int("max_errors", 0, INT64_MAX, 0));
  c.progress = app.get_bool("progress", true);
  c.link_wait_ms = static_cast<uint64_t>(app.get_int("link_wait_ms", 0, 600000, 10000));
  c.summary_file = app.get_string("summary_file", "");
  using Choice = tempo::ConnOptions::Choice;
  if (app.has("nagle")) {
    c.opts.nagle = app.get_bool("nagle", true) ? Choice::kOn : Choice::kOff;
  }
  if (app.has("keepalive")) {
    c.opts.keepalive = app.get_bool("keepalive", false) ? Choice::kOn : Choice::kOff;
  }
}

void make_shards(tempo::Stack& stack) {
  const size_t n = stack.num_workers();
  for (size_t i = 0; i < n; ++i) {
    auto s = std::make_unique<Shard>();
    s->worker = &stack.worker(i);
    s->index = i;
    const uint64_t share = g_cfg.connections / n + (i < g_cfg.connections % n ? 1 : 0);
    s->concurrency = std::max<uint64_t>(1, g_cfg.concurrency / n);
    s->rate = g_cfg.rate / static_cast<double>(n) / 1000.0;
    size_t slots = 0;
    if (g_cfg.mode == Mode::kShort) {
      s->quota = share;
      slots = s->concurrency;
    } else {
      slots = share;
      s->parked.reserve(share);
    }
    s->sessions.resize(std::max<size_t>(slots, 1));
    for (size_t k = s->sessions.size(); k-- > 0;) {
      s->sessions[k].next_free = s->free_head;
      s->free_head = static_cast<uint32_t>(k);
    }
    if (slots == 0) {  // a Worker with no share of the connections
      s->sessions.clear();
      s->free_head = UINT32_MAX;
      s->stopping = true;
    }
    g_shards.push_back(std::move(s));
  }
  for (auto& s : g_shards) {
    tempo::set_poll_hook(*s->worker, tick, s.get());
  }
}

// A /proc/self/status figure in KiB ("VmRSS", "VmHWM"); 0 where there is none.
uint64_t status_kib(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) {
    return 0;
  }
  char line[256];
  uint64_t kib = 0;
  const size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
      kib = std::strtoull(line + n + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib;
}
uint64_t g_rss_ready_kib = 0;  // after the stack started, before any connection

// The JSON summary: one line.
std::string summary(const tempo::Stack& stack, uint64_t* failed_out) {
  Histogram lat;
  std::array<uint64_t, kErrCount> errors{};
  uint64_t started = 0;
  uint64_t completed = 0;
  uint64_t failed = 0;
  uint64_t requests = 0;
  uint64_t bytes = 0;
  uint64_t peak_open = 0;
  uint64_t link_down = 0;
  uint64_t begin = UINT64_MAX;
  uint64_t end = 0;
  for (const auto& s : g_shards) {
    lat.merge(s->latency);
    for (size_t i = 0; i < kErrCount; ++i) {
      errors[i] += s->errors[i];
    }
    started += s->live.started.load();
    completed += s->live.completed.load();
    failed += s->live.failed.load();
    requests += s->live.requests.load();
    bytes += s->bytes;
    peak_open += s->peak_open;
    link_down += s->link_down;
    if (s->begun) {
      begin = std::min(begin, s->begin_ns);
      end = std::max(end, s->end_ns != 0 ? s->end_ns : now_ns());
    }
  }
  *failed_out = failed;
  const double secs = end > begin ? static_cast<double>(end - begin) / 1e9 : 0;
  const auto per_s = [&](uint64_t n) { return secs > 0 ? static_cast<double>(n) / secs : 0.0; };
  std::string j;
  char buf[512];
  const auto add = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    j += buf;
  };
  const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  add("{\"mode\":\"%s\",\"close_first\":\"%s\",\"target\":\"%s\",\"workers\":%zu,\"sources\":%zu,",
      to_string(g_cfg.mode), g_cfg.client_closes ? "client" : "server",
      g_cfg.target.to_string().c_str(), g_shards.size(), std::max<size_t>(g_cfg.sources.size(), 1));
  add("\"elapsed_s\":%.3f,\"link_down\":%llu,", secs, u(link_down));
  add("\"connections\":{\"started\":%llu,\"completed\":%llu,\"failed\":%llu,\"per_s\":%.1f,"
      "\"peak_open\":%llu},",
      u(started), u(completed), u(failed), per_s(completed), u(peak_open));
  add("\"requests\":{\"completed\":%llu,\"per_s\":%.1f},", u(requests), per_s(requests));
  add("\"bytes_received\":%llu,\"mbytes_per_s\":%.2f,", u(bytes), per_s(bytes) / 1e6);
  add("\"latency_us\":{\"samples\":%llu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,"
      "\"max\":%llu},",
      u(lat.count()), u(lat.quantile(0.5)), u(lat.quantile(0.9)), u(lat.quantile(0.99)),
      u(lat.quantile(0.999)), u(lat.max()));
  j += "\"errors\":{";
  for (size_t i = 0; i < kErrCount; ++i) {
    add("%s\"%s\":%llu", i == 0 ? "" : ",", kErrNames[i], u(errors[i]));
  }
  j += "},";
  add("\"time_wait\":{\"entries\":%llu,\"entries_peak\":%llu,\"entered\":%llu,"
      "\"active_reuse\":%llu,\"evicted\":%llu},",
      u(stack.counter("timewait.entries")), u(stack.counter("timewait.entries_peak")),
      u(stack.counter("timewait.entered")), u(stack.counter("timewait.active_reuse")),
      u(stack.counter("timewait.evicted")));
  add("\"tcp\":{\"active_opens\":%llu,\"connect_failed\":%llu,\"retransmits\":%llu},",
      u(stack.counter("tcp.active_opens")), u(stack.counter("tcp.connect_failed")),
      u(stack.counter("tcp.retransmits")));
  // The process's memory: when the stack was ready, and its peak (what TIME_WAIT held here).
  add("\"rss_kib\":{\"ready\":%llu,\"peak\":%llu}}", u(g_rss_ready_kib), u(status_kib("VmHWM")));
  return j;
}

int run(const tempo::Config& config) {
  read_settings(config);
  const std::string program = tempo::config::program_name("loadgen");
  auto stack = tempo::Stack::start(config, program);
  if (!stack) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), stack.error().c_str());
    return 1;
  }
  make_shards(**stack);
  g_rss_ready_kib = status_kib("VmRSS");
  tempo::Stack::install_signal_handlers();
  std::printf("%s: %s to %s, %llu connection(s)%s, %zu source(s), %zu worker(s); ready\n",
              program.c_str(), to_string(g_cfg.mode), g_cfg.target.to_string().c_str(),
              static_cast<unsigned long long>(g_cfg.connections),
              g_cfg.mode == Mode::kShort
                  ? (g_cfg.client_closes ? ", client closes first" : ", server closes first")
                  : "",
              std::max<size_t>(g_cfg.sources.size(), 1), g_shards.size());
  std::fflush(stdout);
  (*stack)->run();
  std::printf("%s: stopping\n", program.c_str());
  (*stack)->print_counters(stdout);
  uint64_t failed = 0;
  const std::string json = summary(**stack, &failed);
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
  if (!g_cfg.summary_file.empty()) {
    if (std::FILE* f = std::fopen(g_cfg.summary_file.c_str(), "w")) {
      std::fprintf(f, "%s\n", json.c_str());
      std::fclose(f);
    } else {
      std::fprintf(stderr, "%s: cannot write %s: %s\n", program.c_str(), g_cfg.summary_file.c_str(),
                   std::strerror(errno));
    }
  }
  g_shards.clear();
  if (failed > g_cfg.max_errors) {
    std::fprintf(stderr, "%s: %llu connection(s) failed, more than max_errors %llu\n",
                 program.c_str(), static_cast<unsigned long long>(failed),
                 static_cast<unsigned long long>(g_cfg.max_errors));
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tempo::config::run_main(argc, argv, "loadgen", kHelp, run);
}
