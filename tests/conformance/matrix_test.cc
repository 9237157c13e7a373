// The state-by-event conformance matrix: the real Worker on a ring port and a virtual clock
// (ring_worker.h), each TCP state against each kind of segment, at each sequence position that
// matters, with timestamps newer, equal and older than TS.Recent. Every case asserts the exact
// reply (flags, SEQ, ACK, TSecr) or silence, the state of the 4-tuple after, and the counter
// the rule bumps.
//
// The expectation comes from `expect()`, the RFC's rules written out once in the order the RFC
// applies them (RFC 9293 §3.10.7, RFC 5961 §3-§5, RFC 7323 §4.3/§5.3, RFC 1337, RFC 6191),
// independent of lib/: the stack's code is what is tested, never consulted. Where tempo departs
// from the letter of an RFC on purpose, the branch says so and names the deviation (they are
// listed in the README's conformance section).
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
using conformance::name;  // St's, beside this file's overloads
constexpr uint16_t kListenPort = 80;

// The segment kinds of the matrix. kData is an ordinary data segment (ACK, PSH, 4 bytes);
// kNone carries the same 4 bytes with no flag at all.
enum class Kind : uint8_t {
  kAck,
  kData,
  kFin,
  kFinAck,
  kRst,
  kRstAck,
  kSyn,
  kSynAck,
  kSynFin,
  kNone
};
constexpr Kind kKinds[] = {Kind::kAck,    Kind::kData, Kind::kFin,    Kind::kFinAck, Kind::kRst,
                           Kind::kRstAck, Kind::kSyn,  Kind::kSynAck, Kind::kSynFin, Kind::kNone};
const char* name(Kind k) {
  static constexpr const char* kNames[] = {"Ack",    "Data", "Fin",    "FinAck", "Rst",
                                           "RstAck", "Syn",  "SynAck", "SynFin", "NoFlags"};
  return kNames[static_cast<int>(k)];
}
uint8_t flags_of(Kind k) {
  switch (k) {
    case Kind::kAck:
      return kA;
    case Kind::kData:
      return kA | kP;
    case Kind::kFin:
      return kF;
    case Kind::kFinAck:
      return kF | kA;
    case Kind::kRst:
      return kR;
    case Kind::kRstAck:
      return kR | kA;
    case Kind::kSyn:
      return kS;
    case Kind::kSynAck:
      return kS | kA;
    case Kind::kSynFin:
      return kS | kF;
    case Kind::kNone:
      return 0;
  }
  return 0;
}
uint32_t data_len(Kind k) { return k == Kind::kData || k == Kind::kNone ? 4 : 0; }

// Where SEG.SEQ lies against RCV.NXT and RCV.WND (synchronized states). In SYN-SENT the
// position is SEG.ACK's against ISS instead: kLeft = ISS+1 (acceptable), kBelow = ISS,
// kBeyond = ISS+2 (above SND.NXT).
enum class Pos : uint8_t { kLeft, kInside, kRight, kBelow, kBeyond };
constexpr Pos kPositions[] = {Pos::kLeft, Pos::kInside, Pos::kRight, Pos::kBelow, Pos::kBeyond};
const char* name(Pos p) {
  static constexpr const char* kNames[] = {"AtRcvNxt", "Inside", "RightEdge", "BelowRcvNxt",
                                           "BeyondWindow"};
  return kNames[static_cast<int>(p)];
}

enum class Ts : uint8_t { kNewer, kEqual, kOlder };
constexpr Ts kTsVariants[] = {Ts::kNewer, Ts::kEqual, Ts::kOlder};
const char* name(Ts t) {
  static constexpr const char* kNames[] = {"TsNewer", "TsEqual", "TsOlder"};
  return kNames[static_cast<int>(t)];
}

struct Case {
  St state;
  Kind kind;
  Pos pos;
  Ts ts;
};
std::string case_name(const Case& c) {
  std::string state = name(c.state);  // "SYN-RECEIVED": gtest names take no '-'
  std::replace(state.begin(), state.end(), '-', '_');
  return state + "_" + name(c.kind) + "_" + name(c.pos) + "_" + name(c.ts);
}

struct Reply {
  uint8_t flags;
  uint32_t seq;
  uint32_t ack;
  std::optional<uint32_t> tsecr;  // checked when set
};
std::string show(const Reply& r) {
  char b[128];
  std::snprintf(b, sizeof b, "%s seq=%u ack=%u", flag_string(r.flags).c_str(), r.seq, r.ack);
  return std::string(b) + (r.tsecr ? " tsecr=" + std::to_string(*r.tsecr) : "");
}

