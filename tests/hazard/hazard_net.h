// Two protocol cores on one virtual clock, joined by a virtual wire the test can hold back,
// drop or reorder segments on: the bench for the two hazards TIME_WAIT exists for (DESIGN.md,
// "TIME_WAIT: the rules the stack keeps"; RFC 9293 §3.6.1, RFC 1337, RFC 7323 §5, RFC 6191).
//
// Both ends are an `Endpoint`: one Tcb slot for the single 4-tuple under test, a listener flag,
// a TIME_WAIT table and policy. The decisions are the Worker's own functions, not copies
// (STYLE.md §11); what the bench supplies is only the I/O around them:
//  - timewait::tw_conn builds the record the Worker inserts (ConnSink::on_time_wait);
//  - timewait::demux_time_wait is the Worker's TIME_WAIT step for a segment with no Tcb (the
//    verdict, the entry's ACK, the rate limits, the table effects), stack::no_conn is the
//    Worker's verdict for what TIME_WAIT leaves (LISTEN, CLOSED: lib/stack/demux.h), and
//    settle_reuse ends a reusing SYN as that verdict decides;
//  - timewait::iss_above_floor is the Worker's ISS rule after reuse. ISS itself: the RFC 6528
//    clock (4 us) plus a per-tuple constant (the keyed PRF of lib/tcp/isn.h, a constant here:
//    it is one value per tuple anyway);
//  - an active open on a tuple in TIME_WAIT goes through TwTable::take_for_active_open, as
//    Worker::pick_local_port does, the ISS then at least reuse_iss_floor. The end-to-end runs of
//    the same rules on the Worker itself are tests/conformance (ring port, virtual clock).
// Test-only switches (never in lib/): `skip_time_wait` (the Tcb's TIME_WAIT hand-off inserts no
// record, as a table refusing at its bound) and `rfc793_syn_reset` (a SYN reaching a
// synchronized Tcb is answered the RFC 793 way, by a reset that ends the connection, instead of
// the core's RFC 5961 §4 challenge ACK).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "harness.h"
#include "stack/demux.h"
#include "tcp/listen.h"
#include "tcp/tcp.h"
#include "test_buf.h"
#include "timewait/demux.h"
#include "timewait/from_tcp.h"
#include "timewait/policy.h"
#include "timewait/record.h"
#include "timewait/table.h"
#include "timewait/wrap32.h"

namespace tempo::hazard {

using tcp::test::S;
using tcp::test::TestBuf;

enum class Side : uint8_t { kA, kB };
inline Side other(Side s) { return s == Side::kA ? Side::kB : Side::kA; }
inline const char* side_name(Side s) { return s == Side::kA ? "A" : "B"; }

struct EndpointConfig {
  tcp::Config tcp{};
  uint32_t isn_secret = 0;  // F of RFC 6528 §3 for the tuple
  uint32_t ts_offset = 0;   // the keyed per-address-pair timestamp offset (lib/tcp/ts_offset.h)
  bool listen = false;
  bool close_on_peer_fin = true;  // the application closes when it reads the peer's FIN
  timewait::TwPolicy policy{};
  bool active_reuse = false;  // an active open may take the tuple out of TIME_WAIT
  Ticks active_reuse_min_age = Ticks::from_ms(1000);
  // Test-only: protections taken away.
  bool skip_time_wait = false;
  bool rfc793_syn_reset = false;
};

// One incarnation of the connection, as the application saw it.
struct Conn {
  int id = 0;
  tcp::Tcb<TestBuf> tcb;
  std::map<tcp::TimerKind, Ticks> timers;
  std::string rx;  // every byte delivered in order, as the application read it
  std::vector<std::string> events;
  bool dead = false;
  bool pending_close = false;
  uint32_t pending_consume = 0;

  bool saw(const std::string& e) const {
    for (const auto& x : events) {
      if (x == e) {
        return true;
      }
    }
    return false;
  }
};

class Endpoint;

// The Sink of one connection (ConnSink in lib/stack/worker_detail.h).
struct ConnSink {
  Endpoint& e;
  Conn& c;
  Ticks now;

