// The body of the TCP protocol-core fuzzer: arbitrary segments, user calls and timer expiries
// fed into a connection brought to a chosen state, with the core's invariants checked after
// every step. Shared by the libFuzzer target (tcp_fuzz.cc, clang fuzz build) and a seeded
// smoke test in the unit suite (so gcc and ASan builds run it too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <tempo/check.h>

#include "tcp/tcp.h"

namespace tempo::tcp::fuzz {

class FuzzSink {
 public:
  void emit(const OutSegment<SpanBuf>& o) {
    uint32_t sum = 0;
    for (const auto& r : o.payload()) {
      TEMPO_CHECK(r.buf != nullptr && r.off + r.len <= r.buf->size());
      sum += r.len;
    }
    TEMPO_CHECK(sum == o.len);
    ++emitted;
  }
  void arm_timer(TimerKind k, Ticks t) { deadline[static_cast<int>(k)] = t; }
  void cancel_timer(TimerKind) {}
  void on_connected() {}
  void on_data(const SpanBuf& b, uint32_t off, uint32_t len) {
    TEMPO_CHECK(off + len <= b.size());
    TEMPO_CHECK(len > 0);
    delivered += len;
  }
  void on_writable() {}
  void on_peer_fin() {}
  void on_closed(CloseReason) { closed = true; }
  void on_time_wait(const TimeWaitInfo&) { closed = true; }
  CoreState& core() { return core_; }

  CoreState core_;
  Ticks deadline[kNumTimers]{};
  uint64_t emitted = 0;
  uint64_t delivered = 0;
  bool closed = false;
};

class Reader {
 public:
  Reader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool empty() const { return n_ == 0; }
  template <class T>
  T get() {
    T v{};
    const size_t k = n_ < sizeof(T) ? n_ : sizeof(T);
    std::memcpy(&v, d_, k);
    d_ += k;
    n_ -= k;
    return v;
  }

