// tempo-httpd: a fixed-response HTTP/1.1 server, the server of the short-connection
// benchmarks. Every request (any method, any path) gets `app.httpd.response_bytes` bytes of
// body with a Content-Length. With keep-alive (HTTP/1.1's default, unless the request says
// `Connection: close` or `app.httpd.keepalive` is false) the connection serves the next
// request; otherwise tempo closes first after the response, so tempo holds the TIME_WAIT
// entries (DESIGN.md "TIME_WAIT").
//
//   tempo-httpd --config FILE      app: { httpd: { port: 80, response_bytes: 1024,
//                                                  keepalive: true, nagle: false } }
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <tempo/cli.h>
#include <tempo/config.h>
#include <tempo/stack.h>

namespace {

using tempo::Bytes;
using tempo::Conn;

constexpr const char* kSummary = "HTTP/1.1 server of fixed responses on a DPDK port.";
constexpr size_t kMaxRequest = 8192;  // a request head larger than this is refused (431)

struct Server {
  std::string response_keepalive;  // head + body
  std::string response_close;
  bool keepalive = true;
};

// Per-connection state, made only when needed: the request head so far (requests rarely span
// segments), and the part of a response the send buffer did not take yet (on_writable sends
// it; pipelined requests wait behind it).
struct Request {
  std::string head;
  const std::string* out = nullptr;
  size_t out_off = 0;
  bool close_after = false;
};

Request& state_of(Conn& c) {
  auto* req = static_cast<Request*>(tempo::user(c));
  if (req == nullptr) {
    req = new Request();
    tempo::set_user(c, req);
  }
  return *req;
}

// Sends `resp` from `off`; what is not taken waits in the connection's state. Returns true
// when all of it went (and closes the connection when `close`).
bool respond(Conn& c, const std::string& resp, size_t off, bool close) {
  off += tempo::send_copy(c, std::as_bytes(std::span(resp)).subspan(off));
  if (off < resp.size()) {
    Request& req = state_of(c);
    req.out = &resp;
    req.out_off = off;
    req.close_after = close;
    return false;
  }
  if (close) {
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
// response waits for room. Returns the bytes consumed; sets *closed when a response closed
// the connection (or will once it is sent).
size_t serve(Conn& c, const Server& srv, std::string_view in, bool* closed) {
  size_t used = 0;
  for (;;) {
    const auto* req = static_cast<const Request*>(tempo::user(c));
    if (req != nullptr && req->out != nullptr) {
      return used;  // a response is still going out
    }
    const size_t end = in.find("\r\n\r\n", used);
    if (end == std::string_view::npos) {
      return used;
    }
    const std::string_view head = in.substr(used, end - used);
    const bool http10 = head.find("HTTP/1.0") != std::string_view::npos;
    const bool close = !srv.keepalive || ieq_contains(head, "connection: close") ||
                       (http10 && !ieq_contains(head, "connection: keep-alive"));
    const std::string& resp = close ? srv.response_close : srv.response_keepalive;
    used = end + 4;
    respond(c, resp, 0, close);
    if (close) {
      *closed = true;
      return used;
    }
  }
}

void on_data(Conn& c, const Bytes& data, void* ctx) {
  const auto* srv = static_cast<const Server*>(ctx);
  tempo::consume(c, data.size());
  bool closed = false;
  auto* req = static_cast<Request*>(tempo::user(c));
  if (req == nullptr && data.size() <= kMaxRequest) {
    // The common case: whole requests in one segment, served without allocating.
    std::array<char, kMaxRequest> buf;
    data.copy_to(0, std::as_writable_bytes(std::span(buf)));
    const std::string_view in(buf.data(), data.size());
    const size_t used = serve(c, *srv, in, &closed);
    if (used < in.size() && !closed) {
      state_of(c).head.assign(in.substr(used));
    }
    req = static_cast<Request*>(tempo::user(c));  // respond() may have made it
  } else {
    req = &state_of(c);
    const size_t old = req->head.size();
    req->head.resize(old + data.size());
    data.copy_to(0, std::as_writable_bytes(std::span(req->head).subspan(old)));
    req->head.erase(0, serve(c, *srv, req->head, &closed));
  }
  if (!closed && req != nullptr && req->head.size() > kMaxRequest) {
    static constexpr std::string_view k431 =
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n";
    tempo::send_copy(c, std::as_bytes(std::span(k431)));
    tempo::close(c);
  }
}

// The rest of a response that did not fit, then the requests that waited behind it.
void on_writable(Conn& c, void* ctx) {
  const auto* srv = static_cast<const Server*>(ctx);
  auto* req = static_cast<Request*>(tempo::user(c));
  if (req == nullptr || req->out == nullptr) {
    return;
  }
  const std::string& resp = *req->out;
  const size_t off = req->out_off;
  req->out = nullptr;
  if (!respond(c, resp, off, req->close_after) || req->close_after) {
    return;
  }
  bool closed = false;
  req->head.erase(0, serve(c, *srv, req->head, &closed));
}

void on_peer_closed(Conn& c, void* /*ctx*/) {
  auto* req = static_cast<Request*>(tempo::user(c));
  if (req == nullptr || req->out == nullptr) {
    tempo::close(c);
  } else {
    req->close_after = true;  // once the response is out
  }
}

void on_closed(Conn& c, tempo::CloseReason /*why*/, void* /*ctx*/) {
  delete static_cast<Request*>(tempo::user(c));
  tempo::set_user(c, nullptr);
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
  app.check_keys({"port", "response_bytes", "keepalive", "nagle"});
  const auto port = app.get_int("port", 1, 65535, 80);
  const auto bytes = app.get_int("response_bytes", 0, 1 << 20, 1024);
  static Server srv;
  srv.keepalive = app.get_bool("keepalive", true);
  srv.response_keepalive = response(static_cast<size_t>(bytes), true);
  srv.response_close = response(static_cast<size_t>(bytes), false);
  static const tempo::Handler kHttp{
      .ctx = &srv,
      .on_connected = nullptr,
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
  return tempo::serve(config, tempo::config::program_name("httpd"), static_cast<uint16_t>(port),
                      &kHttp, opts,
                      "http port " + std::to_string(port) + ", " + std::to_string(bytes) +
                          "-byte responses, keepalive " + (srv.keepalive ? "on" : "off"));
}

}  // namespace

int main(int argc, char** argv) {
  return tempo::config::run_main(argc, argv, "httpd", kSummary, run);
}
