// tempo-connect-test: active opens through the public API only, for the interop tests. From
// the first Worker's poll hook it opens `app.connect.count` connections to `app.connect.target`
// ("198.18.0.1:7" or "[2001:db8::1]:7"), `delay_ms` after its first poll, sends `bytes` of a
// pattern on each (send_copy), checks every echoed byte in place (Bytes::for_each_span), closes,
// and when all are done prints
//   connect-test: done ok=N failed=M
// and stops. Each failure prints its reason.
#include <arpa/inet.h>
#include <cstdio>
#include <string>
#include <vector>

#include <tempo/cli.h>
#include <tempo/config.h>
#include <tempo/stack.h>

namespace {

struct Test {
  tempo::Endpoint target;
  uint32_t count = 1;
  uint32_t bytes = 1000;
  uint64_t delay_ms = 0;  // after the first poll: time for the test to start its server
  uint64_t first_poll_ms = 0;
  bool started = false;
  uint32_t ok = 0;
  uint32_t failed = 0;
};

struct Flow {
  uint32_t sent = 0;
  uint32_t received = 0;
  bool intact = true;
};

std::byte pattern(uint32_t i) { return static_cast<std::byte>((i * 7 + i / 251) & 0xff); }

void push(tempo::Conn& c, Test& t) {
  auto* f = static_cast<Flow*>(tempo::user(c));
  std::byte chunk[4096];
  while (f->sent < t.bytes) {
    const uint32_t n = std::min<uint32_t>(sizeof chunk, t.bytes - f->sent);
    for (uint32_t i = 0; i < n; ++i) {
      chunk[i] = pattern(f->sent + i);
    }
    const size_t took = tempo::send_copy(c, std::span(chunk, n));
    f->sent += static_cast<uint32_t>(took);
    if (took < n) {
      return;  // on_writable resumes
    }
  }
}

void on_connected(tempo::Conn& c, void* ctx) { push(c, *static_cast<Test*>(ctx)); }
void on_writable(tempo::Conn& c, void* ctx) { push(c, *static_cast<Test*>(ctx)); }

void on_data(tempo::Conn& c, const tempo::Bytes& data, void* ctx) {
  auto* f = static_cast<Flow*>(tempo::user(c));
  data.for_each_span([&](std::span<const std::byte> s) {
    for (std::byte b : s) {
      f->intact = f->intact && b == pattern(f->received++);
    }
  });
  tempo::consume(c, data.size());
  if (f->received >= static_cast<Test*>(ctx)->bytes) {
    tempo::close(c);
  }
}

void on_closed(tempo::Conn& c, tempo::CloseReason why, void* ctx) {
  auto* t = static_cast<Test*>(ctx);
  auto* f = static_cast<Flow*>(tempo::user(c));
  if (why == tempo::CloseReason::kNormal && f->intact && f->received == t->bytes) {
    ++t->ok;
  } else {
    ++t->failed;
    std::printf("connect-test: %s: %s, %u of %u bytes back, %s\n",
                tempo::remote(c).to_string().c_str(), tempo::to_string(why), f->received, t->bytes,
                f->intact ? "intact" : "CORRUPT");
  }
  delete f;
  if (t->ok + t->failed == t->count) {
    std::printf("connect-test: done ok=%u failed=%u\n", t->ok, t->failed);
    std::fflush(stdout);
    tempo::Stack::request_stop();
  }
}

const tempo::Handler* handler(Test* t) {
  static const tempo::Handler h{.ctx = t,
                                .on_connected = on_connected,
                                .on_data = on_data,
                                .on_writable = on_writable,
                                .on_peer_closed = nullptr,
                                .on_closed = on_closed};
  return &h;
}

void start(tempo::Worker& w, void* ctx) {
  auto* t = static_cast<Test*>(ctx);
  if (t->started) {
    return;
  }
  if (t->first_poll_ms == 0) {
    t->first_poll_ms = tempo::now_ms(w) + 1;
  }
  if (tempo::now_ms(w) + 1 - t->first_poll_ms < t->delay_ms) {
    return;
  }
  t->started = true;
  for (uint32_t i = 0; i < t->count; ++i) {
    auto c = tempo::connect(w, t->target, handler(t), new Flow());
    if (!c) {
      std::printf("connect-test: connect: %s\n", tempo::to_string(c.error()));
      ++t->failed;  // (its Flow is the one leak of a failing test)
    }
  }
}

tempo::Endpoint parse_target(const std::string& s) {
  tempo::Endpoint e;
  const size_t colon = s.rfind(':');
  const bool v6 = !s.empty() && s[0] == '[';
  const std::string host = v6 ? s.substr(1, colon - 2) : s.substr(0, colon);
  e.v6 = v6;
  e.port = static_cast<uint16_t>(std::stoi(s.substr(colon + 1)));
  const int rc = v6 ? inet_pton(AF_INET6, host.c_str(), e.ip6.bytes.data())
                    : inet_pton(AF_INET, host.c_str(), e.ip4.bytes.data());
  if (rc != 1) {
    throw tempo::config::ConfigError("config: app.connect.target: " + s + ": expected ADDR:PORT");
  }
  return e;
}

int run(const tempo::Config& config) {
  const auto app = tempo::config::app_section(config, "connect");
  app.check_keys({"target", "count", "bytes", "delay_ms"});
  static Test t;
  t.target = parse_target(app.require_string("target"));
  t.count = static_cast<uint32_t>(app.get_int("count", 1, 10000, 1));
  t.bytes = static_cast<uint32_t>(app.get_int("bytes", 1, 1 << 30, 1000));
  t.delay_ms = static_cast<uint64_t>(app.get_int("delay_ms", 0, 60000, 0));
  auto stack = tempo::Stack::start(config, "tempo-connect-test");
  if (!stack) {
    std::fprintf(stderr, "tempo-connect-test: %s\n", stack.error().c_str());
    return 1;
  }
  tempo::set_poll_hook((*stack)->worker(0), start, &t);
  tempo::Stack::install_signal_handlers();
  std::printf("tempo-connect-test: %u to %s; ready\n", t.count, t.target.to_string().c_str());
  std::fflush(stdout);
  (*stack)->run();
  (*stack)->print_counters(stdout);
  return t.failed == 0 && t.ok == t.count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return tempo::config::run_main(argc, argv, "connect-test",
                                 "Active opens through the public API (interop tests).", run);
}
