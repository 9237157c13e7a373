// The scenario-test scripting layer: a virtual clock, a recording Sink, a segment builder that
// doubles as the expected-output description, and named connection states (like smoltcp's
// socket_established()). A test reads as "segment in at t -> exactly these segments out, these
// events, these timers".
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tcp/tcp.h"
#include "test_buf.h"

namespace tempo::tcp::test {

using Seg = Segment<TestBuf>;
using Out = OutSegment<TestBuf>;

inline std::string flags_str(uint8_t f) {
  std::string s;
  if (f & flag::kSyn)
    s += 'S';
  if (f & flag::kFin)
    s += 'F';
  if (f & flag::kRst)
    s += 'R';
  if (f & flag::kPsh)
    s += 'P';
  if (f & flag::kAck)
    s += 'A';
  return s;
}

// A segment, described once: built as input (to_segment) or compared as expected output (str).
struct S {
  uint32_t seq_ = 0, ack_ = 0;
  uint8_t flags_ = 0;
  uint16_t win_ = 0;
  wire::TcpOptions opts_{};
  std::string data_;

  S& seq(uint32_t v) {
    seq_ = v;
    return *this;
  }
  S& ack(uint32_t v) {
    ack_ = v;
    flags_ |= flag::kAck;
    return *this;
  }
  S& flags(uint8_t f) {
    flags_ |= f;
    return *this;
  }
  S& win(uint16_t w) {
    win_ = w;
    return *this;
  }
  S& mss(uint16_t m) {
    opts_.has_mss = true;
    opts_.mss = m;
    return *this;
  }
  S& wscale(uint8_t w) {
    opts_.has_wscale = true;
    opts_.wscale = w;
    return *this;
  }
  S& sack_perm() {
    opts_.sack_permitted = true;
    return *this;
  }
  S& ts(uint32_t val, uint32_t ecr) {
    opts_.has_timestamps = true;
    opts_.tsval = val;
    opts_.tsecr = ecr;
    return *this;
  }
  S& sack(uint32_t l, uint32_t r) {
    opts_.sack[opts_.num_sack++] = wire::SackBlock{l, r};
    return *this;
  }
  S& data(std::string d) {
    data_ = std::move(d);
    return *this;
  }

  Seg to_segment() const {
    Seg s;
    s.seq = SeqNum(seq_);
    s.ack = SeqNum(ack_);
    s.flags = flags_;
    s.window = win_;
    s.opts = opts_;
    s.len = static_cast<uint32_t>(data_.size());
    if (!data_.empty()) {
      // Put the payload behind a 3-byte "header" to exercise payload_off.
      std::string framed(data_.size() + 3, 'h');  // "hhh" + data
      std::copy(data_.begin(), data_.end(), framed.begin() + 3);
      s.payload = TestBuf(framed);
      s.payload_off = 3;
    }
    return s;
  }
  std::string str() const {
    std::ostringstream o;
    o << "seq=" << seq_ << " ack=" << ack_ << " [" << flags_str(flags_) << "] win=" << win_;
    if (opts_.has_mss)
      o << " mss=" << opts_.mss;
    if (opts_.has_wscale)
      o << " ws=" << int(opts_.wscale);
    if (opts_.sack_permitted)
      o << " sackok";
    if (opts_.has_timestamps)
      o << " ts=" << opts_.tsval << "/" << opts_.tsecr;
    for (int i = 0; i < opts_.num_sack; ++i) {
      o << " sack=" << opts_.sack[i].left << "-" << opts_.sack[i].right;
    }
    if (!data_.empty())
      o << " '" << data_ << "'";
    return o.str();
  }
};

inline S from_out(const Out& o) {
  S s;
  s.seq_ = o.seq.raw();
  s.ack_ = o.ack.raw();
  s.flags_ = o.flags;
  s.win_ = o.window;
  s.opts_ = o.opts;
  for (const auto& r : o.payload()) s.data_ += r.buf->view(r.off, r.len);
  return s;
}

inline const char* timer_name(TimerKind k) {
  switch (k) {
    case TimerKind::kRetransmit:
      return "rto";
    case TimerKind::kDelayedAck:
      return "delack";
    case TimerKind::kPersist:
      return "persist";
    case TimerKind::kKeepalive:
      return "keepalive";
    case TimerKind::kFinWait2:
      return "finwait2";
  }
  return "?";
}

inline const char* reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::kNormal:
      return "normal";
    case CloseReason::kReset:
      return "reset";
    case CloseReason::kRefused:
      return "refused";
    case CloseReason::kTimeout:
      return "timeout";
    case CloseReason::kKeepaliveTimeout:
      return "keepalive_timeout";
    case CloseReason::kFinWait2Timeout:
      return "finwait2_timeout";
    case CloseReason::kAborted:
      return "aborted";
    case CloseReason::kUnreachable:
      return "unreachable";
  }
  return "?";
}