struct Expect {
  std::vector<Reply> replies;
  St after;
  std::string counter;  // "" when no counter is the rule's own
  std::string rule;
};

// --- the rules ------------------------------------------------------------------------------

bool in_window(uint32_t lo, uint32_t x, uint32_t wnd) {  // lo <= x < lo + wnd, modular
  return x - lo < wnd;
}

// RFC 9293 §3.10.7.2, LISTEN.
Expect expect_listen(const Case& c, const Seg& s) {
  switch (c.kind) {
    case Kind::kRst:
    case Kind::kRstAck:
      return {{}, St::kClosed, "stack.drop_tcp_listen", "RFC 9293 3.10.7.2 first: RST ignored"};
    case Kind::kAck:
    case Kind::kData:
    case Kind::kFinAck:
      // With SYN cookies on (the default, auto), an ACK first tries to return a cookie; it is
      // none of ours, so the LISTEN rule answers it.
      return {{{kR, s.ack, 0, {}}},
              St::kClosed,
              "core.syncookies_failed",
              "RFC 9293 3.10.7.2 second: ACK gets <SEQ=SEG.ACK><CTL=RST> (cookie checked first)"};
    case Kind::kSynAck:
      return {{{kR, s.ack, 0, {}}},
              St::kClosed,
              "stack.drop_tcp_listen",
              "RFC 9293 3.10.7.2 second: ACK gets <SEQ=SEG.ACK><CTL=RST>"};
    case Kind::kSyn:
      return {{{kS | kA, 0, s.seq + 1, s.opts.tsval}},
              St::kSynReceived,
              "",
              "RFC 9293 3.10.7.2 third: SYN opens, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"};
    case Kind::kSynFin:
      return {{},
              St::kClosed,
              "stack.drop_tcp_listen",
              "deviation (Linux, FreeBSD drop_synfin): SYN+FIN dropped in LISTEN"};
    case Kind::kFin:
    case Kind::kNone:
      return {{},
              St::kClosed,
              "stack.drop_tcp_listen",
              "RFC 9293 3.10.7.2 fourth: other text or control without ACK is dropped"};
  }
  return {};
}

// RFC 9293 §3.10.7.3, SYN-SENT (RFC 5961 §3.2 for RST).
Expect expect_syn_sent(const Flow& f, const Seg& s) {
  const bool ack = s.has(kA), rst = s.has(kR), syn = s.has(kS);
  const bool ack_ok = !ack || (s.ack - f.iss - 1 < f.t_nxt - f.iss);  // ISS < SEG.ACK <= SND.NXT
  if (ack && !ack_ok) {
    if (rst) {
      return {{},
              St::kSynSent,
              "core.drop_syn_sent_bad_ack",
              "RFC 9293 3.10.7.3 first: bad ACK with RST dropped"};
    }
    return {{{kR, s.ack, 0, {}}},
            St::kSynSent,
            "core.drop_syn_sent_bad_ack",
            "RFC 9293 3.10.7.3 first: SEG.ACK =< ISS or > SND.NXT gets <SEQ=SEG.ACK><CTL=RST>"};
  }
  if (rst) {
    if (ack) {
      return {{}, St::kClosed, "", "RFC 9293 3.10.7.3 second: RST with acceptable ACK resets"};
    }
    return {{},
            St::kSynSent,
            "core.drop_syn_sent_no_syn",
            "RFC 5961 3.2: RST without ACK dropped in SYN-SENT"};
  }
  if (!syn) {
    return {{},
            St::kSynSent,
            "core.drop_syn_sent_no_syn",
            "RFC 9293 3.10.7.3 fifth: neither SYN nor RST, dropped"};
  }
  if (ack) {
    return {{{kA, f.t_nxt, s.seq + 1, s.opts.tsval}},
            St::kEstablished,
            "",
            "RFC 9293 3.10.7.3 fourth: SYN,ACK acknowledging our SYN establishes"};
  }
  // Simultaneous open; a FIN on the SYN is not taken (the peer retransmits it).
  return {{{kS | kA, f.iss, s.seq + 1, s.opts.tsval}},
          St::kSynReceived,
          "",
          "RFC 9293 3.10.7.3 fourth: SYN without ACK, simultaneous open <SEQ=ISS><ACK=RCV.NXT>"};
}