 private:
  const uint8_t* d_;
  size_t n_;
};

inline void check_invariants(const Tcb<SpanBuf>& t, const Config& cfg) {
  if (t.state == State::kClosed || t.state == State::kListen) {
    return;
  }
  TEMPO_CHECK(t.snd_una <= t.snd_nxt);
  TEMPO_CHECK(t.snd_nxt <= t.snd_max);
  TEMPO_CHECK(t.sndq.bytes() <= cfg.snd_buf);
  TEMPO_CHECK(t.ooo.bytes() <= cfg.ooo_max_bytes);
  TEMPO_CHECK(t.ooo.entries() <= Reassembly<SpanBuf>::kEntries);
  TEMPO_CHECK(distance(t.snd_una, t.snd_max) <= t.sndq.bytes() + 2);  // + SYN, FIN
  if (!t.ooo.empty()) {
    TEMPO_CHECK(t.ooo.first_seq() > t.rcv_nxt);
  }
  // The SACK scoreboard lies within [SND.UNA, SND.MAX], sorted, disjoint and bounded, and is
  // empty unless SACK was negotiated.
  TEMPO_CHECK(t.sacked.size() <= SackScoreboard::kMaxRanges);
  TEMPO_CHECK(t.sack_ok || t.sacked.empty());
  for (uint8_t i = 0; i < t.sacked.size(); ++i) {
    TEMPO_CHECK(t.snd_una <= t.sacked[i].left);
    TEMPO_CHECK(t.sacked[i].left < t.sacked[i].right);
    TEMPO_CHECK(t.sacked[i].right <= t.snd_max);
    if (i > 0) {
      TEMPO_CHECK(t.sacked[i - 1].right < t.sacked[i].left);
    }
  }
  TEMPO_CHECK(!t.in_recovery || t.snd_una < t.recover);
}

// Scripted start: 0 leaves the fresh LISTEN / SYN-SENT connection, 1-7 reach ESTABLISHED by
// a well-formed handshake and then FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, LAST-ACK, CLOSING, or
// ESTABLISHED with data in flight. `peer` is advanced past what the script sent.
inline void bring_to(Tcb<SpanBuf>& t, FuzzSink& s, uint8_t target, SeqNum& peer, Ticks now,
                     const std::byte* bytes) {
  if (target == 0) {
    return;
  }
  Segment<SpanBuf> seg;
  seg.window = 65535;
  seg.opts.has_mss = true;
  seg.opts.mss = 1460;
  seg.opts.has_wscale = true;
  seg.opts.wscale = 2;
  seg.opts.sack_permitted = true;
  seg.opts.has_timestamps = true;
  seg.opts.tsval = 1;
  seg.opts.tsecr = t.ts_offset + static_cast<uint32_t>(now.ms());
  seg.seq = peer;
  if (t.state == State::kSynSent) {
    seg.flags = flag::kSyn | flag::kAck;
    seg.ack = t.iss + 1;
    tcp::input(t, seg, now, s);
  } else {
    seg.flags = flag::kSyn;
    tcp::input(t, seg, now, s);
    seg.flags = flag::kAck;
    seg.seq = peer + 1;
    seg.ack = t.iss + 1;
    tcp::input(t, seg, now, s);
  }
  peer = peer + 1;
  seg.opts = wire::TcpOptions{};
  seg.opts.has_timestamps = t.ts_ok;
  seg.opts.tsval = 2;
  seg.seq = peer;
  seg.ack = t.snd_nxt;
  seg.flags = flag::kAck;
  if (t.state != State::kEstablished) {
    return;
  }
  switch (target) {
    case 2:
      (void)tcp::close(t, now, s);
      break;
    case 3:
      (void)tcp::close(t, now, s);
      seg.ack = t.snd_nxt;
      tcp::input(t, seg, now, s);
      break;
    case 4:
    case 5:
      seg.flags |= flag::kFin;
      tcp::input(t, seg, now, s);
      peer = peer + 1;
      if (target == 5) {
        (void)tcp::close(t, now, s);
      }
      break;
    case 6:
      (void)tcp::close(t, now, s);
      seg.flags |= flag::kFin;
      tcp::input(t, seg, now, s);
      peer = peer + 1;
      break;
    case 7:
      (void)tcp::send(t, SpanBuf{bytes, 2000}, now, s);
      break;
    default:
      break;
  }
}

// Returns the set of states visited (bit per State), for coverage checks.
inline uint32_t run_one(const uint8_t* data, size_t size) {
  static const std::byte kBytes[4096] = {};
  Reader r(data, size);
  Config cfg;
  // NewReno, as before the default became CUBIC (tcp.congestion): every knob bit is taken, and
  // the Worker fuzzer runs CUBIC (ConnOptions) beside it.
  cfg.cc = cc::Algorithm::kNewReno;
  const uint8_t knobs = r.get<uint8_t>();
  cfg.timestamps = knobs & 1;
  cfg.sack = knobs & 2;
  cfg.window_scaling = knobs & 4;
  cfg.nagle = knobs & 8;
  cfg.rcv_buf = (knobs & 16) ? 4000 : 256 * 1024;
  cfg.snd_buf = (knobs & 32) ? 3000 : 64 * 1024;
  cfg.ooo_max_bytes = (knobs & 64) ? 2000 : 64 * 1024;
  FuzzSink s;
  Tcb<SpanBuf> t;
  Ticks now = Ticks::from_sec(1000);
  const SeqNum iss(r.get<uint32_t>());
  if (knobs & 128) {
    tcp::connect(t, cfg, iss, r.get<uint32_t>(), now, s);
  } else {
    tcp::open_passive(t, cfg, iss);
  }
  // Anchor peer sequence numbers so that a useful share of segments land in the window.
  SeqNum peer(r.get<uint32_t>());
  bring_to(t, s, r.get<uint8_t>() % 8, peer, now, kBytes);
  uint32_t visited = 1u << static_cast<int>(t.state);
  while (!r.empty() && !s.closed) {
    const uint8_t op = r.get<uint8_t>();
    now += Ticks::from_ms(r.get<uint8_t>());
    switch (op % 8) {
      case 0:
      case 1:
      case 2:
      case 3: {  // a segment
        Segment<SpanBuf> seg;
        const uint8_t mode = r.get<uint8_t>();
        const int16_t dseq = r.get<int16_t>();
        const int16_t dack = r.get<int16_t>();
        const SeqNum base = (mode & 1) ? t.rcv_nxt : peer;
        seg.seq = (mode & 2) ? SeqNum(r.get<uint32_t>()) : base + static_cast<uint32_t>(dseq);
        seg.ack = (mode & 4) ? SeqNum(r.get<uint32_t>()) : t.snd_una + static_cast<uint32_t>(dack);
        seg.flags = r.get<uint8_t>();
        seg.window = r.get<uint16_t>();
        const uint16_t len = r.get<uint16_t>() % 1500;
        seg.len = len;
        seg.payload = SpanBuf{kBytes, len};
        if (mode & 8) {
          seg.opts.has_timestamps = true;
          seg.opts.tsval = r.get<uint32_t>();
          seg.opts.tsecr = r.get<uint32_t>();
        }
        if (mode & 16) {
          seg.opts.has_mss = true;
          seg.opts.mss = r.get<uint16_t>();
          seg.opts.has_wscale = true;
          seg.opts.wscale = r.get<uint8_t>();
          seg.opts.sack_permitted = true;
        }
        if (mode & 64) {  // SACK blocks near SND.UNA (RFC 2018 §3: at most 4)
          seg.opts.num_sack = static_cast<uint8_t>(1 + r.get<uint8_t>() % 4);
          for (uint8_t i = 0; i < seg.opts.num_sack; ++i) {
            const SeqNum l = t.snd_una + static_cast<uint32_t>(r.get<int16_t>());
            seg.opts.sack[i].left = l.raw();
            seg.opts.sack[i].right = (l + r.get<uint16_t>() % 8192).raw();
          }
        }
        if (mode & 32) {
          peer = seg.seq + seg.seg_len();
        }
        tcp::input(t, seg, now, s);
        break;
      }
      case 4: {
        const uint16_t len = r.get<uint16_t>() % 4096;
        (void)tcp::send(t, SpanBuf{kBytes, len}, now, s);
        break;
      }
      case 5: {
        const int k = r.get<uint8_t>() % kNumTimers;
        if (s.deadline[k] > now) {
          now = s.deadline[k];
        }
        tcp::on_timer(t, static_cast<TimerKind>(k), now, s);
        break;
      }
      case 6:
        tcp::consume(t, r.get<uint16_t>(), now, s);
        break;
      case 7: {
        const uint8_t what = r.get<uint8_t>() % 8;
        if (what == 0) {
          tcp::abort(t, s);
        } else if (what < 3) {
          (void)tcp::close(t, now, s);
        } else if (what < 5) {
          (void)tcp::shutdown(t, now, s);
        } else {
          tcp::set_nagle(t, what & 1, now, s);
        }
        break;
      }
    }
    check_invariants(t, cfg);
    visited |= 1u << static_cast<int>(t.state);
  }
  return visited;
}

}  // namespace tempo::tcp::fuzz
