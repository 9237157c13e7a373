// tempo-httpd: a fixed-response HTTP/1.1 server, the server of the short-connection
// benchmarks. Every request (any method, any path) gets `app.httpd.response_bytes` bytes of
// body with a Content-Length. With keep-alive (HTTP/1.1's default, unless the request says
// `Connection: close` or `app.httpd.keepalive` is false) the connection serves the next
// request; otherwise tempo closes first after the response, so tempo holds the TIME_WAIT
// entries (DESIGN.md "TIME_WAIT").
//
// Timeouts, as nginx's client_header_timeout, keepalive_timeout and send_timeout: a client that
// sends its request head slowly (slowloris), keeps an idle connection or stops reading its
// response loses the connection, so it cannot hold the Worker's connection slots.
//
// Responses are built once and lent to the stack (tempo::lend): every response is sent by
// reference to that memory, never copied (where a port cannot reach the memory, they are
// copied as before: send_copy).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
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

using tempo::Bytes;
using tempo::Conn;

constexpr const char* kHelp =
    "HTTP/1.1 server of fixed responses on a DPDK port.\n\n"
    "app.httpd keys:\n"
    "  port: 80                 the TCP port\n"
    "  response_bytes: 1024     body bytes of every response\n"
    "  keepalive: true          serve further requests on a connection (HTTP/1.1's default)\n"
    "  nagle: false             Nagle's algorithm on the server's connections\n"
    "  header_timeout_ms: 10000 a request head must be complete this long after the\n"
    "                           connection opened, or after its first byte on a kept-alive\n"
    "                           connection; else the connection is reset (header_timeouts)\n"
    "  idle_timeout_ms: 30000   a kept-alive connection waits this long for the next request\n"
    "                           (then it is closed: idle_timeouts), and a response the client\n"
    "                           does not read for this long is reset (send_timeouts)\n"
    "  Either timeout 0: off. A request head larger than 8 KiB is refused (431).\n\n"
    "At the end: the stack's counters, then httpd.header_timeouts, httpd.idle_timeouts and\n"
    "httpd.send_timeouts.";
constexpr size_t kMaxRequest = 8192;  // a request head larger than this is refused (431)
// Connections timed out per Worker per loop turn, at most: a burst of expiries (a slowloris
// run opened all at once) is spread over turns instead of stalling one.
constexpr int kExpiriesPerTurn = 256;

struct Server {
  std::string response_keepalive;  // head + body
  std::string response_close;
  bool keepalive = true;
  uint64_t header_ms = 10000;  // 0: off
  uint64_t idle_ms = 30000;    // 0: off
};
Server g_srv;

// What a connection waits for, each with its deadline.
enum class Wait : uint8_t {
  kNone,  // nothing: we closed it
  kHead,  // the rest of a request head (header_ms from its start)
  kIdle,  // the next request on a kept-alive connection (idle_ms)
  kSend,  // room for the rest of a response: the client does not read (idle_ms)
};

struct Fifo;

// Per-connection state, from the Worker's pool: the request head so far (requests rarely span
// segments), the part of a response the send buffer did not take yet (on_writable sends it;
// pipelined requests wait behind it), and the connection's place in its deadline FIFO.
struct Session {
  Conn* conn = nullptr;
  std::string head;
  const std::string* out = nullptr;  // Server::response_keepalive or response_close
  size_t out_off = 0;
  bool close_after = false;
  bool done = false;  // we called close() or abort(): nothing more to serve
  Wait wait = Wait::kNone;
  uint64_t deadline_ms = 0;
  Fifo* fifo = nullptr;  // the FIFO it is queued on, if any
  Session* prev = nullptr;
  Session* next = nullptr;  // in its FIFO, or in the pool's free list
};
// What the server adds to each connection's slot (conns.slot_bytes), a head that spans
// segments aside.
static_assert(sizeof(Session) <= 96);

