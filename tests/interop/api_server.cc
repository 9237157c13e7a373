// tempo-api-test: the embedding API's per-Worker state, timers and byte queue, through the
// public headers only (tempo/stack.h, tempo/byte_queue.h), for tests/interop/test_api.py.
// Serves TCP port 7. Each connection's first line is a command:
//   tick N P      a periodic Timer every P ms sends "tick I\n" (I = 1..N), then cancels itself
//                 and closes
//   once D        a one-shot Timer sends "once\n" after D ms, then closes
//   cancel D      arms a one-shot Timer at D ms and cancels it, and arms another at 2D that sends
//                 "after cancel\n" (the first must never fire) and closes
//   echo          every later byte is echoed through a ByteQueue: pushed unconsumed, sent with
//                 send_to() (zero-copy), consumed once sent; on_writable sends the rest
//   post          posts a message to the next Worker, which posts one back; the answer sends
//                 "reply from worker W\n" (W the other Worker's index) and closes; alone, it
//                 sends the PostError of a post to itself
//   flood N       posts N messages to the next Worker in one go: "posted P full F\n"
//   drain D       drains this Worker (tempo::drain: D ms for the open connections, then FIN):
//                 "draining\n"; once drained it prints a line and stops the process
//   counters      "sessions S passive P\n": this Worker's api.sessions and tcp.passive_opens,
//                 read by name (tempo::counter)
//   unlisten      unlisten(9) on this Worker: "unlisten 1\n" (0 when nothing listened there)
//   connect P     connects from source port P to the kernel's echo server at 198.18.0.1:7,
//                 sends "ping", and once it is echoed sends "connected from P\n" here; a failed
//                 connect sends its ConnectError
// Port 10 (ConnOptions: rcv_buf 8 KiB, snd_buf 64 KiB, mss_clamp 536, writable_lowat 16 KiB)
// streams 4 MiB of a pattern with send_copy(), refilling in on_writable, then a trailer line
// "\nspace S lowat L rcv_wnd W rcv_mss M\n": S the least send_space() seen in on_writable, L
// 1 when the queue had drained to the low-watermark at every on_writable, W and M from
// tempo::info().
// Port 9 (only on 198.18.0.2, with an admission check) greets "admitted\n" and closes. Its
// admission: a SYN from an odd source port is reset, from a port ending in 4 dropped.
// The per-Worker state (tempo::per_worker<Shard>) counts connections and timer firings; it
// prints a line when made and when destroyed, with its counts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <tempo/byte_queue.h>
#include <tempo/cli.h>
#include <tempo/config.h>
#include <tempo/stack.h>

