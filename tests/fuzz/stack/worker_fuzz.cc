// libFuzzer target: the real Worker (lib/stack) on a DPDK ring port with a virtual clock, under
// the pressure that hid issue 19's crashes: a 64-entry TX ring that refuses part of a burst
// once full (and is drained only when the input says so), a 511-mbuf pool that runs dry, TSO
// and TCP checksum offload on (so TSO frames form and are held open while replies queue), 64
// connection slots, a 16-entry TIME_WAIT table and SYN cookies. A listener echoes what it
// receives, by reference or by copy, so data flows out.
//
// The input is a header (TCP settings, application behaviour) and then records: a TCP segment
// from one of 4 peers (198.18.0.1, .3-.5) and 8 ports to inject, raw bytes as a frame, an ARP
// packet, a poll at a later virtual time, a drain of the TX ring, an application call on a
// live connection, or an active open. Sequence and acknowledgment numbers may be given
// relative to what the peer sent and what tempo sent (read from the frames drained), so that
// handshakes, data and FINs are reachable without guessing tempo's ISS.
//
// Checked (abort): every frame the Worker sent is a sound mbuf chain; a frame without TSO fits
// the MTU, and so does each wire segment of a TSO frame (its headers, all in its first mbuf,
// plus tso_segsz); and after each input, with the Worker destroyed and the rings drained, the
// pool has every mbuf back (a leak or a double free shows there; ASan sees neither, as mbufs
// never leave the pool's memory).
//
// Build, fuzz, and replay one input (TEMPO_FUZZ_TRACE=1 prints each record and each frame
// drained); tests/fuzz/stack/make_corpus.py writes corpus/ and repro/:
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true
//   ninja -C build-fuzz tests/fuzz/stack/worker_fuzz
//   mkdir -p /tmp/wk && build-fuzz/tests/fuzz/stack/worker_fuzz /tmp/wk tests/fuzz/stack/corpus
//   TEMPO_FUZZ_TRACE=1 build-fuzz/tests/fuzz/stack/worker_fuzz crash-<sha1>
#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <tempo/bytes.h>
#include <tempo/stack.h>

#include "stack/worker.h"
#include "tcp/config.h"
#include "timewait/table.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/packet_builder.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace {

// The pool runs dry often at this size: with 32-frame bursts, a 64-entry TX ring and a few
// connections' send queues, allocation failure is a common path, not a corner.
constexpr unsigned kPoolSize = 511;
constexpr unsigned kTxRing = 64;
constexpr unsigned kRxRing = 256;
constexpr uint32_t kMaxConns = 64;
constexpr uint32_t kTwEntries = 16;  // small: TIME_WAIT eviction is reached
constexpr size_t kPeers = 4;         // 198.18.0.1 .. 198.18.0.4
constexpr size_t kPeerPorts = 8;     // 40000 .. 40007
constexpr uint16_t kFirstPeerPort = 40000;
constexpr uint16_t kListenPort = 80;
constexpr uint16_t kListenPortCubic = 443;  // a second listener: CUBIC, keepalive on
constexpr uint16_t kClosedPort = 81;
constexpr uint16_t kMtu = 1500;

const tempo::wire::MacAddr kTempoMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
const tempo::wire::Ipv4Addr kTempoIp{198, 18, 0, 2};

tempo::wire::MacAddr peer_mac(size_t i) {
  return tempo::wire::MacAddr{0x02, 0x00, 0x00, 0x00, 0x01, static_cast<uint8_t>(i)};
}
// Peers 198.18.0.1 and 198.18.0.3..5: .2 is tempo.
tempo::wire::Ipv4Addr peer_ip(size_t i) {
  return tempo::wire::Ipv4Addr{198, 18, 0, static_cast<uint8_t>(i == 0 ? 1 : i + 2)};
}

bool g_trace = false;

