// tempo-proxy: an L4 proxy, and the whole embedding API (tempo/stack.h) in one file. Each client
// connection to `app.proxy.listen` gets a connection to a backend, opened from the same Worker
// (so both halves of the pair stay on one lcore); bytes go both ways zero-copy (the Bytes that
// arrive are the Bytes that leave), a FIN is passed on as a half-close, a reset or failure on one
// side aborts the other. With several ports, each backend is reached through the port whose
// subnet (or route) holds it: clients on one link, backends on another.
//
//   app: { proxy: { listen: 8080, backends: ["198.18.0.1:8000", ...],
//                   balance: round_robin | least_connections,
//                   backend_retry_ms: 5000,     # a backend that refused or reset is skipped
//                   connect_timeout_ms: 5000,   # a backend that does not answer is given up
//                   idle_timeout_ms: 300000,    # a pair with no bytes either way for this
//                                               # long is reset (0: off)
//                   nagle: true, keepalive: false } }   (per-connection options, both sides)
//
// The timeouts are HAProxy's `timeout connect` and `timeout client`/`server`: a client (or a
// backend) that holds a pair open without moving bytes, a slowloris client among them, loses it.
// Their bookkeeping is O(1) per event: pairs are kept in order of their last bytes (a pair that
// moves bytes goes to the back), connecting pairs in order of their connect, and each loop turn
// looks only at the fronts.
//
// Share nothing: every Worker has its own shard (pairs, buffers, backend state), made once on its
// lcore, and nothing is allocated per connection or per packet. A client whose backend refuses
// or does not answer is retried on the next backend, once per backend, before it is reset.
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tempo/cli.h>
#include <tempo/config.h>
#include <tempo/stack.h>

namespace {

constexpr const char* kHelp =
    "L4 proxy (TCP relay) on a DPDK port: round robin or least connections over backends.\n\n"
    "app.proxy keys:\n"
    "  listen: 8080               the TCP port clients connect to\n"
    "  backends: [\"198.18.0.1:8000\", ...]   (required)\n"
    "  balance: round_robin       or least_connections\n"
    "  backend_retry_ms: 5000     a backend that refused, timed out or reset is skipped this long\n"
    "  connect_timeout_ms: 5000   a backend connection not established this long after its SYN\n"
    "                             is given up (connect_timeouts) and the client moved to the\n"
    "                             next backend\n"
    "  idle_timeout_ms: 300000    a pair that moved no byte either way this long is reset on\n"
    "                             both sides (idle_closed); 0: off\n"
    "  nagle, keepalive: bool     per-connection TCP options, both sides (default: the tcp\n"
    "                             section's)\n\n"
    "At the end: the stack's counters, then the proxy.* counters.";

enum class Balance : uint8_t { kRoundRobin, kLeastConnections };

struct Settings {
  std::vector<tempo::Ipv4Endpoint> backends;
  Balance balance = Balance::kRoundRobin;
  uint64_t retry_ms = 5000;
  uint64_t connect_ms = 5000;
  uint64_t idle_ms = 300000;  // 0: off
  tempo::ConnOptions opts;    // both sides of every pair
};

// Bytes one side received that the other side has not taken yet, in order: unconsumed, so this
// side's receive window stays shut and its peer waits (back-pressure, nothing lost). A FIFO of
// chunks from the shard's pool: a side can hold a whole receive window of small segments.
struct Chunk {
  static constexpr uint32_t kBytes = 16;
  std::array<tempo::Bytes, kBytes> b;
  Chunk* next = nullptr;
};

struct Shard;

struct Waiting {
  Chunk* head = nullptr;
  Chunk* tail = nullptr;
  uint32_t head_i = 0;
  uint32_t tail_i = Chunk::kBytes;  // tail full: the next push takes a chunk
  uint32_t n = 0;