// Records everything the core does. Emitted segments are flattened at emit time (the refs are
// only valid during the call, as for the real Sink).
class RecordingSink {
 public:
  void emit(const Out& o) { out.push_back(from_out(o).str()); }
  void arm_timer(TimerKind k, Ticks t) { timers[k] = t; }
  void cancel_timer(TimerKind k) { timers.erase(k); }
  void on_connected() { events.push_back("connected"); }
  void on_data(const TestBuf& b, uint32_t off, uint32_t len) {
    events.push_back("data:" + std::string(b.view(off, len)));
    held.push_back(b);  // the application keeps a reference, as a real one would
  }
  void on_writable() { events.push_back("writable"); }
  void on_peer_fin() { events.push_back("peer_fin"); }
  void on_closed(CloseReason r) { events.push_back(std::string("closed:") + reason_name(r)); }
  void on_time_wait(const TimeWaitInfo& i) {
    events.push_back("time_wait");
    tw = i;
  }
  CoreState& core() { return core_; }

  std::vector<std::string> out;
  std::vector<std::string> events;
  std::map<TimerKind, Ticks> timers;
  std::vector<TestBuf> held;
  std::optional<TimeWaitInfo> tw;
  CoreState core_;
};
static_assert(Sink<RecordingSink, TestBuf>);

inline std::vector<std::string> strs(std::initializer_list<S> l) {
  std::vector<std::string> v;
  for (const auto& s : l) v.push_back(s.str());
  return v;
}

// Local ISS 1000, peer ISS 5000, no options unless a test turns them on.
class Scenario : public ::testing::Test {
 protected:
  static constexpr uint32_t kIss = 1000;
  static constexpr uint32_t kPeerIss = 5000;

  Scenario() {
    cfg.rcv_buf = 64000;  // fits 16 bits: window scale 0
    cfg.window_scaling = false;
    cfg.timestamps = false;
    cfg.sack = false;
    cfg.snd_buf = 64 * 1024;
  }

  void at_ms(uint64_t ms) { now = Ticks::from_ms(ms); }
  void in(const S& s) { input(tcb, s.to_segment(), now, sink); }
  // Segments emitted since the last call.
  std::vector<std::string> out() {
    auto v = std::move(sink.out);
    sink.out.clear();
    return v;
  }
  std::vector<std::string> events() {
    auto v = std::move(sink.events);
    sink.events.clear();
    return v;
  }
  std::optional<Ticks> timer(TimerKind k) const {
    auto it = sink.timers.find(k);
    if (it == sink.timers.end())
      return std::nullopt;
    return it->second;
  }
  // Advances the clock to the timer's deadline and fires it.
  void fire(TimerKind k) {
    auto d = timer(k);
    ASSERT_TRUE(d.has_value()) << timer_name(k) << " not armed";
    now = *d;
    sink.timers.erase(k);
    on_timer(tcb, k, now, sink);
  }
  void send_str(std::string_view d) {
    auto r = tcp::send(tcb, TestBuf(d), now, sink);
    ASSERT_TRUE(r.ok());
  }
  Counters& ctr() { return sink.core_.counters; }

  // Named states. Active open: we sent SYN (ISS 1000), the peer answered SYN,ACK (ISS 5000).
  void syn_sent() { tcp::connect(tcb, cfg, SeqNum(kIss), 0, now, sink); }
  void established_active(uint16_t peer_win = 10000) {
    syn_sent();
    in(S().seq(kPeerIss).ack(kIss + 1).flags(flag::kSyn).win(peer_win).mss(1000));
    out();
    events();
  }
  void syn_received() {
    tcp::open_passive(tcb, cfg, SeqNum(kIss));
    in(S().seq(kPeerIss).flags(flag::kSyn).win(10000).mss(1000));
  }
  void established_passive(uint16_t peer_win = 10000) {
    syn_received();
    in(S().seq(kPeerIss + 1).ack(kIss + 1).win(peer_win));
    out();
    events();
  }
  // The peer's next sequence number / ours, after the handshake.
  static constexpr uint32_t P = kPeerIss + 1;
  static constexpr uint32_t L = kIss + 1;
  static constexpr uint16_t W = 64000;  // our advertised window with an empty buffer

  Config cfg;
  RecordingSink sink;
  Tcb<TestBuf> tcb;
  Ticks now = Ticks::from_sec(100);
};

}  // namespace tempo::tcp::test
