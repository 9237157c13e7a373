// RFC 4987 §3.6 SYN cookies in the protocol core (lib/tcp/cookie_open.h): the stateless
// SYN,ACK of a listener whose backlog is full, and the connection the returning ACK opens, with
// Linux's rule that window scale and SACK survive only inside timestamps.
#include "tcp/syncookie.h"

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/mgr.h"
#include "crypto/prf.h"
#include "harness.h"
#include "tcp/ts_offset.h"

namespace tempo::tcp::test {
namespace {

using namespace flag;

crypto::Key128 key() {
  crypto::Key128 k{};
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = std::byte(0x5a ^ (i * 17));
  }
  return k;
}

class SynCookie : public Scenario {
 protected:
  SynCookie() {
    cfg.window_scaling = true;
    cfg.timestamps = true;
    cfg.sack = true;
    cfg.rcv_buf = 1 << 20;  // our shift: 5
  }

  // The cookie SYN,ACK for `syn`, flattened like an emitted segment.
  S cookie_synack(const S& syn) {
    return from_out(cookie_syn_ack(cfg, prf, tuple, syn.to_segment(), now, sink.core()));
  }
  Result<void, CookieError> cookie_ack(const S& ack) {
    return open_from_cookie(tcb, cfg, prf, tuple, ack.to_segment(), now, sink);
  }
  // What the codec makes of a SYN described by hand: the expected ISN and TSval.
  CookieSynAck encode(uint32_t peer_isn, uint16_t mss, std::optional<uint8_t> ws, bool sack,
                      bool ts) const {
    CookieSyn cs;
    cs.peer_isn = peer_isn;
    cs.mss = mss;
    cs.wscale = ws;
    cs.sack_ok = sack;
    cs.ts_ok = ts;
    return cookie_encode(prf, tuple, cs, now);
  }
  uint32_t our_ts() const { return ts_value(now, ts_offset(prf, tuple)); }
  // A fresh connection for the next case of a table.
  void reset() {
    tcb = Tcb<TestBuf>{};
    sink = RecordingSink{};
  }

  crypto::Mgr mgr = std::move(crypto::Mgr::create().value());
  crypto::Prf prf{mgr, key()};
  flow::Tuple tuple = flow::Tuple::of(flow::Tuple4{0xc6120002, 0xc6120001, 80, 40000});
};

using Events = std::vector<std::string>;

TEST_F(SynCookie, Rfc4987_3_6_RoundTripWithTimestampsRestoresScaleSackMss) {
  const S syn =
      S().seq(kPeerIss).flags(kSyn).win(65535).mss(1460).wscale(7).sack_perm().ts(4000, 0);
  const CookieSynAck sa = encode(kPeerIss, 1460, 7, true, true);
  // RFC 7323 §2.2: the SYN,ACK window is unscaled; our shift 5 offered because the peer's SYN
  // offered scaling; TSecr echoes the SYN's TSval.
  EXPECT_EQ(cookie_synack(syn).str(), S().seq(sa.isn)
                                          .ack(P)
                                          .flags(kSyn)
                                          .win(65535)
                                          .mss(1460)
                                          .wscale(5)
                                          .sack_perm()
                                          .ts(sa.tsval, 4000)
                                          .str());
  // Linux cookie_init_timestamp(): the options ride in the low TSval bits, and the TSval is
  // not ahead of our clock.
  EXPECT_EQ(sa.tsval & 0x3f, 0x10u | 7u);
  EXPECT_LE(static_cast<int32_t>(sa.tsval - our_ts()), 0);
  EXPECT_GE(static_cast<int32_t>(sa.tsval - our_ts()), -64);
  EXPECT_EQ(out(), Events{});  // stateless: nothing went through the sink
  EXPECT_EQ(ctr().syncookies_sent, 1u);

  at_ms(100'030);  // the ACK 30 ms later
  ASSERT_TRUE(cookie_ack(S().seq(P).ack(sa.isn + 1).win(1000).ts(4001, sa.tsval)).ok());
  EXPECT_EQ(events(), Events{"connected"});
  EXPECT_EQ(out(), Events{});
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_TRUE(tcb.passive);
  EXPECT_EQ(tcb.iss, SeqNum(sa.isn));
  EXPECT_EQ(tcb.irs, SeqNum(kPeerIss));
  EXPECT_EQ(tcb.snd_una, SeqNum(sa.isn + 1));
  EXPECT_EQ(tcb.snd_nxt, SeqNum(sa.isn + 1));
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P));
  EXPECT_TRUE(tcb.ws_ok && tcb.sack_ok && tcb.ts_ok);
  EXPECT_EQ(tcb.snd_wscale, 7);
  EXPECT_EQ(tcb.rcv_wscale, 5);
  EXPECT_EQ(tcb.snd_wnd, 1000u << 7);  // RFC 7323 §2.3: SEG.WND << the restored shift
  EXPECT_EQ(tcb.snd_mss, 1460 - 12);
  EXPECT_EQ(tcb.ts_recent, TsVal(4001));
  // RFC 6298 / RFC 7323 §4: the SYN,ACK's RTT from TSecr (the cookie bits lengthen it).
  ASSERT_TRUE(tcb.rtt.has_sample());
  EXPECT_EQ(tcb.rtt.srtt(), Ticks::from_ms(our_ts() - sa.tsval));
  EXPECT_EQ(ctr().syncookies_ok, 1u);
  EXPECT_EQ(ctr().syncookies_failed, 0u);

