// tempo-echo: TCP echo on `app.echo.port` (default 7), IPv4 and IPv6, zero-copy: the bytes go
// back out in the mbufs they arrived in. Also answers ARP, IPv6 neighbour discovery and ping.
// Runs until SIGINT/SIGTERM, then prints its counters and exits 0.
//
//   tempo-echo --config drivers-config/net_tap.yaml
#include <deque>
#include <string>

#include <tempo/cli.h>
#include <tempo/config.h>
#include <tempo/stack.h>

namespace {

using tempo::Bytes;
using tempo::Conn;

// Bytes the send queue refused, oldest first; allocated only under back-pressure. They stay
// unconsumed, so the receive window closes and the peer waits: nothing is lost.
using Backlog = std::deque<Bytes>;

Backlog* backlog(Conn& c) { return static_cast<Backlog*>(tempo::user(c)); }

// Sends what waits, in order; true when nothing is left waiting.
bool drain(Conn& c) {
  Backlog* b = backlog(c);
  while (b != nullptr && !b->empty()) {
    if (!tempo::send(c, b->front())) {
      return false;
    }
    tempo::consume(c, b->front().size());
    b->pop_front();
  }
  return true;
}

void on_data(Conn& c, const Bytes& data, void* /*ctx*/) {
  if (drain(c) && tempo::send(c, data)) {
    tempo::consume(c, data.size());
    return;
  }
  if (tempo::user(c) == nullptr) {
    tempo::set_user(c, new Backlog());
  }
  backlog(c)->push_back(data);
}

void on_writable(Conn& c, void* /*ctx*/) {
  if (drain(c) && tempo::peer_closed(c)) {
    tempo::close(c);
  }
}

// The peer is done sending: close once everything is echoed (FIN after the queued data).
void on_peer_closed(Conn& c, void* /*ctx*/) {
  if (drain(c)) {
    tempo::close(c);
  }
}

void on_closed(Conn& c, tempo::CloseReason /*why*/, void* /*ctx*/) {
  delete backlog(c);
  tempo::set_user(c, nullptr);
}

const tempo::Handler kEcho{
    .ctx = nullptr,
    .on_connected = nullptr,
    .on_data = on_data,
    .on_writable = on_writable,
    .on_peer_closed = on_peer_closed,
    .on_closed = on_closed,
};

constexpr const char* kSummary =
    "TCP echo server on a DPDK port; answers ARP, IPv6 neighbour discovery and ping.";

int run(const tempo::Config& config) {
  // Everything in the config, the app section included, is checked before the EAL starts.
  const auto app = tempo::config::app_section(config, "echo");
  app.check_keys({"port"});
  const auto port = app.get_int("port", 1, 65535, 7);

  return tempo::serve(config, tempo::config::program_name("echo"), static_cast<uint16_t>(port),
                      &kEcho, "echo port " + std::to_string(port));
}

}  // namespace

int main(int argc, char** argv) {
  return tempo::config::run_main(argc, argv, "echo", kSummary, run);
}