  bool empty() const { return n == 0; }
  tempo::Bytes& front() { return head->b[head_i]; }
  bool push(Shard& s, const tempo::Bytes& b);
  void pop(Shard& s);
  void clear(Shard& s) {
    while (!empty()) {
      pop(s);
    }
  }
};

struct Pair;

// One half of a relayed pair (the client's or the backend's connection).
struct Side {
  tempo::Conn* conn = nullptr;
  Side* other = nullptr;
  Pair* pair = nullptr;
  Waiting waiting;
  bool fin = false;  // this side's peer sent FIN: pass it on after `waiting`
};

struct Pair {
  Side front;  // the client
  Side back;   // the backend
  uint32_t backend = 0;
  uint32_t attempts = 0;  // backends tried for this client
  bool connected = false;
  bool connect_timed_out = false;  // this backend connection was aborted by connect_timeout_ms
  bool connecting = false;         // on the shard's connecting FIFO
  uint64_t last_ms = 0;            // the last bytes either way (idle timeout)
  uint64_t connect_start_ms = 0;   // the current backend connection's connect (connect timeout)
  // The shard's live pairs, oldest last_ms first; `next` is also the free list.
  Pair* prev = nullptr;
  Pair* next = nullptr;
  Pair* conn_prev = nullptr;  // the shard's connecting pairs, oldest connect first
  Pair* conn_next = nullptr;
};

struct Counters {
  uint64_t pairs = 0;             // clients paired with a backend
  uint64_t backend_failures = 0;  // backend connections refused, timed out or reset
  uint64_t retries = 0;           // clients moved to another backend before any byte
  uint64_t no_backend = 0;        // clients reset: every backend failed them
  uint64_t no_room = 0;           // clients reset: the shard's pairs or buffers ran out
  uint64_t idle_closed = 0;       // pairs reset by the idle timeout
  uint64_t connect_timeouts = 0;  // backend connections given up by the connect timeout
};

// An intrusive list of pairs through the links `Prev` and `Next`: a FIFO with O(1) unlink.
template <Pair* Pair::*Prev, Pair* Pair::*Next>
struct PairList {
  Pair* head = nullptr;
  Pair* tail = nullptr;

  void push(Pair* p) {
    p->*Prev = tail;
    p->*Next = nullptr;
    (tail != nullptr ? tail->*Next : head) = p;
    tail = p;
  }
  void unlink(Pair* p) {
    (p->*Prev != nullptr ? p->*Prev->*Next : head) = p->*Next;
    (p->*Next != nullptr ? p->*Next->*Prev : tail) = p->*Prev;
    p->*Prev = p->*Next = nullptr;
  }
};

// Pairs timed out per Worker per loop turn, at most: a burst of expiries is spread over turns.
constexpr int kExpiriesPerTurn = 256;

// A Worker's part of the proxy.
struct Shard {
  static constexpr size_t kPairs = 32768;   // half the Worker's connection slots
  static constexpr size_t kChunks = 32768;  // 16 Bytes each: 512K buffered segments
  const Settings* cfg = nullptr;
  tempo::Worker* worker = nullptr;
  std::vector<Pair> pairs;
  std::vector<Chunk> chunks;
  Pair* free_pairs = nullptr;
  PairList<&Pair::prev, &Pair::next> live;                  // by last bytes, oldest first
  PairList<&Pair::conn_prev, &Pair::conn_next> connecting;  // by connect, oldest first
  Chunk* free_chunks = nullptr;
  std::vector<uint32_t> active;      // pairs per backend (least_connections)
  std::vector<uint64_t> served;      // backend connections established, per backend
  std::vector<uint64_t> down_until;  // ms on this Worker's clock
  std::vector<size_t> via;           // the port each backend is reached through
  size_t rr = 0;
  Counters n;

  Shard(const Settings& s, tempo::Worker& w)
      : cfg(&s),
        worker(&w),
        pairs(kPairs),
        chunks(kChunks),
        active(s.backends.size()),
        served(s.backends.size()),
        down_until(s.backends.size()) {
    // Clients may come in on one port and backends sit behind another: each backend is
    // reached through the port whose subnet (or route) holds it, port 0 when none does (its
    // connects then fail with "no route", counted and retried as any refusal).
    for (const tempo::Ipv4Endpoint& be : s.backends) {
      via.push_back(tempo::port_toward(w, tempo::Endpoint::v4(be.addr, be.port)).value_or(0));
    }
    for (Pair& p : pairs) {
      p.next = free_pairs;
      free_pairs = &p;
    }
    for (Chunk& c : chunks) {
      c.next = free_chunks;
      free_chunks = &c;
    }
  }

  uint64_t now() const { return tempo::now_ms(*worker); }

  Pair* take_pair() {
    Pair* p = free_pairs;
    if (p == nullptr) {
      return nullptr;
    }
    free_pairs = p->next;
    *p = Pair{};
    p->front.pair = p->back.pair = p;
    p->front.other = &p->back;
    p->back.other = &p->front;
    p->last_ms = now();
    live.push(p);
    return p;
  }
  void give_pair(Pair* p) {
    p->front.waiting.clear(*this);
    p->back.waiting.clear(*this);
    if (p->connected) {
      --active[p->backend];
    }
    stop_connecting(p);
    live.unlink(p);
    p->next = free_pairs;
    free_pairs = p;
  }
  // Bytes moved: the pair goes to the back of `live` (at most once a millisecond).
  void touch(Pair* p) {
    const uint64_t t = now();
    if (p->last_ms != t) {
      p->last_ms = t;
      live.unlink(p);
      live.push(p);
    }
  }
  void start_connecting(Pair* p) {
    stop_connecting(p);
    p->connecting = true;
    p->connect_timed_out = false;
    p->connect_start_ms = now();
    connecting.push(p);
  }
  void stop_connecting(Pair* p) {
    if (p->connecting) {
      p->connecting = false;
      connecting.unlink(p);
    }
  }

