// The two hazards TIME_WAIT exists for (RFC 9293 §3.6.1 and §3.4.1, RFC 1337, RFC 7323 §5,
// RFC 6191; DESIGN.md "TIME_WAIT: the rules the stack keeps"), each reproduced packet by packet
// between two protocol cores (hazard_net.h), three ways:
//   kFullTimeWait  TIME_WAIT kept for its whole 2·MSL, no early reuse;
//   kEarlyReuse    RFC 6191 passive reuse (hazard 1) / timestamp-checked active reuse with its
//                  1 s minimum age (hazard 2): the timestamp checks must keep the hazard away;
//   kUnprotected   the protection taken away in the harness (never in lib/): the hazard MUST
//                  happen, which shows the test can see it.
// Each also runs with sequence numbers and timestamps crossing 2^32 between (or inside) the two
// incarnations.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "hazard_net.h"

namespace tempo::hazard {
namespace {

using tcp::State;
using namespace tcp::flag;

enum class Mode : uint8_t { kFullTimeWait, kEarlyReuse, kUnprotected };

struct Param {
  Mode mode;
  bool wrap;
};

std::string param_name(const ::testing::TestParamInfo<Param>& i) {
  std::string n = i.param.mode == Mode::kFullTimeWait ? "FullTimeWait"
                  : i.param.mode == Mode::kEarlyReuse ? "EarlyReuse"
                                                      : "Unprotected";
  return n + (i.param.wrap ? "_Wrap32" : "");
}

const auto kParams =
    ::testing::Values(Param{Mode::kFullTimeWait, false}, Param{Mode::kEarlyReuse, false},
                      Param{Mode::kUnprotected, false}, Param{Mode::kFullTimeWait, true},
                      Param{Mode::kEarlyReuse, true}, Param{Mode::kUnprotected, true});

constexpr Ticks kT0 = Ticks::from_sec(100);
constexpr uint32_t kT0Ms = 100000;

// RFC 6528 F for the tuple such that the ISS at kT0 is `iss`.
constexpr uint32_t secret_for_iss(uint32_t iss) {
  return iss - static_cast<uint32_t>(kT0.us() / 4);
}
// A timestamp offset whose TSval crosses 2^32 `ms` after kT0.
constexpr uint32_t offset_wrapping_after(uint32_t ms) { return 0u - kT0Ms - ms; }

// HAZARD_TRACE=1 prints every segment of a passing run.
void maybe_trace(const Net& n) {
  if (std::getenv("HAZARD_TRACE") != nullptr) {
    std::printf("%s", n.trace().c_str());
  }
}

bool after_eq(tcp::SeqNum a, tcp::SeqNum b) { return a >= b; }

// ---------------------------------------------------------------------------------------------
// Hazard 1: an old duplicate. B (client) sends data seq=X that the network delays; B's RTO
// resends it and the connection carries on; A (server, "tempo") closes first and holds
// TIME_WAIT; a new connection on the same 4-tuple starts with B's ISS = X-1, so the old segment
// lands exactly at RCV.NXT of the new connection. Its TSval is older than anything B sent on
// the new connection: PAWS (RFC 7323 §5.3 R1) must drop it, in the TIME_WAIT record or in the
// new Tcb. The new connection opens at TW+100 ms in kEarlyReuse / kUnprotected: soon enough
// that the old segment's ACK field is still acceptable (RFC 5961 §5.2) in the new connection,
// so PAWS, not the ACK check, is what stands in the way.
class OldDuplicate : public ::testing::TestWithParam<Param> {
 protected:
  static constexpr const char* kOld = "OLD-SEGMENT-DATA";
  static constexpr const char* kNew = "NEW-SEGMENT-DATA";  // same length: a perfect overlay

