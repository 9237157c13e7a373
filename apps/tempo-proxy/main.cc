// tempo-proxy: a TCP relay, and the whole embedding API (tempo/stack.h) in one file. Each
// client connection to `app.proxy.listen` gets a connection to the next backend (round robin);
// bytes go both ways zero-copy (the Bytes that arrive are the Bytes that leave), a FIN is passed
// on as a half-close, a reset or failure on one side aborts the other.
//
//   app: { proxy: { listen: 8080, backends: ["198.18.0.1:8000"], balance: round_robin,
//                   nagle: true, keepalive: false } }     (the last two: per-connection options)
#include <cstdio>
#include <deque>
#include <vector>

#include <tempo/cli.h>
#include <tempo/config.h>
#include <tempo/stack.h>

namespace {

struct Proxy {
  std::vector<tempo::Ipv4Endpoint> backends;
  size_t next = 0;
  tempo::ConnOptions opts;  // both sides of every pair
};

// One side of a relayed pair. Bytes the other side refused wait here, unconsumed, so this
// side's receive window closes and its peer waits: back-pressure, nothing lost.
struct Side {
  tempo::Conn* conn = nullptr;
  Side* other = nullptr;
  std::deque<tempo::Bytes> waiting;  // received here, not yet taken by `other`
  bool fin = false;                  // this side's peer sent FIN: pass it on after `waiting`
};

Side* side(tempo::Conn& c) { return static_cast<Side*>(tempo::user(c)); }

// Moves what `from` received to the other side, in order; passes the FIN on after it.
void pump(Side* from) {
  Side* to = from == nullptr ? nullptr : from->other;
  if (to == nullptr || to->conn == nullptr) {
    return;  // the backend is still connecting, or the pair is gone
  }
  while (!from->waiting.empty() && tempo::send(*to->conn, from->waiting.front())) {
    if (from->conn != nullptr) {
      tempo::consume(*from->conn, from->waiting.front().size());
    }
    from->waiting.pop_front();
  }
  if (from->fin && from->waiting.empty()) {
    from->fin = false;
    tempo::shutdown(*to->conn);
  }
}

void on_data(tempo::Conn& c, const tempo::Bytes& data, void* /*ctx*/) {
  side(c)->waiting.push_back(data);  // a reference, not a copy
  pump(side(c));
}

void on_writable(tempo::Conn& c, void* /*ctx*/) { pump(side(c)->other); }

void on_peer_closed(tempo::Conn& c, void* /*ctx*/) {
  side(c)->fin = true;
  pump(side(c));
}

void on_connected(tempo::Conn& c, void* /*ctx*/) { pump(side(c)->other); }

// A clean close leaves the pair's other half to drain what this side received and pass its
// FIN on; a reset, timeout or abort aborts the other half. The pair is freed with its last.
void on_closed(tempo::Conn& c, tempo::CloseReason why, void* /*ctx*/) {
  Side* s = side(c);
  s->conn = nullptr;
  Side* o = s->other;
  if (o == nullptr || o->conn == nullptr) {
    delete o;
    delete s;
  } else if (why != tempo::CloseReason::kNormal) {
    o->other = nullptr;
    delete s;
    tempo::abort(*o->conn);
  } else {
    pump(s);
  }
}

const tempo::Handler kRelay{.ctx = nullptr,
                            .on_connected = on_connected,
                            .on_data = on_data,
                            .on_writable = on_writable,
                            .on_peer_closed = on_peer_closed,
                            .on_closed = on_closed};

// A client arrived: open its backend connection from the same Worker (so both sides of the
// pair stay on one lcore) and pair them.
void on_accept(tempo::Conn& client, void* ctx) {
  auto* proxy = static_cast<Proxy*>(ctx);
  const tempo::Ipv4Endpoint& be = proxy->backends[proxy->next++ % proxy->backends.size()];
  auto* front = new Side();
  auto* back = new Side();
  front->conn = &client;
  front->other = back;
  back->other = front;
  tempo::set_user(client, front);
  auto conn = tempo::connect(tempo::worker_of(client), tempo::Endpoint::v4(be.addr, be.port),
                             &kRelay, back, proxy->opts);
  if (!conn) {
    std::fprintf(stderr, "tempo-proxy: connect: %s\n", tempo::to_string(conn.error()));
    front->other = nullptr;
    delete back;
    tempo::abort(client);
    return;
  }
  back->conn = *conn;
}

int run(const tempo::Config& config) {
  const auto app = tempo::config::app_section(config, "proxy");
  app.check_keys({"listen", "backends", "balance", "nagle", "keepalive"});
  static Proxy proxy;
  const auto port = static_cast<uint16_t>(app.get_int("listen", 1, 65535, 8080));
  proxy.backends = app.get_endpoint_list("backends", {});
  (void)app.get_enum("balance", {"round_robin"}, "round_robin");
  using Choice = tempo::ConnOptions::Choice;
  if (app.has("nagle")) {
    proxy.opts.nagle = app.get_bool("nagle", true) ? Choice::kOn : Choice::kOff;
  }
  if (app.has("keepalive")) {  // tcp.keepalive's timing, on the relay's connections only
    proxy.opts.keepalive = app.get_bool("keepalive", false) ? Choice::kOn : Choice::kOff;
  }
  if (proxy.backends.empty()) {
    throw tempo::config::ConfigError("config: app.proxy.backends: expected at least one backend");
  }
  // Client connections: on_connected pairs them with a backend; then they relay like any side.
  static const tempo::Handler kClient{.ctx = &proxy,
                                      .on_connected = on_accept,
                                      .on_data = on_data,
                                      .on_writable = on_writable,
                                      .on_peer_closed = on_peer_closed,
                                      .on_closed = on_closed};
  return tempo::serve(config, tempo::config::program_name("proxy"), port, &kClient, proxy.opts,
                      "relay port " + std::to_string(port) + " to " +
                          std::to_string(proxy.backends.size()) + " backend(s)");
}

}  // namespace

int main(int argc, char** argv) {
  return tempo::config::run_main(
      argc, argv, "proxy", "TCP relay (L4 proxy) on a DPDK port, round robin over backends.", run);
}