  // Data both ways: our window scaled by 5, our TSval on the connection's clock.
  send_str("hello");
  EXPECT_EQ(out(), strs({S().seq(sa.isn + 1)
                             .ack(P)
                             .flags(kPsh)
                             .win((1 << 20) >> 5)
                             .ts(our_ts(), 4001)
                             .data("hello")}));
  in(S().seq(P).ack(sa.isn + 6).win(1000).ts(4002, our_ts()).data("world"));
  EXPECT_EQ(events(), Events{"data:world"});
  // SACK is on: a segment beyond a hole is ACKed at once with its block (RFC 2018 §4).
  in(S().seq(P + 8).ack(sa.isn + 6).win(1000).ts(4003, our_ts()).data("zz"));
  EXPECT_EQ(out(), strs({S().seq(sa.isn + 6)
                             .ack(P + 5)
                             .win(((1 << 20) - 5) >> 5)
                             .ts(our_ts(), 4002)
                             .sack(P + 8, P + 10)}));
}

TEST_F(SynCookie, Linux_CookieSynAckOffersWhatListenWould) {
  // The normal passive open's SYN,ACK for the same SYN: same window and options, only the
  // ISN and TSval differ.
  const S syn =
      S().seq(kPeerIss).flags(kSyn).win(65535).mss(1460).wscale(7).sack_perm().ts(4000, 0);
  S cookie = cookie_synack(syn);
  tcp::open_passive(tcb, cfg, SeqNum(kIss), ts_offset(prf, tuple));
  in(syn);
  const auto listen = out();
  ASSERT_EQ(listen.size(), 1u);
  cookie.seq_ = kIss;
  cookie.opts_.tsval = our_ts();
  EXPECT_EQ(cookie.str(), listen[0]);
}

TEST_F(SynCookie, Linux_NoTimestampsOpensWithoutScaleOrSack) {
  // The peer offers scaling and SACK but no timestamps: the cookie cannot keep them, so the
  // SYN,ACK offers neither and the connection uses neither. MSS 1400 becomes 1300 (table).
  const CookieSynAck sa = encode(kPeerIss, 1400, std::nullopt, false, false);
  EXPECT_EQ(sa.mss, 1300);
  EXPECT_EQ(
      cookie_synack(S().seq(kPeerIss).flags(kSyn).win(65535).mss(1400).wscale(7).sack_perm()).str(),
      S().seq(sa.isn).ack(P).flags(kSyn).win(65535).mss(1460).str());

  ASSERT_TRUE(cookie_ack(S().seq(P).ack(sa.isn + 1).win(5000)).ok());
  EXPECT_EQ(events(), Events{"connected"});
  EXPECT_EQ(tcb.state, State::kEstablished);
  EXPECT_FALSE(tcb.ws_ok || tcb.sack_ok || tcb.ts_ok);
  EXPECT_EQ(tcb.snd_wscale, 0);
  EXPECT_EQ(tcb.rcv_wscale, 0);
  EXPECT_EQ(tcb.snd_wnd, 5000u);  // unscaled
  EXPECT_EQ(tcb.snd_mss, 1300);
  // RFC 6298 §2.1: nothing timed the SYN,ACK, so no sample; the first RTO is the initial one.
  EXPECT_FALSE(tcb.rtt.has_sample());
  send_str("hi");
  EXPECT_EQ(out(), strs({S().seq(sa.isn + 1).ack(P).flags(kPsh).win(65535).data("hi")}));
  EXPECT_EQ(timer(TimerKind::kRetransmit), now + cfg.rto_initial);
}