  void emit(const tcp::OutSegment<TestBuf>& o);
  void arm_timer(tcp::TimerKind k, Ticks t) { c.timers[k] = t; }
  void cancel_timer(tcp::TimerKind k) { c.timers.erase(k); }
  void on_connected() { c.events.push_back("connected"); }
  void on_data(const TestBuf& b, uint32_t off, uint32_t len) {
    c.rx += b.view(off, len);
    c.pending_consume += len;
  }
  void on_writable() { c.events.push_back("writable"); }
  void on_peer_fin();
  void on_closed(tcp::CloseReason r) {
    c.events.push_back(std::string("closed:") + tcp::test::reason_name(r));
    c.dead = true;
  }
  void on_time_wait(const tcp::TimeWaitInfo& tw);
  tcp::CoreState& core();
};

class Endpoint {
 public:
  using Table = timewait::TwTable<flow::Tuple4>;

  Endpoint(Side side, EndpointConfig cfg) : side_(side), cfg_(std::move(cfg)) {
    timewait::TwTableConfig tc;
    tc.max_entries = 16;
    tc.policy = cfg_.policy;
    tc.seed = 42;
    auto t = Table::create(tc);
    TEMPO_CHECK(t.ok());
    table_.emplace(std::move(*t));
    // Our view of the tuple: local is this side.
    tuple_ = side == Side::kA ? flow::Tuple4{0x0a000001, 0x0a000002, 80, 40000}
                              : flow::Tuple4{0x0a000002, 0x0a000001, 40000, 80};
  }

  Side side() const { return side_; }
  EndpointConfig& cfg() { return cfg_; }
  Table& table() { return *table_; }
  const flow::Tuple4& tuple() const { return tuple_; }
  tcp::CoreState& core() { return core_; }
  Conn* live() { return live_; }
  // Incarnations in order of opening; conn(0) is the first.
  Conn& conn(size_t i) { return *conns_.at(i); }
  size_t num_conns() const { return conns_.size(); }
  std::vector<S> take_outbox() { return std::exchange(outbox_, {}); }
  // The ISS the next connection uses instead of the RFC 6528 clock (a peer whose ISNs are not
  // monotonic per tuple); the reuse floor still applies.
  void set_next_iss(uint32_t iss) { next_iss_ = iss; }
  uint32_t ts_now(Ticks now) const { return static_cast<uint32_t>(now.ms()) + cfg_.ts_offset; }

  // RFC 6528 §3 ISN: M (4 µs clock) + F.
  uint32_t clock_isn(Ticks now) const {
    return static_cast<uint32_t>(now.us() / 4) + cfg_.isn_secret;
  }

  // Active OPEN. false: the tuple is still in TIME_WAIT and may not be taken (EADDRINUSE), or
  // a connection is live.
  bool connect(Ticks now) {
    if (live_ != nullptr) {
      return false;
    }
    uint32_t floor = 0;
    const uint32_t idx = table_->find(tuple_);
    if (idx != timewait::kNoIndex) {
      const timewait::TwConn old = table_->at(idx).conn;
      if (!cfg_.active_reuse ||
          !table_->take_for_active_open(idx, now, cfg_.active_reuse_min_age)) {
        return false;
      }
      // Linux tcp_twsk_unique: the new ISS starts beyond the old SND.NXT + one window.
      floor = timewait::reuse_iss_floor(old);
    }
    Conn& c = fresh(now, floor, idx != timewait::kNoIndex);
    ConnSink s{*this, c, now};
    tcp::connect(c.tcb, cfg_.tcp, tcp::SeqNum(c.tcb.iss), cfg_.ts_offset, now, s);
    finish(c, now);
    return true;
  }

  void close(Ticks now) {
    TEMPO_CHECK(live_ != nullptr);
    ConnSink s{*this, *live_, now};
    (void)tcp::close(live_->tcb, now, s);
    finish(*live_, now);
  }

  void send(const std::string& d, Ticks now) {
    TEMPO_CHECK(live_ != nullptr);
    ConnSink s{*this, *live_, now};
    TEMPO_CHECK(tcp::send(live_->tcb, TestBuf(d), now, s).ok());
    finish(*live_, now);
  }