// TIME-WAIT, answered by the compact record (DESIGN.md "TIME_WAIT: the rules the stack keeps";
// policy: rfc1337 on, reuse rfc6191).
Expect expect_time_wait(const Case& c, const Flow& f, const Seg& s) {
  const uint32_t rn = f.p_nxt, sn = f.t_nxt;
  const uint32_t tsv = s.opts.tsval;
  const bool ack = s.has(kA), rst = s.has(kR), syn = s.has(kS), fin = s.has(kF);
  if (rst) {
    return {{}, St::kTimeWait, "tw.rst_ignored", "RFC 1337: RST ignored in TIME-WAIT"};
  }
  if (syn) {
    const bool newer = static_cast<int32_t>(tsv - kPeerTs) > 0;
    const bool isn_after = static_cast<int32_t>(s.seq - rn) > 0;
    if (!ack && (newer || (tsv == kPeerTs && isn_after))) {
      if (fin) {
        // RFC 6191 would take it; the listener drops SYN+FIN (see LISTEN), so the entry stays.
        return {{},
                St::kTimeWait,
                "tw.passive_reuse_not_taken",
                "RFC 6191 2, then LISTEN drops SYN+FIN: the record stays"};
      }
      return {{{kS | kA, 0, s.seq + 1, tsv}},
              St::kSynReceived,
              "tw.passive_reuse_accepted",
              "RFC 6191 2: SYN with newer TSval (or equal and ISN beyond RCV.NXT) reopens"};
    }
    return {{{kA, sn, rn, kPeerTs}},
            St::kTimeWait,
            "tw.passive_reuse_refused",
            "RFC 5961 4.2 / RFC 6191 2: old SYN answered by an ACK (as Linux)"};
  }
  if (static_cast<int32_t>(tsv - kPeerTs) < 0) {
    return {{{kA, sn, rn, kPeerTs}},
            St::kTimeWait,
            "tw.paws_drops",
            "RFC 7323 5.3 R1: PAWS, ACK and drop"};
  }
  if (!ack) {
    return {{}, St::kTimeWait, "tw.no_ack_drops", "RFC 9293 3.10.7.4 fifth: ACK off, drop"};
  }
  const uint32_t len = data_len(c.kind) + (fin ? 1 : 0);
  const bool covers =
      static_cast<int32_t>(s.seq - rn) <= 0 && static_cast<int32_t>(rn - (s.seq + len)) <= 0;
  const uint32_t tsecr = covers && tsv >= kPeerTs ? tsv : kPeerTs;
  if (fin && s.seq + len == rn) {
    return {{{kA, sn, rn, tsecr}},
            St::kTimeWait,
            "tw.fin_reacked",
            "RFC 9293 3.10.7.4 eighth, TIME-WAIT: retransmitted FIN ACKed, 2MSL restarted"};
  }
  if (len == 0 && s.seq == rn) {
    return {{},
            St::kTimeWait,
            "tw.bare_acks",
            "RFC 9293 3.10.7.4: acceptable pure ACK, nothing to do (absorbed, as Linux)"};
  }
  return {{{kA, sn, rn, tsecr}},
          St::kTimeWait,
          "tw.dup_acked",
          "RFC 9293 3.10.7.4 first/seventh: anything else is ACKed, never delivered "
          "(deviation: an in-window segment off RCV.NXT is ACKed too, as Linux)"};
}

