// A SACK connection with an RTT of 10 ms and five 1000-byte segments in flight, [L, L+5000),
// segment k holding 1000 copies of the letter 'a'+k-1: the set-up of the tail loss probe and
// RACK scenarios (tlp_test.cc, rack_test.cc). SRTT 10 ms, RTTVAR 5 ms, so the RTO is
// tcp.min_rto_ms (200 ms); RACK.min_RTT 10 ms.
#pragma once

#include <string>

#include "harness.h"

namespace tempo::tcp::test {

class SackFlight : public Scenario {
 protected:
  SackFlight() { cfg.cc = cc::Algorithm::kNewReno; }

  static constexpr uint16_t kPeerWin = 60000;

  void connect(bool sack = true) {
    cfg.sack = sack;
    syn_sent();
    now = now + Ticks::from_ms(10);  // the SYN,ACK 10 ms later: the first RTT sample
    S synack = S().seq(kPeerIss).ack(kIss + 1).flags(flag::kSyn).win(kPeerWin).mss(1000);
    in(sack ? synack.sack_perm() : synack);
    out();
    events();
    ASSERT_EQ(tcb.rtt.srtt(), Ticks::from_ms(10));
  }
  // The five segments leave at t0.
  void five_in_flight(bool sack = true) {
    connect(sack);
    t0 = now;
    std::string d;
    for (int k = 1; k <= 5; ++k) d += payload(k);
    send_str(d);
    ASSERT_EQ(out().size(), 5u);
  }
  static std::string payload(int k) { return std::string(1000, static_cast<char>('a' + k - 1)); }
  static S ack(uint32_t a) { return S().seq(P).ack(L + a).win(kPeerWin); }
  static S sk(S s, uint32_t l, uint32_t r) { return s.sack(L + l, L + r); }
  // Segment k sent again (ACK only), or first (the last of a send carries PSH).
  static std::string rxt(int k) {
    return S().seq(L + static_cast<uint32_t>(k - 1) * 1000).ack(P).win(W).data(payload(k)).str();
  }
  // When the retransmission timer (the RTO, the PTO or RACK's reorder timer) fires.
  Ticks rxt_timer() const { return *timer(TimerKind::kRetransmit); }

  Ticks t0{};
};

}  // namespace tempo::tcp::test