  // A segment for our tuple arrives (Worker::input_tcp).
  void receive(const S& in, Ticks now) {
    const tcp::Segment<TestBuf> seg = in.to_segment();
    if (live_ != nullptr) {
      Conn& c = *live_;
      ConnSink s{*this, c, now};
      if (cfg_.rfc793_syn_reset && seg.has(tcp::flag::kSyn) && !seg.has(tcp::flag::kAck) &&
          tcp::is_synchronized(c.tcb.state)) {
        // Test-only RFC 793 §3.9 (fourth, SYN in the window): "send a reset ... enter CLOSED".
        // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> as for a segment without ACK.
        tcp::detail::send_rst_raw<TestBuf>(tcp::SeqNum(0), seg.seq + seg.seg_len(), true, s);
        tcp::detail::become_closed(c.tcb, tcp::CloseReason::kReset, s);
        finish(c, now);
        return;
      }
      tcp::input(c.tcb, seg, now, s);
      finish(c, now);
      return;
    }
    // TIME_WAIT before the listener: the Worker's own step (timewait::demux_time_wait).
    const timewait::TwSegment tws{.flags = in.flags_,
                                  .has_ts = in.opts_.has_timestamps,
                                  .seq = in.seq_,
                                  .ack = in.ack_,
                                  .payload_len = static_cast<uint32_t>(in.data_.size()),
                                  .tsval = in.opts_.tsval,
                                  .tsecr = in.opts_.tsecr};
    const timewait::TwDemux tw = timewait::demux_time_wait(
        *table_, tuple_, tws, now, cfg_.listen,
        [this, now] { return core_.challenge_acks.allow(now); }, tw_acks_limited_);
    if (tw.ack) {
      S ack;
      ack.seq(tw.ack->seq).ack(tw.ack->ack).win(tw.ack->window);
      if (tw.ack->has_ts) {
        ack.ts(ts_now(now), tw.ack->tsecr);
      }
      outbox_.push_back(ack);
    }
    // Then the listener or CLOSED: the Worker's own verdict (stack::no_conn; no SYN cookies
    // here, and no backlog bound).
    const stack::NoConn v = stack::no_conn(stack::NoConnInput{.tw = tw.kind,
                                                              .listener = cfg_.listen,
                                                              .flags = in.flags_,
                                                              .cookies = SynCookies::kOff,
                                                              .backlog_full = false});
    if (v == stack::NoConn::kTimeWait) {
      return;
    }
    const bool reusing = tw.kind == timewait::TwDemux::Kind::kReuse;
    if (reusing) {
      timewait::settle_reuse(*table_, tw, stack::takes_tuple(v), now);
    }
    if (v == stack::NoConn::kReset || v == stack::NoConn::kListenReset) {
      Conn scratch;
      ConnSink s{*this, scratch, now};
      tcp::reply_closed(seg, s);
    }
    if (v != stack::NoConn::kOpen) {
      return;
    }
    Conn& c = fresh(now, tw.iss_floor, reusing);
    tcp::open_passive(c.tcb, cfg_.tcp, tcp::SeqNum(c.tcb.iss), cfg_.ts_offset);
    ConnSink s{*this, c, now};
    tcp::input(c.tcb, seg, now, s);
    finish(c, now);
  }

  // The earliest timer of the live connection.
  std::optional<std::pair<Ticks, tcp::TimerKind>> next_timer() const {
    std::optional<std::pair<Ticks, tcp::TimerKind>> r;
    if (live_ != nullptr) {
      for (const auto& [k, t] : live_->timers) {
        if (!r || t < r->first) {
          r = std::pair{t, k};
        }
      }
    }
    return r;
  }

  void fire(tcp::TimerKind k, Ticks now) {
    Conn& c = *live_;
    c.timers.erase(k);
    ConnSink s{*this, c, now};
    tcp::on_timer(c.tcb, k, now, s);
    finish(c, now);
  }

  // ConnSink::on_time_wait (lib/stack/worker_detail.h).
  void enter_time_wait(const tcp::TimeWaitInfo& tw, Ticks now) {
    if (cfg_.skip_time_wait) {
      return;
    }
    const timewait::TwConn rec = timewait::tw_conn(tw, now);
    TEMPO_CHECK(table_->insert(tuple_, rec, now).ok());
  }

  void push_out(const S& s) { outbox_.push_back(s); }

 private:
  // `floor` applies when `reused` (g++ 12 -O3 sees an uninitialised std::optional otherwise).
  Conn& fresh(Ticks now, uint32_t floor, bool reused) {
    auto c = std::make_unique<Conn>();
    c->id = static_cast<int>(conns_.size());
    const uint32_t iss = next_iss_ ? *next_iss_ : clock_isn(now);
    next_iss_.reset();
    // Worker::choose_iss: the same floor rule (RFC 6191 §2 / RFC 9293 §3.4.1).
    c->tcb.iss = tcp::SeqNum(
        timewait::iss_above_floor(iss, reused ? std::optional<uint32_t>(floor) : std::nullopt));
    conns_.push_back(std::move(c));
    live_ = conns_.back().get();
    return *live_;
  }

