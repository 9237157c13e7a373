// A scripted TCP peer for the Worker on a ring port (ring_worker.h): it opens connections to
// a listener (or lets the Worker open one to it) and drives each to a named state, keeping the
// sequence numbers, TSval and window it has seen, so that a test can then send any segment at
// any position and compare the Worker's answer with the RFC's.
//
// The peer sends timestamps (TSval kPeerTs throughout the set-up, so TS.Recent = kPeerTs), an
// MSS, no window scaling and no SACK: RCV.WND is then exactly the window field tempo sends.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ring_worker.h"

namespace tempo::conformance {

namespace flags {
constexpr uint8_t kF = wire::TcpFlags::kFin, kS = wire::TcpFlags::kSyn, kR = wire::TcpFlags::kRst,
                  kP = wire::TcpFlags::kPsh, kA = wire::TcpFlags::kAck;
}  // namespace flags

// A connection's state, as Worker::tuple_state() reports it (kTimeWait: a TIME_WAIT entry).
using St = tcp::State;
inline const char* name(St s) { return tcp::to_string(s); }

constexpr uint32_t kPeerTs = 5000;  // the peer's TSval throughout the set-up: TS.Recent
constexpr uint16_t kPeerWin = 65535;

// What the peer knows of one connection.
struct Flow {
  uint16_t pport = 0;     // the peer's port
  uint16_t tport = 0;     // tempo's port
  uint32_t irs = 0;       // the peer's ISS
  uint32_t p_nxt = 0;     // the peer's SND.NXT = tempo's RCV.NXT
  uint32_t iss = 0;       // tempo's ISS
  uint32_t t_nxt = 0;     // tempo's SND.NXT
  uint32_t t_una = 0;     // what the peer has acknowledged of tempo's
  uint32_t tempo_ts = 0;  // the last TSval tempo sent
  uint16_t wnd = 0;       // the last window tempo advertised
};

// The Worker settings the Peer assumes: no window scaling and no SACK.
inline RingWorkerConfig peer_config() {
  RingWorkerConfig cfg;
  cfg.tcp.window_scaling = false;
  cfg.tcp.sack = false;
  return cfg;
}

class Peer {
 public:
  // `listen_port`: where tempo listens (the Peer installs the listener).
  Peer(RingWorker& bench, uint16_t listen_port, uint16_t first_port = 20000);

  RingWorker& bench() { return b_; }
  uint16_t listen_port() const { return listen_port_; }
  // The application's side of every connection: consumes all data, closes on request only.
  static const Handler* handler();
  // tempo's Conn for the peer port, once established (nullptr before, or after it closed).
  static Conn* conn(uint16_t pport);

  // A segment from this flow's peer side (timestamps always; TSecr echoes tempo's last).
  Seg seg(const Flow& f, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t tsval,
          std::string data = "") const;
  // The segments tempo sent to this flow until virtual time `until` (polling every 5 ms).
  std::vector<Seg> replies(const Flow& f, Ticks until);
  // Set-up steps: exactly one reply with `flags` (or none) within 1 ms, else a test failure.
  Seg one(Flow& f, uint8_t flags);
  void none(Flow& f);

  St state(const Flow& f);
  // A new connection on a fresh peer port, driven to `st` (kListen: no connection at all).
  Flow open(St st);

 private:
  void note(Flow& f, const std::vector<Seg>& got);

  RingWorker& b_;
  uint16_t listen_port_;
  uint16_t next_port_;
};

}  // namespace tempo::conformance