  static Net make(const Param& p) {
    EndpointConfig a;
    EndpointConfig b;
    const bool ts = p.mode != Mode::kUnprotected;
    a.tcp.timestamps = ts;
    b.tcp.timestamps = ts;
    b.tcp.nagle = false;  // each send() is one segment: the held one is exactly kOld
    a.listen = true;
    a.isn_secret = secret_for_iss(p.wrap ? 0xFFFFFF00u : 0x10000000u);
    a.ts_offset = p.wrap ? offset_wrapping_after(200) : 1000;
    b.ts_offset = p.wrap ? offset_wrapping_after(300) : 5000000;
    a.policy.reuse =
        p.mode == Mode::kEarlyReuse ? timewait::TwReuse::kRfc6191 : timewait::TwReuse::kOff;
    a.skip_time_wait = p.mode == Mode::kUnprotected;
    Net n(a, b);
    n.set_now(kT0);
    // B's old ISS: with wrap, the held segment straddles 2^32.
    n.b().set_next_iss(p.wrap ? 0xFFFFFFF0u : 0x20000000u);
    return n;
  }
};

TEST_P(OldDuplicate, OldSegmentNeverReachesTheNewStream) {
  const Param p = GetParam();
  Net net = make(p);
  Endpoint& a = net.a();
  Endpoint& b = net.b();

  // --- the old connection
  ASSERT_TRUE(net.act(Side::kB, [&](Endpoint& e) { return e.connect(net.now()); }));
  net.run_for(Ticks::from_ms(10));
  ASSERT_NE(a.live(), nullptr) << net.trace();
  ASSERT_EQ(a.live()->tcb.state, State::kEstablished) << net.trace();
  ASSERT_EQ(b.live()->tcb.state, State::kEstablished) << net.trace();
  net.act(Side::kA, [&](Endpoint& e) { e.send("welcome", net.now()); });
  net.act(Side::kB, [&](Endpoint& e) { e.send("hello ", net.now()); });
  net.run_for(Ticks::from_ms(10));
  const int held = net.hold(from(Side::kB, [](const S& s) { return s.data_ == kOld; }));
  net.act(Side::kB, [&](Endpoint& e) { e.send(kOld, net.now()); });
  ASSERT_NE(net.held(held), nullptr);
  const uint32_t x = net.held(held)->seg.seq_;
  if (p.wrap) {
    ASSERT_GT(x, 0xFFFFFFF0u);
    ASSERT_LT(x + 16u, 16u) << "the old segment should straddle 2^32";
  }
  net.run_for(Ticks::from_ms(290));  // B's RTO (200 ms) resends it; it gets through
  Conn& a_old = a.conn(0);
  ASSERT_EQ(a_old.rx, std::string("hello ") + kOld) << net.trace();

  // --- A closes first: A holds TIME_WAIT, B goes CLOSED.
  net.act(Side::kA, [&](Endpoint& e) { e.close(net.now()); });
  net.run_for(Ticks::from_ms(10));
  ASSERT_TRUE(a_old.saw("time_wait")) << net.trace();
  ASSERT_TRUE(b.conn(0).saw("closed:normal")) << net.trace();
  ASSERT_EQ(a.live(), nullptr);
  ASSERT_EQ(b.live(), nullptr);
  const Ticks tw_start = net.now();
  ASSERT_EQ(a.table().size(), p.mode == Mode::kUnprotected ? 0u : 1u);

  // --- the new connection, with the old segment still in the network
  Ticks open_at = tw_start + Ticks::from_ms(100);
  if (p.mode == Mode::kFullTimeWait) {
    // The old segment arrives while TIME_WAIT holds the tuple, 10 s after it was sent (within
    // MSL = 30 s): the record must absorb it, with an ACK and nothing delivered.
    net.release(held, tw_start + Ticks::from_sec(10), /*keep=*/true);
    net.run_for(Ticks::from_sec(11));
    EXPECT_EQ(a.table().counters().paws_drops, 1u) << net.trace();
    EXPECT_EQ(a.table().size(), 1u);
    open_at = tw_start + Ticks::from_sec(61);
  }
  net.run_until(open_at);
  // Early reuse: the tuple is still in TIME_WAIT when B's new SYN comes (RFC 6191).
  EXPECT_EQ(a.table().size(), p.mode == Mode::kEarlyReuse ? 1u : 0u);
  b.set_next_iss(x - 1);  // RCV.NXT of the new connection = X
  ASSERT_TRUE(net.act(Side::kB, [&](Endpoint& e) { return e.connect(net.now()); }));
  net.run_for(Ticks::from_ms(10));
  ASSERT_EQ(a.num_conns(), 2u) << net.trace();
  Conn& a_new = a.conn(1);
  ASSERT_EQ(a_new.tcb.state, State::kEstablished) << net.trace();
  ASSERT_EQ(a_new.tcb.rcv_nxt.raw(), x);
  EXPECT_EQ(a.table().size(), 0u);
  if (p.mode == Mode::kEarlyReuse) {
    EXPECT_EQ(a.table().counters().passive_reuse_accepted, 1u);
  }
  // The old segment's ACK is acceptable here (RFC 5961 §5.2), except after a full 2·MSL where
  // the ISN clock moved far on: only PAWS is left to stop it.
  const tcp::SeqNum old_ack(net.held(held)->seg.ack_);
  if (p.mode != Mode::kFullTimeWait) {
    EXPECT_TRUE(old_ack <= a_new.tcb.snd_max &&
                old_ack >= a_new.tcb.snd_una - a_new.tcb.max_snd_wnd)
        << "scenario no longer isolates PAWS";
  }

  // The old duplicate arrives in the new connection's window, at RCV.NXT; then B's real data.
  net.release(held, net.now() + Ticks::from_ms(1));
  net.run_for(Ticks::from_ms(5));
  net.act(Side::kB, [&](Endpoint& e) { e.send(kNew, net.now()); });
  net.act(Side::kB, [&](Endpoint& e) { e.send("tail", net.now()); });
  net.run_for(Ticks::from_ms(500));

  const std::string want = std::string(kNew) + "tail";
  if (p.mode == Mode::kUnprotected) {
    // No timestamps, no TIME_WAIT: the old bytes take the place of the new ones.
    EXPECT_EQ(a_new.rx, std::string(kOld) + "tail") << net.trace();
    EXPECT_NE(a_new.rx, want);
    EXPECT_EQ(a.core().counters.paws_drops, 0u);
  } else {
    EXPECT_EQ(a_new.rx, want) << net.trace();
    EXPECT_EQ(a.core().counters.paws_drops, 1u) << net.trace();
  }
  maybe_trace(net);
  // The reverse direction is intact in both incarnations.
  EXPECT_EQ(b.conn(0).rx, "welcome");
  EXPECT_FALSE(a_new.saw("closed:reset"));
}

INSTANTIATE_TEST_SUITE_P(Hazard1, OldDuplicate, kParams, param_name);

// ---------------------------------------------------------------------------------------------
// Hazard 2: the lost final ACK. A (client, "tempo") closes first; its ACK of B's FIN is lost,
// so B (server) stays in LAST_ACK while A holds TIME_WAIT. A opens again on the same 4-tuple.
// DESIGN.md: the SYN that meets LAST_ACK draws an ACK (RFC 5961 §4 / the first check), A in
// SYN_SENT answers it with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.3), which ends the old
// incarnation at B, and A's SYN retransmission opens the new one. No reset may reach the new
// connection's application.
class LostFinalAck : public ::testing::TestWithParam<Param> {
 protected:
  static Net make(const Param& p) {
    EndpointConfig a;
    EndpointConfig b;
    a.isn_secret = secret_for_iss(p.wrap ? 0xFFFFF000u : 0x30000000u);
    a.ts_offset = p.wrap ? offset_wrapping_after(150) : 7000;
    b.isn_secret = secret_for_iss(p.wrap ? 0xFFFFFFF0u : 0x50000000u);
    b.ts_offset = p.wrap ? offset_wrapping_after(50) : 9000000;
    b.listen = true;
    // A 1 MiB window at B: the new SYN (ISS about 1.1 s x 250000/s beyond the old SND.NXT) lands
    // inside it, so it meets RFC 5961 §4's challenge ACK rather than the first check's dup ACK.
    b.tcp.rcv_buf = 1024 * 1024;
    // B resends its FIN after 3 s: long enough for A's 1 s active reuse to come first.
    b.tcp.rto_initial = Ticks::from_sec(3);
    b.tcp.rto_min = Ticks::from_sec(3);
    a.policy.reuse = timewait::TwReuse::kOff;
    a.active_reuse = p.mode == Mode::kEarlyReuse;
    a.skip_time_wait = p.mode == Mode::kUnprotected;
    b.rfc793_syn_reset = p.mode == Mode::kUnprotected;
    Net n(a, b);
    n.set_now(kT0);
    return n;
  }
};

TEST_P(LostFinalAck, NewConnectionOpensWithoutReset) {
  const Param p = GetParam();
  Net net = make(p);
  Endpoint& a = net.a();
  Endpoint& b = net.b();

  // --- the old connection
  ASSERT_TRUE(net.act(Side::kA, [&](Endpoint& e) { return e.connect(net.now()); }));
  net.run_for(Ticks::from_ms(10));
  ASSERT_NE(b.live(), nullptr) << net.trace();
  ASSERT_EQ(a.live()->tcb.state, State::kEstablished) << net.trace();
  net.act(Side::kA, [&](Endpoint& e) { e.send("request", net.now()); });
  net.run_for(Ticks::from_ms(10));
  net.act(Side::kB, [&](Endpoint& e) { e.send("response", net.now()); });
  net.run_for(Ticks::from_ms(80));
  Conn& a_old = a.conn(0);
  Conn& b_old = b.conn(0);
  ASSERT_EQ(b_old.rx, "request");
  ASSERT_EQ(a_old.rx, "response");
  if (p.wrap) {
    ASSERT_LT(b_old.tcb.snd_nxt.raw(), 0x100u) << "B's sequence space should have wrapped";
  }

  // --- A closes first; its ACK of B's FIN is lost.
  net.drop(from(Side::kA, [&](const S& s) {
    const Conn* bl = b.live();
    return s.flags_ == kAck && s.data_.empty() && bl != nullptr &&
           bl->tcb.state == State::kLastAck && s.ack_ == bl->tcb.snd_max.raw();
  }));
  net.act(Side::kA, [&](Endpoint& e) { e.close(net.now()); });
  net.run_for(Ticks::from_ms(10));
  ASSERT_TRUE(a_old.saw("time_wait")) << net.trace();
  ASSERT_EQ(b.live(), &b_old);
  ASSERT_EQ(b_old.tcb.state, State::kLastAck) << net.trace();
  const uint32_t old_snd_nxt = a_old.tcb.snd_nxt.raw();

  switch (p.mode) {
    case Mode::kFullTimeWait: {
      // The tuple is not free, and B's retransmitted FIN is ACKed by the record (restarting
      // 2·MSL): B closes normally, without the RST a missing TIME_WAIT would send.
      EXPECT_FALSE(net.act(Side::kA, [&](Endpoint& e) { return e.connect(net.now()); }));
      net.run_for(Ticks::from_sec(4));
      EXPECT_EQ(a.table().counters().fin_reacked, 1u) << net.trace();
      EXPECT_TRUE(b_old.saw("closed:normal")) << net.trace();
      EXPECT_FALSE(net.act(Side::kA, [&](Endpoint& e) { return e.connect(net.now()); }));
      net.run_for(Ticks::from_sec(60));
      ASSERT_EQ(a.table().size(), 0u);
      ASSERT_TRUE(net.act(Side::kA, [&](Endpoint& e) { return e.connect(net.now()); }));
      break;
    }
    case Mode::kEarlyReuse: {
      // Active reuse: timestamps were on and the last segment from B (its FIN) must be at least
      // 1 s old. Both sides of the threshold (as packetdrill's tw_reuse_fail_after_990msec /
      // tw_reuse_ok_after_1sec).
      const uint32_t idx = a.table().find(a.tuple());
      ASSERT_NE(idx, timewait::kNoIndex);
      const uint32_t age0 = a.table().at(idx).conn.ts_recent_age;
      net.run_until(Ticks::from_ms(uint64_t{age0} + 999));
      EXPECT_FALSE(net.act(Side::kA, [&](Endpoint& e) { return e.connect(net.now()); }));
      net.run_until(Ticks::from_ms(uint64_t{age0} + 1000));
      ASSERT_EQ(b_old.tcb.state, State::kLastAck) << "B must still be in LAST_ACK";
      ASSERT_TRUE(net.act(Side::kA, [&](Endpoint& e) { return e.connect(net.now()); }));
      EXPECT_EQ(a.table().counters().active_reuse, 1u);
      // Linux tcp_twsk_unique: the new ISS lies beyond the old SND.NXT + 64 KB.
      EXPECT_TRUE(after_eq(a.conn(1).tcb.iss, tcp::SeqNum(old_snd_nxt + 65537)));
      break;
    }
    case Mode::kUnprotected: {
      // No TIME_WAIT: the tuple is free at once.
      net.run_for(Ticks::from_ms(90));
      ASSERT_TRUE(net.act(Side::kA, [&](Endpoint& e) { return e.connect(net.now()); }));
      break;
    }
  }
  ASSERT_EQ(a.num_conns(), 2u);
  Conn& a_new = a.conn(1);
  const Ticks opened = net.now();
  if (p.wrap) {
    // The new SYN's TSval has wrapped past 2^32 since the old connection's last one.
    EXPECT_LT(a.ts_now(opened), a.ts_now(kT0));
  }
  net.run_for(Ticks::from_sec(3));

  if (p.mode == Mode::kUnprotected) {
    // B answers the SYN in LAST_ACK with a reset (RFC 793), and the new connection is refused.
    EXPECT_TRUE(a_new.saw("closed:refused")) << net.trace();
    EXPECT_FALSE(a_new.saw("connected"));
    return;
  }
  ASSERT_EQ(b.num_conns(), 2u) << net.trace();
  Conn& b_new = b.conn(1);
  EXPECT_EQ(a_new.events, std::vector<std::string>{"connected"}) << net.trace();
  EXPECT_EQ(b_new.events, std::vector<std::string>{"connected"}) << net.trace();
  EXPECT_EQ(a_new.tcb.state, State::kEstablished);
  EXPECT_EQ(b_new.tcb.state, State::kEstablished);
  EXPECT_EQ(b_new.tcb.irs, a_new.tcb.iss);
  EXPECT_EQ(a_new.tcb.irs, b_new.tcb.iss);
  EXPECT_TRUE(a_new.tcb.iss > tcp::SeqNum(old_snd_nxt)) << "the new ISS is above the old space";
  if (p.mode == Mode::kEarlyReuse) {
    // The DESIGN.md rule did the work: B (LAST_ACK) ACKed the SYN, A (SYN_SENT) sent RST
    // carrying that SEG.ACK, which ended B's old incarnation; the SYN went again.
    EXPECT_EQ(b.core().counters.drop_syn_synchronized, 1u) << net.trace();
    EXPECT_EQ(b.core().counters.challenge_acks, 1u);
    EXPECT_GE(a.core().counters.drop_syn_sent_bad_ack, 1u);
    EXPECT_TRUE(b_old.saw("closed:reset")) << net.trace();
    EXPECT_EQ(a_new.tcb.retries, 0u);  // reset by establish()
  } else {
    EXPECT_EQ(a.core().counters.drop_syn_sent_bad_ack, 0u);
  }
  // The new connection carries data both ways, byte-exact.
  net.act(Side::kA, [&](Endpoint& e) { e.send("second request", net.now()); });
  net.act(Side::kB, [&](Endpoint& e) { e.send("second response", net.now()); });
  net.run_for(Ticks::from_ms(100));
  maybe_trace(net);
  EXPECT_EQ(b_new.rx, "second request");
  EXPECT_EQ(a_new.rx, "second response");
}

INSTANTIATE_TEST_SUITE_P(Hazard2, LostFinalAck, kParams, param_name);

// The other face of hazard 2 (RFC 9293 §3.6.1): without TIME_WAIT, B's retransmitted FIN finds
// no state at A and draws an RST, so B's application sees a reset on a connection that ended
// normally. With the record (kFullTimeWait above) it is ACKed and B closes normally.
class LostFinalAckNoTimeWait : public LostFinalAck {};

TEST_F(LostFinalAckNoTimeWait, RetransmittedFinDrawsReset) {
  Net net = make(Param{Mode::kUnprotected, false});
  Endpoint& a = net.a();
  Endpoint& b = net.b();
  ASSERT_TRUE(net.act(Side::kA, [&](Endpoint& e) { return e.connect(net.now()); }));
  net.run_for(Ticks::from_ms(10));
  net.drop(from(Side::kA, [&](const S& s) {
    const Conn* bl = b.live();
    return s.flags_ == kAck && bl != nullptr && bl->tcb.state == State::kLastAck;
  }));
  net.act(Side::kA, [&](Endpoint& e) { e.close(net.now()); });
  net.run_for(Ticks::from_ms(10));
  ASSERT_EQ(b.conn(0).tcb.state, State::kLastAck) << net.trace();
  ASSERT_EQ(a.table().size(), 0u);
  net.run_for(Ticks::from_sec(4));  // B's FIN again after 3 s
  EXPECT_TRUE(b.conn(0).saw("closed:reset")) << net.trace();
  EXPECT_EQ(a.core().counters.rst_sent, 1u);
}

}  // namespace
}  // namespace tempo::hazard