  // Worker::finish: the application's queued calls, then free a dead Tcb.
  void finish(Conn& c, Ticks now) {
    while (!c.dead) {
      ConnSink s{*this, c, now};
      if (c.pending_consume > 0) {
        const uint32_t n = std::exchange(c.pending_consume, 0);
        tcp::consume(c.tcb, n, now, s);
      } else if (c.pending_close) {
        c.pending_close = false;
        (void)tcp::close(c.tcb, now, s);
      } else {
        break;
      }
    }
    if (c.dead && live_ == &c) {
      live_ = nullptr;
    }
  }

  Side side_;
  EndpointConfig cfg_;
  std::optional<Table> table_;
  flow::Tuple4 tuple_{};
  tcp::CoreState core_{};
  uint64_t tw_acks_limited_ = 0;
  std::vector<std::unique_ptr<Conn>> conns_;
  Conn* live_ = nullptr;
  std::vector<S> outbox_;
  std::optional<uint32_t> next_iss_;
};

inline void ConnSink::emit(const tcp::OutSegment<TestBuf>& o) {
  e.push_out(tcp::test::from_out(o));
}
inline void ConnSink::on_peer_fin() {
  c.events.push_back("peer_fin");
  if (e.cfg().close_on_peer_fin) {
    c.pending_close = true;
  }
}
inline void ConnSink::on_time_wait(const tcp::TimeWaitInfo& tw) {
  c.events.push_back("time_wait");
  c.dead = true;
  e.enter_time_wait(tw, now);
}
inline tcp::CoreState& ConnSink::core() { return e.core(); }
static_assert(tcp::Sink<ConnSink, TestBuf>);

// A segment on the wire.
struct Packet {
  uint64_t id = 0;  // order of emission: ties in arrival time keep it
  Side from = Side::kA;
  S seg;
  Ticks arrive{};
};

// The wire and the clock. Every segment takes `delay` one way unless a rule holds or drops it.
class Net {
 public:
  using Match = std::function<bool(Side from, const S&)>;

  Net(EndpointConfig a, EndpointConfig b)
      : a_(Side::kA, std::move(a)), b_(Side::kB, std::move(b)) {}

  Endpoint& a() { return a_; }
  Endpoint& b() { return b_; }
  Endpoint& at(Side s) { return s == Side::kA ? a_ : b_; }
  Ticks now() const { return now_; }
  void set_now(Ticks t) { now_ = t; }
  // Everything that crossed the wire (or was dropped/held), for failure messages.
  const std::vector<std::string>& log() const { return log_; }
  std::string trace() const {
    std::string s;
    for (const auto& l : log_) {
      s += l + "\n";
    }
    return s;
  }

  // The next `count` segments matching `m` are dropped (count < 0: until cleared).
  int drop(Match m, int count = 1) { return add_rule(std::move(m), count, false); }
  // The next segment matching `m` is held back until release().
  int hold(Match m) { return add_rule(std::move(m), 1, true); }
  void clear_rule(int id) { rules_.erase(id); }
  // The held segment of rule `id`, or nullptr while nothing matched.
  const Packet* held(int id) const {
    auto it = held_.find(id);
    return it == held_.end() ? nullptr : &it->second;
  }
  // Puts a held segment back on the wire, arriving at `when` (reordering: any time). With
  // `keep`, a copy goes and the segment stays held (the network duplicated it).
  void release(int id, Ticks when, bool keep = false) {
    auto it = held_.find(id);
    TEMPO_CHECK(it != held_.end());
    Packet p = it->second;
    p.id = next_id_++;
    if (!keep) {
      held_.erase(it);
    }
    p.arrive = when;
    log_.push_back(at_str() + " release #" + std::to_string(id));
    wire_.push_back(p);
  }

  // Calls into an endpoint (connect, send, close) go through here so its output reaches the
  // wire.
  template <class F>
  auto act(Side s, F&& f) {
    if constexpr (std::is_void_v<decltype(f(at(s)))>) {
      f(at(s));
      flush();
    } else {
      auto r = f(at(s));
      flush();
      return r;
    }
  }