// Sessions waiting with one timeout duration, in the order they started waiting: as every
// deadline in it is start + the same duration, the head expires first. Queueing, requeueing
// and expiring are O(1): nothing scans the connections.
struct Fifo {
  Session* head = nullptr;
  Session* tail = nullptr;

  void push(Session* x) {
    x->fifo = this;
    x->prev = tail;
    x->next = nullptr;
    (tail != nullptr ? tail->next : head) = x;
    tail = x;
  }
  void unlink(Session* x) {
    (x->prev != nullptr ? x->prev->next : head) = x->next;
    (x->next != nullptr ? x->next->prev : tail) = x->prev;
    x->fifo = nullptr;
    x->prev = x->next = nullptr;
  }
};

struct Counters {
  uint64_t header_timeouts = 0;
  uint64_t idle_timeouts = 0;
  uint64_t send_timeouts = 0;
};

// A Worker's part of the server, touched only on its lcore.
struct Shard {
  static constexpr size_t kBlock = 4096;  // sessions allocated at a time, never freed
  tempo::Worker* worker = nullptr;
  std::vector<std::unique_ptr<Session[]>> blocks;
  Session* free = nullptr;
  Fifo head_wait;  // kHead: header_ms
  Fifo idle_wait;  // kIdle and kSend: idle_ms
  Counters n;

  // Server::response_keepalive and response_close lent to the stack, [0] and [1], one loan per
  // kPiece bytes (a slice then refers to one buffer, however long the response); empty where
  // lending failed (send_copy then). They are lent again after kSendsPerLoan responses: one
  // loan is referenced by at most 65,535 queued sends at once (tempo::lend).
  static constexpr size_t kPiece = 60 * 1024;
  static constexpr uint32_t kSendsPerLoan = 16384;
  std::array<std::vector<Bytes>, 2> lent;
  std::array<uint32_t, 2> lent_sends{};
  bool lend_failed = false;

  explicit Shard(tempo::Worker& w) : worker(&w) {}

  // The loans of `resp` (Server::response_keepalive or response_close), or nullptr.
  const std::vector<Bytes>* loan_of(const std::string& resp, bool close_response) {
    std::vector<Bytes>& pieces = lent[close_response ? 1 : 0];
    uint32_t& sends = lent_sends[close_response ? 1 : 0];
    if (!lend_failed && (pieces.empty() || ++sends > kSendsPerLoan)) {
      pieces.clear();
      sends = 1;
      for (size_t off = 0; off < resp.size(); off += kPiece) {
        const auto bytes = std::as_bytes(std::span(resp)).subspan(off);
        auto r =
            tempo::lend(*worker, bytes.first(std::min(kPiece, bytes.size())), nullptr, nullptr);
        if (!r) {
          std::fprintf(stderr, "httpd: responses are copied: lend: %s\n",
                       tempo::to_string(r.error()));
          lend_failed = true;
          pieces.clear();
          break;
        }
        pieces.push_back(std::move(*r));
      }
    }
    return pieces.empty() ? nullptr : &pieces;
  }

  Session* take(Conn& c) {
    if (free == nullptr) {
      blocks.push_back(std::make_unique<Session[]>(kBlock));
      for (size_t i = 0; i < kBlock; ++i) {
        blocks.back()[i].next = free;
        free = &blocks.back()[i];
      }
    }
    Session* x = free;
    free = x->next;
    x->next = nullptr;
    x->conn = &c;
    return x;
  }
  void give(Session* x) {
    if (x->fifo != nullptr) {
      x->fifo->unlink(x);
    }
    *x = Session{};  // frees a head buffer: a pooled session holds no more than its own bytes
    x->next = free;
    free = x;
  }
};

std::array<std::unique_ptr<Shard>, 256> g_shards;  // by Worker index

Shard& shard_of(Conn& c) { return *g_shards[tempo::worker_index(tempo::worker_of(c))]; }

Session& session_of(Conn& c) {
  auto* x = static_cast<Session*>(tempo::user(c));
  if (x == nullptr) {
    x = shard_of(c).take(c);
    tempo::set_user(c, x);
  }
  return *x;
}