TEST_F(SynCookie, Rfc9293_3_7_1_NoMssOptionCookiesTheDefault536) {
  const CookieSynAck sa = encode(kPeerIss, 536, std::nullopt, false, false);
  EXPECT_EQ(cookie_synack(S().seq(kPeerIss).flags(kSyn).win(1000)).str(),
            S().seq(sa.isn).ack(P).flags(kSyn).win(65535).mss(1460).str());
  ASSERT_TRUE(cookie_ack(S().seq(P).ack(sa.isn + 1).win(1000)).ok());
  EXPECT_EQ(tcb.snd_mss, 536);
}

TEST_F(SynCookie, Rfc9293_3_10_7_4_DataOnCookieAckDelivered) {
  const S syn = S().seq(kPeerIss).flags(kSyn).win(65535).mss(1460).wscale(2).ts(900, 0);
  const S sa = cookie_synack(syn);
  ASSERT_TRUE(
      cookie_ack(S().seq(P).ack(sa.seq_ + 1).win(1000).ts(901, sa.opts_.tsval).data("GET /")).ok());
  EXPECT_EQ(events(), (Events{"connected", "data:GET /"}));
  EXPECT_EQ(tcb.rcv_nxt, SeqNum(P + 5));
  EXPECT_EQ(tcb.state, State::kEstablished);
  // RFC 9293 §3.8.6.3: the ACK of that data may be delayed.
  EXPECT_EQ(out(), Events{});
  EXPECT_EQ(timer(TimerKind::kDelayedAck), now + cfg.delack_timeout);
  EXPECT_FALSE(tcb.sack_ok);  // not offered by this SYN
  EXPECT_EQ(tcb.snd_wscale, 2);
}

TEST_F(SynCookie, Rfc9293_3_10_7_4_DataAndFinOnCookieAckDelivered) {
  const S sa = cookie_synack(S().seq(kPeerIss).flags(kSyn).win(65535).mss(1460).ts(900, 0));
  ASSERT_TRUE(
      cookie_ack(
          S().seq(P).ack(sa.seq_ + 1).flags(kFin).win(1000).ts(901, sa.opts_.tsval).data("bye"))
          .ok());
  EXPECT_EQ(events(), (Events{"connected", "data:bye", "peer_fin"}));
  EXPECT_EQ(tcb.state, State::kCloseWait);
  EXPECT_EQ(out(), strs({S().seq(sa.seq_ + 1).ack(P + 4).win(65535).ts(our_ts(), 901)}));
}