// The synchronized states held by a connection (RFC 9293 §3.10.7.4, RFC 5961, RFC 7323).
Expect expect_synchronized(const Case& c, const Flow& f, const Seg& s) {
  const uint32_t rn = f.p_nxt, sn = f.t_nxt, wnd = f.wnd;
  const uint32_t tsv = s.opts.tsval;
  const bool ack = s.has(kA), rst = s.has(kR), syn = s.has(kS), fin = s.has(kF);
  const uint32_t dlen = data_len(c.kind);
  const uint32_t len = dlen + (syn ? 1 : 0) + (fin ? 1 : 0);
  const Reply plain_ack{kA, sn, rn, kPeerTs};
  St st = c.state;

  if (st == St::kSynReceived && syn && !rst && s.seq == f.irs) {
    if (!ack) {
      return {{{kS | kA, f.iss, rn, kPeerTs}},
              St::kSynReceived,
              "",
              "RFC 9293 3.8.1: the peer's SYN again: SYN,ACK retransmitted"};
    }
    return {{},
            St::kEstablished,
            "",
            "RFC 9293 3.5 fig. 7: SYN,ACK acknowledging our SYN (simultaneous open) establishes"};
  }
  // RFC 7323 §5.3 R1: PAWS before the sequence check; RSTs are exempt.
  if (!rst && static_cast<int32_t>(tsv - kPeerTs) < 0) {
    return {{plain_ack}, st, "core.paws_drops", "RFC 7323 5.3 R1: TSval older than TS.Recent"};
  }
  // First check: the acceptability table.
  const bool acceptable = len == 0
                              ? in_window(rn, s.seq, wnd)
                              : in_window(rn, s.seq, wnd) || in_window(rn, s.seq + len - 1, wnd);
  if (!acceptable) {
    if (rst) {
      return {{}, st, "core.drop_rst_out_of_window", "RFC 5961 3.2: RST out of window dropped"};
    }
    if (syn) {
      return {{plain_ack},
              st,
              "core.challenge_acks",
              "RFC 5961 4.2: a SYN, whatever its sequence number, gets a challenge ACK (RFC 5961 "
              "7 budget)"};
    }
    return {{plain_ack},
            st,
            "core.drop_unacceptable",
            "RFC 9293 3.10.7.4 first: unacceptable, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"};
  }
  // Second: RST.
  if (rst) {
    if (s.seq != rn) {
      return {{plain_ack},
              st,
              "core.drop_rst_in_window",
              "RFC 5961 3.2: RST in window but not at RCV.NXT: challenge ACK"};
    }
    return {{}, St::kClosed, "", "RFC 5961 3.2 / RFC 9293 3.10.7.4 second: RST at RCV.NXT resets"};
  }
  // Fourth: SYN.
  if (syn) {
    if (st == St::kSynReceived) {
      return {{},
              St::kClosed,
              "core.drop_syn_synchronized",
              "RFC 9293 3.10.7.4 fourth: SYN in SYN-RECEIVED (passive) returns to LISTEN"};
    }
    return {{plain_ack},
            st,
            "core.drop_syn_synchronized",
            "RFC 5961 4.2: SYN in a synchronized state gets a challenge ACK"};
  }
  // Fifth: ACK.
  if (!ack) {
    return {{}, st, "core.drop_no_ack", "RFC 9293 3.10.7.4 fifth: ACK bit off, drop"};
  }
  // SEG.ACK = SND.NXT here: acceptable. RFC 7323 §4.3: TS.Recent from a segment that covers
  // Last.ACK.sent (= RCV.NXT: tempo's last ACK was at RCV.NXT).
  const bool covers = static_cast<int32_t>(s.seq - rn) <= 0;
  const uint32_t ts_recent = covers ? tsv : kPeerTs;
  if (st == St::kSynReceived) {
    st = St::kEstablished;
  }
  const bool fin_sent =
      c.state == St::kFinWait1 || c.state == St::kClosing || c.state == St::kLastAck;
  if (fin_sent) {  // SEG.ACK = SND.NXT acknowledges our FIN
    if (st == St::kFinWait1) {
      st = St::kFinWait2;
    } else if (st == St::kClosing) {
      return {{}, St::kTimeWait, "", "RFC 9293 3.10.7.4 fifth, CLOSING: FIN acked, TIME-WAIT"};
    } else {
      return {{}, St::kClosed, "", "RFC 9293 3.10.7.4 fifth, LAST-ACK: FIN acked, CLOSED"};
    }
  }
  // Seventh: text. Trimmed to the window; in order from RCV.NXT, else held out of order.
  const bool receiving = st == St::kEstablished || st == St::kFinWait1 || st == St::kFinWait2;
  uint32_t new_bytes = 0;
  bool in_order = true;
  if (dlen > 0) {
    if (!receiving) {
      return {{},
              st,
              "core.drop_data_after_close",
              "RFC 9293 3.10.7.4 seventh: text after the peer's FIN is ignored"};
    }
    if (st == St::kFinWait1 || st == St::kFinWait2) {  // the bench reaches them by close()
      return {{{kR, s.ack, 0, {}}},
              St::kClosed,
              "core.abort_on_data",
              "RFC 1122 4.2.2.13 / RFC 9293 3.6.1: new text after close() is answered by "
              "<SEQ=SEG.ACK><CTL=RST> (as Linux, TCPAbortOnData)"};
    }
    const uint32_t end = s.seq + dlen;
    if (static_cast<int32_t>(s.seq - rn) <= 0) {
      new_bytes = end - rn;
    } else {
      in_order = false;
    }
  }
  // Eighth: FIN, taken in order only.
  const bool peer_fin_before =
      c.state == St::kCloseWait || c.state == St::kClosing || c.state == St::kLastAck;
  if (fin && in_order && s.seq + dlen == rn && !peer_fin_before) {
    const Reply r{kA, sn, rn + new_bytes + 1, ts_recent};
    if (st == St::kFinWait2) {
      return {{r}, St::kTimeWait, "", "RFC 9293 3.10.7.4 eighth, FIN-WAIT-2: TIME-WAIT"};
    }
    return {{r}, St::kCloseWait, "", "RFC 9293 3.10.7.4 eighth: FIN, CLOSE-WAIT"};
  }
  if (dlen > 0) {
    if (!in_order) {
      return {{{kA, sn, rn, kPeerTs}},
              st,
              "core.ooo_queued",
              "RFC 9293 3.10.7.4 seventh / RFC 5681 4.2: out of order, immediate duplicate ACK"};
    }
    // In order: delivered, ACKed (by the delayed-ACK timer, RFC 1122 4.2.3.2).
    return {{{kA, sn, rn + new_bytes, ts_recent}},
            st,
            "core.delayed_acks",
            "RFC 9293 3.10.7.4 seventh: text delivered and acknowledged"};
  }
  if (fin && !in_order) {
    return {{}, st, "", "RFC 9293 3.10.7.4 eighth: FIN not in order, not taken"};
  }
  if (fin && static_cast<int32_t>(s.seq - rn) > 0) {
    return {{}, st, "", "RFC 9293 3.10.7.4 eighth: FIN beyond RCV.NXT, not taken"};
  }
  return {{}, st, "", "RFC 9293 3.10.7.4: acceptable ACK, nothing to send"};
}