// Puts `x` on the FIFO of what it waits for now: a connection waits for a request head
// (something of it is buffered), for room for a response, or idle for the next request.
// The deadline restarts when the wait changes, when a response completed (`served`: the next
// request starts now) and on send progress; never on more bytes of the same head, which is
// what a slowloris client sends.
void settle(Conn& c, Session& x, bool served, bool sent) {
  Wait next = Wait::kIdle;
  if (x.done) {
    next = Wait::kNone;
  } else if (x.out != nullptr) {
    next = Wait::kSend;
  } else if (!x.head.empty()) {
    next = Wait::kHead;
  }
  if (next == x.wait && !served && !(next == Wait::kSend && sent)) {
    return;
  }
  Shard& s = shard_of(c);
  if (x.fifo != nullptr) {
    x.fifo->unlink(&x);
  }
  x.wait = next;
  const uint64_t ms = next == Wait::kHead ? g_srv.header_ms : g_srv.idle_ms;
  if (next == Wait::kNone || ms == 0) {
    return;
  }
  x.deadline_ms = tempo::now_ms(*s.worker) + ms;
  (next == Wait::kHead ? s.head_wait : s.idle_wait).push(&x);
}

// Sends `resp` from `off` as far as the stack takes it: by reference to its loans, the rest of
// one piece a call (the send buffer is smaller than the largest response), else copied.
// Returns the offset reached.
size_t send_from(Conn& c, const std::string& resp, size_t off) {
  const std::vector<Bytes>* pieces = shard_of(c).loan_of(resp, &resp == &g_srv.response_close);
  if (pieces == nullptr) {
    return off + tempo::send_copy(c, std::as_bytes(std::span(resp)).subspan(off));
  }
  while (off < resp.size()) {
    const Bytes& piece = (*pieces)[off / Shard::kPiece];
    const auto at = static_cast<uint32_t>(off % Shard::kPiece);
    const Bytes rest = at == 0 ? piece : piece.slice(at, piece.size() - at);
    if (!tempo::send(c, rest)) {
      break;  // kQueueFull: on_writable follows
    }
    off += rest.size();
  }
  return off;
}

// Sends `resp` from `off`; what is not taken waits in the session. Returns true when all of it
// went (and closes the connection when `close`).
bool respond(Conn& c, Session& x, const std::string& resp, size_t off, bool close) {
  off = send_from(c, resp, off);
  if (off < resp.size()) {
    x.out = &resp;
    x.out_off = off;
    x.close_after = close;
    return false;
  }
  if (close) {
    x.done = true;
    tempo::close(c);  // we close first: TIME_WAIT is ours
  }
  return true;
}

bool ieq_contains(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return it != hay.end();
}

// Answers every complete request head at the front of `in` (pipelining), in order, until a
// response waits for room or closes the connection. Returns the bytes consumed; counts the
// requests answered in *served.
size_t serve(Conn& c, Session& x, const Server& srv, std::string_view in, size_t* served) {
  size_t used = 0;
  while (x.out == nullptr && !x.done && !x.close_after) {
    const size_t end = in.find("\r\n\r\n", used);
    if (end == std::string_view::npos) {
      break;
    }
    const std::string_view head = in.substr(used, end - used);
    const bool http10 = head.find("HTTP/1.0") != std::string_view::npos;
    const bool close = !srv.keepalive || ieq_contains(head, "connection: close") ||
                       (http10 && !ieq_contains(head, "connection: keep-alive"));
    const std::string& resp = close ? srv.response_close : srv.response_keepalive;
    used = end + 4;
    ++*served;
    respond(c, x, resp, 0, close);
  }
  return used;
}

// The first request head is due header_ms after the connection opened, however its bytes
// arrive (nginx's client_header_timeout, from accept).
void on_connected(Conn& c, void* /*ctx*/) {
  Session& x = session_of(c);
  Shard& s = shard_of(c);
  if (x.fifo != nullptr) {
    x.fifo->unlink(&x);
  }
  x.wait = x.done ? Wait::kNone : Wait::kHead;
  if (x.wait == Wait::kHead && g_srv.header_ms != 0) {
    x.deadline_ms = tempo::now_ms(*s.worker) + g_srv.header_ms;
    s.head_wait.push(&x);
  }
}