  // Runs every delivery, timer and TIME_WAIT expiry up to and including `until`.
  void run_until(Ticks until) {
    for (int guard = 0; guard < 100000; ++guard) {
      flush();
      Ticks t = Ticks::max();
      int what = -1;  // 0 packet, 1 timer A, 2 timer B, 3 expiry A, 4 expiry B
      size_t pi = 0;
      for (size_t i = 0; i < wire_.size(); ++i) {
        if (what < 0 || wire_[i].arrive < t ||
            (wire_[i].arrive == t && wire_[i].id < wire_[pi].id)) {
          t = wire_[i].arrive;
          what = 0;
          pi = i;
        }
      }
      for (int k = 0; k < 2; ++k) {
        Endpoint& e = k == 0 ? a_ : b_;
        if (auto nt = e.next_timer(); nt && nt->first < t) {
          t = nt->first;
          what = 1 + k;
        }
        if (auto ne = e.table().next_expiry(now_); ne && *ne < t) {
          t = *ne;
          what = 3 + k;
        }
      }
      if (what < 0 || t > until) {
        now_ = std::max(now_, until);
        return;
      }
      now_ = std::max(now_, t);
      switch (what) {
        case 0: {
          const Packet p = wire_[pi];
          wire_.erase(wire_.begin() + static_cast<std::ptrdiff_t>(pi));
          log_.push_back(at_str() + " " + side_name(p.from) + "->" + side_name(other(p.from)) +
                         " " + p.seg.str());
          at(other(p.from)).receive(p.seg, now_);
          break;
        }
        case 1:
        case 2: {
          Endpoint& e = what == 1 ? a_ : b_;
          const auto nt = *e.next_timer();
          log_.push_back(at_str() + " " + side_name(e.side()) + " timer " +
                         tcp::test::timer_name(nt.second));
          e.fire(nt.second, now_);
          break;
        }
        default: {
          Endpoint& e = what == 3 ? a_ : b_;
          const uint32_t n = e.table().expire(now_);
          log_.push_back(at_str() + " " + side_name(e.side()) + " time_wait expired " +
                         std::to_string(n));
          break;
        }
      }
    }
    ADD_FAILURE() << "simulation did not settle\n" << trace();
  }
  void run_for(Ticks d) { run_until(now_ + d); }

 private:
  struct Rule {
    Match m;
    int count;
    bool hold;
  };

  int add_rule(Match m, int count, bool hold) {
    rules_[++next_rule_] = Rule{std::move(m), count, hold};
    return next_rule_;
  }

  std::string at_str() const { return "t=" + std::to_string(now_.us()) + "us"; }

  // Moves both outboxes onto the wire through the rules.
  void flush() {
    for (Endpoint* e : {&a_, &b_}) {
      for (S& s : e->take_outbox()) {
        Packet p{next_id_++, e->side(), std::move(s), now_ + delay};
        bool taken = false;
        for (auto it = rules_.begin(); it != rules_.end(); ++it) {
          Rule& r = it->second;
          if (!r.m(p.from, p.seg)) {
            continue;
          }
          const int id = it->first;
          log_.push_back(at_str() + " " + side_name(p.from) + "->" + side_name(other(p.from)) +
                         (r.hold ? " HELD #" + std::to_string(id) + " " : " DROPPED ") +
                         p.seg.str());
          if (r.hold) {
            held_[id] = p;
          }
          if (r.count > 0 && --r.count == 0) {
            rules_.erase(it);
          }
          taken = true;
          break;
        }
        if (!taken) {
          wire_.push_back(std::move(p));
        }
      }
    }
  }

 public:
  Ticks delay = Ticks::from_ms(1);

 private:
  Endpoint a_, b_;
  Ticks now_ = Ticks::from_sec(100);
  std::vector<Packet> wire_;
  std::map<int, Packet> held_;
  std::map<int, Rule> rules_;
  int next_rule_ = 0;
  uint64_t next_id_ = 0;
  std::vector<std::string> log_;
};

// Matchers.
inline Net::Match from(Side s, std::function<bool(const S&)> m) {
  return [s, m = std::move(m)](Side f, const S& seg) { return f == s && m(seg); };
}
inline bool has_data(const S& s) { return !s.data_.empty(); }
inline bool has_flag(const S& s, uint8_t f) { return (s.flags_ & f) != 0; }

}  // namespace tempo::hazard
