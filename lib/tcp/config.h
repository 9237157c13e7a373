// Per-listener / per-worker TCP parameters. A Tcb points at one; it outlives every connection.
// Settings only: what a Worker's connections share at run time is CoreState's (core_state.h).
#pragma once

#include <cstdint>

#include "tcp/cc/cc.h"
#include "time/ticks.h"

namespace tempo::tcp {

struct Config {
  // Our MSS (RFC 9293 §3.7.1): advertised in SYNs. 1460 = 1500 MTU - 40.
  uint16_t mss = 1460;
  // RFC 9293 §3.7.1: the send MSS when the peer sends no MSS option is 536 (IPv4).
  uint16_t default_snd_mss = 536;
  // The floor under the send MSS a peer may ask for (Linux tcp_min_snd_mss, 48: 40 bytes of
  // options and 8 of payload). Never above mss.
  uint16_t min_snd_mss = 48;
  uint32_t rcv_buf = 256 * 1024;  // receive buffer; the window we offer
  uint32_t snd_buf = 256 * 1024;  // send queue bound in bytes
  // A refused send hears on_writable once the queue has drained to this many bytes (0: to two
  // thirds of snd_buf, Linux's sk_stream_wspace rule).
  uint32_t writable_lowat = 0;
  bool window_scaling = true;  // RFC 7323 §2
  bool timestamps = true;      // RFC 7323 §3
  bool sack = true;            // RFC 2018
  bool rack = true;            // RFC 8985 §6 time-based loss detection (with SACK)
  bool nagle = true;           // RFC 9293 §3.7.4; per connection it can be switched
  // RFC 9293 §3.8.6.3 / RFC 1122 4.2.3.2: a delayed ACK MUST be sent within 0.5 s.
  Ticks delack_timeout = Ticks::from_ms(40);
  // RFC 6298 §2.1 initial RTO 1 s, §2.4 minimum 1 s (we follow Linux's 200 ms, a named
  // deviation many stacks share), §2.5 maximum >= 60 s (we take Linux's TCP_RTO_MAX, 120 s).
  Ticks rto_initial = Ticks::from_sec(1);
  Ticks rto_min = Ticks::from_ms(200);
  Ticks rto_max = Ticks::from_sec(120);
  uint8_t syn_retries = 6;     // RFC 1122 4.2.3.5 R2 for SYN: at least 3 minutes
  uint8_t synack_retries = 5;  // SYN,ACK retransmissions before a SYN-RECEIVED gives up (Linux)
  uint8_t max_retries = 15;    // RFC 1122 4.2.3.5 R2: at least 100 s
  // After close() nobody waits for the connection: Linux gives up on orphans after
  // tcp_orphan_retries (0, meaning 8) retransmissions or zero-window probes.
  uint8_t orphan_retries = 8;
  uint8_t keepalive_probes = 9;
  bool keepalive = false;                        // RFC 1122 4.2.3.6: default off
  Ticks keepalive_idle = Ticks::from_sec(7200);  // RFC 1122 4.2.3.6: >= 2 hours
  Ticks keepalive_interval = Ticks::from_sec(75);
  Ticks fin_wait_2_timeout = Ticks::from_sec(60);  // Linux tcp_fin_timeout
  // RFC 5961 §7: at most one ACK per connection per this interval answers segments it drops
  // as invalid without data (out of window, failing PAWS, a SYN, an RST in window, an ACK of
  // unsent data): Linux's tcp_invalid_ratelimit, 500 ms. A flood at one connection is not
  // answered one for one.
  Ticks oow_ack_interval = Ticks::from_ms(500);
  cc::Algorithm cc = cc::Algorithm::kCubic;  // tcp.congestion (Linux's default too)
  uint32_t ooo_max_bytes = 256 * 1024;       // bound on out-of-order bytes held

  friend bool operator==(const Config&, const Config&) = default;
};

}  // namespace tempo::tcp