[[noreturn]] void fail_check(const char* what, const char* file, int line) {
  std::fprintf(stderr, "worker_fuzz: check failed at %s:%d: %s\n", file, line, what);
  std::abort();
}
#define FUZZ_CHECK(cond)                     \
  do {                                       \
    if (!(cond)) {                           \
      fail_check(#cond, __FILE__, __LINE__); \
    }                                        \
  } while (0)

// While a Worker is being made, getrandom (its ISN and timestamp-offset key, crypto/random.cc)
// returns fixed bytes: the same input then takes the same path, and a crash reproduces from
// its file alone. Outside that window it is the real system call.
bool g_fixed_entropy = false;

}  // namespace

extern "C" ssize_t getrandom(void* buf, size_t len, unsigned int flags) {
  if (g_fixed_entropy) {
    auto* p = static_cast<unsigned char*>(buf);
    for (size_t i = 0; i < len; ++i) {
      p[i] = static_cast<unsigned char>(0x5a + 31 * i);
    }
    return static_cast<ssize_t>(len);
  }
  return syscall(SYS_getrandom, buf, len, flags);
}

namespace {

using tempo::Ticks;
namespace stack = tempo::stack;
namespace wire = tempo::wire;

// The input, read front to back; past the end every read is 0 (libFuzzer shortens inputs, and
// a record cut short still does something).
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return u16() | (static_cast<uint32_t>(u16()) << 16); }
  std::span<const uint8_t> take(size_t n) {
    n = std::min(n, size_ - std::min(pos_, size_));
    std::span<const uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Record kinds (the first byte of a record, modulo kNumOps).
enum Op : uint8_t { kSegment, kRawFrame, kArp, kPoll, kDrain, kAppCall, kConnect, kNumOps };

// Header bits: the TCP settings of this input's Worker.
constexpr uint8_t kCfgNoWscale = 0x01;
constexpr uint8_t kCfgNoTimestamps = 0x02;
constexpr uint8_t kCfgNoSack = 0x04;
constexpr uint8_t kCfgNoNagle = 0x08;
constexpr uint8_t kCfgCookiesAlways = 0x10;  // else kAuto with a backlog of 4
constexpr uint8_t kCfgSmallBuffers = 0x20;   // 8 KiB receive and send buffers
constexpr uint8_t kCfgNoRxPool = 0x40;       // no RX pool sampling (no receive budget)
// Header bits: the application's behaviour.
constexpr uint8_t kAppEchoCopy = 0x01;     // echo with send_copy (else by reference)
constexpr uint8_t kAppNoConsume = 0x02;    // leave received data unconsumed (window shuts)
constexpr uint8_t kAppCloseOnFin = 0x04;   // close() on the peer's FIN
constexpr uint8_t kAppShutOnFin = 0x08;    // shutdown() on the peer's FIN
constexpr uint8_t kAppBulk = 0x10;         // send 64 KiB on connect and on every on_writable
constexpr uint8_t kAppNoEcho = 0x20;       // consume but do not echo
constexpr uint8_t kAppCloseInData = 0x40;  // close() from inside on_data
constexpr uint8_t kAppAbortInData = 0x80;  // abort() from inside on_data

// What the peer side knows of one (peer address, peer port): its own next sequence number,
// and what tempo last sent there (from the frames drained).
struct Flow {
  uint32_t peer_nxt = 0;
  uint16_t tempo_port = kListenPort;
  uint32_t tempo_nxt = 0;
  uint32_t tempo_ack = 0;
  uint32_t tempo_ts = 0;
};

struct Env {
  rte_mempool* pool = nullptr;
  rte_ring* rx = nullptr;  // peer -> tempo
  rte_ring* tx = nullptr;  // tempo -> peer
  uint16_t port_id = 0;
};
Env g_env;

// One port for the whole process: a ring port's name (and its vdev) cannot be made again
// after rte_eth_dev_close, so the port stays and each input gets a fresh Worker on it. The
// Worker's own rte_hash names come from its index and are freed with it.
void init_env() {
  const std::string prefix = "tempo-fuzz-" + std::to_string(getpid());
  std::vector<std::string> args = {"worker_fuzz",   "--no-huge", "-m", "256",         "--no-pci",
                                   "--no-shconf",   "-l",        "0",  "--log-level", "3",
                                   "--file-prefix", prefix};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  FUZZ_CHECK(rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0);
  // libFuzzer ends a timed run with exit(): the EAL's runtime directory goes with it.
  static const std::string runtime_dir = rte_eal_get_runtime_dir();
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir, ec);
  });
  const int socket = static_cast<int>(rte_socket_id());
  // Cache size 0: rte_mempool_avail_count is then exact, which the leak check needs.
  g_env.pool =
      rte_pktmbuf_pool_create("fuzz_pool", kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  FUZZ_CHECK(g_env.pool != nullptr);
  g_env.rx = rte_ring_create("fuzz_rx", kRxRing, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  g_env.tx = rte_ring_create("fuzz_tx", kTxRing, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  FUZZ_CHECK(g_env.rx != nullptr && g_env.tx != nullptr);
  const int port =
      rte_eth_from_rings("fuzz", &g_env.rx, 1, &g_env.tx, 1, static_cast<unsigned>(socket));
  FUZZ_CHECK(port >= 0);
  g_env.port_id = static_cast<uint16_t>(port);
  rte_eth_conf conf{};
  FUZZ_CHECK(rte_eth_dev_configure(g_env.port_id, 1, 1, &conf) == 0);
  FUZZ_CHECK(rte_eth_rx_queue_setup(g_env.port_id, 0, kRxRing, static_cast<unsigned>(socket),
                                    nullptr, g_env.pool) == 0);
  FUZZ_CHECK(rte_eth_tx_queue_setup(g_env.port_id, 0, kTxRing, static_cast<unsigned>(socket),
                                    nullptr) == 0);
  FUZZ_CHECK(rte_eth_dev_start(g_env.port_id) == 0);
}

// A frame the Worker sent must be one a NIC could take.
void check_tx_frame(const rte_mbuf* m) {
  const char* reason = nullptr;
  if (rte_mbuf_check(m, 1, &reason) != 0) {
    std::fprintf(stderr, "worker_fuzz: bad mbuf on TX: %s\n", reason);
    std::abort();
  }
  const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
  // A TSO frame's wire segments are its headers (NICs read them all from the first mbuf) and
  // tso_segsz bytes: they must fit the MTU as a single frame must.
  const bool ok = tso ? m->tso_segsz > 0 && m->l3_len + m->l4_len + m->tso_segsz <= kMtu &&
                            m->l2_len + m->l3_len + m->l4_len <= m->data_len
                      : rte_pktmbuf_pkt_len(m) <= kMtu + 14u + 4u;  // Ethernet, one VLAN tag
  if (!ok) {
    std::fprintf(stderr,
                 "worker_fuzz: TX frame a NIC refuses: pkt_len %u nb_segs %u data_len %u tso %d "
                 "tso_segsz %u l2/l3/l4 %u/%u/%u\n",
                 rte_pktmbuf_pkt_len(m), m->nb_segs, m->data_len, tso ? 1 : 0, m->tso_segsz,
                 m->l2_len, m->l3_len, m->l4_len);
    std::abort();
  }
}

class Harness {
 public:
  explicit Harness(Input& in) : in_(in) {}

  void run() {
    const uint8_t cfg_bits = in_.u8();
    app_bits_ = in_.u8();
    make_worker(cfg_bits);
    // Peers 0 and 1 are known by ARP (answers to them leave at once); 2 and 3 are not (answers
    // are parked until an ARP record introduces them, or time out).
    arp(0, wire::ArpOp::kRequest);
    arp(1, wire::ArpOp::kRequest);
    worker_->poll(now_);
    while (!in_.empty()) {
      record();
    }
    finish();
  }

 private:
  void trace(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  void make_worker(uint8_t bits) {
    stack::Interface iface;
    iface.port_id = g_env.port_id;
    iface.queue = 0;
    iface.pool = g_env.pool;
    iface.rx_pool = (bits & kCfgNoRxPool) != 0 ? nullptr : g_env.pool;
    iface.mac = kTempoMac;
    iface.ipv4 = kTempoIp;
    iface.ipv4_prefix = 24;
    iface.link_local = wire::Ipv6Addr::link_local_from_mac(kTempoMac);
    iface.mtu = kMtu;
    iface.tx_tso = true;
    iface.tx_tcp_cksum = true;
    tempo::tcp::Config tcp;
    // The default listener and connects run NewReno, the others CUBIC (ConnOptions): both
    // controllers, now that the default is CUBIC (tcp.congestion).
    tcp.cc = tempo::tcp::cc::Algorithm::kNewReno;
    tcp.window_scaling = (bits & kCfgNoWscale) == 0;
    tcp.timestamps = (bits & kCfgNoTimestamps) == 0;
    tcp.sack = (bits & kCfgNoSack) == 0;
    tcp.nagle = (bits & kCfgNoNagle) == 0;
    if ((bits & kCfgSmallBuffers) != 0) {
      tcp.rcv_buf = 8192;
      tcp.snd_buf = 8192;
      tcp.ooo_max_bytes = 4096;
    }
    tempo::timewait::TwTableConfig tw;
    tw.max_entries = kTwEntries;
    stack::WorkerTcpConfig wcfg;
    wcfg.syncookies =
        (bits & kCfgCookiesAlways) != 0 ? tempo::SynCookies::kAlways : tempo::SynCookies::kAuto;
    wcfg.listen_backlog = 4;  // kAuto: a few embryonic connections and cookies start
    wcfg.max_orphans = 8;
    wcfg.local_port_lo = 50000;
    wcfg.local_port_hi = 50015;  // few: active opens exhaust them and reuse TIME_WAIT tuples
    g_fixed_entropy = true;
    worker_ = std::make_unique<stack::Worker>(0, std::vector<stack::Interface>{iface}, now_);
    auto r = worker_->init_tcp(tcp, kMaxConns, tw, wcfg);
    g_fixed_entropy = false;
    FUZZ_CHECK(r.ok());
    handler_.ctx = this;
    handler_.on_connected = &Harness::on_connected;
    handler_.on_data = &Harness::on_data;
    handler_.on_writable = &Harness::on_writable;
    handler_.on_peer_closed = &Harness::on_peer_closed;
    handler_.on_closed = &Harness::on_closed;
    worker_->listen(kListenPort, &handler_);
    tempo::ConnOptions cubic;
    cubic.congestion = tempo::ConnOptions::Cc::kCubic;
    cubic.keepalive = tempo::ConnOptions::Choice::kOn;
    worker_->listen(kListenPortCubic, &handler_, cubic);
  }

  void record() {
    switch (static_cast<Op>(in_.u8() % kNumOps)) {
      case kSegment:
        segment();
        break;
      case kRawFrame:
        raw_frame();
        break;
      case kArp: {
        const uint8_t b = in_.u8();
        arp(b % kPeers, (b & 0x80) != 0 ? wire::ArpOp::kReply : wire::ArpOp::kRequest);
        break;
      }
      case kPoll:
        poll();
        break;
      case kDrain:
        drain(in_.u8());
        break;
      case kAppCall:
        app_call();
        break;
      case kConnect:
        connect();
        break;
      case kNumOps:
        break;
    }
  }

  // --- Records ------------------------------------------------------------------------------

  // flow byte: peer (2 bits), peer port (3 bits), tempo port choice (2 bits), corrupt (1 bit).
  void segment() {
    const uint8_t fb = in_.u8();
    const size_t peer = fb & 3;
    const size_t pport = (fb >> 2) & 7;
    Flow& f = flows_[peer][pport];
    uint16_t dport = 0;
    switch ((fb >> 5) & 3) {
      case 0:
        dport = kListenPort;
        break;
      case 1:
        dport = f.tempo_port;  // the port tempo used toward this peer port last
        break;
      case 2:
        dport = kListenPortCubic;
        break;
      default:
        dport = (in_.u8() & 1) != 0 ? kClosedPort : in_.u16();
        break;
    }
    const bool corrupt = (fb & 0x80) != 0;
    const uint8_t flags = in_.u8();
    const uint8_t modes = in_.u8();
    uint32_t seq = 0;
    switch (modes & 3) {
      case 0:
        seq = f.peer_nxt + static_cast<int8_t>(in_.u8());
        break;
      case 1:
        seq = f.tempo_ack + static_cast<int8_t>(in_.u8());  // where tempo expects us
        break;
      case 2:
        seq = in_.u32();
        break;
      default:
        seq = f.peer_nxt + static_cast<int32_t>(static_cast<int16_t>(in_.u16())) * 1024;
        break;
    }
    uint32_t ack = 0;
    switch ((modes >> 2) & 3) {
      case 0:
        ack = f.tempo_nxt + static_cast<int8_t>(in_.u8());
        break;
      case 1:
        ack = f.tempo_nxt - in_.u16();  // old: a duplicate ACK, or below SND.UNA
        break;
      case 2:
        ack = in_.u32();
        break;
      default:
        ack = f.tempo_nxt;
        break;
    }
    // Window: scaled up by the peer's shift, if it sent one; 0 sometimes.
    const uint16_t window = (modes & 0x10) != 0 ? in_.u16() : 65535;
    const uint8_t ob = in_.u8();
    wire::TcpOptions opts;
    if ((ob & 0x01) != 0) {
      opts.has_mss = true;
      opts.mss = in_.u16();
    }
    if ((ob & 0x02) != 0) {
      opts.has_wscale = true;
      opts.wscale = in_.u8() % 16;
    }
    opts.sack_permitted = (ob & 0x04) != 0;
    if ((ob & 0x08) != 0) {
      opts.has_timestamps = true;
      peer_ts_ += in_.u8();
      opts.tsval = peer_ts_;
      opts.tsecr = (ob & 0x40) != 0 ? in_.u32() : f.tempo_ts;
    }
    if ((ob & 0x10) != 0) {
      // SACK blocks below what tempo sent (RFC 2018 §3): edges relative to its SND.NXT.
      const uint8_t n = static_cast<uint8_t>(1 + in_.u8() % 4);
      opts.num_sack = n;
      for (uint8_t k = 0; k < n; ++k) {
        const uint32_t left = f.tempo_nxt - in_.u16();
        opts.sack[k] = wire::SackBlock{left, left + in_.u16() % 8192};
      }
    }
    if ((ob & 0x20) != 0) {
      opts.has_md5 = true;  // no key is configured: such segments are refused
    }
    // Payload: short (a byte) or up to a full segment; 0x80 is the length's high part.
    uint32_t len = in_.u8();
    if ((modes & 0x20) != 0) {
      len = (len << 3) % 1461;
    }
    static const std::array<std::byte, 1460> kPayload = [] {
      std::array<std::byte, 1460> a{};
      for (size_t i = 0; i < a.size(); ++i) {
        a[i] = static_cast<std::byte>('a' + i % 26);
      }
      return a;
    }();
    wire::TcpPacketSpec spec{};
    spec.eth_src = peer_mac(peer);
    spec.eth_dst = kTempoMac;
    if ((modes & 0x40) != 0) {
      spec.vlan_tci = 0;
    }
    spec.src4 = peer_ip(peer);
    spec.dst4 = kTempoIp;
    spec.ip_id = static_cast<uint16_t>(++ip_id_);
    spec.tcp = wire::TcpHeaderFields{.src_port = static_cast<uint16_t>(kFirstPeerPort + pport),
                                     .dst_port = dport,
                                     .seq = seq,
                                     .ack = ack,
                                     .flags = wire::TcpFlags(flags),
                                     .window = window,
                                     .urgent = 0};
    spec.options = opts;
    spec.payload = std::span(kPayload).first(len);
    spec.fill_checksum = (modes & 0x80) == 0;  // else zero: a bad checksum, dropped
    std::vector<std::byte> frame = wire::make_tcp_packet(spec);
    if (frame.empty()) {
      return;  // options too long for the header: nothing to send
    }
    bool cksum_good = false;
    if (corrupt) {
      // A header byte changed after the checksum: as if the NIC verified it (the corrupted
      // field then reaches the parsers, not the checksum test).
      const size_t at = in_.u8() % frame.size();
      frame[at] ^= static_cast<std::byte>(in_.u8() | 1);
      cksum_good = true;
    }
    trace("seg peer=%zu pport=%zu dport=%u flags=%02x seq=%u ack=%u win=%u len=%u%s\n", peer, pport,
          dport, flags, seq, ack, window, len, corrupt ? " corrupt" : "");
    inject(frame, cksum_good);
    f.peer_nxt = seq + len + ((flags & wire::TcpFlags::kSyn) != 0 ? 1 : 0) +
                 ((flags & wire::TcpFlags::kFin) != 0 ? 1 : 0);
  }

  void raw_frame() {
    const uint8_t b = in_.u8();
    std::vector<std::byte> frame;
    if ((b & 1) != 0) {  // to tempo's MAC, IPv4: the fuzzer's bytes start at the IP header
      frame.resize(14);
      (void)wire::write_eth(frame, kTempoMac, peer_mac(0), wire::kEtherTypeIpv4);
    }
    for (uint8_t x : in_.take(b >> 1)) {
      frame.push_back(static_cast<std::byte>(x));
    }
    trace("raw len=%zu\n", frame.size());
    inject(frame, (b & 0x80) != 0);
  }

  void arp(size_t peer, wire::ArpOp op) {
    std::vector<std::byte> frame(60);
    const wire::MacAddr dst = op == wire::ArpOp::kRequest ? wire::MacAddr::broadcast() : kTempoMac;
    const size_t l2 = *wire::write_eth(frame, dst, peer_mac(peer), wire::kEtherTypeArp);
    (void)*wire::write_arp(std::span(frame).subspan(l2), op, peer_mac(peer), peer_ip(peer),
                           op == wire::ArpOp::kRequest ? wire::MacAddr{} : kTempoMac, kTempoIp);
    trace("arp peer=%zu op=%u\n", peer, static_cast<unsigned>(op));
    inject(frame, false);
  }

  // The clock only moves forward (Worker::poll's contract). Units from microseconds (the
  // receive-budget's 10 us retries) to seconds (RTO back-off, TIME_WAIT, keepalive's 2 h).
  void poll() {
    const uint16_t v = in_.u16();
    const uint64_t n = v & 0x3fff;
    static constexpr std::array<uint64_t, 4> kUnitUs = {1, 1000, 100000, 1000000};
    now_ = now_ + Ticks::from_us(n * kUnitUs[v >> 14]);
    trace("poll +%llu x %llu us\n", static_cast<unsigned long long>(n),
          static_cast<unsigned long long>(kUnitUs[v >> 14]));
    worker_->poll(now_);
  }

  // Takes up to `n` frames (0: all) off the TX ring, as the peer's side of the wire.
  void drain(uint8_t n) {
    trace("drain %u\n", n);
    void* obj = nullptr;
    for (unsigned k = 0; (n == 0 || k < n) && rte_ring_dequeue(g_env.tx, &obj) == 0; ++k) {
      auto* m = static_cast<rte_mbuf*>(obj);
      learn(m);  // first: the trace shows a frame check_tx_frame refuses
      check_tx_frame(m);
      rte_pktmbuf_free(m);
    }
  }

  // An application call from outside any callback (they run at once there).
  void app_call() {
    const uint8_t b = in_.u8();
    if (live_.empty()) {
      return;
    }
    stack::Conn& c = *live_[(b >> 3) % live_.size()];
    trace("app %u on conn %zu\n", b & 7, static_cast<size_t>((b >> 3) % live_.size()));
    switch (b & 7) {
      case 0:
      case 1:
        send_pattern(c, in_.u16());
        break;
      case 2:
        tempo::close(c);
        break;
      case 3:
        tempo::shutdown(c);
        break;
      case 4:
        tempo::abort(c);
        break;
      case 5:
        tempo::consume(c, in_.u16());
        break;
      case 6:
        tempo::set_nagle(c, (b & 0x80) != 0);
        break;
      default:
        if ((b & 0x80) != 0) {
          worker_->reset_all();
        } else {
          worker_->close_all();
        }
        break;
    }
  }

  void connect() {
    const uint8_t b = in_.u8();
    stack::Remote r;
    r.ip4 = peer_ip(b % kPeers);
    r.port = static_cast<uint16_t>(kFirstPeerPort + (b >> 2) % kPeerPorts);
    trace("connect peer=%u pport=%u\n", static_cast<unsigned>(b % kPeers), r.port);
    tempo::ConnOptions opts;
    if ((b & 0x80) != 0) {
      opts.congestion = tempo::ConnOptions::Cc::kCubic;
    }
    (void)worker_->connect(0, r, &handler_, nullptr, opts);
  }

  // --- Plumbing -----------------------------------------------------------------------------

  // Into the RX ring, as a NIC would deliver it; an empty pool or a full ring drops it.
  void inject(std::span<const std::byte> frame, bool cksum_good) {
    if (frame.empty() || frame.size() > RTE_MBUF_DEFAULT_DATAROOM) {
      return;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(g_env.pool);
    if (m == nullptr) {
      return;
    }
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
    FUZZ_CHECK(p != nullptr);
    std::memcpy(p, frame.data(), frame.size());
    if (cksum_good) {
      m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    }
    if (rte_ring_enqueue(g_env.rx, m) != 0) {
      rte_pktmbuf_free(m);
    }
  }

  // What tempo sent to a peer port: its port, next sequence number, ACK and TSval. Only the
  // headers are read (a TSO frame's IPv4 total length is the NIC's to fill in).
  void learn(const rte_mbuf* m) {
    std::array<std::byte, 14 + 60 + 60> hdr{};
    const uint32_t n = std::min<uint32_t>(rte_pktmbuf_pkt_len(m), hdr.size());
    const auto* at = static_cast<const std::byte*>(rte_pktmbuf_read(m, 0, n, hdr.data()));
    auto eth = wire::EthView::parse(std::span(at, n));
    if (!eth.ok() || eth->ethertype() != wire::kEtherTypeIpv4 || eth->payload().size() < 20) {
      return;
    }
    const std::span<const std::byte> ip = eth->payload();
    const size_t ihl = (std::to_integer<size_t>(ip[0]) & 0x0f) * 4;
    if (std::to_integer<uint8_t>(ip[9]) != 6 || ihl < 20 || ihl > ip.size()) {
      return;
    }
    auto tcp = wire::TcpView::parse(ip.subspan(ihl));
    if (!tcp.ok()) {
      return;
    }
    const wire::Ipv4Addr dst = wire::Ipv4Addr::load(&ip[16]);
    size_t peer = kPeers;
    for (size_t i = 0; i < kPeers; ++i) {
      peer = dst == peer_ip(i) ? i : peer;
    }
    const uint16_t pport = tcp->dst_port();
    if (peer == kPeers || pport < kFirstPeerPort || pport >= kFirstPeerPort + kPeerPorts) {
      return;
    }
    Flow& f = flows_[peer][pport - kFirstPeerPort];
    // The payload: to the frame's end for TSO, else to the IPv4 total length (a frame shorter
    // than 60 bytes is padded).
    const size_t l3_len =
        (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0
            ? rte_pktmbuf_pkt_len(m) - eth->header_length()
            : (std::to_integer<size_t>(ip[2]) << 8 | std::to_integer<size_t>(ip[3]));
    const size_t headers = ihl + tcp->header_length();
    const auto len = static_cast<uint32_t>(l3_len > headers ? l3_len - headers : 0);
    f.tempo_port = tcp->src_port();
    f.tempo_nxt = tcp->seq() + len + (tcp->flags().syn() ? 1 : 0) + (tcp->flags().fin() ? 1 : 0);
    if (tcp->flags().ack()) {
      f.tempo_ack = tcp->ack();
    }
    auto opts = wire::parse_tcp_options(tcp->options());
    if (opts.ok() && opts->has_timestamps) {
      f.tempo_ts = opts->tsval;
    }
    trace("  tx %u->peer%zu:%u flags=%02x seq=%u ack=%u win=%u len=%u%s\n", tcp->src_port(), peer,
          pport, tcp->flags().bits(), tcp->seq(), tcp->ack(), tcp->window(), len,
          (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0 ? " tso" : "");
  }

  void send_pattern(stack::Conn& c, uint32_t len) {
    static const std::array<std::byte, 4096> kData{};
    while (len > 0) {
      const uint32_t n = std::min<uint32_t>(len, kData.size());
      const size_t took = tempo::send_copy(c, std::span(kData).first(n));
      if (took < n) {
        return;  // on_writable follows
      }
      len -= n;
    }
  }

  void finish() {
    live_.clear();
    worker_.reset();
    void* obj = nullptr;
    while (rte_ring_dequeue(g_env.rx, &obj) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    }
    while (rte_ring_dequeue(g_env.tx, &obj) == 0) {
      check_tx_frame(static_cast<rte_mbuf*>(obj));
      rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    }
    const unsigned avail = rte_mempool_avail_count(g_env.pool);
    if (avail != kPoolSize) {
      std::fprintf(stderr,
                   "worker_fuzz: %u of %u mbufs back in the pool after the Worker is gone "
                   "(%s)\n",
                   avail, kPoolSize, avail < kPoolSize ? "leak" : "double free");
      std::abort();
    }
  }

  // --- The application (tempo::Handler) ---------------------------------------------------

  static Harness& self(void* ctx) { return *static_cast<Harness*>(ctx); }

  static void on_connected(stack::Conn& c, void* ctx) {
    Harness& h = self(ctx);
    if (h.live_.size() < kMaxConns) {
      h.live_.push_back(&c);
    }
    if ((h.app_bits_ & kAppBulk) != 0) {
      h.send_pattern(c, 64 * 1024);
    }
  }

  static void on_data(stack::Conn& c, const tempo::Bytes& data, void* ctx) {
    Harness& h = self(ctx);
    const uint8_t bits = h.app_bits_;
    if ((bits & kAppNoEcho) == 0) {
      if ((bits & kAppEchoCopy) != 0) {
        std::array<std::byte, 2048> buf;
        for (uint32_t off = 0; off < data.size();) {
          const size_t n = data.copy_to(off, buf);
          if (tempo::send_copy(c, std::span(buf).first(n)) < n) {
            break;
          }
          off += static_cast<uint32_t>(n);
        }
      } else {
        (void)tempo::send(c, data);  // a reference: the RX buffers go out as TX payload
      }
    }
    if ((bits & kAppNoConsume) == 0) {
      tempo::consume(c, data.size());
    }
    if ((bits & kAppAbortInData) != 0 && data.size() % 7 == 3) {
      tempo::abort(c);
    } else if ((bits & kAppCloseInData) != 0 && data.size() % 5 == 2) {
      tempo::close(c);
    }
  }

  static void on_writable(stack::Conn& c, void* ctx) {
    Harness& h = self(ctx);
    if ((h.app_bits_ & kAppBulk) != 0) {
      h.send_pattern(c, 16 * 1024);
    }
  }

  static void on_peer_closed(stack::Conn& c, void* ctx) {
    Harness& h = self(ctx);
    if ((h.app_bits_ & kAppCloseOnFin) != 0) {
      tempo::close(c);
    } else if ((h.app_bits_ & kAppShutOnFin) != 0) {
      tempo::shutdown(c);
    }
  }

  static void on_closed(stack::Conn& c, tempo::CloseReason /*why*/, void* ctx) {
    Harness& h = self(ctx);
    std::erase(h.live_, &c);
  }

  Input& in_;
  uint8_t app_bits_ = 0;
  Ticks now_ = Ticks::from_sec(1000);
  std::unique_ptr<stack::Worker> worker_;
  tempo::Handler handler_;
  std::vector<stack::Conn*> live_;  // established, not yet closed (on_connected .. on_closed)
  std::array<std::array<Flow, kPeerPorts>, kPeers> flows_{};
  uint32_t peer_ts_ = 1000;
  uint16_t ip_id_ = 0;
};

void Harness::trace(const char* fmt, ...) {
  if (!g_trace) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  g_trace = std::getenv("TEMPO_FUZZ_TRACE") != nullptr;
  init_env();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  Harness h(in);
  h.run();
  return 0;
}