  // The backend for a new connection: the next that is up, round robin or the one with the
  // fewest pairs on this Worker; when every backend is down, the one that comes back first.
  uint32_t pick() {
    const size_t nb = cfg->backends.size();
    const uint64_t t = now();
    size_t best = nb;
    for (size_t k = 0; k < nb; ++k) {
      const size_t i = (rr + k) % nb;
      if (down_until[i] > t) {
        continue;
      }
      if (best == nb || (cfg->balance == Balance::kLeastConnections && active[i] < active[best])) {
        best = i;
      }
      if (cfg->balance == Balance::kRoundRobin) {
        break;
      }
    }
    if (best == nb) {
      best = 0;
      for (size_t i = 1; i < nb; ++i) {
        if (down_until[i] < down_until[best]) {
          best = i;
        }
      }
    }
    rr = (best + 1) % nb;
    return static_cast<uint32_t>(best);
  }
};

bool Waiting::push(Shard& s, const tempo::Bytes& b) {
  if (tail_i == Chunk::kBytes) {
    Chunk* c = s.free_chunks;
    if (c == nullptr) {
      return false;
    }
    s.free_chunks = c->next;
    c->next = nullptr;
    (tail != nullptr ? tail->next : head) = c;
    tail = c;
    tail_i = 0;
  }
  tail->b[tail_i++] = b;  // a reference, not a copy
  ++n;
  return true;
}

void Waiting::pop(Shard& s) {
  head->b[head_i] = tempo::Bytes();
  --n;
  if (++head_i == Chunk::kBytes || n == 0) {
    Chunk* done = head;
    head = done->next;
    head_i = 0;
    if (head == nullptr) {
      tail = nullptr;
      tail_i = Chunk::kBytes;
    }
    done->next = s.free_chunks;
    s.free_chunks = done;
  }
}

Settings g_settings;
std::array<std::unique_ptr<Shard>, 256> g_shards;  // by Worker index, each made on its lcore

Shard& shard_of(tempo::Worker& w) {
  auto& s = g_shards[tempo::worker_index(w)];
  if (!s) {
    s = std::make_unique<Shard>(g_settings, w);  // once per Worker, at its first client
  }
  return *s;
}
Shard& shard_of(tempo::Conn& c) { return shard_of(tempo::worker_of(c)); }
Side* side(tempo::Conn& c) { return static_cast<Side*>(tempo::user(c)); }

// Moves what `from` received to the other side, in order; passes the FIN on after it.
void pump(Shard& s, Side* from) {
  Side* to = from->other;
  if (to->conn == nullptr || (to == &from->pair->back && !from->pair->connected)) {
    return;  // the backend is still connecting, or that half is gone
  }
  while (!from->waiting.empty() && tempo::send(*to->conn, from->waiting.front())) {
    if (from->conn != nullptr) {
      tempo::consume(*from->conn, from->waiting.front().size());
    }
    from->waiting.pop(s);
  }
  if (from->fin && from->waiting.empty()) {
    from->fin = false;
    tempo::shutdown(*to->conn);
  }
}

const tempo::Handler* relay_handler();

// Opens the pair's backend connection to the next backend; false when it could not start.
bool connect_backend(Shard& s, Pair* p) {
  while (p->attempts < s.cfg->backends.size()) {
    ++p->attempts;
    p->backend = s.pick();
    const tempo::Ipv4Endpoint& be = s.cfg->backends[p->backend];
    auto conn = tempo::connect(*s.worker, tempo::Endpoint::v4(be.addr, be.port), relay_handler(),
                               &p->back, s.cfg->opts, s.via[p->backend]);
    if (conn) {
      p->back.conn = *conn;
      s.start_connecting(p);
      return true;
    }
    std::fprintf(stderr, "tempo-proxy: connect: %s\n", tempo::to_string(conn.error()));
  }
  return false;
}

void on_data(tempo::Conn& c, const tempo::Bytes& data, void* /*ctx*/) {
  Shard& s = shard_of(c);
  Side* me = side(c);
  s.touch(me->pair);
  if (!me->waiting.push(s, data)) {
    ++s.n.no_room;  // degrade this pair, never another's bytes
    tempo::abort(c);
    return;
  }
  pump(s, me);
}

void on_writable(tempo::Conn& c, void* /*ctx*/) { pump(shard_of(c), side(c)->other); }

void on_peer_closed(tempo::Conn& c, void* /*ctx*/) {
  Side* me = side(c);
  me->fin = true;
  pump(shard_of(c), me);
}

void on_backend_connected(tempo::Conn& c, void* /*ctx*/) {
  Shard& s = shard_of(c);
  Pair* p = side(c)->pair;
  p->connected = true;
  s.stop_connecting(p);
  ++s.active[p->backend];
  ++s.served[p->backend];
  pump(s, &p->front);
}

// A clean close leaves the pair's other half to drain what this side received and pass its
// FIN on; a reset, timeout or abort aborts the other half. A backend that refuses or does not
// answer before the pair relayed anything (the stack's SYN retries or our connect_timeout_ms)
// is skipped for backend_retry_ms and the client moved to the next one. The pair goes back to
// the shard with its last half.
void on_closed(tempo::Conn& c, tempo::CloseReason why, void* /*ctx*/) {
  Shard& s = shard_of(c);
  Side* me = side(c);
  Pair* p = me->pair;
  me->conn = nullptr;
  const bool backend = me == &p->back;
  const bool failed = why == tempo::CloseReason::kRefused || why == tempo::CloseReason::kTimeout ||
                      why == tempo::CloseReason::kReset ||
                      why == tempo::CloseReason::kUnreachable ||
                      (backend && why == tempo::CloseReason::kAborted && p->connect_timed_out);
  if (backend) {
    s.stop_connecting(p);
  }
  if (backend && failed) {
    ++s.n.backend_failures;
    s.down_until[p->backend] = s.now() + s.cfg->retry_ms;
  }
  Side* o = me->other;
  if (backend && !p->connected && failed && o->conn != nullptr) {
    me->waiting.clear(s);
    if (connect_backend(s, p)) {
      ++s.n.retries;
      return;
    }
    ++s.n.no_backend;
  }
  if (o->conn == nullptr) {
    s.give_pair(p);
  } else if (why != tempo::CloseReason::kNormal) {
    tempo::abort(*o->conn);
  } else {
    pump(s, me);
  }
}

const tempo::Handler kBackend{.ctx = nullptr,
                              .on_connected = on_backend_connected,
                              .on_data = on_data,
                              .on_writable = on_writable,
                              .on_peer_closed = on_peer_closed,
                              .on_closed = on_closed};
const tempo::Handler* relay_handler() { return &kBackend; }

// A client arrived: pair it with a backend connection from this Worker.
void on_accept(tempo::Conn& client, void* /*ctx*/) {
  Shard& s = shard_of(client);
  Pair* p = s.take_pair();
  if (p == nullptr) {
    ++s.n.no_room;
    tempo::abort(client);
    return;
  }
  p->front.conn = &client;
  tempo::set_user(client, &p->front);
  if (!connect_backend(s, p)) {
    ++s.n.no_backend;
    tempo::abort(client);  // on_closed gives the pair back
    return;
  }
  ++s.n.pairs;
}

// Each loop turn per Worker: give up the backend connections that did not connect within
// connect_timeout_ms (on_closed moves their clients to the next backend), and reset the pairs
// that moved no byte for idle_timeout_ms. Both lists are in deadline order: only their fronts
// are looked at. Runs outside callbacks, so abort() runs (and may free the pair) at once.
void expire(tempo::Worker& w, void* /*ctx*/) {
  Shard* sp = g_shards[tempo::worker_index(w)].get();
  if (sp == nullptr) {
    return;
  }
  Shard& s = *sp;
  const uint64_t t = s.now();
  int budget = kExpiriesPerTurn;
  while (budget > 0 && s.connecting.head != nullptr &&
         t - s.connecting.head->connect_start_ms >= g_settings.connect_ms) {
    --budget;
    Pair* p = s.connecting.head;
    s.stop_connecting(p);
    ++s.n.connect_timeouts;
    p->connect_timed_out = true;
    tempo::abort(*p->back.conn);
  }
  while (g_settings.idle_ms != 0 && budget > 0 && s.live.head != nullptr &&
         t - s.live.head->last_ms >= g_settings.idle_ms) {
    --budget;
    Pair* p = s.live.head;
    ++s.n.idle_closed;
    p->last_ms = t;  // to the back, should a half outlive the aborts
    s.live.unlink(p);
    s.live.push(p);
    for (Side* half : {&p->front, &p->back}) {
      if (half->conn != nullptr) {
        tempo::abort(*half->conn);
      }
    }
  }
}

void print_counters() {
  Counters sum;
  std::vector<uint64_t> served(g_settings.backends.size());
  for (const auto& s : g_shards) {
    if (s) {
      for (size_t i = 0; i < served.size(); ++i) {
        served[i] += s->served[i];
      }
      sum.pairs += s->n.pairs;
      sum.backend_failures += s->n.backend_failures;
      sum.retries += s->n.retries;
      sum.no_backend += s->n.no_backend;
      sum.no_room += s->n.no_room;
      sum.idle_closed += s->n.idle_closed;
      sum.connect_timeouts += s->n.connect_timeouts;
    }
  }
  const std::pair<const char*, uint64_t> items[] = {{"pairs", sum.pairs},
                                                    {"backend_failures", sum.backend_failures},
                                                    {"retries", sum.retries},
                                                    {"no_backend", sum.no_backend},
                                                    {"no_room", sum.no_room},
                                                    {"idle_closed", sum.idle_closed},
                                                    {"connect_timeouts", sum.connect_timeouts}};
  for (const auto& [name, value] : items) {
    std::printf("  proxy.%s: %llu\n", name, static_cast<unsigned long long>(value));
  }
  for (size_t i = 0; i < served.size(); ++i) {
    std::printf("  proxy.backend%zu.connections: %llu\n", i,
                static_cast<unsigned long long>(served[i]));
  }
}

int run(const tempo::Config& config) {
  const auto app = tempo::config::app_section(config, "proxy");
  app.check_keys({"listen", "backends", "balance", "backend_retry_ms", "connect_timeout_ms",
                  "idle_timeout_ms", "nagle", "keepalive"});
  Settings& cfg = g_settings;
  const auto port = static_cast<uint16_t>(app.get_int("listen", 1, 65535, 8080));
  cfg.backends = app.get_endpoint_list("backends", {});
  cfg.balance = app.get_enum("balance", {"round_robin", "least_connections"}, "round_robin") ==
                        "least_connections"
                    ? Balance::kLeastConnections
                    : Balance::kRoundRobin;
  cfg.retry_ms = static_cast<uint64_t>(app.get_int("backend_retry_ms", 0, 3600000, 5000));
  cfg.connect_ms = static_cast<uint64_t>(app.get_int("connect_timeout_ms", 1, 3600000, 5000));
  cfg.idle_ms = static_cast<uint64_t>(app.get_int("idle_timeout_ms", 0, 86400000, 300000));
  using Choice = tempo::ConnOptions::Choice;
  if (app.has("nagle")) {
    cfg.opts.nagle = app.get_bool("nagle", true) ? Choice::kOn : Choice::kOff;
  }
  if (app.has("keepalive")) {  // tcp.keepalive's timing, on the relay's connections only
    cfg.opts.keepalive = app.get_bool("keepalive", false) ? Choice::kOn : Choice::kOff;
  }
  if (cfg.backends.empty()) {
    throw tempo::config::ConfigError("config: app.proxy.backends: expected at least one backend");
  }
  const std::string program = tempo::config::program_name("proxy");
  auto stack = tempo::Stack::start(config, program);
  if (!stack) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), stack.error().c_str());
    return 1;
  }
  // Client connections: on_connected pairs them with a backend; then they relay like any side.
  static const tempo::Handler kClient{.ctx = nullptr,
                                      .on_connected = on_accept,
                                      .on_data = on_data,
                                      .on_writable = on_writable,
                                      .on_peer_closed = on_peer_closed,
                                      .on_closed = on_closed};
  (*stack)->listen(port, &kClient, cfg.opts);
  for (size_t w = 0; w < (*stack)->num_workers(); ++w) {
    tempo::set_poll_hook((*stack)->worker(w), expire, nullptr);
  }
  tempo::Stack::install_signal_handlers();
  std::printf("%s: relay port %u to %zu backend(s), %s; ready\n", program.c_str(), port,
              cfg.backends.size(),
              cfg.balance == Balance::kRoundRobin ? "round robin" : "least connections");
  std::fflush(stdout);
  (*stack)->run();
  std::printf("%s: stopping\n", program.c_str());
  (*stack)->print_counters(stdout);
  print_counters();
  for (auto& s : g_shards) {
    s.reset();  // the buffers they hold go back to the pools before the stack stops
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return tempo::config::run_main(argc, argv, "proxy", kHelp, run); }