namespace {

struct Shard {
  explicit Shard(tempo::Worker& w) : worker(&w) {
    std::printf("api-test: state made for worker %u, %s\n", tempo::worker_index(w),
                tempo::worker_state(w) == nullptr ? "before any callback" : "TWICE");
    std::fflush(stdout);
  }
  ~Shard() {
    std::printf(
        "api-test: state destroyed for worker %u: connections=%lu fired=%lu "
        "messages=%lu\n",
        tempo::worker_index(*worker), static_cast<unsigned long>(connections),
        static_cast<unsigned long>(fired), static_cast<unsigned long>(messages));
    std::fflush(stdout);
  }
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  tempo::Worker* worker;
  uint64_t connections = 0;
  uint64_t fired = 0;
  uint64_t messages = 0;  // "flood" messages run here
};

struct Session {
  tempo::Conn* conn = nullptr;
  std::string line;  // the command, until its newline
  bool echo = false;
  bool closing = false;
  uint32_t ticks_left = 0;
  uint32_t ticked = 0;
  tempo::Timer timer;
  tempo::Timer decoy;          // "cancel": armed then cancelled, must never fire
  tempo::Conn* out = nullptr;  // "connect": the outgoing connection, until it answers
  tempo::ByteQueue queue;
};

tempo::CounterId g_sessions;  // api.sessions: connections to port 7

Shard& shard(tempo::Conn& c) { return tempo::worker_state<Shard>(tempo::worker_of(c)); }

void say(tempo::Conn& c, const std::string& s) {
  tempo::send_copy(c, std::as_bytes(std::span(s.data(), s.size())));
}

void on_tick(tempo::Worker& w, tempo::Timer& t, void* ctx) {
  auto* s = static_cast<Session*>(ctx);
  ++tempo::worker_state<Shard>(w).fired;
  say(*s->conn, "tick " + std::to_string(++s->ticked) + "\n");
  if (--s->ticks_left == 0) {
    tempo::cancel(w, t);  // periodic: re-armed before this ran
    tempo::close(*s->conn);
  }
}

void on_once(tempo::Worker& w, tempo::Timer&, void* ctx) {
  auto* s = static_cast<Session*>(ctx);
  ++tempo::worker_state<Shard>(w).fired;
  say(*s->conn, s->decoy.fn != nullptr ? "after cancel\n" : "once\n");
  tempo::close(*s->conn);
}

void on_decoy(tempo::Worker&, tempo::Timer&, void* ctx) {
  say(*static_cast<Session*>(ctx)->conn, "DECOY FIRED\n");
}

// The message of "post": the asking Session (only the asking Worker touches it) and the
// Worker that answers.
struct Ping {
  Session* s;
  uint32_t from;
};

std::span<const std::byte> bytes_of(const Ping& p) { return std::as_bytes(std::span(&p, 1)); }
Ping ping_of(std::span<const std::byte> payload) {
  Ping p{};
  std::memcpy(&p, payload.data(), std::min(payload.size(), sizeof p));
  return p;
}

void on_pong(tempo::Worker&, std::span<const std::byte> payload, void*) {
  const Ping p = ping_of(payload);
  say(*p.s->conn, "reply from worker " + std::to_string(p.from) + "\n");
  tempo::close(*p.s->conn);
}

void on_ping(tempo::Worker& w, std::span<const std::byte> payload, void*) {
  const Ping p = ping_of(payload);
  const Ping back{p.s, tempo::worker_index(w)};
  if (!tempo::post(w, p.from, on_pong, nullptr, bytes_of(back))) {
    std::printf("api-test: the reply could not be posted\n");
  }
}

// A receiver slower than its sender (2 us a message), so that a flood fills the ring.
void on_flood(tempo::Worker& w, std::span<const std::byte>, void*) {
  ++tempo::worker_state<Shard>(w).messages;
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(2);
  while (std::chrono::steady_clock::now() < until) {
  }
}

void pump(tempo::Conn& c, Session& s) {
  auto sent = s.queue.send_to(c);
  if (sent && *sent > 0) {
    tempo::consume(c, static_cast<uint32_t>(*sent));
  }
  if (s.queue.empty() && tempo::peer_closed(c) && !s.closing) {
    s.closing = true;
    tempo::close(c);
  }
}

// "connect P": the outgoing connection's user state is the Session that asked for it.
void out_connected(tempo::Conn& c, void*) { say(c, "ping"); }
void out_data(tempo::Conn& c, const tempo::Bytes& d, void*) {
  auto* asker = static_cast<Session*>(tempo::user(c));
  tempo::consume(c, d.size());
  if (asker != nullptr) {
    say(*asker->conn, "connected from " + std::to_string(tempo::local(c).port) + "\n");
    tempo::close(*asker->conn);
    asker->out = nullptr;
    tempo::set_user(c, nullptr);
  }
  tempo::close(c);
}
void out_closed(tempo::Conn& c, tempo::CloseReason why, void*) {
  if (auto* asker = static_cast<Session*>(tempo::user(c)); asker != nullptr) {
    say(*asker->conn, std::string("closed: ") + tempo::to_string(why) + "\n");
    tempo::close(*asker->conn);
    asker->out = nullptr;
  }
}
const tempo::Handler kOut{.ctx = nullptr,
                          .on_connected = out_connected,
                          .on_data = out_data,
                          .on_writable = nullptr,
                          .on_peer_closed = nullptr,
                          .on_closed = out_closed};

void command(tempo::Conn& c, Session& s) {
  tempo::Worker& w = tempo::worker_of(c);
  unsigned a = 0, b = 0;
  s.timer.ctx = s.decoy.ctx = &s;
  if (std::sscanf(s.line.c_str(), "tick %u %u", &a, &b) == 2 && a > 0) {
    s.ticks_left = a;
    s.timer.fn = on_tick;
    tempo::arm(w, s.timer, b, b);
  } else if (std::sscanf(s.line.c_str(), "once %u", &a) == 1) {
    s.timer.fn = on_once;
    tempo::arm(w, s.timer, a);
  } else if (std::sscanf(s.line.c_str(), "cancel %u", &a) == 1) {
    s.decoy.fn = on_decoy;
    tempo::arm(w, s.decoy, a);
    const bool was = tempo::armed(s.decoy);
    tempo::cancel(w, s.decoy);
    if (!was || tempo::armed(s.decoy)) {
      say(c, "armed() wrong\n");
    }
    s.timer.fn = on_once;
    tempo::arm(w, s.timer, 2 * a);
  } else if (std::sscanf(s.line.c_str(), "drain %u", &a) == 1) {
    tempo::drain(w, tempo::DrainOptions{.deadline_ms = a,
                                        .reset_rest = false,
                                        .on_drained =
                                            [](tempo::Worker& dw, void*) {
                                              std::printf(
                                                  "api-test: worker %u drained at %lu ms\n",
                                                  tempo::worker_index(dw),
                                                  static_cast<unsigned long>(tempo::now_ms(dw)));
                                              std::fflush(stdout);
                                              tempo::Stack::request_stop();
                                            },
                                        .ctx = nullptr});
    say(c, std::string(tempo::draining(w) ? "draining" : "not draining") + "\n");
    tempo::close(c);
  } else if (s.line == "counters") {
    say(c, "sessions " + std::to_string(tempo::counter(w, "api.sessions")) + " passive " +
               std::to_string(tempo::counter(w, "tcp.passive_opens")) + "\n");
    tempo::close(c);
  } else if (s.line == "unlisten") {
    say(c, "unlisten " + std::to_string(tempo::unlisten(w, 9, tempo::local(c)) ? 1 : 0) + "\n");
    tempo::close(c);
  } else if (std::sscanf(s.line.c_str(), "connect %u", &a) == 1) {
    tempo::Endpoint local = tempo::local(c);
    local.port = static_cast<uint16_t>(a);
    tempo::Endpoint kernel = tempo::remote(c);
    kernel.port = 7;
    auto r = tempo::connect_from(w, local, kernel, &kOut, &s);
    if (!r) {
      say(c, std::string(tempo::to_string(r.error())) + "\n");
      tempo::close(c);
    } else {
      s.out = *r;
    }
  } else if (s.line == "echo") {
    s.echo = true;
  } else if (s.line == "post") {
    const size_t me = tempo::worker_index(w);
    const Ping p{&s, static_cast<uint32_t>(me)};
    auto r = tempo::post(w, (me + 1) % tempo::num_workers(w), on_ping, nullptr, bytes_of(p));
    if (!r) {
      say(c, std::string(tempo::to_string(r.error())) + "\n");
      tempo::close(c);
    }
  } else if (std::sscanf(s.line.c_str(), "flood %u", &a) == 1) {
    const size_t to = (tempo::worker_index(w) + 1) % tempo::num_workers(w);
    unsigned posted = 0, full = 0;
    const std::byte big[tempo::kMessageBytes + 1] = {};
    if (tempo::post(w, to, on_flood, nullptr, big).error() != tempo::PostError::kTooBig) {
      say(c, "kTooBig not refused\n");
    }
    for (unsigned i = 0; i < a; ++i) {
      auto r = tempo::post(w, to, on_flood, nullptr);
      posted += r ? 1 : 0;
      full += !r && r.error() == tempo::PostError::kFull ? 1 : 0;
    }
    say(c, "posted " + std::to_string(posted) + " full " + std::to_string(full) + "\n");
    tempo::close(c);
  } else {
    say(c, "unknown command\n");
    tempo::close(c);
  }
}

void on_data(tempo::Conn& c, const tempo::Bytes& data, void*) {
  auto* s = static_cast<Session*>(tempo::user(c));
  if (s->echo) {
    s->queue.push(data);  // unconsumed until sent: the window shuts while the queue is full
    pump(c, *s);
    return;
  }
  uint32_t used = 0;
  bool done = false;
  data.for_each_span([&](std::span<const std::byte> span) {
    for (std::byte ch : span) {
      if (done) {
        return;
      }
      ++used;
      if (ch == std::byte{'\n'}) {
        done = true;
      } else {
        s->line.push_back(static_cast<char>(ch));
      }
    }
  });
  tempo::consume(c, used);
  if (done) {
    command(c, *s);
    if (s->echo && used < data.size()) {
      s->queue.push(data.slice(used, data.size() - used));
      pump(c, *s);
    }
  }
}

void on_connected(tempo::Conn& c, void*) {
  auto* s = new Session();
  s->conn = &c;
  tempo::set_user(c, s);
  ++shard(c).connections;
  tempo::count(tempo::worker_of(c), g_sessions);
}

void on_writable(tempo::Conn& c, void*) {
  auto* s = static_cast<Session*>(tempo::user(c));
  if (s != nullptr && s->echo) {
    pump(c, *s);
  }
}

void on_peer_closed(tempo::Conn& c, void*) {
  auto* s = static_cast<Session*>(tempo::user(c));
  if (s->echo) {
    pump(c, *s);
  }
}

void on_closed(tempo::Conn& c, tempo::CloseReason why, void*) {
  auto* s = static_cast<Session*>(tempo::user(c));
  if (s == nullptr) {  // on_connected made one for every connection it saw
    std::printf("api-test: on_closed (%s) without on_connected\n", tempo::to_string(why));
    std::fflush(stdout);
    return;
  }
  tempo::Worker& w = tempo::worker_of(c);
  tempo::cancel(w, s->timer);  // its memory goes: the wheel must not keep it
  tempo::cancel(w, s->decoy);
  if (s->out != nullptr) {
    tempo::set_user(*s->out, nullptr);
  }
  delete s;
}

// Port 9: listened on 198.18.0.2 only, through an admission check.
tempo::Admit admit(const tempo::Endpoint& remote, const tempo::Endpoint& local, void*) {
  if (local.port != 9 || local.to_string() != "198.18.0.2:9") {
    return tempo::Admit::kReset;  // never: only this listener has the check
  }
  if (remote.port % 2 == 1) {
    return tempo::Admit::kReset;
  }
  return remote.port % 10 == 4 ? tempo::Admit::kDrop : tempo::Admit::kAccept;
}

void on_greeted(tempo::Conn& c, void*) {
  say(c, "admitted\n");
  tempo::close(c);
}
const tempo::Handler kGreeter{
    .ctx = nullptr,
    .on_connected = on_greeted,
    .on_data = [](tempo::Conn& c, const tempo::Bytes& d, void*) { tempo::consume(c, d.size()); },
    .on_writable = nullptr,
    .on_peer_closed = nullptr,
    .on_closed = nullptr};

constexpr uint32_t kStreamBytes = 4 << 20;
constexpr tempo::ConnOptions kStreamOptions{
    .rcv_buf = 8192, .snd_buf = 65536, .mss_clamp = 536, .writable_lowat = 16384};

struct Stream {
  uint32_t sent = 0;
  uint32_t min_space = UINT32_MAX;
  bool lowat_ok = true;
};

std::byte pattern(uint32_t i) { return static_cast<std::byte>((i * 7 + i / 251) & 0xff); }

void stream_more(tempo::Conn& c, Stream& st) {
  std::byte chunk[4096];
  while (st.sent < kStreamBytes) {
    const uint32_t n = std::min<uint32_t>(sizeof chunk, kStreamBytes - st.sent);
    for (uint32_t i = 0; i < n; ++i) {
      chunk[i] = pattern(st.sent + i);
    }
    const size_t took = tempo::send_copy(c, std::span(chunk, n));
    st.sent += static_cast<uint32_t>(took);
    if (took < n) {
      return;  // on_writable resumes
    }
  }
  const tempo::ConnInfo i = tempo::info(c);
  say(c, "\nspace " + std::to_string(st.min_space) + " lowat " + (st.lowat_ok ? "1" : "0") +
             " rcv_wnd " + std::to_string(i.rcv_wnd) + " rcv_mss " + std::to_string(i.rcv_mss) +
             "\n");
  tempo::close(c);
}

const tempo::Handler kStreamer{
    .ctx = nullptr,
    .on_connected =
        [](tempo::Conn& c, void*) {
          auto* st = new Stream();
          tempo::set_user(c, st);
          stream_more(c, *st);
        },
    .on_data = [](tempo::Conn& c, const tempo::Bytes& d, void*) { tempo::consume(c, d.size()); },
    .on_writable =
        [](tempo::Conn& c, void*) {
          auto* st = static_cast<Stream*>(tempo::user(c));
          const uint32_t space = tempo::send_space(c);
          st->min_space = std::min(st->min_space, space);
          st->lowat_ok =
              st->lowat_ok && space >= kStreamOptions.snd_buf - kStreamOptions.writable_lowat;
          stream_more(c, *st);
        },
    .on_peer_closed = nullptr,
    .on_closed = [](tempo::Conn& c, tempo::CloseReason,
                    void*) { delete static_cast<Stream*>(tempo::user(c)); }};

const tempo::Handler kHandler{.ctx = nullptr,
                              .on_connected = on_connected,
                              .on_data = on_data,
                              .on_writable = on_writable,
                              .on_peer_closed = on_peer_closed,
                              .on_closed = on_closed};

int run(const tempo::Config& config) {
  auto stack = tempo::Stack::start(config, "tempo-api-test");
  if (!stack) {
    std::fprintf(stderr, "tempo-api-test: %s\n", stack.error().c_str());
    return 1;
  }
  tempo::per_worker<Shard>(**stack);
  auto id = (*stack)->add_counter("api.sessions");
  if (!id) {
    std::fprintf(stderr, "tempo-api-test: %s\n", id.error().c_str());
    return 1;
  }
  g_sessions = *id;
  for (const char* bad : {"api.sessions", "tcp.passive_opens", "Sessions", "", "a-b"}) {
    auto r = (*stack)->add_counter(bad);
    std::printf("api-test: add_counter(\"%s\"): %s\n", bad, r ? "ok" : r.error().c_str());
  }
  (*stack)->listen(7, &kHandler);
  tempo::Endpoint nine = tempo::Endpoint::v4(tempo::Ipv4Addr{}, 9);
  nine.ip4.bytes = {198, 18, 0, 2};
  (*stack)->listen(10, &kStreamer, kStreamOptions);
  (*stack)->listen(9, &kGreeter, {}, tempo::ListenOptions{.local = nine, .admit = admit});
  std::printf("tempo-api-test: port 7; ready\n");
  std::fflush(stdout);
  (*stack)->run();
  (*stack)->print_counters(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tempo::config::run_main(
      argc, argv, "api-test", "The embedding API through its public headers (interop tests).", run);
}