// --- the bench ------------------------------------------------------------------------------

class Matrix : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    RingWorkerConfig cfg;
    cfg.tcp.window_scaling = false;  // RCV.WND is then the window field, exactly
    cfg.tcp.sack = false;
    cfg.tcp.rcv_buf = 16384;
    cfg.tw.max_entries = 100000;
    cfg.worker.challenge_ack_limit_per_sec = 100000;
    bench_ = new RingWorker(cfg);
    peer_ = new Peer(*bench_, kListenPort);
    bench_->introduce_peer();
  }
  static void TearDownTestSuite() {
    delete peer_;
    delete bench_;
    bench_ = nullptr;
  }

  static inline RingWorker* bench_ = nullptr;
  static inline Peer* peer_ = nullptr;
  RingWorker& b() { return *bench_; }
  Peer& peer() { return *peer_; }

  Seg case_segment(const Case& c, const Flow& f) {
    uint32_t seq = f.p_nxt;
    uint32_t ack = f.t_nxt;
    if (c.state == St::kSynSent) {
      seq = 0x30000000u + f.pport;
      ack = c.pos == Pos::kBelow ? f.iss : c.pos == Pos::kBeyond ? f.iss + 2 : f.iss + 1;
    } else {
      const uint32_t wnd = c.state == St::kTimeWait ? 1000u : f.wnd;
      switch (c.pos) {
        case Pos::kLeft:
          break;
        case Pos::kInside:
          seq += 100;
          break;
        case Pos::kRight:
          seq += wnd - 1;
          break;
        case Pos::kBelow:
          seq -= 1;
          break;
        case Pos::kBeyond:
          seq += wnd;
          break;
      }
    }
    const uint32_t tsv = c.ts == Ts::kNewer   ? kPeerTs + 1
                         : c.ts == Ts::kOlder ? kPeerTs - 1
                                              : kPeerTs;
    return peer().seg(f, flags_of(c.kind), seq, ack, tsv, std::string(data_len(c.kind), 'x'));
  }
};