void on_data(Conn& c, const Bytes& data, void* ctx) {
  const auto* srv = static_cast<const Server*>(ctx);
  Session& x = session_of(c);
  tempo::consume(c, data.size());
  if (x.done) {
    return;  // closing: what the client still sends is dropped
  }
  size_t served = 0;
  if (x.head.empty() && data.size() <= kMaxRequest) {
    // The common case: whole requests in one segment, served from the stack.
    std::array<char, kMaxRequest> buf;
    data.copy_to(0, std::as_writable_bytes(std::span(buf)));
    const std::string_view in(buf.data(), data.size());
    const size_t used = serve(c, x, *srv, in, &served);
    if (used < in.size() && !x.done) {
      x.head.assign(in.substr(used));
    }
  } else {
    const size_t old = x.head.size();
    x.head.resize(old + data.size());
    data.copy_to(0, std::as_writable_bytes(std::span(x.head).subspan(old)));
    x.head.erase(0, serve(c, x, *srv, x.head, &served));
  }
  if (!x.done && x.head.size() > kMaxRequest) {
    static constexpr std::string_view k431 =
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n";
    tempo::send_copy(c, std::as_bytes(std::span(k431)));
    x.done = true;
    tempo::close(c);
  }
  settle(c, x, served > 0, false);
}

// The rest of a response that did not fit, then the requests that waited behind it.
void on_writable(Conn& c, void* ctx) {
  const auto* srv = static_cast<const Server*>(ctx);
  Session& x = session_of(c);
  if (x.out == nullptr) {
    return;
  }
  const std::string& resp = *x.out;
  const size_t off = x.out_off;
  const bool close = x.close_after;
  x.out = nullptr;
  x.close_after = false;
  size_t served = 0;
  if (respond(c, x, resp, off, close)) {
    served = 1;  // the response completed: the next request starts now
    x.head.erase(0, serve(c, x, *srv, x.head, &served));
  }
  settle(c, x, served > 0, true);
}

void on_peer_closed(Conn& c, void* /*ctx*/) {
  Session& x = session_of(c);
  if (x.out == nullptr) {
    if (!x.done) {
      x.done = true;
      tempo::close(c);
    }
  } else {
    x.close_after = true;  // once the response is out
  }
  settle(c, x, false, false);
}

void on_closed(Conn& c, tempo::CloseReason /*why*/, void* /*ctx*/) {
  auto* x = static_cast<Session*>(tempo::user(c));
  if (x != nullptr) {
    shard_of(c).give(x);
    tempo::set_user(c, nullptr);
  }
}

// Each loop turn: the connections whose deadline passed, oldest first, at most
// kExpiriesPerTurn. A head or a response that did not come is reset, so the slot is free at
// once (a FIN would leave it in FIN_WAIT2 behind a client that never closes); an idle
// keep-alive connection is closed, as any HTTP client expects.
void expire(tempo::Worker& w, void* /*ctx*/) {
  Shard& s = *g_shards[tempo::worker_index(w)];
  const uint64_t now = tempo::now_ms(w);
  int budget = kExpiriesPerTurn;
  for (Fifo* f : {&s.head_wait, &s.idle_wait}) {
    while (budget > 0 && f->head != nullptr && f->head->deadline_ms <= now) {
      --budget;
      Session* x = f->head;
      f->unlink(x);
      Conn& c = *x->conn;
      const Wait why = x->wait;
      x->wait = Wait::kNone;
      x->done = true;
      switch (why) {
        case Wait::kHead:
          ++s.n.header_timeouts;
          tempo::abort(c);  // outside a callback: on_closed gives `x` back at once
          break;
        case Wait::kSend:
          ++s.n.send_timeouts;
          tempo::abort(c);
          break;
        case Wait::kIdle:
          ++s.n.idle_timeouts;
          tempo::close(c);
          break;
        case Wait::kNone:
          break;
      }
    }
  }
}