TEST_F(SynCookie, Rfc4987_3_6_ForgedCookieRejectedTcbUntouched) {
  const S sa = cookie_synack(S().seq(kPeerIss).flags(kSyn).win(65535).mss(1460).ts(900, 0));
  out();
  tcp::open_passive(tcb, cfg, SeqNum(kIss));
  struct Case {
    const char* name;
    S ack;
  };
  const Case cases[] = {
      {"ack+1", S().seq(P).ack(sa.seq_ + 2).win(1000).ts(901, sa.opts_.tsval)},
      {"ack-1", S().seq(P).ack(sa.seq_).win(1000).ts(901, sa.opts_.tsval)},
      {"seq+1", S().seq(P + 1).ack(sa.seq_ + 1).win(1000).ts(901, sa.opts_.tsval)},
      // The option bits in TSecr are authenticated: claim SACK the SYN never offered.
      {"tsecr sack bit", S().seq(P).ack(sa.seq_ + 1).win(1000).ts(901, sa.opts_.tsval ^ 0x10)},
      // Timestamps on the SYN,ACK but none on the ACK.
      {"no timestamps", S().seq(P).ack(sa.seq_ + 1).win(1000)},
      // Not a cookie ACK at all.
      {"syn", S().seq(P).ack(sa.seq_ + 1).flags(kSyn).win(1000).ts(901, sa.opts_.tsval)},
      {"rst", S().seq(P).ack(sa.seq_ + 1).flags(kRst).win(1000).ts(901, sa.opts_.tsval)},
      {"no ack", S().seq(P).win(1000).ts(901, sa.opts_.tsval)},
  };
  uint64_t failed = 0;
  for (const Case& c : cases) {
    auto r = cookie_ack(c.ack);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error(), CookieError::kForged) << c.name;
    EXPECT_EQ(ctr().syncookies_failed, ++failed) << c.name;
    EXPECT_EQ(tcb.state, State::kListen) << c.name;
    EXPECT_EQ(tcb.iss, SeqNum(kIss)) << c.name;
    EXPECT_EQ(out(), Events{}) << c.name;
    EXPECT_EQ(events(), Events{}) << c.name;
  }
  EXPECT_EQ(ctr().syncookies_ok, 0u);
  EXPECT_EQ(ctr().segs_in, 0u);
  // The true ACK still opens.
  ASSERT_TRUE(cookie_ack(S().seq(P).ack(sa.seq_ + 1).win(1000).ts(901, sa.opts_.tsval)).ok());
  EXPECT_EQ(tcb.state, State::kEstablished);
}

TEST_F(SynCookie, Linux_CookieExpiresAfterTwoCounterMinutes) {
  // now = 100 s: counter 1. Linux MAX_SYNCOOKIE_AGE 2: accepted while the counter is at most
  // one ahead (until 180 s), refused from 180 s; tested on both sides of the boundary.
  const S syn = S().seq(kPeerIss).flags(kSyn).win(65535).mss(1460).ts(900, 0);
  const S sa = cookie_synack(syn);
  const S ack = S().seq(P).ack(sa.seq_ + 1).win(1000).ts(901, sa.opts_.tsval);

  now = Ticks::from_sec(180) - Ticks::from_us(1);
  EXPECT_TRUE(cookie_ack(ack).ok());
  EXPECT_EQ(tcb.state, State::kEstablished);

  reset();
  now = Ticks::from_sec(180);
  auto r = cookie_ack(ack);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), CookieError::kExpired);
  EXPECT_EQ(tcb.state, State::kClosed);

  reset();
  now = Ticks::from_sec(100) + Ticks::from_sec(3 * 60);
  r = cookie_ack(ack);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), CookieError::kExpired);
  EXPECT_EQ(ctr().syncookies_failed, 1u);
  EXPECT_EQ(events(), Events{});
}

TEST_F(SynCookie, Rfc9293_3_4_PeerIsnNearWrap) {
  for (uint32_t peer_isn : {0xffffffffu, 0xfffffffeu, 0xfffffffbu}) {
    reset();
    const S sa = cookie_synack(
        S().seq(peer_isn).flags(kSyn).win(65535).mss(1460).wscale(3).sack_perm().ts(7, 0));
    EXPECT_EQ(sa.ack_, peer_isn + 1) << peer_isn;
    const uint32_t p = peer_isn + 1;  // 0 for 0xffffffff
    ASSERT_TRUE(
        cookie_ack(S().seq(p).ack(sa.seq_ + 1).win(100).ts(8, sa.opts_.tsval).data("abcdefgh"))
            .ok())
        << peer_isn;
    EXPECT_EQ(tcb.irs, SeqNum(peer_isn));
    EXPECT_EQ(tcb.rcv_nxt, SeqNum(p + 8)) << peer_isn;  // across 2^32 for all three
    EXPECT_EQ(events(), (Events{"connected", "data:abcdefgh"})) << peer_isn;
    EXPECT_EQ(tcb.snd_wnd, 100u << 3);
    in(S().seq(p + 8).ack(sa.seq_ + 1).win(100).ts(9, our_ts()).data("ij"));
    EXPECT_EQ(events(), Events{"data:ij"}) << peer_isn;
    EXPECT_EQ(tcb.rcv_nxt, SeqNum(p + 10));
  }
}

}  // namespace
}  // namespace tempo::tcp::test