uint64_t counter(stack::Worker& w, const std::string& name) {
  const tcp::Counters& k = w.tcp_counters();
  const timewait::TwCounters t = w.tw_counters();
  const telemetry::StackCounters& st = w.counters();
  static const std::map<std::string, uint64_t tcp::Counters::*> kCore = {
      {"core.drop_unacceptable", &tcp::Counters::drop_unacceptable},
      {"core.paws_drops", &tcp::Counters::paws_drops},
      {"core.drop_rst_out_of_window", &tcp::Counters::drop_rst_out_of_window},
      {"core.drop_rst_in_window", &tcp::Counters::drop_rst_in_window},
      {"core.drop_syn_synchronized", &tcp::Counters::drop_syn_synchronized},
      {"core.drop_no_ack", &tcp::Counters::drop_no_ack},
      {"core.drop_syn_sent_bad_ack", &tcp::Counters::drop_syn_sent_bad_ack},
      {"core.drop_syn_sent_no_syn", &tcp::Counters::drop_syn_sent_no_syn},
      {"core.drop_data_after_close", &tcp::Counters::drop_data_after_close},
      {"core.abort_on_data", &tcp::Counters::abort_on_data},
      {"core.ooo_queued", &tcp::Counters::ooo_queued},
      {"core.delayed_acks", &tcp::Counters::delayed_acks},
      {"core.syncookies_failed", &tcp::Counters::syncookies_failed},
      {"core.challenge_acks", &tcp::Counters::challenge_acks},
  };
  static const std::map<std::string, uint64_t timewait::TwCounters::*> kTw = {
      {"tw.rst_ignored", &timewait::TwCounters::rst_ignored},
      {"tw.passive_reuse_accepted", &timewait::TwCounters::passive_reuse_accepted},
      {"tw.passive_reuse_refused", &timewait::TwCounters::passive_reuse_refused},
      {"tw.passive_reuse_not_taken", &timewait::TwCounters::passive_reuse_not_taken},
      {"tw.paws_drops", &timewait::TwCounters::paws_drops},
      {"tw.no_ack_drops", &timewait::TwCounters::no_ack_drops},
      {"tw.fin_reacked", &timewait::TwCounters::fin_reacked},
      {"tw.bare_acks", &timewait::TwCounters::bare_acks},
      {"tw.dup_acked", &timewait::TwCounters::dup_acked},
  };
  if (auto it = kCore.find(name); it != kCore.end()) {
    return k.*(it->second);
  }
  if (auto it = kTw.find(name); it != kTw.end()) {
    return t.*(it->second);
  }
  if (name == "stack.drop_tcp_listen") {
    return st.drop_tcp_listen;
  }
  ADD_FAILURE() << "unknown counter " << name;
  return 0;
}