void print_counters() {
  Counters sum;
  for (const auto& s : g_shards) {
    if (s) {
      sum.header_timeouts += s->n.header_timeouts;
      sum.idle_timeouts += s->n.idle_timeouts;
      sum.send_timeouts += s->n.send_timeouts;
    }
  }
  const std::pair<const char*, uint64_t> items[] = {{"header_timeouts", sum.header_timeouts},
                                                    {"idle_timeouts", sum.idle_timeouts},
                                                    {"send_timeouts", sum.send_timeouts}};
  for (const auto& [name, value] : items) {
    std::printf("  httpd.%s: %llu\n", name, static_cast<unsigned long long>(value));
  }
}

std::string response(size_t body_bytes, bool keepalive) {
  std::string body(body_bytes, 'x');
  for (size_t i = 0; i < body_bytes; ++i) {
    body[i] = static_cast<char>('a' + i % 26);
  }
  return "HTTP/1.1 200 OK\r\nServer: tempo-httpd/" TEMPO_VERSION
         "\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body_bytes) + (keepalive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n") +
         body;
}

int run(const tempo::Config& config) {
  const auto app = tempo::config::app_section(config, "httpd");
  app.check_keys(
      {"port", "response_bytes", "keepalive", "nagle", "header_timeout_ms", "idle_timeout_ms"});
  const auto port = static_cast<uint16_t>(app.get_int("port", 1, 65535, 80));
  const auto bytes = app.get_int("response_bytes", 0, 1 << 20, 1024);
  Server& srv = g_srv;
  srv.keepalive = app.get_bool("keepalive", true);
  srv.header_ms = static_cast<uint64_t>(app.get_int("header_timeout_ms", 0, 3600000, 10000));
  srv.idle_ms = static_cast<uint64_t>(app.get_int("idle_timeout_ms", 0, 3600000, 30000));
  srv.response_keepalive = response(static_cast<size_t>(bytes), true);
  srv.response_close = response(static_cast<size_t>(bytes), false);
  static const tempo::Handler kHttp{
      .ctx = &srv,
      .on_connected = on_connected,
      .on_data = on_data,
      .on_writable = on_writable,
      .on_peer_closed = on_peer_closed,
      .on_closed = on_closed,
  };

  // Nagle off unless asked for (as nginx's tcp_nodelay): a response's last, short segment
  // would otherwise wait for the ACK of the rest, which a client may delay (40 ms here).
  tempo::ConnOptions opts;
  opts.nagle = app.get_bool("nagle", false) ? tempo::ConnOptions::Choice::kOn
                                            : tempo::ConnOptions::Choice::kOff;
  const std::string program = tempo::config::program_name("httpd");
  auto stack = tempo::Stack::start(config, program);
  if (!stack) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), stack.error().c_str());
    return 1;
  }
  for (size_t w = 0; w < (*stack)->num_workers(); ++w) {
    g_shards[w] = std::make_unique<Shard>((*stack)->worker(w));
    tempo::set_poll_hook((*stack)->worker(w), expire, nullptr);
  }
  (*stack)->listen(port, &kHttp, opts);
  tempo::Stack::install_signal_handlers();
  std::printf(
      "%s: http port %u, %lld-byte responses, keepalive %s, header timeout %llu ms, "
      "idle timeout %llu ms; ready\n",
      program.c_str(), port, static_cast<long long>(bytes), srv.keepalive ? "on" : "off",
      static_cast<unsigned long long>(srv.header_ms), static_cast<unsigned long long>(srv.idle_ms));
  std::fflush(stdout);
  (*stack)->run();
  std::printf("%s: stopping\n", program.c_str());
  (*stack)->print_counters(stdout);
  print_counters();
  for (auto& s : g_shards) {
    s.reset();  // the loans go back before the stack does
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return tempo::config::run_main(argc, argv, "httpd", kHelp, run); }
