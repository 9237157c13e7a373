// tempo-echo: TCP echo on `app.echo.port` (default 7), IPv4 and IPv6, zero-copy: the bytes go
// back out in the mbufs they arrived in. Also answers ARP, IPv6 neighbour discovery and ping.
// Runs until SIGINT/SIGTERM, then prints its counters and exits 0.
//
//   tempo-echo --config drivers-config/net_tap.yaml
#include <deque>
#include <string>

#include <tempo/config.h>

#include "config/cli.h"
#include "stack/runtime.h"

namespace {

using tempo::stack::Conn;
using tempo::stack::MbufBuf;

// Bytes the send queue refused, oldest first; allocated only under back-pressure. They stay
// unconsumed, so the receive window closes and the peer waits: nothing is lost.
using Backlog = std::deque<MbufBuf>;

Backlog* backlog(Conn& c) { return static_cast<Backlog*>(c.user); }

// Sends what waits, in order; true when nothing is left waiting.
bool drain(Conn& c) {
  Backlog* b = backlog(c);
  while (b != nullptr && !b->empty()) {
    if (!c.worker->send(c, b->front())) {
      return false;
    }
    c.worker->consume(c, b->front().size());
    b->pop_front();
  }
  return true;
}

void on_data(Conn& c, const MbufBuf& data, void* /*ctx*/) {
  if (drain(c) && c.worker->send(c, data)) {
    c.worker->consume(c, data.size());
    return;
  }
  if (c.user == nullptr) {
    c.user = new Backlog();
  }
  backlog(c)->push_back(data);
}

void on_writable(Conn& c, void* /*ctx*/) {
  if (drain(c) && c.worker->peer_closed(c)) {
    c.worker->close(c);
  }
}

// The peer is done sending: close once everything is echoed (FIN after the queued data).
void on_peer_closed(Conn& c, void* /*ctx*/) {
  if (drain(c)) {
    c.worker->close(c);
  }
}

void on_closed(Conn& c, tempo::tcp::CloseReason /*why*/, void* /*ctx*/) {
  delete backlog(c);
  c.user = nullptr;
}

const tempo::stack::AppHandler kEcho{
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

  return tempo::stack::serve(config, tempo::config::program_name("echo"),
                             static_cast<uint16_t>(port), &kEcho,
                             "echo port " + std::to_string(port));
}

}  // namespace

int main(int argc, char** argv) {
  return tempo::config::run_main(argc, argv, "echo", kSummary, run);
}