TEST_P(Matrix, Case) {
  const Case c = GetParam();
  // A second of virtual time per case: every per-second budget starts afresh.
  b().run_until(b().now() + Ticks::from_sec(1), Ticks::from_ms(100));
  Flow f = peer().open(c.state);
  ASSERT_EQ(peer().state(f), c.state == St::kListen ? St::kClosed : c.state) << "set-up";
  const Seg s = case_segment(c, f);
  Expect e;
  switch (c.state) {
    case St::kListen:
      e = expect_listen(c, s);
      break;
    case St::kSynSent:
      e = expect_syn_sent(f, s);
      break;
    case St::kTimeWait:
      e = expect_time_wait(c, f, s);
      break;
    case St::kSynReceived:
    case St::kEstablished:
    case St::kFinWait1:
    case St::kFinWait2:
    case St::kCloseWait:
    case St::kClosing:
    case St::kLastAck:
      e = expect_synchronized(c, f, s);
      break;
    case St::kClosed:
      FAIL();
  }
  const uint64_t before = e.counter.empty() ? 0 : counter(b().worker(), e.counter);
  b().send(s);
  // 100 ms: the delayed-ACK timer (40 ms) fires; no retransmission timer (>= 200 ms) does.
  const std::vector<Seg> got = peer().replies(f, b().now() + Ticks::from_ms(100));
  SCOPED_TRACE("rule: " + e.rule + "\nsent: " + flag_string(s.flags) +
               " seq=" + std::to_string(s.seq) + " ack=" + std::to_string(s.ack) +
               " tsval=" + std::to_string(s.opts.tsval) + " len=" + std::to_string(s.data.size()));
  std::string got_text, want_text;
  for (const Seg& g : got) {
    got_text += flag_string(g.flags) + " seq=" + std::to_string(g.seq) +
                " ack=" + std::to_string(g.ack) + " tsecr=" + std::to_string(g.opts.tsecr) + "; ";
  }
  for (const Reply& r : e.replies) {
    want_text += show(r) + "; ";
  }
  ASSERT_EQ(got.size(), e.replies.size()) << "got: " << got_text << "\nwant: " << want_text;
  for (size_t i = 0; i < got.size(); ++i) {
    const Reply& r = e.replies[i];
    EXPECT_EQ(flag_string(got[i].flags), flag_string(r.flags)) << got_text;
    if (!(r.flags & kS)) {  // a SYN's SEQ is the ISS the stack chose
      EXPECT_EQ(got[i].seq, r.seq) << got_text;
    }
    EXPECT_EQ(got[i].ack, r.ack) << got_text;
    if (r.tsecr && !(r.flags & kR)) {
      EXPECT_TRUE(got[i].opts.has_timestamps) << got_text;
      EXPECT_EQ(got[i].opts.tsecr, *r.tsecr) << got_text;
    }
  }
  EXPECT_EQ(name(peer().state(f)), std::string(name(e.after)));
  if (!e.counter.empty()) {
    EXPECT_EQ(counter(b().worker(), e.counter) - before, 1u) << e.counter;
  }
  // Leave nothing running into the next case.
  if (Conn* conn = Peer::conn(f.pport); conn != nullptr) {
    b().worker().abort(*conn);
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (Kind k : kKinds) {
    out.push_back({St::kListen, k, Pos::kLeft, Ts::kEqual});
    for (Pos p : {Pos::kLeft, Pos::kBelow, Pos::kBeyond}) {
      out.push_back({St::kSynSent, k, p, Ts::kEqual});
    }
  }
  for (St st : {St::kSynReceived, St::kEstablished, St::kFinWait1, St::kFinWait2, St::kCloseWait,
                St::kClosing, St::kLastAck, St::kTimeWait}) {
    for (Kind k : kKinds) {
      for (Pos p : kPositions) {
        for (Ts t : kTsVariants) {
          out.push_back({st, k, p, t});
        }
      }
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Rfc, Matrix, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return case_name(i.param);
                         });

// --- RFC 5961 §7: the ACKs that answer invalid segments, throttled ---------------------------
//
// Every kind of invalid segment without data that draws an ACK (a SYN beyond or inside the
// window, an RST inside it, a pure ACK below it, one failing PAWS, an ACK of data never sent),
// in each synchronized state: the first is answered, the same again 10 ms later is not (one
// ACK per connection per 500 ms, Linux tcp_oow_rate_limited), 600 ms later it is again.
enum class Invalid : uint8_t {
  kSynBeyond,
  kSynInside,
  kRstInside,
  kAckBelow,
  kAckPaws,
  kAckUnsent
};
const char* name(Invalid k) {
  static constexpr const char* kNames[] = {"SynBeyond", "SynInside", "RstInside",
                                           "AckBelow",  "AckPaws",   "AckUnsent"};
  return kNames[static_cast<int>(k)];
}
struct ThrottleCase {
  St state;
  Invalid kind;
};

class Throttle : public ::testing::TestWithParam<ThrottleCase> {
 protected:
  static void SetUpTestSuite() {
    RingWorkerConfig cfg = peer_config();
    cfg.worker.challenge_ack_limit_per_sec = 100000;
    bench_ = new RingWorker(cfg);
    peer_ = new Peer(*bench_, kListenPort, 40000);
    bench_->introduce_peer();
  }
  static void TearDownTestSuite() {
    delete peer_;
    delete bench_;
  }
  static inline RingWorker* bench_ = nullptr;
  static inline Peer* peer_ = nullptr;
};

Seg invalid_segment(const Peer& peer, Invalid k, const Flow& f) {
  switch (k) {
    case Invalid::kSynBeyond:
      return peer.seg(f, kS, f.p_nxt + f.wnd + 1000, 0, kPeerTs + 1);
    case Invalid::kSynInside:
      return peer.seg(f, kS, f.p_nxt + 100, 0, kPeerTs + 1);
    case Invalid::kRstInside:
      return peer.seg(f, kR, f.p_nxt + 100, 0, kPeerTs + 1);
    case Invalid::kAckBelow:
      return peer.seg(f, kA, f.p_nxt - 1000, f.t_nxt, kPeerTs + 1);
    case Invalid::kAckPaws:
      return peer.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs - 1);
    case Invalid::kAckUnsent:
      return peer.seg(f, kA, f.p_nxt, f.t_nxt + 100000, kPeerTs + 1);
  }
  return Seg{};
}

TEST_P(Throttle, OneAckPerConnectionPerHalfSecond) {
  const ThrottleCase c = GetParam();
  RingWorker& b = *bench_;
  b.run_until(b.now() + Ticks::from_sec(1), Ticks::from_ms(100));
  Flow f = peer_->open(c.state);
  ASSERT_EQ(peer_->state(f), c.state) << "set-up";
  const Seg s = invalid_segment(*peer_, c.kind, f);
  const uint64_t limited = b.worker().tcp_counters().acks_oow_limited;
  auto answers = [&](Ticks at) {
    b.send(s);
    size_t n = 0;
    for (const Seg& g : peer_->replies(f, at)) {
      EXPECT_EQ(flag_string(g.flags), "ACK");
      EXPECT_EQ(g.seq, f.t_nxt);
      EXPECT_EQ(g.ack, f.p_nxt);
      ++n;
    }
    return n;
  };
  EXPECT_EQ(answers(b.now() + Ticks::from_ms(10)), 1u) << "the first is answered";
  EXPECT_EQ(answers(b.now() + Ticks::from_ms(10)), 0u) << "the same, 10 ms later, is not";
  EXPECT_EQ(b.worker().tcp_counters().acks_oow_limited - limited, 1u);
  b.run_until(b.now() + Ticks::from_ms(600), Ticks::from_ms(100));
  EXPECT_EQ(answers(b.now() + Ticks::from_ms(10)), 1u) << "600 ms later it is again";
  EXPECT_EQ(name(peer_->state(f)), std::string(name(c.state)));
  if (Conn* conn = Peer::conn(f.pport); conn != nullptr) {
    b.worker().abort(*conn);
  }
}

std::vector<ThrottleCase> throttle_cases() {
  std::vector<ThrottleCase> out;
  for (St st : {St::kEstablished, St::kFinWait1, St::kFinWait2, St::kCloseWait, St::kClosing,
                St::kLastAck}) {
    for (Invalid k : {Invalid::kSynBeyond, Invalid::kSynInside, Invalid::kRstInside,
                      Invalid::kAckBelow, Invalid::kAckPaws, Invalid::kAckUnsent}) {
      out.push_back({st, k});
    }
  }
  // SYN-RECEIVED: a SYN inside the window ends the embryonic connection, an unacceptable
  // SEG.ACK draws a RST (RFC 9293 §3.10.7.4): neither is an ACK to throttle.
  for (Invalid k :
       {Invalid::kSynBeyond, Invalid::kRstInside, Invalid::kAckBelow, Invalid::kAckPaws}) {
    out.push_back({St::kSynReceived, k});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Rfc5961_7, Throttle, ::testing::ValuesIn(throttle_cases()),
                         [](const ::testing::TestParamInfo<ThrottleCase>& i) {
                           std::string state = name(i.param.state);
                           std::replace(state.begin(), state.end(), '-', '_');
                           return state + "_" + name(i.param.kind);
                         });

// The per-core budget (RFC 5961 §7, Linux tcp_challenge_ack_limit) across connections: SYNs
// and RSTs in the window take from it, so a flood spread over many connections is bounded too;
// pure ACKs out of the window do not (keepalive probes must not go unanswered because a flood
// at other connections spent it), only the per-connection throttle holds them.
TEST(ThrottlePerCore, ChallengeAcksShareTheBudgetPureAcksDoNot) {
  RingWorkerConfig cfg = peer_config();
  cfg.worker.challenge_ack_limit_per_sec = 3;
  RingWorker b(cfg);
  b.introduce_peer();
  Peer peer(b, kListenPort, 45000);
  std::vector<Flow> flows;
  for (int i = 0; i < 5; ++i) {
    flows.push_back(peer.open(St::kEstablished));
  }
  b.run_until(b.now() + Ticks::from_sec(1), Ticks::from_ms(100));  // a fresh second
  size_t challenged = 0;
  for (const Flow& f : flows) {
    b.send(invalid_segment(peer, Invalid::kSynBeyond, f));
    challenged += b.poll().size();
  }
  EXPECT_EQ(challenged, 3u);
  EXPECT_EQ(b.worker().tcp_counters().challenge_acks_limited, 2u);
  size_t acked = 0;
  b.run_until(b.now() + Ticks::from_ms(600), Ticks::from_ms(100));
  for (const Flow& f : flows) {
    b.send(invalid_segment(peer, Invalid::kAckBelow, f));
    acked += b.poll().size();
  }
  EXPECT_EQ(acked, flows.size());
}

}  // namespace
}  // namespace tempo::conformance
